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
from sim.engine.enums import PMF_ISSUE, SHARING_ISSUE, GovernmentType, PMKind, Stage
from sim.engine.events import (
    ACCEPTS,
    ATTENDS,
    EVENT_LOG,
    MARGIN_TERMS,
    REFUSES,
    STAYS_AWAY,
    VOTE_DEAL_BROKEN,
    VOTE_PASSED,
    VOTE_SHORT,
    log_event,
    recording,
)  # fmt: skip
from sim.engine.jit import jit
from sim.engine.processes.blocs import largest_bloc
from sim.engine.rules.bargaining import (
    acceptance_margin,
    best_offer,
    draw_acceptance,
    government_position,
)
from sim.engine.rules.constitution import blocking_third, boycotting, quorum_met
from sim.engine.streams import binomial, normal, uniform

REPLAN_WEEKS = 4  # a formateur rethinks its offer at least this often
# the stream's slots
CONVENED, ATTENDANCE, NOMINEE, ACCEPTANCE, CONFIDENCE, SLIP, KEPT_OPEN = range(7)

# the kinds of event the sequence records (their lines: the texts below the step)
OFFER_PLANNED = event_code("offer_planned")
ANSWER = event_code("answer")
NOMINEE_CHARGED = event_code("nominee_charged")
CONFIDENCE_VOTE = event_code("confidence_vote")
GOVERNMENT_FORMED = event_code("government_formed")
SESSION_KEPT_OPEN = event_code("session_kept_open")
SESSION = event_code("session")
PRESIDENT_ELECTED = event_code("president_elected")
NOMINEE_FAILED = event_code("nominee_failed")
PARLIAMENT_SITS = event_code("parliament_sits")


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
                state, OFFER_PLANNED, formateur, plan.pm_kind, invite_to, members,
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
            state, ANSWER, i, formateur, answer, margins[i], t[i, 0], t[i, 1],
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
    log_event(state, NOMINEE_CHARGED, formateur, run.nominee, 0, seats)


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
        state, CONFIDENCE_VOTE, formateur, run.plan_pm_kind, result, yes, majority,
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
        state, GOVERNMENT_FORMED, run.pm_faction, run.government_type, run.pm_kind,
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
    run.last_session_week = run.week
    log_event(state, SESSION, -1, Stage.SPEAKER, met, present, majority)
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
    run.last_session_week = run.week
    log_event(state, SESSION, -1, Stage.PRESIDENT, met, present, rules.president_quorum)
    if met:
        # the package that elected the president binds the cabinet talks if it took in
        # every major list of the consensus community
        table = government_position(world, state, state.on_the_table)
        run.consensus_deal = table[SHARING_ISSUE] >= 1.0
        log_event(state, PRESIDENT_ELECTED, -1, -1, run.consensus_deal, present)
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
    log_event(state, NOMINEE_FAILED, run.formateur, run.nominee, 0, run.failed_nominees)
    add_stalemate(world, state)
    run.stage = Stage.NOMINATION
    run.timer = run.week + rules.nomination_weeks


@jit
def step(world: World, state: State, rng: np.uint64) -> None:
    run = state.run[0]
    if run.stage == Stage.AWAITING_SESSION and run.week >= world.clock.first_session_week:
        run.stage = Stage.SPEAKER  # the results are certified: parliament sits this week
        log_event(state, PARLIAMENT_SITS)
    if run.stage == Stage.SPEAKER:
        if uniform(rng, run.week, KEPT_OPEN, 0) < world.parliament.open_session_probability:
            log_event(state, SESSION_KEPT_OPEN)
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


# --------------------------------------------------------------------------- the timeline
def _pm(e: Line) -> str:
    return PMKind(e.other).label if e.other >= 0 else ""


def offer_text(e: Line) -> str:
    v = e.values
    return (
        f"{e.actor} plans a package of {v['members']:.0f} lists ({v['member_seats']:.0f} "
        f"seats) under a {_pm(e)} PM; expected value {v['expected_value']:.2f}, "
        f"chance it passes {v['pass_probability']:.2f}"
    )


def answer_text(e: Line) -> str:
    v = e.values
    terms = sorted(MARGIN_TERMS, key=lambda t: -abs(v[t]))[:2]
    why = ", ".join(f"{t.replace('_', ' ')} {v[t]:+.2f}" for t in terms)
    verb = {
        REFUSES: f"refuses {e.other_actor}'s package",
        ACCEPTS: f"accepts {e.other_actor}'s package",
        ATTENDS: "attends",
        STAYS_AWAY: "stays away",
    }[e.detail]
    return f"{e.actor} {verb} (margin {v['margin']:+.2f}: {why})"


def session_text(e: Line) -> str:
    stage = Stage(e.other).name.lower()
    met = "quorum met" if e.detail else "quorum missed"
    present, quorum = e.values["present"], e.values["quorum"]
    return f"{stage} session: {present:.0f} present of {quorum:.0f} needed, {met}"


def president_text(e: Line) -> str:
    return "president elected" + (" on a consensus package" if e.detail else "")


def charged_text(e: Line) -> str:
    seats = e.values["bloc_seats"]
    return f"{e.actor} (bloc of {seats:.0f} seats) is charged with a {_pm(e)} nominee"


