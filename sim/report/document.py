"""Reports of a comparison: the table on the terminal and as CSV, and ``sim report``, one
self-contained HTML file comparing batches.

Everything is inside the file: figures are PNG data URIs, the style sheet is inline, and
there are no scripts and no links to anything outside it (only #anchors between its own
sections), so it opens offline, mails as one attachment and archives with its results.
Sections: outcome probabilities, time to government, escalation fan charts, casualties,
the comparison table, cabinet shares against seat shares (Gamson's law, ``sim.gamson``),
each batch's manifest, and -- when a batch directory holds them --
its sensitivity analysis (``sensitivity/``) and scenario discovery (``discovery/``).
"""

from __future__ import annotations

import base64
import io
import json
import stat
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from sim.analysis.compare import (
    TABLE_COLUMNS,
    Batch,
    CompareError,
    compare,
    events_fired,
    load_batches,
)  # fmt: skip
from sim.analysis.labels import estimate_text, row_title
from sim.analysis.safe_text import csv_safe
from sim.batch.outputs import check_file_writable, write_atomic
from sim.report.html_blocks import esc as _e
from sim.report.html_blocks import figure_data_uri, html_table, img, json_html, slug
from sim.report.sections import (
    CORRECTION_NAMES,
    compared,
    escalation_by_government_html,
    headline_html,
    outcome_table_html,
    storylines_html,
    sweep_html,
    table_intro,
)

