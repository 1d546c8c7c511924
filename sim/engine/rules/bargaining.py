"""Coalition bargaining: pure functions over a World and a State.

The formateur weighs a few offers -- a *majority* coalition of its bloc and willing partners,
or a *consensus* coalition taking in every major list of the consensus community; under its
own nominee, or (once talks have failed) a compromise prime minister at the coalition's
centre -- and puts the one with the best expected value to the invited factions. Each
invited faction accepts if its utility of joining is positive: office share (Gamson's law
as the anchor), policy distance (above all on the PMF mandate), safety (fear of violence
from excluded armed factions), patron pressure and mediation. Everything is O(N log N) in
the number of factions: offers are built greedily, never by enumerating coalitions.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from sim.engine.declare import State, World
from sim.engine.enums import PMF_ISSUE, SHARING_ISSUE, PMKind
from sim.engine.jit import jit


class Offer(NamedTuple):
    """A coalition offer: who is invited, under which prime minister, and how it looks to
    the formateur when it is planned."""

    members: np.ndarray  # (N,) bool
    pm_kind: int  # sim.engine.enums.PMKind
    pm_position: np.ndarray  # (K,)
    expected_value: float
    pass_probability: float


@jit
def ndtr(x: float) -> float:
    """The standard normal distribution function."""
    return 0.5 * (1.0 + math.erf(x / math.sqrt(2.0)))


@jit
def sharing_stance(members: np.ndarray, major_list: np.ndarray) -> float:
    """-1 for a government holding at most one major list of the consensus community (a
    national-majority government), +1 for one holding all of them, linear in between."""
    total = 0
    included = 0
    for i in range(len(members)):
        if major_list[i]:
            total += 1
            if members[i]:
                included += 1
    if total <= 1:
        return 1.0
    return -1.0 + 2.0 * max(included - 1, 0) / (total - 1)


@jit
def government_position(world: World, state: State, members: np.ndarray) -> np.ndarray:
    """Where a government stands: the seat-weighted mean of its members on policy issues;
    on sharing the Shia vote, its form (see ``sharing_stance``)."""
    seats, positions = state.seats, world.positions  # locals: loads hoisted from loops
    n, k = positions.shape
    out = np.zeros(k)
    total = 0.0
    for i in range(n):
        if members[i]:
            total += seats[i]
            for j in range(k):
                out[j] += seats[i] * positions[i, j]
    if total > 0:
        out /= total
    out[SHARING_ISSUE] = sharing_stance(members, state.major_list)
    return out


@jit
def distance(world: World, i: int, position: np.ndarray) -> float:
    """Faction i's weighted mean absolute distance to a position, in [0, 2]."""
    d = 0.0
    for j in range(len(position)):
        d += abs(world.positions[i, j] - position[j]) * world.issue_weights[j]
    return d


