"""Sessions: the constitutional sequence, with the talks and votes that drive it.

Week by week (thresholds from ``[parliament]``; Iraq's 2005 constitution): once the
results are certified parliament sits and elects its speaker by an absolute majority;
then the president, whose session needs two-thirds of members present, so a blocking third
that stays away stalls everything; the president charges the largest bloc's nominee, who
has a deadline (which slips in practice) to win a confidence vote by an absolute majority;
a failed nominee makes way for another, more and more likely a compromise one.

At every session the leading bloc puts its package on the table (``sim.bargaining``) and
those left out who would refuse it stay away (``sim.engine.rules.constitution.boycotting``). Each
failure adds to the stalemate, which pulls everyone toward a deal and aggrieves the bloc
that is blocked.
"""

from __future__ import annotations

import numpy as np

from sim.engine.enums import PMF_ISSUE, SHARING_ISSUE, EventKind, GovernmentType, PMKind, Stage
from sim.engine.events import (
    ATTENDS,
    STAYS_AWAY,
    VOTE_DEAL_BROKEN,
    VOTE_PASSED,
    VOTE_SHORT,
    log_event,
    recording,
)  # fmt: skip
from sim.engine.jit import jit
from sim.engine.processes import EVENT_LOG, Process
from sim.engine.processes.blocs import largest_bloc
from sim.engine.rules.bargaining import (
    acceptance_margin,
    best_offer,
    draw_acceptance,
    government_position,
)
from sim.engine.rules.constitution import blocking_third, boycotting, quorum_met
from sim.engine.state import State
from sim.engine.streams import binomial, normal, uniform
from sim.engine.world import World

REPLAN_WEEKS = 4  # a formateur rethinks its offer at least this often
# the stream's slots
CONVENED, ATTENDANCE, NOMINEE, ACCEPTANCE, CONFIDENCE, SLIP, KEPT_OPEN = range(7)


@jit
def nominee_position(world: World, formateur: int, nominee: int) -> np.ndarray:
    """Where a nominee stands (a compromise one is placed at the coalition's centre later)."""
    if nominee == PMKind.INCUMBENT:
        return world.incumbent_position.copy()
    if nominee == PMKind.FORMATEUR:
        return world.positions[formateur].copy()
    return np.zeros(len(world.incumbent_position))


@jit
def provisional_nominee(world: World, state: State, formateur: int) -> int:
    """The nominee the leading bloc campaigns with before the president charges anyone."""
    run = state.run[0]
    backs = world.incumbent_supporters[formateur]
    if run.incumbent_alive and (
        formateur == world.incumbent_faction
        or (backs and world.incumbent.nomination_probability >= 0.5)
    ):
        return PMKind.INCUMBENT
    return PMKind.FORMATEUR


@jit
def offer(
    world: World,
    state: State,
    formateur: int,
    nominee: int,
    consider_compromise: bool,
    invite_to: int,
) -> np.ndarray:
    """Put the formateur's offer on the table and return its invitees' margins.

    The offer is re-planned when the situation changes (another formateur or nominee,
    compromise now on the table, a consensus deal, another kind of vote) or every few
    weeks; otherwise the same coalition is offered again on this week's terms. Blocs churn
    at the margins every week, and the formateur does not re-plan at every reshuffle.
    """
    run = state.run[0]
    same = (
        run.plan_valid
        and run.plan_formateur == formateur
        and run.plan_nominee == nominee
        and run.plan_compromise == consider_compromise
        and run.plan_deal == run.consensus_deal
        and run.plan_invite_to == invite_to
        and run.week < run.plan_expires
    )
    if same:
        margins = acceptance_margin(
            world, state, state.plan_members, formateur, state.plan_pm_position, run.plan_pm_kind
        )
    else:
        plan, margins = best_offer(
            world,
            state,
            formateur,
            nominee,
            nominee_position(world, formateur, nominee),
            consider_compromise,
            run.consensus_deal,
            invite_to,
        )
        state.plan_members[:] = plan.members
        state.plan_pm_position[:] = plan.pm_position
        run.plan_pm_kind = plan.pm_kind
        if recording(state):
            members = plan.members.sum()
            seats = (state.seats * plan.members).sum()
            log_event(
                state, EventKind.OFFER_PLANNED, formateur, plan.pm_kind, invite_to, members,
                seats, plan.expected_value, plan.pass_probability,
            )  # fmt: skip
            # the terms of the chosen package's margins (best_offer weighed others after it)
            acceptance_margin(world, state, plan.members, formateur, plan.pm_position, plan.pm_kind)
        run.plan_valid = True
        run.plan_formateur = formateur
        run.plan_nominee = nominee
        run.plan_compromise = consider_compromise
        run.plan_deal = run.consensus_deal
        run.plan_invite_to = invite_to
        run.plan_expires = run.week + REPLAN_WEEKS
    state.on_the_table[:] = state.plan_members
    run.talks_open = True
    return margins


