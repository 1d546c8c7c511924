"""The report's sections that read the comparison: the headline, the outcome table, the
escalation by government type and the sweep summary.

Everything a reader sees is named in words (``sim.labels``): outcomes by their registry
labels, rungs by their names; the CSV keeps the machine names. A report of one scenario
is a summary (estimates and intervals only); of several, a comparison with differences
from the first, tests and the correction.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from sim.analysis.compare import Batch
from sim.analysis.labels import (
    STATISTICS,
    estimate_text,
    interval,
    number,
    row_title,
    rung,
    value_label,
)
from sim.analysis.statistics import row_proportions
from sim.engine.enums import GovernmentType
from sim.engine.outcomes import LEVELS, label, wilson_interval
from sim.report.html_blocks import esc, figure_data_uri, img, slug

HEADLINE_TOP = 3  # the largest probabilities, and the biggest significant differences
SWEEP_ROWS = 100  # sweep points shown in the table (the run table holds every one)
SEVERE = 4  # rung 4 (targeted attacks) and above: the violence the article is about
CORRECTION_NAMES = {"holm": "Holm's", "bh": "Benjamini-Hochberg's"}


def compared(table: pd.DataFrame) -> bool:
    """Whether the table compares scenarios (more than one batch)."""
    return len(table.attrs.get("batches", [])) > 1


# --------------------------------------------------------------------------- headline
def headline_html(table: pd.DataFrame, batches: list[Batch] | None = None) -> str:
    """The opening lines, answering "what happens": for each scenario the most likely
    government (its type, its PM kind, the lists most often in it) and the chance of
    each rung of violence; for a comparison, the largest differences that stay
    significant after the correction."""
    probs = table[table["statistic"] == "probability"]
    by_label = {b.label: b for b in batches or []}
    lines = []
    for name in list(dict.fromkeys(probs["scenario"]))[:4]:  # more would bury the point
        rows = probs[probs["scenario"] == name]
        n = int(rows["n"].iloc[0]) if len(rows) else 0
        batch = by_label.get(name)
        government = _government_line(batch) if batch is not None else ""
        lines.append(f"<b>{esc(name)}</b> ({n} runs): {government}{_violence_line(rows)}")
    out = '<div class="headline"><ul>' + "".join(f"<li>{x}</li>" for x in lines) + "</ul>"
    if compared(table):
        out += _differences(table)
    note = ", differences from the first scenario" if compared(table) else ""
    return out + f"<p class='note'>Probabilities with 95% intervals{note}.</p></div>"


#: lists named as "most often in" the likeliest government, at most
HEADLINE_LISTS = 8


def _government_line(batch: Batch) -> str:
    """ "Most likely government: majority under a compromise PM, 0.26 [0.24, 0.28] of
    runs; most often in it: ..." from the batch's run table (its coalitions)."""
    from sim.analysis.labels import actor_labels, in_words
    from sim.batch.results import column_names, load_results

    runs = batch.runs
    if runs.empty:
        return ""
    kinds = runs["government_type"].astype(str) + "|" + runs["pm_kind"].astype(str)
    top = kinds.value_counts()
    government, kind = str(top.index[0]).split("|")
    k, n = int(top.iloc[0]), len(runs)
    share = f"{number(k / n)} {interval(*wilson_interval(k, n))} of runs"
    if government == "none":
        return f"most likely <b>no government</b> by the horizon, {share}. "
    pm = {"formateur": "the formateur's own nominee", "compromise": "a compromise PM"}
    text = (
        f"most likely a <b>{esc(government)} government under "
        f"{esc(pm.get(kind, 'the ' + kind))}</b>, {share}"
    )
    directory = batch.source.split(" [")[0]
    chosen = set(runs.loc[(kinds == top.index[0]).to_numpy(), "run_id"].astype(int))
    if "coalition" not in column_names(directory):  # a table from before coalitions were kept
        return text + " (its run table keeps no coalitions). "
    coalitions = load_results(directory, columns=["run_id", "coalition"])
    coalitions = coalitions[coalitions["run_id"].isin(chosen)]
    counts: dict[str, int] = {}
    for members in coalitions["coalition"]:
        for member in members if members is not None else []:
            counts[str(member)] = counts.get(str(member), 0) + 1
    names = actor_labels(batch.manifest.get("scenario"))
    ranked = sorted(counts.items(), key=lambda kv: -kv[1])
    # every list in at least half of these governments (at most HEADLINE_LISTS), or the top 3
    often = [(m, c) for m, c in ranked if c >= 0.5 * len(coalitions)][:HEADLINE_LISTS]
    often = often or ranked[:3]
    if often:
        text += "; the lists most often in it: " + ", ".join(
            f"{esc(in_words(m, names))} ({number(c / max(len(coalitions), 1), 2)})"
            for m, c in often
        )
    return text + ". "


