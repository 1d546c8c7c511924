"""Gamson's law on the page: the report's section (a table and a figure per batch), the
figure, and the CSV of ``sim compare --gamson-csv``. The numbers come from ``sim.gamson``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from sim.analysis.compare import Batch, CompareError
from sim.analysis.gamson import (
    TABLE_COLUMNS,
    GamsonFit,
    fit_text,
    format_gamson,
    gamson_fit,
    gamson_table,
    has_shares,
    member_pairs,
)
from sim.analysis.labels import actor_labels, in_words, number
from sim.analysis.safe_text import csv_safe, plain
from sim.batch.outputs import write_atomic
from sim.report.html_blocks import esc, figure_data_uri, img, slug

TITLE = "Cabinet shares against seat shares (Gamson's law)"
CSV_COLUMNS = ["scenario", *TABLE_COLUMNS]
PAIRS_DRAWN = 5000  # the cloud behind the means: more dots would only blacken it
HEADINGS = [
    "list", "governments", "mean seat share", "mean cabinet share", "difference", "ratio",
    "formateur",
]  # fmt: skip


def gamson_csv_table(batches: list[Batch]) -> pd.DataFrame:
    """Every batch's table, one row per batch and list (batches without shares add none)."""
    tables = [gamson_table(b.runs).assign(scenario=b.label) for b in batches if has_shares(b.runs)]
    tables = [t for t in tables if not t.empty]
    if not tables:
        return pd.DataFrame(columns=CSV_COLUMNS)
    return pd.concat(tables, ignore_index=True)[CSV_COLUMNS]


def write_gamson_csv(batches: list[Batch], path: str | Path) -> Path:
    return write_atomic(path, csv_safe(gamson_csv_table(batches)).to_csv(index=False), CompareError)


#: a list is named in the figure when in at least this share of the most governed list's
#: governments (the rest crowd the origin; the table names them)
LABELLED = 0.1


def plot_gamson(
    table: pd.DataFrame,
    fit: GamsonFit,
    label: str,
    pairs: pd.DataFrame | None = None,
    names: dict[str, str] | None = None,
) -> Figure:
    """Mean cabinet share against mean seat share, a dot per list (its area: the runs it
    governed in), the line y = x of Gamson's law and the pooled least-squares line; faint
    behind them, the (run, list) pairs the line is fitted to (the first PAIRS_DRAWN)."""
    fig = Figure(figsize=(4.8, 3.9), layout="constrained")  # a check, not the headline
    ax = fig.subplots()
    x = table["seat_share"].to_numpy(float)
    y = table["cabinet_share"].to_numpy(float)
    shown = pairs.head(PAIRS_DRAWN) if pairs is not None else pd.DataFrame()
    values = [x, y, *(shown[c].to_numpy(float) for c in ("seat_share", "cabinet_share"))]
    top = min(1.0, 1.05 * float(np.nanmax(np.concatenate(values))) + 0.02)
    ends = np.array([0.0, top])
    if not shown.empty:
        ax.scatter(shown["seat_share"], shown["cabinet_share"], s=6, color="grey", alpha=0.25,
                   lw=0, label="a list in one run")  # fmt: skip
    ax.plot(ends, ends, ls="--", color="grey", lw=1, label="Gamson's law (y = x)")
    if not np.isnan(fit.slope):
        sign = "-" if fit.intercept < 0 else "+"
        pooled = f"pooled fit: y = {fit.slope:.2f} x {sign} {abs(fit.intercept):.3f}"
        ax.plot(ends, fit.slope * ends + fit.intercept, color="tab:red", lw=1, label=pooled)
    size = 20 + 180 * table["governments"].to_numpy(float) / max(table["governments"].max(), 1)
    ax.scatter(x, y, s=size, color="tab:blue", alpha=0.7, zorder=3, label="a list's means")
    # names would print over each other: only the lists in at least LABELLED of the
    # governments are named (the table names every one), and a name that would sit on the
    # one above it is moved down, with a thin line to its dot
    governed = table["governments"].to_numpy(float)
    named = governed >= LABELLED * max(governed.max(), 1)
    gap, previous = 0.045 * top, np.inf
    order = sorted(zip(table["list"][named], x[named], y[named], strict=True), key=lambda t: -t[2])
    for name, xi, yi in order:
        ty = min(yi, previous - gap)
        previous = ty
        moved = abs(ty - yi) > 1e-9
        ax.annotate(
            plain(in_words(name, names or {})), (xi, yi), xytext=(xi + 0.03 * top, ty),
            textcoords="data", fontsize=7, va="center",
            arrowprops={"arrowstyle": "-", "lw": 0.5, "color": "0.5"} if moved else None,
        )  # fmt: skip
    ax.set_xlim(0, top)
    ax.set_ylim(0, top)
    ax.set_aspect("equal")
    ax.set_xlabel("share of the coalition's seats")
    ax.set_ylabel("share of the ministries")
    ax.set_title(plain(label), fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="upper left")
    return fig


def _table_html(table: pd.DataFrame, names: dict[str, str]) -> str:
    head = "".join(f"<th>{esc(h)}</th>" for h in HEADINGS)
    rows = [
        f'<tr><td class="l">{esc(in_words(r.list, names))}</td><td>{r.governments}</td>'
        f"<td>{number(r.seat_share)}</td><td>{number(r.cabinet_share)}</td>"
        f"<td>{number(r.difference, signed=True)}</td><td>{number(r.ratio, 2)}</td>"
        f"<td>{number(r.formateur, 2)}</td></tr>"
        for r in table.itertuples()
    ]
    return f"<div class='wide'><table><tr>{head}</tr>" + "".join(rows) + "</table></div>"


def gamson_html(batches: list[Batch]) -> str:
    """The section's body ("" when no batch records the shares: tables made before them)."""
    if not any(has_shares(b.runs) for b in batches):
        return ""
    parts = [
        "<p class='note'>For each list that was ever in government: the runs it was in "
        "government, its mean share of the coalition's seats and of the ministries over those "
        "runs, their difference and ratio, and the share of those runs in which it was the "
        "formateur (took the formateur's bonus). Gamson's law: cabinet share = seat share "
        "(difference 0, ratio 1). The line is fitted over every (run, list) pair.</p>"
    ]
    for b in batches:
        parts.append(f"<h3>{esc(b.label)}</h3>")
        table = gamson_table(b.runs) if has_shares(b.runs) else pd.DataFrame()
        if table.empty:  # no shares recorded, or no government formed: say which, in a line
            parts.append(f"<p>{esc(format_gamson(b.runs, b.label))}</p>")
            continue
        fit = gamson_fit(b.runs)
        caption = (
            f"Mean cabinet share against mean seat share per list: {b.label} (grey: each "
            "list in each run; Gamson's law is the dashed line)"
        )
        names = actor_labels(b.manifest.get("scenario"))
        figure = figure_data_uri(plot_gamson(table, fit, b.label, member_pairs(b.runs), names))
        parts += [
            _table_html(table, names),
            f"<p class='note'>{esc(fit_text(fit))}.</p>",
            img(f"fig-gamson-{slug(b.label)}", figure, caption),
        ]
    return "\n".join(parts)
