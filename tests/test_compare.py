"""sim compare: intervals that cover, tests that find planted differences and leave identical
batches alone, common random numbers detected, the CSV as documented, clean CLI errors.

Batches are synthetic (Parquet + manifest written here), so the tests are fast, exact and
independent of the model's calibration."""

from __future__ import annotations

import importlib
import json
import re

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import sim
from sim.analysis.compare import TABLE_COLUMNS, CompareError, compare, load_batches
from sim.analysis.statistics import (
    bootstrap,
    newcombe_interval,
    paired_newcombe_interval,
    percentile_interval,
)
from sim.cli.main import main
from sim.engine.outcomes import wilson_interval

DOCUMENTED_COLUMNS = [
    "outcome", "value", "statistic", "scenario", "n", "estimate", "ci_low", "ci_high",
    "diff", "diff_low", "diff_high", "test", "p_value", "p_adjusted", "significant",
    "pairing", "excluded",
]  # fmt: skip


# --------------------------------------------------------------------------- synthetic batches
def synthetic_runs(
    n: int,
    draw_seed: int,
    *,
    batch_seed: int = 7,
    p_majority: float = 0.3,
    p_formed: float = 0.85,
    casualty_mean: float = 4.0,
    weeks_shift: int = 0,
) -> pd.DataFrame:
    """A run table shaped like the simulator's, with known outcome distributions."""
    rng = np.random.default_rng(draw_seed)
    formed = rng.random(n) < p_formed
    majority = rng.random(n) < p_majority
    weeks = 20 + rng.poisson(10, n) + weeks_shift
    final = np.where(formed, weeks + 12, 78)
    return pd.DataFrame(
        {
            "run_id": np.arange(n),
            "seed": batch_seed * 1_000_003 + np.arange(n),  # replicate i's seed, per batch seed
            "formed": formed,
            "weeks_to_government": pd.Series(weeks, dtype="Int64").where(formed),
            "government_type": np.where(
                ~formed, "none", np.where(majority, "majority", "consensus")
            ),
            "pm_kind": np.where(~formed, "none", np.where(majority, "incumbent", "formateur")),
            "pm_faction": np.where(formed & ~majority, "sadrists", None),
            "blocking_third": rng.random(n) < 0.2,
            "incumbent_survived": rng.random(n) < 0.95,
            "max_escalation": np.minimum(5, 1 + rng.poisson(1.0, n)),
            "casualties": rng.poisson(rng.exponential(casualty_mean, n)),
            "pmf_status": np.where(majority & formed, "curtailed", "intact"),
            "escalation_by_week": [
                np.clip(2 + np.cumsum(rng.integers(-1, 2, f - 3)) // 4, 0, 5).tolist()
                for f in final
            ],
            "error": None,
        }
    )


def write_batch(path, frame: pd.DataFrame, name: str = "baseline", seed: int = 7, sweep=None):
    """A batch directory: runs/part-*.parquet and manifest.json."""
    (path / "runs").mkdir(parents=True)
    frame = frame.astype({"error": "object"})
    table = pa.Table.from_pandas(frame, preserve_index=False)
    table = table.set_column(
        table.schema.get_field_index("escalation_by_week"),
        "escalation_by_week",
        pa.array(frame["escalation_by_week"].tolist(), type=pa.list_(pa.int8())),
    )
    pq.write_table(table, path / "runs" / f"part-000000000-{len(frame) - 1:09d}.parquet")
    manifest = {
        "scenario_name": name,
        "scenario_path": f"scenarios/{name}.toml",
        "scenario_hash": f"{abs(hash(name)):064x}"[:64],
        "scenario": {"clock": {"start_week": 4, "horizon_weeks": 78, "follow_up_weeks": 12}},
        "seed": seed,
        "replicates": len(frame),
        "runs": len(frame),
        "sweep": sweep,
        "seeding": "run i uses SeedSequence(seed, spawn_key=(i mod replicates,))",
        "versions": {"python": "3.11", "sim": "test"},
        "host": {"platform": "test", "cpus": 2},
        "status": "complete",
        "created": "2021-11-07T00:00:00+00:00",
        "sessions": [{"finished": "2021-11-07T00:01:00+00:00", "seconds": 1.0}],
        "failed_runs": int(frame["error"].notna().sum()),
    }
    (path / "manifest.json").write_text(json.dumps(manifest))
    return path


def rows(table, outcome, value="", statistic=None, scenario=None):
    sel = (table["outcome"] == outcome) & (table["value"] == value)
    if statistic:
        sel &= table["statistic"] == statistic
    if scenario:
        sel &= table["scenario"] == scenario
    return table[sel]


# --------------------------------------------------------------------------- coverage
def test_wilson_interval_covers_at_nominal_rate():
    rng = np.random.default_rng(1)
    p, n = 0.2, 120
    hits = rng.binomial(n, p, size=3000)
    covered = [lo <= p <= hi for lo, hi in (wilson_interval(k, n) for k in hits)]
    assert 0.93 <= np.mean(covered) <= 0.97


def test_newcombe_difference_interval_covers_at_nominal_rate():
    rng = np.random.default_rng(2)
    p1, n1, p0, n0 = 0.35, 150, 0.2, 120
    k1, k0 = rng.binomial(n1, p1, 3000), rng.binomial(n0, p0, 3000)
    covered = [
        lo <= p1 - p0 <= hi
        for lo, hi in (newcombe_interval(a, n1, b, n0) for a, b in zip(k1, k0, strict=True))
    ]
    assert 0.93 <= np.mean(covered) <= 0.975


def test_paired_difference_interval_covers_and_is_narrower_than_unpaired():
    """Pairs (both, only 1, only 0, neither) with p1 = 0.4, p0 = 0.3, strongly correlated."""
    rng = np.random.default_rng(3)
    n, cells = 200, [0.25, 0.15, 0.05, 0.55]
    tables = rng.multinomial(n, cells, size=3000)
    intervals = [paired_newcombe_interval(*t) for t in tables]
    assert 0.93 <= np.mean([lo <= 0.1 <= hi for lo, hi in intervals]) <= 0.975
    both, only1, only0, _ = tables[0]
    unpaired = newcombe_interval(both + only1, n, both + only0, n)
    paired = intervals[0]
    assert paired[1] - paired[0] < unpaired[1] - unpaired[0]


@pytest.mark.slow  # a coverage study, about 1 s
def test_bootstrap_intervals_cover_median_and_mean_at_about_nominal_rate():
    """Heavy-ish tailed data (exponential, like casualties) with known median and mean."""
    rng = np.random.default_rng(4)
    truth = np.array([10 * np.log(2), 10.0])  # median and mean of Exponential(10)
    covered = []
    for _ in range(400):
        x = rng.exponential(10, 150)
        low, high = percentile_interval(bootstrap(x, ["median", "mean"], rng, 400))
        covered.append((low <= truth) & (truth <= high))
    rate = np.mean(covered, axis=0)
    assert ((rate >= 0.9) & (rate <= 0.98)).all(), rate


# --------------------------------------------------------------------------- tests of differences
def test_identical_batches_are_paired_and_nothing_is_flagged(tmp_path):
    runs = synthetic_runs(400, 1)
    a = write_batch(tmp_path / "a", runs)
    b = write_batch(tmp_path / "b", runs, name="copy")
    table = compare(a, b)
    assert list(table.columns) == TABLE_COLUMNS
    other = table[table["scenario"] == "copy"]
    assert other["pairing"].str.startswith("paired: common random numbers (400").all()
    assert not table["significant"].any()
    assert (other["diff"].abs() < 1e-12).all()
    assert (other["p_value"].dropna() == 1.0).all()


def test_same_distribution_with_other_seeds_is_unpaired_and_not_flagged(tmp_path):
    a = write_batch(tmp_path / "a", synthetic_runs(500, 1, batch_seed=7), seed=7)
    b = write_batch(tmp_path / "b", synthetic_runs(500, 2, batch_seed=8), "other", seed=8)
    table = compare(a, b)
    other = table[table["scenario"] == "other"]
    assert other["pairing"].str.contains("unpaired: different batch seeds").all()
    assert set(other["test"]) - {""} <= {
        "chi-square", "Fisher exact", "Mann-Whitney U", "none (no variation)"
    }  # fmt: skip
    assert not table["significant"].any()


def test_planted_differences_are_detected_unpaired(tmp_path):
    a = write_batch(tmp_path / "a", synthetic_runs(600, 1, batch_seed=7), seed=7)
    b = synthetic_runs(600, 2, batch_seed=8, p_majority=0.5, casualty_mean=12.0, weeks_shift=6)
    b = write_batch(tmp_path / "b", b, "planted", seed=8)
    table = compare(a, b)
    majority = rows(table, "government_type", "majority", scenario="planted").iloc[0]
    assert majority["significant"] and majority["diff"] > 0
    assert majority["diff_low"] > 0  # the interval excludes no difference
    for outcome in ("casualties", "weeks_to_government"):
        median = rows(table, outcome, statistic="median", scenario="planted").iloc[0]
        assert median["test"] == "Mann-Whitney U"
        assert median["significant"] and median["diff"] > 0
    # untouched outcomes stay unflagged
    assert not rows(table, "blocking_third", "true", scenario="planted")["significant"].any()


def test_planted_difference_is_detected_by_paired_tests(tmp_path):
    base = synthetic_runs(400, 1)
    changed = base.copy()
    flip = (changed["government_type"] == "consensus").to_numpy() & (np.arange(400) % 5 == 0)
    changed.loc[flip, ["government_type", "pm_kind"]] = ["majority", "incumbent"]
    changed["casualties"] = changed["casualties"] + (np.arange(400) % 3 == 0)
    a = write_batch(tmp_path / "a", base)
    b = write_batch(tmp_path / "b", changed, "planted")
    table = compare(a, b)
    majority = rows(table, "government_type", "majority", scenario="planted").iloc[0]
    assert majority["test"] == "McNemar exact (paired)"
    assert majority["significant"]
    assert majority["diff"] == pytest.approx(flip.sum() / 400)
    casualties = rows(table, "casualties", statistic="median", scenario="planted").iloc[0]
    assert casualties["test"] == "Wilcoxon signed-rank (paired)" and casualties["significant"]
    assert not rows(table, "blocking_third", "true", scenario="planted")["significant"].any()
    unpaired = compare(a, b, paired=False)
    assert rows(unpaired, "government_type", "majority", scenario="planted")["test"].iloc[0] in (
        "chi-square",
        "Fisher exact",
    )


def test_errored_runs_are_excluded_and_counted(tmp_path):
    runs = synthetic_runs(100, 1)
    broken = runs.copy()
    broken.loc[:9, "error"] = "RuntimeError: planted"
    a = write_batch(tmp_path / "a", runs)
    b = write_batch(tmp_path / "b", broken, "broken")
    table = compare(a, b)
    mine = table[table["scenario"] == "broken"]
    assert (mine["n"] == 90).all() and (mine["excluded"] == 10).all()
    assert mine["pairing"].str.contains(r"\(90 shared seeds\)").all()
    assert "10 failed (excluded)" in sim.format_table(table)


def test_weeks_without_government_count_as_never(tmp_path):
    runs = synthetic_runs(200, 1, p_formed=0.3)
    a = write_batch(tmp_path / "a", runs)
    b = write_batch(tmp_path / "b", runs, "same")
    table = compare(a, b)
    median = rows(table, "weeks_to_government", statistic="median", scenario="baseline")
    assert np.isinf(median["estimate"].iloc[0])  # under half the runs formed a government
    assert "never" in sim.format_table(table)


def test_by_compares_the_points_of_a_sweep(tmp_path):
    key = "patrons.iran.mediation"
    low = synthetic_runs(300, 1).assign(point=0, **{key: 0.2})
    high = synthetic_runs(300, 2, p_majority=0.6).assign(point=1, **{key: 0.8})
    high["seed"] = low["seed"]  # replicate i of every point runs on the same seed
    frame = pd.concat([low, high], ignore_index=True).assign(run_id=np.arange(600))
    sweep = {"parameters": [key], "points": [{key: 0.2}, {key: 0.8}]}
    d = write_batch(tmp_path / "sweep", frame, "baseline", sweep=sweep)
    table = compare(d, by=key)
    assert list(dict.fromkeys(table["scenario"])) == [f"{key}=0.2", f"{key}=0.8"]
    majority = rows(table, "government_type", "majority", scenario=f"{key}=0.8").iloc[0]
    assert majority["pairing"].startswith("paired") and majority["significant"]
    with pytest.raises(
        CompareError,
        match=r"--by nope: not a swept parameter .*\(allowed: patrons\.iran\.mediation\)",
    ):
        load_batches([d], by="nope")


def test_bh_correction_flags_at_least_what_holm_does(tmp_path):
    a = write_batch(tmp_path / "a", synthetic_runs(300, 1, batch_seed=7), seed=7)
    b = synthetic_runs(300, 2, batch_seed=8, p_majority=0.42, casualty_mean=6.0)
    b = write_batch(tmp_path / "b", b, "b", seed=8)
    holm, bh = compare(a, b), compare(a, b, correction="bh")
    assert (holm["p_adjusted"].dropna() >= bh["p_adjusted"].dropna() - 1e-12).all()
    assert bh["significant"].sum() >= holm["significant"].sum()


# --------------------------------------------------------------------------- CLI and CSV
def test_csv_columns_are_as_documented(tmp_path, capsys):
    a = write_batch(tmp_path / "a", synthetic_runs(100, 1))
    b = write_batch(tmp_path / "b", synthetic_runs(100, 2, batch_seed=9), "other", seed=9)
    out = tmp_path / "table.csv"
    assert main(["compare", str(a), str(b), "--csv", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "unpaired: different batch seeds (9 vs 7)" in printed
    csv = pd.read_csv(out)
    assert list(csv.columns) == DOCUMENTED_COLUMNS == TABLE_COLUMNS
    docs = importlib.import_module("sim.analysis.compare").__doc__
    for column in DOCUMENTED_COLUMNS:  # each column is described in the module's docs
        assert re.search(rf"^{column}\s", docs, re.M), column
    assert len(csv) == len(compare(a, b))
    assert csv["p_value"].notna().any() and csv["ci_low"].le(csv["estimate"]).all()


@pytest.mark.parametrize(
    "setup, args, message",
    [
        ("missing", ["compare", "{tmp}/nowhere", "{tmp}/a"], "{tmp}/nowhere: no such batch"),
        ("no manifest", ["compare", "{tmp}/empty", "{tmp}/a"], "{tmp}/empty: no manifest.json"),
        ("one batch", ["compare", "{tmp}/a"], "need at least 2 scenarios"),
        ("bad by", ["compare", "{tmp}/a", "--by", "x.y"], "--by x.y: not a swept parameter"),
    ],
)
def test_bad_input_is_one_line_and_exit_2_with_nothing_written(
    tmp_path, capsys, setup, args, message
):
    write_batch(tmp_path / "a", synthetic_runs(50, 1))
    (tmp_path / "empty").mkdir()
    csv = tmp_path / "out.csv"
    argv = [a.format(tmp=tmp_path) for a in args] + ["--csv", str(csv)]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert message.format(tmp=tmp_path) in err
    assert not csv.exists()


# --------------------------------------------------------------------------- words a reader reads
def test_no_government_and_a_pm_without_a_party_are_separate_values(tmp_path):
    # synthetic_runs: no government (none, null list), a majority under a PM from no
    # list (null list), a consensus under a sadrist PM
    frame = synthetic_runs(300, 4)
    a = write_batch(tmp_path / "a", frame)
    b = write_batch(tmp_path / "b", synthetic_runs(300, 5), "other")
    table = compare(a, b)
    formed = frame["formed"].to_numpy()
    majority = (frame["government_type"] == "majority").to_numpy()
    counts = {
        "(no government)": (~formed).sum(),
        "(PM without a party)": (formed & majority).sum(),
        "sadrists": (frame["pm_faction"] == "sadrists").sum(),
    }
    for value, k in counts.items():
        row = rows(table, "pm_faction", value, scenario="baseline").iloc[0]
        assert row["estimate"] == pytest.approx(k / 300), value
    assert "(no party)" not in set(table["value"])
    # paired: each side's null list is read with its own government type
    paired = rows(table, "pm_faction", "(no government)", scenario="other").iloc[0]
    assert paired["pairing"].startswith("paired")
    assert paired["diff"] == pytest.approx(
        (~synthetic_runs(300, 5)["formed"]).mean() - (~formed).mean()
    )


def test_terminal_table_titles_rows_in_words_and_rounds_intervals(tmp_path):
    frame = synthetic_runs(200, 6)  # max_escalation is never 0: an interval at zero
    a = write_batch(tmp_path / "a", frame)
    b = write_batch(tmp_path / "b", synthetic_runs(200, 7), "other")
    text = sim.format_table(compare(a, b))
    for title in ("Government type: majority", "Highest rung: 4 targeted attacks",
                  "Government formed", "Weeks to government: median", "Casualties: mean",
                  "Prime minister's list: (no government)"):  # fmt: skip
        assert f"\n{title}\n" in text, title
    assert "\nmax_escalation" not in text and "government_type =" not in text
    zero = text.split("\nHighest rung: 0 politics\n")[1].splitlines()[0]
    assert "0.000 [0.000, 0.019]" in zero
    assert not re.search(r"\de-\d", text.split("* significant")[0])  # no exponent forms


def test_labels_name_rungs_and_round_bounds_to_what_is_shown():
    from sim.analysis.labels import estimate_text, interval, value_label

    assert interval(1.1e-19, 0.0019) == "[0.000, 0.002]"
    assert estimate_text(-1e-19, "formed", "probability", signed=True) == "+0.000"
    assert estimate_text(float("inf"), "weeks_to_government", "median") == "never"
    assert estimate_text(float("inf"), "weeks_to_government", "median", True) == "n/a"
    assert [value_label("max_escalation", k) for k in range(6)] == [
        "0 politics", "1 threats", "2 protests", "3 clashes", "4 targeted attacks",
        "5 armed conflict",
    ]  # fmt: skip
    assert value_label("government_type", "majority") == "majority"


def test_format_table_of_one_batch_has_no_differences(tmp_path):
    a = write_batch(tmp_path / "a", synthetic_runs(80, 1))
    text = sim.format_table(compare(a))
    assert text.startswith("Summary of baseline")
    assert "difference" not in text and "over 0 tests" not in text and "reference" not in text
