"""The statistics behind ``sim compare``: intervals for proportions and their differences
(independent or paired), bootstrap intervals for quantiles and means of count data, the
tests of a difference, and Holm's correction for many tests.

Kept apart from the table so each piece can be checked on its own (coverage tests).
"""

from __future__ import annotations

import numpy as np
from scipy import stats

from sim.engine.outcomes import wilson_interval

QUANTILES = {"q10": 0.1, "q25": 0.25, "median": 0.5, "q75": 0.75, "q90": 0.9}


# --------------------------------------------------------------------------- intervals
def newcombe_interval(k1: int, n1: int, k0: int, n0: int) -> tuple[float, float]:
    """95% interval of p1 - p0 for independent samples (Newcombe 1998, hybrid score)."""
    p1, p0 = k1 / n1, k0 / n0
    (l1, u1), (l0, u0) = wilson_interval(k1, n1), wilson_interval(k0, n0)
    d = p1 - p0
    return d - float(np.hypot(p1 - l1, u0 - p0)), d + float(np.hypot(u1 - p1, p0 - l0))


def paired_newcombe_interval(both: int, only1: int, only0: int, neither: int):
    """95% interval of p1 - p0 for paired outcomes (Newcombe 1998b, method 10), from the
    2x2 table of pairs: in both runs, only in run 1, only in run 0, in neither."""
    n = both + only1 + only0 + neither
    p1, p0 = (both + only1) / n, (both + only0) / n
    (l1, u1), (l0, u0) = wilson_interval(both + only1, n), wilson_interval(both + only0, n)
    denom = (both + only1) * (only0 + neither) * (both + only0) * (only1 + neither)
    phi = (both * neither - only1 * only0) / np.sqrt(denom) if denom > 0 else 0.0
    dl1, du1, dl0, du0 = p1 - l1, u1 - p1, p0 - l0, u0 - p0
    d = p1 - p0
    low = d - np.sqrt(max(dl1**2 - 2 * phi * dl1 * du0 + du0**2, 0.0))
    high = d + np.sqrt(max(du1**2 - 2 * phi * du1 * dl0 + dl0**2, 0.0))
    return max(-1.0, float(low)), min(1.0, float(high))


def summaries(uniq: np.ndarray, counts: np.ndarray, names: list[str]) -> np.ndarray:
    """Quantiles (inverse-CDF, no interpolation: weeks and casualties are counts) and means
    of distributions given as counts over sorted values; ``counts`` may be (B, u)."""
    n = counts.sum(-1, keepdims=True)
    cum = counts.cumsum(-1)
    out = []
    for name in names:
        if name == "mean":
            out.append((counts * uniq).sum(-1) / n[..., 0])
        else:
            idx = (cum < QUANTILES[name] * n - 1e-9).sum(-1)
            out.append(uniq[np.minimum(idx, len(uniq) - 1)])
    return np.stack(out, -1)


