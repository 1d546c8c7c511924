"""The Mesa model: determinism, Mesa compatibility, and invariants that must always hold."""

from __future__ import annotations

import re
from pathlib import Path

import mesa
import numpy as np
from hypothesis import given
from hypothesis import strategies as st

import sim
from sim.engine.assembly import State, state_ref
from sim.engine.dotted import set_dotted
from sim.engine.enums import EscalationLevel, GovernmentType, PMFStatus, PMKind, Stage
from sim.engine.processes import blocs, sessions
from sim.engine.streams import uniform
from sim.engine.week import PROCESSES
from sim.mesa.agents import Faction
from sim.scenario.loading import load_scenario, resolve_raw, validate
from tests.conftest import BASELINE, SCENARIOS

BASE = load_scenario(BASELINE)
RAW, _ = resolve_raw(BASELINE)

#: each process's key in a run's streams, by stream name
KEY = {p.stream: k for k, p in enumerate(PROCESSES)}


def outcome(scenario, seed):
    return sim.FormationModel(scenario, seed=seed, record_series=False).run().outcome()


def test_same_seed_same_run_different_seed_different_run():
    a, b = outcome(BASE, 7), outcome(BASE, 7)
    assert a == b
    others = [outcome(BASE, s) for s in range(8, 20)]
    assert any(o != a for o in others)
    assert len({tuple(o["escalation_by_week"]) for o in others}) > 1


def test_rng_is_an_alias_of_seed():
    assert sim.FormationModel(BASE, rng=11).run().outcome() == outcome(BASE, 11)


def test_model_class_exported_and_records_weekly_series():
    model = sim.FormationModel(str(BASELINE), seed=3)
    model.run()
    frame = model.datacollector.get_model_vars_dataframe()
    weeks = model.week - BASE.clock.start_week + 1
    assert len(frame) == weeks
    assert frame["week"].tolist() == list(range(BASE.clock.start_week, model.week + 1))
    assert {"max_escalation", "mean_grievance", "largest_bloc_seats", "stage"} <= set(frame)
    assert frame["max_escalation"].between(0, 5).all()
    assert frame["formed"].iloc[-1] == model.formed
    assert len(model.factions) == len(BASE.factions) and len(model.patrons) == 3
    # the per-faction reporter: one row a faction a week, keyed by the week
    agents = model.datacollector.get_agenttype_vars_dataframe(Faction)
    assert len(agents) == weeks * len(BASE.factions)
    assert set(agents["week"]) == set(frame["week"])
    assert agents.groupby("week")["faction"].nunique().eq(len(BASE.factions)).all()
    last = agents[agents["week"] == model.week].set_index("faction")
    for faction in model.factions:
        assert last.loc[faction.name, "grievance"] == faction.grievance
        assert last.loc[faction.name, "in_government"] == faction.in_government


def test_the_models_views_read_its_state():
    model = sim.FormationModel(BASE, seed=5, record_series=False).run()
    run = model.state.run[0]
    assert model.week == run["week"] == model.run_state.week
    assert model.stage == Stage(run["stage"])
    assert model.formed == (run["formed_week"] >= 0)
    assert model.pmf_status == PMFStatus(run["pmf_status"])
    weights = model.world.seats
    assert model.mean_grievance() == np.float64(weights @ model.state.grievance / weights.sum())
    leader, seats = model.largest_bloc()
    bloc = model.state.bloc_of[leader]
    members = model.state.bloc_of == bloc if bloc >= 0 else np.arange(len(weights)) == leader
    assert seats == weights[members].sum()
    assert model.incumbent.alive == bool(run["incumbent_alive"])
    assert model.incumbent.legitimacy == run["incumbent_legitimacy"]


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
    assert {"max_escalation", "government_type", "RunId", "seed"} <= set(results[0])
    assert [r["seed"] for r in results] == [1, 2]


def test_agents_are_views_of_the_scenario():
    model = sim.FormationModel(BASE, seed=1)
    by_name = {f.name: f for f in model.factions}
    for name, faction in BASE.factions.items():
        assert by_name[name].seats == faction.seats
        assert by_name[name].previous_seats == faction.previous_seats
        assert isinstance(by_name[name].escalation, EscalationLevel)
        assert by_name[name].positions["pmf_mandate"] == faction.positions.pmf_mandate
    assert by_name["state_of_law"].bloc == "coordination_framework"
    assert by_name["kdp"].bloc is None
    patrons = {p.name: p for p in model.patrons}
    assert patrons["iran"].mediation == BASE.patrons["iran"].mediation
    assert set(patrons["iran"].patience) == set(BASE.factions)
    assert model.incumbent.present and model.incumbent.attacks == 0


