"""Reports of a comparison: the table on the terminal and as CSV, and ``sim report``, one
self-contained HTML file comparing batches.

Everything is inside the file: figures are PNG data URIs, the style sheet is inline, and
there are no scripts and no links to anything outside it (only #anchors between its own
sections), so it opens offline, mails as one attachment and archives with its results.
Sections: outcome probabilities, time to government, escalation fan charts, casualties,
the comparison table, each batch's manifest, and -- when a batch directory holds them --
its sensitivity analysis (``sensitivity/``) and scenario discovery (``discovery/``).
"""

from __future__ import annotations

import base64
import contextlib
import html
import io
import json
import os
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd

from sim.compare import NUMERIC, TABLE_COLUMNS, Batch, CompareError, compare, load_batches
from sim.outputs import check_file_writable
from sim.safe_text import csv_safe

#: CSV files of the sensitivity/discovery output that are inputs, not findings
SKIPPED_CSV = {"points.csv": "the design points (in the file, not shown)"}
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
NOT_A_DIFFERENCE = "n/a"  # printed for a difference between a number of weeks and never
TABLE_ROWS = 10  # rows shown of a ranked sensitivity/discovery table (the files hold the rest)
EXTRA_SECTIONS = {
    "sensitivity": ("Sensitivity", "sensitivity.png"),
    "discovery": ("Scenario discovery", "discovery.png"),
}

STYLE = """
body{font-family:DejaVu Sans,Helvetica,Arial,sans-serif;margin:2em auto;max-width:1150px;
color:#222;line-height:1.4}
h1{font-size:1.6em}h2{border-bottom:2px solid #ccc;padding-bottom:.2em;margin-top:2em}
figure{margin:1em 0}figure img{max-width:100%;height:auto;border:1px solid #eee}
figcaption{font-size:.9em;color:#555}
table{border-collapse:collapse;font-size:.8em;margin:.5em 0}
th,td{border:1px solid #ddd;padding:2px 6px;text-align:right;white-space:nowrap}
.wide{overflow-x:auto}
th{background:#f3f3f3}td.l,th.l{text-align:left}
td.l{white-space:normal}tr.sig td{background:#fff3c4;font-weight:bold}
tr.first td{border-top:2px solid #999}
.note{color:#555;font-size:.9em}nav a{margin-right:1em}code{font-size:.95em}
"""


# --------------------------------------------------------------------------- terminal and CSV
def _num(value: float, outcome: str, signed: bool = False) -> str:
    if not np.isfinite(value):
        if signed:  # a difference with "never" is no number of weeks (both never: 0)
            return NOT_A_DIFFERENCE
        return "never" if outcome == "weeks_to_government" else "inf"
    if outcome not in NUMERIC:
        return f"{value:+.3f}" if signed else f"{value:.3f}"
    text = f"{value:.0f}" if float(value).is_integer() else f"{value:.1f}"
    return f"+{text}" if signed and value > 0 else text


def _p(p: float) -> str:
    return "" if np.isnan(p) else ("<1e-4" if p < 1e-4 else f"{p:.2g}")


def format_table(table: pd.DataFrame) -> str:
    """The comparison as text: the batches, how each pairs with the first, then the rows."""
    meta = table.attrs
    info = meta.get("batches", [])
    width = max([len(b["label"]) for b in info] + [8]) + 2
    lines = [f"Comparison of {len(info)} scenarios; differences are from {info[0]['label']}"]
    for b, pairing in zip(info, meta.get("pairings", []), strict=False):
        failed = f", {b['failed']} failed (excluded)" if b["failed"] else ""
        lines.append(
            f"  {b['label']:<{width}}{b['runs']} runs{failed}, seed {b['seed']}, "
            f"scenario {b['scenario_hash'][:12]}, {b['source']} -- {pairing}"
        )
    lines.append("")
    head = f"  {'scenario':<{width}}{'n':>6}  {'estimate [95% CI]':<26}"
    lines.append(head + f"{'difference [95% CI]':<30}{'p':>7}{'p adj':>8}   test")
    for (outcome, value, statistic), rows in table.groupby(
        ["outcome", "value", "statistic"], sort=False
    ):
        title = f"{outcome} = {value}" if value else f"{outcome}: {statistic}"
        lines.append(title)
        for r in rows.itertuples():
            est = f"{_num(r.estimate, outcome)} [{_num(r.ci_low, outcome)}, "
            est += f"{_num(r.ci_high, outcome)}]"
            diff = ""
            if not pd.isna(r.diff):
                diff = f"{_num(r.diff, outcome, True)} [{_num(r.diff_low, outcome, True)}, "
                diff += f"{_num(r.diff_high, outcome, True)}]"
            flag = " *" if r.significant else "  "
            lines.append(
                f"  {r.scenario:<{width}}{r.n:>6}  {est:<26}{diff:<30}{_p(r.p_value):>7}"
                f"{_p(r.p_adjusted):>8}{flag} {r.test}"
            )
    name = {"holm": "Holm's", "bh": "Benjamini-Hochberg's"}[meta.get("correction", "holm")]
    lines.append(
        f"* significant at {meta.get('alpha', 0.05):g} after {name} correction over "
        f"{meta.get('tests', 0)} tests. Intervals are 95% (Wilson/Newcombe for probabilities, "
        "bootstrap otherwise). weeks_to_government counts from election day over all runs; "
        "'never' = no government by the horizon; a difference with one 'never' is n/a, with "
        "two 0."
    )
    return "\n".join(line.rstrip() for line in lines)


