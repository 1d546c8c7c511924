"""Explain's "why" names the events that mattered most, in the scenario's words."""

from __future__ import annotations

import pytest
from conftest import BASELINE

import sim
from sim.analysis.explanation import explain
from sim.analysis.labels import actor_labels
from sim.cli.main import main


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    out = tmp_path_factory.mktemp("key") / "b"
    assert main(["run", str(BASELINE), "--runs", "300", "--quiet", "--out", str(out)]) == 0
    return out, sim.load_results(out)


LABELS = actor_labels(sim.load_scenario(BASELINE), patrons=False)


def _why(out, runs, condition):
    chosen = runs[condition(runs)]
    assert len(chosen), "the batch has no such run: use more runs"
    ex = explain(out, int(chosen["run_id"].iloc[0]))
    assert ex.matches_table
    return ex, ex.why()


def _no_ids(text: str) -> None:
    for name, label in LABELS.items():
        if name != label:
            assert f" {name} " not in f" {text} ".replace(",", " ").replace("'s", " "), name


def test_a_killed_incumbent_is_named_with_his_killer(batch):
    out, runs = batch
    ex, why = _why(out, runs, lambda r: ~r["incumbent_survived"])
    killing = next(e for e in ex.events if e.kind == "attack" and e.values["killed"])
    assert f"week {killing.week}, {LABELS[killing.actors[0]]} killing the incumbent" in why
    _no_ids(why)


def test_a_walk_out_is_named(batch):
    out, runs = batch
    ex, why = _why(out, runs, lambda r: r["walked_out"].map(len) > 0)
    walk = next(e for e in ex.events if e.kind == "walk_out")
    assert f"{LABELS[walk.actors[0]]} walking out of parliament" in why
    _no_ids(why)


def test_a_crackdown_on_the_pmf_is_named(batch):
    out, runs = batch
    _, why = _why(out, runs, lambda r: r["pmf_status"] != "intact")
    assert "the government's crackdown on the PMF" in why


def test_the_first_armed_conflict_is_named_with_what_led_to_it(batch):
    out, runs = batch
    ex, why = _why(out, runs, lambda r: r["max_escalation"] == 5)
    first = next(e for e in ex.events if e.kind == "rung_change" and e.values["to_rung"] == 5)
    who = LABELS.get(first.actors[0], first.actors[0])  # the street has no label
    assert f"week {first.week}, {who} climbing to armed conflict" in why
    assert "It was led up to by" in why
    # the timeline speaks in labels too; the events keep the ids
    assert "Sadrist Movement" in ex.timeline() and any("sadrists" in e.actors for e in ex.events)