def test_no_faction_name_appears_in_code():
    names = {n for path in SCENARIOS.glob("*.toml") for n in load_scenario(path).factions}
    files = sorted(Path(sim.__file__).parent.rglob("*.py"))
    assert any(p.parent.name == "processes" for p in files), "the processes are scanned too"
    code = "\n".join(p.read_text() for p in files)
    words = set(re.findall(r"\w+", code))

    def appears(name: str) -> bool:
        if re.fullmatch(r"\w+", name):
            return name in words
        return re.search(rf"\b{re.escape(name)}\b", code) is not None

    found = [n for n in names if appears(n)]
    assert not found


# --------------------------------------------------------------------------- invariants
def snapshot(model) -> State:
    return State(*(a.copy() for a in model.state))


def seats_present(model, before: State, president: bool) -> float:
    """Recompute the attendance of the session this week's step held, from the state the
    week started with: draws are keyed by (week, slot, actor), so the same session comes
    out. Blocs move first (sim.engine.week.one_week), then the session is held."""
    ref, streams = model.compiled.ref, model.streams
    copy = State(*(a.copy() for a in before))
    handle = state_ref(copy)
    copy.run[0]["week"] += 1
    blocs.step(ref, handle, streams[KEY["blocs"]])
    rules = model.scenario.parliament
    if president:
        week = int(copy.run[0]["week"])
        assert (
            uniform(streams[KEY["sessions"]], week, sessions.CONVENED, 0)
            < rules.session_probability
        )
        return sessions.attendance(
            ref, handle, streams[KEY["sessions"]], True, rules.president_quorum, False
        )
    return sessions.attendance(
        ref, handle, streams[KEY["sessions"]], False, rules.speaker_majority, True
    )


def check_step(model, before: State) -> None:
    """What one week may change: the sequence only moves on with a quorum present."""
    rules = model.scenario.parliament
    was, now = Stage(before.run[0]["stage"]), model.stage
    if was < Stage.PRESIDENT <= now:  # parliament may sit and elect its speaker in one week
        assert now == Stage.PRESIDENT
        assert model.week >= model.scenario.clock.first_session_week
        assert seats_present(model, before, False) >= rules.speaker_majority
    if was == Stage.PRESIDENT and now != Stage.PRESIDENT:
        # no president without quorum
        assert now == Stage.NOMINATION
        assert seats_present(model, before, True) >= rules.president_quorum
    held = model.run_state.president_sessions - before.run[0]["president_sessions"]
    if held and now == Stage.PRESIDENT:
        # and a session that missed the quorum did miss it (the recount is the session's)
        assert model.run_state.president_failures == before.run[0]["president_failures"] + 1
        assert seats_present(model, before, True) < rules.president_quorum
    assert now >= was or (was == Stage.CABINET and now == Stage.NOMINATION)
    assert model.run_state.casualties >= before.run[0]["casualties"]
    assert model.run_state.pmf_status - before.run[0]["pmf_status"] in (0, 1)
    if model.run_state.pmf_status != before.run[0]["pmf_status"]:
        assert model.run_state.government_type == GovernmentType.MAJORITY


