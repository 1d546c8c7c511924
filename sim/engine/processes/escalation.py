"""Escalation: the ladder each armed faction, and the street, climbs or descends.

Rungs (``sim.engine.enums.EscalationLevel``): 0 ordinary politics, 1 threats ("dire
consequences"), 2 protests and sit-ins, 3 clashes with security forces, 4 targeted attacks
on officials, 5 armed conflict between factions. Activation follows Epstein's (2002)
civil-violence rule -- an actor acts when grievance minus perceived risk clears a
threshold: here grievance is amplified by armed capability and damped by the state's
deterrence and patrons' restraint, each rung has its own threshold, and an actor moves at
most one rung a week. The unarmed can protest but not fight; armed conflict needs an armed
rival on the other side of the PMF question already mobilised (or a crackdown on the PMF).
Casualties follow the rung and feed back into grievance next week.
"""

from __future__ import annotations

import math
from typing import Annotated, Any

import numpy as np
from pydantic import BeforeValidator, Field

from sim.engine.declare import (
    EventSpec,
    Line,
    Per,
    Process,
    RunField,
    SectionSpec,
    State,
    StateField,
    World,
    event_code,
)
from sim.engine.enums import EscalationLevel, PMFStatus
from sim.engine.events import EVENT_LOG, log_event, rung_name
from sim.engine.jit import jit
from sim.engine.rules.patrons import deterrence, restraint
from sim.engine.schema import CasualtyRate, Positive, Seats, Section, Unit, Weight, as_tuple
from sim.engine.state import menace_of
from sim.engine.streams import normal, poisson, uniform


class EscalationSection(Section):
    """``[escalation]``: the ladder's thresholds, its weights and its casualties."""

    thresholds: Annotated[tuple[Unit, Unit, Unit, Unit, Unit], BeforeValidator(as_tuple)]
    slope: Positive
    down_probability: Unit
    capability_weight: Weight
    deterrence_weight: Weight
    restraint_weight: Weight
    casualty_rates: Annotated[
        tuple[CasualtyRate, CasualtyRate, CasualtyRate, CasualtyRate, CasualtyRate, CasualtyRate],
        BeforeValidator(as_tuple),
    ]
    protest_min_seats: Seats
    # the highest rung the street reaches: 3 lets large crowds clash with security forces
    street_cap: int = Field(ge=0, le=5)
    street_start: int = Field(default=0, ge=0, le=5)
    # the street's own grievance, from services and jobs, beside the parties' (0: none)
    street_grievance: Unit = 0.0
    # the least armed capacity of a militia: below it an armed list's supporters can clash
    # with security forces (rung 3) but not strike officials, and it is no rival camp that
    # another can fight (rung 5) or fear (grievance.rival_escalation); 0: any armed faction
    militia_armed: Unit = 0.0
    # the spread (standard deviation) of each actor's resolve, drawn once a run and added to
    # its pressure: how much runs differ in how hawkish each actor is (0: not at all)
    resolve_spread: Weight = 0.0


EscalationParams = Any  # the section's compiled record (world.escalation)
RUNG_CHANGE = event_code("rung_change")
CASUALTIES_EVENT = event_code("casualties")


def rung_change_text(e: Line) -> str:
    v = e.values
    move = "climbs" if e.other > e.detail else "steps down"
    return (
        f"{e.actor} {move} to {rung_name(e.other)} (pressure {v['pressure']:+.2f}: grievance "
        f"{v['grievance']:.2f}, capability {v['capability']:+.2f}, deterrence "
        f"{-v['deterrence']:+.2f}, restraint {-v['restraint']:+.2f}"
        + (f", resolve {v['resolve']:+.2f})" if v["resolve"] else ")")
    )


def casualties_text(e: Line) -> str:
    return f"{e.values['dead']:.0f} dead on {e.actor}'s side"


def initial_menace(world: Any, start: Any, built: dict) -> Any:
    """How threatening each faction looks at the start: its grievance and its rung."""
    grievance, levels = built["grievance"], built["levels"]
    return [menace_of(grievance[i], levels[i]) for i in range(len(grievance))]


