"""The model's maths, tested directly: the pure functions of the processes and of the
bargaining, constitution and patron modules. Compiled functions that read the World get the
baseline's compiled handle (``compiled.ref``); the others take plain arrays and numbers."""

from __future__ import annotations

import numpy as np
import pytest

from sim.engine.assembly import new_state, world_for
from sim.engine.enums import SHARING_ISSUE
from sim.engine.processes import blocs, escalation, grievance
from sim.engine.rules import bargaining, constitution, patrons
from sim.engine.world import seat_loss_grievance
from sim.scenario.loading import load_scenario
from tests.conftest import BASELINE

COMPILED = world_for(load_scenario(BASELINE))
WORLD, REF = COMPILED.world, COMPILED.ref
ROW = {name: i for i, name in enumerate(COMPILED.names)}
STATE = new_state(WORLD, COMPILED.start)  # a run at its start: every list holds its seats
LADDER = WORLD.escalation._replace(
    thresholds=(0.15, 0.3, 0.5, 0.7, 0.9),
    slope=12.0,
    down_probability=0.25,
    capability_weight=0.5,
    deterrence_weight=0.4,
    restraint_weight=0.25,
    casualty_rates=(0.0, 0.0, 0.0, 1.5, 2.0, 15.0),
    protest_min_seats=40,
    street_cap=3,
)
CLIMB_AT = np.append(np.array(LADDER.thresholds), np.inf)
HOLD_AT = np.append(-np.inf, np.array(LADDER.thresholds))
RATES = WORLD.grievance._replace(
    decay=0.04,
    talks_exclusion=0.01,
    government_exclusion=0.01,
    mandate_threat=0.05,
    guarantee_relief=0.05,
    casualty=0.05,
    protest_relief=0.01,
)


def members_of(*names: str) -> np.ndarray:
    out = np.zeros(len(COMPILED.names), dtype=bool)
    for name in names:
        out[ROW[name]] = True
    return out


# --------------------------------------------------------------------------- bargaining
def test_sharing_stance_is_the_form_of_government():
    major = np.array([True, True, True, False])
    assert bargaining.sharing_stance(np.array([True, False, False, True]), major) == -1.0
    assert bargaining.sharing_stance(np.array([True, True, False, True]), major) == 0.0
    assert bargaining.sharing_stance(np.array([True, True, True, False]), major) == 1.0


def test_government_position_is_seat_weighted():
    members = members_of("sadrists", "kdp", "taqaddum")
    pos = bargaining.government_position(REF, STATE, members)
    seats = WORLD.seats * members
    expected = seats @ WORLD.positions / seats.sum()
    for issue in range(len(pos)):
        if issue != SHARING_ISSUE:
            assert pos[issue] == pytest.approx(expected[issue])
    # one major list of the three in: a national-majority government
    assert pos[SHARING_ISSUE] == -1.0
    every_major = bargaining.government_position(REF, STATE, members | WORLD.major_list)
    assert every_major[SHARING_ISSUE] == 1.0


def test_greedy_coalition_reaches_target_willing_first():
    seats = np.array([50.0, 40, 30, 30, 20])
    margins = np.array([1.0, -0.5, 0.8, 0.2, 0.9])
    start = np.array([True, False, False, False, False])
    members = bargaining.greedy_coalition(start, margins, np.zeros(5), seats, 110, np.ones(5, bool))
    assert (seats * members).sum() >= 110
    assert not members[1]  # the unwilling are left out while the willing suffice
    assert members[2] and members[4]


def test_greedy_coalition_respects_allowed():
    seats = np.array([50.0, 40, 30])
    allowed = np.array([True, False, True])
    members = bargaining.greedy_coalition(
        np.array([True, False, False]), np.ones(3), np.zeros(3), seats, 200, allowed
    )
    assert not members[1]
    assert members[2]  # everyone allowed is tried when the target is out of reach


def test_pass_probability_rises_with_margins():
    seats = np.array([80.0, 60, 40])
    members = np.ones(3, bool)
    low = bargaining.pass_probability(members, np.array([1, -0.5, -0.5]), seats, 0.35, 165, 0)
    high = bargaining.pass_probability(members, np.array([1, 0.5, 0.5]), seats, 0.35, 165, 0)
    assert 0.0 <= low < high <= 1.0