@jit
def log_answers(
    world: World, state: State, formateur: int, margins: np.ndarray, yes: np.ndarray,
    at_session: bool,
) -> None:  # fmt: skip
    """Each list's answer to the package, with the terms that decided it (a single run):
    at a session, whether it attends (``sim.engine.events.ANSWERS``); in the cabinet talks,
    each invitee's acceptance."""
    if not recording(state):
        return
    t = state.answer_terms
    for i in range(len(world.seats)):
        if i == formateur or state.seats[i] <= 0:
            continue
        if not (at_session or state.on_the_table[i]):
            continue
        answer = (ATTENDS if yes[i] else STAYS_AWAY) if at_session else int(yes[i])
        log_event(
            state, EventKind.ANSWER, i, formateur, answer, margins[i], t[i, 0], t[i, 1],
            t[i, 2], t[i, 3], t[i, 4], t[i, 5], t[i, 6],
        )  # fmt: skip


@jit
def attendance(
    world: World,
    state: State,
    rng: np.uint64,
    consider_compromise: bool,
    quorum: int,
    blocs_only: bool,
) -> float:
    """Seats present at a session: the leading bloc's package is on the table (inviting
    enough members for the quorum) and those left out who would refuse it stay away."""
    run = state.run[0]
    formateur, _ = largest_bloc(world, state.seats, state.bloc_of)
    nominee = provisional_nominee(world, state, formateur)
    margins = offer(world, state, formateur, nominee, consider_compromise, quorum)
    n = len(world.seats)
    draws = np.empty(n)
    for i in range(n):
        draws[i] = normal(rng, run.week, ATTENDANCE, i)
    away = boycotting(
        state.on_the_table,
        margins,
        draws,
        world.bargaining.acceptance_noise,
        state.bloc_of,
        world.bloc_leaders,
        state.bloc_of[formateur],
        blocs_only,
    )
    log_answers(world, state, formateur, margins, ~away, True)
    # seats left vacant by a walk-out are never present
    return (state.seats * ~away).sum()


@jit
def add_stalemate(world: World, state: State) -> None:
    """A failed session or nominee: everyone feels the pull toward a deal, and the leading
    bloc, blocked from the government it won, grows aggrieved."""
    run = state.run[0]
    run.stalemate += world.bargaining.stalemate_pressure
    formateur, _ = largest_bloc(world, state.seats, state.bloc_of)
    own = state.bloc_of[formateur]
    for i in range(len(world.seats)):
        if i == formateur or (own >= 0 and state.bloc_of[i] == own):
            state.grievance[i] = min(state.grievance[i] + world.grievance.blocked, 1.0)
    # the list kept from the government it leads counts toward a walk-out
    # (sim.engine.processes.walkouts); its partners have other blocs to go to
    state.blocked_sessions[formateur] += 1


@jit
def choose_nominee(world: World, state: State, rng: np.uint64) -> None:
    """The president charges the largest bloc's nominee; after failures, a compromise
    candidate becomes likely; a formateur that backs the incumbent may name him."""
    run = state.run[0]
    formateur, seats = largest_bloc(world, state.seats, state.bloc_of)
    if run.nomination_leader < 0:
        run.nomination_leader = formateur
        run.nomination_bloc = state.bloc_of[formateur]
        run.nomination_seats = seats
    run.formateur = formateur
    run.nominees += 1
    alive = run.incumbent_alive
    backs = world.incumbent_supporters[formateur]
    appeal = world.incumbent.nomination_probability * (0.5 + run.incumbent_legitimacy)
    if run.failed_nominees > 0 and (
        uniform(rng, run.week, NOMINEE, 0, 0) < world.bargaining.compromise_after_failure
    ):
        run.nominee = PMKind.COMPROMISE
    elif (alive and formateur == world.incumbent_faction) or (
        alive and backs and uniform(rng, run.week, NOMINEE, 0, 1) < appeal
    ):
        run.nominee = PMKind.INCUMBENT
    else:
        run.nominee = PMKind.FORMATEUR
    log_event(state, EventKind.NOMINEE_CHARGED, formateur, run.nominee, 0, seats)


