"""A sweep's outcomes point by point: one row per sweep point (its parameter values, its
runs, each headline statistic with a 95% interval), and a figure of each statistic
against each swept parameter.

Pooling a sweep's points under the base scenario's name (what a comparison without
``--by`` does) hides what the sweep is for: how the outcomes move with the parameters.
The statistics are the registry's per-point ones (``sim.engine.outcomes.POINT_STATISTICS``, as
sensitivity analysis uses), each with its interval: Wilson for a share, a normal interval
for a mean, and for a median of weeks the inverse-CDF median over all runs (no government
by the horizon counts as never, as in ``sim compare``).
"""

from __future__ import annotations

import textwrap

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from sim.analysis.compare import Batch, numeric_values
from sim.analysis.safe_text import plain
from sim.engine.outcomes import POINT_STATISTICS, PointStatistic, wilson_interval

COLUMNS = ["point", "statistic", "label", "outcome", "kind", "runs", "estimate", "low", "high"]


def swept(batch: Batch) -> list[str]:
    """The parameters a batch sweeps (none for a plain batch)."""
    return list((batch.manifest.get("sweep") or {}).get("parameters") or [])


def _statistic(stat: PointStatistic, runs: pd.DataFrame) -> tuple[float, float, float]:
    """(estimate, low, high) of one statistic over one point's runs."""
    column = runs[stat.outcome]
    n = len(runs)
    if stat.statistic == "share":
        hits = column.map(_word) == _word(stat.value)
    elif stat.statistic == "at_least":
        hits = pd.to_numeric(column) >= stat.value
    if stat.statistic in ("share", "at_least"):
        k = int(np.asarray(hits).sum())
        return (k / n, *wilson_interval(k, n))
    if stat.statistic == "mean":
        x = pd.to_numeric(column).astype(float).to_numpy()
        half = 1.959964 * x.std(ddof=1) / np.sqrt(n) if n > 1 else np.nan
        return float(x.mean()), float(x.mean() - half), float(x.mean() + half)
    x = np.sort(numeric_values(runs, stat.outcome))  # a median of weeks: never = +inf
    # the inverse-CDF median, and the distribution-free 95% interval of a median: the
    # order statistics n/2 -+ 1.96 sqrt(n)/2 (rounded outward)
    spread = 0.98 * np.sqrt(n)
    low, high = max(int(np.floor(n / 2 - spread)), 1), min(int(np.ceil(n / 2 + 1 + spread)), n)
    return float(x[int(np.ceil(n / 2)) - 1]), float(x[low - 1]), float(x[high - 1])


def _word(value) -> str:
    """A run-table value as the comparison writes it (True -> "true")."""
    return str(value).lower() if isinstance(value, bool | np.bool_) else str(value)


def point_table(runs: pd.DataFrame, params: list[str]) -> pd.DataFrame:
    """One line per (sweep point, statistic) of a sweep's runs, with the point's parameter
    values as columns; ``kind`` is "probability" for a share, else the statistic."""
    if not params or "point" not in runs:
        return pd.DataFrame(columns=COLUMNS)
    rows = []
    for point, group in runs.groupby("point", sort=True):
        values = {p: float(group[p].iloc[0]) for p in params}
        for stat in POINT_STATISTICS:
            estimate, low, high = _statistic(stat, group)
            kind = "probability" if stat.statistic in ("share", "at_least") else stat.statistic
            # a median here counts no government as never (as sim compare does), not at
            # the horizon as the sensitivity statistic of the same name does
            name = "median weeks to government" if kind == "median" else stat.label
            rows.append(
                {"point": int(point), **values, "statistic": stat.name, "label": name}
                | {"outcome": stat.outcome, "kind": kind, "runs": len(group)}
                | {"estimate": estimate, "low": low, "high": high}
            )
    return pd.DataFrame(rows)


def plot_sweep(table: pd.DataFrame, params: list[str], horizon: float) -> Figure:
    """Each statistic (rows) against each swept parameter (columns): a dot per point with
    its interval, and a line through the mean at each value of the parameter. A median of
    weeks that is "never" is drawn at the horizon, as an open triangle."""
    stats = list(dict.fromkeys(table["statistic"]))
    labels = dict(zip(table["statistic"], table["label"], strict=False))
    fig = Figure(figsize=(3.6 * len(params) + 1.0, 2.1 * len(stats) + 0.4), layout="constrained")
    axes = fig.subplots(len(stats), len(params), squeeze=False, sharex="col")
    for r, stat in enumerate(stats):
        rows = table[table["statistic"] == stat]
        est = rows["estimate"].to_numpy(float)
        never = ~np.isfinite(est)
        shown = np.where(never, horizon, est)
        low = np.minimum(np.where(np.isfinite(rows["low"]), rows["low"], horizon), shown)
        high = np.where(np.isfinite(rows["high"]), rows["high"], horizon)
        err = np.clip(np.vstack([shown - low, high - shown]), 0.0, None)
        for c, param in enumerate(params):
            ax = axes[r, c]
            x = rows[param].to_numpy(float)
            ax.errorbar(x, shown, yerr=err, fmt="o", ms=3, color="tab:blue", elinewidth=0.7)
            if never.any():
                ax.plot(x[never], shown[never], "^", mfc="white", color="tab:red", ms=6)
            trend = pd.Series(shown).groupby(x).mean()
            ax.plot(trend.index, trend.to_numpy(), color="0.4", lw=1)
            ax.grid(alpha=0.3)
            ax.tick_params(labelsize=7)
            if (rows["kind"] == "probability").all():
                ax.set_ylim(-0.02, 1.02)  # a share on its whole scale: no zoomed-in noise
            if c == 0:
                ax.set_ylabel(plain(textwrap.fill(labels[stat], 24)), fontsize=7)
            if r == len(stats) - 1:
                ax.set_xlabel(plain(param), fontsize=8)
    return fig
