"""Figures of a comparison: outcome bars with intervals, time-to-government ECDFs,
fan charts of the weekly series (highest rung, grievance) and the distribution of casualties.

Each function returns a ``matplotlib.figure.Figure`` built without pyplot, so it renders
with the Agg canvas, touches no global state, and shows itself in a notebook. Batches are
given as directories (or ``Batch`` objects from ``sim.analysis.compare.load_batches``), the first
being the reference, as in ``sim.compare``; every figure gives scenario *i* the same colour.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd
from matplotlib import colormaps
from matplotlib.figure import Figure

from sim.analysis.compare import CATEGORICAL, Batch, CompareError, as_batches, numeric_values
from sim.analysis.labels import rung, value_label
from sim.analysis.safe_text import plain
from sim.engine.outcomes import label

FAN_BANDS = ((0.05, 0.95, 0.18, "90%"), (0.25, 0.75, 0.35, "50%"))
CASUALTY_BINS = [0, 1, 10, 100, 1000, np.inf]  # decades: casualties are heavy-tailed
CASUALTY_LABELS = ["0", "1-9", "10-99", "100-999", "1000+"]


def colour(i: int):
    return colormaps["tab10"](i % 10)


def _batches(items, by, series=False) -> list[Batch]:
    if not items:
        raise CompareError("no batches given")
    return as_batches(items, by=by, series=series, minimum=1)


def _panels(probs: pd.DataFrame, outcomes: list[str]) -> list[tuple[str, list[tuple]]]:
    """(title, [(tick label, outcome, value)]) per panel; the yes/no outcomes share one."""
    panels, events = [], []
    for outcome in outcomes:
        values = list(dict.fromkeys(probs.loc[probs["outcome"] == outcome, "value"]))
        if CATEGORICAL.get(outcome) == [True]:
            events.append((label(outcome), outcome, "true"))
        else:
            panels.append((label(outcome), [(value_label(outcome, v), outcome, v) for v in values]))
    return panels + ([("yes/no outcomes", events)] if events else [])


def plot_outcomes(table: pd.DataFrame, outcomes: list[str] | None = None) -> Figure:
    """Probability of each categorical outcome, scenario beside scenario, with 95% (Wilson)
    intervals; ``table`` is what ``sim.compare`` returns."""
    probs = table[table["statistic"] == "probability"]
    outcomes = outcomes or [o for o in CATEGORICAL if o in set(probs["outcome"])]
    scenarios = list(dict.fromkeys(probs["scenario"]))
    panels = _panels(probs, outcomes)
    ncols = 2
    nrows = -(-len(panels) // ncols)
    fig = Figure(figsize=(11, 2.9 * nrows + 0.6), layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False).ravel()
    width = 0.8 / len(scenarios)
    indexed = probs.set_index(["scenario", "outcome", "value"])
    for ax, (title, bars) in zip(axes, panels, strict=False):
        x = np.arange(len(bars))
        for i, name in enumerate(scenarios):
            r = indexed.reindex([(name, o, v) for _, o, v in bars])
            est = r["estimate"].to_numpy(float)
            err = np.vstack([est - r["ci_low"].to_numpy(float), r["ci_high"].to_numpy(float) - est])
            err = np.clip(err, 0.0, None)  # at p = 0 or 1 the bound can sit 1e-16 inside
            pos = x - 0.4 + width * (i + 0.5)
            ax.bar(pos, est, width, color=colour(i), label=plain(name))
            ax.errorbar(pos, est, yerr=err, fmt="none", ecolor="black", elinewidth=0.8, capsize=2)
        ticks = [plain(text) for text, _, _ in bars]
        ax.set_xticks(x, ticks, rotation=20 if len(bars) > 4 else 0, fontsize=8)
        ax.set_ylim(0, 1)
        ax.set_title(title, fontsize=10)
        ax.set_ylabel("probability")
        ax.grid(axis="y", alpha=0.3)
    for ax in axes[len(panels) :]:
        ax.set_visible(False)
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside upper center", ncols=min(len(scenarios), 4))
    return fig


def plot_weeks_ecdf(*batches, by: str | None = None) -> Figure:
    """Share of runs with a government by each week after the election. Runs that formed
    none count in the denominator, so each curve levels off at P(formed)."""
    items = _batches(batches, by)
    fig = Figure(figsize=(9, 4.5), layout="constrained")
    ax = fig.subplots()
    for i, b in enumerate(items):
        weeks = numeric_values(b.runs, "weeks_to_government")
        finite = np.sort(weeks[np.isfinite(weeks)])
        share = np.arange(1, len(finite) + 1) / len(weeks)
        horizon = _horizon(b)
        xs = np.concatenate([[finite[0] if len(finite) else 0], finite, [horizon]])
        ys = np.concatenate([[0.0], share, [share[-1] if len(share) else 0.0]])
        ax.step(xs, ys, where="post", color=colour(i), label=f"{plain(b.label)} (n={len(weeks)})")
    ax.set_xlabel("weeks after the election")
    ax.set_ylabel("share of runs with a government")
    ax.set_ylim(0, 1.02)
    ax.grid(alpha=0.3)
    ax.legend(loc="upper left", fontsize=8)
    ax.set_title("Time to government (ECDF over all runs)", fontsize=10)
    return fig


def _horizon(batch: Batch) -> float:
    clock = batch.manifest.get("scenario", {}).get("clock", {})
    return float(clock.get("horizon_weeks", 0)) + float(clock.get("follow_up_weeks", 0))


def series_matrix(
    batch: Batch, column: str = "escalation_by_week"
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(weeks after the election, runs x weeks values, runs still live each week) from a
    weekly series of the run table (``escalation_by_week``, ``grievance_by_week``).

    Runs end at different weeks (formation plus follow-up, or the horizon). After its
    final week a run is NaN, not its last value carried forward: nothing is known of a run
    that has ended, and carrying it would impute the late weeks' violence. Statistics of a
    week are over the runs still live that week, which the third array counts."""
    if column not in batch.runs:
        raise CompareError(f"{batch.source}: load the batch with series=True for fan charts")
    series = [np.asarray(s, dtype=float) for s in batch.runs[column]]
    length = max((len(s) for s in series), default=0)
    values = np.full((len(series), max(length, 1)), np.nan)
    for i, s in enumerate(series):
        values[i, : len(s)] = s
    live = (~np.isnan(values)).sum(axis=0)
    start = batch.manifest.get("scenario", {}).get("clock", {}).get("start_week", 0)
    return start + np.arange(values.shape[1]), values, live