def test_draw_acceptance_only_invited_accept():
    members = np.array([True, True, False])
    accepted = bargaining.draw_acceptance(members, np.array([0.0, 1.0, 5.0]), 0.1, np.zeros(3), 0)
    assert accepted.tolist() == [True, True, False]  # the formateur accepts its own offer


def test_distance_is_the_weighted_mean_absolute_distance():
    i = ROW["fatah"]
    position = np.zeros(WORLD.positions.shape[1])
    expected = np.abs(WORLD.positions[i] - position) @ WORLD.issue_weights
    assert bargaining.distance(REF, i, position) == pytest.approx(expected)
    assert bargaining.distance(REF, i, WORLD.positions[i].copy()) == 0.0


# --------------------------------------------------------------------------- escalation
def test_net_pressure_falls_with_deterrence_and_restraint():
    base = escalation.net_pressure(0.6, 0.9, 0.0, 0.0, LADDER)
    assert escalation.net_pressure(0.6, 0.9, 0.8, 0.0, LADDER) < base
    assert escalation.net_pressure(0.6, 0.9, 0.0, 1.0, LADDER) < base
    assert escalation.net_pressure(0.6, 1.0, 0.0, 0.0, LADDER) > base
    assert escalation.net_pressure(0.7, 0.9, 0.0, 0.0, LADDER) > base


def test_next_level_moves_at_most_one_rung_and_respects_caps():
    rng = np.random.default_rng(0)
    for _ in range(2000):
        cap = int(rng.choice([2, 4, 5]))
        level = int(rng.integers(0, cap + 1))
        pressure, u = rng.uniform(-1, 2), rng.random()
        new = escalation.next_level(level, pressure, cap, u, CLIMB_AT, HOLD_AT, LADDER)
        assert abs(new - level) <= 1
        assert 0 <= new <= cap


def test_next_level_climbs_only_when_pressure_clears_the_rung():
    u = np.random.default_rng(1).random(1000)
    below = [escalation.next_level(0, 0.14, 5, x, CLIMB_AT, HOLD_AT, LADDER) for x in u]
    above = [escalation.next_level(0, 0.4, 5, x, CLIMB_AT, HOLD_AT, LADDER) for x in u]
    assert sum(below) == 0
    assert np.mean(above) > 0.7
    # and steps down only below the current rung's threshold, with down_probability
    down = [escalation.next_level(3, 0.0, 5, x, CLIMB_AT, HOLD_AT, LADDER) for x in u]
    held = [escalation.next_level(3, 0.55, 5, x, CLIMB_AT, HOLD_AT, LADDER) for x in u]
    assert np.mean(np.array(down) == 2) == pytest.approx(LADDER.down_probability, abs=0.05)
    assert set(held) == {3}


def test_armed_conflict_needs_a_mobilised_rival():
    armed = np.array([0.9, 0.8, 0.0])
    side = np.array([True, False, False])
    pro, anti = escalation.mobilised(np.array([4, 1, 0]), armed, side, False, 0.0)
    assert (pro, anti) == (True, False)
    assert escalation.level_cap(0.9, anti, 0.5) == 4  # the PMF side's rival is not mobilised
    pro, anti = escalation.mobilised(np.array([4, 3, 0]), armed, side, False, 0.0)
    assert anti and escalation.level_cap(0.9, anti, 0.5) == 5
    assert escalation.level_cap(0.2, anti, 0.5) == 3  # a few guards: clashes, no more
    assert escalation.level_cap(0.0, anti, 0.5) == 2  # the unarmed only protest
    pro, anti = escalation.mobilised(np.array([4, 0, 0]), armed, side, True, 0.0)
    assert anti, "a crackdown on the PMF counts as a mobilised rival"
    # an unarmed actor at rung 3 mobilises no one
    assert escalation.mobilised(np.array([0, 0, 3]), armed, side, False, 0.0) == (False, False)
    # a lightly armed list at clashes is no camp to fight when a militia-sized force is needed
    light = np.array([0.9, 0.1, 0.0])
    assert escalation.mobilised(np.array([4, 3, 0]), light, side, False, 0.0)[1]
    assert not escalation.mobilised(np.array([4, 3, 0]), light, side, False, 0.5)[1]


