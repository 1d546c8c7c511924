"""Scenario discovery: PRIM finds a planted box; outcome expressions; the CLI's files."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from sim.analysis.conditions import Expression
from sim.analysis.discovery import _cut, choose, outcome_folder, peel
from sim.batch.outputs import ResultsError
from sim.batch.results import load_results
from sim.cli.main import main

BASELINE = Path(__file__).resolve().parents[1] / "scenarios" / "baseline.toml"
NAMES = ["a", "b", "c", "d"]


def planted(n=2000, flip=0.0, seed=3):
    """Uniform points; the outcome lives in a in [0.2, 0.6] and b in [0.7, 1]."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(size=(n, 4))
    y = (x[:, 0] > 0.2) & (x[:, 0] < 0.6) & (x[:, 1] > 0.7)
    y ^= rng.uniform(size=n) < flip
    return x, y.astype(float)


@pytest.mark.parametrize("flip", [0.0, 0.1])
def test_prim_finds_the_planted_box(flip):
    x, y = planted(flip=flip)
    box = peel(NAMES, x, y).box().set_index("parameter")
    assert list(box.index[box["restricted"]]) == ["a", "b"]
    np.testing.assert_allclose(box.loc["a", ["low", "high"]], [0.2, 0.6], atol=0.03)
    np.testing.assert_allclose(box.loc["b", ["low", "high"]], [0.7, 1.0], atol=0.03)
    assert (box.loc[["a", "b"], "qp_value"] < 1e-6).all()


def test_trajectory_trades_coverage_for_density():
    x, y = planted(flip=0.1)
    prim = peel(NAMES, x, y, alpha=0.05, mass_min=0.05)
    t = prim.trajectory
    assert t["step"].tolist() == list(range(len(t)))
    assert (np.diff(t["density"]) > 0).all()
    assert (np.diff(t["coverage"]) <= 1e-12).all()
    assert (np.diff(t["mass"]) < 0).all() and t["mass"].min() >= 0.05
    assert t.iloc[0][["coverage", "mass"]].tolist() == [1.0, 1.0]
    chosen = t.iloc[prim.chosen]
    assert chosen["coverage"] >= 0.5 and chosen["density"] > 0.8


def test_weighted_points_peel_like_their_runs():
    # three replicates of each point: as points with weights, or as runs, the same boxes
    x, _ = planted(n=400, seed=9)
    rng = np.random.default_rng(1)
    hits = rng.binomial(3, np.where((x[:, 0] > 0.5) & (x[:, 2] < 0.4), 0.9, 0.1))
    by_point = peel(NAMES, x, hits, np.full(len(x), 3.0))
    runs_x = np.repeat(x, 3, axis=0)
    runs_y = np.concatenate([[1.0] * k + [0.0] * (3 - k) for k in hits])
    by_run = peel(NAMES, runs_x, runs_y)
    pd.testing.assert_frame_equal(by_point.trajectory, by_run.trajectory)
    box = by_point.box().set_index("parameter")
    assert box.loc["a", "restricted"] and box.loc["c", "restricted"]
    assert not box.loc["b", "restricted"]
    assert box.loc["a", "low"] == pytest.approx(0.5, abs=0.03)
    assert box.loc["c", "high"] == pytest.approx(0.4, abs=0.03)
    # late peels chase noise; their quasi-p-values say so, the real ones are tiny
    assert (box.loc[["a", "c"], "qp_value"] < 1e-6).all()
    noise = box[box["restricted"]].drop(index=["a", "c"])
    assert (noise["qp_value"] > 0.05).all()


def test_peels_remove_whole_grid_values():
    xs = np.repeat([0.0, 1 / 3, 2 / 3, 1.0], 5)
    assert _cut(xs, np.ones(len(xs)), 0.05) == (1 / 3, 2 / 3)
    assert _cut(np.ones(4), np.ones(4), 0.05) is None


def test_choose_takes_the_densest_box_with_enough_coverage():
    t = pd.DataFrame(
        {"step": [0, 1, 2, 3], "coverage": [1.0, 0.8, 0.5, 0.3], "density": [0.2, 0.5, 0.7, 0.9]}
    )
    assert choose(t, 0.5) == 2
    assert choose(t, 0.2) == 3
    assert choose(t, 0.9) == 0


KINDS = {"max_escalation": "number", "pmf_status": "text", "formed": "bool"}