def write_atomic(path: str | Path, data: str | bytes) -> Path:
    """Write a file all at once: a temporary file beside it, then a rename."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(data, bytes):
            tmp.write_bytes(data)
        else:
            tmp.write_text(data, encoding="utf-8")
        os.replace(tmp, path)
    except OSError as exc:  # a user error (unwritable place, a directory there), not a crash
        raise CompareError(f"{path}: cannot write ({exc.strerror or exc})") from None
    finally:
        with contextlib.suppress(OSError):  # on a read-only disk even this fails (EROFS)
            tmp.unlink(missing_ok=True)
    return path


def write_csv(table: pd.DataFrame, path: str | Path) -> Path:
    """The table as CSV, columns as documented (TABLE_COLUMNS); text cells that a
    spreadsheet would run as formulas (a scenario named "=...") get a leading '."""
    return write_atomic(path, csv_safe(table[TABLE_COLUMNS]).to_csv(index=False))


# --------------------------------------------------------------------------- HTML
def figure_data_uri(fig) -> str:
    """A figure as a base64 PNG data URI (rendered by the Agg canvas)."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=90)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _img(fig_id: str, uri: str, caption: str) -> str:
    return (
        f'<figure id="{fig_id}"><img src="{uri}" alt="{html.escape(caption)}">'
        f"<figcaption>{html.escape(caption)}</figcaption></figure>"
    )


def _e(value) -> str:
    return html.escape(str(value))


def _fmt(value, outcome: str = "", diff: bool = False) -> str:
    if isinstance(value, float):
        if pd.isna(value):
            return ""
        if value in (float("inf"), float("-inf")):
            if diff:
                return NOT_A_DIFFERENCE
            return "never" if outcome == "weeks_to_government" else str(value)
        if value != 0 and abs(value) < 1e-3:
            return f"{value:.2g}"
        return f"{value:.3f}" if abs(value) < 1 and value != 0 else f"{value:.4g}"
    return str(value)


def comparison_html(table: pd.DataFrame) -> str:
    """The comparison table; significant differences (after correction) highlighted."""
    head = [
        "outcome", "value / statistic", "scenario", "n", "estimate", "95% CI", "difference",
        "95% CI", "p", "p adjusted", "test",
    ]  # fmt: skip
    out = ["<table><tr>" + "".join(f'<th class="l">{h}</th>' for h in head) + "</tr>"]
    previous = None
    for r in table.itertuples():
        key = (r.outcome, r.value, r.statistic)
        classes = (["sig"] if r.significant else []) + (["first"] if key != previous else [])
        previous = key
        o = r.outcome
        cells = [
            (o, "l"),
            (r.value or r.statistic, "l"),
            (r.scenario, "l"),
            (r.n, ""),
            (_fmt(r.estimate, o), ""),
            (f"[{_fmt(r.ci_low, o)}, {_fmt(r.ci_high, o)}]", ""),
            (_fmt(r.diff, o, diff=True) + (" *" if r.significant else ""), ""),
            (
                f"[{_fmt(r.diff_low, o, True)}, {_fmt(r.diff_high, o, True)}]"
                if not pd.isna(r.diff)
                else "",
                "",
            ),
            (_p(r.p_value), ""),
            (_p(r.p_adjusted), ""),
            (r.test, "l"),
        ]
        row = "".join(f'<td class="{c}">{_e(v)}</td>' for v, c in cells)
        out.append(f'<tr class="{" ".join(classes)}">{row}</tr>')
    out.append("</table>")
    return '<div class="wide">' + "\n".join(out) + "</div>"


def _table(frame: pd.DataFrame, limit: int = TABLE_ROWS) -> str:
    shown = frame.head(limit)
    rows = ['<div class="wide"><table><tr>']
    rows[0] += "".join(f"<th>{_e(c)}</th>" for c in shown.columns) + "</tr>"
    for record in shown.itertuples(index=False):
        cells = (
            f'<td class="{"l" if isinstance(v, str) else ""}">{_e(_fmt(v))}</td>' for v in record
        )
        rows.append("<tr>" + "".join(cells) + "</tr>")
    rows.append("</table></div>")
    if len(frame) > limit:
        rows.append(f'<p class="note">first {limit} of {len(frame)} rows</p>')
    return "\n".join(rows)


def _json_html(value, depth: int = 0) -> str:
    """A JSON summary as nested tables: objects as key/value rows, lists of objects as
    tables, lists of scalars inline; deeper than three levels as compact JSON."""
    if depth > 3:
        return _e(json.dumps(value, default=str))
    if isinstance(value, dict):
        rows = "".join(
            f'<tr><th class="l">{_e(k)}</th><td class="l">{_json_html(v, depth + 1)}</td></tr>'
            for k, v in value.items()
        )
        return f"<table>{rows}</table>"
    if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
        frame = pd.DataFrame(value).map(
            lambda v: json.dumps(v, default=str) if isinstance(v, dict | list) else v
        )
        return _table(frame)
    if isinstance(value, list):
        return _e(", ".join(_fmt(v) for v in value))
    return _e(_fmt(value))


def extra_section(directory: Path, kind: str, label: str) -> str:
    """A batch's sensitivity or discovery output, if it has any (another command writes
    it): the summary, its CSV tables and its picture. Unreadable files are noted."""
    folder = directory / kind
    if not folder.is_dir():
        return ""
    title, picture = EXTRA_SECTIONS[kind]
    parts = [f"<h3>{_e(label)} <span class='note'>({_e(folder)})</span></h3>"]
    summary = folder / "summary.json"
    if summary.is_file():
        try:
            content = json.loads(summary.read_text())
            if isinstance(content, dict):  # a table with a CSV of its own is shown once
                content = {k: v for k, v in content.items() if not (folder / f"{k}.csv").is_file()}
            parts.append(_json_html(content))
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            parts.append(f'<p class="note">summary.json unreadable: {_e(exc)}</p>')
    png = folder / picture
    if png.is_file():
        data = png.read_bytes()
        if data.startswith(PNG_SIGNATURE):
            uri = "data:image/png;base64," + base64.b64encode(data).decode("ascii")
            parts.append(_img(f"fig-{kind}-{_slug(label)}", uri, f"{title}: {label}"))
        else:
            parts.append(f'<p class="note">{_e(picture)} is not a PNG image; left out</p>')
    for csv in sorted(folder.glob("*.csv")):
        if csv.name in SKIPPED_CSV:
            parts.append(f'<p class="note">{_e(csv.name)}: {SKIPPED_CSV[csv.name]}</p>')
            continue
        try:
            frame = pd.read_csv(csv)
        except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
            parts.append(f'<p class="note">{_e(csv.name)} unreadable: {_e(exc)}</p>')
            continue
        parts.append(f"<h4>{_e(csv.stem)}</h4>" + _table(frame))
    return "\n".join(parts) if len(parts) > 1 else ""


def _slug(text: str) -> str:
    return "".join(c if c.isalnum() else "-" for c in text).strip("-").lower()


def manifest_html(batches: list[Batch]) -> str:
    """What reproduces each batch: scenario hash, seeds, versions, dates."""
    seen, parts = set(), []
    for b in batches:
        path = b.source.split(" [")[0]
        if path in seen:
            continue
        seen.add(path)
        m = b.manifest
        sessions = m.get("sessions") or [{}]
        sweep = m.get("sweep") or {}
        fields = {
            "directory": path,
            "scenario": f"{m.get('scenario_name')} ({m.get('scenario_path')})",
            "scenario hash": m.get("scenario_hash"),
            "batch seed": m.get("seed"),
            "seeding": m.get("seeding"),
            "replicates": m.get("replicates"),
            "runs": m.get("runs"),
            "failed runs (excluded)": m.get("failed_runs", b.failed),
            "sweep": (
                f"{', '.join(sweep['parameters'])} ({len(sweep['points'])} points)"
                if sweep
                else "none"
            ),
            "created": m.get("created"),
            "finished": sessions[-1].get("finished"),
            "status": m.get("status"),
            "versions": ", ".join(f"{k} {v}" for k, v in (m.get("versions") or {}).items()),
            "host": json.dumps(m.get("host"), default=str),
        }
        parts.append(f"<h3>{_e(m.get('scenario_name'))}</h3>" + _json_html(fields))
    return "\n".join(parts)


def render(batches: list[Batch], table: pd.DataFrame, title: str) -> str:
    """The report as one HTML string."""
    # matplotlib loads here, not at import: `sim compare` prints tables without it
    from sim.plots import plot_casualties, plot_escalation_fan, plot_outcomes, plot_weeks_ecdf

    figures = [
        ("fig-outcomes", plot_outcomes(table), "Outcome probabilities with 95% intervals"),
        ("fig-weeks", plot_weeks_ecdf(batches), "Weeks from the election to a government"),
        (
            "fig-escalation",
            plot_escalation_fan(batches),
            "Escalation level by week: median, 50% and 90% bands, mean (ended runs carry "
            "their last level forward)",
        ),
        ("fig-casualties", plot_casualties(batches), "Casualties per run"),
    ]
    images = {fid: _img(fid, figure_data_uri(fig), cap) for fid, fig, cap in figures}
    sections = [
        ("outcomes", "Outcome probabilities", images["fig-outcomes"]),
        ("weeks", "Time to government", images["fig-weeks"]),
        ("escalation", "Escalation", images["fig-escalation"]),
        ("casualties", "Casualties", images["fig-casualties"]),
        ("comparison", "Comparison table", _comparison_intro(table) + comparison_html(table)),
        ("manifests", "Manifests", manifest_html(batches)),
    ]
    dirs = list(dict.fromkeys(Path(b.source.split(" [")[0]) for b in batches))
    for kind, (heading, _) in EXTRA_SECTIONS.items():
        body = "\n".join(extra_section(d, kind, d.name) for d in dirs).strip()
        if body:
            sections.append((kind, heading, body))
    nav = "".join(f'<a href="#{sid}">{_e(name)}</a>' for sid, name, _ in sections)
    body = "\n".join(
        f'<section id="{sid}"><h2>{_e(name)}</h2>\n{content}</section>'
        for sid, name, content in sections
    )
    made = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return (
        f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{_e(title)}</title><style>{STYLE}</style></head><body>\n"
        f"<h1>{_e(title)}</h1><p class='note'>Made {made} by <code>sim report</code>.</p>"
        f"<nav>{nav}</nav>\n{body}\n</body></html>\n"
    )


def _comparison_intro(table: pd.DataFrame) -> str:
    meta = table.attrs
    items = "".join(
        f"<li><b>{_e(b['label'])}</b>: {b['runs']} runs"
        + (f", {b['failed']} failed (excluded)" if b["failed"] else "")
        + f", seed {_e(b['seed'])} &mdash; {_e(p)}</li>"
        for b, p in zip(meta["batches"], meta["pairings"], strict=True)
    )
    name = {"holm": "Holm's", "bh": "Benjamini-Hochberg's"}[meta["correction"]]
    return (
        f"<ul>{items}</ul><p class='note'>Differences are from the first scenario. Highlighted "
        f"rows (*) are significant at {meta['alpha']:g} after {name} correction over "
        f"{meta['tests']} tests. Intervals are 95%. Weeks count from election day, over all "
        "runs; 'never' means no government by the horizon; a difference with one 'never' is "
        "n/a.</p>"
    )


def build_report(
    dirs, out: str | Path, by: str | None = None, title: str | None = None, **options
) -> Path:
    """Compare ``dirs`` and write the HTML report to ``out`` (atomically: nothing is
    written unless every input is good). ``options`` go to ``sim.compare``."""
    if not str(out).lower().endswith((".html", ".htm")):
        raise CompareError(f"--out {out}: the report is an HTML file (name it *.html)")
    # before any work: a place we cannot write fails now, not after the figures
    check_file_writable(out, "--out", CompareError, make_parents=True)
    batches = load_batches(dirs, by=by, series=True)
    table = compare(batches, **options)
    title = title or "Scenario comparison: " + ", ".join(b.label for b in batches)
    return write_atomic(out, render(batches, table, title))
