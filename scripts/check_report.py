"""Check a ``sim report`` HTML file: self-contained, and every figure loads in a browser.

    python scripts/check_report.py results/report.html [--screenshot shot.png]

1. Static: every <img> is an embedded PNG data URI that decodes to a PNG; no scripts,
   style sheets, frames or objects; no src/href pointing outside the file (only #anchors);
   the comparison figures are there.
   Content: every section (the headline, escalation by government type, the outcome
   table...) is there and not empty; the headline names the most likely government (its
   type, its PM kind, the lists most often in it) and the chance of each rung of
   violence; the storylines follow it, a row per path with its share and an example run
   for ``sim explain`` (or a note why a batch has none); Gamson's law comes after the
   outcome table; a one-scenario report is a summary (no comparison
   table, no "over 0 tests"), a several-scenario one a comparison; the sections a reader
   reads name outcomes in words (no run-table column name), rungs by name, "no government"
   apart from "PM without a party"; no interval bound in exponent form (1.1e-19); a sweep
   summary, when there is one, has a row per point and its plot; so has the section on
   Gamson's law (a table and a figure), unless no run formed a government.
2. Browser: headless Chromium opens a *copy* of the report with a small probe script added
   (the report itself has none). After load, the probe writes each image's load state and
   the resources the page fetched into the DOM, which ``--dump-dom`` prints. Every image
   must have decoded (naturalWidth > 0) and nothing may have been fetched.
3. ``--screenshot``: a full-page PNG to look at.

Exit status 0 when every check passes, 1 otherwise, 2 when Chromium is missing.
"""

from __future__ import annotations

import argparse
import base64
import json
import re
import shutil
import subprocess
import sys
import tempfile
from html.parser import HTMLParser
from pathlib import Path

PNG = b"\x89PNG\r\n\x1a\n"
DATA_PNG = "data:image/png;base64,"
FIGURES = ("fig-outcomes", "fig-weeks", "fig-escalation", "fig-casualties", "fig-grievance")
SECTIONS = (
    "headline", "outcomes", "weeks", "escalation", "escalation-by-government", "casualties",
    "manifests",
)  # fmt: skip
#: sections written in words: no run-table column name may show there
WORDED = (
    "headline", "storylines", "escalation-by-government", "comparison", "summary", "sweep",
    "gamson",
)  # fmt: skip
RUNGS = ("0 politics", "1 threats", "2 protests", "3 clashes", "4 targeted attacks",
         "5 armed conflict")  # fmt: skip
EXPONENT_BOUND = re.compile(r"\[[-+]?[\d.]+e[-+]?\d+|[\d.]+e[-+]?\d+\]")
FORBIDDEN_TAGS = {"script", "link", "iframe", "object", "embed", "base"}
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PROBE = """<script>
window.addEventListener('load', function () {
  var imgs = Array.prototype.slice.call(document.images).map(function (img) {
    var fig = img.closest('figure');
    return {id: fig ? fig.id : '', complete: img.complete, width: img.naturalWidth,
            height: img.naturalHeight};
  });
  var fetched = performance.getEntriesByType('resource').map(function (e) { return e.name; });
  var pre = document.createElement('pre');
  pre.id = 'figure-probe';
  pre.textContent = JSON.stringify({images: imgs, fetched: fetched});
  document.body.appendChild(pre);
});
</script>"""


