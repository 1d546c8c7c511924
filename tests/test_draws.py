"""Forecasts with parameter uncertainty: ``sim run --priors`` and ``--posterior``. Each
group of replicates draws its own values, fixed by the batch seed and the draw alone, so
two scenarios' runs stay paired; the spread over parameters is told apart from chance."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from conftest import BASELINE

from sim.analysis.spread import parameter_spread
from sim.batch.results import load_manifest, load_results
from sim.cli.main import main
from sim.scenario.loading import resolve_raw
from sim.scenario.ranges import parse_ranges

KEY = "bargaining.office_value"


def run(tmp_path, name, *extra, scenario=BASELINE):
    out = tmp_path / name
    args = ["run", str(scenario), "--runs", "40", "--seed", "11", "--out", str(out)]
    assert main([*args, "--workers", "1", "--quiet", *extra]) == 0
    return out, load_results(out)


def test_priors_give_each_group_of_runs_its_own_values_inside_the_ranges(tmp_path, capsys):
    out, frame = run(tmp_path, "a", "--priors", "--runs-per-draw", "5")
    ranges = parse_ranges(resolve_raw(BASELINE)[0])
    assert len(frame) == 40
    assert (frame["point"].to_numpy() == frame["run_id"].to_numpy() // 5).all()
    assert frame.groupby("point")[KEY].nunique().max() == 1  # one draw per group
    assert frame.groupby("point")[KEY].first().nunique() == 8  # eight different draws
    for r in ranges:
        assert frame[r.key].between(r.low, r.high).all(), r.key
    assert len(set(frame["seed"])) == 40  # every run its own seed
    manifest = load_manifest(out)["parameter_draws"]
    assert manifest["source"] == "priors" and manifest["draws"] == 8
    printed = capsys.readouterr().out
    assert "Monte-Carlo 95%" in printed and "over parameters 10-90%" in printed


def test_two_scenarios_with_the_same_seed_are_paired_run_by_run(tmp_path, make_scenario):
    variant = make_scenario("[incumbent]\nlegitimacy = 0.3\n")  # a fact, not a range
    _, a = run(tmp_path, "a", "--priors")
    _, b = run(tmp_path, "b", "--priors", scenario=variant)
    columns = ["run_id", "seed", "point", KEY, "patrons.iran.guarantee"]
    pd.testing.assert_frame_equal(a[columns], b[columns])
    _, again = run(tmp_path, "c", "--priors")
    pd.testing.assert_frame_equal(a.drop(columns="error"), again.drop(columns="error"))


def test_a_posterior_sample_is_drawn_by_its_weights(tmp_path):
    sample = tmp_path / "posterior.parquet"
    table = {KEY: [1.5, 3.5, 2.0], "grievance.decay": [0.03, 0.07, 0.05], "weight": [0, 3, 1]}
    pq.write_table(pa.table(table), sample)
    _, frame = run(tmp_path, "p", "--posterior", str(sample), "--runs-per-draw", "2")
    drawn = set(zip(frame[KEY], frame["grievance.decay"], strict=True))
    assert drawn <= {(3.5, 0.07), (2.0, 0.05)}  # never the particle of weight 0
    share = float(np.mean(frame[KEY] == 3.5))
    assert 0.5 < share < 1.0  # three times as likely as the other, over 20 draws


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ({KEY: [1.5]}, "weight: a posterior sample needs a 'weight' column"),
        ({"bargaining.no_such": [1.0], "weight": [1.0]}, "is not a parameter of this scenario"),
        ({KEY: [1.5], "weight": [-1.0]}, "weights must be finite, non-negative"),
    ],
)
def test_a_bad_posterior_is_one_line_and_exit_2(tmp_path, capsys, table, message):
    sample = tmp_path / "bad.parquet"
    pq.write_table(pa.table(table), sample)
    out = tmp_path / "out"
    args = ["run", str(BASELINE), "--posterior", str(sample), "--out", str(out), "--quiet"]
    assert main(args) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and message in err and "bad.parquet" in err
    assert not out.exists()


def test_runs_per_draw_needs_draws(tmp_path, capsys):
    args = ["run", str(BASELINE), "--runs-per-draw", "3", "--out", str(tmp_path / "o")]
    assert main(args) == 2
    assert "--runs-per-draw: needs --priors or --posterior" in capsys.readouterr().err


def test_the_spread_over_parameters_removes_the_chance_within_a_draw():
    rng = np.random.default_rng(3)
    draws = np.repeat(np.arange(400), 10)
    # half the draws make the outcome certain, half impossible: the spread is all parameters
    split = pd.DataFrame({"point": draws, "blocking_third": draws % 2 == 0})
    s = next(x for x in parameter_spread(split) if x.outcome == "blocking_third")
    assert (s.p, s.p10, s.p90) == (0.5, 0.0, 1.0)
    assert s.between == pytest.approx(0.5, abs=0.01)
    # every draw the same coin: the per-draw shares still spread, the parameters do not
    coin = pd.DataFrame({"point": draws, "blocking_third": rng.random(len(draws)) < 0.5})
    s = next(x for x in parameter_spread(coin) if x.outcome == "blocking_third")
    assert s.p90 - s.p10 > 0.2
    assert s.between < 0.05
    assert s.mc_low < 0.5 < s.mc_high


@pytest.mark.slow  # three batches and a report (about 15 s)
def test_compare_and_the_report_show_the_spread_over_parameters_apart(tmp_path, capsys):
    a, _ = run(tmp_path, "a", "--priors")
    b, _ = run(tmp_path, "b", "--priors")
    capsys.readouterr()
    assert main(["compare", str(a), str(b)]) == 0
    printed = capsys.readouterr().out
    assert printed.count(", over the parameters: 4 parameter draws from the priors") == 2
    assert "Monte-Carlo 95% low" in printed and "sd across parameters" in printed
    assert "paired" in printed  # same seed, same draws: replicate by replicate
    report = tmp_path / "report.html"
    assert main(["report", str(a), "--out", str(report)]) == 0
    html = report.read_text()
    assert 'id="parameters"' in html and "Uncertainty over the parameters" in html
    assert "over parameters: P per draw, 10%" in html


def test_a_batch_at_fixed_values_has_no_spread_section(tmp_path, capsys):
    a, _ = run(tmp_path, "a")
    report = tmp_path / "report.html"
    assert main(["report", str(a), "--out", str(report)]) == 0
    assert 'id="parameters"' not in report.read_text()


def test_discovery_reads_a_batch_with_parameter_draws_as_a_sweep(tmp_path, capsys):
    out, _ = run(tmp_path, "a", "--priors", "--runs-per-draw", "4")
    capsys.readouterr()
    assert main(["discover", str(out), "--outcome", "blocking_third"]) == 0
    printed = capsys.readouterr().out
    assert "(10 points;" in printed  # the draws are the points it relates the outcome to
