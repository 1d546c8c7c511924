"""Attacks on the incumbent: factions at the targeted-attacks rung may strike him.

While he holds office (as caretaker, or as the new government's PM), each armed faction at
rung 4 strikes with ``attack_probability`` times its armed capacity. An attack kills him
with ``attack_lethality``, less his security's protection. A failed attack backfires
(article, "What Does Not Kill Al-Khadimi Makes Him Stronger"): his legitimacy rises, the
attackers lose legitimacy, and their patrons' patience wears thin (Qaani came to Baghdad to
condemn the attack), which tightens their restraint. A successful one removes him and
enrages those who backed him.
"""

from __future__ import annotations

import numpy as np

from sim.engine.enums import EscalationLevel, EventKind, PMKind
from sim.engine.events import log_event
from sim.engine.jit import jit
from sim.engine.processes import EVENT_LOG, Process
from sim.engine.rules.patrons import backfire
from sim.engine.state import State
from sim.engine.streams import uniform
from sim.engine.world import World

STRIKE, LETHAL = 0, 1  # the stream's slots


@jit
def incumbent_killed(world: World, state: State) -> None:
    """His killing leaves the state weaker and enrages those who backed him."""
    state.run[0].incumbent_alive = False
    bump = world.grievance.incumbent_killed * world.incumbent_supporters
    state.grievance[:] = np.minimum(state.grievance + bump, 1.0)


@jit
def step(world: World, state: State, rng: np.uint64) -> None:
    run = state.run[0]
    inc = world.incumbent
    in_office = run.formed_week < 0 or run.pm_kind == PMKind.INCUMBENT
    if not (run.incumbent_alive and inc.attacks_enabled and in_office):
        return
    lethal = inc.attack_lethality * (1.0 - inc.security_capacity)
    for i in range(len(world.seats)):
        if state.levels[i] < EscalationLevel.TARGETED_ATTACKS:
            continue
        if uniform(rng, run.week, STRIKE, i) >= inc.attack_probability * world.armed[i]:
            continue
        run.incumbent_attacks += 1
        state.incumbent_attack_series[run.week - world.clock.start_week] += 1
        if uniform(rng, run.week, LETHAL, i) < lethal:
            state.legitimacy[i] = max(0.0, state.legitimacy[i] - 2 * inc.attacker_legitimacy_cost)
            incumbent_killed(world, state)
            log_event(state, EventKind.ATTACK, i, -1, 1, run.incumbent_legitimacy)
            return
        run.incumbent_failed_attacks += 1
        run.incumbent_legitimacy = backfire(run.incumbent_legitimacy, inc.backfire_legitimacy)
        log_event(state, EventKind.ATTACK, i, -1, 0, run.incumbent_legitimacy)
        state.legitimacy[i] = max(0.0, state.legitimacy[i] - inc.attacker_legitimacy_cost)
        for p in range(state.patience.shape[0]):
            blame = inc.patience_cost * max(state.alignment[i, p], 0.0)
            state.patience[p, i] = max(state.patience[p, i] - blame, 0.0)


class Attacks(Process):
    """Strikes on the incumbent, and their backfire."""

    name = "attacks"
    parameters = ("incumbent", "grievance", "clock")
    reads = (
        "run.week", "run.formed_week", "run.pm_kind", "run.incumbent_alive",
        "run.incumbent_legitimacy", "levels", "alignment", "legitimacy", "patience",
        "grievance",
    )  # fmt: skip
    writes = (
        "run.incumbent_attacks", "run.incumbent_failed_attacks", "run.incumbent_alive",
        "incumbent_attack_series",
        "run.incumbent_legitimacy", "legitimacy", "patience", "grievance", *EVENT_LOG)  # fmt: skip
    step = staticmethod(step)
