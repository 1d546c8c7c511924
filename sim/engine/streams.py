"""Random streams: every random number is a keyed hash of where it is used.

Starsim gives each process its own random stream and keys each draw by time step and agent
slot ("common random numbers"), so that changing one mechanism does not reshuffle the
random numbers of any other. This module takes that idea to its end: a draw is not the
next number of a sequence but a pure function of

    (the run's seed, the process, the week, the purpose of the draw, the actor, an index)

hashed with two rounds of SplitMix64's finaliser (Steele, Lea & Flood 2014), a
counter-based generator in the manner of Philox (Salmon et al. 2011). So a run's numbers do
not depend on which runs share its chunk or worker, on how many numbers another process
drew, or on whether a branch ran last week: switching a mechanism off moves nothing else,
and scenario comparisons stay paired draw by draw.

A process declares its stream by name (``sim.engine.declare.Process.stream``), receives it
as one ``uint64`` key (``stream_keys``, in the order of the week), and names each draw's
purpose with a small integer constant of its own (a *slot*).
"""

from __future__ import annotations

import math

import numpy as np

from sim.engine.jit import jit

_GAMMA = np.uint64(0x9E3779B97F4A7C15)  # the golden-ratio increment of SplitMix64
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_S30, _S27, _S31 = np.uint64(30), np.uint64(27), np.uint64(31)
_TO_UNIT = 2.0**-53


@jit
def mix(z: np.uint64) -> np.uint64:
    """SplitMix64's output function: a bijection of 64-bit words with full avalanche."""
    z = (z ^ (z >> _S30)) * _M1
    z = (z ^ (z >> _S27)) * _M2
    return z ^ (z >> _S31)


@jit
def _counter(week: int, slot: int, actor: int, index: int) -> np.uint64:
    # week < 2**12 (horizons are at most 520 weeks), slot < 2**8, actor < 2**16 (factions and
    # the street), index < 2**28 (members of parliament in a vote): disjoint bit fields.
    return (
        (np.uint64(week) << np.uint64(52))
        | (np.uint64(slot) << np.uint64(44))
        | (np.uint64(actor) << np.uint64(28))
        | np.uint64(index)
    )


@jit
def bits(key: np.uint64, week: int, slot: int, actor: int, index: int = 0) -> np.uint64:
    """64 random bits for one draw; ``key`` is the process's stream."""
    return mix(mix(_counter(week, slot, actor, index) + _GAMMA) ^ key)


@jit
def uniform(key: np.uint64, week: int, slot: int, actor: int, index: int = 0) -> float:
    """U[0, 1) with 53 random bits."""
    return float(bits(key, week, slot, actor, index) >> np.uint64(11)) * _TO_UNIT


# Acklam's rational approximation of the inverse normal distribution function (relative
# error below 1.2e-9): one uniform per normal deviate, and no logarithm in the central 95%.
_A = (-39.69683028665376, 220.9460984245205, -275.9285104469687, 138.3577518672690,
      -30.66479806614716, 2.506628277459239)  # fmt: skip
_B = (-54.47609879822406, 161.5858368580409, -155.6989798598866, 66.80131188771972,
      -13.28068155288572)  # fmt: skip
_C = (-0.007784894002430293, -0.3223964580411365, -2.400758277161838, -2.549732539343734,
      4.374664141464968, 2.938163982698783)  # fmt: skip
_D = (0.007784695709041462, 0.3224671290700398, 2.445134137142996, 3.754408661907416)
_P_LOW = 0.02425


@jit
def _tail(q: float) -> float:
    num = ((((_C[0] * q + _C[1]) * q + _C[2]) * q + _C[3]) * q + _C[4]) * q + _C[5]
    return num / ((((_D[0] * q + _D[1]) * q + _D[2]) * q + _D[3]) * q + 1.0)


@jit
def inverse_normal(p: float) -> float:
    """The standard normal quantile of p in (0, 1)."""
    if p < _P_LOW:
        return _tail(math.sqrt(-2.0 * math.log(p)))
    if p > 1.0 - _P_LOW:
        return -_tail(math.sqrt(-2.0 * math.log(1.0 - p)))
    q = p - 0.5
    r = q * q
    num = (((((_A[0] * r + _A[1]) * r + _A[2]) * r + _A[3]) * r + _A[4]) * r + _A[5]) * q
    return num / (((((_B[0] * r + _B[1]) * r + _B[2]) * r + _B[3]) * r + _B[4]) * r + 1.0)


@jit
def normal(key: np.uint64, week: int, slot: int, actor: int) -> float:
    """A standard normal deviate, by inversion of one uniform in (0, 1)."""
    u = (float(bits(key, week, slot, actor, 0) >> np.uint64(11)) + 0.5) * _TO_UNIT
    return inverse_normal(u)


@jit
def poisson(key: np.uint64, week: int, slot: int, actor: int, rate: float) -> int:
    """A Poisson count by inversion of its distribution function (exact for the rates a
    scenario allows, which keep the loop short)."""
    if rate <= 0.0:
        return 0
    u = uniform(key, week, slot, actor, 0)
    k = 0
    p = math.exp(-rate)
    cumulative = p
    while u >= cumulative and k < 10_000:
        k += 1
        p *= rate / k
        cumulative += p
    return k


@jit
def binomial(key: np.uint64, week: int, slot: int, actor: int, n: int, p: float) -> int:
    """Successes in ``n`` trials of probability ``p`` (in a vote, the MPs of a list who vote
    with it). Exact, by waiting times (Devroye 1986, X.4): the gaps between the rarer
    outcomes are geometric, so a vote of 73 MPs with cohesion 0.95 takes about five draws,
    not 73."""
    if p <= 0.0 or n <= 0:
        return 0
    if p >= 1.0:
        return n
    rare = min(p, 1.0 - p)
    log_stay = math.log1p(-rare)
    seen = 0
    events = 0
    while True:
        u = 1.0 - uniform(key, week, slot, actor, events)  # in (0, 1]
        seen += int(math.log(u) / log_stay) + 1  # trials up to and including the next event
        if seen > n:
            break
        events += 1
    return events if p == rare else n - events


def stream_tag(name: str) -> np.uint64:
    """A stream's fixed tag, from its declared name: its first eight bytes (a process that
    draws nothing has the empty name, and tag 0)."""
    return np.uint64(int.from_bytes(name.encode().ljust(8, b"\0")[:8], "little"))


@jit
def stream_keys(seed: int, tags: np.ndarray) -> np.ndarray:
    """The run's streams: one key per tag, from the run's seed and the stream's name, so a
    stream's numbers depend on its name alone, never on which other streams exist."""
    root = mix(np.uint64(seed) + _GAMMA)
    keys = np.empty(len(tags), dtype=np.uint64)
    for k in range(len(tags)):
        keys[k] = mix(root ^ tags[k])
    return keys
