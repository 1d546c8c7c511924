"""The State: everything that changes during one run, in one typed place.

A ``State`` is a named tuple of arrays: one row per faction (and, where the street climbs
the ladder too, one more row for it), plus ``run``, a one-element record holding the run's
scalar state (the week, the constitutional stage, the government once formed...). The
processes of ``sim.processes`` read and write it, each declaring which fields; nothing else
holds state, so what a run is at any week is exactly its ``State``.

Compiled code reads the record as ``run = state.run[0]`` and then ``run.week``; Python code
can do the same (``state.run[0].week``, or ``FormationModel.run_state``).
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np
from numba.core import types
from numba.experimental import structref

from sim.engine.enums import GovernmentType, PMFStatus, PMKind, Stage
from sim.engine.jit import jit
from sim.engine.world import Start, World

#: The run's scalar state. Weeks count from election day; -1 means "not yet" or "none".
RUN = np.dtype(
    [
        ("week", np.int64),
        ("running", np.bool_),
        # the constitutional sequence (sim.engine.processes.sessions)
        ("stage", np.int64),  # sim.engine.enums.Stage
        ("timer", np.int64),  # week at which the current wait or deadline ends
        ("formateur", np.int64),  # the nominee's list (the largest bloc's leader)
        ("nominee", np.int64),  # sim.engine.enums.PMKind of the charged nominee
        ("nominees", np.int64),
        ("failed_nominees", np.int64),
        ("president_sessions", np.int64),
        ("president_failures", np.int64),
        ("stalled_by_boycott", np.bool_),  # a boycott has denied the presidential quorum
        ("stalemate", np.float64),  # pull toward a deal, grows with every failure
        ("talks_open", np.bool_),
        ("consensus_deal", np.bool_),  # the president was elected on a consensus package
        ("nomination_leader", np.int64),  # largest bloc at the first nomination: its leader,
        ("nomination_bloc", np.int64),  # its bloc (-1 for a list alone),
        ("nomination_seats", np.float64),  # and its seats
        # the formateur's standing offer (sim.bargaining), re-planned on a schedule
        ("plan_valid", np.bool_),
        ("plan_formateur", np.int64),
        ("plan_nominee", np.int64),
        ("plan_compromise", np.bool_),
        ("plan_deal", np.bool_),
        ("plan_invite_to", np.int64),
        ("plan_expires", np.int64),
        ("plan_pm_kind", np.int64),
        # the incumbent
        ("incumbent_present", np.bool_),
        ("incumbent_alive", np.bool_),
        ("incumbent_legitimacy", np.float64),
        ("incumbent_attacks", np.int64),
        ("incumbent_failed_attacks", np.int64),
        # the government, once formed
        ("formed_week", np.int64),
        ("government_type", np.int64),  # sim.engine.enums.GovernmentType
        ("pm_kind", np.int64),  # sim.engine.enums.PMKind
        ("pm_faction", np.int64),
        ("confidence_yes", np.int64),
        ("coalition_pmf_stance", np.float64),
        ("pmf_status", np.int64),  # sim.engine.enums.PMFStatus
        # tallies
        ("casualties", np.int64),
        ("bloc_switches", np.int64),
        ("street_anger", np.float64),  # the street's own grievance from its dead
        # the event log (sim.events): events recorded, and those the full log dropped
        ("events", np.int64),
        ("events_lost", np.int64),
    ],
    align=True,
)


class State(NamedTuple):
    """A run's changing state (N factions, P patrons, K issues, T recorded weeks)."""

    run: np.ndarray  # (1,) record of RUN
    seats: np.ndarray  # (N,) seats each list holds now (a walk-out moves them)
    major_list: np.ndarray  # (N,) bool: a major list of the consensus community in parliament
    blocked_sessions: np.ndarray  # (N,) failed sessions and nominees while its bloc led
    walked_out: np.ndarray  # (N,) bool: the list has withdrawn its MPs from parliament
    grievance: np.ndarray  # (N,) in [0, 1]
    levels: np.ndarray  # (N + 1,) rung on the escalation ladder, the street last
    menace: np.ndarray  # (N,) how threatening each faction looked at the end of last week
    legitimacy: np.ndarray  # (N,)
    bloc_of: np.ndarray  # (N,) bloc index, -1 outside every bloc
    alignment: np.ndarray  # (N, P) with each patron, in [-1, 1]
    patience: np.ndarray  # (P, N) each patron's tolerance of each client's violence
    on_the_table: np.ndarray  # (N,) bool: invited into the offer under discussion
    plan_members: np.ndarray  # (N,) bool: the formateur's planned coalition
    plan_pm_position: np.ndarray  # (K,) where its prime minister stands
    government: np.ndarray  # (N,) bool: members of the government, once formed
    casualties_last: np.ndarray  # (N + 1,) last week's casualties on each side
    protest_last: np.ndarray  # (N,) 1 where last week's protest was large enough to matter
    escalation_series: np.ndarray  # (T,) int8: highest rung each week from the start
    grievance_series: np.ndarray  # (T,) float32: seat-weighted mean grievance each week
    weeks_at_level: np.ndarray  # (6,) weeks with the highest rung at each level
    incumbent_attack_series: np.ndarray  # (T,) int16: strikes on the incumbent each week
    # The event log (sim.events), for a single run; zero rows in a batch, where recording
    # is then one comparison per event that could have been recorded.
    event_codes: np.ndarray  # (E, 5) int64: week, kind, actor, other, detail
    event_values: np.ndarray  # (E, 8) the event's numbers
    answer_terms: np.ndarray  # (N, 7) the terms of each invitee's last margin, or (0, 7)


