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

from sim.engine.declare import (
    EventSpec,
    Line,
    Per,
    Process,
    RunField,
    State,
    StateField,
    World,
    event_code,
)
from sim.engine.enums import EscalationLevel, PMKind
from sim.engine.events import EVENT_LOG, log_event
from sim.engine.jit import jit
from sim.engine.rules.patrons import backfire
from sim.engine.streams import uniform

STRIKE, LETHAL = 0, 1  # the stream's slots
ATTACK = event_code("attack")


def attack_text(e: Line) -> str:
    if e.detail:
        return f"{e.actor} strikes the incumbent and kills him"
    now = e.values["incumbent_legitimacy"]
    return f"{e.actor} strikes the incumbent and fails (his legitimacy now {now:.2f})"


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
            log_event(state, ATTACK, i, -1, 1, run.incumbent_legitimacy)
            return
        run.incumbent_failed_attacks += 1
        run.incumbent_legitimacy = backfire(run.incumbent_legitimacy, inc.backfire_legitimacy)
        log_event(state, ATTACK, i, -1, 0, run.incumbent_legitimacy)
        state.legitimacy[i] = max(0.0, state.legitimacy[i] - inc.attacker_legitimacy_cost)
        for p in range(state.patience.shape[0]):
            blame = inc.patience_cost * max(state.alignment[i, p], 0.0)
            state.patience[p, i] = max(state.patience[p, i] - blame, 0.0)


class Attacks(Process):
    """Strikes on the incumbent, and their backfire."""

    stream = "attacks"
    parameters = ("incumbent", "grievance", "clock")
    state = (
        RunField("incumbent_present", np.bool_, "the scenario has an incumbent",
                 lambda world: world.incumbent.present),
        RunField("incumbent_alive", np.bool_, "he is alive",
                 lambda world: world.incumbent.present and world.incumbent.alive),
        RunField("incumbent_legitimacy", np.float64, "his legitimacy, in [0, 1]",
                 lambda world: world.incumbent.legitimacy),
        RunField("incumbent_attacks", np.int64, "strikes on him"),
        RunField("incumbent_failed_attacks", np.int64, "strikes he survived"),
        StateField("legitimacy", np.float64, Per.FACTION, "each faction's legitimacy",
                   lambda world, start, built: start.legitimacy),
        StateField("patience", np.float64, Per.PATRON_FACTION,
                   "each patron's tolerance of each client's violence",
                   lambda world, start, built: start.patience[:, None]),
        StateField("incumbent_attack_series", np.int16, Per.WEEK, "strikes on him each week"),
    )  # fmt: skip
    reads = ("run.week", "run.formed_week", "run.pm_kind", "levels", "alignment", "grievance")
    writes = ("grievance", *EVENT_LOG)
    events = (EventSpec("attack", attack_text, "", "killed", ("incumbent_legitimacy",)),)
    step = staticmethod(step)