#: CSV files of the sensitivity/discovery output that are inputs, not findings
SKIPPED_CSV = {"points.csv": "the design points (in the file, not shown)"}
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
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
table.storylines td{white-space:normal;vertical-align:top}
.note{color:#555;font-size:.9em}nav a{margin-right:1em}code{font-size:.95em}
"""


# --------------------------------------------------------------------------- terminal and CSV
def _p(p: float) -> str:
    return "" if pd.isna(p) else ("<1e-4" if p < 1e-4 else f"{p:.2g}")


def format_table(table: pd.DataFrame) -> str:
    """The comparison as text: the batches, how each pairs with the first, then the rows,
    each titled in words ("Highest rung: 4 targeted attacks")."""
    meta = table.attrs
    info = meta.get("batches", [])
    several = compared(table)
    width = max([len(b["label"]) for b in info] + [8]) + 2
    lines = [
        f"Comparison of {len(info)} scenarios; differences are from {info[0]['label']}"
        if several
        else f"Summary of {info[0]['label']}"
    ]
    for b, pairing in zip(info, meta.get("pairings", []), strict=False):
        failed = f", {b['failed']} failed (excluded)" if b["failed"] else ""
        lines.append(
            f"  {b['label']:<{width}}{b['runs']} runs{failed}, seed {b['seed']}, "
            f"scenario {b['scenario_hash'][:12]}, {b['source']}"
            + (f" -- {pairing}" if several else "")
        )
    lines.append("")
    head = f"  {'scenario':<{width}}{'n':>6}  {'estimate [95% CI]':<26}"
    lines.append(
        head + (f"{'difference [95% CI]':<30}{'p':>7}{'p adj':>8}   test" if several else "")
    )
    for (outcome, value, statistic), rows in table.groupby(
        ["outcome", "value", "statistic"], sort=False
    ):
        lines.append(row_title(outcome, value, statistic, meta.get("labels")))
        for r in rows.itertuples():
            o, s = outcome, statistic
            est = f"{estimate_text(r.estimate, o, s)} [{estimate_text(r.ci_low, o, s)}, "
            est += f"{estimate_text(r.ci_high, o, s)}]"
            diff = ""
            if not pd.isna(r.diff):
                low, high = (estimate_text(v, o, s, True) for v in (r.diff_low, r.diff_high))
                diff = f"{estimate_text(r.diff, o, s, True)} [{low}, {high}]"
            flag = " *" if r.significant else "  "
            tail = f"{diff:<30}{_p(r.p_value):>7}{_p(r.p_adjusted):>8}{flag} {r.test}"
            lines.append(f"  {r.scenario:<{width}}{r.n:>6}  {est:<26}" + (tail if several else ""))
    footer = (
        "Intervals are 95% (Wilson for probabilities, bootstrap otherwise). Weeks to "
        "government count from election day over all runs; 'never' = no government by the "
        "horizon."
    )
    if several:
        name = CORRECTION_NAMES[meta.get("correction", "holm")]
        footer = (
            f"* significant at {meta.get('alpha', 0.05):g} after {name} correction over "
            f"{meta.get('tests', 0)} tests. Intervals are 95% (Wilson/Newcombe for "
            "probabilities, bootstrap otherwise). Weeks to government count from election day "
            "over all runs; 'never' = no government by the horizon; a difference with one "
            "'never' is n/a, with two 0."
        )
    lines.append(footer)
    return "\n".join(line.rstrip() for line in lines)


def write_csv(table: pd.DataFrame, path: str | Path) -> Path:
    """The table as CSV, columns as documented (TABLE_COLUMNS); text cells that a
    spreadsheet would run as formulas (a scenario named "=...") get a leading '."""
    return write_atomic(path, csv_safe(table[TABLE_COLUMNS]).to_csv(index=False), CompareError)


# --------------------------------------------------------------------------- HTML
def extra_section(directory: Path, kind: str, label: str) -> str:
    """A batch's sensitivity or discovery output, if it has any (another command writes
    it): the summary, its CSV tables and its picture. Unreadable files are noted.
    Discovery keeps one folder per outcome (``discovery/<outcome>/``); each is shown."""
    folder = directory / kind
    if not folder.is_dir():
        return ""
    folders = [folder]
    if kind == "discovery":  # one folder per outcome; an older batch's files sit in folder
        folders += sorted(f for f in folder.iterdir() if f.is_dir() and not f.name.startswith("."))
    shown = [_output_folder(f, kind, label) for f in folders]
    return "\n".join(part for part in shown if part)


def _output_folder(folder: Path, kind: str, label: str) -> str:
    title, picture = EXTRA_SECTIONS[kind]
    name = label if folder.name == kind else f"{label}: {folder.name}"
    parts = [f"<h3>{_e(name)} <span class='note'>({_e(folder)})</span></h3>"]
    summary = folder / "summary.json"
    text, note = _analysis_file(summary)
    if note:
        parts.append(f'<p class="note">{note}</p>')
    elif text is not None:
        try:
            content = json.loads(text)
            if isinstance(content, dict):  # a table with a CSV of its own is shown once
                content = {k: v for k, v in content.items() if not (folder / f"{k}.csv").is_file()}
            parts.append(json_html(content))
        except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as exc:
            why = "nested too deeply" if isinstance(exc, RecursionError) else exc
            parts.append(f'<p class="note">summary.json unreadable: {_e(why)}</p>')
    png = folder / picture
    data, note = _analysis_file(png, binary=True)
    if note:
        parts.append(f'<p class="note">{note}</p>')
    elif data is not None:
        if data.startswith(PNG_SIGNATURE):
            uri = "data:image/png;base64," + base64.b64encode(data).decode("ascii")
            parts.append(img(f"fig-{kind}-{slug(name)}", uri, f"{title}: {name}"))
        else:
            parts.append(f'<p class="note">{_e(picture)} is not a PNG image; left out</p>')
    for csv in sorted(folder.glob("*.csv")):
        if csv.name in SKIPPED_CSV:
            parts.append(f'<p class="note">{_e(csv.name)}: {SKIPPED_CSV[csv.name]}</p>')
            continue
        text, note = _analysis_file(csv)
        if note or text is None:
            parts.append(f'<p class="note">{note}</p>')
            continue
        try:
            frame = pd.read_csv(io.StringIO(text))
        except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
            parts.append(f'<p class="note">{_e(csv.name)} unreadable: {_e(exc)}</p>')
            continue
        parts.append(f"<h4>{_e(csv.stem)}</h4>" + html_table(frame))
    return "\n".join(parts) if len(parts) > 1 else ""


#: The largest file of an analysis folder a report reads: the files sim writes there are
#: kilobytes (a picture about 100 kB); a larger one is not sim's.
MAX_ANALYSIS_FILE = 16 * 2**20


def _analysis_file(path: Path, binary: bool = False) -> tuple[Any, str]:
    """A file of an analysis folder, read only if it is a regular file of sane size:
    (content, "") or (None, a note saying why it is left out); (None, "") if absent.
    A folder under a file's name, a FIFO (which would block the report) or a device is
    left out with a note, never opened."""
    try:
        info = path.stat()
    except FileNotFoundError:
        return None, ""
    except OSError as exc:
        return None, f"{_e(path.name)} left out: {_e(exc.strerror or exc)}"
    if not stat.S_ISREG(info.st_mode):
        return None, f"{_e(path.name)} left out: not a regular file"
    if info.st_size > MAX_ANALYSIS_FILE:
        return None, f"{_e(path.name)} left out: larger than {MAX_ANALYSIS_FILE // 2**20} MiB"
    try:
        data = path.read_bytes()
        return (data if binary else data.decode("utf-8")), ""
    except UnicodeDecodeError:
        return None, f"{_e(path.name)} unreadable: not UTF-8 text"
    except OSError as exc:
        return None, f"{_e(path.name)} left out: {_e(exc.strerror or exc)}"


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
        parts.append(f"<h3>{_e(m.get('scenario_name'))}</h3>" + json_html(fields))
    return "\n".join(parts)


def parameter_html(batches: list[Batch]) -> str:
    """Each batch with parameter draws: the spread over parameters, apart from chance (the
    outcome table's intervals are over runs, which share draws: see the text)."""
    from sim.analysis.spread import batch_spread

    parts = []
    for b in batches:
        found = batch_spread(b.manifest, b.runs)
        if found is not None:
            intro, frame = found
            parts.append(f"<h3>{_e(b.label)}</h3><p class='note'>{_e(intro)}</p>"
                         + html_table(frame))  # fmt: skip
    return "\n".join(parts)


def render(batches: list[Batch], table: pd.DataFrame, title: str) -> str:
    """The report as one HTML string: a summary of one scenario, or a comparison."""
    # matplotlib loads here, not at import: `sim compare` prints tables without it
    from sim.report.gamson import TITLE as GAMSON_TITLE
    from sim.report.gamson import gamson_html
    from sim.report.plots import (
        plot_casualties,
        plot_escalation_fan,
        plot_grievance_fan,
        plot_outcomes,
        plot_weeks_ecdf,
    )

    live = "statistics of a week are over the runs still live that week (an ended run is not "
    live += "carried forward); the grey strip under each chart counts them"
    figures = [
        ("fig-outcomes", plot_outcomes(table), "Outcome probabilities with 95% intervals"),
        ("fig-weeks", plot_weeks_ecdf(batches), "Weeks from the election to a government"),
        (
            "fig-escalation",
            plot_escalation_fan(batches),
            f"Highest rung by week: median, 50% and 90% bands, mean; {live}",
        ),
        ("fig-casualties", plot_casualties(batches), "Casualties per run"),
    ]
    if all("grievance_by_week" in b.runs for b in batches):
        caption = f"Mean grievance by week (seat-weighted): median, bands, mean; {live}"
        figures.append(("fig-grievance", plot_grievance_fan(batches), caption))
    images = {fid: img(fid, figure_data_uri(fig), cap) for fid, fig, cap in figures}
    several = compared(table)
    sections = [
        ("headline", "In short", headline_html(table, batches)),
        ("storylines", "Storylines", storylines_html(batches)),
        ("outcomes", "Outcome probabilities", images["fig-outcomes"]),
        ("weeks", "Time to government", images["fig-weeks"]),
        ("escalation", "Escalation", images["fig-escalation"] + images.get("fig-grievance", "")),
        (
            "escalation-by-government",
            "Escalation by government type",
            escalation_by_government_html(batches),
        ),
        ("casualties", "Casualties", images["fig-casualties"]),
        (
            "comparison" if several else "summary",
            "Comparison table" if several else "Outcome table",
            table_intro(table) + outcome_table_html(table),
        ),
    ]
    fired = events_fired(batches)
    if not fired.empty:
        shown = fired.assign(
            fired=[f"{f:.3f} [{lo:.3f}, {hi:.3f}]" for f, lo, hi in
                   zip(fired.fired, fired.low, fired.high, strict=True)],
        ).drop(columns=["low", "high"])  # fmt: skip
        intro = (
            "<p>Each scenario event ([events.NAME] in the scenario): the share of runs it "
            "fired in, with its 95% interval, and the median week it first fired.</p>"
        )
        sections.append(("events", "Scenario events", intro + html_table(shown)))
    drawn = parameter_html(batches)
    if drawn:
        sections.append(("parameters", "Uncertainty over the parameters", drawn))
    sweeps = sweep_html(batches)
    if sweeps:
        sections.append(("sweep", "Sweep summary", sweeps))
    # Gamson's law is a check on the cabinet shares, not what happens: further down
    gamson = gamson_html(batches)  # only batches whose run table records the shares
    if gamson:
        sections.append(("gamson", GAMSON_TITLE, gamson))
    sections.append(("manifests", "Manifests", manifest_html(batches)))
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


def build_report(
    dirs, out: str | Path, by: str | None = None, title: str | None = None, **options
) -> Path:
    """Compare ``dirs`` and write the HTML report to ``out`` (atomically: nothing is
    written unless every input is good). ``options`` go to ``sim.compare``. One batch
    (and no ``by``) makes a summary of that scenario, not a comparison."""
    if not str(out).lower().endswith((".html", ".htm")):
        raise CompareError(f"--out {out}: the report is an HTML file (name it *.html)")
    # before any work: a place we cannot write fails now, not after the figures
    check_file_writable(out, "--out", CompareError, make_parents=True)
    batches = load_batches(dirs, by=by, series=True, shares=True)
    table = compare(batches, **options)
    names = ", ".join(b.label for b in batches)
    title = title or (
        f"Scenario comparison: {names}" if len(batches) > 1 else f"Scenario summary: {names}"
    )
    return write_atomic(out, render(batches, table, title), CompareError)
