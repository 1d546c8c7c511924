"""Many runs of one scenario, compiled end to end: the batch engine's unit of work.

``simulate_runs`` steps each run with ``sim.engine.week.one_week`` -- the very function a Mesa
``FormationModel.step`` calls -- until it ends, and writes its outcomes into arrays; only
then does Python turn the arrays into Arrow columns. A run's numbers depend on its seed
alone (``sim.streams``), never on the other runs of its chunk.
"""

from __future__ import annotations

import traceback
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from sim.engine.assembly import STREAM_TAGS, new_memory, state_ref, world_for
from sim.engine.jit import jit
from sim.engine.run_record import Raw, empty_raw, record_outcome, to_table
from sim.engine.schema import ScenarioBase as Scenario
from sim.engine.streams import stream_keys
from sim.engine.week import simulate
from sim.engine.world import Compiled


@jit
def simulate_runs(
    worlds: Any, alignment: np.ndarray, state: Any, memory: np.ndarray, initial: np.ndarray,
    tags: np.ndarray, seeds: np.ndarray, out: Raw,
) -> None:  # fmt: skip
    """Run each seed to its end; row r of ``out`` gets run r's outcomes. Every run starts
    from the scenario's initial state, copied over the run's block of ``memory`` (the
    arrays of ``state`` are views of it)."""
    for r in range(len(seeds)):
        memory[:] = initial
        simulate(worlds, state, stream_keys(seeds[r], tags))
        record_outcome(worlds[state.run[0].phase], state, alignment, out, r)


def _kernel(compiled: Compiled, seeds: np.ndarray, out: Raw) -> None:
    initial, _ = new_memory(compiled.world, compiled.start)
    memory, state = new_memory(compiled.world, compiled.start)
    simulate_runs(
        compiled.refs, compiled.start.alignment, state_ref(state), memory, initial,
        STREAM_TAGS, seeds, out,
    )  # fmt: skip


def _error(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}\n{traceback.format_exc(limit=3)}"


def _simulate(compiled: Compiled, seeds: np.ndarray, out: Raw) -> list[str | None]:
    """Run each seed into its row of ``out``; each run's error (None if it ran). A run that
    raises is recorded, not fatal: the runs are then made one seed at a time, so that only
    the failing ones lose their outcomes."""
    errors: list[str | None] = [None] * len(seeds)
    try:
        _kernel(compiled, seeds, out)
    except Exception:
        for r in range(len(seeds)):
            one = Raw(*(a[r : r + 1] for a in out))
            try:
                _kernel(compiled, seeds[r : r + 1], one)
            except Exception as exc:  # a failing run is recorded, not fatal to the batch
                errors[r] = _error(exc)
    return errors


def run_points(groups: list[tuple[Scenario, np.ndarray]]) -> tuple[dict[str, pa.Array], list]:
    """Outcome columns of the runs of one or more scenarios that share their lists and
    patrons (the points of a sweep): one run per seed, group after group, in order; and
    each run's error (None if it ran; a failed run's outcomes are null). The arrays of all
    groups become Arrow columns once, so that many small groups cost little more than one
    large one."""
    compiled = [world_for(scenario) for scenario, _ in groups]
    first = compiled[0]
    sizes = [len(seeds) for _, seeds in groups]
    spans = [c.world.clock.horizon_weeks - c.world.clock.start_week + 1 for c in compiled]
    out = empty_raw(
        sum(sizes), len(first.names), len(first.patron_names), max(spans),
        len(first.event_names),
    )  # fmt: skip
    start_weeks = np.repeat([c.world.clock.start_week for c in compiled], sizes)
    errors: list[str | None] = []
    offset = 0
    for c, (_, seeds), size in zip(compiled, groups, sizes, strict=True):
        rows = Raw(*(a[offset : offset + size] for a in out))
        errors += _simulate(c, np.ascontiguousarray(seeds, dtype=np.int64), rows)
        offset += size
    columns = to_table(first, out, start_weeks)
    failed = np.array([e is not None for e in errors])
    if failed.any():
        keep = pa.array(~failed)
        columns = {
            name: pc.if_else(keep, column, pa.nulls(len(column), column.type))
            for name, column in columns.items()
        }
    return columns, errors


def run_replicates(scenario: Scenario, seeds: np.ndarray) -> tuple[dict[str, pa.Array], list]:
    """Outcome columns of one run of ``scenario`` per seed, and each run's error."""
    return run_points([(scenario, np.asarray(seeds, dtype=np.int64))])


def warm_up(scenario: Scenario) -> None:
    """Compile (or load from the cache) everything a run needs, by making one."""
    run_points([(scenario, np.zeros(1, dtype=np.int64))])
