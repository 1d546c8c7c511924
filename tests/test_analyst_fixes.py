"""What an analyst reads: names in words, and the small things that read wrong (issue 21).

Each test is one item: a zero median difference carries no star; SALib's warnings are one
line; conditions test list columns and take parentheses; the baseline's walk-out comment
says what the value does; the README's ``mesa.batch_run`` example is seeded and guarded;
the terminal summary speaks the registry's words, a sweep's summary goes point by point,
the default output folder is the scenario's name; labels are checked like any field; the
view's sliders say what they set and their value."""

from __future__ import annotations

import re
import tomllib
import warnings

import numpy as np
import pandas as pd
import pytest
from conftest import BASELINE, ROOT
from test_compare import rows, synthetic_runs, write_batch

import sim
from sim.analysis.compare import compare
from sim.analysis.conditions import Expression
from sim.analysis.sensitivity import analyze, salib_note, sample
from sim.batch.outputs import ResultsError
from sim.cli.main import main

README = (ROOT / "README.md").read_text()


# --------------------------------------------------------------------------- compare
def test_a_median_that_did_not_move_gets_no_star(tmp_path):
    base = synthetic_runs(400, 1)
    changed = base.copy()
    median = float(np.median(base["casualties"]))
    # the upper half moves far up, the median itself stays: the signed-rank test rejects
    changed.loc[changed["casualties"] > median, "casualties"] += 50
    table = compare(write_batch(tmp_path / "a", base), write_batch(tmp_path / "b", changed, "b"))
    row = rows(table, "casualties", statistic="median", scenario="b").iloc[0]
    assert row["diff"] == 0 and row["p_adjusted"] < 0.05  # the distribution did move
    assert not row["significant"]
    mean = rows(table, "casualties", statistic="mean", scenario="b").iloc[0]
    assert mean["diff"] > 0


# --------------------------------------------------------------------------- SALib
def test_salib_warnings_are_kept_and_said_in_one_line():
    prob = {"num_vars": 2, "names": ["a", "b"], "bounds": [[0, 1], [0, 1]]}
    x = sample(prob, "sobol", 16, 1)
    y = np.zeros(len(x))
    y[1] = 1.0  # only one AB row varies: SALib finds constant resamples and warns
    with warnings.catch_warnings(record=True) as leaked:
        warnings.simplefilter("always")
        table = analyze(prob, x, y, "sobol", 1)
    assert not [w for w in leaked if "Constant values" in str(w.message)]
    assert table.attrs["warnings"] and "Constant values" in table.attrs["warnings"][0]
    summary = {"outcomes": {"p": {"label": "P(x)", "salib_warnings": table.attrs["warnings"]}}}
    note = salib_note(summary)
    assert "\n" not in note and note.startswith("note: SALib warned while analysing P(x)")
    assert f"({len(table.attrs['warnings'])} time(s))" in note
    assert salib_note({"outcomes": {"p": {"label": "P(x)", "salib_warnings": []}}}) == ""


# --------------------------------------------------------------------------- conditions
KINDS = {"formed": "bool", "max_escalation": "number", "walked_out": "list",
         "pmf_status": "text"}  # fmt: skip
FRAME = pd.DataFrame(
    {
        "formed": [True, False, True, True],
        "max_escalation": [5, 2, 3, 4],
        "walked_out": [["sadrists"], [], ["sadrists", "kdp"], []],
        "pmf_status": ["intact", "intact", "curtailed", "intact"],
    }
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("'sadrists' in walked_out", [True, False, True, False]),
        ("kdp in walked_out", [False, False, True, False]),
        ("'sadrists' not in walked_out", [False, True, False, True]),
        ("walked_out", [True, False, True, False]),
        ("not walked_out", [False, True, False, True]),
        ("(max_escalation >= 4 or pmf_status == curtailed) and formed", [True, False, True, True]),
        (
            "max_escalation >= 4 or pmf_status == curtailed and not formed",
            [True, False, False, True],
        ),
        ("not (formed and max_escalation >= 4)", [False, True, True, False]),
        ("not ('sadrists' in walked_out or max_escalation < 3)", [False, False, False, True]),
        ("((formed))", [True, False, True, True]),
    ],
)
def test_conditions_test_list_columns_and_take_parentheses(text, expected):
    assert Expression.parse(text, KINDS, "d").evaluate(FRAME).tolist() == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("'sadrists' in pmf_status", "'pmf_status' is not a list column; list columns: walked_out"),
        ("walked_out == sadrists", "walked_out is a list"),
        ("(formed", "a '(' is not closed"),
        ("formed)", "unmatched ')'"),
        ("()", "empty parentheses"),
        ("formed and", "nothing after 'and'"),
    ],
)
def test_bad_conditions_still_say_what_is_wrong(text, message):
    with pytest.raises(ResultsError) as err:
        Expression.parse(text, KINDS, "d")
    assert message in str(err.value)


