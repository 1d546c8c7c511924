"""Walking back: a list that walked out of parliament returns to it, and takes back its seats.

A walk-out (``sim.engine.processes.walkouts``) need not be the end: a list out of
parliament for ``[walk_back] after_weeks`` weeks, whose grievance has fallen to
``[walk_back] grievance`` or below, returns with ``[walk_back] probability`` a week, as
long as no government has formed (afterwards there is no formation left to return to).

It takes back the seats it won at the election: first the seats left vacant, then from the
lists that hold more than they won, in proportion to what they gained (whole seats, by
largest remainder, ties to the lower row). It returns outside every bloc, with its count of
blocked sessions cleared, and it is invited to the talks again; the formateur re-plans its
offer. Switched off at ``probability = 0``.
"""

from __future__ import annotations

import numpy as np

from sim.engine.declare import (
    EventSpec,
    Line,
    Per,
    Process,
    SectionSpec,
    State,
    StateField,
    World,
    event_code,
)
from sim.engine.events import EVENT_LOG, log_event
from sim.engine.jit import jit
from sim.engine.schema import Section, Unit, Weeks
from sim.engine.streams import uniform

BACK = 0  # the stream's slot
WALK_BACK = event_code("walk_back")


class WalkBackSection(Section):
    """``[walk_back]``: when a list that walked out returns to parliament."""

    # weekly chance that a list whose condition holds returns (0: no list ever does)
    probability: Unit = 0.0
    # the condition: weeks out of parliament at least this...
    after_weeks: Weeks = 8
    # ... and its grievance at most this
    grievance: Unit = 1.0


@jit
def reclaim(seats: np.ndarray, won: np.ndarray, returning: int, size: float) -> np.ndarray:
    """The seats after ``returning`` takes back the ``won[returning]`` seats it won: the
    vacant seats first (``size`` minus those held), then from the lists holding more than
    they won, in proportion to their gain, by largest remainder (ties to the lower row);
    whole seats, and the chamber's total kept."""
    after = seats.copy()
    need = won[returning] - seats[returning]
    vacant = max(size - seats.sum(), 0.0)
    from_vacant = min(need, vacant)
    after[returning] += from_vacant
    need -= from_vacant
    gain = np.zeros(len(seats))
    for i in range(len(seats)):
        if i != returning:
            gain[i] = max(seats[i] - won[i], 0.0)
    total = gain.sum()
    need = min(need, total)
    if need <= 0 or total <= 0:
        return after
    remainders = np.zeros(len(seats))
    taken = 0.0
    for i in range(len(seats)):
        if gain[i] > 0:
            quota = need * gain[i] / total
            whole = np.floor(quota)
            after[i] -= whole
            taken += whole
            remainders[i] = quota - whole
    by_remainder = np.argsort(-remainders, kind="mergesort")  # stable: ties keep row order
    for k in range(int(np.rint(need - taken))):
        after[by_remainder[k]] -= 1.0
    after[returning] += need
    return after


@jit
def walk_back_due(out: bool, weeks_out: int, grievance: float, rules_after: int,
                  rules_grievance: float) -> bool:  # fmt: skip
    """Does a list meet the condition: out of parliament long enough, calm enough?"""
    return out and weeks_out >= rules_after and grievance <= rules_grievance


@jit
def walk_back(world: World, state: State, returning: int) -> None:
    """Return ``returning`` to parliament: its seats taken back, its slate cleared."""
    run = state.run[0]
    before = state.seats[returning]
    state.seats[:] = reclaim(state.seats, world.seats, returning, world.parliament.size)
    state.walked_out[returning] = False
    state.major_list[returning] = world.major_list[returning]
    state.on_the_table[returning] = True
    state.blocked_sessions[returning] = 0
    run.plan_valid = False
    gained = state.seats[returning] - before
    log_event(state, WALK_BACK, returning, -1, state.weeks_out[returning], gained)
    state.weeks_out[returning] = 0


@jit
def step(world: World, state: State, rng: np.uint64) -> None:
    run = state.run[0]
    rules = world.walk_back
    if run.formed_week >= 0 or rules.probability <= 0:
        return
    for i in range(len(state.seats)):
        if not state.walked_out[i]:
            continue
        state.weeks_out[i] += 1
        due = walk_back_due(
            True, state.weeks_out[i], state.grievance[i], rules.after_weeks, rules.grievance
        )
        if due and uniform(rng, run.week, BACK, i) < rules.probability:
            walk_back(world, state, i)


def walk_back_text(e: Line) -> str:
    return (
        f"{e.actor} returns to parliament after {e.detail} weeks out: it takes back "
        f"{e.values['seats']:.0f} seats"
    )


class Returns(Process):
    """Lists that walked out return to parliament once calmer, and take back their seats."""

    stream = "returns"
    section = SectionSpec("walk_back", WalkBackSection, switch="probability")
    parameters = ("walk_back", "parliament")
    state = (StateField("weeks_out", np.int64, Per.FACTION, "weeks since it walked out"),)
    reads = ("run.formed_week", "run.week", "grievance")
    writes = (
        "seats", "walked_out", "major_list", "on_the_table", "blocked_sessions",
        "run.plan_valid", *EVENT_LOG,
    )  # fmt: skip
    events = (EventSpec("walk_back", walk_back_text, detail="weeks_out", values=("seats",)),)
    step = staticmethod(step)
