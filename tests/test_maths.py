"""The model's maths, tested directly: pure functions that take arrays and return arrays."""

from __future__ import annotations

import numpy as np
import pytest

from sim import bargaining, constitution, escalation, factions, patrons
from sim.enums import SHARING_ISSUE
from sim.escalation import GrievanceRates, Ladder

LADDER = Ladder(
    thresholds=np.array([0.15, 0.3, 0.5, 0.7, 0.9]),
    slope=12.0,
    down_probability=0.25,
    capability_weight=0.5,
    deterrence_weight=0.4,
    restraint_weight=0.25,
    casualty_rates=np.array([0, 0, 0, 1.5, 2.0, 15.0]),
    protest_min_seats=40,
    street_cap=3,
)
RATES = GrievanceRates(0.04, 0.01, 0.01, 0.05, 0.05, 0.05, 0.01)


def test_sharing_stance_is_the_form_of_government():
    major = np.array([True, True, True, False])
    assert bargaining.sharing_stance(np.array([True, False, False, True]), major) == -1.0
    assert bargaining.sharing_stance(np.array([True, True, False, True]), major) == 0.0
    assert bargaining.sharing_stance(np.array([True, True, True, False]), major) == 1.0


def test_government_position_is_seat_weighted():
    seats = np.array([60.0, 20.0, 20.0])
    positions = np.array([[1.0, 0, 0], [-1.0, 0, 0], [0.0, 0, 0]])
    world = {"major_list": np.array([True, False, False])}
    pos = bargaining.government_position(np.array([True, True, False]), seats, positions, world)
    assert pos[0] == pytest.approx(0.5)
    assert pos[SHARING_ISSUE] == 1.0  # the only major list is in


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


def test_pass_probability_rises_with_margins():
    seats = np.array([80.0, 60, 40])
    members = np.ones(3, bool)
    low = bargaining.pass_probability(members, np.array([1, -0.5, -0.5]), seats, 0.35, 165, 0)
    high = bargaining.pass_probability(members, np.array([1, 0.5, 0.5]), seats, 0.35, 165, 0)
    assert 0.0 <= low < high <= 1.0


def test_draw_acceptance_only_invited_accept():
    members = np.array([True, True, False])
    accepted = bargaining.draw_acceptance(
        members, np.array([0.0, 1.0, 5.0]), 0.1, np.zeros(3), formateur=0
    )
    assert accepted.tolist() == [True, True, False]


def test_net_pressure_falls_with_deterrence_and_restraint():
    g = np.array([0.6, 0.6])
    armed = np.array([0.9, 0.9])
    base = escalation.net_pressure(g, armed, 0.0, np.zeros(2), LADDER)
    deterred = escalation.net_pressure(g, armed, 0.8, np.zeros(2), LADDER)
    restrained = escalation.net_pressure(g, armed, 0.0, np.ones(2), LADDER)
    assert (deterred < base).all() and (restrained < base).all()
    more_armed = escalation.net_pressure(g, np.array([1.0, 1.0]), 0.0, np.zeros(2), LADDER)
    assert (more_armed > base).all()


def test_step_levels_moves_at_most_one_rung_and_respects_caps():
    rng = np.random.default_rng(0)
    levels = rng.integers(0, 6, size=500)
    pressure = rng.uniform(-1, 2, size=500)
    caps = np.where(rng.random(500) < 0.5, 2, 5)
    levels = np.minimum(levels, caps)
    new = escalation.step_levels(levels, pressure, caps, rng.random(500), LADDER)
    assert np.abs(new - levels).max() <= 1
    assert (new <= caps).all() and (new >= 0).all()


def test_step_levels_climbs_only_when_pressure_clears_the_rung():
    levels = np.zeros(1000, dtype=np.int64)
    caps = np.full(1000, 5)
    u = np.random.default_rng(1).random(1000)
    below = escalation.step_levels(levels, np.full(1000, 0.14), caps, u, LADDER)
    above = escalation.step_levels(levels, np.full(1000, 0.4), caps, u, LADDER)
    assert below.sum() == 0
    assert above.mean() > 0.7


def test_armed_conflict_needs_a_mobilised_rival():
    armed = np.array([0.9, 0.8, 0.0])
    side = np.array([True, False, False])
    calm = escalation.rivals_mobilised(np.array([4, 1, 0]), armed, side)
    assert escalation.level_caps(armed, calm)[0] == 4
    hot = escalation.rivals_mobilised(np.array([4, 3, 0]), armed, side)
    assert escalation.level_caps(armed, hot)[0] == 5
    assert escalation.level_caps(armed, hot)[2] == 2  # the unarmed only protest
    crackdown = escalation.rivals_mobilised(np.array([4, 0, 0]), armed, side, crackdown=True)
    assert escalation.level_caps(armed, crackdown)[0] == 5


def test_small_protests_change_little():
    levels = np.array([2, 2, 1])
    seats = np.array([17.0, 73.0, 73.0])
    assert escalation.effective_protest(levels, seats, LADDER).tolist() == [0.0, 1.0, 0.0]