def test_a_backtest_case_can_name_a_walk_out(tmp_path):
    runs = sim.load_results  # the case's conditions are checked against the run table
    case = tmp_path / "case.toml"
    case.write_text(
        f'scenario = "{BASELINE.as_posix()}"\nruns = 20\nseed = 3\nweeks = 30\n'
        "conditions = [\"'sadrists' in walked_out or (not formed and max_escalation >= 2)\"]\n"
        'weeks_to_government = "none"\n'
    )
    assert main(["backtest", str(case), "--out", str(tmp_path / "o"), "--quiet"]) == 0
    table = runs(tmp_path / "o")
    expected = np.mean(
        [("sadrists" in list(w)) or (not f and m >= 2)
         for w, f, m in zip(table["walked_out"], table["formed"], table["max_escalation"],
                            strict=True)]
    )  # fmt: skip
    score = sim.analysis.backtest.score(sim.analysis.backtest.load_case(case), tmp_path / "o")
    assert score.each[0].p == pytest.approx(expected)


# --------------------------------------------------------------------------- the files
def test_the_baseline_walk_out_comment_agrees_with_its_value():
    raw = tomllib.loads(BASELINE.read_text())
    assert raw["walk_out"]["probability"] > 0
    line = next(
        x for x in BASELINE.read_text().splitlines() if x.startswith("probability = ")
        and "walks out" in x
    )  # fmt: skip
    assert "nobody walks out in the baseline" not in line


def test_every_shipped_faction_has_a_label_with_a_source():
    for path in sorted((ROOT / "scenarios").glob("*.toml")):
        scenario = sim.load_scenario(path)
        for name, faction in scenario.factions.items():
            assert faction.label, f"{path.name}: factions.{name} has no label"
        text = path.read_text()
        for line in text.splitlines():
            if line.startswith("label = "):
                assert re.search(r"#\s*\[", line), f"{path.name}: a label without a source: {line}"


def test_a_bad_label_is_one_line_naming_the_key(make_scenario, capsys):
    path = make_scenario('[factions.kdp]\nlabel = ""')
    assert main(["validate", str(path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "factions.kdp.label" in err[0]


def test_the_readme_batch_run_example_is_seeded_guarded_and_reproducible(monkeypatch):
    blocks = re.findall(r"```python\n(.*?)```", README, re.S)
    code = next(b for b in blocks if "mesa.batch_run(" in b)
    assert 'if __name__ == "__main__":' in code and '"rng": range(' in code
    monkeypatch.chdir(ROOT)
    small = code.replace("number_processes=2", "number_processes=1")  # spawn is slow in tests
    small = re.sub(r'"rng": range\(\d+\)', '"rng": range(3)', small)
    tables = []
    for _ in range(2):
        scope = {"__name__": "__main__"}
        exec(compile(small, "README.md", "exec"), scope)
        tables.append(pd.DataFrame(scope["rows"]).sort_values(["RunId"]).reset_index(drop=True))
    assert len(tables[0]) == 2 * 3
    pd.testing.assert_frame_equal(tables[0], tables[1])  # same seeds, same table


# --------------------------------------------------------------------------- the terminal
def test_the_summary_uses_the_registry_labels_and_a_sweep_goes_point_by_point(tmp_path, capsys):
    out = tmp_path / "s"
    args = ["sweep", str(BASELINE), "--param", "patrons.iran.mediation=0.3,0.9"]
    assert main([*args, "--replicates", "30", "--quiet", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "Government type" in text and "Highest rung" in text and "5 armed conflict" in text
    assert not re.search(r"^government_type\s", text, re.M)
    assert "(all 2 sweep points pooled)" in text
    table = sim.load_results(out)
    for point, group in table.groupby("point"):
        majority = (group["government_type"] == "majority").mean()
        value = 0.3 if point == 0 else 0.9
        line = next(x for x in text.splitlines() if re.match(rf"\s+{point}\s+{value}\s", x))
        assert f"{majority:.3f}" in line and " 30 " in line


def test_the_default_output_folder_is_the_scenario_name(tmp_path, monkeypatch, make_scenario):
    path = make_scenario('name = "my study"', name="file_stem.toml")
    monkeypatch.chdir(tmp_path)
    assert main(["run", str(path), "--runs", "2", "--quiet"]) == 0
    assert (tmp_path / "results" / "my_study" / "manifest.json").is_file()
    assert not (tmp_path / "results" / "file_stem").exists()


# --------------------------------------------------------------------------- the view
def test_sliders_say_what_they_set_and_their_value():
    from sim.scenario.loading import resolve_raw
    from sim.scenario.ranges import parse_ranges
    from sim.view.watch import slider_label, slider_specs

    raw, origin = resolve_raw(BASELINE)
    specs = {s.key: s for s in slider_specs(parse_ranges(raw, origin, str(BASELINE)), raw)}
    iran = specs["patrons.iran.mediation"]
    assert iran.label == "Iran: mediation"
    assert iran.text(iran.value) == f"Iran: mediation = {iran.value:g}"
    assert iran.text(0.5) == "Iran: mediation = 0.5"
    assert slider_label("factions.fatah.armed", raw) == "Fatah Alliance: armed"
    assert slider_label("bargaining.safety_value", raw) == "bargaining: safety value"
    assert all(s.label and "." not in s.label.split(":")[0] for s in specs.values())
