"""sim report: one self-contained HTML file (embedded PNGs, nothing external), every figure
present, sensitivity and discovery sections when their files exist, and -- where Chromium is
installed -- every figure actually loads in a headless browser."""

from __future__ import annotations

import base64
import csv
import io
import json
import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from matplotlib.figure import Figure
from matplotlib.text import Text

import sim
import sim.report.document as report_module
from sim.cli.main import main

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = Path("/usr/bin/chromium")
FIGURES = {"fig-outcomes", "fig-weeks", "fig-escalation", "fig-casualties", "fig-grievance"}
PNG = b"\x89PNG\r\n\x1a\n"


def runs(n: int, draw_seed: int, p_majority: float = 0.3) -> pd.DataFrame:
    """A small run table with the columns the report reads."""
    rng = np.random.default_rng(draw_seed)
    formed = rng.random(n) < 0.8
    majority = rng.random(n) < p_majority
    weeks = 20 + rng.poisson(10, n)
    lengths = 30 + rng.integers(0, 40, n)
    return pd.DataFrame(
        {
            "run_id": np.arange(n),
            "seed": 1000 + np.arange(n),
            "formed": formed,
            "weeks_to_government": pd.Series(weeks, dtype="Int64").where(formed),
            "government_type": np.where(
                ~formed, "none", np.where(majority, "majority", "consensus")
            ),
            "pm_kind": np.where(~formed, "none", "formateur"),
            "pm_faction": np.where(formed, "sadrists", None),
            "blocking_third": rng.random(n) < 0.2,
            "incumbent_survived": rng.random(n) < 0.9,
            "max_escalation": rng.integers(1, 5, n),
            "casualties": rng.poisson(rng.exponential(5.0, n)),
            "pmf_status": "intact",
            "escalation_by_week": [list(rng.integers(0, 5, length)) for length in lengths],
            "grievance_by_week": [list(rng.uniform(0, 0.4, length)) for length in lengths],
            "error": None,
        }
    )


def batch_dir(path: Path, frame: pd.DataFrame, name: str) -> Path:
    (path / "runs").mkdir(parents=True)
    table = pa.Table.from_pandas(frame.astype({"error": "object"}), preserve_index=False)
    # a part's name says its runs (a misnamed part is refused: issue 20)
    pq.write_table(table, path / "runs" / f"part-000000000-{len(frame) - 1:09d}.parquet")
    manifest = {
        "scenario_name": name,
        "scenario_path": f"scenarios/{name}.toml",
        "scenario_hash": "ab" * 32,
        "scenario": {"clock": {"start_week": 4, "horizon_weeks": 78, "follow_up_weeks": 12}},
        "seed": 11,
        "replicates": len(frame),
        "runs": len(frame),
        "sweep": None,
        "versions": {"python": "3.11", "sim": "0.1.0"},
        "created": "2021-11-07T00:00:00+00:00",
        "sessions": [{"finished": "2021-11-07T00:01:00+00:00"}],
        "status": "complete",
    }
    (path / "manifest.json").write_text(json.dumps(manifest))
    return path


@pytest.fixture(scope="module")
def two_batches(tmp_path_factory) -> list[Path]:
    root = tmp_path_factory.mktemp("batches")
    return [
        batch_dir(root / "base", runs(120, 1), "baseline"),
        batch_dir(root / "variant", runs(120, 2, p_majority=0.6), "variant"),
    ]


