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

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from sim.engine.limits import SEED_LIMIT
from sim.engine.replicates import run_points
from sim.scenario.draws import ParameterDraws
from sim.scenario.loading import ScenarioError, resolve_raw, scenario_hash, validate
from sim.scenario.sweep import SweepPoint, build_points, check_design_size, parse_sweep


def run_seed(batch_seed: int, run_index: int) -> int:
    """The seed of replicate ``run_index``: the same in every scenario and sweep point."""
    state = np.random.SeedSequence(batch_seed, spawn_key=(run_index,)).generate_state(2)
    return int((int(state[0]) << 32 | int(state[1])) & (2**63 - 1))


# --------------------------------------------------------------------------- one chunk
#: The sweep points of the batch a worker process serves, installed once per process by
#: the pool's initializer (the local backend), so that tasks carry only integers.
_POINTS: dict[int, SweepPoint] = {}


def install_points(points: list[SweepPoint]) -> None:
    global _POINTS
    _POINTS = {p.point: p for p in points}


def run_chunk(
    tasks: list[tuple[int, int, int]], points: list[SweepPoint] | None = None
) -> pa.Table:
    """Run (point, run_id, seed) tasks; the unit of work sent to a worker. Returns the
    chunk's rows of the run table as an Arrow table (``sim.batch.results.table_schema``).

    Each point's runs go to the compiled engine together (``sim.replicates``). ``points``
    travels with the chunk on Dask; it is used locally, never installed as the process's
    global, so two batches sharing a multi-threaded Dask worker cannot swap each other's
    points.
    """
    table = _POINTS if points is None else {p.point: p for p in points}
    swept = any(p.values for p in table.values())
    order = sorted(range(len(tasks)), key=lambda t: tasks[t][0])  # each point's runs together
    tasks = [tasks[t] for t in order]
    groups = []
    for point_id in dict.fromkeys(t[0] for t in tasks):
        seeds = np.array([seed for p, _, seed in tasks if p == point_id], dtype=np.int64)
        groups.append((table[point_id].scenario, seeds))
    outcomes, errors = run_points(groups)
    columns: dict[str, Any] = {
        "run_id": pa.array([run_id for _, run_id, _ in tasks], type=pa.int64()),
        "seed": pa.array([seed for _, _, seed in tasks], type=pa.int64()),
    }
    if swept:
        columns["point"] = pa.array([p for p, _, _ in tasks], type=pa.int64())
        for key in table[tasks[0][0]].values:
            columns[key] = pa.array([float(table[p].values[key]) for p, _, _ in tasks])
    columns.update(outcomes)
    columns["error"] = pa.array(errors, type=pa.string())
    return pa.table(columns)


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
    # parameter draws (``--priors``, ``--posterior``): each point is one draw, shared by
    # ``runs_per_draw`` consecutive replicates; ``replicates`` is then the batch's runs
    draws: ParameterDraws | None = None

    @property
    def total_runs(self) -> int:
        if self.draws is not None:
            return self.replicates
        return len(self.points) * self.replicates

    def task(self, run_id: int) -> tuple[int, int, int]:
        if self.draws is not None:  # replicate i: draw i // runs_per_draw, run seed i
            return run_id // self.draws.runs_per_draw, run_id, run_seed(self.seed, run_id)
        point, replicate = divmod(run_id, self.replicates)
        return point, run_id, run_seed(self.seed, replicate)

    def identity(self) -> dict:
        """What must match for a directory to be resumed."""
        out = {
            "scenario_hash": self.scenario_hash,
            "seed": self.seed,
            "replicates": self.replicates,
            "points": [p.values for p in self.points],
        }
        if self.draws is not None:
            out["draws"] = self.draws.identity()
        return out


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
    draws: ParameterDraws | None = None,
) -> Experiment:
    """Load and validate a scenario (and its sweep, from the file or ``sweep``).

    ``points`` gives the sweep points explicitly (dotted key -> value, one dict a point, all
    with the same keys), e.g. a sensitivity design from SALib; the file's ``[sweep]`` is then
    not used. Each point is validated like any sweep point. Nothing is written here, so a bad
    scenario, sweep or option fails before any output exists.

    ``draws`` gives each group of ``draws.runs_per_draw`` replicates its own parameter
    values (``sim.scenario.draws``): a point a draw, ``runs`` runs in all, replicate *i*
    with run seed *i* and draw *i // runs_per_draw* in every scenario (paired).
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
    replicates = runs if runs is not None else (sweep_replicates or 100)
    if draws is not None:
        if point_values:
            raise ScenarioError(
                path, "sweep", "a batch with parameter draws cannot also be a sweep"
            )
        total = replicates if isinstance(replicates, int) and replicates > 0 else 1
        batch_seed = scenario.seed if seed is None else seed
        check_design_size(
            draws.draws(total), f"{total:,} runs at {draws.runs_per_draw} a draw",
            "use more --runs-per-draw", str(path), "--runs",
        )  # fmt: skip
        if isinstance(batch_seed, int) and not isinstance(batch_seed, bool) and batch_seed >= 0:
            point_values = [draws.values(batch_seed, d) for d in range(draws.draws(total))]
    if point_values:
        swept = build_points(raw, point_values, origin, str(path))
    else:
        swept = [SweepPoint(0, {}, scenario)]
    # an explicit 0 is an error, not "the default"
    if isinstance(replicates, bool) or not isinstance(replicates, int) or replicates < 1:
        raise ScenarioError(path, "--runs", f"must be a positive integer (got {replicates!r})")
    if seed is not None and (
        isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < SEED_LIMIT
    ):  # as --seed: a batch the command line can resume
        raise ScenarioError(
            path, "--seed", f"must be an integer from 0 to 2**63 - 1 (got {seed!r})"
        )
    return Experiment(
        path=path,
        raw=raw,
        scenario_hash=scenario_hash(raw),
        points=swept,
        replicates=replicates,
        seed=scenario.seed if seed is None else seed,
        sweep_keys=list(point_values[0]) if point_values else [],
        draws=draws,
    )
