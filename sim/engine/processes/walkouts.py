"""Walk-outs: a list blocked long enough, and aggrieved enough, withdraws from parliament.

A list that leads the largest bloc can still be kept from the government it won: its rivals
deny the presidential quorum (a blocking third) or vote its nominees down. Each such
failure counts toward a walk-out (``sim.engine.processes.sessions.add_stalemate``). Once a list
has seen ``[walk_out] blocked_sessions`` of them and its grievance is at least
``[walk_out] grievance``, it withdraws its MPs with ``[walk_out] probability`` a week.

Its seats leave it and pass on by ``[walk_out] seats_to`` (``sim.engine.enums.SeatRule``), the
largest bloc is recounted on the seats as they now are, a bloc it led dissolves, and a
nominee of its own loses the charge. It keeps what it had outside parliament: its armed
capacity, its grievance and its street (its protests still count by the seats it won,
``sim.engine.processes.escalation``). Only before a government forms: afterwards there is no
formation left to walk out of.
"""

from __future__ import annotations

from typing import Literal

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
from sim.engine.enums import SeatRule, Stage
from sim.engine.events import EVENT_LOG, log_event
from sim.engine.jit import jit
from sim.engine.schema import Section, Unit, Weeks
from sim.engine.streams import uniform

WALK = 0  # the stream's slot


class WalkOutSection(Section):
    """``[walk_out]``: a list blocked long enough and aggrieved enough withdraws its MPs."""

    # weekly chance that a list whose trigger holds walks out (0: no list ever does)
    probability: Unit = 0.0
    # the trigger: sessions or nominees its bloc, leading, has seen fail...
    blocked_sessions: Weeks = 4
    # ... and its grievance at least this
    grievance: Unit = 0.5
    # where its seats go (sim.engine.enums.SeatRule, in its order): the runners-up of its
    # community, every remaining list in proportion to its seats, or nowhere
    seats_to: Literal["same_community", "all_lists", "vacant"] = "same_community"


def walk_out_text(e: Line) -> str:
    rule = SeatRule(e.detail)
    to = rule.label.replace("_", " ")
    where = "are left vacant" if rule == SeatRule.VACANT else f"pass to {to}"
    return f"{e.actor} walks out of parliament: its {e.values['seats']:.0f} seats {where}"


WALK_OUT = event_code("walk_out")


@jit
def seat_receivers(seats: np.ndarray, community: np.ndarray, leaving: int, rule: int) -> np.ndarray:
    """(N,) bool: the lists the leaving list's seats pass to. ``same_community``: the other
    lists of its community that hold seats (every list with seats, if none does);
    ``all_lists``: every other list with seats; ``vacant``: none."""
    n = len(seats)
    receives = np.zeros(n, dtype=np.bool_)
    if rule == SeatRule.VACANT:
        return receives
    for i in range(n):
        receives[i] = i != leaving and seats[i] > 0
    if rule == SeatRule.SAME_COMMUNITY:
        kin = receives & (community == community[leaving])
        if kin.any():
            return kin
    return receives


@jit
def redistribute(seats: np.ndarray, leaving: int, receives: np.ndarray) -> np.ndarray:
    """The seats after ``leaving`` walks out: its seats shared among ``receives`` in
    proportion to the seats they hold, by largest remainder (Hare), ties to the lower row
    so runs stay deterministic; whole seats, and none lost unless nobody receives."""
    after = seats.copy()
    freed = seats[leaving]
    after[leaving] = 0.0
    base = 0.0
    for i in range(len(seats)):
        if receives[i]:
            base += seats[i]
    if base <= 0 or freed <= 0:
        return after
    remainders = np.zeros(len(seats))
    given = 0.0
    for i in range(len(seats)):
        if receives[i]:
            quota = freed * seats[i] / base
            whole = np.floor(quota)
            after[i] += whole
            given += whole
            remainders[i] = quota - whole
    by_remainder = np.argsort(-remainders, kind="mergesort")  # stable: ties keep row order
    for k in range(int(np.rint(freed - given))):
        after[by_remainder[k]] += 1.0
    return after


@jit
def walk_out_due(
    seats: float, blocked: int, grievance: float, min_blocked: int, min_grievance: float
) -> bool:
    """Does a list meet the trigger: in parliament, blocked often enough, aggrieved enough?"""
    return seats > 0 and blocked >= min_blocked and grievance >= min_grievance


@jit
def walk_out(world: World, state: State, leaving: int) -> None:
    """Withdraw ``leaving``'s MPs: seats passed on, its bloc left (dissolved if it led
    one), its nominee's charge lapsed, the formateur's offer to be re-planned."""
    run = state.run[0]
    seats = state.seats[leaving]
    receives = seat_receivers(state.seats, world.community, leaving, world.walk_out.seats_to)
    state.seats[:] = redistribute(state.seats, leaving, receives)
    state.walked_out[leaving] = True
    state.major_list[leaving] = False
    state.on_the_table[leaving] = False
    bloc = state.bloc_of[leaving]
    state.bloc_of[leaving] = -1
    if bloc >= 0 and world.is_leader[leaving]:
        for i in range(len(state.bloc_of)):
            if state.bloc_of[i] == bloc:
                state.bloc_of[i] = -1
    if run.formateur == leaving and run.stage == Stage.CABINET:
        run.stage = Stage.NOMINATION  # the president charges the new largest bloc's nominee
        run.timer = run.week + world.parliament.nomination_weeks
    run.plan_valid = False
    log_event(state, WALK_OUT, leaving, -1, world.walk_out.seats_to, seats)


@jit
def step(world: World, state: State, rng: np.uint64) -> None:
    run = state.run[0]
    rules = world.walk_out
    if run.formed_week >= 0 or rules.probability <= 0:
        return
    for i in range(len(state.seats)):
        due = walk_out_due(
            state.seats[i], state.blocked_sessions[i], state.grievance[i],
            rules.blocked_sessions, rules.grievance,
        )  # fmt: skip
        if due and uniform(rng, run.week, WALK, i) < rules.probability:
            walk_out(world, state, i)


class Walkouts(Process):
    """Lists blocked long enough and aggrieved enough withdraw from parliament."""

    stream = "walkouts"
    section = SectionSpec("walk_out", WalkOutSection, switch="probability")
    parameters = ("walk_out", "parliament")
    state = (
        StateField("seats", np.float64, Per.FACTION, "seats each list holds now",
                   lambda world, start, built: world.seats),
        StateField("major_list", np.bool_, Per.FACTION,
                   "a major list of the consensus community, in parliament",
                   lambda world, start, built: world.major_list),
        StateField("walked_out", np.bool_, Per.FACTION, "the list has withdrawn its MPs"),
    )  # fmt: skip
    reads = (
        "run.week", "run.formed_week", "run.formateur", "run.stage", "blocked_sessions",
        "grievance", "bloc_of",
    )  # fmt: skip
    writes = (
        "on_the_table", "bloc_of", "run.stage", "run.timer", "run.plan_valid", *EVENT_LOG,
    )  # fmt: skip
    events = (EventSpec("walk_out", walk_out_text, detail="seats_to", values=("seats",)),)
    step = staticmethod(step)
