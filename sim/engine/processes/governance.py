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

from sim.engine.enums import PMF_ISSUE, EventKind, GovernmentType, PMFStatus
from sim.engine.events import log_event
from sim.engine.jit import jit
from sim.engine.processes import EVENT_LOG, Process
from sim.engine.state import State
from sim.engine.streams import binomial, uniform
from sim.engine.world import World

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
    log_event(state, EventKind.PMF_MOVE, -1, run.pmf_status, 0, votes, majority)
    for i in range(len(world.seats)):
        if state.government[i]:
            for p in range(len(world.patron_pmf_stance)):
                if world.patron_pmf_stance[p] > 0:
                    value = state.alignment[i, p] - gv.patron_rift
                    state.alignment[i, p] = min(max(value, -1.0), 1.0)


class Governance(Process):
    """A government's moves against the PMF's mandate, and the rift they open."""

    name = "governance"
    parameters = ("governance", "parliament")
    reads = (
        "run.week", "run.formed_week", "run.government_type", "run.coalition_pmf_stance",
        "run.pmf_status", "government", "alignment", "seats",
    )  # fmt: skip
    writes = ("run.pmf_status", "alignment", *EVENT_LOG)
    step = staticmethod(step)