def test_grievance_stays_in_range_and_guarantees_lower_it():
    rng = np.random.default_rng(2)
    g = rng.random(50)
    args = dict(
        floor=np.zeros(50),
        excluded_from_talks=np.ones(50),
        excluded_from_government=np.ones(50),
        mandate_threat=np.ones(50),
        casualties=np.full(50, 20.0),
        protest=np.zeros(50),
        rates=RATES,
    )
    without = escalation.update_grievance(g, guarantee=np.zeros(50), **args)
    with_g = escalation.update_grievance(g, guarantee=np.ones(50), **args)
    assert ((without >= 0) & (without <= 1)).all()
    assert (with_g <= without).all() and (with_g < without).any()


def test_grievance_decays_toward_its_floor():
    g = np.array([0.9])
    zeros = np.zeros(1)
    for _ in range(200):
        g = escalation.update_grievance(
            g, np.array([0.3]), zeros, zeros, zeros, zeros, zeros, zeros, RATES
        )
    assert g[0] == pytest.approx(0.3, abs=1e-3)


def test_seat_loss_grievance():
    out = escalation.seat_loss_grievance(np.array([17.0, 73.0]), np.array([48.0, 54.0]), 0.4)
    assert out[0] == pytest.approx(0.4 * 31 / 48)
    assert out[1] == 0.0


def test_failed_attack_backfire_raises_legitimacy():
    assert patrons.backfire(0.5, 0.2) == pytest.approx(0.6)
    assert patrons.backfire(1.0, 0.2) == 1.0


def test_restraint_grows_as_patience_wears_thin():
    alignment = np.array([[0.9, -0.5]])
    strength = np.array([0.5, 0.3])
    patient = patrons.restraint(alignment, strength, np.ones((2, 1)))
    worn = patrons.restraint(alignment, strength, np.array([[0.2], [1.0]]))
    assert worn[0] > patient[0] > 0


def test_deterrence_falls_if_the_incumbent_is_killed():
    alive = patrons.deterrence(0.6, 0.5, 0.8, True)
    assert patrons.deterrence(0.6, 0.5, 0.8, False) < alive
    assert patrons.deterrence(0.6, 0.9, 0.8, True) > alive


def test_patron_weights_in_unit_interval():
    w = patrons.patron_weights(
        np.array([True, True]), np.array([10.0, 30.0]), np.array([[1.0, -1.0], [0.5, 0.2]])
    )
    assert w == pytest.approx([0.625, 0.15])


def test_blocking_third_and_quorum():
    assert constitution.blocking_third(110, 329, 220)
    assert not constitution.blocking_third(109, 329, 220)
    assert constitution.quorum_met(220, 220) and not constitution.quorum_met(219, 220)


def test_boycott_a_bloc_stays_away_as_one_unless_members_break_ranks():
    invited = np.array([True, False, False, True, False])
    margins = np.array([1.0, -1.0, 0.5, 0.5, -1.0])
    bloc_of = np.array([0, 1, 1, 1, -1])
    leaders = np.array([0, 1])
    away = constitution.boycotting(invited, margins, np.zeros(5), 0.1, bloc_of, leaders, 0)
    # leader 1 refuses: its bloc stays away, but member 3, invited and willing, attends;
    # member 2 (not invited) follows the bloc; unaffiliated 4 refuses alone
    assert away.tolist() == [False, True, True, False, True]
    only_blocs = constitution.boycotting(
        invited, margins, np.zeros(5), 0.1, bloc_of, leaders, 0, blocs_only=True
    )
    assert not only_blocs[4]


def test_largest_bloc_is_formed_in_parliament_not_the_largest_list():
    seats = np.array([73.0, 33.0, 30.0, 20.0])
    bloc_of = np.array([-1, 0, 0, 0])
    leader, held = factions.largest_bloc(bloc_of, seats, np.array([1]))
    assert (leader, held) == (1, 83.0)
    leader, held = factions.largest_bloc(np.array([-1, 0, -1, -1]), seats, np.array([1]))
    assert (leader, held) == (0, 73.0)


def test_leaders_never_leave_their_bloc():
    bloc_of = np.array([0, 0, 1, -1])
    affinity = np.array([[-5.0, 5.0], [-5.0, 5.0], [5.0, -5.0], [1.0, 0.0]])
    is_leader = np.array([True, False, True, False])
    options = factions.bloc_options(bloc_of, affinity, is_leader)
    new = factions.update_blocs(bloc_of, options, is_leader, np.zeros(4), 0.1, 0.0)
    assert new.tolist() == [0, 1, 1, 0]


def test_switching_costs_something_and_a_weak_bloc_is_left():
    bloc_of = np.array([0, 0, 1])
    is_leader = np.array([True, False, True])
    affinity = np.array([[1.0, 0.0], [0.50, 0.55], [0.0, 1.0]])
    options = factions.bloc_options(bloc_of, affinity, is_leader)
    stay = factions.update_blocs(bloc_of, options, is_leader, np.zeros(3), 0.1, 0.0)
    assert stay.tolist() == [0, 0, 1]  # a gain of 0.05 does not pay a switching cost of 0.1
    weak = np.array([[1.0, 0.0], [-0.5, -0.6], [0.0, 1.0]])
    options = factions.bloc_options(bloc_of, weak, is_leader)
    left = factions.update_blocs(bloc_of, options, is_leader, np.zeros(3), 0.1, 0.0)
    assert left.tolist() == [0, -1, 1]