@pytest.fixture(scope="module")
def report(two_batches, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("report") / "report.html"
    assert main(["report", *map(str, two_batches), "--out", str(out)]) == 0
    return out


class Scan(HTMLParser):
    """Every tag with its attributes, and the figure each <img> sits in."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict]] = []
        self.images: list[tuple[str, str]] = []  # (figure id, src)
        self.figure = ""

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.tags.append((tag, a))
        if tag == "figure":
            self.figure = a.get("id", "")
        if tag == "img":
            self.images.append((self.figure, a.get("src", "")))


def scan(path: Path) -> Scan:
    s = Scan()
    s.feed(path.read_text(encoding="utf-8"))
    return s


def assert_self_contained(s: Scan, text: str) -> None:
    for tag, attrs in s.tags:
        assert tag not in {"script", "link", "iframe", "object", "embed", "base"}, tag
        for name in ("href", "src", "srcset", "action", "poster"):
            value = attrs.get(name)
            if value is None:
                continue
            assert value.startswith("#") or (tag == "img" and value.startswith("data:")), value
    assert "http://" not in text and "https://" not in text
    assert "@import" not in text and "url(" not in text
    for figure, src in s.images:
        prefix = "data:image/png;base64,"
        assert src.startswith(prefix), figure
        assert base64.b64decode(src[len(prefix) :], validate=True).startswith(PNG), figure


def test_report_is_self_contained_with_every_figure(report, two_batches):
    text = report.read_text(encoding="utf-8")
    s = scan(report)
    assert_self_contained(s, text)
    assert {fig for fig, _ in s.images} == FIGURES
    ids = {a.get("id") for _, a in s.tags}
    assert {"outcomes", "weeks", "escalation", "casualties", "comparison", "manifests"} <= ids
    assert {"headline", "escalation-by-government"} <= ids
    assert "sensitivity" not in ids and "discovery" not in ids  # no such files here
    assert "sweep" not in ids  # neither batch is a sweep
    assert "ab" * 32 in text and "python 3.11" in text  # the manifests: hash and versions
    assert "Government type" in text and "McNemar exact (paired)" in text  # the table
    assert "<title>Scenario comparison: baseline, variant</title>" in text
    # outcomes by their labels and rungs by their names, never a column name
    for raw in ("government_type", "max_escalation", "pm_faction", "blocking_third"):
        assert raw not in text, raw
    assert "4 targeted attacks" in text and "(no government)" in text
    assert "(no party)" not in text


@pytest.mark.slow  # a second report, about 1.3 s
def test_report_includes_sensitivity_and_discovery_when_present(tmp_path, two_batches):
    first = tmp_path / "base"
    batch_dir(first, runs(60, 3), "baseline")
    png = io.BytesIO()
    fig = Figure(figsize=(2, 1))
    fig.subplots().plot([0, 1], [1, 0])
    fig.savefig(png, format="png")
    sens, disc = first / "sensitivity", first / "discovery"
    sens.mkdir()
    disc.mkdir()
    (sens / "summary.json").write_text(
        json.dumps({"method": "morris", "outcomes": {"casualties": {"top": [{"parameter": "a"}]}}})
    )
    pd.DataFrame(
        {"parameter": ["escalation.slope", "patrons.iran.restraint"], "mu_star": [0.4, 0.1]}
    ).to_csv(sens / "max_escalation.csv", index=False)
    pd.DataFrame({"x": range(100)}).to_csv(sens / "points.csv", index=False)
    (sens / "sensitivity.png").write_bytes(png.getvalue())
    for outcome in ("max_escalation >= 4", "not formed"):  # a folder per outcome
        folder = disc / outcome.replace(" >= ", "_ge_").replace(" ", "_")
        folder.mkdir()
        (folder / "summary.json").write_text(json.dumps({"outcome": outcome, "coverage": 0.7}))
        pd.DataFrame({"parameter": ["grievance.decay"], "low": [0.01], "high": [0.03]}).to_csv(
            folder / "box.csv", index=False
        )
        pd.DataFrame({"step": range(40), "coverage": np.linspace(1, 0.2, 40)}).to_csv(
            folder / "trajectory.csv", index=False
        )
        (folder / "discovery.png").write_bytes(png.getvalue())
    out = tmp_path / "with_extras.html"
    assert main(["report", str(first), str(two_batches[1]), "--out", str(out)]) == 0
    text = out.read_text(encoding="utf-8")
    s = scan(out)
    assert_self_contained(s, text)
    ids = {a.get("id") for _, a in s.tags}
    assert {"sensitivity", "discovery"} <= ids
    assert {fig for fig, _ in s.images} == FIGURES | {
        "fig-sensitivity-base",
        "fig-discovery-base--max-escalation-ge-4",
        "fig-discovery-base--not-formed",
    }
    for shown in (
        "escalation.slope",
        "mu_star",
        "morris",
        "grievance.decay",
        "max_escalation &gt;= 4",
        "not formed",
    ):
        assert shown in text, shown
    assert "first 10 of 40 rows" in text  # long CSVs are cut, and say so
    assert "points.csv: the design points" in text


def test_plotting_api_returns_figures(two_batches):
    table = sim.compare(*two_batches)
    figures = [
        sim.plot_outcomes(table),
        sim.plot_weeks_ecdf(*two_batches),
        sim.plot_escalation_fan(*two_batches),
        sim.plot_casualties(*two_batches),
    ]
    assert all(isinstance(f, Figure) for f in figures)
    fans = [ax for ax in figures[2].axes if ax.get_visible() and ax.get_title()]
    assert [ax.get_title() for ax in fans] == ["baseline", "variant"]  # a fan per scenario


def test_fan_chart_counts_only_live_runs(tmp_path):
    """An ended run is not carried forward: after its final week it is missing, and each
    week's statistics and live count are over the runs still going."""
    from sim.report.plots import escalation_matrix, series_matrix

    frame = runs(3, 1).assign(
        escalation_by_week=[[1, 2, 4], [1, 1], [0, 3, 3, 5]],
        grievance_by_week=[[0.1, 0.2, 0.3], [0.1, 0.1], [0.0, 0.2, 0.2, 0.4]],
    )
    batch = sim.load_batches([batch_dir(tmp_path / "b", frame, "b")], series=True)[0]
    weeks, levels, live = escalation_matrix(batch)
    assert weeks.tolist() == [4, 5, 6, 7]  # week 0 of the series is the start week
    np.testing.assert_array_equal(levels, [[1, 2, 4, np.nan], [1, 1, np.nan, np.nan], [0, 3, 3, 5]])
    assert live.tolist() == [3, 3, 2, 1]
    assert np.nanmean(levels, axis=0).tolist() == [2 / 3, 2.0, 3.5, 5.0]
    _, grievance, live = series_matrix(batch, "grievance_by_week")
    assert np.isnan(grievance[1, 2:]).all() and live.tolist() == [3, 3, 2, 1]


def test_fan_chart_shows_the_live_runs_under_each_fan(two_batches):
    fig = sim.plot_escalation_fan(*two_batches)
    visible = [ax for ax in fig.axes if ax.get_visible()]
    assert len(visible) == 4  # a fan and its live-run strip per scenario
    strips = [ax for ax in visible if ax.get_ylabel() == "runs live"]
    assert len(strips) == 2 and all(ax.get_ylim()[1] == 120 for ax in strips)
    ticks = [t.get_text() for t in visible[0].get_yticklabels()]
    assert ticks == ["0 politics", "1 threats", "2 protests", "3 clashes",
                     "4 targeted attacks", "5 armed conflict"]  # fmt: skip


def test_headline_says_what_happens_and_the_largest_differences(report, two_batches):
    """The likeliest government (type and PM kind, with its share of runs), each rung's
    chance, then the largest significant differences; not the three largest shares."""
    from sim.analysis.labels import number, rung

    text = report.read_text(encoding="utf-8")
    headline = text.split('<div class="headline">')[1].split("</div>")[0]
    base = sim.load_results(two_batches[0])
    combos = (base["government_type"] + " " + base["pm_kind"]).value_counts()
    government, kind = combos.index[0].split()
    share = number(combos.iloc[0] / len(base))
    pm = {"formateur": "the formateur&#x27;s own nominee", "compromise": "a compromise PM"}
    assert f"most likely a <b>{government} government under {pm[kind]}</b>, {share}" in headline
    table = sim.compare(*two_batches)
    rungs = table[(table["outcome"] == "max_escalation") & (table["scenario"] == "baseline")]
    said = headline.split("Highest rung of violence:")[1]
    positions = []
    for r in rungs[rungs["estimate"] > 0].itertuples():
        positions.append(said.index(f"{rung(int(r.value))} {number(r.estimate)}"))
    assert len(positions) >= 3 and positions == sorted(positions)  # each rung, in order
    assert "Most likely in" not in headline  # the old trivia line is gone
    # the variant's majority share was planted at 0.6 against 0.3: the largest difference
    assert "Largest significant differences" in headline
    assert headline.index("Government type: majority</b> in variant") < headline.index(
        "Government type: consensus</b> in variant"
    )


@pytest.mark.slow  # a report, about 1.3 s
def test_one_scenario_report_is_a_summary_with_escalation_by_government(tmp_path):
    from sim.engine.outcomes import wilson_interval
    from sim.report.sections import escalation_by_government

    frame = runs(100, 9)
    frame["formed"] = True
    frame["government_type"] = ["majority"] * 40 + ["consensus"] * 60
    frame["max_escalation"] = [4] * 30 + [5] * 10 + [2] * 50 + [3] * 10
    d = batch_dir(tmp_path / "b", frame, "b")
    batch = sim.load_batches([d], series=True)[0]
    table = escalation_by_government(batch).set_index(["row", "column"])
    assert table.loc[("majority", 4), "share"] == 0.75
    assert table.loc[("majority", "4+"), "share"] == 1.0
    assert table.loc[("consensus", "4+"), "count"] == 0
    assert table.loc[("consensus", 2), ["low", "high"]].tolist() == list(wilson_interval(50, 60))
    assert set(table.index.get_level_values("row")) == {"majority", "consensus"}  # none: no runs
    # a report of this one batch: a summary, with the cross-table
    out = tmp_path / "one.html"
    assert main(["report", str(d), "--out", str(out)]) == 0
    text = out.read_text(encoding="utf-8")
    ids = {a.get("id") for _, a in scan(out).tags}
    assert "<title>Scenario summary: b</title>" in text
    assert "comparison" not in ids and "summary" in ids
    assert "Scenario comparison" not in text and "over 0 tests" not in text
    assert "difference" not in text.lower() and "p adjusted" not in text
    assert not re.search(r"\[[-+\d.]*e-\d", text)  # no interval bound in exponent form
    assert "[0.000, 0.037]" in text  # rung 0 never happens in 100 runs: Wilson's bound
    section = text.split('id="escalation-by-government"')[1].split("</section>")[0]
    assert "4+ (targeted attacks or worse)" in section and "[0.000, 0.060]" in section


@pytest.mark.slow  # a sweep's report with a plot, about 1.3 s
def test_sweep_summary_has_a_row_per_point_and_a_plot(tmp_path):
    key = "patrons.iran.mediation"
    parts = []
    for point, (value, p_majority) in enumerate([(0.2, 0.1), (0.5, 0.5), (0.8, 0.9)]):
        parts.append(runs(60, 20 + point, p_majority).assign(point=point, **{key: value}))
    frame = pd.concat(parts, ignore_index=True).assign(run_id=np.arange(180))
    d = batch_dir(tmp_path / "sweep", frame, "baseline")
    manifest = json.loads((d / "manifest.json").read_text())
    manifest["sweep"] = {"parameters": [key], "points": [{key: v} for v in (0.2, 0.5, 0.8)]}
    (d / "manifest.json").write_text(json.dumps(manifest))
    from sim.report.sweep_summary import point_table

    table = point_table(frame, [key])
    majority = table[table["statistic"] == "p_majority"].set_index("point")
    for point, part in enumerate(parts):
        expected = (part["government_type"] == "majority").mean()
        assert majority.loc[point, "estimate"] == pytest.approx(expected)
        assert majority.loc[point, key] == [0.2, 0.5, 0.8][point]
    assert majority["estimate"].is_monotonic_increasing
    out = tmp_path / "sweep.html"
    assert main(["report", str(d), "--out", str(out)]) == 0
    text = out.read_text(encoding="utf-8")
    section = text.split('<section id="sweep">')[1].split("</section>")[0]
    assert f'<th class="l">{key}</th>' in section  # a column per swept parameter
    for value in ("0.2", "0.5", "0.8"):  # one row per point, with its value
        assert f"<td>{value}</td>" in section
    assert "P(majority government)" in section
    assert {fig for fig, _ in scan(out).images} >= {"fig-sweep-baseline"}


@pytest.mark.parametrize(
    "args, message",
    [
        (["{tmp}/nowhere", "--out", "{tmp}/r.html"], "{tmp}/nowhere: no such batch directory"),
        (["{base}", "--out", "{tmp}/r.pdf"], "the report is an HTML file"),
        (["{base}", "--by", "x", "--out", "{tmp}/r.html"], "--by x: not a swept parameter"),
    ],
)
def test_report_bad_input_is_one_line_exit_2_and_writes_nothing(
    tmp_path, capsys, two_batches, args, message
):
    fill = {"tmp": tmp_path, "base": two_batches[0]}
    assert main(["report", *(a.format(**fill) for a in args)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert message.format(**fill) in err
    assert list(tmp_path.iterdir()) == []


@pytest.mark.skipif(
    not CHROMIUM.is_file(), reason="Chromium not installed (apt-get install chromium)"
)
@pytest.mark.slow  # a browser
def test_every_figure_loads_in_headless_chromium(report, tmp_path):
    shot = tmp_path / "shot.png"
    done = subprocess.run(
        [
            sys.executable,
            str(ROOT / "scripts" / "check_report.py"),
            str(report),
            "--screenshot",
            str(shot),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "browser: 5 images, 5 figures loaded, 0 fetches" in done.stdout
    assert shot.read_bytes().startswith(PNG)


# --------------------------------------------------------------------------- names as plain text
HOSTILE = '=HYPERLINK("http://evil.example","click")'
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def is_number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


def test_csv_text_cells_cannot_run_as_formulas_and_numbers_stay_numbers(tmp_path, capsys):
    frame = runs(80, 5)
    frame["pm_faction"] = np.where(frame["formed"], "@sum(A1)", None)  # a faction's name
    a = batch_dir(tmp_path / "a", runs(80, 4), HOSTILE)
    b = batch_dir(tmp_path / "b", frame, "-cmd|' /C calc'!A0")
    out = tmp_path / "table.csv"
    assert main(["compare", str(a), str(b), "--csv", str(out)]) == 0
    with out.open(newline="", encoding="utf-8") as fh:
        cells = [cell for row in csv.reader(fh) for cell in row]
    text_cells = [c for c in cells if not is_number(c)]
    assert HOSTILE not in text_cells and "'" + HOSTILE in text_cells
    assert not [c for c in text_cells if c.startswith(FORMULA_STARTS)]
    table = pd.read_csv(out)
    assert set(table["scenario"]) == {"'" + HOSTILE, "'-cmd|' /C calc'!A0"}
    assert "'@sum(A1)" in set(table["value"])
    for column in ("n", "estimate", "ci_low", "p_value"):  # numbers are not text cells
        assert pd.api.types.is_numeric_dtype(table[column]), column
    assert (table["estimate"] >= 0).all() and table["diff"].lt(0).any()  # negatives as numbers


@pytest.mark.slow  # three batches and a report, about 2 s
def test_scenario_and_faction_names_are_drawn_literally(tmp_path, capsys, monkeypatch):
    """mathtext would typeset text between dollars, or crash on what it cannot parse (this
    name crashed `sim report`); a leading underscore would hide a legend entry. The figures
    inspected are the report's own, caught as it embeds them."""
    names = [r"profit $\nope$ plan", "_draft", "a$b"]
    faction = "$5 to $10 list"
    frames = [runs(40, 6 + i) for i in range(len(names))]
    frames[1]["pm_faction"] = np.where(frames[1]["formed"], faction, None)
    folders = [tmp_path / f"batch{i}" for i in range(len(names))]
    dirs = [batch_dir(d, f, n) for d, f, n in zip(folders, frames, names, strict=True)]
    figures = []

    def embed(fig, draw=report_module.figure_data_uri):
        figures.append(fig)
        return draw(fig)  # mathtext is parsed here, when the figure is drawn

    monkeypatch.setattr(report_module, "figure_data_uri", embed)
    assert main(["report", *map(str, dirs), "--out", str(tmp_path / "r.html")]) == 0
    assert len(figures) == len(FIGURES)
    drawn = set()  # what each text draws, where it is not TeX (log-scale ticks are)
    for fig in figures:
        for text in fig.findobj(Text):
            shown, is_math = text._preprocess_math(text.get_text())
            if not is_math:
                drawn.add(shown.strip())
    assert set(names) | {faction} <= drawn  # legend entries, titles, a tick label
    legend = [t._preprocess_math(t.get_text())[0].strip() for t in figures[0].legends[0].texts]
    assert legend == names  # an entry for every scenario, the underscored one too


def test_check_report_finds_what_the_issue_complained_of(report):
    """scripts/check_report.py's static and content checks, without a browser: the report
    passes; the old report's faults, planted in a copy, are each found."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "check_report", ROOT / "scripts" / "check_report.py"
    )
    check = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(check)
    text = report.read_text(encoding="utf-8")
    problems, images = check.static_check(text)
    assert problems == [] and set(images) == FIGURES
    broken = (
        text.replace("<title>Scenario comparison", "<title>Scenario summary")
        .replace("(no government)", "(no party)")
        .replace("Highest rung", "max_escalation")
        .replace("[0.000, ", "[1.1e-19, ", 1)
        .replace('id="escalation-by-government"', 'id="elsewhere"')
        .replace("most likely a", "perhaps a")
        .replace("Highest rung of violence:", "Violence:")
        .replace('id="storylines"', 'id="stories"')
    )
    found = "\n".join(check.static_check(broken)[0])
    for fault in (
        "a one-scenario report must show an outcome table",
        "'(no party)' mixes",
        "shows column names: max_escalation",
        "interval bounds in exponent form: [1.1e-19",
        "section escalation-by-government missing",
        "the headline does not name the most likely government",
        "the headline does not give the chance of each rung",
        "section storylines missing",
    ):
        assert fault in found, fault