def test_expressions_evaluate_like_their_reading():
    frame = pd.DataFrame(
        {
            "max_escalation": [0, 4, 5, 2],
            "pmf_status": ["intact", "dissolved", "intact", "curtailed"],
            "formed": [True, False, True, False],
        }
    )

    def hits(text):
        return Expression.parse(text, KINDS, "d").evaluate(frame).tolist()

    assert hits("max_escalation >= 4") == [False, True, True, False]
    assert hits("pmf_status == dissolved") == [False, True, False, False]
    assert hits("pmf_status != 'intact'") == [False, True, False, True]
    assert hits("not formed") == [False, True, False, True]
    assert hits("formed and max_escalation>4") == [False, False, True, False]
    assert hits("max_escalation < 1 or pmf_status == curtailed") == [True, False, False, True]
    assert hits("formed == false") == [False, True, False, True]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("escalation >= 4", "no column 'escalation'; columns: formed, max_escalation"),
        ("max_escalation >= high", "expected a number"),
        ("max_escalation >=", "expected a value"),
        ("max_escalation", "is not true/false"),
        ("formed and", "nothing after 'and'"),
        ("formed formed", "expected 'and' or 'or'"),
        ("", "empty"),
    ],
)
def test_bad_expressions_say_what_is_wrong(text, message):
    with pytest.raises(ResultsError, match="--outcome") as err:
        Expression.parse(text, KINDS, "d")
    assert message in str(err.value)


def fake_batch(directory: Path, sweep: bool = True, names: list[str] = NAMES) -> None:
    """A batch directory holding the planted box: 500 points x 2 replicates."""
    x, _ = planted(n=500, seed=4)
    rng = np.random.default_rng(2)
    rows = []
    for p, (a, b, c, d) in enumerate(x):
        inside = 0.2 < a < 0.6 and b > 0.7
        for r in range(2):
            level = 4 + int(rng.uniform() < 0.5) if inside else int(rng.integers(0, 4))
            rows.append(
                {"run_id": 2 * p + r, "point": p}
                | dict(zip(names, (a, b, c, d), strict=True))
                | {"max_escalation": level, "pmf_status": "intact", "error": None}
            )
    (directory / "runs").mkdir(parents=True)
    table = pa.Table.from_pylist(rows).cast(
        pa.schema(
            [("run_id", pa.int64()), ("point", pa.int64())]
            + [(k, pa.float64()) for k in names]
            + [("max_escalation", pa.int64()), ("pmf_status", pa.string()), ("error", pa.string())]
        )
    )
    pq.write_table(table, directory / "runs" / "part-000000000-000000999.parquet")
    manifest = {"sweep": {"parameters": names, "points": []} if sweep else None}
    (directory / "manifest.json").write_text(json.dumps(manifest))


def test_discover_cli_writes_the_box_trajectory_and_plot(tmp_path, capsys):
    batch = tmp_path / "batch"
    fake_batch(batch)
    box_csv = tmp_path / "box.csv"
    args = ["discover", str(batch), "--outcome", "max_escalation >= 4", "--csv", str(box_csv)]
    assert main(args) == 0
    printed = capsys.readouterr().out
    assert "peeling trajectory" in printed and "<- chosen" in printed
    out = batch / "discovery" / "max_escalation_ge_4"
    assert f"summary in {out}" in printed
    summary = json.loads((out / "summary.json").read_text())
    assert summary["outcome"] == "max_escalation >= 4"
    assert summary["runs"] == 1000 and summary["points"] == 500
    assert summary["coverage"] >= 0.5 and summary["density"] > 0.9
    box = pd.read_csv(out / "box.csv").set_index("parameter")
    assert list(box.index[box["restricted"]]) == ["a", "b"]
    np.testing.assert_allclose(box.loc["a", ["low", "high"]], [0.2, 0.6], atol=0.05)
    assert box.loc["b", "low"] == pytest.approx(0.7, abs=0.05)
    pd.testing.assert_frame_equal(pd.read_csv(box_csv), pd.read_csv(out / "box.csv"))
    trajectory = pd.read_csv(out / "trajectory.csv")
    assert list(trajectory.columns) == ["step", "coverage", "density", "mass", "n_restricted"]
    assert (out / "discovery.png").stat().st_size > 0


