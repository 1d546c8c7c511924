"""Coalition bargaining: pure functions over faction arrays.

Each week of the cabinet stage the formateur weighs a few proposals (a *majority* coalition
of its bloc and willing partners, or a *consensus* coalition that takes in every major list
of the consensus community; its own nominee or a compromise prime minister) and puts the
one with the best expected value to the invited factions. Each invited faction accepts if
its utility of joining is positive: office share (Gamson's law as the anchor), policy
distance (above all on the PMF mandate), safety (fear of violence from excluded armed
factions), patron pressure and mediation. Everything is O(N log N) in the number of
factions: proposals are built greedily, never by enumerating coalitions.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import ndtr

from sim.enums import PMF_ISSUE, SHARING_ISSUE, PMKind


@dataclass(frozen=True)
class Terms:
    """Weights of the utility terms (from ``[bargaining]``)."""

    issue_weights: np.ndarray  # (K,)
    office_value: float
    policy_value: float
    safety_value: float
    patron_value: float
    mediation_value: float
    pm_rivalry: float
    incumbent_appeal: float
    formateur_bonus: float
    acceptance_noise: float
    buffer_seats: int


@dataclass(frozen=True)
class Proposal:
    members: np.ndarray  # bool (N,)
    pm_kind: PMKind
    pm_position: np.ndarray  # (K,)
    expected_value: float
    pass_probability: float


def policy_distance(positions: np.ndarray, target: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Weighted mean absolute distance on the issues, in [0, 2]."""
    return np.abs(positions - target) @ weights / weights.sum()


def government_position(
    members: np.ndarray, seats: np.ndarray, positions: np.ndarray, world: dict
) -> np.ndarray:
    """Where a government stands: the seat-weighted mean of its members on policy issues;
    on sharing the Shia vote, its form (see ``sharing_stance``)."""
    held = seats * members
    total = held.sum()
    out = (held @ positions) / total if total > 0 else np.zeros(positions.shape[1])
    out[SHARING_ISSUE] = sharing_stance(members, world["major_list"])
    return out


def sharing_stance(members: np.ndarray, major_list: np.ndarray) -> float:
    """-1 for a government holding at most one major list of the consensus community (a
    national-majority government), +1 for one holding all of them, linear in between."""
    total = np.count_nonzero(major_list)
    if total <= 1:
        return 1.0
    included = np.count_nonzero(members & major_list)
    return -1.0 + 2.0 * max(included - 1, 0) / (total - 1)


def acceptance_margin(
    members: np.ndarray,
    pm_position: np.ndarray,
    pm_faction: int,
    pm_kind: PMKind,
    formateur: int,
    world: dict,
    state: dict,
    terms: Terms,
) -> np.ndarray:
    """Utility of joining the proposed government minus staying out, for every faction:
    the terms that depend on who is in (``member_terms``) plus those that depend on who
    leads (``pm_terms``).

    ``world`` holds the fixed arrays (seats, positions, coefficients precomputed from the
    office weights, armed capacity and backing), ``state`` the changing ones (grievance,
    escalation, legitimacy, the mediation pull of patrons, the stalemate).
    """
    return member_terms(members, formateur, world, state, terms) + pm_terms(
        pm_position, pm_faction, pm_kind, world, state, terms
    )


