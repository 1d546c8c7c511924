"""Patrons' instruments and the incumbent's standing: pure functions over arrays.

Patrons (Iran, the US and Turkey in the baseline) act through instruments whose strength
the scenario sets: mediation (brokering the unity of a community), guarantees (a promise
that the next government will not crush their clients), pressure and restraint on clients,
backing of the incumbent and of partner factions. Their leverage over a faction follows the
faction's alignment with them (its positive part: a patron has no leverage over a faction
hostile to it). The incumbent deters violence through the forces he commands, and a failed
attack on him can make him stronger.
"""

from __future__ import annotations

import numpy as np

from sim.engine.jit import jit


@jit
def restraint(alignment: np.ndarray, strength: np.ndarray, patience: np.ndarray, i: int) -> float:
    """Restraint faction i feels: its patrons' restraint, by their leverage over it, and
    stronger once their patience with it has worn thin (after attacks it is blamed for).
    ``alignment`` is (N, P), ``patience`` (P, N)."""
    out = 0.0
    for p in range(len(strength)):
        out += max(alignment[i, p], 0.0) * strength[p] * (2.0 - patience[p, i])
    return out


@jit
def reassurance(
    alignment: np.ndarray, guarantee: np.ndarray, credibility: np.ndarray, i: int
) -> float:
    """How much faction i is reassured by its patrons' guarantees (that the next
    government will not crush it), each as far as it is believed."""
    out = 0.0
    for p in range(len(guarantee)):
        out += max(alignment[i, p], 0.0) * guarantee[p] * credibility[p]
    return out


@jit
def deterrence(security_capacity: float, legitimacy: float, backing: float, alive: bool) -> float:
    """The state's deterrent under a caretaker: his command of the security forces, worth
    more with legitimacy and outside backing, much less if he has been killed."""
    value = security_capacity * (0.5 + 0.5 * legitimacy) * (0.5 + 0.5 * min(backing, 1.0))
    return value if alive else 0.5 * value


@jit
def backfire(legitimacy: float, boost: float) -> float:
    """A failed attack rallies opinion behind its target (article: what does not kill
    al-Kadhimi makes him stronger): legitimacy moves ``boost`` of the way to 1."""
    return legitimacy + boost * (1.0 - legitimacy)


def patron_weights(members: np.ndarray, seats: np.ndarray, alignment: np.ndarray) -> np.ndarray:
    """(P,) each patron's weight in a government: seat-weighted leverage over its members."""
    w = seats * members
    total = w.sum()
    if total <= 0:
        return np.zeros(alignment.shape[1])
    return (w @ np.maximum(alignment, 0.0)) / total