UNARMED_CAP = int(EscalationLevel.PROTESTS)  # the unarmed can protest, not fight
CLASHES = int(EscalationLevel.CLASHES)
ARMED_CAP = int(EscalationLevel.TARGETED_ATTACKS)  # the armed can strike officials, and
FIGHTING = int(EscalationLevel.ARMED_CONFLICT)  # fight each other once a rival is mobilised
CLIMB, CASUALTIES, RESOLVE = 0, 1, 2  # the stream's slots
RUN_LONG = 0  # the week a run-long draw is keyed to: the same draw every week of the run


@jit
def net_pressure(
    grievance: float, armed: float, deterrent: float, restraint: float, ladder: EscalationParams
) -> float:
    """Epstein's G - N: grievance (amplified by capability) minus deterrence and restraint."""
    return (
        grievance * (1.0 + ladder.capability_weight * armed)
        - ladder.deterrence_weight * deterrent * (1.0 - 0.5 * armed)
        - ladder.restraint_weight * restraint
    )


@jit
def mobilised(
    levels: np.ndarray, armed: np.ndarray, pmf_side: np.ndarray, crackdown: bool, min_armed: float
) -> tuple[bool, bool]:
    """Is a militia (armed at least ``min_armed``) at rung 3+ on the PMF's side, and on the
    other side? A list with a few guards is not a camp that can fight a militia: the
    Peshmerga, or the bodyguards of a moderate list, do not make a war in Baghdad. A
    government moving against the PMF's mandate counts as a mobilised rival of the PMF's
    side (the state's forces against the militias)."""
    pro = False
    anti = crackdown
    for i in range(len(levels)):
        if armed[i] > 0 and armed[i] >= min_armed and levels[i] >= CLASHES:
            if pmf_side[i]:
                pro = True
            else:
                anti = True
    return pro, anti


@jit
def level_cap(armed: float, rival_mobilised: bool, militia: float) -> int:
    """Highest rung an actor can reach this week: the unarmed stop at protests; a list
    with a few guns (armed below ``militia``) can clash with security forces; a militia
    can attack officials, and fight other factions once a rival is mobilised."""
    if armed <= 0:
        return UNARMED_CAP
    if armed < militia:
        return CLASHES
    return FIGHTING if rival_mobilised else ARMED_CAP


@jit
def next_level(
    level: int, pressure: float, cap: int, u: float, climb_at: np.ndarray, hold_at: np.ndarray,
    ladder: EscalationParams,
) -> int:  # fmt: skip
    """At most one rung a week: up if pressure clears the next rung's threshold (with
    probability 1 - exp(-slope x margin)), down with ``down_probability`` if it falls below
    the current rung's threshold; ``u`` is the actor's U(0, 1) draw of the week."""
    p_up = -math.expm1(-ladder.slope * max(pressure - climb_at[level], 0.0))
    up = level < cap and u < p_up
    down = pressure < hold_at[level] and u < ladder.down_probability
    return min(level + up - down, cap)


@jit
def effective_protest(level: int, seats: float, min_seats: int) -> float:
    """1 where an actor protests (or worse) with enough seats behind it. Protests count
    only when large enough (article, "The Iran-Backed Shia Militias' Strategic Next
    Steps": the militias' sit-ins were too small to have an impact)."""
    return 1.0 if level >= UNARMED_CAP and seats >= min_seats else 0.0


@jit
def state_deterrence(world: World, state: State) -> float:
    """The state's deterrent: a caretaker's command of the forces, worth more with his
    legitimacy and backing; once a government forms, its share of parliament."""
    run = state.run[0]
    inc = world.incumbent
    resolve = 0.5 + 0.5 * inc.resolve
    if run.formed_week >= 0:
        share = (state.seats * state.government).sum() / world.parliament.size
        return inc.security_capacity * share * resolve
    if not run.incumbent_present:
        return 0.5 * inc.security_capacity
    return resolve * deterrence(
        inc.security_capacity, run.incumbent_legitimacy, world.incumbent_backing,
        run.incumbent_alive,
    )  # fmt: skip


