"""The escalation ladder and grievance: pure functions over arrays.

Activation follows Epstein's (2002) civil-violence rule: an actor acts when grievance
minus perceived risk exceeds a threshold. Here grievance is amplified by armed capability
and damped by state deterrence and patron restraint; each rung of the ladder has its own
threshold and an actor climbs at most one rung a week. Casualties feed back into grievance.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

from sim.enums import EscalationLevel

UNARMED_CAP = int(EscalationLevel.PROTESTS)  # the unarmed can protest, not fight


@dataclass(frozen=True)
class Ladder:
    thresholds: np.ndarray  # (5,) net pressure needed to climb to rung 1..5
    slope: float
    down_probability: float
    capability_weight: float
    deterrence_weight: float
    restraint_weight: float
    casualty_rates: np.ndarray  # (6,) expected casualties per actor-week at each rung
    protest_min_seats: int
    street_cap: int

    @cached_property
    def climb_at(self) -> np.ndarray:
        """Pressure needed to climb from each rung (index = current rung)."""
        return np.append(self.thresholds, np.inf)

    @cached_property
    def hold_at(self) -> np.ndarray:
        """Pressure below which an actor may step down from each rung."""
        return np.append(-np.inf, self.thresholds)


def net_pressure(
    grievance: np.ndarray,
    armed: np.ndarray,
    deterrence: float,
    restraint: np.ndarray,
    ladder: Ladder,
) -> np.ndarray:
    """Epstein's G - N: grievance (amplified by capability) minus deterrence and restraint."""
    return (
        grievance * (1.0 + ladder.capability_weight * armed)
        - ladder.deterrence_weight * deterrence * (1.0 - 0.5 * armed)
        - ladder.restraint_weight * restraint
    )


def level_caps(armed: np.ndarray, rival_mobilised: np.ndarray) -> np.ndarray:
    """Highest rung each actor can reach this week.

    Unarmed actors stop at protests; armed ones can attack officials; armed conflict
    between factions needs an armed rival already at clashes or above.
    """
    caps = np.where(armed > 0, int(EscalationLevel.TARGETED_ATTACKS), UNARMED_CAP)
    return np.where((armed > 0) & rival_mobilised, int(EscalationLevel.ARMED_CONFLICT), caps)


def rivals_mobilised(
    levels: np.ndarray, armed: np.ndarray, pmf_side: np.ndarray, crackdown: bool = False
) -> np.ndarray:
    """For each actor: is an armed actor on the other side of the PMF question at rung 3+?
    A government moving against the PMF's mandate counts as a mobilised rival for the PMF
    side (the state's forces against the militias)."""
    hot = (armed > 0) & (levels >= int(EscalationLevel.CLASHES))
    hot_pro = bool((hot & pmf_side).any())
    hot_anti = crackdown or bool((hot & ~pmf_side).any())
    return np.where(pmf_side, hot_anti, hot_pro)


def step_levels(
    levels: np.ndarray,
    pressure: np.ndarray,
    caps: np.ndarray,
    uniforms: np.ndarray,
    ladder: Ladder,
) -> np.ndarray:
    """Move each actor at most one rung: up if pressure clears the next rung's threshold
    (with probability 1 - exp(-slope x margin)), down with ``down_probability`` if it
    falls below the current rung's threshold. ``uniforms`` holds one U(0,1) draw per actor."""
    nxt = ladder.climb_at[levels]  # threshold of the next rung (inf at the top)
    cur = ladder.hold_at[levels]  # threshold of the current rung (-inf at the bottom)
    # clear the next rung's threshold to climb; the further it is cleared, the likelier
    p_up = -np.expm1(-ladder.slope * np.maximum(pressure - nxt, 0.0))
    up = (levels < caps) & (uniforms < p_up)
    down = (pressure < cur) & (uniforms < ladder.down_probability)
    return np.minimum(levels + up - down, caps)


def effective_protest(levels: np.ndarray, seats: np.ndarray, ladder: Ladder) -> np.ndarray:
    """Protests count only when large enough (article: the militias' sit-ins were too small
    to have an impact): 1 for actors protesting with enough seats behind them, else 0."""
    return ((levels >= int(EscalationLevel.PROTESTS)) & (seats >= ladder.protest_min_seats)).astype(
        float
    )


@dataclass(frozen=True)
class GrievanceRates:
    decay: float
    talks_exclusion: float
    government_exclusion: float
    mandate_threat: float
    guarantee_relief: float
    casualty: float
    protest_relief: float


def update_grievance(
    grievance: np.ndarray,
    floor: np.ndarray,
    excluded_from_talks: np.ndarray,
    excluded_from_government: np.ndarray,
    mandate_threat: np.ndarray,
    guarantee: np.ndarray,
    casualties: np.ndarray,
    protest: np.ndarray,
    rates: GrievanceRates,
) -> np.ndarray:
    """One week of grievance: decay toward a lasting floor (the seats lost at the election
    are not forgotten), plus exclusion, threat to the PMF mandate and casualties, minus
    guarantees and concessions won by protest. Stays in [0, 1]."""
    g = (
        floor
        + (grievance - floor) * (1.0 - rates.decay)
        + rates.talks_exclusion * excluded_from_talks
        + rates.government_exclusion * excluded_from_government
        + rates.mandate_threat * mandate_threat
        + rates.casualty * np.minimum(casualties / 10.0, 1.0)
        - rates.guarantee_relief * guarantee
        - rates.protest_relief * protest
    )
    return np.clip(g, 0.0, 1.0)


def seat_loss_grievance(seats: np.ndarray, previous: np.ndarray, weight: float) -> np.ndarray:
    """Grievance from losing seats since the previous election (share of seats lost)."""
    lost = np.maximum(previous - seats, 0) / np.maximum(previous, 1)
    return weight * lost
