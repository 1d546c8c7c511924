"""Blocs: factions join, switch or leave blocs, and the largest bloc names the formateur.

Each week before a government forms, each faction compares every bloc (O(N x B)): its
office prospects there (its share of the bloc, times the bloc's chance of a majority),
policy distance to the bloc's centre and to its leader (the likely prime minister), the
pull of mediating patrons toward the bloc their clients dominate, and patrons' pressure
toward blocs whose stance on the PMF suits them. It moves when the gain, plus the week's
noise, beats a switching cost. Leaders stay with the blocs they lead. Pre-formed blocs
come from the scenario (the article's Coordination Framework; al-Sadr's talks with the
Kurdish and Sunni winners); the *largest bloc formed in parliament* names the formateur.
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
from sim.engine.enums import PMF_ISSUE, Stage
from sim.engine.events import EVENT_LOG, log_event, recording
from sim.engine.jit import jit
from sim.engine.streams import normal

NO_BLOC = -1
BLOC_SWITCH = event_code("bloc_switch")


def bloc_switch_text(e: Line) -> str:
    return f"{e.actor} moves from {e.bloc(e.detail)} to {e.bloc(e.other)}"


NOISE = 0  # the stream's slot: each faction's weekly noise in its bloc affinities


@jit
def bloc_seats(bloc_of: np.ndarray, seats: np.ndarray, n_blocs: int) -> np.ndarray:
    """(B,) seats held by each bloc."""
    held = np.zeros(n_blocs)
    for i in range(len(bloc_of)):
        if bloc_of[i] >= 0:
            held[bloc_of[i]] += seats[i]
    return held


@jit
def largest_bloc(world: World, seats: np.ndarray, bloc_of: np.ndarray) -> tuple[int, float]:
    """The largest bloc formed in parliament, as (leader's row, seats), counted on the
    seats the lists hold now (a walk-out moves them).

    A faction outside every bloc counts as a bloc of its own, so a big list can still be
    the largest; among equals the lower index wins, which keeps runs deterministic.
    """
    leaders = world.bloc_leaders
    if world.parliament.largest_list_rule:  # the court's other reading: lists, not blocs
        top = int(np.argmax(seats))
        return top, float(seats[top])
    held = bloc_seats(bloc_of, seats, len(leaders))
    best_solo, solo_seats = -1, -1.0
    for i in range(len(bloc_of)):
        if bloc_of[i] < 0 and seats[i] > solo_seats:
            best_solo, solo_seats = i, seats[i]
    if len(held) > 0:
        best_bloc = int(np.argmax(held))
        if held[best_bloc] >= solo_seats:
            return int(leaders[best_bloc]), float(held[best_bloc])
    return best_solo, solo_seats


@jit
def bloc_affinity(
    world: World, seats: np.ndarray, bloc_of: np.ndarray, alignment: np.ndarray
) -> np.ndarray:
    """(N, B) utility of each faction for belonging to each bloc; -inf for a bloc whose
    leader has left parliament (nobody joins it)."""
    bg = world.bargaining
    # locals: the compiler then loads each array once, not once per use in the loops
    positions, weights = world.positions, world.issue_weights
    mediation, pressure, stances = (
        world.patron_mediation,
        world.patron_pressure,
        world.patron_pmf_stance,
    )
    office, policy, to_leader = world.office_coef, world.policy_coef, world.leader_distance
    majority = world.parliament.confidence_majority
    n, n_patrons = alignment.shape
    n_blocs, k = len(world.bloc_leaders), positions.shape[1]
    held = bloc_seats(bloc_of, seats, n_blocs)
    centre = np.zeros((n_blocs, k))
    hold = np.zeros((n_blocs, n_patrons))  # each patron's hold on each bloc
    for i in range(n):
        b = bloc_of[i]
        if b >= 0:
            weight = seats[i] / max(held[b], 1.0)
            for j in range(k):
                centre[b, j] += weight * positions[i, j]
            for p in range(n_patrons):
                hold[b, p] += weight * max(alignment[i, p], 0.0)
    affinity = np.empty((n, n_blocs))
    for b in range(n_blocs):
        for i in range(n):
            with_me = held[b] + (0.0 if bloc_of[i] == b else seats[i])
            share = seats[i] / max(with_me, 1.0)
            prospect = min(with_me / majority, 1.0)
            distance = 0.0
            for j in range(k):
                distance += abs(positions[i, j] - centre[b, j]) * weights[j]
            pull = push = 0.0
            for p in range(n_patrons):
                lever = max(alignment[i, p], 0.0)
                # mediators pull clients toward the bloc their clients dominate; patrons
                # push clients toward blocs whose PMF stance is close to their own
                pull += lever * mediation[p] * hold[b, p]
                fit = 1.0 - abs(centre[b, PMF_ISSUE] - stances[p])
                push += lever * pressure[p] * fit
            affinity[i, b] = (
                office[i] * share * prospect
                - policy[i] * distance
                - bg.pm_rivalry * to_leader[i, b]
                + bg.mediation_value * pull
                + bg.patron_value * push
            )
        if seats[world.bloc_leaders[b]] <= 0:
            affinity[:, b] = -np.inf
    return affinity


@jit
def update_blocs(
    bloc_of: np.ndarray,
    affinity: np.ndarray,
    is_leader: np.ndarray,
    seats: np.ndarray,
    noise: np.ndarray,
    switching_cost: float,
    join_threshold: float,
) -> np.ndarray:
    """Join, switch or leave blocs at once; leaders stay with the bloc they lead.

    A faction outside every bloc joins its best bloc if its value (plus noise) clears
    ``join_threshold``; a member switches if the gain clears ``switching_cost``, and
    leaves for no bloc if its bloc falls that far below the threshold. A faction without
    seats (an armed group, or a list that walked out) stays outside every bloc."""
    new = bloc_of.copy()
    for i in range(len(bloc_of)):
        if seats[i] <= 0:
            new[i] = NO_BLOC
            continue
        inside = bloc_of[i] >= 0
        best = bloc_of[i] if is_leader[i] else int(np.argmax(affinity[i]))
        here = affinity[i, bloc_of[i]] if inside else join_threshold
        cost = switching_cost if inside else 0.0
        value = affinity[i, best] + noise[i]
        if best != bloc_of[i] and value - here > cost and value > join_threshold:
            new[i] = best
        elif inside and not is_leader[i] and here + noise[i] < join_threshold - switching_cost:
            new[i] = NO_BLOC
    return new


@jit
def step(world: World, state: State, rng: np.uint64) -> None:
    run = state.run[0]
    leaders = world.bloc_leaders
    if run.stage >= Stage.FORMED or len(leaders) == 0:
        return
    n = len(world.seats)
    bg = world.bargaining
    affinity = bloc_affinity(world, state.seats, state.bloc_of, state.alignment)
    noise = np.empty(n)
    for i in range(n):
        noise[i] = bg.bloc_noise * normal(rng, run.week, NOISE, i)
    new = update_blocs(
        state.bloc_of,
        affinity,
        world.is_leader,
        state.seats,
        noise,
        bg.switching_cost,
        bg.join_threshold,
    )
    run.bloc_switches += np.count_nonzero(new != state.bloc_of)
    if recording(state):
        for i in range(n):
            if new[i] != state.bloc_of[i]:
                log_event(state, BLOC_SWITCH, i, new[i], state.bloc_of[i])
    state.bloc_of[:] = new


class Blocs(Process):
    """Bloc dynamics, weekly until a government forms."""

    stream = "blocs"
    parameters = ("bargaining", "parliament")
    state = (
        StateField("bloc_of", np.int64, Per.FACTION, "bloc index, -1 outside every bloc",
                   lambda world, start, built: start.bloc_of),
        RunField("bloc_switches", np.int64, "moves between blocs"),
    )  # fmt: skip
    reads = ("run.stage", "run.week", "alignment", "seats")
    writes = EVENT_LOG
    events = (EventSpec("bloc_switch", bloc_switch_text, "to_bloc", "from_bloc"),)
    step = staticmethod(step)
