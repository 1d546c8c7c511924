"""Factions: the Mesa agents that hold seats, and the blocs they form and break.

The model keeps faction state in arrays (one row per faction) so that the weekly maths is
vectorised; a ``Faction`` agent is the named, inspectable view of its row. Bloc dynamics
are pure functions: each faction compares every bloc (O(N x B) a week) and joins, switches
or leaves when the gain beats a switching cost.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from sim.agents import SimAgent
from sim.enums import ISSUES, PMF_ISSUE, EscalationLevel

if TYPE_CHECKING:
    from sim.model import FormationModel

NO_BLOC = -1


class Faction(SimAgent):
    """A list in parliament. Its state lives in the model's arrays at ``index``."""

    def __init__(self, model: FormationModel, index: int, name: str):
        super().__init__(model)
        self.index = index
        self.name = name

    @property
    def seats(self) -> int:
        return int(self.model.world["seats"][self.index])

    @property
    def previous_seats(self) -> int:
        return int(self.model.world["previous_seats"][self.index])

    @property
    def grievance(self) -> float:
        return float(self.model.state["grievance"][self.index])

    @property
    def escalation(self) -> EscalationLevel:
        return EscalationLevel(int(self.model.state["levels"][self.index]))

    @property
    def legitimacy(self) -> float:
        return float(self.model.state["legitimacy"][self.index])

    @property
    def bloc(self) -> str | None:
        b = int(self.model.state["bloc_of"][self.index])
        return None if b == NO_BLOC else self.model.bloc_names[b]

    @property
    def positions(self) -> dict[str, float]:
        return dict(zip(ISSUES, self.model.world["positions"][self.index].tolist(), strict=True))

    def __repr__(self) -> str:
        return f"Faction({self.name!r}, seats={self.seats}, bloc={self.bloc})"


def bloc_seats(bloc_of: np.ndarray, seats: np.ndarray, n_blocs: int) -> np.ndarray:
    """Seats held by each bloc."""
    inside = bloc_of >= 0
    return np.bincount(bloc_of[inside], weights=seats[inside], minlength=n_blocs)


def bloc_affinity(
    bloc_of: np.ndarray,
    leaders: np.ndarray,
    world: dict,
    state: dict,
    pm_rivalry: float,
    mediation_value: float,
    patron_value: float,
    majority: int,
) -> np.ndarray:
    """(N, B) utility of each faction for belonging to each bloc.

    Office prospects (its share of the bloc, times the bloc's chance of reaching a
    majority), policy distance to the bloc's centre and to its leader (the likely PM),
    the pull of mediating patrons toward the bloc their clients dominate, and patrons'
    pressure toward blocs whose stance on the PMF suits them.
    """
    seats = world["seats"]
    positions = world["positions"]
    n_blocs = len(leaders)
    member = bloc_of[:, None] == np.arange(n_blocs)[None, :]  # (N, B)
    w = member * seats[:, None]
    held = w.sum(axis=0)  # (B,)
    centre = (w.T @ positions) / np.maximum(held, 1)[:, None]  # (B, K)
    with_me = held[None, :] + seats[:, None] * ~member  # (N, B)
    share = seats[:, None] / np.maximum(with_me, 1)
    prospect = np.minimum(with_me / majority, 1.0)
    distance = np.abs(positions[:, None, :] - centre[None, :, :]) @ world["issue_weights_norm"]
    bloc_align = (w.T @ state["alignment_pos"]) / np.maximum(held, 1)[:, None]  # (B, P)
    pull = (state["alignment_pos"] * state["patron_mediation"]) @ bloc_align.T
    # patrons push clients toward blocs whose PMF stance is close to their own
    stance = centre[:, PMF_ISSUE]  # (B,)
    fit = 1.0 - np.abs(stance[None, :] - world["patron_pmf_stance"][:, None])  # (P, B)
    push = (state["alignment_pos"] * state["patron_pressure"]) @ fit  # (N, B)
    return (
        world["office_coef"][:, None] * share * prospect
        - world["policy_coef"][:, None] * distance
        - pm_rivalry * world["leader_distance"]
        + mediation_value * pull
        + patron_value * push
    )


def bloc_options(
    bloc_of: np.ndarray, affinity: np.ndarray, is_leader: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each faction's best bloc, its value, and the value of where it stands now (NaN
    outside every bloc). Depends only on membership and affinities, so it is cached with
    them; the week's noise is applied by ``update_blocs``."""
    rows = np.arange(len(bloc_of))
    best = np.argmax(affinity, axis=1)
    best = np.where(is_leader, bloc_of, best)
    current = np.where(bloc_of >= 0, affinity[rows, np.maximum(bloc_of, 0)], np.nan)
    return best, affinity[rows, best], current


def update_blocs(
    bloc_of: np.ndarray,
    options: tuple[np.ndarray, np.ndarray, np.ndarray],
    is_leader: np.ndarray,
    noise: np.ndarray,
    switching_cost: float,
    join_threshold: float,
) -> np.ndarray:
    """Join, switch or leave blocs at once; leaders stay with the bloc they lead.

    A faction outside every bloc joins its best bloc if its value (plus noise) clears
    ``join_threshold``; a member switches if the gain clears ``switching_cost``, and
    leaves for no bloc if its bloc falls that far below the threshold."""
    best, best_value, current = options
    inside = bloc_of >= 0
    here = np.where(inside, current, join_threshold)
    cost = np.where(inside, switching_cost, 0.0)
    value = best_value + noise
    move = (best != bloc_of) & (value - here > cost) & (value > join_threshold)
    leave = inside & (here + noise < join_threshold - switching_cost) & ~move & ~is_leader
    return np.where(move, best, np.where(leave, NO_BLOC, bloc_of))


def largest_bloc(bloc_of: np.ndarray, seats: np.ndarray, leaders: np.ndarray) -> tuple[int, float]:
    """The largest bloc formed in parliament, as (leader faction index, seats).

    A faction outside every bloc counts as a bloc of its own, so a big list can still be
    the largest; among equals the lower index wins, which keeps runs deterministic.
    """
    held = bloc_seats(bloc_of, seats, len(leaders))
    best_bloc = int(np.argmax(held)) if len(held) else -1
    solo = np.where(bloc_of < 0, seats, -1.0)
    best_solo = int(np.argmax(solo))
    if best_bloc >= 0 and held[best_bloc] >= solo[best_solo]:
        return int(leaders[best_bloc]), float(held[best_bloc])
    return best_solo, float(seats[best_solo])
