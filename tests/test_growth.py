"""Growing batches: more --runs extend a batch, adaptive replication (--precision) adds
runs until every probability is known to ±h with intervals that keep their coverage under
repeated looks, and compare pairs runs on the seeds two batches share, whatever their
sizes. Also: one definition of the median weeks to government everywhere, and 'never'
differences printed as such."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import BASELINE
from test_compare import synthetic_runs, write_batch

from sim.analysis.compare import compare
from sim.batch.adaptive import Precision, concentration, confidence_sequence
from sim.batch.experiment import prepare
from sim.batch.outputs import BatchError
from sim.batch.results import load_manifest, load_results
from sim.batch.runner import run_batch
from sim.cli.main import format_summary, main
from sim.engine.outcomes import OutcomeTally, wilson_interval
from sim.report.document import format_table


@pytest.fixture(scope="module")
def fixed(tmp_path_factory):
    """Fixed batches of K runs, made once: {K: table}."""
    made: dict[int, pd.DataFrame] = {}

    def get(k: int) -> pd.DataFrame:
        if k not in made:
            out = tmp_path_factory.mktemp(f"fixed{k}")
            run_batch(prepare(BASELINE, runs=k), out, workers=1, quiet=True)
            made[k] = load_results(out)
        return made[k]

    return get


# --------------------------------------------------------------------------- extension
def test_more_runs_extend_a_batch_and_the_first_runs_stay_identical(tmp_path, fixed):
    out = tmp_path / "b"
    run_batch(prepare(BASELINE, runs=6), out, workers=1, quiet=True)
    first = load_results(out)
    grown = run_batch(prepare(BASELINE, runs=10), out, workers=2, chunk_size=2, quiet=True)
    assert (grown.resumed, grown.completed_now, grown.tally.n) == (6, 4, 10)
    table = load_results(out)
    pd.testing.assert_frame_equal(table.iloc[:6], first)
    pd.testing.assert_frame_equal(table, fixed(10))
    manifest = load_manifest(out)
    assert (manifest["replicates"], manifest["runs"], manifest["status"]) == (10, 10, "complete")
    assert [s["replicates"] for s in manifest["sessions"]] == [6, 10]


def test_a_sweep_cannot_change_its_replicates(tmp_path):
    sweep = {"parameters": {"grievance.decay": [0.02, 0.1]}}
    out = tmp_path / "s"
    run_batch(prepare(BASELINE, runs=2, sweep=sweep), out, workers=1, quiet=True)
    with pytest.raises(
        BatchError, match=r"sweep with 2 replicates per point, not 3.*--replicates 2"
    ):
        run_batch(prepare(BASELINE, runs=3, sweep=sweep), out, workers=1, quiet=True)


# --------------------------------------------------------------------------- adaptive
def test_confidence_sequence_keeps_its_coverage_under_repeated_looks():
    """Anytime coverage: over whole sequences looked at 12 times each, the true p falls
    outside an interval at *some* look in at most 5% of sequences (here far fewer), where
    fixed-sample Wilson intervals looked at as often miss more."""
    rng = np.random.default_rng(2026)
    k = concentration(0.05)
    looks = np.unique(np.geomspace(20, 3000, 12).astype(int))
    misses_cs = misses_wilson = 0
    trials = 150
    for _ in range(trials):
        p = 0.3
        hits = np.cumsum(rng.random(looks[-1]) < p)
        cs_missed = wilson_missed = False
        for n in looks:
            s = int(hits[n - 1])
            low, high = confidence_sequence(s, int(n), k)
            cs_missed |= not low <= p <= high
            w_low, w_high = wilson_interval(s, int(n))
            wilson_missed |= not w_low <= p <= w_high
            assert low <= w_low + 1e-9 and high >= w_high - 1e-9, "never narrower than Wilson"
        misses_cs += cs_missed
        misses_wilson += wilson_missed
    assert misses_cs <= 0.05 * trials
    assert misses_cs < misses_wilson


def test_confidence_sequence_is_an_interval_around_the_estimate_that_narrows():
    k = concentration(0.01)
    for s, n in ((0, 50), (50, 50), (300, 1000), (5000, 10000), (1, 20000)):
        low, high = confidence_sequence(s, n, k)
        assert 0 <= low <= s / n <= high <= 1
    widths = [np.subtract(*confidence_sequence(n // 2, n, k)[::-1]) for n in (100, 1000, 10000)]
    assert widths[0] > widths[1] > widths[2]


def test_adaptive_replication_stops_at_the_precision_with_the_first_k_replicates(tmp_path, fixed):
    out = tmp_path / "a"
    result = run_batch(prepare(BASELINE), out, workers=2, precision=0.15, quiet=True)
    adaptive = load_manifest(out)["adaptive"]
    k = result.total
    assert adaptive["stopped"] == "precision reached" and adaptive["runs"] == k
    assert adaptive["looks"][-1] == k and adaptive["looks"] == sorted(adaptive["looks"])
    final = result.looks[-1]
    assert all((high - low) / 2 <= 0.15 for _, _, _, (low, high) in final.lines)
    assert adaptive["widest"]["half_width"] <= 0.15
    if len(result.looks) > 1:  # the look before did not reach it: it stopped at the first
        assert result.looks[-2].widest[2] > 0.15
    pd.testing.assert_frame_equal(load_results(out), fixed(k))  # replicates 0..K-1
    # the same command again looks at what is there and stops at once
    again = run_batch(prepare(BASELINE), out, workers=1, precision=0.15, quiet=True)
    assert (again.total, again.completed_now) == (k, 0)


def test_adaptive_replication_stops_at_max_runs(tmp_path, capsys):
    out = tmp_path / "m"
    argv = ["run", str(BASELINE), "--precision", "0.01", "--max-runs", "30", "--workers", "1"]
    assert main([*argv, "--quiet", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "95% interval (anytime-valid)" in printed
    assert "adaptive replication: max-runs reached after 1 look(s) at 30 runs" in printed
    adaptive = load_manifest(out)["adaptive"]
    assert adaptive["stopped"] == "max-runs reached" and adaptive["widest"]["half_width"] > 0.01
    assert len(load_results(out)) == 30


@pytest.mark.parametrize(
    "args, message",
    [
        (["--precision", "0.01", "--runs", "5"], "--runs: not allowed with argument --precision"),
        (["--max-runs", "50"], "--max-runs needs --precision"),
        (["--precision", "0"], "--precision: must be a number in (0, 0.5)"),
        (["--precision", "nan"], "--precision: must be a number in (0, 0.5)"),
        (["--precision", "0.01", "--max-runs", "0"], "--max-runs: must be a positive integer"),
    ],
)
def test_bad_adaptive_options_are_one_line_errors(tmp_path, capsys, args, message):
    out = tmp_path / "x"
    assert main(["run", str(BASELINE), *args, "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err
    assert not out.exists()


def test_precision_applies_to_plain_batches_only():
    exp = prepare(BASELINE, runs=2, sweep={"parameters": {"grievance.decay": [0.02, 0.1]}})
    with pytest.raises(BatchError, match="not a sweep"):
        run_batch(exp, "unused", precision=0.05)


def test_next_look_aims_at_the_predicted_runs_within_bounds():
    rule = Precision(0.01, max_runs=50_000)
    wide = rule.look(2401, 2401, [("x", "a", 0.5, (0, 1))])
    assert 2401 * 1.1 <= rule.next_target(wide) <= 2401 * 2
    near = rule.look(20_000, 20_000, [("x", "a", 0.5, (0, 1))])
    assert near.widest[2] > 0.01 and rule.next_target(near) <= 50_000
    assert rule.first_target(0) == 2401 and rule.first_target(30_000) == 30_000


# --------------------------------------------------------------------------- compare
def test_compare_pairs_on_the_shared_seeds_whatever_the_replicate_counts(tmp_path, capsys):
    """A 60-run batch against a 200-run reference with the same batch seed: its 60 seeds
    are the reference's first 60, so the runs pair (they used to be 'unpaired')."""
    runs = synthetic_runs(200, 1)
    ref = write_batch(tmp_path / "ref", runs)
    planted = runs.iloc[:60].assign(casualties=lambda f: f.casualties + 2)
    small = write_batch(tmp_path / "small", planted, "small")
    table = compare(ref, small)
    pairing = table[table["scenario"] == "small"]["pairing"].iloc[0]
    assert pairing == "paired: common random numbers (60 shared seeds of 60 and 200 runs)"
    mean = table[(table["outcome"] == "casualties") & (table["statistic"] == "mean")]
    assert mean["diff"].iloc[1] == pytest.approx(2.0)  # on the pairs: exactly the plant
    assert mean["diff_low"].iloc[1] == pytest.approx(2.0) == mean["diff_high"].iloc[1]
    assert table[table["scenario"] == "small"]["n"].iloc[0] == 60
    assert main(["compare", str(ref), str(small)]) == 0
    assert "60 shared seeds of 60 and 200 runs" in capsys.readouterr().out


