"""``sim backtest CASE.toml`` (sim.analysis.backtest): the case file, the horizon cut, the score
(probabilities, the recorded duration's percentile, the Brier score), its JSON, and every
bad case file as one line, exit 2, nothing written."""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import BASELINE, SCENARIOS

import sim
from sim.analysis.backtest import brier, duration_shares, load_case
from sim.cli.main import main
from sim.scenario.loading import load_scenario

#: The baseline starts at week 4 with the militias at rung 2 and its first session at week
#: 13: cut at week 6, every run keeps rung 2 in its record and forms no government.
CASE = f"""
scenario = "{BASELINE.as_posix()}"
runs = 40
seed = 7
weeks = 6
conditions = ["max_escalation >= 2", "not formed", "incumbent_attacks >= 1"]
weeks_to_government = "none"
"""


def write(tmp_path, text: str = CASE, name: str = "case.toml"):
    path = tmp_path / name
    path.write_text(text)
    return path


def backtest(path, tmp_path, *extra: str) -> int:
    out = tmp_path / "out"
    return main(["backtest", str(path), "--out", str(out), "--workers", "1", "--quiet", *extra])


# --------------------------------------------------------------------------- the score
def test_the_recorded_duration_is_placed_among_the_runs_ties_counting_half():
    weeks = np.array([10.0, 20.0, np.inf, np.inf])
    assert duration_shares(weeks, 20.0) == (0.25, 0.25, 0.5)  # percentile 37.5
    assert duration_shares(weeks, np.inf) == (0.5, 0.5, 0.0)  # none: percentile 75


def test_the_brier_score_sums_squared_errors_over_the_types():
    forecast = {"majority": 0.5, "consensus": 0.25, "none": 0.25}
    assert brier(forecast, "consensus") == pytest.approx(0.25 + 0.5625 + 0.0625)
    uniform = dict.fromkeys(forecast, 1 / 3)
    assert brier(uniform, "none") == pytest.approx(2 / 3)


def test_a_case_runs_cut_at_its_weeks_and_reports_the_score(tmp_path, capsys):
    assert backtest(write(tmp_path), tmp_path) == 0
    text = capsys.readouterr().out
    runs = sim.load_results(tmp_path / "out")
    assert len(runs) == 40 and set(runs["final_week"]) == {6}  # the horizon cut to week 6
    manifest = sim.load_manifest(tmp_path / "out")
    assert manifest["scenario"]["clock"]["horizon_weeks"] == 6
    attacked = int((runs["incumbent_attacks"] >= 1).sum())
    assert "all 3 conditions at once" in text
    assert f"{'  incumbent_attacks >= 1':<44}{attacked / 40:>7.3f}" in text
    assert "  max_escalation >= 2                         1.000   [0.912, 1.000]" in text
    assert "recorded none by week 6; runs sooner 0.000, the same 1.000, later 0.000; " \
        "percentile 50.0" in text  # fmt: skip
    assert "recorded 'none' (from weeks_to_government)" in text
    # the horizon (week 6) ends before any session can meet (week 13): no skill earned
    assert "Brier 0.000 against 0.667 for a uniform forecast; no skill: no session can " \
        "meet by week 6 (the first in week 13)" in text  # fmt: skip


def test_json_says_the_same_and_a_poor_score_still_exits_0(tmp_path, capsys):
    # the record names a consensus government at week 5: no run can have one by then
    case = CASE.replace('"none"', "5").replace('"not formed"', "\"government_type == 'consensus'\"")
    assert backtest(write(tmp_path, case), tmp_path, "--json") == 0
    score = json.loads(capsys.readouterr().out)
    assert score["runs"] == 40 and score["horizon_weeks"] == 6
    assert score["conditions"][1] == {
        "condition": "government_type == 'consensus'", "p": 0.0, "low": 0.0,
        "high": pytest.approx(0.0876, abs=1e-4), "hits": 0, "runs": 40,
    }  # fmt: skip
    assert score["every_condition"]["hits"] == 0
    weeks = score["weeks_to_government"]
    # every run is still without a government at week 6: the record is below them all
    assert (weeks["recorded"], weeks["later"], weeks["percentile"]) == (5, 1.0, 0.0)
    kind = score["government_type"]
    assert (kind["recorded"], kind["from"]) == ("consensus", "conditions[1]")
    assert kind["brier"] == 2.0  # all on 'none', the worst score
    # ... but no session meets by week 6: the forecast is fixed by the clock, no skill
    assert kind["skill"] is None and kind["sessionless"] is True