def vote_text(e: Line) -> str:
    v = e.values
    result = {
        VOTE_PASSED: "wins",
        VOTE_SHORT: "fails",
        VOTE_DEAL_BROKEN: "is void (the consensus deal lacks a major list)",
    }[e.detail]
    return (
        f"confidence vote for {e.actor}'s {_pm(e)} nominee {result}: {v['yes']:.0f} yes of "
        f"{v['majority']:.0f} needed ({v['seats_accepting']:.0f} seats in the deal)"
    )


def failed_text(e: Line) -> str:
    return f"{e.actor}'s {_pm(e)} nominee runs out of time"


def formed_text(e: Line) -> str:
    gov = GovernmentType(e.other).label
    if e.actor:
        lead = f"under {e.actor}'s PM"
    else:
        lead = f"under a {PMKind(e.detail).label} PM without a list"
    return f"a {gov} government forms {lead} ({e.values['coalition_seats']:.0f} seats)"


class Sessions(Process):
    """The constitutional sequence, with its talks and votes."""

    stream = "sessions"
    parameters = ("parliament", "bargaining", "grievance", "incumbent", "clock")
    state = (
        RunField("stage", np.int64, "the constitutional stage (sim.engine.enums.Stage)",
                 Stage.AWAITING_SESSION),
        RunField("timer", np.int64, "week at which the current wait or deadline ends"),
        RunField("formateur", np.int64, "the nominee's list (the largest bloc's leader)", -1),
        RunField("nominee", np.int64, "the charged nominee's PMKind", PMKind.NONE),
        RunField("nominees", np.int64, "nominees charged"),
        RunField("failed_nominees", np.int64, "nominees who failed"),
        RunField("president_sessions", np.int64, "sessions to elect the president"),
        RunField("president_failures", np.int64, "of those, sessions that missed the quorum"),
        RunField("stalled_by_boycott", np.bool_, "a boycott denied the presidential quorum"),
        RunField("stalemate", np.float64, "pull toward a deal, grows with every failure"),
        RunField("talks_open", np.bool_, "cabinet talks are under way"),
        RunField("consensus_deal", np.bool_, "the president was elected on a consensus deal"),
        RunField("nomination_leader", np.int64, "largest bloc at the first nomination", -1),
        RunField("nomination_bloc", np.int64, "its bloc (-1 for a list alone)", -1),
        RunField("nomination_seats", np.float64, "and its seats"),
        RunField("plan_valid", np.bool_, "the formateur's standing offer is current"),
        RunField("plan_formateur", np.int64, "whose offer it is"),
        RunField("plan_nominee", np.int64, "for which nominee"),
        RunField("plan_compromise", np.bool_, "under a compromise PM"),
        RunField("plan_deal", np.bool_, "on a consensus deal"),
        RunField("plan_invite_to", np.int64, "whom it invites"),
        RunField("plan_expires", np.int64, "the week it is re-planned"),
        RunField("plan_pm_kind", np.int64, "its PM's PMKind"),
        RunField("formed_week", np.int64, "the week the government formed", -1),
        RunField("government_type", np.int64, "sim.engine.enums.GovernmentType",
                 GovernmentType.NONE),
        RunField("pm_kind", np.int64, "sim.engine.enums.PMKind", PMKind.NONE),
        RunField("pm_faction", np.int64, "the PM's list", -1),
        RunField("confidence_yes", np.int64, "votes for the government"),
        RunField("coalition_pmf_stance", np.float64, "the government's stance on the PMF"),
        RunField("last_session_week", np.int64, "the week of the last session held",
                 lambda world: world.clock.start_week),
        StateField("blocked_sessions", np.int64, Per.FACTION,
                   "failed sessions and nominees while its bloc led"),
        StateField("on_the_table", np.bool_, Per.FACTION,
                   "invited into the offer under discussion", True),
        StateField("plan_members", np.bool_, Per.FACTION, "the formateur's planned coalition"),
        StateField("plan_pm_position", np.float64, Per.ISSUE, "where its PM stands"),
        StateField("government", np.bool_, Per.FACTION, "the government's members, once formed"),
        StateField("answer_terms", np.float64, Per.ANSWER,
                   "the terms of each invitee's last margin (a single run only)",
                   width=len(MARGIN_TERMS)),
    )  # fmt: skip
    reads = (
        "run.week", "run.incumbent_alive", "run.incumbent_legitimacy", "bloc_of",
        "alignment", "legitimacy", "menace", "seats", "major_list",
    )  # fmt: skip
    writes = ("grievance", *EVENT_LOG)
    events = (
        EventSpec("parliament_sits", lambda e: "results certified: parliament sits"),
        EventSpec("offer_planned", offer_text, "pm_kind", "invite_to",
                  ("members", "member_seats", "expected_value", "pass_probability")),
        EventSpec("answer", answer_text, "formateur", "answer", ("margin", *MARGIN_TERMS),
                  other_is_actor=True),
        EventSpec("session", session_text, "stage", "quorum_met", ("present", "quorum")),
        EventSpec("president_elected", president_text, "", "consensus_deal", ("present",)),
        EventSpec("nominee_charged", charged_text, "pm_kind", "", ("bloc_seats",)),
        EventSpec("confidence_vote", vote_text, "pm_kind", "result",
                  ("yes", "majority", "seats_accepting")),
        EventSpec("nominee_failed", failed_text, "pm_kind", "", ("failed_nominees",)),
        EventSpec("government_formed", formed_text, "government_type", "pm_kind",
                  ("coalition_seats", "yes")),
        EventSpec("session_kept_open",
                  lambda e: "the first session is kept open: no vote on the speaker this week"),
    )  # fmt: skip
    step = staticmethod(step)
