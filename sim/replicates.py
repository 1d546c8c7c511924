"""Many runs of one scenario, compiled end to end: the batch engine's unit of work.

``simulate_runs`` steps each run with ``sim.model.one_week`` -- the very function a Mesa
``FormationModel.step`` calls -- until it ends, and writes its outcomes into arrays; only
then does Python turn the arrays into Arrow columns. A run's numbers depend on its seed
alone (``sim.streams``), never on the other runs of its chunk.
"""

from __future__ import annotations

import traceback

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from sim.jit import jit
from sim.model import simulate
from sim.outcomes import Raw, empty_raw, record_outcome, to_table
from sim.scenario import Scenario
from sim.state import StateRef, new_state
from sim.streams import streams_for
from sim.world import Start, World, world_for


@jit
def simulate_runs(world: World, start: Start, seeds: np.ndarray, out: Raw) -> None:
    """Run each seed to its end; row r of ``out`` gets run r's outcomes."""
    for r in range(len(seeds)):
        state = StateRef(*new_state(world, start))
        simulate(world, state, streams_for(seeds[r]))
        record_outcome(
            world, state, start.alignment, out.raw[r : r + 1], out.coalition[r],
            out.weights[r], out.escalation[r], out.grievance[r],
        )  # fmt: skip


def _error(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}\n{traceback.format_exc(limit=3)}"


def run_replicates(scenario: Scenario, seeds: np.ndarray) -> tuple[dict[str, pa.Array], list]:
    """Outcome columns of one run per seed, and each run's error (None if it ran).

    A run that raises is recorded, not fatal: the chunk is then run one seed at a time,
    so that only the failing runs lose their outcomes (their columns are null).
    """
    compiled = world_for(scenario)
    world = compiled.world
    span = world.clock.horizon_weeks - world.clock.start_week + 1
    seeds = np.asarray(seeds, dtype=np.int64)
    out = empty_raw(len(seeds), len(compiled.names), len(compiled.patron_names), span)
    errors: list[str | None] = [None] * len(seeds)
    try:
        simulate_runs(compiled.ref, compiled.start, seeds, out)
    except Exception:
        for r in range(len(seeds)):
            one = Raw(*(a[r : r + 1] for a in out))
            try:
                simulate_runs(compiled.ref, compiled.start, seeds[r : r + 1], one)
            except Exception as exc:  # a failing run is recorded, not fatal to the batch
                errors[r] = _error(exc)
    columns = to_table(compiled, out)
    failed = np.array([e is not None for e in errors])
    if failed.any():
        keep = pa.array(~failed)
        columns = {
            name: pc.if_else(keep, column, pa.nulls(len(column), column.type))
            for name, column in columns.items()
        }
    return columns, errors
