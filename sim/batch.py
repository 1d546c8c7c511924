"""The batch engine: many replicates, in parallel, streamed to Parquet, resumable.

Run *i* of a batch gets the seed ``SeedSequence(batch_seed, spawn_key=(i mod R,))`` (R
replicates), the same in every scenario and every sweep point (common random numbers), so
the table is bit-identical whatever the worker count, backend or completion order. Runs go
out in chunks (one IPC round trip per chunk, not per run); each finished chunk becomes one
Parquet part, written atomically by the parent. Nothing in the parent grows with the
number of runs: chunks are generated lazily, rows are written and dropped, and only a
tally of outcomes is kept. A directory holding an interrupted batch of the same experiment
resumes where it stopped; any other batch there is refused (see ``sim.results``).
"""

from __future__ import annotations

import gc
import multiprocessing
import os
import time
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import islice
from pathlib import Path
from typing import Any

import numpy as np

from sim.model import FormationModel
from sim.outcomes import OutcomeTally
from sim.progress import Progress
from sim.results import (
    MANIFEST,
    RUNS_DIR,
    BatchError,
    check_directory,
    clear_stale,
    done_run_ids,
    iter_rows,
    locked,
    new_manifest,
    table_schema,
    write_json,
    write_part,
)
from sim.scenario import ScenarioError, resolve_raw, scenario_hash, validate
from sim.sweep import SweepPoint, build_points, parse_sweep

BACKENDS = ("local", "dask")
MAX_CHUNK = 250  # runs per chunk: big enough to amortise IPC, small enough to lose little


def run_seed(batch_seed: int, run_index: int) -> int:
    """The seed of replicate ``run_index``: the same in every scenario and sweep point."""
    state = np.random.SeedSequence(batch_seed, spawn_key=(run_index,)).generate_state(2)
    return int((int(state[0]) << 32 | int(state[1])) & (2**63 - 1))


# --------------------------------------------------------------------------- one chunk
#: The sweep points of the batch a worker process serves, installed once per process by
#: the pool's initializer (the local backend), so that tasks carry only integers.
_POINTS: dict[int, SweepPoint] = {}


def _install_points(points: list[SweepPoint]) -> None:
    global _POINTS
    _POINTS = {p.point: p for p in points}


def _one_run(point: SweepPoint, run_id: int, seed: int, swept: bool) -> dict:
    row: dict[str, Any] = {"run_id": run_id, "seed": seed}
    if swept:
        row["point"] = point.point
        row.update(point.values)
    try:
        model = FormationModel(point.scenario, seed=seed, record_series=False)
        row.update(model.run().outcome())
        row["error"] = None
    except Exception as exc:  # a failing run is recorded, not fatal to the batch
        row["error"] = f"{type(exc).__name__}: {exc}\n{traceback.format_exc(limit=3)}"
    return row


def run_chunk(
    tasks: list[tuple[int, int, int]], points: list[SweepPoint] | None = None
) -> list[dict]:
    """Run (point, run_id, seed) tasks; the unit of work sent to a worker.

    ``points`` travels with the chunk on Dask; it is used locally, never installed as
    the process's global, so two batches sharing a multi-threaded Dask worker cannot
    swap each other's points.
    """
    table = _POINTS if points is None else {p.point: p for p in points}
    swept = any(p.values for p in table.values())
    return [_one_run(table[p], run_id, seed, swept) for p, run_id, seed in tasks]


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


def _plain(value: Any) -> int | float:
    """A number as JSON and the manifest's identity check see it (no numpy scalars)."""
    return int(value) if isinstance(value, int | np.integer) else float(value)


def _explicit_points(points: list[dict], file: str) -> list[dict[str, int | float]]:
    if not points:
        raise ScenarioError(file, "points", "an explicit design needs at least one point")
    keys = list(points[0])
    if not keys:
        raise ScenarioError(file, "points", "each point must set at least one parameter")
    for p in points:
        if list(p) != keys:
            raise ScenarioError(
                file, "points", f"every point must set the same keys in the same order {keys}"
            )
    return [{k: _plain(v) for k, v in p.items()} for p in points]


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
    not used. Each point is validated like any sweep point. Nothing is written here, so a bad
    scenario, sweep or option fails before any output exists.
    """
    path = Path(path)
    raw, origin = resolve_raw(path)
    if sweep is not None:
        raw = {**raw, "sweep": sweep}
    scenario = validate(raw, origin, str(path))
    if points is not None:
        point_values, sweep_replicates = _explicit_points(points, str(path)), None
    else:
        point_values, sweep_replicates = parse_sweep(raw, str(path))
    if point_values:
        swept = build_points(raw, point_values, origin, str(path))
    else:
        swept = [SweepPoint(0, {}, scenario)]
    # an explicit 0 is an error, not "the default"
    replicates = runs if runs is not None else (sweep_replicates or 100)
    if isinstance(replicates, bool) or not isinstance(replicates, int) or replicates < 1:
        raise ScenarioError(path, "--runs", f"must be a positive integer (got {replicates!r})")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int) or seed < 0):
        raise ScenarioError(path, "--seed", f"must be a non-negative integer (got {seed!r})")
    return Experiment(
        path=path,
        raw=raw,
        scenario_hash=scenario_hash(raw),
        points=swept,
        replicates=replicates,
        seed=scenario.seed if seed is None else seed,
        sweep_keys=list(point_values[0]) if point_values else [],
    )


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
    """All cores this process may use (the affinity mask, where the OS has one)."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return os.cpu_count() or 1