@jit
def step(world: World, state: State, rng: np.uint64) -> None:
    run = state.run[0]
    ladder = world.escalation
    # locals: the compiler then loads each array once, not once per use in the loops
    seats, grievances, levels = world.seats, state.grievance, state.levels
    armed_actors, pmf_side, government = world.armed_street, world.pmf_side_street, state.government
    n = len(seats)
    # the street's grievance is that of the lists outside government, seat-weighted
    out_seats = out_grievance = 0.0
    for i in range(n):
        if not government[i]:
            out_seats += seats[i]
            out_grievance += seats[i] * grievances[i]
    # ... on top of its own, from services and jobs, and from its dead
    street = min(
        ladder.street_grievance + out_grievance / max(out_seats, 1.0) + run.street_anger, 1.0
    )
    deterrent = state_deterrence(world, state)
    crackdown = run.pmf_status != PMFStatus.INTACT
    pro, anti = mobilised(levels, armed_actors, pmf_side, crackdown, ladder.militia_armed)
    week = run.week
    for i in range(n + 1):  # the factions, then the street
        armed = armed_actors[i]
        if i < n:
            grievance = grievances[i]
            held_back = restraint(state.alignment, world.patron_restraint, state.patience, i)
            cap = level_cap(armed, anti if pmf_side[i] else pro, ladder.militia_armed)
        else:
            grievance, held_back = street, 0.0
            # large crowds can clash with security forces though unarmed (article, "The
            # Iran-Backed Shia Militias' Strategic Next Steps": the Nov 5 Green Zone clashes)
            cap = min(max(level_cap(armed, pro, ladder.militia_armed), CLASHES), ladder.street_cap)
        # Epstein's agents differ in hardship and risk aversion; here each actor's resolve,
        # unknown to the analyst, is drawn once a run: hawks in one run, doves in the next
        resolve = 0.0
        if ladder.resolve_spread > 0:
            resolve = ladder.resolve_spread * normal(rng, RUN_LONG, RESOLVE, i)
        pressure = net_pressure(grievance, armed, deterrent, held_back, ladder) + resolve
        u = uniform(rng, week, CLIMB, i)
        level = next_level(levels[i], pressure, cap, u, world.climb_at, world.hold_at, ladder)
        if level != levels[i]:
            log_event(
                state, RUNG_CHANGE, i, level, levels[i], pressure, grievance,
                grievance * ladder.capability_weight * armed,
                ladder.deterrence_weight * deterrent * (1.0 - 0.5 * armed),
                ladder.restraint_weight * held_back, cap, resolve,
            )  # fmt: skip
        levels[i] = level
        dead = poisson(rng, week, CASUALTIES, i, ladder.casualty_rates[level])
        if dead > 0:
            log_event(state, CASUALTIES_EVENT, i, -1, 0, dead)
        state.casualties_last[i] = dead
        run.casualties += dead
        if i < n:
            state.menace[i] = menace_of(grievance, level)
            state.protest_last[i] = effective_protest(level, seats[i], ladder.protest_min_seats)


class Escalation(Process):
    """The ladder, for every armed faction and the street."""

    stream = "escalation"
    section = SectionSpec("escalation", EscalationSection)
    parameters = ("escalation", "incumbent", "parliament")
    state = (
        StateField("levels", np.int64, Per.ACTOR, "rung on the ladder, the street last",
                   lambda world, start, built: start.levels),
        StateField("menace", np.float64, Per.FACTION,
                   "how threatening each faction looked at the end of last week",
                   initial_menace),
        StateField("casualties_last", np.float64, Per.ACTOR, "last week's dead on each side"),
        StateField("protest_last", np.float64, Per.FACTION,
                   "1 where last week's protest was large enough to matter"),
        RunField("casualties", np.int64, "deaths in the run's violence"),
    )  # fmt: skip
    reads = (
        "run.week", "run.formed_week", "run.incumbent_present", "run.incumbent_alive",
        "run.incumbent_legitimacy", "run.pmf_status", "run.street_anger", "grievance",
        "government", "alignment", "patience", "seats",
    )  # fmt: skip
    writes = EVENT_LOG
    events = (
        EventSpec("rung_change", rung_change_text, "to_rung", "from_rung",
                  ("pressure", "grievance", "capability", "deterrence", "restraint", "cap",
                   "resolve")),
        EventSpec("casualties", casualties_text, values=("dead",)),
    )  # fmt: skip
    step = staticmethod(step)