@jit
def try_to_form_government(world: World, state: State, rng: np.uint64) -> bool:
    """The nominee's offer this week; if enough invitees accept, a confidence vote."""
    run = state.run[0]
    formateur = run.formateur
    compromise = run.failed_nominees > 0 or world.bargaining.compromise_first
    margins = offer(world, state, formateur, run.nominee, compromise, 0)
    n = len(world.seats)
    draws = np.empty(n)
    for i in range(n):
        draws[i] = normal(rng, run.week, ACCEPTANCE, i)
    accepted = draw_acceptance(
        state.on_the_table, margins, world.bargaining.acceptance_noise, draws, formateur
    )
    log_answers(world, state, formateur, margins, accepted, False)
    # each member list's MPs vote with its cohesion
    yes = 0
    for i in range(n):
        if accepted[i]:
            yes += binomial(rng, run.week, CONFIDENCE, i, int(state.seats[i]), world.cohesion[i])
    majority = world.parliament.confidence_majority
    in_deal = (state.seats * accepted).sum()
    if in_deal < majority:
        return False  # not enough takers: no vote is called
    # a consensus deal does not go ahead without every major list
    major = state.major_list
    broken = run.consensus_deal and (accepted & major).sum() < major.sum()
    result = VOTE_SHORT if yes < majority else VOTE_DEAL_BROKEN if broken else VOTE_PASSED
    log_event(
        state, EventKind.CONFIDENCE_VOTE, formateur, run.plan_pm_kind, result, yes, majority,
        in_deal,
    )  # fmt: skip
    if result != VOTE_PASSED:
        return False
    state.government[:] = accepted
    run.confidence_yes = yes
    run.pm_kind = run.plan_pm_kind
    if run.pm_kind == PMKind.FORMATEUR:
        run.pm_faction = formateur
    elif run.pm_kind == PMKind.INCUMBENT:
        run.pm_faction = world.incumbent_faction
    else:
        run.pm_faction = -1
    position = government_position(world, state, accepted)
    consensus = position[SHARING_ISSUE] >= 1.0
    run.government_type = GovernmentType.CONSENSUS if consensus else GovernmentType.MAJORITY
    run.coalition_pmf_stance = 0.75 * position[PMF_ISSUE] + 0.25 * state.plan_pm_position[PMF_ISSUE]
    run.formed_week = run.week
    run.talks_open = False
    log_event(
        state, EventKind.GOVERNMENT_FORMED, run.pm_faction, run.government_type, run.pm_kind,
        in_deal, yes,
    )  # fmt: skip
    return True


@jit
def speaker(world: World, state: State, rng: np.uint64) -> None:
    """The speaker's vote: a routine one, which only blocs stay away from."""
    run = state.run[0]
    majority = world.parliament.speaker_majority
    present = attendance(world, state, rng, False, majority, True)
    met = quorum_met(present, majority)
    log_event(state, EventKind.SESSION, -1, Stage.SPEAKER, met, present, majority)
    if met:
        run.stage = Stage.PRESIDENT


