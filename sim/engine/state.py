"""The State: everything that changes during one run, built from the processes' declarations.

A run's ``State`` is a named tuple of arrays (one row per faction, and one more for the
street where it climbs the ladder too), plus ``run``, a one-element record of the run's
scalars (the week, the constitutional stage, the government once formed...). Nothing here
lists the fields: each process declares the fields it owns (``sim.engine.declare``), the
week's record and the event log declare theirs (``CORE`` below, ``sim.engine.events``), and
``sim.engine.assembly`` builds the ``State`` type and the record's dtype ``RUN`` from them.

All of a run's arrays are views into one block of memory (``layout``), so a batch worker
starts each run by copying its scenario's initial block over the run's (one copy), and the
compiled processes see ordinary arrays. Compiled code reads the record as
``run = state.run[0]`` and then ``run.week``; so can Python (``state.run[0].week``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from sim.engine.declare import Per, RunField, State, StateField, World
from sim.engine.jit import jit

#: The run itself and the week's record (``record_week``), which belong to no process.
CORE: tuple[StateField | RunField, ...] = (
    RunField("week", np.int64, "weeks since election day", lambda w: w.clock.start_week),
    RunField("running", np.bool_, "false once the run has ended", True),
    StateField("escalation_series", np.int8, Per.WEEK, "highest rung each week from the start"),
    StateField("grievance_series", np.float32, Per.WEEK, "seat-weighted mean grievance a week"),
    StateField("weeks_at_level", np.int64, Per.RUNG, "weeks with the highest rung at each rung"),
)

ALIGN = 64  # each array starts on a cache line (and numba sees aligned arrays)


def shape_of(spec: StateField, world: Any, record_events: bool) -> tuple[int, ...]:
    """A field's shape in a world (N factions, P patrons, K issues, T recorded weeks)."""
    n = len(world.seats)
    p = len(world.patron_mediation)
    per = spec.per
    if per is Per.FACTION:
        return (n,)
    if per is Per.ACTOR:
        return (n + 1,)
    if per is Per.FACTION_PATRON:
        return (n, p)
    if per is Per.PATRON_FACTION:
        return (p, n)
    if per is Per.ISSUE:
        return (len(world.incumbent_position),)
    if per is Per.WEEK:
        return (world.clock.horizon_weeks - world.clock.start_week + 1,)
    if per is Per.RUNG:
        return (6,)
    if per is Per.EVENT:
        return (EVENT_CAPACITY if record_events else 0, spec.width)
    if per is Per.ANSWER:
        return (n if record_events else 0, spec.width)
    if per is Per.SCENARIO_EVENT:
        return (len(world.events.week),)
    raise ValueError(per)  # pragma: no cover - every Per is handled above


#: Events a single run's log holds (a baseline run records a few hundred); later ones are
#: counted as lost.
EVENT_CAPACITY = 20_000


def run_dtype(fields: Sequence[RunField]) -> np.dtype:
    """The run record's dtype, field by field as declared."""
    return np.dtype([(f.name, f.dtype) for f in fields], align=True)


def layout(
    arrays: Sequence[StateField], run: np.dtype, world: Any, record_events: bool
) -> tuple[np.ndarray, list[np.ndarray]]:
    """One block of memory and the run record and each array as views into it, in order."""
    shapes = [shape_of(f, world, record_events) for f in arrays]
    sizes = [run.itemsize] + [
        int(np.prod(s, dtype=np.int64)) * np.dtype(f.dtype).itemsize
        for f, s in zip(arrays, shapes, strict=True)
    ]
    offsets = []
    total = 0
    for size in sizes:
        offsets.append(total)
        total += -(-size // ALIGN) * ALIGN
    memory = np.zeros(total + ALIGN, dtype=np.uint8)
    base = -memory.ctypes.data % ALIGN  # the first aligned byte
    memory = memory[base : base + total]
    views = [memory[offsets[0] : offsets[0] + run.itemsize].view(run)]
    for f, shape, offset, size in zip(arrays, shapes, offsets[1:], sizes[1:], strict=True):
        views.append(memory[offset : offset + size].view(f.dtype).reshape(shape))
    return memory, views


def initialise(
    arrays: Sequence[StateField], runs: Sequence[RunField], views: list[np.ndarray],
    world: Any, start: Any,
) -> None:  # fmt: skip
    """Fill a fresh layout with the declared initial values, in declaration order (so an
    initial value may be computed from fields declared before it)."""
    # the record's fields are the scalars, in order: one assignment of the whole record
    views[0][0] = tuple(s.initial(world) if callable(s.initial) else s.initial for s in runs)
    built: dict[str, np.ndarray] = {}
    for array, view in zip(arrays, views[1:], strict=True):
        initial = array.initial
        if callable(initial):
            view[...] = initial(world, start, built)
        elif initial != 0:  # the block is zeroed already (a single run's log is megabytes)
            view[...] = initial
        built[array.name] = view


@jit
def menace_of(grievance: float, level: int) -> float:
    """How threatening a faction looks to others: its grievance and its rung."""
    return (grievance + level / 5.0) / 2.0


@jit
def mean_grievance(world: World, state: State) -> float:
    """Seat-weighted mean grievance of the factions."""
    total = weighted = 0.0
    for i in range(len(world.seats)):
        total += world.seats[i]
        weighted += world.seats[i] * state.grievance[i]
    return weighted / total


@jit
def record_week(world: World, state: State) -> None:
    """The week's line of the run's series: its highest rung and mean grievance."""
    run = state.run[0]
    t = run.week - world.clock.start_week
    top = state.levels.max()
    state.escalation_series[t] = top
    state.grievance_series[t] = mean_grievance(world, state)
    if t > 0:
        state.weeks_at_level[top] += 1
