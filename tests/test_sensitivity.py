"""Sensitivity analysis: correct rankings on functions with known answers, and the real
pipeline (tiny) end to end: outputs, reproducibility from the seed, resume, errors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sim.analysis.sensitivity import OUTCOMES, analyze, design, point_outcomes, problem, sample
from sim.batch.experiment import prepare
from sim.batch.outputs import ResultsError
from sim.batch.results import load_results
from sim.cli.main import main
from sim.scenario.loading import ScenarioError
from sim.scenario.ranges import Range

BASELINE = Path(__file__).resolve().parents[1] / "scenarios" / "baseline.toml"
TINY = [
    "--method",
    "morris",
    "--samples",
    "2",
    "--replicates",
    "2",
    "--param",
    "patrons.iran.mediation",
    "--param",
    "escalation.slope",
    "--param",
    "grievance.decay",
    "--workers",
    "1",
    "--quiet",
]


def toy_problem(names, low=0.0, high=1.0):
    return problem([Range(n, low, high, "toy") for n in names])


def test_morris_ranks_a_linear_function_by_its_coefficients():
    coef = np.array([0.0, 10.0, 1.0, 5.0])
    prob = toy_problem(["none", "big", "small", "middle"], low=-1.0, high=1.0)
    x = sample(prob, "morris", 20, seed=3)
    table = analyze(prob, x, x @ coef, "morris", seed=3)
    assert list(table["parameter"]) == ["big", "middle", "small", "none"]
    assert list(table["rank"]) == [1, 2, 3, 4]
    # a linear function has constant elementary effects: mu* = |coef| * range, sigma = 0
    by = table.set_index("parameter")
    assert by.loc["big", "mu_star"] == pytest.approx(20.0)
    assert by.loc["middle", "mu_star"] == pytest.approx(10.0)
    assert by.loc["none", "mu_star"] == pytest.approx(0.0)
    assert by["sigma"].max() == pytest.approx(0.0, abs=1e-9)


def ishigami(x, a=7.0, b=0.1):
    return np.sin(x[:, 0]) + a * np.sin(x[:, 1]) ** 2 + b * x[:, 2] ** 4 * np.sin(x[:, 0])


def test_sobol_recovers_the_ishigami_indices():
    # analytic: S1 = (0.314, 0.442, 0), ST = (0.558, 0.442, 0.244)
    prob = toy_problem(["x1", "x2", "x3"], low=-np.pi, high=np.pi)
    x = sample(prob, "sobol", 1024, seed=11)
    assert x.shape == (1024 * 5, 3)
    table = analyze(prob, x, ishigami(x), "sobol", seed=11).set_index("parameter")
    assert list(table.index) == ["x1", "x2", "x3"]  # ranked by ST
    np.testing.assert_allclose(table["S1"], [0.314, 0.442, 0.0], atol=0.05)
    np.testing.assert_allclose(table["ST"], [0.558, 0.442, 0.244], atol=0.05)
    assert (table["ST_conf"] > 0).all() and (table["ST_conf"] < 0.1).all()


def test_morris_ranks_ishigami_interactions_by_sigma():
    # x3 acts only through its interaction with x1: a mean effect near 0, a large sigma
    prob = toy_problem(["x1", "x2", "x3"], low=-np.pi, high=np.pi)
    x = sample(prob, "morris", 50, seed=5)
    table = analyze(prob, x, ishigami(x), "morris", seed=5).set_index("parameter")
    assert abs(table.loc["x3", "mu"]) < 0.5 * table.loc["x3", "sigma"]
    assert table.loc["x2", "rank"] < table.loc["x3", "rank"]


def test_constant_outcome_has_no_ranking():
    prob = toy_problem(["a", "b"])
    x = sample(prob, "sobol", 8, seed=1)
    table = analyze(prob, x, np.ones(len(x)), "sobol", seed=1)
    assert table["rank"].isna().all() and (table["ST"] == 0).all()


def test_design_is_reproducible_from_its_seed():
    prob = toy_problem(["a", "b", "c"])
    for method in ("morris", "sobol"):
        np.testing.assert_array_equal(sample(prob, method, 4, 7), sample(prob, method, 4, 7))
        assert not np.array_equal(sample(prob, method, 4, 7), sample(prob, method, 4, 8))


def test_point_outcomes_average_replicates_and_skip_failures():
    runs = pd.DataFrame(
        {
            "point": [0, 0, 0, 1, 1, 1],
            "formed": [True, True, False, True, True, True],
            "government_type": ["majority", "consensus", "none", "majority", "majority", "none"],
            "max_escalation": [4, 2, 5, 1, 1, 3],
            "weeks_to_government": [20.0, 30.0, None, 10.0, 12.0, 99.0],
            "pmf_status": ["intact", "dissolved", "intact", "intact", "intact", "intact"],
            "error": [None, None, None, None, None, "ValueError: boom"],
        }
    )
    means, se2 = point_outcomes(runs, horizons=[78, 78])
    assert list(means["runs"]) == [3, 2]
    assert means.loc[0, "p_formed"] == pytest.approx(2 / 3)
    assert means.loc[1, "p_majority"] == 1.0
    assert means.loc[0, "p_escalation_4plus"] == pytest.approx(2 / 3)
    assert means.loc[0, "expected_max_escalation"] == pytest.approx(11 / 3)
    assert means.loc[0, "median_weeks_to_government"] == 30.0  # 20, 30, horizon 78
    assert means.loc[1, "median_weeks_to_government"] == 11.0  # the failed run is left out
    assert means.loc[0, "p_pmf_dissolved"] == pytest.approx(1 / 3)
    assert se2.loc[1, "p_majority"] == 0.0
    with pytest.raises(ResultsError, match="no successful run"):
        point_outcomes(runs, horizons=[78, 78, 78])


def test_prepare_accepts_explicit_points():
    points = [{"escalation.slope": 8.0}, {"escalation.slope": 16.0}]
    exp = prepare(BASELINE, runs=3, points=points)
    assert exp.total_runs == 6 and exp.sweep_keys == ["escalation.slope"]
    assert [p.scenario.escalation.slope for p in exp.points] == [8.0, 16.0]
    with pytest.raises(ScenarioError, match=r"escalation\.slope"):
        prepare(BASELINE, runs=3, points=[{"escalation.slope": -1.0}])


@pytest.mark.slow  # two sensitivity runs, about 2 s
def test_sensitivity_run_writes_the_contract_and_reproduces_from_its_seed(tmp_path, capsys):
    a, b = tmp_path / "a", tmp_path / "b"
    assert main(["sensitivity", str(BASELINE), *TINY, "--seed", "4", "--out", str(a)]) == 0
    printed = capsys.readouterr().out
    assert "P(escalation >= 4)" in printed and "16 runs" in printed
    summary = json.loads((a / "sensitivity" / "summary.json").read_text())
    assert summary["method"] == "morris" and summary["replicates"] == 2
    assert summary["seed"] == 4 and summary["points"] == 8 and summary["runs"] == 16
    assert set(summary["parameters"]) == {
        "patrons.iran.mediation",
        "escalation.slope",
        "grievance.decay",
    }
    assert set(summary["outcomes"]) == set(OUTCOMES)
    for name in OUTCOMES:
        table = pd.read_csv(a / "sensitivity" / f"{name}.csv")
        columns = ["parameter", "mu_star", "mu_star_conf", "sigma", "mu", "rank"]
        assert list(table.columns) == columns
        ranked = table["rank"].dropna()
        assert list(ranked) == sorted(ranked)
    assert (a / "sensitivity" / "sensitivity.png").stat().st_size > 0
    runs = load_results(a)
    assert len(runs) == 16 and runs["error"].isna().all()
    low, high = (summary["parameters"]["grievance.decay"][k] for k in ("low", "high"))
    levels = {round(low + k * (high - low) / 3, 9) for k in range(4)}  # Morris's 4 levels
    assert set(runs["grievance.decay"].round(9)) <= levels

    # same seed, another directory: the same design, runs and indices
    assert main(["sensitivity", str(BASELINE), *TINY, "--seed", "4", "--out", str(b)]) == 0
    for name in [*OUTCOMES, "points"]:
        assert (a / "sensitivity" / f"{name}.csv").read_bytes() == (
            b / "sensitivity" / f"{name}.csv"
        ).read_bytes()
    pd.testing.assert_frame_equal(runs, load_results(b))
    # another seed: another design (the one the command would run)
    params = [TINY[i + 1] for i, a in enumerate(TINY) if a == "--param"]
    _, x4, _, _ = design(BASELINE, "morris", 2, 4, params)
    _, x5, _, _ = design(BASELINE, "morris", 2, 5, params)
    assert not np.array_equal(x4, x5)
    np.testing.assert_allclose(pd.read_csv(a / "sensitivity" / "points.csv")[params], x4)

    # the same command resumes (nothing re-run); another seed in the same directory is refused
    capsys.readouterr()
    assert main(["sensitivity", str(BASELINE), *TINY, "--seed", "4", "--out", str(a)]) == 0
    assert "0 now, 16 resumed" in capsys.readouterr().out
    assert main(["sensitivity", str(BASELINE), *TINY, "--seed", "6", "--out", str(a)]) == 2
    assert "holds a different batch" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("args", "where", "message"),
    [
        (
            ["--method", "sobol", "--samples", "12"],
            BASELINE,
            "--samples: Sobol' sampling needs a power of 2",
        ),
        (["--samples", "1"], BASELINE, "--samples: Morris needs at least 2 trajectories"),
        (["--levels", "3"], BASELINE, "--levels: must be an even number"),
        (
            ["--method", "sobol", "--samples", str(2**29)],
            BASELINE,
            "--samples: 536870912 sobol samples over 36 parameters: the design has 20,401,094,656 "
            "points, above the limit of 20,000",
        ),
        # checked as the command line is parsed, before the scenario is read
        (["--replicates", "0"], "sim sensitivity", "--replicates: must be a positive integer"),
        (["--samples", "0"], "sim sensitivity", "--samples: must be a positive integer"),
        (["--seed", str(2**63)], "sim sensitivity", "--seed: must be an integer from 0 to 2**63"),
        (["--out", ""], "sim sensitivity", "--out: must name a file or directory"),
    ],
)
def test_bad_options_are_one_line_errors(tmp_path, capsys, args, where, message):
    out = tmp_path / "o"
    assert main(["sensitivity", str(BASELINE), "--out", str(out), *args, "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {where}: ") and message in err and err.count("\n") == 1
    assert not out.exists()