@jit
def acceptance_margin(
    world: World, state: State, members: np.ndarray, formateur: int, pm_position: np.ndarray,
    pm_kind: int,
) -> np.ndarray:  # fmt: skip
    """(N,) each faction's utility of joining the proposed government minus staying out:
    the terms that depend on who is in (office, policy, safety, patrons, mediation, the
    partners' standing) and those that depend on who leads (the prime minister)."""
    bg = world.bargaining
    seats, positions, weights = state.seats, world.positions, world.issue_weights
    alignment, armed, menace, major = state.alignment, world.armed, state.menace, state.major_list
    n, n_patrons = alignment.shape
    n_issues = len(weights)
    stalemate = state.run[0].stalemate
    coalition_seats = major_held = major_seats = legit_held = menace_total = menace_out = 0.0
    for i in range(n):
        # every armed actor weighs in the safety term, a list outside parliament too
        threat_i = armed[i] * menace[i]
        menace_total += threat_i
        major_seats += seats[i] * major[i]
        if members[i]:
            coalition_seats += seats[i]
            major_held += seats[i] * major[i]
            legit_held += seats[i] * state.legitimacy[i]
        else:
            menace_out += threat_i
    gov_pos = government_position(world, state, members)
    # Safety: joining a government that leaves aggrieved armed factions outside is
    # dangerous for those who cannot defend themselves (article: militias threaten
    # "dire consequences"); the threat is the share of all armed menace left out.
    threat = menace_out / menace_total if menace_total > 0 else 0.0
    # Mediation: a mediating patron brokers unity of the consensus community; its clients
    # favour coalitions that take every major list in, and shun those that split it. A
    # stalled process pushes everyone the same way.
    unity = major_held / major_seats if major_seats > 0 else 1.0
    mediation = bg.mediation_value * (2.0 * unity - 1.0)
    # Association: discredited partners (after attacks they are blamed for) cost votes.
    legit = legit_held / coalition_seats if coalition_seats > 0 else 1.0
    association = -bg.policy_value * max(0.0, 0.5 - legit)
    # Patron pressure: each patron pushes aligned clients toward governments whose stance
    # on the PMF mandate is close to its own.
    push = np.empty(n_patrons)
    for p in range(n_patrons):
        fit = 1.0 - abs(gov_pos[PMF_ISSUE] - world.patron_pmf_stance[p])
        push[p] = bg.patron_value * world.patron_pressure[p] * fit
    mediators = world.patron_mediation
    # The prime minister: rivals dislike one far from them; his own list gains; the
    # incumbent brings his own appeal.
    appeal = 0.0
    if pm_kind == PMKind.INCUMBENT:
        appeal = bg.incumbent_appeal * (state.run[0].incumbent_legitimacy - 0.5)
    elif pm_kind == PMKind.COMPROMISE:
        appeal = bg.compromise_appeal  # weaker in office, stronger in acceptance
    pm_faction = formateur if pm_kind == PMKind.FORMATEUR else -1
    office = 1.0 + stalemate
    margins = np.empty(n)
    terms = state.answer_terms  # a single run's log keeps the terms (no rows in a batch)
    explain = len(terms) > 0
    for i in range(n):
        # Office: Gamson's law, its seats over the coalition's (itself included), less the
        # formateur's bonus; the longer the deadlock, the more any seat is worth.
        room = coalition_seats + (0.0 if members[i] else seats[i])
        share = (1.0 - bg.formateur_bonus) * seats[i] / room if room > 0 else 0.0
        if i == formateur:
            share += bg.formateur_bonus
        patrons = pull = 0.0
        for p in range(n_patrons):
            lever = max(alignment[i, p], 0.0)
            patrons += lever * push[p]
            pull += lever * mediators[p]
        to_government = to_pm = 0.0
        for j in range(n_issues):
            to_government += abs(positions[i, j] - gov_pos[j]) * weights[j]
            to_pm += abs(positions[i, j] - pm_position[j]) * weights[j]
        leader = bg.pm_rivalry if i == pm_faction else appeal - bg.pm_rivalry * to_pm
        margins[i] = (
            world.office_coef[i] * share * office
            - world.policy_coef[i] * to_government
            - world.safety_coef[i] * threat
            + patrons
            + mediation * (pull + stalemate)
            + association
            + leader
        )
        if explain:  # in sim.engine.events.MARGIN_TERMS' order; they sum to the margin
            terms[i, 0] = world.office_coef[i] * share * office
            terms[i, 1] = -world.policy_coef[i] * to_government
            terms[i, 2] = -world.safety_coef[i] * threat
            terms[i, 3] = patrons
            terms[i, 4] = mediation * (pull + stalemate)
            terms[i, 5] = association
            terms[i, 6] = leader
    return margins


@jit
def greedy_coalition(
    start: np.ndarray,
    margins: np.ndarray,
    affinity: np.ndarray,
    seats: np.ndarray,
    target: float,
    allowed: np.ndarray,
) -> np.ndarray:
    """Add willing factions, most willing first, until the coalition reaches ``target``.

    Factions with a positive margin are ranked by margin plus the formateur's affinity; if
    the willing are not enough, the least unwilling are tried next. O(N log N).
    """
    members = start.copy()
    have = (seats * members).sum()
    if have >= target:
        return members
    score = margins + 0.25 * affinity
    by_score = np.argsort(-score, kind="mergesort")  # stable: ties keep row order
    for willing in (True, False):
        for i in by_score:
            if (margins[i] > 0) != willing or members[i] or not allowed[i] or seats[i] <= 0:
                continue
            members[i] = True
            have += seats[i]
            if have >= target:
                return members
    return members


@jit
def pass_probability(
    members: np.ndarray,
    margins: np.ndarray,
    seats: np.ndarray,
    noise: float,
    target: float,
    formateur: int,
) -> float:
    """Probability that the accepting members hold ``target`` seats (normal approximation)."""
    mean = 0.0
    var = 0.0
    for i in range(len(seats)):
        p = ndtr(margins[i] / noise) if members[i] else 0.0
        if i == formateur:
            p = 1.0
        mean += p * seats[i]
        var += p * (1.0 - p) * seats[i] ** 2
    if var <= 1e-9:
        return 1.0 if mean >= target else 0.0
    return ndtr((mean - target + 0.5) / math.sqrt(var))


