"""The constitution's rules for sessions (Iraq's 2005 constitution; thresholds from the
scenario's ``[parliament]``): pure functions over arrays.

The speaker is elected by an absolute majority; the president needs two-thirds of members
*present*, so a "blocking third" that stays away stalls everything; the president charges
the largest bloc's nominee, who must win a confidence vote by an absolute majority. The
sequence itself, week by week, is the sessions process (``sim.engine.processes.sessions``).
"""

from __future__ import annotations

import numpy as np

from sim.engine.jit import jit


@jit
def quorum_met(present_seats: float, quorum: int) -> bool:
    return present_seats >= quorum


@jit
def blocking_third(boycott_seats: float, size: int, quorum: int) -> bool:
    """Do the absent hold enough seats to deny the quorum on their own?"""
    return boycott_seats > size - quorum


@jit
def boycotting(
    invited: np.ndarray,
    margins: np.ndarray,
    draws: np.ndarray,
    noise: float,
    bloc_of: np.ndarray,
    leaders: np.ndarray,
    formateur_bloc: int,
    blocs_only: bool,
) -> np.ndarray:
    """Who stays away from a session: those left out of the package on the table who
    would refuse it. A bloc whose leader is left out and refuses stays away as one, except
    members invited on their own who would accept (they break ranks). With
    ``blocs_only`` (a routine vote such as the speaker's) only blocs stay away: a list
    outside every bloc has no whip to keep its members home."""
    n = len(invited)
    away = np.zeros(n, dtype=np.bool_)
    for i in range(n):
        refuse = margins[i] + noise * draws[i] < 0.0
        b = bloc_of[i]
        if b < 0:
            away[i] = refuse and not invited[i] and not blocs_only
            continue
        leader = leaders[b]
        leader_refuses = margins[leader] + noise * draws[leader] < 0.0
        bloc_line = leader_refuses and not invited[leader] and b != formateur_bloc
        away[i] = bloc_line and (not invited[i] or refuse)
    return away