def check_invariants(model):
    sc = model.scenario
    elected = model.world.seats
    state, run = model.state, model.run_state
    seats = state.seats  # as held now: a walk-out moves them
    assert elected.sum() == sc.parliament.size
    assert np.array_equal(elected, [f.seats for f in sc.factions.values()])
    assert np.array_equal(seats, np.round(seats)) and (seats >= 0).all()  # whole seats
    if sc.walk_out.seats_to == "vacant":
        assert seats.sum() <= sc.parliament.size
    else:
        assert seats.sum() == sc.parliament.size  # seats are conserved
    # a list that walked out holds no seats, sits in no bloc and is in no government
    out = state.walked_out
    assert (seats[out] == 0).all() and (state.bloc_of[out] == -1).all()
    assert not (state.government & out).any()
    if not out.any():
        assert np.array_equal(seats, elected)
    if model.formed:
        # no government without a confidence majority
        assert run.confidence_yes >= sc.parliament.confidence_majority
        assert seats[state.government].sum() >= sc.parliament.confidence_majority
        assert model.stage == Stage.FORMED
        assert run.government_type != GovernmentType.NONE and run.pm_kind != PMKind.NONE
    else:
        assert not state.government.any() and run.government_type == GovernmentType.NONE
    assert ((state.grievance >= 0) & (state.grievance <= 1)).all()
    assert ((state.legitimacy >= 0) & (state.legitimacy <= 1)).all()
    assert ((state.levels >= 0) & (state.levels <= 5)).all()
    assert ((state.patience >= 0) & (state.patience <= 1)).all()
    assert ((state.alignment >= -1) & (state.alignment <= 1)).all()
    assert state.levels[-1] <= sc.escalation.street_cap or model.week == sc.clock.start_week
    assert 0 <= model.incumbent.legitimacy <= 1
    # leaders stay with the blocs they lead (unless they left parliament)
    for b, leader in enumerate(model.world.bloc_leaders):
        assert state.bloc_of[leader] == b or out[leader]
    row = model.outcome()
    for key, value in row.items():
        if key.startswith("patron_weight_"):
            assert 0.0 <= value <= 1.0
    assert GovernmentType[row["government_type"].upper()] == run.government_type
    assert PMKind[row["pm_kind"].upper()] == run.pm_kind
    assert PMFStatus[row["pmf_status"].upper()] == run.pmf_status
    assert sum(row[f"weeks_at_level_{k}"] for k in range(6)) == model.week - sc.clock.start_week
    assert row["formed"] == (row["government_type"] != "none")
    assert row["coalition_seats"] == seats[state.government].sum()


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
    "walk_out.probability": st.floats(0, 1),
    "walk_out.blocked_sessions": st.integers(0, 6),
    "walk_out.grievance": st.floats(0, 1),
    "walk_out.seats_to": st.sampled_from(["same_community", "all_lists", "vacant"]),
    "escalation.resolve_spread": st.floats(0, 1),
}


def run_checked(model) -> None:
    check_invariants(model)
    while model.running:
        before = snapshot(model)
        model.step()
        check_step(model, before)
        check_invariants(model)


@given(  # examples and randomness: the hypothesis profile (tests/conftest.py)
    seed=st.integers(0, 2**32),
    changes=st.dictionaries(st.sampled_from(sorted(PERTURB)), st.none(), max_size=4).flatmap(
        lambda keys: st.fixed_dictionaries({k: PERTURB[k] for k in keys})
    ),
)
def test_invariants_hold_over_seeds_and_perturbed_parameters(seed, changes):
    raw = RAW
    for key, value in changes.items():
        raw = set_dotted(raw, key, value)
    run_checked(sim.FormationModel(validate(raw), seed=seed, record_series=False))


def test_the_sequence_moves_on_in_baseline_runs():
    """The invariants above are not vacuous: the baseline's runs elect a speaker and a
    president and form governments (and check_step checks each of those weeks)."""
    stages = []
    for seed in range(10):
        model = sim.FormationModel(BASE, seed=seed, record_series=False)
        run_checked(model)
        stages.append(model.stage)
    assert Stage.FORMED in stages


def test_stress_scenario_runs_with_forty_factions():
    sc = load_scenario(SCENARIOS / "stress_40_factions.toml")
    assert len(sc.factions) == 40
    for seed in range(3):
        run_checked(sim.FormationModel(sc, seed=seed, record_series=False))


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
        model = sim.FormationModel(sc, seed=seed, record_series=False)
        if seed < 10:
            run_checked(model)  # week by week
        else:
            check_invariants(model.run())
        row = model.outcome()
        assert row["incumbent_attacks"] == 0
        assert len(row["escalation_by_week"]) == model.week + 1  # from election day
        if row["pm_kind"] == "incumbent":
            assert row["pm_faction"] == "state_of_law"
    assert model.world.seats.sum() == 325


def test_the_row_names_the_lists_in_government():
    """The ``coalition`` column lists the government's members by name (and their seats
    are ``coalition_seats``)."""
    formed = 0
    for seed in range(10):
        model = sim.FormationModel(BASE, seed=seed, record_series=False).run()
        names = model.compiled.names
        members = [n for n, yes in zip(names, model.state.government, strict=True) if yes]
        row = model.outcome()
        assert row["coalition"] == members
        assert row["coalition_seats"] == sum(BASE.factions[n].seats for n in members)
        formed += model.formed
    assert formed > 0


def test_no_incumbent_at_all():
    raw = set_dotted(RAW, "incumbent.present", False)
    sc = validate(raw)
    for seed in range(20):
        row = sim.FormationModel(sc, seed=seed, record_series=False).run().outcome()
        assert row["pm_kind"] != "incumbent" and row["incumbent_attacks"] == 0
        assert row["incumbent_survived"]
