"""Governance: what a government does once formed, about the PMF above all.

A national-majority government hostile to the PMF (its stance below ``anti_pmf_stance``)
may bring a measure against the PMF's legal mandate: curtailing it is a government bill
(the coalition's own votes suffice), dissolving it needs an absolute majority of members,
each list's MPs voting yes in proportion to their hostility to the mandate. A consensus
government, which includes the PMF's own lists, does not move. Its members then fall out
with the patrons that defend the PMF (article, "The Potential Anti-PMF Alliance": such a
pact would put al-Sadr and al-Kadhimi at odds with Iran itself).
"""

from __future__ import annotations

import numpy as np

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
from sim.engine.enums import PMF_ISSUE, GovernmentType, PMFStatus
from sim.engine.events import EVENT_LOG, log_event
from sim.engine.jit import jit
from sim.engine.schema import Section, Signed, Unit, Weight
from sim.engine.streams import binomial, uniform


class GovernanceSection(Section):
    """``[governance]``: what a government does about the PMF's mandate."""

    anti_pmf_stance: Signed
    mandate_move_probability: Unit
    crackdown_grievance: Weight
    patron_rift: Unit


def pmf_move_text(e: Line) -> str:
    status = PMFStatus(e.other).label
    return f"the government's bill leaves the PMF {status} ({e.values['votes']:.0f} votes)"


PMF_MOVE = event_code("pmf_move")

MOVE, VOTE = 0, 1  # the stream's slots


@jit
def mandate_support(world: World, state: State) -> np.ndarray:
    """(N,) each list's chance per MP of voting for the next step against the mandate."""
    if state.run[0].pmf_status == PMFStatus.INTACT:
        return world.cohesion * state.government  # a government bill
    hostility = np.minimum(np.maximum(-2.0 * world.positions[:, PMF_ISSUE], 0.0), 1.0)
    return world.cohesion * hostility


@jit
def step(world: World, state: State, rng: np.uint64) -> None:
    run = state.run[0]
    gv = world.governance
    hostile = (
        run.formed_week >= 0
        and run.government_type == GovernmentType.MAJORITY
        and run.coalition_pmf_stance < gv.anti_pmf_stance
    )
    if not hostile or run.pmf_status == PMFStatus.DISSOLVED:
        return
    if uniform(rng, run.week, MOVE, 0) >= gv.mandate_move_probability:
        return
    support = mandate_support(world, state)
    votes = 0
    for i in range(len(world.seats)):
        votes += binomial(rng, run.week, VOTE, i, int(state.seats[i]), support[i])
    if votes < world.parliament.confidence_majority:
        return
    run.pmf_status += 1
    majority = world.parliament.confidence_majority
    log_event(state, PMF_MOVE, -1, run.pmf_status, 0, votes, majority)
    for i in range(len(world.seats)):
        if state.government[i]:
            for p in range(len(world.patron_pmf_stance)):
                if world.patron_pmf_stance[p] > 0:
                    value = state.alignment[i, p] - gv.patron_rift
                    state.alignment[i, p] = min(max(value, -1.0), 1.0)


class Governance(Process):
    """A government's moves against the PMF's mandate, and the rift they open."""

    stream = "governance"
    section = SectionSpec("governance", GovernanceSection)
    parameters = ("governance", "parliament")
    state = (
        RunField("pmf_status", np.int64, "the PMF's mandate (sim.engine.enums.PMFStatus)",
                 PMFStatus.INTACT),
        StateField("alignment", np.float64, Per.FACTION_PATRON,
                   "each faction's alignment with each patron, in [-1, 1]",
                   lambda world, start, built: start.alignment),
    )  # fmt: skip
    reads = (
        "run.week", "run.formed_week", "run.government_type", "run.coalition_pmf_stance",
        "government", "seats",
    )  # fmt: skip
    writes = EVENT_LOG
    events = (EventSpec("pmf_move", pmf_move_text, "pmf_status", "", ("votes", "majority")),)
    step = staticmethod(step)
