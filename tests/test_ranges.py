"""Parameter ranges: the baseline's, and every kind of bad range, through the CLI."""

from __future__ import annotations

from pathlib import Path

import pytest

from sim.cli.main import main
from sim.engine.dotted import get_dotted
from sim.scenario.loading import ScenarioError, resolve_raw
from sim.scenario.ranges import parse_ranges, select

BASELINE = Path(__file__).resolve().parents[1] / "scenarios" / "baseline.toml"


def child(tmp_path: Path, body: str, name: str = "child.toml") -> Path:
    path = tmp_path / name
    path.write_text(f'extends = "{BASELINE}"\nname = "child"\n{body}\n')
    return path


def ranges_of(path: Path):
    raw, origin = resolve_raw(path)
    return parse_ranges(raw, origin, str(path))


def test_baseline_declares_sourced_ranges_that_hold_its_values():
    raw, _ = resolve_raw(BASELINE)
    ranges = ranges_of(BASELINE)
    assert 15 <= len(ranges) <= 40
    keys = {r.key for r in ranges}
    # the families the issue names: bargaining, escalation, grievance, incumbent, patrons,
    # governance
    for family in ("bargaining.", "escalation.", "grievance.", "incumbent.", "patrons."):
        assert any(k.startswith(family) for k in keys), family
    assert any(k.startswith("governance.") for k in keys)
    for r in ranges:
        assert r.source and r.low < r.high
        value = get_dotted(raw, r.key)
        assert r.low <= value <= r.high, f"baseline {r.key} = {value} outside its range"


def test_child_narrows_one_range_and_inherits_the_rest(tmp_path):
    path = child(
        tmp_path,
        '[ranges]\n"patrons.iran.mediation" = { low = 0.5, high = 0.6, source = "narrower" }',
    )
    ranges = {r.key: r for r in ranges_of(path)}
    assert len(ranges) == len(ranges_of(BASELINE))
    assert (ranges["patrons.iran.mediation"].low, ranges["patrons.iran.mediation"].high) == (
        0.5,
        0.6,
    )
    assert ranges["patrons.iran.mediation"].source == "narrower"


def test_unquoted_dotted_keys_and_integer_parameters(tmp_path):
    body = (
        "[ranges.bargaining]\n"
        'buffer_seats = { low = 4, high = 16, source = "assumption" }\n'
        'office_value = { low = 1.0, high = 3.0, source = "assumption" }'
    )
    ranges = {r.key: r for r in ranges_of(child(tmp_path, body))}
    seats = ranges["bargaining.buffer_seats"]
    assert seats.integer and seats.value(7.6) == 8 and isinstance(seats.value(7.6), int)
    assert not ranges["bargaining.office_value"].integer
    assert ranges["bargaining.office_value"].value(2) == 2.0


BAD = [
    (
        '"patrons.iran.mediation" = { low = 0.9, high = 0.3, source = "x" }',
        "ranges.patrons.iran.mediation",
        "low (0.9) must be below high (0.3)",
    ),
    (
        '"patrons.iran.charm" = { low = 0.1, high = 0.3, source = "x" }',
        "ranges.patrons.iran.charm",
        "is not a parameter of this scenario",
    ),
    (
        '"patrons.iran.mediation" = { low = 0.5, high = 1.5, source = "x" }',
        "ranges.patrons.iran.mediation",
        "high = 1.5 is outside what patrons.iran.mediation allows",
    ),
    (
        '"escalation.slope" = { low = -2.0, high = 5.0, source = "x" }',
        "ranges.escalation.slope",
        "low = -2 is outside what escalation.slope allows",
    ),
    (
        '"incumbent.present" = { low = 0, high = 1, source = "x" }',
        "ranges.incumbent.present",
        "only numbers can have ranges",
    ),
    (
        '"bargaining.switching_cost" = { low = 0.1, high = 0.3 }',
        "ranges.bargaining.switching_cost.source",
        "required key is missing",
    ),
    (
        '"grievance.decay" = { low = 0.01, high = 0.1, source = "x", step = 2 }',
        "ranges.grievance.decay.step",
        "unknown key; allowed keys: high, low, source",
    ),
    (
        '"grievance.decay" = { low = "a", high = 0.1, source = "x" }',
        "ranges.grievance.decay.low",
        "Input should be a valid number",
    ),
    ('"grievance.decay" = 0.05', "ranges.grievance.decay", "expected a table"),
]


@pytest.mark.parametrize(("entry", "key", "message"), BAD)
def test_bad_range_is_one_clear_line_and_nothing_written(tmp_path, capsys, entry, key, message):
    path = child(tmp_path, f"[ranges]\n{entry}")
    out = tmp_path / "out"
    code = main(["sensitivity", str(path), "--samples", "2", "--out", str(out), "--quiet"])
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith(f"error: {path}: {key}: ")
    assert message in err
    assert not out.exists()


def test_bad_range_in_the_base_file_is_blamed_on_the_base(tmp_path, capsys):
    base = tmp_path / "base.toml"
    base.write_text(
        BASELINE.read_text()
        + '\n"bargaining.switching_cost" = { low = 0.8, high = 0.1, source = "typo" }\n'
    )
    path = tmp_path / "derived.toml"
    path.write_text('extends = "base.toml"\nname = "derived"\n')
    assert main(["sensitivity", str(path), "--out", str(tmp_path / "o"), "--quiet"]) == 2
    assert capsys.readouterr().err.startswith(f"error: {base}: ranges.bargaining.switching_cost: ")


def test_no_ranges_and_undeclared_param_are_errors(tmp_path, capsys):
    bare = tmp_path / "bare.toml"
    text = BASELINE.read_text()
    bare.write_text(text[: text.index("[ranges]")])
    assert main(["sensitivity", str(bare), "--out", str(tmp_path / "o"), "--quiet"]) == 2
    assert "ranges: no parameter ranges declared" in capsys.readouterr().err
    args = ["sensitivity", str(BASELINE), "--param", "patrons.iran.charm", "--quiet"]
    assert main([*args, "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "--param patrons.iran.charm: no range declared" in err
    assert "patrons.iran.mediation" in err  # lists what is declared
    assert not (tmp_path / "o").exists()


def test_select_keeps_the_requested_order():
    ranges = ranges_of(BASELINE)
    picked = select(ranges, ["grievance.decay", "escalation.slope"], "f")
    assert [r.key for r in picked] == ["grievance.decay", "escalation.slope"]
    with pytest.raises(ScenarioError, match="named twice"):
        select(ranges, ["grievance.decay", "grievance.decay"], "f")


def test_ranges_do_not_change_the_scenario_or_its_validation(tmp_path):
    # a [ranges] table is an experiment on the scenario: `sim validate` accepts it
    path = child(tmp_path, '[ranges]\n"grievance.decay" = { low = 0.01, high = 0.1, source = "x" }')
    assert main(["validate", str(path)]) == 0
