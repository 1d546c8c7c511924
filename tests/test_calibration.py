"""``sim calibrate``: the proper scores of a candidate, the behavioural ranges it fits, the
ABC-SMC posterior and its outputs (Parquet with weights, a scenario of the point values),
and the leave-one-case-out check. The fitting needs the optional extra ``calibrate``
(pyabc, scoringrules), which the dev extra installs; without it these tests skip."""

from __future__ import annotations

import importlib.util
import json
import math
import sys

import numpy as np
import pandas as pd
import pytest
from conftest import SCENARIOS

from sim.cli.main import main

EXTRA = all(importlib.util.find_spec(m) for m in ("pyabc", "scoringrules"))
needs_extra = pytest.mark.skipif(
    not EXTRA, reason="needs the calibrate extra (pip install '.[calibrate]'): pyabc, scoringrules"
)
CASES = SCENARIOS / "cases"
C2006, C2014 = CASES / "formation_2006.toml", CASES / "formation_2014.toml"
C2021 = CASES / "formation_2021_22.toml"


def test_without_the_extra_calibrate_is_one_line_and_exit_2(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "pyabc", None)  # import pyabc now raises ImportError
    assert main(["calibrate", str(C2006), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.splitlines() == [err] and "pip install '.[calibrate]'" in err
    assert not (tmp_path / "o").exists()


@needs_extra
def test_a_case_is_scored_by_the_log_score_of_each_condition_and_the_crps_of_its_weeks():
    from sim.analysis.calibration import DURATION_SCALE, case_loss, load_calibration_cases

    (case,) = load_calibration_cases([C2014], runs=4, seed=1)
    n = 10
    # a forecast that matches the record in every run: only the smoothing's cost is left
    matching = pd.DataFrame(
        {"formed": [True] * n, "government_type": ["consensus"] * n,
         "pm_kind": ["compromise"] * n, "blocking_third": [False] * n,
         "max_escalation": [1] * n, "weeks_to_government": [19] * n}
    )  # fmt: skip
    loss = case_loss(case, matching)
    assert loss.crps_weeks == pytest.approx(0.0)
    assert loss.total == pytest.approx(5 * -math.log((n + 0.5) / (n + 1)))
    # ten weeks early in every run and never consensus: each costs what the rule says
    missing = matching.assign(government_type="majority", weeks_to_government=9)
    worse = case_loss(case, missing)
    assert worse.crps_weeks == pytest.approx(10.0)
    expected = 4 * -math.log((n + 0.5) / (n + 1)) - math.log(0.5 / (n + 1)) + 10 / DURATION_SCALE
    assert worse.total == pytest.approx(expected)


@needs_extra
def test_candidates_share_their_seeds_so_a_score_is_a_function_of_the_values():
    from sim.analysis.calibration import load_calibration_cases, total_loss

    cases = load_calibration_cases([C2006, C2014], runs=6, seed=3)
    values = {"bargaining.office_value": 3.0}
    assert total_loss(cases, values) == total_loss(cases, values)
    assert total_loss(cases, values) != total_loss(cases, {"bargaining.office_value": 1.0})


@needs_extra
def test_only_behavioural_ranges_are_fitted_and_the_cases_must_share_them(tmp_path):
    from sim.analysis.calibration import behavioural_ranges, load_calibration_cases
    from sim.scenario.loading import ScenarioError

    cases = load_calibration_cases([C2006, C2014, C2021], runs=2, seed=1)
    keys = [r.key for r in behavioural_ranges(cases)]
    assert "bargaining.office_value" in keys and "escalation.thresholds[3]" in keys
    assert not any(k.startswith("patrons.") for k in keys)  # facts of each moment
    scenario = tmp_path / "narrow.toml"
    scenario.write_text(
        f'extends = "{(CASES / "parliament_2014.toml").as_posix()}"\n[ranges]\n'
        '"grievance.decay" = { low = 0.03, high = 0.05, source = "a narrower prior" }\n'
    )
    case = tmp_path / "case.toml"
    case.write_text(C2014.read_text().replace('"parliament_2014.toml"', '"narrow.toml"'))
    with pytest.raises(ScenarioError, match="behavioural ranges differ"):
        behavioural_ranges(load_calibration_cases([C2006, case], runs=2, seed=1))


@needs_extra
@pytest.mark.slow  # a whole calibration (about 4 s)
def test_calibrate_writes_a_weighted_posterior_and_a_scenario_of_its_means(tmp_path, capsys):
    import pyarrow.parquet as pq

    from sim.scenario.loading import load_scenario

    out = tmp_path / "cal"
    args = ["calibrate", str(C2006), str(C2014), "--runs", "4", "--candidates", "12",
            "--out", str(out), "--quiet", "--cross-validate", "--check-runs", "20"]  # fmt: skip
    assert main(args) == 0
    printed = capsys.readouterr().out
    sample = pq.read_table(out / "posterior.parquet").to_pandas()
    assert len(sample) == 12 and sample["weight"].sum() == pytest.approx(1.0)
    assert sample["bargaining.office_value"].between(1.0, 4.0).all()
    calibrated = load_scenario(out / "calibrated.toml")
    mean = float(np.dot(sample["weight"], sample["bargaining.office_value"]))
    assert calibrated.bargaining.office_value == pytest.approx(mean, rel=1e-3)
    third = float(np.dot(sample["weight"], sample["escalation.thresholds[3]"]))
    assert calibrated.escalation.thresholds[3] == pytest.approx(third, rel=1e-3)
    assert "[calibration:" in (out / "calibrated.toml").read_text()
    assert "effective sample size" in printed and "sd/prior" in printed
    folds = json.loads((out / "cross_validation.json").read_text())["folds"]
    assert [f["case"] for f in folds] == ["formation_2006", "formation_2014"]
    for fold in folds:
        assert fold["runs"] == 20 and 0 <= fold["every_condition"] <= 1
        assert fold["uniform_brier"] == pytest.approx(2 / 3)
        assert fold["uniform_log_score"] == pytest.approx(math.log(3))
        assert isinstance(fold["inside_10_90"], bool) and 0 <= fold["percentile"] <= 100
    assert "leave one case out" in printed
    page = (out / "report.html").read_text()
    for section in ("parameters", "marginals", "pairs", "checks", "cross-validation"):
        assert f'id="{section}"' in page, section
    assert "formation_2006</b> lacks: the outside shock of the Samarra bombing" in page
    checks = json.loads((out / "calibration.json").read_text())["predictive_checks"]
    assert [c["case"] for c in checks] == ["formation_2006", "formation_2014"]
    # the posterior drives a forecast: sim run --posterior on the calibrated scenario
    run_out = tmp_path / "run"
    posterior = str(out / "posterior.parquet")
    args = ["run", str(out / "calibrated.toml"), "--posterior", posterior, "--runs", "20"]
    assert main([*args, "--out", str(run_out), "--workers", "1", "--quiet"]) == 0


@needs_extra
def test_the_weights_are_tempered_until_the_effective_sample_size_is_a_tenth():
    from sim.analysis.calibration import tempered_weights

    scores = np.array([0.0, 30.0, 30.0, 31.0] + [40.0] * 96)
    weights, lam = tempered_weights(scores)
    assert weights.sum() == pytest.approx(1.0) and 0 < lam < 1
    assert 1 / np.sum(weights**2) == pytest.approx(10.0, rel=1e-3)  # a tenth of 100
    assert weights[0] > weights[1] > weights[4]  # a better score, a larger weight
    flat = np.full(50, 3.0)  # equal scores: equal weights at lambda 1
    weights, lam = tempered_weights(flat)
    assert lam == 1.0 and np.allclose(weights, 1 / 50)


@needs_extra
def test_abc_smc_gives_a_weighted_posterior_inside_the_ranges(tmp_path):
    from sim.analysis.calibration import Settings, behavioural_ranges, fit, load_calibration_cases

    cases = load_calibration_cases([C2006, C2014], runs=4, seed=2)
    ranges = behavioural_ranges(cases)
    fitted = fit(cases, ranges, Settings("abc", population=5, generations=2, runs=4),
                 tmp_path / "abc.db")  # fmt: skip
    assert len(fitted.sample) == 5 and fitted.sample["weight"].sum() == pytest.approx(1.0)
    for r in ranges:
        assert fitted.sample[r.key].between(r.low, r.high).all(), r.key
    assert [g["generation"] for g in fitted.generations] == [0, 1]


@needs_extra
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["no_such_case.toml"], "no_such_case.toml"),
        ([str(C2006), "--base", "no_such_base.toml"], "--base: file not found"),
        ([str(C2006), "--cross-validate"], "--cross-validate: needs at least two cases"),
    ],
)
def test_bad_calibrate_input_is_one_line_and_exit_2(tmp_path, capsys, args, message):
    out = tmp_path / "cal"
    assert main(["calibrate", *args, "--out", str(out), "--quiet", "--candidates", "2",
                 "--runs", "2"]) == 2  # fmt: skip
    err = capsys.readouterr().err.strip()
    assert err.splitlines() == [err] and message in err
    assert not (out / "posterior.parquet").exists()