def member_terms(
    members: np.ndarray, formateur: int, world: dict, state: dict, terms: Terms
) -> np.ndarray:
    """The part of each faction's acceptance margin that depends on the coalition."""
    seats = world["seats"]
    positions = world["positions"]
    held = seats * members
    coalition_seats = held.sum()
    gov_pos = government_position(members, seats, positions, world)
    # Office: Gamson's law, the faction's seats over the coalition's (itself included),
    # less the formateur's bonus; a 25% share is worth office_value.
    share = (1.0 - terms.formateur_bonus) * seats / (coalition_seats + seats * ~members)
    share[formateur] += terms.formateur_bonus
    # the longer the deadlock, the more any seat at the table is worth
    office = world["office_coef"] * share * (1.0 + state["stalemate"])
    policy = -world["policy_coef"] * (np.abs(positions - gov_pos) @ world["issue_weights_norm"])
    # Safety: joining a government that leaves aggrieved armed factions outside is
    # dangerous for those who cannot defend themselves (article: militias threaten
    # "dire consequences"); patron backing (Turkey's of its partners) offsets the fear.
    # The threat is the share of all armed menace (capacity x grievance and rung) left out.
    menace = world["armed"] * state["menace"]
    total_menace = menace.sum()
    threat = (menace @ ~members) / total_menace if total_menace > 0 else 0.0
    safety = -world["safety_coef"] * threat
    # Patron pressure: each patron pushes aligned clients toward governments whose stance
    # on the PMF mandate is close to its own.
    patron_eval = 1.0 - np.abs(gov_pos[PMF_ISSUE] - world["patron_pmf_stance"])
    pressure = terms.patron_value * (
        state["alignment_pos"] @ (state["patron_pressure"] * patron_eval)
    )
    # Mediation: a mediating patron brokers unity of the consensus community; its clients
    # favour coalitions that take every major list in, and shun those that split it. A
    # stalled process pushes everyone the same way.
    major_seats = world["major_seats"]
    unity = (held @ world["major_list"]) / major_seats if major_seats > 0 else 1.0
    mediation = (
        terms.mediation_value * (state["mediation_pull"] + state["stalemate"]) * (2.0 * unity - 1.0)
    )
    # Association: discredited partners (after attacks they are blamed for) cost votes.
    legit = (held @ state["legitimacy"]) / coalition_seats if coalition_seats > 0 else 1.0
    association = -terms.policy_value * max(0.0, 0.5 - legit)
    return office + policy + safety + pressure + mediation + association


def pm_terms(
    pm_position: np.ndarray,
    pm_faction: int,
    pm_kind: PMKind,
    world: dict,
    state: dict,
    terms: Terms,
) -> np.ndarray:
    """The part that depends on the prime minister: rivals dislike a PM far from them; a
    compromise PM sits at the coalition's centre; the incumbent brings his own appeal."""
    distance = np.abs(world["positions"] - pm_position) @ world["issue_weights_norm"]
    pm_term = -terms.pm_rivalry * distance
    if pm_kind is PMKind.FORMATEUR and pm_faction >= 0:
        pm_term[pm_faction] = terms.pm_rivalry
    elif pm_kind is PMKind.INCUMBENT:
        pm_term += terms.incumbent_appeal * (state["incumbent_legitimacy"] - 0.5)
    return pm_term


def greedy_coalition(
    start: np.ndarray,
    margins: np.ndarray,
    affinity: np.ndarray,
    seats: np.ndarray,
    target: int,
    allowed: np.ndarray,
) -> np.ndarray:
    """Add willing factions, most willing first, until the coalition reaches ``target``.

    Factions with a positive margin are ranked by margin plus the formateur's affinity;
    if the willing are not enough, the least unwilling are tried. O(N log N).
    """
    members = start.copy()
    have = float((seats * members).sum())
    if have >= target:
        return members
    candidates = np.flatnonzero(allowed & ~members & (seats > 0))
    order = candidates[
        np.lexsort((-(margins[candidates] + 0.25 * affinity[candidates]), margins[candidates] <= 0))
    ]
    cum = have + np.cumsum(seats[order])
    enough = np.searchsorted(cum, target)
    members[order[: enough + 1]] = True
    return members


def pass_probability(
    members: np.ndarray,
    margins: np.ndarray,
    seats: np.ndarray,
    noise: float,
    target: int,
    formateur: int,
) -> float:
    """Probability that the accepting members hold ``target`` seats (normal approximation)."""
    p = ndtr(margins / noise) * members
    p[formateur] = 1.0
    mean = float(p @ seats)
    var = float((p * (1.0 - p)) @ (seats**2))
    if var <= 1e-9:
        return 1.0 if mean >= target else 0.0
    return float(ndtr((mean - target + 0.5) / np.sqrt(var)))


def draw_acceptance(
    members: np.ndarray, margins: np.ndarray, noise: float, draws: np.ndarray, formateur: int
) -> np.ndarray:
    """Which invited factions accept, given standard-normal draws (one per faction)."""
    accepted = members & (margins + noise * draws > 0)
    accepted[formateur] = members[formateur]
    return accepted


def confidence_votes(
    accepted: np.ndarray, seats: np.ndarray, cohesion: np.ndarray, rng: np.random.Generator
) -> int:
    """Yes votes in the confidence vote: each member's MPs vote with its cohesion."""
    return int(rng.binomial(seats.astype(np.int64), cohesion * accepted).sum())


