"""Scenario events (``sim.engine.processes.interventions``): values set and shocks at a week
or when a condition holds. The parser and the rules first; then, through the model, paired
runs with the event on and off on the same seeds: nothing moves before the event fires, an
event that never fires moves nothing, and each shipped event moves its outcome the
expected way."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

import sim
from sim.cli.main import main
from sim.engine.dotted import set_dotted
from sim.engine.processes.interventions import fixed_reason
from sim.engine.rules.conditions import OBSERVABLES, ConditionError, parse_condition
from sim.scenario.loading import validate
from tests.conftest import BASELINE as BASELINE_PATH
from tests.test_mechanisms import RAW, batch

BASELINE = "scenarios/baseline.toml"
FACTIONS = list(sim.load_scenario(BASELINE).factions)


def with_events(**events) -> sim.Scenario:
    """The baseline with ``[events]`` tables."""
    return validate(set_dotted({**RAW, "events": {}}, "events", events))


def fired(table) -> np.ndarray:
    """(R,) the week each run's single event fired, -1 if it did not."""
    weeks = table.event_weeks.map(lambda m: next(iter(dict(m).values())))
    return weeks.fillna(-1).astype(int).to_numpy()


# --------------------------------------------------------------------------- the grammar
def test_conditions_compile_to_an_or_of_ands_over_the_declared_observables():
    groups = parse_condition("max_rung >= 4 and not formed or rung.sadrists > 2", FACTIONS)
    assert len(groups) == 2 and len(groups[0]) == 2 and len(groups[1]) == 1
    assert groups[1][0][1] == FACTIONS.index("sadrists")
    assert parse_condition("stage == cabinet", FACTIONS)[0][0][3] > 0
    for bad, says in [
        ("nonsense > 1", "names nothing"),
        ("rung.nobody > 1", "no faction named"),
        ("max_rung >=", "needs a value"),
        ("(formed)", "no parentheses"),
        ("formed and", "ends early"),
        ("stage == limbo", "allowed"),
    ]:
        with pytest.raises(ConditionError, match=says):
            parse_condition(bad, FACTIONS)
    assert "weeks_since_session" in OBSERVABLES


def test_values_the_run_copies_into_its_state_cannot_change_mid_run():
    assert fixed_reason("factions.sadrists.seats")
    assert fixed_reason("clock.horizon_weeks")
    assert fixed_reason("patrons.iran.patience")
    assert fixed_reason("patrons.iran.mediation") is None
    assert fixed_reason("factions.fatah.armed") is None