class _Scan(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.problems: list[str] = []
        self.images: list[str] = []  # figure ids of valid images
        self.figure = ""
        self.section = ""
        self.text: dict[str, list[str]] = {}  # visible text by section id
        self.rows: dict[str, int] = {}  # table rows by section id
        self.title: list[str] = []
        self.in_title = False

    def handle_data(self, data):
        if self.in_title:
            self.title.append(data)
        self.text.setdefault(self.section, []).append(data)

    def handle_endtag(self, tag):
        if tag == "title":
            self.in_title = False
        if tag == "section":
            self.section = ""

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "title":
            self.in_title = True
        if tag == "section":
            self.section = a.get("id", "")
        if tag == "tr":
            self.rows[self.section] = self.rows.get(self.section, 0) + 1
        if tag in FORBIDDEN_TAGS:
            self.problems.append(f"<{tag}> element (the report must hold no {tag})")
        if tag == "figure":
            self.figure = a.get("id", "")
        for name in ("src", "href", "srcset", "poster", "action", "data"):
            value = (a.get(name) or "").strip()
            if value and not (value.startswith("#") or (tag == "img" and name == "src")):
                self.problems.append(f"<{tag} {name}={value[:60]!r}>: points outside the file")
        if tag == "img":
            src = a.get("src") or ""
            if not src.startswith(DATA_PNG):
                self.problems.append(f"<img src={src[:60]!r}>: not an embedded PNG data URI")
            elif not base64.b64decode(src[len(DATA_PNG) :], validate=True).startswith(PNG):
                self.problems.append(f"image in {self.figure or '?'}: data is not a PNG")
            else:
                self.images.append(self.figure)


def static_check(text: str) -> tuple[list[str], list[str]]:
    """(problems, figure ids of the valid embedded images)."""
    scan = _Scan()
    scan.feed(text)
    problems = list(scan.problems)
    if re.search(r"url\(\s*['\"]?(?!data:)", text) or "@import" in text:
        problems.append("style sheet refers to an outside resource (url()/@import)")
    problems += [f"figure {f} missing" for f in FIGURES if f not in scan.images]
    return problems + content_check(scan), scan.images


def _column_names() -> set[str]:
    """The run table's outcome columns (the registry), or a fixed list without sim."""
    try:
        from sim.engine.outcomes import OUTCOMES
    except ImportError:
        return {"government_type", "max_escalation", "pm_faction", "pm_kind", "pmf_status"}
    return {o.name for o in OUTCOMES if "{}" not in o.name}


def _storylines_check(text: dict[str, str], scan: _Scan) -> list[str]:
    """The storylines: right after the headline, a row per path with its share and a run
    that sim explain opens (or a note saying why a batch has none)."""
    story = text.get("storylines", "")
    order = list(scan.text)
    if "storylines" not in order:
        return ["section storylines missing"]
    problems = []
    if order.index("storylines") != order.index("headline") + 1:
        problems.append("the storylines do not follow the headline")
    paths = scan.rows.get("storylines", 0) - story.count("what happens")  # less the heads
    if paths < 1:
        if "no storylines" not in story:
            problems.append("the storylines section has neither paths nor a note why not")
        return problems
    shares = [float(x) for x in re.findall(r"(?<![\d.])(0\.\d\d|1\.00)(?![\d])", story)]
    if not shares:
        problems.append("the storylines give no share per path")
    if len(re.findall(r"sim explain \S+ \d+", story)) < paths:
        problems.append("a storyline without an example run for sim explain")
    return problems


def content_check(scan: _Scan) -> list[str]:
    """The report's sections and wording (see the module's docstring)."""
    text = {k: " ".join(v) for k, v in scan.text.items()}
    title = "".join(scan.title)
    problems = [f"section {s} missing or empty" for s in SECTIONS if not text.get(s, "").strip()]
    one = title.startswith("Scenario summary")
    if one:
        if "comparison" in text or "summary" not in text:
            problems.append("a one-scenario report must show an outcome table, not a comparison")
        if "over 0 tests" in " ".join(text.values()):
            problems.append("a one-scenario report speaks of tests ('over 0 tests')")
    elif not title.startswith("Scenario comparison"):
        problems.append(f"title {title!r}: neither 'Scenario summary' nor 'Scenario comparison'")
    elif "comparison" not in text:
        problems.append("a comparison report without its comparison table")
    headline = re.sub(r"\s+", " ", text.get("headline", ""))
    if not re.search(r"most likely (a \w+ government under|no government)", headline):
        problems.append("the headline does not name the most likely government and its PM")
    elif not re.search(
        r"most likely no government|lists most often in it|keeps no coalit", headline
    ):
        problems.append("the headline does not name the lists most often in the government")
    if "Highest rung of violence:" not in headline or not any(r in headline for r in RUNGS):
        problems.append("the headline does not give the chance of each rung of violence")
    problems += _storylines_check(text, scan)
    order = list(scan.text)
    table = "summary" if one else "comparison"
    if "gamson" in order and table in order and order.index("gamson") < order.index(table):
        problems.append("Gamson's law comes before the outcome table: it belongs further down")
    if not one and "significant" not in text.get("headline", ""):
        problems.append("the headline of a comparison does not say what differs significantly")
    crosstab = text.get("escalation-by-government", "")
    if not all(r in crosstab for r in RUNGS) or scan.rows.get("escalation-by-government", 0) < 2:
        problems.append("escalation by government type: no cross-table with the named rungs")
    names = _column_names()
    for section in WORDED:
        words = set(re.findall(r"[a-z_]+", text.get(section, "")))
        raw = sorted(n for n in names & words if "_" in n)
        if raw:
            problems.append(f"section {section} shows column names: {', '.join(raw)}")
    everything = " ".join(text.values())
    if "(no party)" in everything:
        problems.append("'(no party)' mixes no government with a PM without a party")
    bad = EXPONENT_BOUND.findall(everything)
    if bad:
        problems.append(f"interval bounds in exponent form: {', '.join(bad[:3])}")
    if "live" not in text.get("escalation", ""):
        problems.append("the fan chart does not say how many runs are live")
    if "gamson" in text:  # only batches whose run table records cabinet and seat shares
        if scan.rows.get("gamson", 0) < 2 and "no government formed" not in text["gamson"]:
            problems.append("Gamson's law: neither a table per list nor 'no government formed'")
        if scan.rows.get("gamson", 0) >= 2 and not any(
            f.startswith("fig-gamson-") for f in scan.images
        ):
            problems.append("Gamson's law: a table without its figure")
    if "sweep" in text:
        if scan.rows.get("sweep", 0) < 2:
            problems.append("the sweep summary has no row per point")
        if not any(f.startswith("fig-sweep-") for f in scan.images):
            problems.append("the sweep summary has no plot")
    return problems


def browser_check(report: Path, chromium: str, screenshot: Path | None) -> list[str]:
    """Open a probed copy of the report in headless Chromium; return the problems."""
    text = report.read_text(encoding="utf-8")
    with tempfile.TemporaryDirectory() as tmp:
        probed = Path(tmp) / "probed.html"
        probed.write_text(text.replace("</body>", PROBE + "</body>"), encoding="utf-8")
        profile = Path(tmp) / "profile"
        cmd = [chromium, *FLAGS, f"--user-data-dir={profile}", "--virtual-time-budget=10000"]
        done = subprocess.run(
            [*cmd, "--dump-dom", probed.as_uri()], capture_output=True, text=True, timeout=120
        )
        if screenshot is not None:
            shot = [*cmd, f"--screenshot={screenshot.resolve()}", "--window-size=1200,5000"]
            subprocess.run([*shot, report.resolve().as_uri()], capture_output=True, timeout=120)
    match = re.search(r'<pre id="figure-probe">(.*?)</pre>', done.stdout, re.S)
    if not match:
        return [f"the probe did not report (chromium exit {done.returncode}): {done.stderr[-300:]}"]
    probe = json.loads(match.group(1).replace("&quot;", '"').replace("&amp;", "&"))
    problems = [
        f"image in {img['id'] or '?'} did not load"
        for img in probe["images"]
        if not (img["complete"] and img["width"] > 0 and img["height"] > 0)
    ]
    problems += [f"the page fetched {url}" for url in probe["fetched"]]
    loaded = {img["id"] for img in probe["images"] if img["width"] > 0}
    problems += [f"figure {f} not rendered" for f in FIGURES if f not in loaded]
    print(f"browser: {len(probe['images'])} images, {len(loaded)} figures loaded, "
          f"{len(probe['fetched'])} fetches")  # fmt: skip
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("report", type=Path)
    parser.add_argument("--screenshot", type=Path, default=None)
    parser.add_argument("--chromium", default=shutil.which("chromium") or "/usr/bin/chromium")
    args = parser.parse_args(argv)
    if not args.report.is_file():
        print(f"error: {args.report}: no such file", file=sys.stderr)
        return 2
    problems, images = static_check(args.report.read_text(encoding="utf-8"))
    print(f"static and content: {len(images)} embedded PNG images, {len(problems)} problems")
    if not Path(args.chromium).is_file():
        print(f"error: {args.chromium}: chromium not found (apt-get install chromium)")
        return 2
    problems += browser_check(args.report, args.chromium, args.screenshot)
    for problem in problems:
        print(f"FAIL: {problem}")
    if args.screenshot:
        print(f"screenshot: {args.screenshot}")
    print(
        "ok: self-contained, every section and figure there"
        if not problems
        else "report check failed"
    )
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
