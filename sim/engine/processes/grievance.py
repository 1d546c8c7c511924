"""Grievance: what each faction holds against the process, week by week.

It decays toward a lasting floor (the seats lost at the election are not forgotten); rises
with exclusion from the talks and then from the government, with the threat to the PMF's
mandate (from the package on the table, then the government's stance and any crackdown),
with casualties on one's side and among the street; and falls with patrons' guarantees
(credible when a patron mediates, or under a consensus government) and with protests large
enough to win concessions. It stays in [0, 1].
"""

from __future__ import annotations

from typing import Any

import numpy as np

from sim.engine.declare import Per, Process, RunField, SectionSpec, State, StateField, World
from sim.engine.enums import PMF_ISSUE, GovernmentType
from sim.engine.jit import jit
from sim.engine.processes.escalation import mobilised
from sim.engine.rules.bargaining import government_position
from sim.engine.rules.patrons import reassurance
from sim.engine.schema import Section, Unit, Weight


class GrievanceSection(Section):
    """``[grievance]``: what raises and lowers each faction's grievance, a week."""

    decay: Unit
    seat_loss: Weight
    talks_exclusion: Weight
    government_exclusion: Weight
    mandate_threat: Weight
    guarantee_relief: Weight
    casualty: Weight
    protest_relief: Weight
    incumbent_killed: Weight
    blocked: Weight
    # weekly grievance of a faction while an armed rival across the PMF question is
    # mobilised (at clashes or above): fear and anger feed each other (0: no such feedback)
    rival_escalation: Weight = 0.0
    # weekly grievance, until the results are certified ([clock] certified_week), of a
    # list that lost seats, in proportion to the share it lost: its appeal of the results
    # is pending and then rejected (0: none)
    results_appeal: Weight = 0.0


GrievanceParams = Any  # the section's compiled record (world.grievance)


def initial_grievance(world: Any, start: Any, built: dict) -> np.ndarray:
    """The scenario's grievance; a scenario that starts after the incumbent's killing
    starts with his backers enraged."""
    grievance = start.grievance.copy()
    if world.incumbent.present and not world.incumbent.alive:
        bump = world.grievance.incumbent_killed * world.incumbent_supporters
        grievance = np.minimum(grievance + bump, 1.0)
    return grievance


@jit
def update_grievance(
    grievance: float,
    floor: float,
    excluded_from_talks: bool,
    excluded_from_government: bool,
    mandate_threat: float,
    guarantee: float,
    casualties: float,
    protest: float,
    rates: GrievanceParams,
) -> float:
    """One faction's week of grievance; ``rates`` is the ``[grievance]`` section."""
    g = (
        floor
        + (grievance - floor) * (1.0 - rates.decay)
        + rates.talks_exclusion * excluded_from_talks
        + rates.government_exclusion * excluded_from_government
        + rates.mandate_threat * mandate_threat
        + rates.casualty * min(casualties / 10.0, 1.0)
        - rates.guarantee_relief * guarantee
        - rates.protest_relief * protest
    )
    return min(max(g, 0.0), 1.0)


@jit
def mandate_threat(world: World, state: State) -> float:
    """The threat to the PMF's mandate its side feels: from the package on the table while
    talks are open; from the government's stance and any crackdown once formed."""
    run = state.run[0]
    if run.formed_week >= 0:
        crackdown = world.governance.crackdown_grievance * run.pmf_status
        return max(0.0, -run.coalition_pmf_stance) + crackdown
    if not run.talks_open:
        return 0.0
    return max(0.0, -government_position(world, state, state.on_the_table)[PMF_ISSUE])


@jit
def guarantee_credibility(world: World, state: State) -> np.ndarray:
    """(P,) how far each patron's guarantee is believed: half, and more with its
    mediation, during the talks; fully under a consensus government; little under a
    majority one, and less still if that government leans against the PMF."""
    run = state.run[0]
    mediation = world.patron_mediation
    if run.formed_week < 0:
        return 0.5 + 0.5 * mediation
    if run.government_type == GovernmentType.CONSENSUS:
        return np.ones_like(mediation)
    return (0.5 if run.coalition_pmf_stance >= 0 else 0.1) * np.ones_like(mediation)


@jit
def step(world: World, state: State, rng: np.uint64) -> None:
    run = state.run[0]
    n = len(world.seats)
    formed = run.formed_week >= 0
    threat = mandate_threat(world, state)
    credibility = guarantee_credibility(world, state)
    casualties, grievance = state.casualties_last, state.grievance
    street = casualties[n] / max(n, 1)  # the street's dead anger every party
    rates = world.grievance
    # ... and the street itself, which remembers them as the parties do their own
    run.street_anger = run.street_anger * (1.0 - rates.decay) + rates.casualty * min(
        casualties[n] / 10.0, 1.0
    )
    # an armed rival across the PMF question mobilised last week (fear and anger)
    pro, anti = mobilised(
        state.levels, world.armed_street, world.pmf_side_street, False,
        world.escalation.militia_armed,
    )  # fmt: skip
    talks = not formed and run.talks_open
    clock = world.clock
    certified = clock.certified_week if clock.certified_week >= 0 else clock.first_session_week
    appealing = run.week <= certified  # the week of certification, the appeals are rejected
    for i in range(n):
        side = world.pmf_side[i]
        grievance[i] = update_grievance(
            grievance[i],
            world.grievance_floor[i],
            talks and not state.on_the_table[i],
            formed and world.seats[i] > 0 and not state.government[i],
            threat if side else 0.0,
            reassurance(state.alignment, world.patron_guarantee, credibility, i) if side else 0.0,
            casualties[i] + street,
            state.protest_last[i],
            rates,
        )
        if anti if world.pmf_side_street[i] else pro:
            grievance[i] = min(grievance[i] + rates.rival_escalation, 1.0)
        if appealing and world.previous_seats[i] > world.seats[i]:
            lost = 1.0 - world.seats[i] / world.previous_seats[i]
            grievance[i] = min(grievance[i] + rates.results_appeal * lost, 1.0)


class Grievance(Process):
    """Each faction's grievance: decay to a floor, exclusion, threat, casualties, relief."""

    stream = ""  # it draws no random numbers
    section = SectionSpec("grievance", GrievanceSection)
    parameters = ("grievance", "governance", "clock", "escalation")
    state = (
        StateField("grievance", np.float64, Per.FACTION, "each faction's grievance, in [0, 1]",
                   initial_grievance),
        RunField("street_anger", np.float64, "the street's own grievance from its dead"),
    )  # fmt: skip
    reads = (
        "run.formed_week", "run.talks_open", "run.coalition_pmf_stance", "run.pmf_status",
        "run.government_type", "on_the_table", "government", "alignment", "casualties_last",
        "protest_last", "levels", "run.week", "seats", "major_list",
    )  # fmt: skip
    step = staticmethod(step)