def _violence_line(rows: pd.DataFrame) -> str:
    """The chance of each rung being the run's highest."""
    rungs = rows[rows["outcome"] == "max_escalation"]
    items = [
        f"{esc(rung(int(r.value)))} {number(r.estimate)} {interval(r.ci_low, r.ci_high)}"
        for r in rungs.itertuples()
        if r.estimate > 0 or r.ci_high > 0.01
    ]
    if not items:
        return ""
    return "Highest rung of violence: " + "; ".join(items) + "."


def _differences(table: pd.DataFrame) -> str:
    meta = table.attrs
    tested = table[table["significant"] & table["diff"].notna()]
    probs = tested[tested["statistic"] == "probability"]
    probs = probs.reindex(probs["diff"].abs().sort_values(ascending=False).index)
    # a median row carries its outcome's distribution test, which can flag a shift that
    # leaves the median itself where it was: only a median that moved is a headline
    medians = tested[(tested["statistic"] == "median") & (tested["diff"] != 0)]
    reference = table[table["scenario"] == meta["batches"][0]["label"]].set_index(
        ["outcome", "value", "statistic"]
    )
    items = []
    for r in [*probs.head(HEADLINE_TOP).itertuples(), *medians.itertuples()]:
        before = reference.loc[(r.outcome, r.value, r.statistic), "estimate"]
        o, s = r.outcome, r.statistic
        low, high = (estimate_text(v, o, s, True) for v in (r.diff_low, r.diff_high))
        items.append(
            f"<b>{esc(row_title(o, r.value, s, meta.get('labels')))}</b> in {esc(r.scenario)}: "
            f"{estimate_text(before, o, s)} &rarr; {estimate_text(r.estimate, o, s)} "
            f"({estimate_text(r.diff, o, s, True)} [{low}, {high}])"
        )
    name = CORRECTION_NAMES[meta["correction"]]
    if not items:
        return (
            f"<p>No difference from {esc(meta['batches'][0]['label'])} is significant at "
            f"{meta['alpha']:g} after {name} correction over {meta['tests']} tests.</p>"
        )
    return (
        f"<p>Largest significant differences (at {meta['alpha']:g}, after {name} "
        "correction):</p><ul>" + "".join(f"<li>{x}</li>" for x in items) + "</ul>"
    )


# --------------------------------------------------------------------------- storylines
def storylines_html(batches: list[Batch], paths: int = 5) -> str:
    """Each batch directory's storylines (``sim.analysis.storylines``): a table of paths
    with their share, what they are, their typical timeline and a run to explain."""
    from sim.analysis.storylines import StorylineError, batch_storylines

    parts = [
        "<p class='note'>Runs grouped into the few paths they take, by Ward's hierarchical "
        "clustering (scipy) of each run's key events: the bloc that named the formateur, "
        "presidential sessions without a quorum, nominees, walk-outs, the week each rung from "
        "clashes up was first reached, attacks on the incumbent, the PMF's fate and the "
        "government formed. Timeline: the median week of each event that happens in at "
        "least half the path's runs. Example: the run nearest the path's centre; "
        "<code>sim explain DIR RUN_ID</code> replays it.</p>"
    ]
    seen = set()
    for b in batches:
        directory = b.source.split(" [")[0]
        if directory in seen:
            continue
        seen.add(directory)
        try:
            found, _ = batch_storylines(directory, paths)
        except StorylineError:  # its message names columns; the report speaks in words
            parts.append(
                f"<h3>{esc(b.label)}</h3><p class='note'>no storylines: the run table lacks "
                "the key events they are read from (a table from an older version?)</p>"
            )
            continue
        rows = "".join(
            f"<tr><td>{p.number}</td><td>{number(p.share, 2)}</td><td>{p.runs}</td>"
            f'<td class="l">{esc(p.title)}</td><td class="l">'
            + "<br>".join(f"week {w}: {esc(t)}" for w, t in p.timeline)
            + f'</td><td class="l">{esc("; ".join(p.notes))}</td>'
            f"<td><code>sim explain {esc(directory)} {p.example_run}</code></td></tr>"
            for p in found
        )
        head = ["path", "share", "runs", "what happens", "typical timeline", "also", "example"]
        parts.append(
            f"<h3>{esc(b.label)} <span class='note'>({esc(directory)})</span></h3>"
            "<div class='wide'><table class='storylines'><tr>"
            + "".join(f'<th class="l">{h}</th>' for h in head)
            + f"</tr>{rows}</table></div>"
        )
    return "\n".join(parts)


