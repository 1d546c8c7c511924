"""Scenario files: loading, extends, frozen objects, and every config error through the CLI
(in this process; tests/test_bad_input.py has the table of hostile inputs)."""

from __future__ import annotations

import pydantic
import pytest

from sim.cli.main import main
from sim.engine.schema import MAX_SEATS, MAX_WEIGHT
from sim.scenario.loading import ScenarioError, load_scenario, resolve_raw, scenario_hash
from tests.conftest import BASELINE, SCENARIOS


def test_baseline_loads_into_frozen_typed_objects():
    sc = load_scenario(BASELINE)
    assert sc.parliament.size == 329
    assert sum(f.seats for f in sc.factions.values()) == 329
    assert set(sc.patrons) == {"iran", "us", "turkey"}
    with pytest.raises(pydantic.ValidationError):
        sc.parliament.size = 300  # frozen
    assert isinstance(sc.escalation.thresholds, tuple)


SOURCE_TAGS = ("[article", "[constitution]", "[IHEC", "[assumption]", "[scenario]")


def test_every_baseline_parameter_line_cites_a_source():
    """Each ``key = value`` line of the baseline carries a comment naming its source."""
    text = BASELINE.read_text()
    world = text[: text.index("[ranges]")]  # ranges carry their own 'source' field
    missing = [
        line
        for line in world.splitlines()
        if "=" in line
        and not line.lstrip().startswith(("#", "["))
        and not any(tag in line.partition("#")[2] for tag in SOURCE_TAGS)
    ]
    assert not missing, missing[:5]


def test_extends_overrides_only_what_changes(make_scenario):
    path = make_scenario('name = "v"\n[patrons.iran]\nmediation = 0.1\n')
    sc, base = load_scenario(path), load_scenario(BASELINE)
    assert sc.patrons["iran"].mediation == 0.1
    assert sc.patrons["iran"].guarantee == base.patrons["iran"].guarantee
    assert sc.factions == base.factions
    raw_a, _ = resolve_raw(path)
    raw_b, _ = resolve_raw(BASELINE)
    assert scenario_hash(raw_a) != scenario_hash(raw_b)


def test_error_names_the_file_that_set_the_key(make_scenario):
    path = make_scenario("[patrons.iran]\nmediation = 7.0\n")
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    assert info.value.file == str(path)
    assert info.value.key == "patrons.iran.mediation"


BAD = {
    "unknown key": (
        "[parliament]\nquorum_of_doom = 3\n",
        "parliament.quorum_of_doom",
        "unknown key; allowed keys:",
    ),
    "wrong type": ('[parliament]\nsize = "many"\n', "parliament.size", "valid integer"),
    "out of range": (
        "[patrons.iran]\nmediation = 1.5\n",
        "patrons.iran.mediation",
        "less than or equal to 1",
    ),
    "seat total": (
        "[factions.sadrists]\nseats = 80\n",
        "factions",
        "add up to 336, but parliament.size is 329",
    ),
    "unknown faction": (
        '[incumbent]\nsupported_by = ["sadr"]\n',
        "incumbent.supported_by[0]",
        "no faction named 'sadr'; factions:",
    ),
    "bad community": (
        '[factions.kdp]\ncommunity = "martian"\n',
        "factions.kdp.community",
        "'shia'",
    ),
    "threshold above size": (
        "[parliament]\npresident_quorum = 400\n",
        "parliament.president_quorum",
        "exceeds parliament.size",
    ),
}


def cli_error(capsys, *argv: str) -> str:
    """Exit status 2 and one line on stderr naming what is wrong."""
    assert main(list(argv)) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: ") and "Traceback" not in err
    return err


@pytest.mark.parametrize("case", sorted(BAD))
def test_config_errors_through_cli(case, make_scenario, tmp_path, capsys):
    body, key, allowed = BAD[case]
    path = make_scenario(body)
    out = tmp_path / "out"
    err = cli_error(capsys, "run", str(path), "--runs", "3", "--out", str(out), "--quiet")
    assert err.startswith(f"error: {path}: {key}: ") and allowed in err
    assert not out.exists()  # nothing written