def _build(
    start: np.ndarray,
    allowed: np.ndarray,
    pm_kind: PMKind,
    pm_position: np.ndarray | None,
    pm_faction: int,
    formateur: int,
    world: dict,
    state: dict,
    terms: Terms,
    target: int,
    invite_to: int,
    affinity: np.ndarray,
    cache: dict,
) -> tuple[Proposal, np.ndarray]:
    seats = world["seats"]

    def base(coalition: np.ndarray) -> np.ndarray:
        # the coalition-dependent terms are shared by every PM option: compute them once
        key = coalition.tobytes()
        if key not in cache:
            cache[key] = member_terms(coalition, formateur, world, state, terms)
        return cache[key]

    provisional = (
        pm_position
        if pm_position is not None
        else government_position(start, seats, world["positions"], world)
    )
    margins = base(start) + pm_terms(provisional, pm_faction, pm_kind, world, state, terms)
    members = greedy_coalition(
        start, margins, affinity, seats, max(target, invite_to) + terms.buffer_seats, allowed
    )
    final_pm = (
        pm_position
        if pm_position is not None
        else government_position(members, seats, world["positions"], world)
    )
    margins = base(members) + pm_terms(final_pm, pm_faction, pm_kind, world, state, terms)
    p_pass = pass_probability(members, margins, seats, terms.acceptance_noise, target, formateur)
    own = float(margins[formateur])
    fail = -(0.1 + float(state["stalemate"]))
    value = p_pass * own + (1.0 - p_pass) * fail
    return Proposal(members, pm_kind, final_pm, value, p_pass), margins


def renew_offer(
    proposal: Proposal, formateur: int, world: dict, state: dict, terms: Terms
) -> tuple[Proposal, np.ndarray]:
    """The same coalition and PM offered again, with this week's margins (its expected
    value and pass probability stay those of the week it was planned)."""
    pm_faction = formateur if proposal.pm_kind is PMKind.FORMATEUR else -1
    margins = acceptance_margin(
        proposal.members,
        proposal.pm_position,
        pm_faction,
        proposal.pm_kind,
        formateur,
        world,
        state,
        terms,
    )
    return proposal, margins


def best_proposal(
    formateur: int,
    nominee: PMKind,
    nominee_position: np.ndarray | None,
    bloc_members: np.ndarray,
    rival_members: np.ndarray,
    world: dict,
    state: dict,
    terms: Terms,
    target: int,
    consider_compromise: bool,
    consensus_only: bool = False,
    invite_to: int = 0,
) -> tuple[Proposal, np.ndarray]:
    """The formateur's best offer among the families it can propose.

    *Majority*: its bloc plus willing partners, rival blocs left out. *Consensus*: every
    major list of the consensus community taken in. With ``consider_compromise`` (after a
    failed nominee or a stalled presidency) each family is also tried under a compromise
    PM at the coalition's centre; with ``consensus_only`` (the deal that elected the
    president took in every major list) the majority family is off the table. Returns the
    proposal and the margins of its invitees. ``invite_to`` widens the invitation (the
    presidential vote needs a quorum in the chamber, not only a majority behind the
    government); the offer is still judged by its chance of a confidence majority.
    """
    start = bloc_members.copy()
    start[formateur] = True
    pm_faction = formateur if nominee is PMKind.FORMATEUR else -1
    options = [(nominee, nominee_position)]
    if consider_compromise and nominee is not PMKind.COMPROMISE:
        options.append((PMKind.COMPROMISE, None))
    # A majority government leaves out the other major lists of the consensus community
    # (and the blocs they lead); anyone else may be courted, rival blocs' small members too.
    rival_major = rival_members & world["major_list"]
    families = [
        (start, ~rival_major),  # majority
        (start | world["major_list"], np.ones_like(start)),  # consensus
    ]
    if consensus_only:
        families = families[1:]
    affinity = -policy_distance(
        world["positions"], world["positions"][formateur], terms.issue_weights
    )
    cache: dict[bytes, np.ndarray] = {}
    best: tuple[Proposal, np.ndarray] | None = None
    for kind, position in options:
        faction = pm_faction if kind is PMKind.FORMATEUR else -1
        for first, allowed in families:
            candidate = _build(
                first,
                allowed,
                kind,
                position,
                faction,
                formateur,
                world,
                state,
                terms,
                target,
                invite_to,
                affinity,
                cache,
            )
            if best is None or candidate[0].expected_value > best[0].expected_value:
                best = candidate
    assert best is not None
    return best