def test_small_protests_change_little():
    assert escalation.effective_protest(2, 17.0, 40) == 0.0  # too small
    assert escalation.effective_protest(2, 73.0, 40) == 1.0
    assert escalation.effective_protest(1, 73.0, 40) == 0.0  # threats are not protests


# --------------------------------------------------------------------------- grievance
def update(g, guarantee=0.0, floor=0.0, talks=True, government=True, threat=1.0, dead=20.0):
    return grievance.update_grievance(
        g, floor, talks, government, threat, guarantee, dead, 0.0, RATES
    )


def test_grievance_stays_in_range_and_guarantees_lower_it():
    rng = np.random.default_rng(2)
    lowered = 0
    for g in rng.random(50):
        without, with_g = update(g), update(g, guarantee=1.0)
        assert 0.0 <= without <= 1.0 and 0.0 <= with_g <= 1.0
        assert with_g <= without
        lowered += with_g < without
    assert lowered > 0
    assert update(1.0) == 1.0 and update(0.0, guarantee=50.0, threat=0.0, dead=0.0) == 0.0


def test_grievance_decays_toward_its_floor():
    g = 0.9
    for _ in range(200):
        g = update(g, floor=0.3, talks=False, government=False, threat=0.0, dead=0.0)
    assert g == pytest.approx(0.3, abs=1e-3)


def test_seat_loss_grievance():
    out = seat_loss_grievance(np.array([17.0, 73.0]), np.array([48.0, 54.0]), 0.4)
    assert out[0] == pytest.approx(0.4 * 31 / 48)
    assert out[1] == 0.0


def test_the_baselines_grievance_floor_is_its_seat_loss():
    lost = np.maximum(WORLD.previous_seats - WORLD.seats, 0) / np.maximum(WORLD.previous_seats, 1)
    assert WORLD.grievance_floor == pytest.approx(np.clip(0.4 * lost, 0, 1))
    assert WORLD.grievance_floor[ROW["fatah"]] > 0 and WORLD.grievance_floor[ROW["sadrists"]] == 0


# --------------------------------------------------------------------------- patrons
def test_failed_attack_backfire_raises_legitimacy():
    assert patrons.backfire(0.5, 0.2) == pytest.approx(0.6)
    assert patrons.backfire(1.0, 0.2) == 1.0


def test_restraint_grows_as_patience_wears_thin():
    alignment = np.array([[0.9, -0.5]])
    strength = np.array([0.5, 0.3])
    patient = patrons.restraint(alignment, strength, np.ones((2, 1)), 0)
    worn = patrons.restraint(alignment, strength, np.array([[0.2], [1.0]]), 0)
    assert worn > patient > 0
    # a patron has no leverage over a faction hostile to it
    assert patrons.restraint(alignment, np.array([0.0, 1.0]), np.ones((2, 1)), 0) == 0.0


def test_reassurance_follows_alignment_and_credibility():
    alignment = np.array([[0.8, -0.5]])
    guarantee = np.array([0.5, 1.0])
    full = patrons.reassurance(alignment, guarantee, np.ones(2), 0)
    half = patrons.reassurance(alignment, guarantee, np.full(2, 0.5), 0)
    assert full == pytest.approx(0.4) and half == pytest.approx(0.2)


def test_deterrence_falls_if_the_incumbent_is_killed():
    alive = patrons.deterrence(0.6, 0.5, 0.8, True)
    assert patrons.deterrence(0.6, 0.5, 0.8, False) < alive
    assert patrons.deterrence(0.6, 0.9, 0.8, True) > alive
    assert patrons.deterrence(0.6, 0.5, 1.0, True) > alive


def test_patron_weights_in_unit_interval():
    w = patrons.patron_weights(
        np.array([True, True]), np.array([10.0, 30.0]), np.array([[1.0, -1.0], [0.5, 0.2]])
    )
    assert w == pytest.approx([0.625, 0.15])
    none = patrons.patron_weights(np.zeros(2, bool), np.array([10.0, 30.0]), np.ones((2, 2)))
    assert none.tolist() == [0.0, 0.0]


# --------------------------------------------------------------------------- constitution
def test_blocking_third_and_quorum():
    assert constitution.blocking_third(110, 329, 220)
    assert not constitution.blocking_third(109, 329, 220)
    assert constitution.quorum_met(220, 220) and not constitution.quorum_met(219, 220)


