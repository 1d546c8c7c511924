"""The case library (scenarios/cases/): every case shares the baseline's behaviour (the rule
declared once in sim.scenario.behaviour), runs with ``sim backtest``, and says whether its
scenario is complete; and the condition on a list of names (``'NAME' in walked_out``) that
the 2021-22 case's walk-out needs."""

from __future__ import annotations

import json
import tomllib

import pandas as pd
import pytest
from conftest import BASELINE, SCENARIOS

from sim.analysis.backtest import load_case
from sim.analysis.conditions import Expression
from sim.cli.main import main
from sim.scenario.behaviour import behavioural_keys, behavioural_overrides, is_behavioural
from sim.scenario.loading import resolve_raw

CASES = SCENARIOS / "cases"
#: Case files are the TOML files of the directory that record conditions (the others are
#: the cases' scenarios).
CASE_FILES = sorted(p for p in CASES.glob("*.toml") if "conditions" in tomllib.loads(p.read_text()))
#: Held out to score the model out of sample: never a case (the developer guide).
HELD_OUT_YEARS = ("2010", "2018", "2025", "2026")


def test_the_library_holds_the_three_training_cases_and_the_first_month():
    names = {p.stem for p in CASE_FILES}
    assert {"formation_2006", "formation_2014", "formation_2021_22", "first_month_2021"} <= names
    for path in CASES.glob("*.toml"):
        assert not any(year in path.stem for year in HELD_OUT_YEARS), path


@pytest.mark.parametrize(
    ("key", "behavioural"),
    [
        ("bargaining.office_value", True),
        ("escalation.thresholds[3]", True),
        ("walk_out.probability", True),
        ("incumbent.attack_probability", True),
        ("parliament.session_probability", True),
        ("escalation.street_start", False),  # the moment's street
        ("bargaining.issue_weights.pmf_mandate", False),  # the moment's agenda
        ("walk_out.seats_to", False),  # the election law
        ("parliament.president_quorum", False),
        ("incumbent.legitimacy", False),
        ("patrons.iran.guarantee", False),
        ("factions.sadrists.seats", False),
        ("clock.first_session_week", False),
    ],
)
def test_each_key_is_behaviour_or_a_fact_of_the_moment(key, behavioural):
    assert is_behavioural(key) is behavioural


@pytest.mark.parametrize("case", CASE_FILES, ids=lambda p: p.stem)
def test_no_case_overrides_a_behavioural_key(case):
    reference, _ = resolve_raw(BASELINE)
    scenario = case.parent / tomllib.loads(case.read_text())["scenario"]
    raw, _ = resolve_raw(scenario)
    assert behavioural_keys(raw)  # the check has something to compare
    assert behavioural_overrides(raw, reference) == {}


def test_the_check_finds_a_case_that_overrides_behaviour(make_scenario):
    reference, _ = resolve_raw(BASELINE)
    raw, _ = resolve_raw(
        make_scenario("[bargaining]\noffice_value = 3.5\n[escalation]\nstreet_start = 0\n")
    )
    # street_start is the moment's: only the behavioural key is reported
    assert behavioural_overrides(raw, reference) == {"bargaining.office_value": (2.72, 3.5)}


@pytest.mark.parametrize("case", CASE_FILES, ids=lambda p: p.stem)
def test_every_case_runs_with_sim_backtest(case, tmp_path, capsys):
    out = tmp_path / "out"
    args = ["backtest", str(case), "--out", str(out), "--runs", "20", "--workers", "1"]
    assert main([*args, "--quiet", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    prepared = load_case(case)
    assert result["runs"] == 20 and result["failed"] == 0
    assert len(result["conditions"]) == len(prepared.conditions)
    # a case that lacks a shock or a mechanism says so, and is not called complete
    assert result["complete"] is (not prepared.case.lacks)
    assert result["lacks"] == list(prepared.case.lacks)


def test_the_cases_that_need_shocks_say_so_and_the_2021_22_case_does_not():
    lacking = {p.stem: load_case(p).case.lacks for p in CASE_FILES}
    assert lacking["formation_2021_22"] == ()
    assert any("Samarra" in what for what in lacking["formation_2006"])
    assert any("transitional rule" in what for what in lacking["formation_2006"])
    assert any("against a nominee" in what for what in lacking["formation_2006"])
    assert any("Mosul" in what for what in lacking["formation_2014"])


def test_an_incomplete_case_says_so_in_the_terminal(tmp_path, capsys):
    case = CASES / "formation_2014.toml"
    args = ["backtest", str(case), "--out", str(tmp_path / "o"), "--runs", "10", "--workers", "1"]
    assert main([*args, "--quiet"]) == 0
    assert "INCOMPLETE case: the scenario lacks 2 thing(s)" in capsys.readouterr().out


# --------------------------------------------------------------------------- list columns
KINDS = {"walked_out": "list", "formed": "bool"}


def test_a_case_can_ask_whether_a_list_walked_out():
    frame = pd.DataFrame(
        {"walked_out": [["sadrists"], [], None, ["fatah", "sadrists"]], "formed": [1, 1, 0, 0]}
    )
    expr = Expression.parse("'sadrists' in walked_out", KINDS, "case.toml")
    assert expr.evaluate(frame).tolist() == [True, False, False, True]
    expr = Expression.parse("'sadrists' not in walked_out and formed", KINDS, "case.toml")
    assert expr.evaluate(frame).tolist() == [False, True, False, False]