def default_chunk_size(todo: int, workers: int) -> int:
    """About eight chunks per worker (load balance, and little lost to a kill), capped."""
    return max(1, min(MAX_CHUNK, -(-todo // (workers * 8))))


def _check_options(
    workers: int, backend: str, scheduler: str | None, chunk_size: int | None
) -> None:
    if backend not in BACKENDS:
        raise BatchError(f"unknown backend {backend!r}; allowed: {', '.join(BACKENDS)}")
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise BatchError(f"--workers must be a positive integer (got {workers!r})")
    if chunk_size is not None and (
        isinstance(chunk_size, bool) or not isinstance(chunk_size, int) or chunk_size < 1
    ):
        raise BatchError(f"--chunk-size must be a positive integer (got {chunk_size!r})")
    if scheduler and backend != "dask":
        raise BatchError("--scheduler needs --backend dask")
    if backend == "dask":  # before anything is written, not once the batch has begun
        try:
            import dask.distributed  # noqa: F401
        except ImportError:
            raise BatchError(
                "the dask backend needs the optional extra: pip install '.[dask]'"
            ) from None


def _task_chunks(
    exp: Experiment, done: set[int], size: int, taper: int = 0
) -> Iterator[list[tuple]]:
    """The missing runs' tasks, a chunk at a time, generated lazily (flat memory).

    With ``taper`` (the number of workers; default chunking only), chunks shrink as the
    batch nears its end, down to an eighth of ``size``, so that no worker sits idle while
    another finishes one last big chunk: that tail cost ~5% at two workers.
    """
    remaining = exp.total_runs - len(done)
    floor = max(1, size // 8)
    todo = (i for i in range(exp.total_runs) if i not in done)
    while True:
        n = min(size, max(floor, -(-remaining // (4 * taper)))) if taper else size
        chunk = list(islice(todo, n))
        if not chunk:
            return
        remaining -= len(chunk)
        yield [exp.task(i) for i in chunk]


def _run_local(
    chunks: Iterator[list[tuple]],
    exp: Experiment,
    workers: int,
    consume: Callable[[list[dict]], None],
    progress: Progress,
) -> None:
    """In-process for one worker; otherwise a fork pool fed lazily, results unordered.

    The pool is made before the progress bar starts its refresh thread (forking a process
    that runs threads can deadlock the child), and ``gc.freeze`` keeps the collector from
    touching, hence copying, the pages the workers share with the parent.
    """
    if workers == 1:
        _install_points(exp.points)
        with progress:
            for chunk in chunks:
                consume(run_chunk(chunk))
        return
    methods = multiprocessing.get_all_start_methods()
    ctx = multiprocessing.get_context("fork" if "fork" in methods else "spawn")
    gc.freeze()
    try:
        pool = ctx.Pool(workers, initializer=_install_points, initargs=(exp.points,))
    finally:
        gc.unfreeze()
    with pool, progress:
        for rows in pool.imap_unordered(run_chunk, chunks):
            consume(rows)


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
    workers = default_workers() if workers is None else workers
    _check_options(workers, backend, scheduler, chunk_size)
    if out.exists() and not out.is_dir():
        raise BatchError(f"{out} exists and is not a directory")
    out.mkdir(parents=True, exist_ok=True)
    with locked(out):
        previous = check_directory(out, exp.identity(), overwrite, str(exp.path))
        runs_dir = out / RUNS_DIR
        runs_dir.mkdir(exist_ok=True)
        clear_stale(runs_dir)
        done = done_run_ids(out) if previous else set()
        tally = OutcomeTally()
        if done:
            for row in iter_rows(out, columns=OutcomeTally.COLUMNS):
                tally.add(row)
        todo = exp.total_runs - len(done)
        started = datetime.now(UTC)
        manifest = new_manifest(exp, previous, started, backend)
        write_json(out / MANIFEST, manifest)
        schema = table_schema(tuple(exp.points[0].scenario.patrons), exp.sweep_keys)
        size = chunk_size or default_chunk_size(todo, workers)
        progress = Progress(total=exp.total_runs, already=len(done), quiet=quiet)
        t0 = time.perf_counter()

        def consume(rows: list[dict]) -> None:
            write_part(rows, schema, runs_dir)
            for row in rows:
                tally.add(row)
            progress.advance(len(rows))

        if backend == "dask":
            from sim.distributed import run_on_dask

            def chunks_for(n_workers: int) -> Iterator[list[tuple]]:
                nonlocal size, workers  # a running cluster's size is known only now
                workers = n_workers
                size = chunk_size or default_chunk_size(todo, n_workers)
                return _task_chunks(exp, done, size, 0 if chunk_size else n_workers)

            run_on_dask(chunks_for, exp.points, workers, scheduler, consume, progress)
        else:
            if todo <= size:  # one chunk or less to do: a pool would cost more than it saves
                workers = 1
            taper = 0 if chunk_size or workers == 1 else workers
            _run_local(_task_chunks(exp, done, size, taper), exp, workers, consume, progress)
        seconds = time.perf_counter() - t0
        manifest["status"] = "complete"
        manifest["failed_runs"] = tally.failed
        manifest["sessions"].append(
            {
                "started": started.isoformat(),
                "finished": datetime.now(UTC).isoformat(),
                "seconds": round(seconds, 3),
                "runs": todo,
                "workers": workers,
                "backend": backend,
                "chunk_size": size if chunk_size or workers == 1 else f"up to {size}, tapering",
                "runs_per_second": round(todo / seconds, 1) if seconds > 0 and todo else None,
            }
        )
        manifest["timing"] = {
            "seconds": round(sum(s["seconds"] for s in manifest["sessions"]), 3),
            "last_session_seconds": round(seconds, 3),
        }
        write_json(out / MANIFEST, manifest)
    return BatchResult(out, exp.total_runs, todo, len(done), tally.failed, seconds, tally, manifest)