@jit
def president(world: World, state: State, rng: np.uint64) -> None:
    """A presidential session, when one is convened: two-thirds must be present."""
    run = state.run[0]
    rules = world.parliament
    if uniform(rng, run.week, CONVENED, 0) >= rules.session_probability:
        return
    run.president_sessions += 1
    present = attendance(world, state, rng, True, rules.president_quorum, False)
    met = quorum_met(present, rules.president_quorum)
    log_event(state, EventKind.SESSION, -1, Stage.PRESIDENT, met, present, rules.president_quorum)
    if met:
        # the package that elected the president binds the cabinet talks if it took in
        # every major list of the consensus community
        table = government_position(world, state, state.on_the_table)
        run.consensus_deal = table[SHARING_ISSUE] >= 1.0
        log_event(state, EventKind.PRESIDENT_ELECTED, -1, -1, run.consensus_deal, present)
        run.stage = Stage.NOMINATION
        run.timer = run.week + rules.nomination_weeks
        return
    run.president_failures += 1
    if blocking_third(rules.size - present, rules.size, rules.president_quorum):
        run.stalled_by_boycott = True
    add_stalemate(world, state)


@jit
def cabinet(world: World, state: State, rng: np.uint64) -> None:
    """The nominee's weeks to win a confidence vote; the deadline slips in practice."""
    run = state.run[0]
    rules = world.parliament
    if try_to_form_government(world, state, rng):
        run.stage = Stage.FORMED
        return
    if run.week < run.timer:
        return
    if uniform(rng, run.week, SLIP, 0) < rules.deadline_slip_probability:
        run.timer += 1
        return
    run.failed_nominees += 1
    log_event(state, EventKind.NOMINEE_FAILED, run.formateur, run.nominee, 0, run.failed_nominees)
    add_stalemate(world, state)
    run.stage = Stage.NOMINATION
    run.timer = run.week + rules.nomination_weeks


@jit
def step(world: World, state: State, rng: np.uint64) -> None:
    run = state.run[0]
    if run.stage == Stage.AWAITING_SESSION and run.week >= world.clock.first_session_week:
        run.stage = Stage.SPEAKER  # the results are certified: parliament sits this week
        log_event(state, EventKind.PARLIAMENT_SITS)
    if run.stage == Stage.SPEAKER:
        if uniform(rng, run.week, KEPT_OPEN, 0) < world.parliament.open_session_probability:
            log_event(state, EventKind.SESSION_KEPT_OPEN)
            return
        speaker(world, state, rng)
    elif run.stage == Stage.PRESIDENT:
        president(world, state, rng)
    elif run.stage == Stage.NOMINATION:
        if run.week >= run.timer:
            choose_nominee(world, state, rng)
            run.stage = Stage.CABINET
            run.timer = run.week + world.parliament.cabinet_deadline_weeks
            cabinet(world, state, rng)
    elif run.stage == Stage.CABINET:
        cabinet(world, state, rng)


class Sessions(Process):
    """The constitutional sequence, with its talks and votes."""

    name = "sessions"
    parameters = ("parliament", "bargaining", "grievance", "incumbent", "clock")
    reads = (
        "run.week", "run.stage", "run.timer", "run.formateur", "run.nominee",
        "run.failed_nominees", "run.consensus_deal", "run.stalemate", "run.plan_valid",
        "run.plan_formateur", "run.plan_nominee", "run.plan_compromise", "run.plan_deal",
        "run.plan_invite_to", "run.plan_expires", "run.plan_pm_kind", "run.incumbent_alive",
        "run.incumbent_legitimacy", "run.nomination_leader", "bloc_of", "alignment",
        "legitimacy", "menace", "grievance", "plan_members", "plan_pm_position",
        "on_the_table", "seats", "major_list",
    )  # fmt: skip
    writes = (
        "run.stage", "run.timer", "run.formateur", "run.nominee", "run.nominees",
        "run.failed_nominees", "run.president_sessions", "run.president_failures",
        "run.stalled_by_boycott", "run.stalemate", "run.talks_open", "run.consensus_deal",
        "run.nomination_leader", "run.nomination_bloc", "run.nomination_seats",
        "run.plan_valid", "run.plan_formateur", "run.plan_nominee", "run.plan_compromise",
        "run.plan_deal", "run.plan_invite_to", "run.plan_expires", "run.plan_pm_kind",
        "run.formed_week", "run.government_type", "run.pm_kind", "run.pm_faction",
        "run.confidence_yes", "run.coalition_pmf_stance", "grievance", "plan_members",
        "plan_pm_position", "on_the_table", "government", "blocked_sessions",
        "answer_terms",  # the terms of each answer, for the event log
        *EVENT_LOG,
    )  # fmt: skip
    step = staticmethod(step)