@jit
def menace_of(grievance: float, level: int) -> float:
    """How threatening a faction looks to others: its grievance and its rung."""
    return (grievance + level / 5.0) / 2.0


@structref.register
class _StateRefType(types.StructRef):
    def preprocess_fields(self, fields: Any) -> Any:
        return tuple((name, types.unliteral(kind)) for name, kind in fields)


class StateRef(structref.StructRefProxy):
    """The compiled processes' handle on a ``State``: the same arrays, passed as one
    pointer. (A named tuple of arrays handed whole from one compiled function to another
    costs a reference-count update per array, about a microsecond a call; a structref
    costs one.) Build it with ``state_ref``; read the arrays through the ``State``."""


structref.define_proxy(StateRef, _StateRefType, list(State._fields))


@jit
def state_ref(state: State) -> StateRef:
    """The compiled handle on ``state`` (shares its arrays)."""
    return StateRef(*state)


#: Events a single run's log holds (a baseline run records a few hundred); later ones are
#: counted as lost.
EVENT_CAPACITY = 20_000
EVENT_CODES, EVENT_VALUES, MARGIN_TERMS = 5, 8, 7


@jit
def new_state(world: World, start: Start, record_events: bool = False) -> State:
    """A run at its start week, before its first step (``sim.engine.week.one_week``); with
    ``record_events``, with room for its event log."""
    n = len(world.seats)
    k = len(world.incumbent_position)
    span = world.clock.horizon_weeks - world.clock.start_week + 1
    run = np.zeros(1, dtype=RUN)
    r = run[0]
    r.week = world.clock.start_week
    r.running = True
    r.stage = Stage.AWAITING_SESSION
    r.formateur = -1
    r.nominee = PMKind.NONE
    r.nomination_leader = -1
    r.nomination_bloc = -1
    r.incumbent_present = world.incumbent.present
    r.incumbent_alive = world.incumbent.present and world.incumbent.alive
    r.incumbent_legitimacy = world.incumbent.legitimacy
    r.formed_week = -1
    r.government_type = GovernmentType.NONE
    r.pm_kind = PMKind.NONE
    r.pm_faction = -1
    r.pmf_status = PMFStatus.INTACT
    grievance = start.grievance.copy()
    if world.incumbent.present and not world.incumbent.alive:
        # a scenario that starts after his killing: his backers are enraged from the start
        bump = world.grievance.incumbent_killed * world.incumbent_supporters
        grievance = np.minimum(grievance + bump, 1.0)
    levels = start.levels.copy()
    room = EVENT_CAPACITY if record_events else 0
    n_terms = n if record_events else 0
    patience = np.empty((len(start.patience), n))
    for p in range(len(start.patience)):
        patience[p, :] = start.patience[p]
    state = State(
        run=run,
        seats=world.seats.copy(),
        major_list=world.major_list.copy(),
        blocked_sessions=np.zeros(n, dtype=np.int64),
        walked_out=np.zeros(n, dtype=np.bool_),
        grievance=grievance,
        levels=levels,
        menace=np.array([menace_of(grievance[i], levels[i]) for i in range(n)]),
        legitimacy=start.legitimacy.copy(),
        bloc_of=start.bloc_of.copy(),
        alignment=start.alignment.copy(),
        patience=patience,
        on_the_table=np.ones(n, dtype=np.bool_),
        plan_members=np.zeros(n, dtype=np.bool_),
        plan_pm_position=np.zeros(k),
        government=np.zeros(n, dtype=np.bool_),
        casualties_last=np.zeros(n + 1),
        protest_last=np.zeros(n),
        escalation_series=np.zeros(span, dtype=np.int8),
        grievance_series=np.zeros(span, dtype=np.float32),
        weeks_at_level=np.zeros(6, dtype=np.int64),
        incumbent_attack_series=np.zeros(span, dtype=np.int16),
        event_codes=np.zeros((room, EVENT_CODES), np.int64),
        event_values=np.zeros((room, EVENT_VALUES)),
        answer_terms=np.zeros((n_terms, MARGIN_TERMS)),
    )
    record_week(world, StateRef(*state))
    return state


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
