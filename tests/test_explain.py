"""The event log and ``sim explain``: events agree with the run's own outcomes, recording
changes nothing, a batch's run replays to its stored row, and the command line behaves."""

from __future__ import annotations

import json
from collections import Counter

import numpy as np
import pytest
from conftest import BASELINE, run_cli

import sim
from sim.batch.experiment import prepare
from sim.batch.runner import run_batch
from sim.engine.assembly import EVENT_NAMES, new_state, world_for
from sim.engine.enums import Stage
from sim.engine.events import MARGIN_TERMS
from sim.mesa.model import FormationModel

SEEDS = range(12)


@pytest.fixture(scope="module")
def runs():
    return [FormationModel(BASELINE, seed=s, record_series=False).run() for s in SEEDS]


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    out = tmp_path_factory.mktemp("explain") / "b"
    run_batch(prepare(BASELINE, runs=40, seed=7), out, workers=1, quiet=True)
    return out


def test_batches_keep_no_log_and_single_runs_do():
    compiled = world_for(sim.load_scenario(BASELINE))
    assert len(new_state(compiled.world, compiled.start).event_codes) == 0
    assert len(new_state(compiled.world, compiled.start, True).event_codes) > 0


def test_recording_events_changes_nothing_in_the_run(runs):
    for seed, model in zip(SEEDS, runs, strict=True):
        silent = FormationModel(BASELINE, seed=seed, record_series=False, record_events=False)
        assert silent.run().outcome() == model.outcome()
        assert silent.events == []
        assert model.events


def test_the_events_agree_with_the_runs_outcomes(runs):
    for model in runs:
        row, events = model.outcome(), model.events
        kinds = Counter(e.kind for e in events)
        formed = [e for e in events if e.kind == "government_formed"]
        assert len(formed) == (1 if row["formed"] else 0)
        if formed:
            assert formed[0].week == row["weeks_to_government"]
            assert (
                formed[0].values["government_type"]
                == sim.GovernmentType[row["government_type"].upper()]
            )
        president = [
            e for e in events
            if e.kind == "session" and e.values["stage"] == Stage.PRESIDENT
        ]  # fmt: skip
        assert len(president) == row["president_sessions"]
        assert sum(not e.values["quorum_met"] for e in president) == row["president_failures"]
        assert kinds["nominee_charged"] == row["nominees"]
        assert kinds["bloc_switch"] == row["bloc_switches"]
        assert kinds["attack"] == row["incumbent_attacks"]
        attacks = [e.week for e in events if e.kind == "attack"]
        assert row["incumbent_attack_weeks"] == attacks  # one entry per strike, in order
        dead = sum(e.values["dead"] for e in events if e.kind == "casualties")
        assert dead == row["casualties"]


def test_rung_changes_replay_every_actors_ladder(runs):
    """Starting from the first week's rungs, applying the logged changes gives each week's
    highest rung, as the run table's series records it."""
    for model in runs:
        levels = np.array(model.compiled.start.levels, dtype=int)
        first = model.compiled.world.clock.start_week
        series = model.outcome()["escalation_by_week"]
        changes = [e for e in model.events if e.kind == "rung_change"]
        for t, top in enumerate(series):
            week = first + t
            for e in changes:
                if e.week == week:
                    i = len(model.compiled.names) if e.actors[0] == "the street" else (
                        model.compiled.names.index(e.actors[0])
                    )  # fmt: skip
                    assert levels[i] == e.values["from_rung"]
                    levels[i] = e.values["to_rung"]
            assert levels.max() == top, f"week {week}"


def test_each_answer_carries_the_terms_that_sum_to_its_margin(runs):
    answers = [e for m in runs for e in m.events if e.kind == "answer"]
    assert len(answers) > 100
    for e in answers:
        total = sum(e.values[t] for t in MARGIN_TERMS)
        assert total == pytest.approx(e.values["margin"], abs=1e-9)


def test_a_batch_run_replays_to_its_stored_row(batch):
    for run_id in (0, 17, 39):
        ex = sim.explain(batch, run_id)
        assert ex.matches_table is True and ex.mismatches == []
        assert ex.run_id == run_id and ex.events
        assert "week" in ex.timeline() and ex.why()
        weeks = ex.series["week"]
        assert weeks[-1] == ex.row["final_week"]
        assert all(len(v) == len(weeks) for v in ex.series["rung"].values())


@pytest.mark.slow  # a batch and a replay in a subprocess, about 2.5 s
def test_sim_explain_prints_a_timeline_and_says_the_row_matches(batch, tmp_path):
    png = tmp_path / "run.png"
    result = run_cli("explain", str(batch), "5", "--plot", str(png))
    assert result.returncode == 0, result.stderr
    assert "week " in result.stdout and "why: " in result.stdout
    assert "matches the batch's row" in result.stdout
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.slow  # a replay in a subprocess, about 1.5 s
def test_sim_explain_json(batch):
    result = run_cli("explain", str(batch), "3", "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["run_id"] == 3 and data["matches_table"] is True
    assert {"events", "series", "why"} <= set(data)
    assert data["events"][0]["kind"] in EVENT_NAMES
    assert set(data["series"]) >= {"week", "grievance", "rung"}


@pytest.mark.slow  # a replay in a subprocess, about 1.4 s
def test_sim_explain_a_scenario_and_seed_without_a_batch():
    result = run_cli("explain", str(BASELINE), "--seed", "11")
    assert result.returncode == 0, result.stderr
    assert "baseline, seed 11" in result.stdout and "why: " in result.stdout
    assert "matches" not in result.stdout  # nothing to check against


@pytest.mark.slow  # a batch and a replay, about 1.5 s
def test_a_replay_that_differs_from_its_batch_exits_1(batch, tmp_path):
    """A batch whose manifest says it ran another scenario: the replay cannot match."""
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(batch, copy)
    manifest = json.loads((copy / "manifest.json").read_text())
    manifest["scenario"]["clock"]["first_session_week"] += 5  # no government that soon
    (copy / "manifest.json").write_text(json.dumps(manifest))
    result = run_cli("explain", str(copy), "0")
    assert result.returncode == 1
    assert "DOES NOT match" in result.stdout


@pytest.mark.parametrize(
    "args, says",
    [
        (("{batch}",), "needs a run id"),
        (("{batch}", "40"), "no run with run_id 40"),
        ((str(BASELINE),), "needs --seed"),
        (("{batch}", "-1"), "run_id"),
    ],
)
@pytest.mark.slow  # three subprocesses, about 3.5 s
def test_bad_explain_requests_are_one_line_errors(batch, args, says):
    result = run_cli("explain", *(a.format(batch=batch) for a in args))
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and says in result.stderr, result.stderr
    assert "Traceback" not in result.stderr
