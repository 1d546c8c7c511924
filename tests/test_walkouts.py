"""Walk-outs and armed actors outside parliament: the pure functions, then each mechanism
through the model, switched off against the same seeds (paired: common random numbers)."""

from __future__ import annotations

import numpy as np
import pytest

from sim.engine.enums import Community, PMKind, SeatRule
from sim.engine.events import MARGIN_TERMS
from sim.engine.processes import walkouts
from sim.engine.rules import bargaining
from sim.mesa.model import FormationModel
from sim.scenario.loading import ScenarioError, load_scenario, validate
from tests.test_mechanisms import RAW, assert_rises, batch, variant

SHIA, KURD = list(Community).index(Community.SHIA), list(Community).index(Community.KURD)

#: Walk-outs switched on, with a trigger the baseline's Sadrists meet in some runs.
WALKING = dict(walk_out__probability=0.5, walk_out__blocked_sessions=2, walk_out__grievance=0.1)


# --------------------------------------------------------------------------- pure functions
def test_seats_pass_to_the_same_community_in_proportion_whole_seats_none_lost():
    seats = np.array([73.0, 33, 17, 31, 0, 175])
    community = np.array([SHIA, SHIA, SHIA, KURD, SHIA, KURD])
    receives = walkouts.seat_receivers(seats, community, 0, SeatRule.SAME_COMMUNITY)
    assert receives.tolist() == [False, True, True, False, False, False]  # no seatless list
    after = walkouts.redistribute(seats, 0, receives)
    assert after[0] == 0 and after.sum() == seats.sum()
    assert np.array_equal(after, np.round(after))  # whole seats
    # 73 seats over 33 : 17 -> quotas 48.18 and 24.82: floors 48 and 24, the one seat left
    # goes to the larger remainder
    assert (after[1:3] - seats[1:3]).tolist() == [48.0, 25.0]
    assert np.array_equal(after[3:], seats[3:])


def test_other_rules_all_lists_and_vacant_seats():
    seats = np.array([10.0, 30, 60])
    community = np.array([SHIA, KURD, KURD])
    alone = walkouts.seat_receivers(seats, community, 0, SeatRule.SAME_COMMUNITY)
    assert alone.tolist() == [False, True, True]  # no kin left: every list receives
    every = walkouts.seat_receivers(seats, community, 0, SeatRule.ALL_LISTS)
    assert walkouts.redistribute(seats, 0, every).tolist() == [0.0, 33.0, 67.0]
    vacant = walkouts.seat_receivers(seats, community, 0, SeatRule.VACANT)
    assert not vacant.any()
    assert walkouts.redistribute(seats, 0, vacant).tolist() == [0.0, 30.0, 60.0]


def test_the_trigger_needs_seats_blocks_and_grievance():
    assert walkouts.walk_out_due(73.0, 4, 0.5, 4, 0.5)
    assert not walkouts.walk_out_due(0.0, 4, 0.5, 4, 0.5)  # already out
    assert not walkouts.walk_out_due(73.0, 3, 0.9, 4, 0.5)  # not blocked long enough
    assert not walkouts.walk_out_due(73.0, 9, 0.4, 4, 0.5)  # not aggrieved enough


def test_a_walk_out_moves_the_seats_dissolves_its_bloc_and_recounts_the_largest():
    """On the baseline's opening state: the Sadrists lead a bloc with the KDP and Taqaddum
    in it; they walk out; their seats go to the other Shia lists, their partners are left
    without a bloc, and the largest bloc is now the Coordination Framework."""
    model = FormationModel("scenarios/baseline.toml", seed=1, record_series=False)
    names = model.compiled.names
    row = {name: i for i, name in enumerate(names)}
    sadr = row["sadrists"]
    state = model.state
    bloc = state.bloc_of[sadr]
    for partner in ("kdp", "taqaddum"):
        state.bloc_of[row[partner]] = bloc
    before = state.seats.copy()
    walkouts.walk_out(model.compiled.ref, model._state_ref, sadr)
    assert state.seats[sadr] == 0 and state.walked_out[sadr] and not state.major_list[sadr]
    assert state.seats.sum() == before.sum()
    shia = np.array([model.compiled.scenario.factions[n].community == "shia" for n in names])
    gained = state.seats - before
    others = np.arange(len(names)) != sadr
    assert (gained[shia & others] >= 0).all() and gained[~shia].sum() == 0
    assert (state.bloc_of[[sadr, row["kdp"], row["taqaddum"]]] == -1).all()
    leader, seats = model.largest_bloc()
    assert names[leader] == "state_of_law"
    assert seats == sum(state.seats[state.bloc_of == state.bloc_of[row["state_of_law"]]])


# --------------------------------------------------------------------------- through the model
def test_walk_outs_happen_only_where_switched_on_and_keep_the_list_out_of_government():
    off = batch(variant(**{**WALKING, "walk_out__probability": 0.0}))
    on = batch(variant(**WALKING))
    walked = on.walked_out.map(len) > 0
    assert off.walked_out.map(len).eq(0).all()
    assert walked.mean() > 0.02
    for _, run in on[walked].iterrows():
        assert not set(run.walked_out) & set(run.coalition)  # out of parliament, out of office
    # the Sadrists are the list kept from the government it leads; walking out, they leave
    # the government to their rivals
    in_office = on.coalition.map(lambda c: "sadrists" in c)
    assert_rises(in_office, off.coalition.map(lambda c: "sadrists" in c), z=3.0)