@jit
def draw_acceptance(
    members: np.ndarray, margins: np.ndarray, noise: float, draws: np.ndarray, formateur: int
) -> np.ndarray:
    """Which invited factions accept, given standard-normal draws (one per faction)."""
    accepted = members & (margins + noise * draws > 0.0)
    accepted[formateur] = members[formateur]
    return accepted


@jit
def _build(
    world: World,
    state: State,
    start: np.ndarray,
    allowed: np.ndarray,
    pm_kind: int,
    pm_position: np.ndarray,
    formateur: int,
    target: int,
    invite_to: int,
    affinity: np.ndarray,
) -> tuple[Offer, np.ndarray]:
    """One offer of a family under one prime minister; a compromise PM stands at the
    centre of the coalition (first of its core, then of the whole coalition)."""
    bg = world.bargaining
    at_centre = pm_kind == PMKind.COMPROMISE
    provisional = government_position(world, state, start) if at_centre else pm_position
    margins = acceptance_margin(world, state, start, formateur, provisional, pm_kind)
    invite = max(target, invite_to) + bg.buffer_seats
    members = greedy_coalition(start, margins, affinity, state.seats, invite, allowed)
    final = government_position(world, state, members) if at_centre else pm_position
    margins = acceptance_margin(world, state, members, formateur, final, pm_kind)
    p_pass = pass_probability(members, margins, state.seats, bg.acceptance_noise, target, formateur)
    fail = -(0.1 + state.run[0].stalemate)
    value = p_pass * margins[formateur] + (1.0 - p_pass) * fail
    return Offer(members, pm_kind, final, value, p_pass), margins


@jit
def best_offer(
    world: World,
    state: State,
    formateur: int,
    nominee: int,
    nominee_position: np.ndarray,
    consider_compromise: bool,
    consensus_only: bool,
    invite_to: int,
) -> tuple[Offer, np.ndarray]:
    """The formateur's best offer among the families it can propose, and its invitees'
    margins.

    *Majority*: its bloc plus willing partners, the rival blocs' major lists left out.
    *Consensus*: every major list of the consensus community taken in. With
    ``consider_compromise`` each family is also tried under a compromise PM; with
    ``consensus_only`` (the deal that elected the president took in every major list) the
    majority family is off the table. With ``invite_to`` (a presidential session needs that
    many members present) each family is also tried widened to that many seats: a wider
    package brings more members to the chamber, but dilutes the government and the
    formateur's share, so the formateur may keep a narrow one and risk a boycott. Every
    offer is judged by its chance of a confidence majority.
    """
    target = world.parliament.confidence_majority
    bloc_of = state.bloc_of
    own = bloc_of[formateur]
    start = (bloc_of == own) if own >= 0 else np.zeros(len(bloc_of), dtype=np.bool_)
    start[formateur] = True
    rivals = (bloc_of >= 0) & (bloc_of != own)
    # A majority government leaves out the other major lists of the consensus community
    # (and the blocs they lead); anyone else may be courted, rival blocs' small members too.
    starts = [start, start | state.major_list]
    allowed = [~(rivals & state.major_list), np.ones(len(bloc_of), dtype=np.bool_)]
    first_family = 1 if consensus_only else 0
    affinity = np.empty(len(bloc_of))
    for i in range(len(bloc_of)):
        affinity[i] = -distance(world, i, world.positions[formateur])
    kinds = 2 if consider_compromise and nominee != PMKind.COMPROMISE else 1
    sizes = 2 if invite_to > target else 1  # narrow, and widened to invite_to
    best, best_margins = _build(
        world, state, starts[first_family], allowed[first_family], nominee, nominee_position,
        formateur, target, 0, affinity,
    )  # fmt: skip
    for k in range(kinds):
        kind = nominee if k == 0 else PMKind.COMPROMISE
        for family in range(first_family, 2):
            for widened in range(sizes):
                if k == 0 and family == first_family and widened == 0:
                    continue  # built above
                offer, margins = _build(
                    world, state, starts[family], allowed[family], kind, nominee_position,
                    formateur, target, invite_to * widened, affinity,
                )  # fmt: skip
                if offer.expected_value > best.expected_value:
                    best, best_margins = offer, margins
    return best, best_margins