# --------------------------------------------------------------------------- outcome table
def outcome_table_html(table: pd.DataFrame) -> str:
    """Every outcome's estimate with its interval; for a comparison also the difference,
    its interval, the test and the p-values, significant rows highlighted."""
    diffs = compared(table)
    head = ["outcome", "value / statistic", "scenario", "n", "estimate", "95% interval"]
    if diffs:
        head += ["difference", "95% interval", "p", "p adjusted", "test"]
    out = ["<table><tr>" + "".join(f'<th class="l">{h}</th>' for h in head) + "</tr>"]
    names = table.attrs.get("labels")
    previous = None
    for r in table.itertuples():
        key = (r.outcome, r.value, r.statistic)
        classes = (["sig"] if r.significant else []) + (["first"] if key != previous else [])
        previous = key
        o, s = r.outcome, r.statistic
        what = value_label(o, r.value, names) if r.value else STATISTICS.get(s, s)
        cells = [
            (label(o), "l"),
            (what, "l"),
            (r.scenario, "l"),
            (r.n, ""),
            (estimate_text(r.estimate, o, s), ""),
            (f"[{estimate_text(r.ci_low, o, s)}, {estimate_text(r.ci_high, o, s)}]", ""),
        ]
        if diffs:
            has = not pd.isna(r.diff)
            low, high = (estimate_text(v, o, s, True) for v in (r.diff_low, r.diff_high))
            cells += [
                (
                    (estimate_text(r.diff, o, s, True) if has else "")
                    + (" *" if r.significant else ""),
                    "",
                ),
                (f"[{low}, {high}]" if has else "", ""),
                (_p(r.p_value), ""),
                (_p(r.p_adjusted), ""),
                (r.test, "l"),
            ]
        row = "".join(f'<td class="{c}">{esc(v)}</td>' for v, c in cells)
        out.append(f'<tr class="{" ".join(classes)}">{row}</tr>')
    out.append("</table>")
    return '<div class="wide">' + "\n".join(out) + "</div>"


def _p(p: float) -> str:
    return "" if pd.isna(p) else ("<1e-4" if p < 1e-4 else f"{p:.2g}")


def table_intro(table: pd.DataFrame) -> str:
    """What the table holds: the batches, how each pairs with the first, the correction."""
    meta = table.attrs
    items = "".join(
        f"<li><b>{esc(b['label'])}</b>: {b['runs']} runs"
        + (f", {b['failed']} failed (excluded)" if b["failed"] else "")
        + f", seed {esc(b['seed'])}"
        + (f" &mdash; {esc(p)}" if compared(table) else "")
        + "</li>"
        for b, p in zip(meta["batches"], meta["pairings"], strict=True)
    )
    weeks = (
        "Weeks count from election day, over all runs; 'never' means no government by the horizon"
    )
    if not compared(table):
        return f"<ul>{items}</ul><p class='note'>Intervals are 95%. {weeks}.</p>"
    return (
        f"<ul>{items}</ul><p class='note'>Differences are from the first scenario. Highlighted "
        f"rows (*) are significant at {meta['alpha']:g} after "
        f"{CORRECTION_NAMES[meta['correction']]} correction over {meta['tests']} tests. "
        f"Intervals are 95%. {weeks}; a difference with one 'never' is n/a.</p>"
    )


# ----------------------------------------------------------------- escalation by government
def escalation_by_government(batch: Batch) -> pd.DataFrame:
    """Highest rung by government type: row shares with 95% Wilson intervals, plus the
    share reaching rung 4 or above (column ``"4+"``)."""
    runs = batch.runs
    rows = runs["government_type"].astype(str)
    levels = pd.to_numeric(runs["max_escalation"]).astype(int)
    order = GovernmentType.labels()
    table = row_proportions(rows, levels, order, LEVELS)
    worse = np.where(levels >= SEVERE, f"{SEVERE}+", "below")
    severe = row_proportions(rows, worse, order, ["below", f"{SEVERE}+"])
    return pd.concat([table, severe[severe["column"] == f"{SEVERE}+"]], ignore_index=True)