def test_boycott_a_bloc_stays_away_as_one_unless_members_break_ranks():
    invited = np.array([True, False, False, True, False])
    margins = np.array([1.0, -1.0, 0.5, 0.5, -1.0])
    bloc_of = np.array([0, 1, 1, 1, -1])
    leaders = np.array([0, 1])
    draws = np.zeros(5)
    away = constitution.boycotting(invited, margins, draws, 0.1, bloc_of, leaders, 0, False)
    # leader 1 refuses: its bloc stays away, but member 3, invited and willing, attends;
    # member 2 (not invited) follows the bloc; unaffiliated 4 refuses alone
    assert away.tolist() == [False, True, True, False, True]
    only_blocs = constitution.boycotting(invited, margins, draws, 0.1, bloc_of, leaders, 0, True)
    assert only_blocs.tolist() == [False, True, True, False, False]
    # the formateur's own bloc never stays away from its own session
    own = constitution.boycotting(invited, margins, draws, 0.1, bloc_of, leaders, 1, False)
    assert not own[1] and not own[2]


# --------------------------------------------------------------------------- blocs
def test_largest_bloc_is_formed_in_parliament_not_the_largest_list():
    alone = np.full(len(COMPILED.names), -1)
    cf = members_of("state_of_law", "fatah", "huquq", "state_forces", "babylon")
    bloc_of = np.where(cf, 0, alone)
    leader, held = blocs.largest_bloc(REF, WORLD.seats, bloc_of)
    assert (leader, held) == (ROW["sadrists"], 73.0), "the largest list, standing alone"
    bloc_of = np.where(cf | members_of("taqaddum", "kdp"), 0, alone)
    leader, held = blocs.largest_bloc(REF, WORLD.seats, bloc_of)
    assert (leader, held) == (ROW["state_of_law"], 59.0 + 37 + 31)


def test_leaders_never_leave_their_bloc():
    bloc_of = np.array([0, 0, 1, -1])
    affinity = np.array([[-5.0, 5.0], [-5.0, 5.0], [5.0, -5.0], [1.0, 0.0]])
    is_leader = np.array([True, False, True, False])
    new = blocs.update_blocs(bloc_of, affinity, is_leader, np.ones(4), np.zeros(4), 0.1, 0.0)
    assert new.tolist() == [0, 1, 1, 0]


def test_switching_costs_something_and_a_weak_bloc_is_left():
    bloc_of = np.array([0, 0, 1])
    is_leader = np.array([True, False, True])
    affinity = np.array([[1.0, 0.0], [0.50, 0.55], [0.0, 1.0]])
    stay = blocs.update_blocs(bloc_of, affinity, is_leader, np.ones(3), np.zeros(3), 0.1, 0.0)
    assert stay.tolist() == [0, 0, 1]  # a gain of 0.05 does not pay a switching cost of 0.1
    weak = np.array([[1.0, 0.0], [-0.5, -0.6], [0.0, 1.0]])
    left = blocs.update_blocs(bloc_of, weak, is_leader, np.ones(3), np.zeros(3), 0.1, 0.0)
    assert left.tolist() == [0, -1, 1]


def test_mediation_pulls_clients_toward_the_bloc_their_patron_holds():
    """Raising a patron's alignment with a faction raises that faction's affinity for the
    bloc the patron's other clients dominate more than for the other bloc."""
    bloc_of = COMPILED.start.bloc_of.copy()
    alignment = COMPILED.start.alignment.copy()
    base = blocs.bloc_affinity(REF, WORLD.seats, bloc_of, alignment)
    iran = COMPILED.patron_names.index("iran")
    i = ROW["independents_establishment"]
    alignment[i, iran] = 1.0
    closer = blocs.bloc_affinity(REF, WORLD.seats, bloc_of, alignment)
    cf = COMPILED.bloc_names.index("coordination_framework")
    gain = closer[i] - base[i]
    assert gain[cf] > gain[1 - cf] and gain[cf] > 0, gain
    # only the changed faction's affinities move
    others = np.arange(len(bloc_of)) != i
    assert np.array_equal(closer[others], base[others])


def test_bloc_seats_adds_up_the_members():
    held = blocs.bloc_seats(COMPILED.start.bloc_of, WORLD.seats, len(COMPILED.bloc_names))
    assert held.tolist() == [59.0, 73.0]