def percentile_interval(samples: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """2.5% and 97.5% of bootstrap replicates (by rank, so +-inf are fine)."""
    s = np.sort(samples, axis=0)
    b = len(s)
    return s[int(np.floor(0.025 * (b - 1)))], s[int(np.ceil(0.975 * (b - 1)))]


def difference(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """a - b, where two equal values (both never reached: +inf) differ by 0."""
    with np.errstate(invalid="ignore"):
        return np.where(a == b, 0.0, a - b)


def bootstrap(x: np.ndarray, names: list[str], rng, n_boot: int) -> np.ndarray:
    """(n_boot, statistics) replicates: resampling x is a multinomial draw over its values."""
    uniq, counts = np.unique(x, return_counts=True)
    draws = rng.multinomial(len(x), counts / len(x), size=n_boot)
    return summaries(uniq, draws, names)


def paired_bootstrap(xk, x0, names, rng, n_boot, block=100) -> np.ndarray:
    """Replicates of stat(xk) - stat(x0), resampling pairs (common random numbers)."""
    pairs, counts = np.unique(np.column_stack([xk, x0]), axis=0, return_counts=True)
    sides = []
    for col in (0, 1):
        uniq, inverse = np.unique(pairs[:, col], return_inverse=True)
        onehot = np.zeros((len(pairs), len(uniq)))
        onehot[np.arange(len(pairs)), inverse] = 1.0
        sides.append((uniq, onehot))
    out = []
    for start in range(0, n_boot, block):  # blocks keep memory flat for big batches
        draws = rng.multinomial(len(xk), counts / len(xk), size=min(block, n_boot - start))
        sk, s0 = (summaries(u, draws @ m, names) for u, m in sides)
        out.append(difference(sk, s0))
    return np.concatenate(out)


# --------------------------------------------------------------------------- tests
def proportion_test(k1, n1, k0, n0) -> tuple[str, float]:
    table = np.array([[k1, n1 - k1], [k0, n0 - k0]])
    if table[:, 0].sum() == 0 or table[:, 1].sum() == 0:
        return "none (no variation)", 1.0
    expected = table.sum(1, keepdims=True) * table.sum(0, keepdims=True) / table.sum()
    if expected.min() < 5:
        return "Fisher exact", float(stats.fisher_exact(table).pvalue)
    return "chi-square", float(stats.chi2_contingency(table).pvalue)


def mcnemar(only1: int, only0: int) -> tuple[str, float]:
    if only1 + only0 == 0:
        return "McNemar exact (paired)", 1.0
    return "McNemar exact (paired)", float(stats.binomtest(only1, only1 + only0).pvalue)


def distribution_test(xk, x0, paired_diff, kind) -> tuple[str, float]:
    if kind == "ks":
        return "Kolmogorov-Smirnov", float(stats.ks_2samp(xk, x0, method="asymp").pvalue)
    if paired_diff is not None:
        if not np.any(paired_diff != 0):
            return "Wilcoxon signed-rank (paired)", 1.0
        return "Wilcoxon signed-rank (paired)", float(stats.wilcoxon(paired_diff).pvalue)
    p = float(stats.mannwhitneyu(xk, x0, alternative="two-sided").pvalue)
    return "Mann-Whitney U", 1.0 if np.isnan(p) else p


def holm(p: np.ndarray) -> np.ndarray:
    """Holm's step-down adjustment: controls the chance of any false flag, whatever the
    dependence between the tests (several values of one outcome are dependent)."""
    m = len(p)
    order = np.argsort(p)
    adjusted = np.maximum.accumulate((m - np.arange(m)) * p[order])
    out = np.empty(m)
    out[order] = np.minimum(adjusted, 1.0)
    return out


# --------------------------------------------------------------------------- cross-tables
def row_proportions(rows, columns, row_order=None, column_order=None):
    """A cross-table of two categorical series as row proportions, each with its 95%
    Wilson interval: one line per (row, column) with ``runs`` (the row's total), ``count``,
    ``share``, ``low`` and ``high``. A row with no runs has no shares and is left out; a
    column named in ``column_order`` is kept even when empty (a share of 0 with its
    interval says "never, in this many runs")."""
    import pandas as pd  # (scipy and numpy only above: sim compare's start stays light)

    counts = pd.crosstab(pd.Series(list(rows), name="row"), pd.Series(list(columns), name="col"))
    if row_order is not None:
        counts = counts.reindex([r for r in row_order if r in counts.index])
    if column_order is not None:
        counts = counts.reindex(columns=list(column_order), fill_value=0)
    out = []
    for row, line in counts.iterrows():
        n = int(line.sum())
        for col, k in line.items():
            low, high = wilson_interval(int(k), n)
            out.append(
                {"row": row, "column": col, "runs": n, "count": int(k)}
                | {"share": k / n if n else np.nan, "low": low, "high": high}
            )
    return pd.DataFrame(out, columns=["row", "column", "runs", "count", "share", "low", "high"])
