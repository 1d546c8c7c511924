"""The report of a calibration (``sim calibrate``'s ``report.html``): the posterior's
marginals against the priors, the pairs of the parameters the cases narrow most, each
case's predictive check under the posterior (in sample), and, with ``--cross-validate``,
each case scored by a fit that never saw it. One self-contained page (figures embedded).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import UTC, datetime

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from sim.analysis.calibration import PINNED, Fit, LeftOut, format_fit
from sim.report.document import STYLE
from sim.report.html_blocks import esc, figure_data_uri, html_table, img

__all__ = ["calibration_html"]

#: Parameters shown in the pairs plot: those the posterior narrows most.
PAIRS = 4
COLUMNS = 6  # marginal panels a row


def _marginals(fitted: Fit) -> Figure:
    ranges = fitted.ranges
    rows = math.ceil(len(ranges) / COLUMNS)
    fig = Figure(figsize=(2.4 * COLUMNS, 1.9 * rows), layout="constrained")
    w = fitted.sample["weight"].to_numpy()
    for i, r in enumerate(ranges):
        ax = fig.add_subplot(rows, COLUMNS, i + 1)
        ax.hist(fitted.sample[r.key], bins=12, range=(r.low, r.high), weights=w, density=True,
                color="#4a78b5")  # fmt: skip
        ax.axhline(1.0 / (r.high - r.low), color="#c0392b", lw=1)  # the uniform prior
        ax.set_title(r.key, fontsize=7)
        ax.tick_params(labelsize=6)
        ax.set_yticks([])
    return fig


def _pairs(fitted: Fit) -> Figure:
    keys = list(fitted.shrinkage()["parameter"][:PAIRS])
    by_key = {r.key: r for r in fitted.ranges}
    n = len(keys)
    fig = Figure(figsize=(2.3 * n, 2.3 * n), layout="constrained")
    w = fitted.sample["weight"].to_numpy()
    size = 400 * w / w.max()
    for i, y in enumerate(keys):
        for j, x in enumerate(keys):
            ax = fig.add_subplot(n, n, i * n + j + 1)
            if i == j:
                r = by_key[x]
                ax.hist(fitted.sample[x], bins=12, range=(r.low, r.high), weights=w,
                        color="#4a78b5")  # fmt: skip
            else:
                ax.scatter(fitted.sample[x], fitted.sample[y], s=size, alpha=0.4, color="#4a78b5")
                ax.set_xlim(by_key[x].low, by_key[x].high)
                ax.set_ylim(by_key[y].low, by_key[y].high)
            ax.tick_params(labelsize=6)
            if i == n - 1:
                ax.set_xlabel(x, fontsize=7)
            if j == 0:
                ax.set_ylabel(y, fontsize=7)
    return fig


def _checks(rows: Sequence[LeftOut]) -> pd.DataFrame:
    out = []
    for r in rows:
        out.append({
            "case": r.case, "runs": r.runs, "P(all conditions)": r.every,
            **{f"P({text})": p for text, p in r.each},
            "duration percentile": r.percentile, "inside 10-90": "yes" if r.inside else "no",
            "Brier": r.brier, "uniform Brier": r.uniform_brier,
            "log score": r.log_score, "uniform log score": r.uniform_log,
        })  # fmt: skip
    return pd.DataFrame(out)


def _check_html(rows: Sequence[LeftOut]) -> str:
    """One table a case (their conditions differ)."""
    parts = []
    for r in rows:
        frame = _checks([r]).T.reset_index()
        frame.columns = ["", r.case]
        parts.append(html_table(frame, limit=len(frame)))
    return "\n".join(parts)


def calibration_html(
    fitted: Fit,
    checks: Sequence[LeftOut],
    cross: Sequence[LeftOut] | None,
    cases: Sequence[str],
    lacking: dict[str, tuple[str, ...]],
) -> str:
    """The page. ``lacking``: each incomplete case's ``lacks``, said beside its checks."""
    shrink = fitted.shrinkage()
    shrink["the cases"] = np.where(shrink["sd_ratio"] < PINNED, "pin it down", "leave it open")
    incomplete = "".join(
        f"<li><b>{esc(name)}</b> lacks: {esc('; '.join(what))}</li>"
        for name, what in lacking.items()
        if what
    )
    if incomplete:
        said = "Incomplete cases (their scores are not forecasts of them):"
        incomplete = f"<p>{said}</p><ul>{incomplete}</ul>"
    sections = [
        ("fit", "The fit", f"<pre>{esc(format_fit(fitted).splitlines()[0])}</pre>"
         f"<p class='note'>Cases: {esc(', '.join(cases))}.</p>" + incomplete),
        ("parameters", "What the cases pin down",
         f"<p class='note'>A parameter is pinned down when its posterior standard deviation is "
         f"below {PINNED:g} of its uniform prior's.</p>" + html_table(shrink, limit=len(shrink))),
        ("marginals", "Marginals", img("fig-marginals", figure_data_uri(_marginals(fitted)),
         "Each parameter's weighted posterior (bars) against its uniform prior (line)")),
        ("pairs", "Pairs", img("fig-pairs", figure_data_uri(_pairs(fitted)),
         f"The {PAIRS} parameters the posterior narrows most, two by two (dot size: weight)")),
        ("checks", "Each case's predictive check (in sample)",
         "<p class='note'>The record scored under the posterior that was fitted to it.</p>"
         + _check_html(checks)),
    ]  # fmt: skip
    if cross:
        sections.append((
            "cross-validation", "Leave one case out",
            "<p class='note'>Each case scored under a posterior fitted to the others only, on "
            "fresh seeds: the honest figure.</p>" + _check_html(cross),
        ))  # fmt: skip
    nav = "".join(f'<a href="#{sid}">{esc(name)}</a>' for sid, name, _ in sections)
    body = "\n".join(
        f'<section id="{sid}"><h2>{esc(name)}</h2>\n{content}</section>'
        for sid, name, content in sections
    )
    made = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>Calibration</title><style>{STYLE}</style></head><body>\n"
        f"<h1>Calibration</h1><p class='note'>Made {made} by <code>sim calibrate</code>.</p>"
        f"<nav>{nav}</nav>\n{body}\n</body></html>\n"
    )
