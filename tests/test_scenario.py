"""Scenario files: loading, extends, frozen objects, and every config error through the CLI."""

from __future__ import annotations

import pydantic
import pytest

from sim.scenario import ScenarioError, load_scenario, resolve_raw, scenario_hash
from tests.conftest import BASELINE, SCENARIOS, run_cli


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


@pytest.mark.parametrize("case", sorted(BAD))
def test_config_errors_through_cli(case, make_scenario, tmp_path):
    body, key, allowed = BAD[case]
    path = make_scenario(body)
    out = tmp_path / "out"
    result = run_cli("run", str(path), "--runs", "3", "--out", str(out), "--quiet")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert str(path) in result.stderr
    assert key in result.stderr
    assert allowed in result.stderr
    assert not out.exists()  # nothing written


def test_malformed_toml_through_cli(tmp_path):
    path = tmp_path / "broken.toml"
    path.write_text("[parliament\nsize = 3\n")
    out = tmp_path / "out"
    result = run_cli("run", str(path), "--out", str(out))
    assert result.returncode == 2
    assert "malformed TOML" in result.stderr and str(path) in result.stderr
    assert "Traceback" not in result.stderr and not out.exists()


def test_missing_file_through_cli(tmp_path):
    result = run_cli("run", str(tmp_path / "nope.toml"), "--out", str(tmp_path / "out"))
    assert result.returncode == 2
    assert "file not found" in result.stderr and "nope.toml" in result.stderr
    assert "Traceback" not in result.stderr


def test_circular_extends(tmp_path):
    a, b = tmp_path / "a.toml", tmp_path / "b.toml"
    a.write_text('extends = "b.toml"\n')
    b.write_text('extends = "a.toml"\n')
    with pytest.raises(ScenarioError, match="circular"):
        load_scenario(a)


@pytest.mark.parametrize("path", sorted(SCENARIOS.glob("*.toml")), ids=lambda p: p.name)
def test_every_shipped_scenario_validates(path):
    result = run_cli("validate", str(path))
    assert result.returncode == 0, result.stderr
    assert "ok" in result.stdout


def test_validate_checks_ranges_too(make_scenario):
    path = make_scenario(
        '[ranges]\n"patrons.iran.mediation" = { low = 0.9, high = 0.1, source = "x" }\n'
    )
    result = run_cli("validate", str(path))
    assert result.returncode == 2
    assert "ranges.patrons.iran.mediation" in result.stderr and "must be below" in result.stderr