def escalation_matrix(batch: Batch) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``series_matrix`` of the highest rung by week."""
    return series_matrix(batch, "escalation_by_week")


#: per series: y-axis label, limits, whether values are rungs (whole steps)
FAN_SERIES = {
    "escalation_by_week": ("highest rung", (-0.1, 5.1), True),
    "grievance_by_week": ("mean grievance (seat-weighted)", (0.0, None), False),
}
#: a week's bands are drawn while at least this share of runs (and FEW_LIVE runs) is live:
#: quantiles of a handful of late runs would read as a trend of the scenario
LIVE_SHARE = 0.01
FEW_LIVE = 10


def _enough_live(live: np.ndarray, runs: int) -> np.ndarray:
    return live >= max(FEW_LIVE, LIVE_SHARE * runs)


def plot_fan(*batches, by: str | None = None, column: str = "escalation_by_week") -> Figure:
    """Fan chart per scenario of a weekly series: the median over the runs still live each
    week, with 50% and 90% bands and the mean; under it, how many runs are still live.
    The chart stops where fewer than 1% of runs (or 10) are still live."""
    items = _batches(batches, by, series=True)
    ylabel, ylim, rungs = FAN_SERIES[column]
    ncols = min(len(items), 2)
    nrows = -(-len(items) // ncols)
    fig = Figure(figsize=(11, 3.9 * nrows), layout="constrained")
    grid = fig.add_gridspec(2 * nrows, ncols, height_ratios=[4, 1] * nrows)
    fans: list = []
    for i, b in enumerate(items):
        row, col = divmod(i, ncols)
        ax = fig.add_subplot(grid[2 * row, col], sharey=fans[0] if fans else None)
        strip = fig.add_subplot(grid[2 * row + 1, col], sharex=ax)
        fans.append(ax)
        every, values, live = series_matrix(b, column)
        enough = np.flatnonzero(_enough_live(live, len(values)))
        last = enough[-1] + 1 if len(enough) else len(every)  # the strip shows every week
        weeks, values = every[:last], values[:, :last]
        # rungs: quantiles are whole rungs; grievance is continuous
        method: Literal["inverted_cdf", "linear"] = "inverted_cdf" if rungs else "linear"
        for low, high, alpha, name in FAN_BANDS:
            lo, hi = np.nanquantile(values, [low, high], axis=0, method=method)
            ax.fill_between(weeks, lo, hi, step="post", color=colour(i), alpha=alpha, lw=0)
            ax.plot([], [], color=colour(i), alpha=alpha + 0.2, lw=6, label=f"{name} of live runs")
        median = np.nanquantile(values, 0.5, axis=0, method=method)
        ax.step(weeks, median, where="post", color=colour(i), lw=2, label="median")
        ax.plot(weeks, np.nanmean(values, axis=0), color="black", lw=0.8, ls="--", label="mean")
        ax.set_title(plain(b.label), fontsize=10)
        ax.set_ylim(bottom=ylim[0], top=ylim[1])
        ax.grid(alpha=0.3)
        ax.tick_params(labelbottom=False)
        if rungs and not i:  # the fans share their y axis: named once
            ax.set_yticks(range(6), [rung(k) for k in range(6)])
        ax.tick_params(labelleft=col == 0)
        strip.fill_between(every, live, step="post", color="0.55", lw=0)
        strip.set_ylim(0, len(values))
        strip.set_ylabel("runs live", fontsize=8)
        strip.tick_params(labelsize=7)
        strip.grid(alpha=0.3)
        strip.set_xlabel("weeks after the election")
    fans[0].set_ylabel(ylabel)
    fans[0].legend(loc="upper right" if rungs else "lower right", fontsize=7)
    return fig


def plot_escalation_fan(*batches, by: str | None = None) -> Figure:
    """Fan chart of the highest rung by week (``plot_fan``), rungs named."""
    return plot_fan(*batches, by=by, column="escalation_by_week")


def plot_grievance_fan(*batches, by: str | None = None) -> Figure:
    """Fan chart of the seat-weighted mean grievance by week (``plot_fan``)."""
    return plot_fan(*batches, by=by, column="grievance_by_week")


def plot_casualties(*batches, by: str | None = None) -> Figure:
    """Casualties per run: the share of runs in each decade (left) and the chance of at
    least x casualties on a log scale (right), where the heavy tail shows."""
    items = _batches(batches, by)
    fig = Figure(figsize=(11, 4), layout="constrained")
    bars, tail = fig.subplots(1, 2)
    width = 0.8 / len(items)
    x = np.arange(len(CASUALTY_LABELS))
    for i, b in enumerate(items):
        c = numeric_values(b.runs, "casualties")
        share = np.histogram(c, bins=CASUALTY_BINS)[0] / len(c)
        bars.bar(x - 0.4 + width * (i + 0.5), share, width, color=colour(i), label=plain(b.label))
        values = np.sort(c)
        at_least = 1.0 - np.arange(len(values)) / len(values)
        keep = values > 0
        tail.step(values[keep], at_least[keep], where="post", color=colour(i), label=plain(b.label))
    bars.set_xticks(x, CASUALTY_LABELS)
    bars.set_xlabel("casualties in the run")
    bars.set_ylabel("share of runs")
    bars.set_ylim(0, 1)
    bars.grid(axis="y", alpha=0.3)
    bars.legend(fontsize=8)
    tail.set_xscale("log")
    tail.set_yscale("log")
    tail.set_xlabel("casualties (x)")
    tail.set_ylabel("share of runs with at least x")
    tail.grid(alpha=0.3, which="both")
    return fig