@pytest.mark.parametrize(
    ("table", "key", "says"),
    [
        ('week = 600', "events.e.week", "less than or equal"),
        ('week = 100', "events.e.week", "past the horizon"),
        ('when = "nonsense > 1"', "events.e.when", "names nothing"),
        ('week = 3\nset = { "factions.sadrists.seats" = 10 }',
         "events.e.set.factions.sadrists.seats", "cannot change mid-run"),
        ('week = 3\nset = { "patrons.iran.mediation" = 7.0 }',
         "events.e.set.patrons.iran.mediation", "less than or equal to 1"),
        ('week = 3\nset = { "patrons.nobody.mediation" = 0.1 }',
         "events.e.set.patrons.nobody.mediation", "names no value"),
        ('week = 3\nleave_parliament = ["nobody"]', "events.e", "no faction named"),
        ('week = 3\nwhen = "formed"', "events.e", "exactly one trigger"),
        ('week = 3\ncolour = 1', "events.e.colour", "unknown key"),
    ],
)  # fmt: skip
def test_a_bad_event_is_one_line_naming_the_key_with_exit_2(tmp_path, capsys, table, key, says):
    path = tmp_path / "bad.toml"
    path.write_text(f'extends = "{BASELINE_PATH}"\nname = "x"\n'
                    f"[events.e]\n{table}\n")  # fmt: skip
    assert main(["validate", str(path)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and f"{path}: {key}: " in err and says in err, err


def test_two_events_with_one_name_are_refused(tmp_path, capsys):
    path = tmp_path / "twice.toml"
    path.write_text(f'extends = "{BASELINE_PATH}"\nname = "x"\n'
                    "[events.e]\nweek = 3\n[events.e]\nweek = 4\n")  # fmt: skip
    assert main(["validate", str(path)]) == 2
    err = capsys.readouterr().err
    assert "('events', 'e') twice" in err and err.count("\n") == 1


# --------------------------------------------------------------------------- through the model
def test_an_event_that_never_fires_changes_no_run():
    base = batch(with_events(), runs=300)
    never = {
        "when": "casualties > 1000000000",
        "set": {"patrons.iran.mediation": 0.0},
        "killed": {"community": "shia", "dead": 500},
    }
    never = batch(with_events(never=never), runs=300)
    assert (fired(never) == -1).all()
    assert base.drop(columns="event_weeks").equals(never.drop(columns="event_weeks"))


def test_runs_are_bit_identical_up_to_the_week_the_event_fires():
    week = 20
    base = batch(with_events(), runs=400)
    shock = batch(with_events(e={"week": week, "killed": {"community": "shia", "dead": 300}}), 400)
    start = sim.load_scenario(BASELINE).clock.start_week
    assert (fired(shock) == week).mean() > 0.9
    for b, s, f in zip(
        base.escalation_by_week, shock.escalation_by_week, fired(shock), strict=True
    ):
        upto = (f - start) if f >= 0 else len(b)
        assert list(b[:upto]) == list(s[:upto])
    ended = base.final_week < week  # runs over before the event are the same runs
    assert base[ended].drop(columns="event_weeks").equals(shock[ended].drop(columns="event_weeks"))


def paired_sign(before, after) -> tuple[int, int, float]:
    up, down = int((after > before).sum()), int((after < before).sum())
    return up, down, stats.binomtest(up, up + down).pvalue if up + down else 1.0


@pytest.mark.parametrize(
    "name", ["us_withdraws_week_30", "iran_stops_after_attack", "shrine_bombing"]
)
def test_each_shipped_event_raises_the_violence_it_should(name):
    """Less deterrence (the US), no mediator (Iran), a massacre: more dead, run by run."""
    base = batch(sim.load_scenario(BASELINE), runs=1000)
    event = batch(sim.load_scenario(f"scenarios/{name}.toml"), runs=1000)
    up, down, p = paired_sign(base.casualties, event.casualties)
    assert up > down and p < 1e-4, (up, down, p)


@pytest.mark.slow
@pytest.mark.parametrize("name", ["us_withdraws_week_30", "iran_stops_after_attack"])
def test_withdrawn_support_or_mediation_tips_runs_toward_majority_governments(name):
    base = batch(sim.load_scenario(BASELINE), runs=4000)
    event = batch(sim.load_scenario(f"scenarios/{name}.toml"), runs=4000)
    up, down, p = paired_sign(
        (base.government_type == "majority").astype(int),
        (event.government_type == "majority").astype(int),
    )
    assert up > down and p < 0.05, (up, down, p)


def test_a_conditional_event_fires_the_week_its_condition_first_holds():
    model = sim.FormationModel(
        with_events(alarm={"when": "max_rung >= 3", "grievance": {"factions": ["fatah"],
                                                                 "rise": 0.1}}), seed=4
    ).run()  # fmt: skip
    week = dict(model.outcome()["event_weeks"])["alarm"]
    rungs = model.datacollector.get_model_vars_dataframe()
    assert week is not None
    firing = [e for e in model.events if e.kind == "scenario_event"]
    assert len(firing) == 1 and firing[0].week == week
    assert "'alarm': grievance +0.1 for fatah" in firing[0].text
    del rungs


def test_the_timeline_tells_the_event_and_its_effects():
    model = sim.FormationModel(sim.load_scenario("scenarios/shrine_bombing.toml"), seed=7).run()
    (event,) = [e for e in model.events if e.kind == "scenario_event"]
    assert event.week == 10 and event.values["dead"] == pytest.approx(300, abs=1)
    assert event.text.startswith("event 'shrine_bombing': 300 killed among shia")


def test_a_sweep_can_vary_an_events_week():
    sweep = {"method": "grid", "parameters": {"events.us_withdraws.week": [20, 40]}}
    exp = sim.prepare("scenarios/us_withdraws_week_30.toml", runs=5, sweep=sweep)
    weeks = sorted({p.scenario.events["us_withdraws"].week for p in exp.points})
    assert weeks == [20, 40]


@pytest.mark.slow  # three batches and a report (about 8 s)
def test_compare_and_the_report_say_which_events_fired_and_how_often(tmp_path, capsys):
    from sim.analysis.compare import events_fired, load_batches

    for name in ("baseline", "shrine_bombing", "iran_stops_after_attack"):
        sim.run_batch(sim.prepare(f"scenarios/{name}.toml", runs=60), tmp_path / name, quiet=True)
    dirs = [str(tmp_path / n) for n in ("baseline", "shrine_bombing", "iran_stops_after_attack")]
    fired = events_fired(load_batches(dirs))
    by_event = fired.set_index("event")
    assert list(fired.scenario) == ["shrine_bombing", "iran_stops_after_attack"]
    assert by_event.loc["shrine_bombing", "fired"] == 1.0
    assert by_event.loc["shrine_bombing", "median_week"] == 10
    assert 0.0 < by_event.loc["iran_stops", "fired"] < 1.0  # only after a strike
    assert main(["compare", *dirs]) == 0
    out = capsys.readouterr().out
    assert "shrine_bombing: shrine_bombing 1.000" in out and "iran_stops" in out
    report = tmp_path / "r.html"
    assert main(["report", *dirs, "--out", str(report)]) == 0
    html = report.read_text()
    assert "Scenario events" in html and "iran_stops" in html
