"""Walking back (``sim.engine.processes.returns``): a list that walked out returns and takes
back its seats. The pure functions first, then the mechanism through the model, switched
off against the same seeds (paired: common random numbers)."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from sim.engine.processes import returns
from sim.mesa.model import FormationModel
from tests.test_mechanisms import assert_rises, batch, variant

#: Walk-outs that happen in many baseline runs (as in tests/test_walkouts.py) ...
WALKING = dict(walk_out__probability=0.5, walk_out__blocked_sessions=2, walk_out__grievance=0.1)
#: ... and returns switched on: after four weeks out, whatever the grievance
RETURNING = dict(walk_back__probability=0.5, walk_back__after_weeks=4, walk_back__grievance=1.0)


# --------------------------------------------------------------------------- pure functions
def test_a_returning_list_takes_back_its_seats_from_those_who_gained():
    won = np.array([73.0, 33, 17, 31])
    now = np.array([0.0, 81, 42, 31])  # its 73 seats went to rows 1 and 2 (48 and 25)
    after = returns.reclaim(now, won, 0, won.sum())
    assert after.tolist() == won.tolist()  # all given back, the Kurds untouched


def test_vacant_seats_go_back_first_and_whole_seats_by_largest_remainder():
    won = np.array([10.0, 30, 60])
    left_vacant = np.array([0.0, 30, 60])
    assert returns.reclaim(left_vacant, won, 0, 100.0).tolist() == [10.0, 30.0, 60.0]
    gained = np.array([0.0, 35, 65])  # 5 and 5 gained: 10 taken, 5 from each
    assert returns.reclaim(gained, won, 0, 100.0).tolist() == [10.0, 30.0, 60.0]
    uneven = np.array([0.0, 33, 67])  # 3 and 7 gained
    assert returns.reclaim(uneven, won, 0, 100.0).tolist() == [10.0, 30.0, 60.0]


@given(
    won=st.lists(st.integers(1, 80), min_size=2, max_size=8),
    data=st.data(),
)
def test_reclaiming_keeps_whole_seats_the_total_and_no_negative_list(won, data):
    won = np.array(won, dtype=float)
    leaving = data.draw(st.integers(0, len(won) - 1))
    # the list's seats went to the others in some whole split, some perhaps left vacant
    shares = data.draw(st.lists(st.integers(0, 5), min_size=len(won), max_size=len(won)))
    shares[leaving] = 0
    now = won.copy()
    now[leaving] = 0.0
    given_away = won[leaving] - data.draw(st.integers(0, int(won[leaving])))  # rest vacant
    weights = np.array(shares, dtype=float)
    if weights.sum() > 0:
        split = np.floor(given_away * weights / weights.sum())
        split[np.argmax(weights)] += given_away - split.sum()
        now += split
    after = returns.reclaim(now, won, leaving, won.sum())
    assert np.array_equal(after, np.round(after))
    assert after.sum() <= won.sum() and (after >= 0).all()
    assert after[leaving] == won[leaving]
    assert (after >= np.minimum(now, won)).all()  # no list drops below what it won


def test_the_condition_needs_time_out_and_a_cooler_grievance():
    assert returns.walk_back_due(True, 8, 0.4, 8, 0.5)
    assert not returns.walk_back_due(False, 8, 0.4, 8, 0.5)  # never left
    assert not returns.walk_back_due(True, 7, 0.4, 8, 0.5)  # not out long enough
    assert not returns.walk_back_due(True, 9, 0.6, 8, 0.5)  # still too aggrieved


# --------------------------------------------------------------------------- through the model
def test_lists_return_only_when_switched_on_and_the_runs_stay_paired_until_then():
    off = batch(variant(**WALKING))
    on = batch(variant(**WALKING, **RETURNING))
    walked = off.walked_out.map(len) > 0
    assert walked.mean() > 0.2, "walk-outs happen in many runs"
    # runs without a walk-out never reach the mechanism: identical, column by column
    same = ~walked.to_numpy()
    for column in ("weeks_to_government", "government_type", "casualties", "max_escalation"):
        assert off[column][same].equals(on[column][same]), column
    # with returns on, fewer runs end with a list outside parliament
    out_at_end_off = (off.walked_out.map(len) > 0).astype(int)
    out_at_end_on = (on.walked_out.map(len) > 0).astype(int)
    assert_rises(out_at_end_on, out_at_end_off)


def test_a_return_is_logged_and_the_list_sits_again():
    for seed in range(60):
        model = FormationModel(variant(**WALKING, **RETURNING), seed=seed).run()
        back = [e for e in model.events if e.kind == "walk_back"]
        if back:
            break
    else:
        raise AssertionError("no run of 60 saw a list walk back")
    event = back[0]
    who = event.actors[0]
    assert event.values["seats"] > 0 and event.values["weeks_out"] >= 4
    assert f"{who} returns to parliament after" in event.text
    walked = [e for e in model.events if e.kind == "walk_out" and e.actors[0] == who]
    assert walked and walked[0].week < event.week
