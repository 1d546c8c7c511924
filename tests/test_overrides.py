"""Mesa users vary parameters (issue 9, section 4): ``FormationModel(scenario, seed,
**overrides)`` takes dotted keys, validated like the scenario file, so ``mesa.batch_run``
sweeps them as Mesa users expect."""

from __future__ import annotations

import mesa
import pytest

import sim
from sim.engine.dotted import set_dotted
from sim.scenario.loading import resolve_raw, validate
from tests.conftest import BASELINE

RAW, _ = resolve_raw(BASELINE)
MEDIATION = "patrons.iran.mediation"


def test_an_override_changes_the_scenario_and_only_that():
    model = sim.FormationModel(BASELINE, seed=1, **{MEDIATION: 0.3})
    assert model.scenario.patrons["iran"].mediation == 0.3
    iran = model.compiled.patron_names.index("iran")
    assert model.world.patron_mediation[iran] == 0.3
    expected = validate(set_dotted(RAW, MEDIATION, 0.3))
    assert model.scenario == expected
    plain = sim.FormationModel(BASELINE, seed=1)
    assert plain.scenario.patrons["iran"].mediation == RAW["patrons"]["iran"]["mediation"]
    # the run is the overridden scenario's run
    overridden = model.run().outcome()
    assert overridden == sim.FormationModel(expected, seed=1).run().outcome()


def test_overrides_reach_array_elements_and_scenario_objects():
    model = sim.FormationModel(BASELINE, seed=1, **{"escalation.thresholds[3]": 0.6})
    assert model.scenario.escalation.thresholds[3] == 0.6
    assert model.world.climb_at[3] == 0.6
    base = validate(RAW)
    model = sim.FormationModel(base, seed=1, **{"clock.follow_up_weeks": 2})
    assert model.scenario.clock.follow_up_weeks == 2
    assert base.clock.follow_up_weeks == RAW["clock"]["follow_up_weeks"], "the object is kept"


def test_mesa_batch_run_sweeps_an_override():
    results = mesa.batch_run(
        sim.FormationModel,
        parameters={"scenario": str(BASELINE), MEDIATION: [0.3, 0.9], "seed": [1, 2]},
        iterations=1,
        max_steps=200,
        number_processes=1,
        data_collection_period=-1,
        display_progress=False,
    )
    assert len(results) == 4
    assert sorted((r[MEDIATION], r["seed"]) for r in results) == [
        (0.3, 1), (0.3, 2), (0.9, 1), (0.9, 2)
    ]  # fmt: skip
    # each row is the run of its parameters: the same model, built by hand, has the same
    # record at the row's step. (Mesa 3.3's batch_run reads the record of step
    # ``model.steps - 1``, the week before the run's last one: mesa#2514, fixed after 3.3.)
    for row in results:
        model = sim.FormationModel(BASELINE, seed=row["seed"], **{MEDIATION: row[MEDIATION]})
        frame = model.run().datacollector.get_model_vars_dataframe()
        assert row["Step"] == model.steps - 1
        for reporter in ("week", "government_type", "max_escalation", "casualties", "formed"):
            assert row[reporter] == frame[reporter].iloc[row["Step"]], (row, reporter)
    by_value = {
        m: [
            r["mean_grievance"]
            for r in sorted(results, key=lambda r: r["seed"])
            if r[MEDIATION] == m
        ]
        for m in (0.3, 0.9)
    }
    assert by_value[0.3] != by_value[0.9], "the two values make different runs"


@pytest.mark.parametrize(
    "override, key, message",
    [
        ({"patrons.iran.nope": 0.3}, "patrons.iran.nope", "no such scenario key"),
        ({"patrons.iranx.mediation": 0.3}, "patrons.iranx.mediation", "no such scenario key"),
        ({MEDIATION: 1.5}, MEDIATION, "less than or equal to 1"),
        ({MEDIATION: -0.1}, MEDIATION, "greater than or equal to 0"),
        ({"clock.horizon_weeks": "long"}, "clock.horizon_weeks", "integer"),
        ({"escalation.thresholds[9]": 0.5}, "escalation.thresholds[9]", "no such scenario key"),
        ({"factions.kdp.seats": 40}, "factions", "add up to"),
    ],
)
def test_a_bad_override_is_a_scenario_error_naming_the_key(override, key, message):
    with pytest.raises(sim.ScenarioError) as err:
        sim.FormationModel(BASELINE, seed=1, **override)
    assert err.value.key == key
    assert key in str(err.value) and message in str(err.value)


def test_a_bad_override_in_batch_run_is_the_same_error():
    with pytest.raises(sim.ScenarioError, match=MEDIATION):
        mesa.batch_run(
            sim.FormationModel,
            parameters={"scenario": str(BASELINE), MEDIATION: [0.3, 2.0], "seed": 1},
            number_processes=1,
            max_steps=5,
            display_progress=False,
        )
