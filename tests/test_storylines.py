"""Storylines: runs grouped into the paths they take (Ward's clustering of key events)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from conftest import BASELINE

from sim.analysis.storylines import StorylineError, events, format_storylines, storylines
from sim.cli.main import main


def _run(run_id: int, calm: bool) -> dict:
    """A planted run: calm (a majority government in week 30, protests at most) or violent
    (clashes from week 6, targeted attacks from week 8, armed conflict from week 20, the
    incumbent attacked in week 9 and killed, a consensus government in week 40)."""
    rng = np.random.default_rng(run_id)
    jitter = int(rng.integers(-1, 2))
    if calm:
        series = [2] * 30
        return {
            "run_id": run_id, "formed": True, "weeks_to_government": 30 + jitter,
            "government_type": "majority", "pm_kind": "compromise", "pm_faction": None,
            "largest_bloc": "talks", "president_failures": 1, "nominees": 1,
            "walked_out": [], "max_escalation": 2, "incumbent_attacks": 0,
            "incumbent_attack_weeks": [], "incumbent_survived": True,
            "pmf_status": "intact", "final_week": 40, "escalation_by_week": series,
        }  # fmt: skip
    series = [2] * 2 + [3] * 2 + [4] * (12 + jitter) + [5] * 20
    return {
        "run_id": run_id, "formed": True, "weeks_to_government": 40 + jitter,
        "government_type": "consensus", "pm_kind": "formateur", "pm_faction": "sol",
        "largest_bloc": "framework", "president_failures": 4, "nominees": 2,
        "walked_out": ["sadrists"], "max_escalation": 5, "incumbent_attacks": 1,
        "incumbent_attack_weeks": [9], "incumbent_survived": False,
        "pmf_status": "intact", "final_week": 50, "escalation_by_week": series,
    }  # fmt: skip


def planted(calm: int = 60, violent: int = 40) -> pd.DataFrame:
    rows = [_run(i, calm=True) for i in range(calm)]
    rows += [_run(calm + i, calm=False) for i in range(violent)]
    return pd.DataFrame(rows).sample(frac=1.0, random_state=3).reset_index(drop=True)


def test_events_read_the_weeks_from_the_series():
    run = _run(99, calm=False)
    happened = events(pd.DataFrame([run]), start_week=4)
    row = happened.iloc[0]
    armed_conflict = 4 + run["escalation_by_week"].index(5)  # the series starts in week 4
    assert (row["rung_3_week"], row["rung_4_week"], row["rung_5_week"]) == (6, 8, armed_conflict)
    assert row["attacks_before_government"] == 1 and row["walk_out"] == 1


def test_two_planted_paths_are_found_with_their_shares_and_examples():
    runs = planted()
    paths = storylines(runs, paths=2, start_week=4, labels={"sol": "State of Law"})
    assert [p.runs for p in paths] == [60, 40]
    assert paths[0].share == pytest.approx(0.6)
    calm, violent = paths
    assert set(calm.members) == set(range(60)) and set(violent.members) == set(range(60, 100))
    assert calm.example_run in calm.members and violent.example_run in violent.members
    assert "majority government" in calm.title and "rung 2 (protests)" in calm.title
    assert "State of Law" in violent.title and "walk-out" in violent.title
    # the typical timeline is in order of the median weeks
    assert [w for w, _ in violent.timeline] == sorted(w for w, _ in violent.timeline)
    texts = [t for _, t in violent.timeline]
    assert texts[0].startswith("rung 3") and texts[-1] == "a consensus government forms"
    assert "an attack on the incumbent" in texts
    text = format_storylines(paths)
    assert "path 1: 60% of runs (60)" in text and "path 2: 40% of runs (40)" in text


def test_more_runs_than_linked_join_the_nearest_path(monkeypatch):
    import sim.analysis.storylines as module

    monkeypatch.setattr(module, "LINKED_RUNS", 30)  # cluster a subset, assign the rest
    paths = storylines(planted(), paths=2)
    assert sorted(p.runs for p in paths) == [40, 60]


def test_bad_paths_and_empty_tables_are_refused():
    with pytest.raises(StorylineError):
        storylines(planted(), paths=0)
    with pytest.raises(StorylineError, match="no column"):
        storylines(planted().drop(columns=["walked_out"]))


@pytest.mark.slow  # a batch and replays, about 2.5 s
def test_sim_storylines_prints_paths_whose_examples_explain_opens(tmp_path, capsys):
    out = tmp_path / "b"
    assert main(["run", str(BASELINE), "--runs", "60", "--quiet", "--out", str(out)]) == 0
    capsys.readouterr()
    assert main(["storylines", str(out), "--paths", "3", "--json"]) == 0
    paths = json.loads(capsys.readouterr().out)
    assert 1 <= len(paths) <= 3 and sum(p["runs"] for p in paths) == 60
    assert sum(p["share"] for p in paths) == pytest.approx(1.0)
    assert main(["storylines", str(out), "--paths", "3"]) == 0
    text = capsys.readouterr().out
    assert text.count("path ") >= len(paths) and f"sim explain {out}" in text
    # labels, not ids, name the lists and blocs
    assert "sadr_kdp_sunni_talks" not in text and "coordination_framework" not in text
    example = paths[0]["example_run"]
    assert main(["explain", str(out), str(example)]) == 0  # the example replays, and matches
    assert "matches the batch's row" in capsys.readouterr().out