def test_a_difference_with_never_is_printed_without_a_sign(tmp_path):
    """q90 of weeks to government is 'never' for the reference and a number for the other:
    their difference is no number of weeks. It used to print '-never [-never, -never]'."""
    ref = write_batch(tmp_path / "a", synthetic_runs(300, 1, p_formed=0.8))
    other = write_batch(tmp_path / "b", synthetic_runs(300, 2, p_formed=0.97), "other")
    table = compare(ref, other)
    q90 = table[(table["outcome"] == "weeks_to_government") & (table["statistic"] == "q90")]
    assert np.isinf(q90["estimate"].iloc[0]) and np.isfinite(q90["estimate"].iloc[1])
    text = format_table(table)
    assert "-never" not in text and "+never" not in text
    block = text.split("Weeks to government: 90th percentile")[1].splitlines()
    assert "never [never, never]" in block[1]
    assert "n/a [n/a, n/a]" in block[2]


# --------------------------------------------------------------------------- the median
@pytest.mark.parametrize("p_formed", [0.85, 0.3])
def test_the_median_weeks_to_government_has_one_definition(tmp_path, p_formed):
    """sim run's summary and compare/report agree: over all runs, none formed = never."""
    runs = synthetic_runs(301, 4, p_formed=p_formed)
    tally = OutcomeTally()
    for row in runs.to_dict(orient="records"):
        tally.add({k: (None if k == "weeks_to_government" and pd.isna(v) else v)
                   for k, v in row.items()})  # fmt: skip
    ref = write_batch(tmp_path / "a", runs)
    other = write_batch(tmp_path / "b", runs, "same")
    table = compare(ref, other)
    median = table[(table["outcome"] == "weeks_to_government") & (table["statistic"] == "median")]
    assert tally.median_weeks() == median["estimate"].iloc[0]
    assert np.isinf(tally.median_weeks()) == (p_formed < 0.5)
    formed_only = runs["weeks_to_government"].dropna().median()
    if p_formed > 0.5:
        assert tally.median_weeks() > formed_only, "not the median of the formed runs only"
    summary = format_summary(tally, "t")
    assert "over all runs; no government by the horizon counts as never" in summary