@pytest.mark.parametrize(
    ("outcome", "message"),
    [
        ("max_escalation >= 9", "holds in 0 of 1000 runs"),
        ("escalation >= 4", "no column 'escalation'"),
    ],
)
def test_discover_errors_are_one_line_and_write_nothing(tmp_path, capsys, outcome, message):
    batch = tmp_path / "batch"
    fake_batch(batch)
    assert main(["discover", str(batch), "--outcome", outcome]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {batch}: ") and message in err and err.count("\n") == 1
    assert not (batch / "discovery").exists()


def test_discover_needs_a_sweep(tmp_path, capsys):
    batch = tmp_path / "batch"
    fake_batch(batch, sweep=False)
    assert main(["discover", str(batch), "--outcome", "max_escalation >= 4"]) == 2
    assert "no parameter varies in this batch" in capsys.readouterr().err


def test_discover_on_a_real_sweep(tmp_path, capsys):
    out = tmp_path / "sweep"
    sweep = ["sweep", str(BASELINE), "--method", "lhs", "--samples", "12", "--replicates", "2"]
    params = ["--param", "escalation.slope=6:20", "--param", "grievance.decay=0.02:0.08"]
    assert main([*sweep, *params, "--workers", "1", "--quiet", "--out", str(out)]) == 0
    # an outcome that this tiny sweep has both ways (the model's calibration moves)
    runs = load_results(out, columns=["max_escalation", "casualties", "final_week"])
    column = next((c for c in runs.columns if runs[c].nunique() > 1), None)
    if column is None:
        pytest.skip("every run of this tiny sweep ends alike")
    threshold = int(runs[column].max())
    assert main(["discover", str(out), "--outcome", f"{column} >= {threshold}"]) == 0
    summary = json.loads(
        (out / "discovery" / f"{column}_ge_{threshold}" / "summary.json").read_text()
    )
    assert summary["runs"] == 24 and summary["points"] == 12
    assert summary["outcome_runs"] == int((runs[column] >= threshold).sum())
    assert {b["parameter"] for b in summary["box"]} == {"escalation.slope", "grievance.decay"}


def test_discover_csv_text_cells_cannot_run_as_formulas(tmp_path, capsys):
    batch = tmp_path / "batch"
    fake_batch(batch, names=["=cmd()", "@b", "-c", "d"])
    box_csv = tmp_path / "box.csv"
    args = ["discover", str(batch), "--outcome", "max_escalation >= 4", "--csv", str(box_csv)]
    assert main(args) == 0
    for written in (box_csv, batch / "discovery" / "max_escalation_ge_4" / "box.csv"):
        box = pd.read_csv(written)
        assert list(box["parameter"]) == ["'=cmd()", "'@b", "'-c", "d"]
        assert pd.api.types.is_float_dtype(box["low"]) and box["restricted"].dtype == bool


def test_each_outcome_keeps_its_own_folder(tmp_path, capsys):
    batch = tmp_path / "batch"
    fake_batch(batch)
    first = ["discover", str(batch), "--outcome", "max_escalation >= 4"]
    second = ["discover", str(batch), "--outcome", "max_escalation>=5 or max_escalation == '0'"]
    assert main(first) == 0 and main(second) == 0
    folders = sorted(p.name for p in (batch / "discovery").iterdir())
    assert folders == ["max_escalation_ge_4", "max_escalation_ge_5_or_max_escalation_eq_0"]
    kept = json.loads((batch / "discovery" / folders[0] / "summary.json").read_text())
    assert kept["outcome"] == "max_escalation >= 4"  # the second did not overwrite it
    # the same outcome written differently is the same folder (replaced, not duplicated)
    assert main(["discover", str(batch), "--outcome", "max_escalation>=4.0"]) == 0
    assert len(list((batch / "discovery").iterdir())) == 2


@pytest.mark.parametrize(
    ("text", "folder"),
    [
        ("not formed", "not_formed"),
        ('pmf_status != "dissolved" and formed', "pmf_status_ne_dissolved_and_formed"),
        ("max_escalation < 2.5", "max_escalation_lt_2.5"),
    ],
)
def test_outcome_folders_are_named_from_the_outcome(text, folder):
    kinds = {"max_escalation": "number", "pmf_status": "text", "formed": "bool"}
    assert outcome_folder(Expression.parse(text, kinds, "d")) == folder
    long = " or ".join(["max_escalation >= 4"] * 10)
    name = outcome_folder(Expression.parse(long, kinds, "d"))
    assert len(name) == 80 and name.startswith("max_escalation_ge_4_or_")
