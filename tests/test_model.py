"""The Mesa model: determinism, Mesa compatibility, and invariants that must always hold."""

from __future__ import annotations

import re
from pathlib import Path

import mesa
import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import sim
from sim.enums import EscalationLevel, GovernmentType, PMFStatus, PMKind, Stage
from sim.scenario import load_scenario, resolve_raw, validate
from sim.sweep import set_dotted
from tests.conftest import BASELINE, SCENARIOS

BASE = load_scenario(BASELINE)
RAW, _ = resolve_raw(BASELINE)


def outcome(scenario, seed):
    return sim.FormationModel(scenario, seed=seed, record_series=False).run().outcome()


def test_same_seed_same_run_different_seed_different_run():
    a, b = outcome(BASE, 7), outcome(BASE, 7)
    assert a == b
    others = [outcome(BASE, s) for s in range(8, 20)]
    assert any(o != a for o in others)
    assert len({tuple(o["escalation_by_week"]) for o in others}) > 1


def test_model_class_exported_and_records_weekly_series():
    model = sim.FormationModel(str(BASELINE), seed=3)
    model.run()
    frame = model.datacollector.get_model_vars_dataframe()
    assert len(frame) == model.week - BASE.clock.start_week + 1
    assert {"max_escalation", "mean_grievance", "largest_bloc_seats", "stage"} <= set(frame)
    assert frame["max_escalation"].between(0, 5).all()
    assert len(model.factions) == len(BASE.factions) and len(model.patrons) == 3


def test_mesa_batch_run_works_directly():
    results = mesa.batch_run(
        sim.FormationModel,
        parameters={"scenario": str(BASELINE), "seed": [1, 2]},
        iterations=1,
        max_steps=200,
        number_processes=1,
        data_collection_period=-1,
        display_progress=False,
    )
    assert len(results) == 2
    assert {"max_escalation", "government_type", "RunId"} <= set(results[0])


def test_agents_are_views_of_the_scenario():
    model = sim.FormationModel(BASE, seed=1)
    by_name = {f.name: f for f in model.factions}
    for name, faction in BASE.factions.items():
        assert by_name[name].seats == faction.seats
        assert isinstance(by_name[name].escalation, EscalationLevel)
    assert by_name["state_of_law"].bloc == "coordination_framework"


def test_no_faction_name_appears_in_code():
    names = {n for path in SCENARIOS.glob("*.toml") for n in load_scenario(path).factions}
    code = "\n".join(p.read_text() for p in Path(sim.__file__).parent.glob("*.py"))
    found = [n for n in names if re.search(rf"\b{re.escape(n)}\b", code)]
    assert not found


def check_invariants(model):
    sc = model.scenario
    seats = model.world["seats"]
    assert seats.sum() == sc.parliament.size  # seats are conserved
    assert np.array_equal(seats, [f.seats for f in sc.factions.values()])
    proc = model.process
    if proc.stage >= Stage.NOMINATION:
        # no president without quorum
        assert proc.president_elected_with is not None
        assert proc.president_elected_with >= sc.parliament.president_quorum
    if model.formed_week is not None:
        # no government without a confidence majority
        assert model.confidence_yes >= sc.parliament.confidence_majority
        assert seats[model.government].sum() >= sc.parliament.confidence_majority
        assert proc.stage == Stage.FORMED
    st_ = model.state
    assert ((st_["grievance"] >= 0) & (st_["grievance"] <= 1)).all()
    assert ((st_["legitimacy"] >= 0) & (st_["legitimacy"] <= 1)).all()
    assert ((st_["levels"] >= 0) & (st_["levels"] <= 5)).all()
    assert 0 <= model.incumbent.legitimacy <= 1
    row = model.outcome()
    for key, value in row.items():
        if key.startswith("patron_weight_"):
            assert 0.0 <= value <= 1.0
    assert GovernmentType(row["government_type"]) and PMKind(row["pm_kind"])
    assert PMFStatus(row["pmf_status"])
    assert sum(row[f"weeks_at_level_{k}"] for k in range(6)) == model.week - sc.clock.start_week
    assert row["formed"] == (row["government_type"] != "none")


PERTURB = {
    "patrons.iran.mediation": st.floats(0, 1),
    "patrons.iran.guarantee": st.floats(0, 1),
    "patrons.us.backs_incumbent": st.floats(0, 1),
    "bargaining.office_value": st.floats(0, 5),
    "bargaining.policy_value": st.floats(0, 5),
    "bargaining.acceptance_noise": st.floats(0.05, 1),
    "escalation.deterrence_weight": st.floats(0, 1),
    "incumbent.attack_probability": st.floats(0, 1),
    "incumbent.attack_lethality": st.floats(0, 1),
    "parliament.president_quorum": st.integers(165, 329),
    "parliament.session_probability": st.floats(0, 1),
    "governance.mandate_move_probability": st.floats(0, 1),
}


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 2**32),
    changes=st.dictionaries(st.sampled_from(sorted(PERTURB)), st.none(), max_size=4).flatmap(
        lambda keys: st.fixed_dictionaries({k: PERTURB[k] for k in keys})
    ),
)
def test_invariants_hold_over_seeds_and_perturbed_parameters(seed, changes):
    raw = RAW
    for key, value in changes.items():
        raw = set_dotted(raw, key, value)
    model = sim.FormationModel(validate(raw), seed=seed, record_series=False)
    while model.running:
        model.step()
        check_invariants(model)


def test_stress_scenario_runs_with_forty_factions():
    sc = load_scenario(SCENARIOS / "stress_40_factions.toml")
    assert len(sc.factions) == 40
    for seed in range(3):
        model = sim.FormationModel(sc, seed=seed, record_series=False).run()
        check_invariants(model)


def test_other_elections_need_no_code_changes():
    """Another parliament size, an incumbent leading a list, no attacks, an election-day
    start: all from the scenario file alone."""
    raw = set_dotted(RAW, "parliament.size", 325)
    raw = set_dotted(raw, "factions.minor_lists.seats", 22)  # 329 - 4
    raw = set_dotted(raw, "parliament.president_quorum", 217)
    raw = set_dotted(raw, "parliament.confidence_majority", 163)
    raw = set_dotted(raw, "parliament.speaker_majority", 163)
    raw = set_dotted(raw, "incumbent.faction", "state_of_law")
    raw = set_dotted(raw, "incumbent.attacks_enabled", False)
    raw = set_dotted(raw, "clock.start_week", 0)
    sc = validate(raw)
    for seed in range(40):
        model = sim.FormationModel(sc, seed=seed, record_series=False).run()
        check_invariants(model)
        row = model.outcome()
        assert row["incumbent_attacks"] == 0
        assert len(row["escalation_by_week"]) == model.week + 1  # from election day
        if row["pm_kind"] == "incumbent":
            assert row["pm_faction"] == "state_of_law"
    assert model.world["seats"].sum() == 325


def test_no_incumbent_at_all():
    raw = set_dotted(RAW, "incumbent.present", False)
    sc = validate(raw)
    for seed in range(20):
        row = sim.FormationModel(sc, seed=seed, record_series=False).run().outcome()
        assert row["pm_kind"] != "incumbent" and row["incumbent_attacks"] == 0