def _cell(share: float, low: float, high: float) -> str:
    # the darker the cell, the larger the share: the pattern shows before the numbers
    shade = f"background:rgba(214,39,40,{0.55 * share:.2f})"
    return (
        f'<td style="{shade}">{number(share)}<br><span class="note">'
        f"{interval(low, high)}</span></td>"
    )


def escalation_by_government_html(batches: list[Batch]) -> str:
    """One cross-table per scenario: government type by highest rung."""
    parts = [
        "<p class='note'>Rows: the government that formed (none: no government by the "
        "horizon). Cells: the share of that row's runs whose highest rung was this one, with "
        f"its 95% Wilson interval; the last column adds up rungs {SEVERE} and 5.</p>"
    ]
    columns = [rung(k) for k in LEVELS] + [f"{SEVERE}+ ({rung(SEVERE).split(' ', 1)[1]} or worse)"]
    for b in batches:
        table = escalation_by_government(b)
        head = "".join(f"<th>{esc(c)}</th>" for c in ["government", "runs", *columns])
        rows = []
        for government, cells in table.groupby("row", sort=False):
            tds = "".join(_cell(c.share, c.low, c.high) for c in cells.itertuples())
            rows.append(
                f'<tr><td class="l">{esc(government)}</td><td>{int(cells["runs"].iloc[0])}</td>'
                f"{tds}</tr>"
            )
        parts.append(
            f"<h3>{esc(b.label)}</h3><div class='wide'><table><tr>{head}</tr>"
            + "".join(rows)
            + "</table></div>"
        )
    return "\n".join(parts)


# --------------------------------------------------------------------------- sweeps
def sweep_html(batches: list[Batch]) -> str:
    """For each swept batch directory: a row per point and a plot of each statistic
    against each parameter ("" when no batch is a sweep)."""
    from sim.report.sweep_summary import plot_sweep, point_table, swept

    by_dir: dict[str, list[Batch]] = {}
    for b in batches:  # a sweep split by --by is one directory: its points, together
        if swept(b):
            by_dir.setdefault(b.source.split(" [")[0], []).append(b)
    parts = []
    for directory, group in by_dir.items():
        params = swept(group[0])
        runs = pd.concat([b.runs for b in group], ignore_index=True)
        table = point_table(runs, params)
        if table.empty:
            continue
        manifest = group[0].manifest
        clock = manifest.get("scenario", {}).get("clock", {})
        shown = table.assign(
            cell=[
                f"{estimate_text(r.estimate, r.outcome, r.kind)} "
                f"[{estimate_text(r.low, r.outcome, r.kind)}, "
                f"{estimate_text(r.high, r.outcome, r.kind)}]"
                for r in table.itertuples()
            ]
        )
        wide = shown.pivot(index="point", columns="label", values="cell")
        wide = wide[list(dict.fromkeys(table["label"]))]
        points = table.groupby("point").first()
        head = ["point", *params, "runs", *wide.columns]
        rows = [
            f"<tr><td>{p}</td>"
            + "".join(f"<td>{points.loc[p, k]:g}</td>" for k in params)
            + f"<td>{int(points.loc[p, 'runs'])}</td>"
            + "".join(f"<td>{esc(v)}</td>" for v in wide.loc[p])
            + "</tr>"
            for p in wide.index[:SWEEP_ROWS]
        ]
        more = len(wide) - SWEEP_ROWS
        figure = plot_sweep(table, params, float(clock.get("horizon_weeks", 0)))
        name = manifest.get("scenario_name", directory)
        parts.append(
            f"<h3>{esc(name)}: {len(wide)} sweep points <span class='note'>({esc(directory)})"
            "</span></h3><div class='wide'><table><tr>"
            + "".join(f'<th class="l">{esc(h)}</th>' for h in head)
            + "</tr>"
            + "".join(rows)
            + "</table></div>"
            + (f'<p class="note">first {SWEEP_ROWS} of {len(wide)} points</p>' if more > 0 else "")
            + img(
                f"fig-sweep-{slug(name)}",
                figure_data_uri(figure),
                "Each outcome against each swept parameter: a dot per point with its 95% "
                "interval, the line through the mean at each value (a median 'never' is "
                "drawn at the horizon, as an open triangle)",
            )
        )
    return "\n".join(parts)
