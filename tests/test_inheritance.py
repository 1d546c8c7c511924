"""``extends`` that drops or replaces factions and blocs (sim.scenario.inheritance): what remains,
what the dropped factions' references become, and every misuse as one line, exit 2."""

from __future__ import annotations

import pytest
from conftest import BASELINE

from sim.cli.main import main
from sim.scenario.loading import ScenarioError, load_scenario

BASELINE_TEXT = BASELINE.read_text()
KDP = BASELINE_TEXT.split("[factions.kdp]\n")[1].split("\n[")[0]


def faction(name: str, seats: int) -> str:
    """A complete faction table: the baseline's KDP under another name and seat count."""
    body = "\n".join(line for line in KDP.splitlines() if not line.startswith("seats"))
    return f"[factions.{name}]\nseats = {seats}\n{body}\n"


def test_drop_removes_factions_and_their_memberships(make_scenario):
    # azm (14) and kdp (31) go; Turkey backed both, and the minor lists take their seats
    path = make_scenario('[factions]\ndrop = ["azm", "kdp"]\n[factions.minor_lists]\nseats = 71')
    sc = load_scenario(path)
    assert "azm" not in sc.factions and "kdp" not in sc.factions
    assert sc.patrons["turkey"].backs == ("taqaddum",)
    assert sum(f.seats for f in sc.factions.values()) == 329


def test_dropping_a_bloc_member_shrinks_the_bloc(make_scenario):
    path = make_scenario('[factions]\ndrop = ["babylon"]\n[factions.minor_lists]\nseats = 30')
    cf = load_scenario(path).blocs[0]
    assert cf.name == "coordination_framework"
    assert cf.members == ("fatah", "huquq", "state_forces")


def test_dropping_a_bloc_leader_is_refused_unless_the_bloc_goes_too(make_scenario):
    body = '[factions]\ndrop = ["sadrists"]\n[factions.minor_lists]\nseats = 99\n'
    with pytest.raises(ScenarioError) as info:
        load_scenario(make_scenario(body))
    assert info.value.key == "factions.drop"
    assert "leader of bloc 'sadr_kdp_sunni_talks'" in info.value.message
    sc = load_scenario(make_scenario(body + '[blocs]\ndrop = ["sadr_kdp_sunni_talks"]'))
    assert [b.name for b in sc.blocs] == ["coordination_framework"]
    assert sc.incumbent.supported_by == ()  # al-Sadr's support went with his list


def test_a_reference_the_derived_file_writes_itself_is_checked_as_any(make_scenario):
    body = '[factions]\ndrop = ["azm"]\n[factions.minor_lists]\nseats = 40\n'
    with pytest.raises(ScenarioError) as info:
        load_scenario(make_scenario(body + '[patrons.turkey]\nbacks = ["azm"]'))
    assert info.value.key == "patrons.turkey.backs[0]"
    assert "no faction named 'azm'" in info.value.message


def test_drop_and_define_again_is_a_new_faction_not_a_merge(make_scenario):
    path = make_scenario('[factions]\ndrop = ["minorities"]\n' + faction("minorities", 5))
    sc = load_scenario(path)
    assert sc.factions["minorities"].community == "kurd"  # the new table's, whole


def test_replace_takes_only_the_derived_files_factions(make_scenario):
    body = (
        "blocs = []\n"  # a top-level key, before any table: no inherited bloc is left
        "[factions]\nreplace = true\n" + faction("a", 200) + faction("b", 129)
        + "[incumbent]\nsupported_by = []\n[patrons.turkey]\nbacks = []\n"
    )  # fmt: skip
    sc = load_scenario(make_scenario(body))
    assert sorted(sc.factions) == ["a", "b"]
    assert sc.blocs == ()


def test_replace_refuses_an_inherited_bloc_led_by_a_faction_now_gone(make_scenario):
    body = "[factions]\nreplace = true\n" + faction("a", 200) + faction("b", 129)
    with pytest.raises(ScenarioError) as info:
        load_scenario(make_scenario(body))
    assert info.value.key == "factions.replace"
    assert "'state_of_law' is the leader of bloc 'coordination_framework'" in info.value.message


def test_blocs_can_be_replaced_and_added(make_scenario):
    add = '[[blocs.add]]\nname = "kurds"\nleader = "kdp"\nmembers = ["kurdistan_alliance"]\n'
    sc = load_scenario(make_scenario("[blocs]\nreplace = true\n" + add))
    assert [b.name for b in sc.blocs] == ["kurds"]
    sc = load_scenario(make_scenario(add))
    assert [b.name for b in sc.blocs] == ["coordination_framework", "sadr_kdp_sunni_talks", "kurds"]


BAD = {
    "an unknown faction": (
        '[factions]\ndrop = ["nobody"]',
        "factions.drop: no faction named 'nobody' in ",
        "to drop; its factions: azm, babylon, fatah,",
    ),
    "a name twice": ('[factions]\ndrop = ["azm", "azm"]', "factions.drop: 'azm' is listed twice"),
    "drop not a list": ('[factions]\ndrop = "kdp"', "factions.drop: expected an array of faction"),
    "replace not a bool": (
        '[factions]\nreplace = "yes"',
        "factions.replace: expected true or false",
    ),
    "replace and drop": (
        '[factions]\nreplace = true\ndrop = ["kdp"]',
        "factions.replace: replace = true drops every inherited faction: give one of",
    ),
    "an unknown bloc": (
        '[blocs]\ndrop = ["x"]',
        "blocs.drop: no bloc named 'x' in ",
        "its blocs: coordination_framework, sadr_kdp_sunni_talks",
    ),
    "an unknown bloc directive": (
        '[blocs]\nremove = ["x"]',
        "blocs.remove: unknown key; allowed keys: add, drop, replace",
    ),
}


@pytest.mark.parametrize("name", list(BAD))
def test_a_bad_directive_is_one_line_exit_2_and_nothing_written(
    name, make_scenario, tmp_path, monkeypatch, capsys
):
    body, *says = BAD[name]
    path = make_scenario(body)
    monkeypatch.chdir(tmp_path)
    before = sorted(tmp_path.rglob("*"))
    assert main(["run", str(path), "--runs", "2", "--out", str(tmp_path / "o"), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(f"error: {path}: "), err
    for fragment in says:
        assert fragment in err, err
    assert sorted(tmp_path.rglob("*")) == before


def test_dropping_the_incumbents_inherited_list_is_refused(make_scenario, tmp_path):
    make_scenario('[incumbent]\nfaction = "taqaddum"', name="middle.toml")
    child = tmp_path / "child.toml"
    child.write_text(
        'extends = "middle.toml"\n[factions]\ndrop = ["taqaddum"]\n'
        "[factions.minor_lists]\nseats = 63\n"
    )
    with pytest.raises(ScenarioError) as info:
        load_scenario(child)
    assert (info.value.file, info.value.key) == (str(child), "factions.drop")
    assert "'taqaddum' is the incumbent's faction: set incumbent.faction too" in str(info.value)


def test_a_file_that_extends_nothing_has_nothing_to_drop(tmp_path, capsys):
    path = tmp_path / "root.toml"
    path.write_text('name = "x"\n[factions]\ndrop = ["a"]\n')
    assert main(["validate", str(path)]) == 2
    assert "factions.drop: only a file that extends another can drop" in capsys.readouterr().err