def test_a_government_after_the_horizon_counts_as_none_within_it(tmp_path):
    case = load_case(write(tmp_path, CASE.replace('"none"', "30")))
    assert (case.recorded_weeks, case.recorded_type, case.horizon) == (None, "none", 6)


def test_runs_and_seed_on_the_command_line_override_the_case(tmp_path, capsys):
    assert backtest(write(tmp_path), tmp_path, "--runs", "12", "--seed", "3", "--json") == 0
    score = json.loads(capsys.readouterr().out)
    assert (score["runs"], score["seed"]) == (12, 3)


def test_the_shipped_case_runs_from_election_day_with_every_actor_at_rung_0(tmp_path, capsys):
    scenario = load_scenario(SCENARIOS / "election_day_2021.toml")
    assert scenario.clock.start_week == 0 and scenario.escalation.street_start == 0
    assert {f.escalation for f in scenario.factions.values()} == {0}
    case = SCENARIOS / "cases" / "first_month_2021.toml"
    assert backtest(case, tmp_path, "--runs", "20", "--json") == 0
    score = json.loads(capsys.readouterr().out)
    assert (score["start_week"], score["horizon_weeks"]) == (0, 5)
    assert [c["condition"] for c in score["conditions"]][:2] == [
        "max_escalation >= 4",
        "incumbent_attacks >= 1",
    ]
    assert score["government_type"]["recorded"] == "none"


# --------------------------------------------------------------------------- bad case files
TWO_TYPES = "\"government_type == 'majority'\", \"government_type == 'none'\""
BAD = {
    "an unknown key": (CASE + "colour = 1\n", "colour: unknown key; allowed keys: conditions,"),
    "no conditions": (
        CASE.replace('conditions = ["max_escalation >= 2", "not formed", ', "x = [").replace(
            "x = [", "conditions = []\nx = ["
        ),
        "conditions: ",
    ),
    "runs 0": (CASE.replace("runs = 40", "runs = 0"), "runs: Input should be greater than"),
    "runs as text": (CASE.replace("runs = 40", 'runs = "40"'), "runs: Input should be a valid"),
    "weeks to government 'never'": (
        CASE.replace('"none"', '"never"'),
        'weeks_to_government: must be weeks from election day, 0 to 520, or "none"',
    ),
    "a missing scenario": (
        CASE.replace(BASELINE.as_posix(), "nope.toml"),
        "scenario: {tmp}/nope.toml: file not found",
    ),
    "an unknown column": (
        CASE.replace("not formed", "not fromed"),
        "conditions[1]: no column 'fromed'; columns: ",
    ),
    "an unknown category": (
        CASE.replace('"not formed"', "\"government_type == 'grand'\""),
        "conditions[1]: government_type is one of majority, consensus, none, not 'grand'",
    ),
    "weeks before the start": (
        CASE.replace("weeks = 6", "weeks = 4"),
        "weeks: must be above the scenario's clock.start_week (4)",
    ),
    "a type and no government": (
        CASE.replace('"not formed"', "\"government_type == 'majority'\""),
        "weeks_to_government: records no government within the horizon (week 6), but "
        "conditions[1] records a majority one",
    ),
    "two types": (
        CASE.replace('"not formed"', TWO_TYPES),
        "conditions: name two government types",
    ),
    "malformed TOML": ("runs = [\n", "malformed TOML"),
}


@pytest.mark.parametrize("name", list(BAD))
def test_a_bad_case_file_is_one_line_exit_2_and_nothing_written(
    name, tmp_path, monkeypatch, capsys
):
    text, says = BAD[name]
    path = write(tmp_path, text)
    monkeypatch.chdir(tmp_path)  # a default output folder would appear here
    before = sorted(tmp_path.rglob("*"))
    assert main(["backtest", str(path), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(f"error: {path}: "), err
    assert says.format(tmp=tmp_path) in err, err
    assert sorted(tmp_path.rglob("*")) == before, "nothing written"


def test_a_bad_scenario_behind_a_case_is_the_scenarios_error(tmp_path, capsys):
    scenario = write(tmp_path, f'extends = "{BASELINE.as_posix()}"\n[grievance]\ndecay = 2\n',
                     name="bad.toml")  # fmt: skip
    path = write(tmp_path, CASE.replace(BASELINE.as_posix(), "bad.toml"))
    assert main(["backtest", str(path), "--quiet", "--out", str(tmp_path / "o")]) == 2
    assert f"error: {scenario}: grievance.decay: " in capsys.readouterr().err
    assert not (tmp_path / "o").exists()
