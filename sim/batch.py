"""The batch engine: many replicates, in parallel, streamed to Parquet, resumable.

Run *i* of a batch gets the seed ``SeedSequence(batch_seed, spawn_key=(i,))`` for every
scenario and every sweep point (common random numbers), so the table is bit-identical
whatever the worker count, backend or completion order. Runs go out in chunks (one IPC
round trip per chunk, not per run); each finished chunk is written as one Parquet part,
atomically (temporary file, then rename). The parent keeps only a running tally, so
memory stays flat however many runs there are. A directory holding an interrupted batch
of the same experiment resumes where it stopped; any other batch there is refused.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import platform
import shutil
import time
import traceback
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from sim.model import FormationModel
from sim.outcomes import OutcomeTally
from sim.progress import Progress
from sim.scenario import Scenario, ScenarioError, resolve_raw, scenario_hash, validate
from sim.sweep import SweepPoint, build_points, parse_sweep

RUNS_DIR = "runs"
MANIFEST = "manifest.json"
SERIES_COLUMNS = ("escalation_by_week", "grievance_by_week")


class BatchError(Exception):
    """A batch that must not start (mismatched directory, bad options)."""


def run_seed(batch_seed: int, run_index: int) -> int:
    """The seed of replicate ``run_index``: the same in every scenario and sweep point."""
    state = np.random.SeedSequence(batch_seed, spawn_key=(run_index,)).generate_state(2)
    return int((int(state[0]) << 32 | int(state[1])) & (2**63 - 1))


# --------------------------------------------------------------------------- one chunk
_POINTS: dict[int, SweepPoint] = {}


def _install_points(points: list[SweepPoint]) -> None:
    global _POINTS
    _POINTS = {p.point: p for p in points}


def _one_run(point: SweepPoint, run_id: int, seed: int) -> dict:
    row: dict[str, Any] = {"run_id": run_id, "seed": seed}
    if len(_POINTS) > 1 or point.values:
        row["point"] = point.point
        row.update(point.values)
    try:
        row.update(FormationModel(point.scenario, seed=seed, record_series=False).run().outcome())
        row["error"] = None
    except Exception as exc:  # a failing run is recorded, not fatal to the batch
        row["error"] = f"{type(exc).__name__}: {exc}\n{traceback.format_exc(limit=3)}"
    return row


def run_chunk(
    tasks: list[tuple[int, int, int]], points: list[SweepPoint] | None = None
) -> list[dict]:
    """Run (point, run_id, seed) tasks; the unit of work sent to a worker."""
    if points is not None:
        _install_points(points)
    return [_one_run(_POINTS[p], run_id, seed) for p, run_id, seed in tasks]


# --------------------------------------------------------------------------- schema
def table_schema(patrons: tuple[str, ...], sweep_keys: list[str]) -> pa.Schema:
    fields = [
        ("run_id", pa.int64()),
        ("seed", pa.int64()),
    ]
    if sweep_keys:
        fields.append(("point", pa.int64()))
        fields += [(k, pa.float64()) for k in sweep_keys]
    fields += [
        ("formed", pa.bool_()),
        ("weeks_to_government", pa.int64()),
        ("government_type", pa.string()),
        ("pm_kind", pa.string()),
        ("pm_faction", pa.string()),
        ("coalition", pa.list_(pa.string())),
        ("coalition_seats", pa.int64()),
        ("largest_bloc", pa.string()),
        ("largest_bloc_seats", pa.int64()),
        ("blocking_third", pa.bool_()),
        ("president_sessions", pa.int64()),
        ("president_failures", pa.int64()),
        ("nominees", pa.int64()),
        ("max_escalation", pa.int64()),
        *[(f"weeks_at_level_{k}", pa.int64()) for k in range(6)],
        ("casualties", pa.int64()),
        ("incumbent_attacks", pa.int64()),
        ("incumbent_survived", pa.bool_()),
        ("incumbent_legitimacy", pa.float64()),
        ("pmf_status", pa.string()),
        ("bloc_switches", pa.int64()),
        ("final_week", pa.int64()),
        *[(f"patron_weight_{p}", pa.float64()) for p in patrons],
        ("escalation_by_week", pa.list_(pa.int8())),
        ("grievance_by_week", pa.list_(pa.float32())),
        ("error", pa.string()),
    ]
    return pa.schema(fields)


def write_part(rows: list[dict], schema: pa.Schema, runs_dir: Path) -> Path:
    """Write one part atomically: a temporary file renamed into place."""
    rows = sorted(rows, key=lambda r: r["run_id"])
    first, last = rows[0]["run_id"], rows[-1]["run_id"]
    final = runs_dir / f"part-{first:09d}-{last:09d}.parquet"
    tmp = runs_dir / f".{final.name}.{os.getpid()}.tmp"
    table = pa.Table.from_pylist(rows, schema=schema)
    pq.write_table(table, tmp, compression="zstd")
    with open(tmp, "rb") as fh:
        os.fsync(fh.fileno())
    os.replace(tmp, final)
    return final


# --------------------------------------------------------------------------- experiments
@dataclass
class Experiment:
    """What a batch runs: the scenario (or its sweep points), replicates and seed."""

    path: Path
    raw: dict
    scenario_hash: str
    points: list[SweepPoint]
    replicates: int
    seed: int
    sweep_keys: list[str] = field(default_factory=list)

    @property
    def total_runs(self) -> int:
        return len(self.points) * self.replicates

    def task(self, run_id: int) -> tuple[int, int, int]:
        point, replicate = divmod(run_id, self.replicates)
        return point, run_id, run_seed(self.seed, replicate)

    def identity(self) -> dict:
        """What must match for a directory to be resumed."""
        return {
            "scenario_hash": self.scenario_hash,
            "seed": self.seed,
            "replicates": self.replicates,
            "points": [p.values for p in self.points],
        }


def prepare(
    path: str | Path,
    runs: int | None = None,
    seed: int | None = None,
    sweep: dict | None = None,
    points: list[dict[str, float]] | None = None,
) -> Experiment:
    """Load and validate a scenario (and its sweep, from the file or ``sweep``).

    ``points`` gives the sweep points explicitly (dotted key -> value, one dict a point, all
    with the same keys), e.g. a sensitivity design from SALib; the file's ``[sweep]`` is then
    not used. Each point is validated like any sweep point.
    """
    path = Path(path)
    raw, origin = resolve_raw(path)
    if sweep is not None:
        raw = {**raw, "sweep": sweep}
    scenario = validate(raw, origin, str(path))
    if points is not None:
        point_values, sweep_replicates = [dict(p) for p in points], None
    else:
        point_values, sweep_replicates = parse_sweep(raw, str(path))
    if point_values:
        points = build_points(raw, point_values, origin, str(path))
    else:
        points = [SweepPoint(0, {}, scenario)]
    replicates = runs or sweep_replicates or 100
    if replicates < 1:
        raise ScenarioError(path, "--runs", "must be a positive integer")
    return Experiment(
        path=path,
        raw=raw,
        scenario_hash=scenario_hash(raw),
        points=points,
        replicates=replicates,
        seed=scenario.seed if seed is None else seed,
        sweep_keys=list(point_values[0]) if point_values else [],
    )


def versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for pkg in ("sim", "mesa", "numpy", "pandas", "pyarrow", "pydantic", "scipy"):
        try:
            out[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            out[pkg] = "unknown"
    return out


def _write_json(path: Path, data: dict) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(data, indent=2, default=str))
    os.replace(tmp, path)


def _done_runs(runs_dir: Path) -> set[int]:
    done: set[int] = set()
    for part in sorted(runs_dir.glob("part-*.parquet")):
        ids = pq.read_table(part, columns=["run_id"]).column("run_id").to_pylist()
        done.update(ids)
    return done


def _check_directory(out: Path, exp: Experiment, overwrite: bool) -> dict | None:
    """Refuse a directory holding another batch; return its manifest when resuming."""
    manifest_path = out / MANIFEST
    runs_dir = out / RUNS_DIR
    if overwrite:
        if manifest_path.exists():
            manifest_path.unlink()
        shutil.rmtree(runs_dir, ignore_errors=True)
        return None
    if manifest_path.exists():
        old = json.loads(manifest_path.read_text())
        mine = exp.identity()
        theirs = old.get("identity", {})
        if theirs != mine:
            diffs = [k for k in mine if theirs.get(k) != mine[k]]
            raise BatchError(
                f"{out} holds a different batch (differs in: {', '.join(diffs)}; its scenario "
                f"was {old.get('scenario_path')!r}). Use another --out, or --overwrite to "
                "replace it."
            )
        return old
    if runs_dir.exists() and any(runs_dir.iterdir()):
        raise BatchError(
            f"{out}/{RUNS_DIR} holds runs but no {MANIFEST}; refusing to mix batches. "
            "Use another --out, or --overwrite to replace it."
        )
    return None


@dataclass
class BatchResult:
    out: Path
    total: int
    completed_now: int
    resumed: int
    failed: int
    seconds: float
    tally: OutcomeTally
    manifest: dict


def default_workers() -> int:
    return os.cpu_count() or 1


def _chunks(ids: list[int], size: int) -> list[list[int]]:
    return [ids[i : i + size] for i in range(0, len(ids), size)]


def run_batch(
    exp: Experiment,
    out: str | Path,
    workers: int | None = None,
    backend: str = "local",
    scheduler: str | None = None,
    chunk_size: int | None = None,
    overwrite: bool = False,
    quiet: bool = False,
) -> BatchResult:
    """Run (or finish) a batch into ``out``; see the module docstring."""
    out = Path(out)
    workers = workers or default_workers()
    previous = _check_directory(out, exp, overwrite)
    runs_dir = out / RUNS_DIR
    runs_dir.mkdir(parents=True, exist_ok=True)
    for stale in runs_dir.glob(".*.tmp"):
        stale.unlink()
    done = _done_runs(runs_dir) if previous else set()
    todo = [i for i in range(exp.total_runs) if i not in done]
    tally = OutcomeTally()
    if done:
        from sim.results import iter_rows

        for row in iter_rows(out, columns=OutcomeTally.COLUMNS):
            tally.add(row)
    started = datetime.now(UTC)
    manifest = {
        "scenario_name": exp.points[0].scenario.name,
        "scenario_path": str(exp.path),
        "scenario_hash": exp.scenario_hash,
        "scenario": exp.raw,
        "identity": exp.identity(),
        "seed": exp.seed,
        "replicates": exp.replicates,
        "runs": exp.total_runs,
        "sweep": {"parameters": exp.sweep_keys, "points": [p.values for p in exp.points]}
        if exp.sweep_keys
        else None,
        "seeding": "run i uses SeedSequence(seed, spawn_key=(i mod replicates,))",
        "versions": versions(),
        "host": {"platform": platform.platform(), "cpus": os.cpu_count()},
        "status": "running",
        "created": (previous or {}).get("created", started.isoformat()),
        "sessions": [*(previous or {}).get("sessions", [])],
    }
    _write_json(out / MANIFEST, manifest)
    schema = table_schema(_patrons(exp.points[0].scenario), exp.sweep_keys)
    size = chunk_size or max(1, min(250, -(-len(todo) // (max(workers, 1) * 8)) if todo else 1))
    tasks = [[exp.task(i) for i in chunk] for chunk in _chunks(todo, size)]
    progress = Progress(total=exp.total_runs, already=len(done), quiet=quiet)
    t0 = time.perf_counter()
    failed_now = 0

    def consume(rows: list[dict]) -> None:
        nonlocal failed_now
        write_part(rows, schema, runs_dir)
        for row in rows:
            tally.add(row)
            failed_now += bool(row.get("error"))
        progress.advance(len(rows))

    with progress:
        if backend == "dask":
            from sim.distributed import run_on_dask

            run_on_dask(tasks, exp.points, workers, scheduler, consume)
        elif backend != "local":
            raise BatchError(f"unknown backend {backend!r}; allowed: local, dask")
        elif workers == 1 or len(tasks) <= 1:
            _install_points(exp.points)
            for task in tasks:
                consume(run_chunk(task))
        else:
            ctx = multiprocessing.get_context(
                "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
            )
            with ctx.Pool(workers, initializer=_install_points, initargs=(exp.points,)) as pool:
                for rows in pool.imap_unordered(run_chunk, tasks):
                    consume(rows)
    seconds = time.perf_counter() - t0
    finished = datetime.now(UTC)
    manifest["status"] = "complete"
    manifest["failed_runs"] = tally.failed
    manifest["sessions"].append(
        {
            "started": started.isoformat(),
            "finished": finished.isoformat(),
            "seconds": round(seconds, 3),
            "runs": len(todo),
            "workers": workers,
            "backend": backend,
            "runs_per_second": round(len(todo) / seconds, 1) if seconds > 0 else None,
        }
    )
    manifest["timing"] = {
        "seconds": round(sum(s["seconds"] for s in manifest["sessions"]), 3),
        "last_session_seconds": round(seconds, 3),
    }
    _write_json(out / MANIFEST, manifest)
    return BatchResult(
        out, exp.total_runs, len(todo), len(done), tally.failed, seconds, tally, manifest
    )


def _patrons(scenario: Scenario) -> tuple[str, ...]:
    return tuple(scenario.patrons)