def test_a_list_that_walks_out_keeps_its_gun_and_its_street():
    """After the walk-out the list has no seats, but its rung still moves and its protests
    still count (by the seats it won): the model records its rung changes afterwards."""
    scenario = variant(**WALKING)
    checked = 0
    for seed in range(400):
        model = FormationModel(scenario, seed=seed, record_series=False, record_events=True)
        model.run()
        events = model.events
        out = [e for e in events if e.kind == "walk_out"]
        if not out:
            continue
        walk = out[0]
        who = walk.actors[0]
        assert model.state.seats[model.compiled.names.index(who)] == 0
        later = [
            e
            for e in events
            if e.kind == "rung_change" and e.actors[0] == who and e.week > walk.week
        ]
        checked += bool(later)
        if checked >= 3:
            break
    assert checked >= 3, "walk-outs with the list's rung moving afterwards"


def test_vacant_seats_make_a_majority_harder_than_seats_passed_on():
    passed_on = batch(variant(**WALKING, walk_out__seats_to="same_community"))
    vacant = batch(variant(**WALKING, walk_out__seats_to="vacant"))
    walked = passed_on.walked_out.map(len) > 0
    assert (walked == (vacant.walked_out.map(len) > 0))[:50].mean() > 0.5  # same runs, mostly
    later = passed_on.weeks_to_government.fillna(200), vacant.weeks_to_government.fillna(200)
    assert later[1][walked].mean() >= later[0][walked].mean()
    assert (vacant.coalition_seats[walked] <= passed_on.coalition_seats[walked] + 329).all()


# --------------------------------------------------------------------------- armed, no seats
def armed_cells(**faction) -> dict:
    """The baseline with an armed group that won no seats: militia cells like those raided
    in June 2020 for plotting rocket attacks (article, "Al-Kadhimi and the Militias")."""
    raw = {**RAW, "factions": dict(RAW["factions"])}
    raw["factions"]["rocket_cells"] = {
        "seats": 0, "previous_seats": 0, "community": "shia", "armed": 0.9, "pmf": True,
        "alignment": {"iran": 0.9, "us": -0.9}, "office_weight": 0.1, "grievance": 0.5,
        "escalation": 3,
        "positions": {"pmf_mandate": 1.0, "us_presence": -1.0, "shia_vote_sharing": 0.5},
        **faction,
    }  # fmt: skip
    return raw


def test_an_armed_group_without_seats_escalates_attacks_and_never_governs():
    scenario = validate(armed_cells())
    runs = batch(scenario, runs=300)
    assert not runs.coalition.map(lambda c: "rocket_cells" in c).any()
    attacks = 0
    for seed in range(60):
        model = FormationModel(scenario, seed=seed, record_series=False, record_events=True)
        model.run()
        row = model.compiled.names.index("rocket_cells")
        attacks += sum(e.kind == "attack" and e.actors[0] == "rocket_cells" for e in model.events)
        assert model.state.seats[row] == 0 and not model.state.government[row]
        assert model.state.bloc_of[row] == -1
    assert attacks > 0


def opening_safety_terms(scenario) -> np.ndarray:
    """Each list's safety term for the same offer (the Sadrists with the Kurdish and Sunni
    winners, al-Sadr's talks of 4 November) on the scenario's opening state."""
    model = FormationModel(scenario, seed=1, record_series=False, record_events=True)
    names = model.compiled.names
    members = np.isin(names, ["sadrists", "kdp", "taqaddum", "azm"])
    sadr = names.index("sadrists")
    position = model.compiled.world.positions[sadr].copy()
    bargaining.acceptance_margin(
        model.compiled.ref, model._state_ref, members, sadr, position, PMKind.FORMATEUR
    )
    return model.state.answer_terms[:, MARGIN_TERMS.index("safety")].copy()


def test_an_armed_group_without_seats_weighs_in_the_safety_term():
    """Its menace, always left outside (it cannot be brought into a government), makes the
    same offer more dangerous to the unarmed: their safety term falls."""
    calm = opening_safety_terms(validate(armed_cells(armed=0.0)))
    wary = opening_safety_terms(validate(armed_cells()))
    unarmed = np.array([f.armed == 0 for f in validate(armed_cells()).factions.values()])
    assert (wary[unarmed] < calm[unarmed]).all()


def test_an_armed_group_without_seats_raises_violence_through_the_model():
    """Paired runs: the same cells, armed or not. Armed, they climb, strike the incumbent
    and aggrieve the other side's militia (rival mobilisation)."""
    before = batch(validate(armed_cells(armed=0.0)))
    after = batch(validate(armed_cells()))
    assert_rises(before.max_escalation, after.max_escalation)
    assert_rises(before.incumbent_attacks, after.incumbent_attacks)
    assert_rises(before.casualties, after.casualties)


def test_a_bloc_cannot_list_a_faction_without_seats():
    raw = armed_cells()
    raw["blocs"] = [dict(b) for b in RAW["blocs"]]
    raw["blocs"][0]["members"] = [*raw["blocs"][0]["members"], "rocket_cells"]
    with pytest.raises(ScenarioError, match=r"rocket_cells.*no seats"):
        validate(raw)


def test_the_baseline_validates_with_its_walk_out_section():
    sc = load_scenario("scenarios/baseline.toml")
    assert sc.walk_out.seats_to in {r.label for r in SeatRule}


def test_the_last_list_in_parliament_cannot_walk_out():
    """Issue 20's case, kept as a fixed example: with every trigger at zero all lists walk
    out, one a week, but the last stays; its seats, and parliament, are kept."""
    scenario = variant(
        walk_out__probability=1.0, walk_out__blocked_sessions=0, walk_out__grievance=0.0,
        parliament__session_probability=0.0,
    )  # fmt: skip
    model = FormationModel(scenario, seed=0).run()
    seats = model.state.seats
    assert seats.sum() == scenario.parliament.size
    assert (seats > 0).sum() >= 1
    assert len([e for e in model.events if e.kind == "walk_out"]) == len(seats) - (seats > 0).sum()