def test_malformed_toml_through_cli(tmp_path, capsys):
    path = tmp_path / "broken.toml"
    path.write_text("[parliament\nsize = 3\n")
    out = tmp_path / "out"
    err = cli_error(capsys, "run", str(path), "--out", str(out))
    assert err.startswith(f"error: {path}: malformed TOML") and not out.exists()


def test_missing_file_through_cli(tmp_path, capsys):
    err = cli_error(capsys, "run", str(tmp_path / "nope.toml"), "--out", str(tmp_path / "out"))
    assert err == f"error: {tmp_path / 'nope.toml'}: file not found\n"


def test_circular_extends_names_the_file_that_closes_the_circle(tmp_path):
    a, b = tmp_path / "a.toml", tmp_path / "b.toml"
    a.write_text('extends = "b.toml"\n')
    b.write_text('extends = "a.toml"\n')
    with pytest.raises(ScenarioError, match="circular") as info:
        load_scenario(a)
    assert (info.value.file, info.value.key) == (str(b), "extends")


def test_a_bad_parent_is_blamed_on_the_line_that_extends_it(tmp_path):
    middle = tmp_path / "middle.toml"
    middle.write_text('extends = "gone.toml"\nname = "middle"\n')
    child = tmp_path / "child.toml"
    child.write_text('extends = "middle.toml"\n')
    with pytest.raises(ScenarioError) as info:
        load_scenario(child)
    assert (info.value.file, info.value.key) == (str(middle), "extends")
    assert info.value.message == f"{tmp_path / 'gone.toml'}: file not found"


@pytest.mark.parametrize("path", sorted(SCENARIOS.glob("*.toml")), ids=lambda p: p.name)
def test_every_shipped_scenario_validates(path, capsys):
    assert main(["validate", str(path)]) == 0
    assert f"{path}: ok" in capsys.readouterr().out


def test_validate_checks_ranges_too(make_scenario, capsys):
    path = make_scenario(
        '[ranges]\n"patrons.iran.mediation" = { low = 0.9, high = 0.1, source = "x" }\n'
    )
    err = cli_error(capsys, "validate", str(path))
    assert (
        err == f"error: {path}: ranges.patrons.iran.mediation: low (0.9) must be below high (0.1)\n"
    )


def test_run_refuses_a_file_whose_ranges_are_bad(make_scenario, tmp_path, capsys):
    """A file is good or bad as a whole: `sim run` does not use [ranges], but it agrees
    with `sim validate` about the file."""
    path = make_scenario('[ranges]\n"grievance.decay" = { low = 0.1, high = 0.01, source = "x" }')
    out = tmp_path / "out"
    err = cli_error(capsys, "run", str(path), "--out", str(out))
    assert "ranges.grievance.decay: low (0.1) must be below high (0.01)" in err
    assert not out.exists()


def test_limits_are_the_documented_ones(make_scenario):
    """The largest values a run can use are accepted; beyond them, refused (the limits and
    why are in sim/engine/schema.py)."""
    big = make_scenario(
        f"[bargaining]\noffice_value = {MAX_WEIGHT}\n[escalation]\n"
        f"casualty_rates = [0.0, 0.0, 0.0, 1.5, 2.0, 1e6]\n"
    )
    sc = load_scenario(big)
    assert sc.bargaining.office_value == MAX_WEIGHT and sc.escalation.casualty_rates[5] == 1e6
    for body, key in (
        (f"[bargaining]\noffice_value = {MAX_WEIGHT * 1.01}", "bargaining.office_value"),
        (f"[parliament]\nsize = {MAX_SEATS + 1}", "parliament.size"),
        ("[clock]\nhorizon_weeks = 521", "clock.horizon_weeks"),
    ):
        with pytest.raises(ScenarioError) as info:
            load_scenario(make_scenario(body, name="over.toml"))
        assert info.value.key == key
