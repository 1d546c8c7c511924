"""Adaptive replication: add runs until every reported probability is known to ±h.

The rule looks at the batch again and again (after each round of runs) and stops the
first time every probability in the summary has a 95% interval of half-width at most
``h``. Looking repeatedly at ordinary fixed-sample intervals and stopping when they are
narrow enough breaks their coverage; so the intervals here are *confidence sequences*:
95% intervals that hold at every sample size at once, so they stay valid at a
data-dependent stopping time.

The sequence is Robbins' mixture of likelihood ratios for a Bernoulli proportion (Robbins
1970; Lai 1976): to test a value p, mix the likelihood ratio of the runs under q against
p over a Beta prior on q centred on p,

    M_n(p) = B(a + S, b + n - S) / B(a, b) / (p^S (1 - p)^(n - S)),  a = k p, b = k (1 - p),

for S runs with the outcome among n. Under p, M_n(p) is a non-negative martingale of mean 1,
so by Ville's inequality it ever reaches 1/alpha with probability at most alpha; the set
{p : M_n(p) < 1/alpha} is a (1 - alpha) confidence sequence. It depends on the runs only
through (n, S), so the order in which runs finish does not matter, and it narrows where p
is near 0 or 1 as the binomial does. The prior's concentration ``k`` sets at which sample
size the sequence is tightest: ``k = 0.3 x z^2 / (4 h^2)`` (about 2,900 for h = 0.01)
puts it near the runs needed, found numerically; a p = 0.5 outcome then needs about 2.4
times the runs of a fixed-sample Wilson interval. Each interval covers its own probability
with 95% confidence (they are not simultaneous over all outcomes).

References: H. Robbins (1970), Statistical methods related to the law of the iterated
logarithm, Ann. Math. Statist. 41(5), 1397-1409; T. L. Lai (1976), On confidence
sequences, Ann. Statist. 4(2), 265-280; S. R. Howard, A. Ramdas, J. McAuliffe, J. Sekhon
(2021), Time-uniform, nonparametric, nonasymptotic confidence sequences, Ann. Statist.
49(2), 1055-1080.

Looks are taken at run-id prefixes: each round runs every replicate below its target,
so the runs an adaptive batch ends with are replicates 0..K-1, bit-identical to a fixed
batch of K runs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from sim.batch.outputs import BatchError
from sim.batch.settings import DEFAULT_MAX_RUNS, MIN_PRECISION

ALPHA = 0.05
Z = 1.959964
MIN_FIRST_LOOK = 50
MIN_GROWTH, MAX_GROWTH = 1.1, 2.0  # each round adds 10% to 100% of the runs so far
_EPS = 1e-12


def concentration(precision: float) -> float:
    return 0.3 * Z * Z / (4 * precision * precision)


def _log_mixture(p: float, n: int, s: int, k: float) -> float:
    from scipy.special import betaln  # imported only when a batch asks for a precision

    a, b = k * p, k * (1 - p)
    return betaln(a + s, b + n - s) - betaln(a, b) - s * math.log(p) - (n - s) * math.log1p(-p)


def confidence_sequence(s: int, n: int, k: float, alpha: float = ALPHA) -> tuple[float, float]:
    """The anytime-valid (1 - alpha) interval for a proportion after ``s`` of ``n``."""
    from scipy.optimize import brentq

    if n <= 0:
        return 0.0, 1.0
    p_hat, bound = s / n, math.log(1 / alpha)
    p_hat = min(max(p_hat, _EPS), 1 - _EPS)

    def f(p: float) -> float:
        return _log_mixture(p, n, s, k) - bound

    low = 0.0 if s == 0 or f(_EPS) < 0 else brentq(f, _EPS, p_hat)
    high = 1.0 if s == n or f(1 - _EPS) < 0 else brentq(f, p_hat, 1 - _EPS)
    return float(low), float(high)


@dataclass
class Look:
    runs: int  # replicates run (the target of the round)
    n: int  # runs counted (failed runs are left out, as in the summary)
    widest: tuple[str, str, float]  # (outcome, value, half-width)
    lines: list[tuple[str, str, float, tuple[float, float]]]


@dataclass
class Precision:
    """``--precision h [--max-runs M]``: the stopping rule and its look schedule."""

    precision: float
    max_runs: int = DEFAULT_MAX_RUNS

    def __post_init__(self) -> None:
        h, m = self.precision, self.max_runs
        if isinstance(h, bool) or not isinstance(h, int | float) or not MIN_PRECISION <= h < 0.5:
            raise BatchError(
                f"--precision must be a half-width in [{MIN_PRECISION:g}, 0.5), got {h!r} "
                f"(a half-width of {MIN_PRECISION:g} already takes about a million runs)"
            )
        if isinstance(m, bool) or not isinstance(m, int) or m < 1:
            raise BatchError(f"--max-runs must be a positive integer, got {m!r}")
        self.k = concentration(h)

    def first_target(self, present: int) -> int:
        """Runs to reach before the first look (a resumed batch looks at what it has)."""
        # a quarter of a fixed-sample p = 0.5 design: only outcomes near 0 or 1 can be
        # precise before that, and one look is cheap
        first = max(MIN_FIRST_LOOK, math.ceil(0.25 * Z * Z / (4 * self.precision**2)))
        return max(present, min(self.max_runs, first))

    def look(self, runs: int, n: int, lines) -> Look:
        """Sequential intervals for the summary's (outcome, value, p, interval) lines."""
        out, widest = [], ("", "", 0.0)
        for key, value, p, _ in lines:
            low, high = confidence_sequence(round(p * n), n, self.k)
            out.append((key, value, p, (low, high)))
            if (high - low) / 2 > widest[2]:
                widest = (key, value, (high - low) / 2)
        return Look(runs, n, widest, out)

    def stop_reason(self, look: Look) -> str | None:
        if look.n and look.widest[2] <= self.precision:
            return "precision reached"
        if look.runs >= self.max_runs:
            return "max-runs reached"
        return None

    def next_target(self, look: Look) -> int:
        """The next look: where the widest interval is predicted to reach ±h, within
        [1.1x, 2x] the runs so far and at most ``max_runs``."""
        runs, n = look.runs, max(look.n, 1)
        half = look.widest[2]
        # a half-width shrinks about as 1/sqrt(n) (a little slower: the log term)
        wanted = n * (half / self.precision) ** 2 * 1.05
        wanted = wanted * runs / n  # failed runs do not count: ask for more replicates
        target = int(np.clip(wanted, runs * MIN_GROWTH, runs * MAX_GROWTH))
        return min(self.max_runs, max(target, runs + 1))

    def record(self, look: Look, reason: str | None, looks: list[int]) -> dict:
        """What the manifest keeps: the rule, why it stopped, and the widest interval."""
        key, value, half = look.widest
        return {
            "precision": self.precision,
            "max_runs": self.max_runs,
            "rule": "95% confidence sequences (Robbins' beta mixture, anytime-valid), "
            f"concentration {self.k:.0f}",
            "stopped": reason,
            "runs": look.runs,
            "counted": look.n,
            "widest": {"outcome": key, "value": value, "half_width": round(half, 6)},
            "looks": looks,
        }