@needs_extra
def test_an_interrupted_calibration_resumes_from_the_scores_it_saved(tmp_path):
    from sim.analysis.calibration import behavioural_ranges, fit_importance, load_calibration_cases

    cases = load_calibration_cases([C2014], runs=3, seed=4)
    ranges = behavioural_ranges(cases)
    store = tmp_path / "scores.json"
    whole = fit_importance(cases, ranges, 10, 5, store=store)
    saved = json.loads(store.read_text())
    assert saved["scores"] == pytest.approx(list(whole.sample["distance"]))
    # an interruption after five candidates: those five are read back, not run again
    saved["scores"] = [100.0 + k for k in range(5)] + [None] * 5
    store.write_text(json.dumps(saved))
    resumed = fit_importance(cases, ranges, 10, 5, store=store)
    assert list(resumed.sample["distance"][:5]) == [100.0, 101.0, 102.0, 103.0, 104.0]
    assert list(resumed.sample["distance"][5:]) == pytest.approx(list(whole.sample["distance"][5:]))
    # another design (another seed) does not take them
    other = fit_importance(cases, ranges, 10, 6, store=store)
    assert not set(other.sample["distance"][:5]) & {100.0, 101.0}


@needs_extra
def test_the_fit_is_the_same_on_two_workers_as_on_one():
    from sim.analysis.calibration import behavioural_ranges, fit_importance, load_calibration_cases

    cases = load_calibration_cases([C2006, C2014], runs=3, seed=4)
    ranges = behavioural_ranges(cases)
    one = fit_importance(cases, ranges, 40, 9, workers=1)
    two = fit_importance(cases, ranges, 40, 9, workers=2)
    pd.testing.assert_frame_equal(one.sample, two.sample)
