"""sim report: one self-contained HTML file (embedded PNGs, nothing external), every figure
present, sensitivity and discovery sections when their files exist, and -- where Chromium is
installed -- every figure actually loads in a headless browser."""

from __future__ import annotations

import base64
import csv
import io
import json
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
import sim.report as report_module
from sim.cli import main

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = Path("/usr/bin/chromium")
FIGURES = {"fig-outcomes", "fig-weeks", "fig-escalation", "fig-casualties"}
PNG = b"\x89PNG\r\n\x1a\n"


def runs(n: int, draw_seed: int, p_majority: float = 0.3) -> pd.DataFrame:
    """A small run table with the columns the report reads."""
    rng = np.random.default_rng(draw_seed)
    formed = rng.random(n) < 0.8
    majority = rng.random(n) < p_majority
    weeks = 20 + rng.poisson(10, n)
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
            "escalation_by_week": [
                list(rng.integers(0, 5, 30 + int(k))) for k in rng.integers(0, 40, n)
            ],
            "error": None,
        }
    )


def batch_dir(path: Path, frame: pd.DataFrame, name: str) -> Path:
    (path / "runs").mkdir(parents=True)
    table = pa.Table.from_pandas(frame.astype({"error": "object"}), preserve_index=False)
    pq.write_table(table, path / "runs" / "part-000000000-000000099.parquet")
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
    assert "sensitivity" not in ids and "discovery" not in ids  # no such files here
    assert "ab" * 32 in text and "python 3.11" in text  # the manifests: hash and versions
    assert "government_type" in text and "McNemar exact (paired)" in text  # the table


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
    (disc / "summary.json").write_text(
        json.dumps({"outcome": "max_escalation >= 4", "coverage": 0.7})
    )
    pd.DataFrame({"parameter": ["grievance.decay"], "low": [0.01], "high": [0.03]}).to_csv(
        disc / "box.csv", index=False
    )
    pd.DataFrame({"step": range(40), "coverage": np.linspace(1, 0.2, 40)}).to_csv(
        disc / "trajectory.csv", index=False
    )
    (disc / "discovery.png").write_bytes(png.getvalue())
    out = tmp_path / "with_extras.html"
    assert main(["report", str(first), str(two_batches[1]), "--out", str(out)]) == 0
    text = out.read_text(encoding="utf-8")
    s = scan(out)
    assert_self_contained(s, text)
    ids = {a.get("id") for _, a in s.tags}
    assert {"sensitivity", "discovery"} <= ids
    assert {fig for fig, _ in s.images} == FIGURES | {"fig-sensitivity-base", "fig-discovery-base"}
    for shown in (
        "escalation.slope",
        "mu_star",
        "morris",
        "grievance.decay",
        "max_escalation &gt;= 4",
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
    assert len([ax for ax in figures[2].axes if ax.get_visible()]) == 2  # a fan per scenario


def test_escalation_fan_carries_ended_runs_forward(two_batches):
    from sim.plots import escalation_matrix

    batch = sim.load_batches([two_batches[0]], series=True)[0]
    weeks, levels = escalation_matrix(batch)
    assert weeks[0] == 4  # week 0 of the series is the scenario's start week
    for row, series in zip(levels, batch.runs["escalation_by_week"], strict=True):
        assert (row[: len(series)] == series).all()
        assert (row[len(series) :] == series[-1]).all()


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
    assert "browser: 4 images, 4 figures loaded, 0 fetches" in done.stdout
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
    assert len(figures) == 4
    drawn = set()  # what each text draws, where it is not TeX (log-scale ticks are)
    for fig in figures:
        for text in fig.findobj(Text):
            shown, is_math = text._preprocess_math(text.get_text())
            if not is_math:
                drawn.add(shown.strip())
    assert set(names) | {faction} <= drawn  # legend entries, titles, a tick label
    legend = [t._preprocess_math(t.get_text())[0].strip() for t in figures[0].legends[0].texts]
    assert legend == names  # an entry for every scenario, the underscored one too
