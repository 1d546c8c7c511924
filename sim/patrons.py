"""Patrons (Iran, the US, Turkey in the baseline) and the incumbent prime minister.

Patrons act through instruments whose strength the scenario sets: mediation (brokering the
unity of a community), guarantees (a promise that the next government will not crush their
clients), pressure and restraint on clients, backing of the incumbent and of partner
factions. Leverage over a faction follows its alignment with the patron. The incumbent is
a caretaker PM with legitimacy, resolve and command of the security forces; he can be
attacked, and a failed attack can make him stronger.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from sim.agents import SimAgent

if TYPE_CHECKING:
    from sim.model import FormationModel


class Patron(SimAgent):
    """An outside power. Its instrument strengths live in the model's patron arrays."""

    def __init__(self, model: FormationModel, index: int, name: str):
        super().__init__(model)
        self.index = index
        self.name = name

    @property
    def mediation(self) -> float:
        return float(self.model.state["patron_mediation"][self.index])

    @property
    def patience(self) -> np.ndarray:
        """Tolerance of each client's violence (falls after attacks it is blamed for)."""
        return self.model.state["patience"][self.index]

    def __repr__(self) -> str:
        return f"Patron({self.name!r}, mediation={self.mediation:.2f})"


class Incumbent(SimAgent):
    """The caretaker prime minister: state that is his alone, kept on the agent."""

    def __init__(self, model: FormationModel, legitimacy: float, present: bool, alive: bool):
        super().__init__(model)
        self.legitimacy = legitimacy
        self.alive = present and alive
        self.present = present
        self.attacks = 0
        self.failed_attacks = 0

    def __repr__(self) -> str:
        return f"Incumbent(alive={self.alive}, legitimacy={self.legitimacy:.2f})"


def restraint(alignment: np.ndarray, strength: np.ndarray, patience: np.ndarray) -> np.ndarray:
    """Restraint each faction feels: aligned patrons' restraint, stronger once their
    patience with that client has worn thin (after attacks it is blamed for)."""
    return np.einsum("np,p,pn->n", np.maximum(alignment, 0), strength, 2.0 - patience)


def guarantees(
    alignment: np.ndarray, guarantee: np.ndarray, credibility: np.ndarray, pmf_side: np.ndarray
) -> np.ndarray:
    """How much each PMF-side faction is reassured by its patrons' guarantees."""
    return pmf_side * (np.maximum(alignment, 0) @ (guarantee * credibility))


def deterrence(security_capacity: float, legitimacy: float, backing: float, alive: bool) -> float:
    """The state's deterrent under a caretaker: his command of the security forces, worth
    more with legitimacy and outside backing, much less if he has been killed."""
    value = security_capacity * (0.5 + 0.5 * legitimacy) * (0.5 + 0.5 * min(backing, 1.0))
    return value if alive else 0.5 * value


def backfire(legitimacy: float, boost: float) -> float:
    """A failed attack rallies opinion behind its target (article: what does not kill
    al-Kadhimi makes him stronger): legitimacy moves ``boost`` of the way to 1."""
    return legitimacy + boost * (1.0 - legitimacy)


def patron_weights(members: np.ndarray, seats: np.ndarray, alignment: np.ndarray) -> np.ndarray:
    """Each patron's weight in a government: seat-weighted positive alignment of members."""
    w = seats * members
    total = w.sum()
    if total <= 0:
        return np.zeros(alignment.shape[1])
    return (w @ np.maximum(alignment, 0)) / total
