"""The mechanisms that make escalation grow out of the contest and let a compromise prime
minister be a first choice, each switched off against the baseline on the same seeds
(paired: common random numbers), through the model itself: the compiled batch engine for
run-table outcomes, the Mesa model for the street's own rung."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sim.mesa.model import FormationModel
from tests.test_mechanisms import RUNS, assert_rises, baseline_runs, batch, variant

STREET_SEEDS = range(60)


def street_top(**changes) -> pd.Series:
    """The street's highest rung in each of a few runs (the Mesa model, paired seeds)."""
    scenario = variant(**changes)
    tops = []
    for seed in STREET_SEEDS:
        model = FormationModel(scenario, seed=seed, record_series=False, record_events=False)
        top = int(model.state.levels[-1])
        while model.running:
            model.step()
            top = max(top, int(model.state.levels[-1]))
        tops.append(top)
    return pd.Series(tops)


def test_the_street_cap_works_and_crowds_can_clash():
    """street_cap = 3 lets the (unarmed) street reach clashes with security forces; at 2 it
    stops at protests. It used to stop at 2 whatever the cap said."""
    angry = {"escalation__street_grievance": 0.6}
    capped = street_top(escalation__street_cap=2, **angry)
    free = street_top(escalation__street_cap=3, **angry)
    assert capped.max() <= 2
    assert (free == 3).mean() > 0.5
    assert_rises(capped, free)


def test_the_streets_own_grievance_raises_its_rung():
    calm = street_top(escalation__street_grievance=0.0)
    aggrieved = street_top(escalation__street_grievance=0.4)
    assert_rises(calm, aggrieved)


def test_rival_mobilisation_lets_two_armed_camps_fight_without_a_crackdown():
    """Armed conflict with the PMF's mandate intact (no crackdown): two armed camps across
    the PMF question, both mobilised, feeding each other's grievance."""
    off = batch(variant(grievance__rival_escalation=0.0))
    on = batch(variant(grievance__rival_escalation=0.06))

    def camps(t: pd.DataFrame) -> pd.Series:
        return (t.max_escalation == 5) & (t.pmf_status == "intact")

    assert_rises(off.max_escalation, on.max_escalation)
    assert_rises(camps(off), camps(on))
    assert camps(on).mean() > 0.01


def test_a_lightly_armed_list_is_no_camp_to_fight():
    """With militia_armed, only militias make the rival camp that lets the other side fight
    (rung 5) and fear it: armed conflict with the PMF intact falls."""
    any_guard = batch(variant(escalation__militia_armed=0.0))
    militias = batch(variant(escalation__militia_armed=0.5))

    def camps(t: pd.DataFrame) -> pd.Series:
        return (t.max_escalation == 5) & (t.pmf_status == "intact")

    assert_rises(camps(militias), camps(any_guard))
    assert_rises(militias.max_escalation, any_guard.max_escalation)


def test_each_runs_resolve_loosens_the_tie_between_government_and_violence():
    """With every actor's resolve the same in every run, runs differ too little to matter:
    no government meets targeted attacks. With resolve drawn once a run (the baseline),
    hawks in one run and doves in the next, both government families see calm runs and
    runs with targeted attacks or worse: the government's type no longer fixes the rung."""
    same = batch(variant(escalation__resolve_spread=0.0))
    drawn = batch(variant(escalation__resolve_spread=0.2))

    def hot(t: pd.DataFrame, kind: str) -> pd.Series:
        return (t.government_type == kind) & (t.max_escalation >= 4)

    for kind in ("consensus", "majority"):
        assert_rises(hot(same, kind), hot(drawn, kind))
        of_kind = drawn[drawn.government_type == kind]
        assert 0.05 < (of_kind.max_escalation >= 4).mean() < 0.8, kind
    assert (same.max_escalation >= 4).mean() < 0.01


def test_a_compromise_pm_can_be_the_first_choice():
    """With compromise_first the formateur weighs a compromise figure at its first
    nomination; without it a compromise PM comes only after a failed nominee."""
    late = batch(variant(bargaining__compromise_first=False))
    first = batch(variant(bargaining__compromise_first=True))
    assert (late.nominees[late.pm_kind == "compromise"] >= 2).all()
    chosen_first = (first.pm_kind == "compromise") & (first.nominees == 1)
    assert chosen_first.mean() > 0.05
    assert_rises(late.pm_kind == "compromise", first.pm_kind == "compromise")


def test_a_compromise_figures_appeal_makes_it_likelier():
    plain = batch(variant(bargaining__compromise_appeal=0.0))
    appealing = batch(variant(bargaining__compromise_appeal=0.05))
    assert_rises(plain.pm_kind == "compromise", appealing.pm_kind == "compromise")


def test_the_baseline_keeps_a_live_contest_with_compromise_prime_ministers():
    t = baseline_runs()
    share = t.pm_kind.value_counts(normalize=True)
    assert share.get("compromise", 0) >= 0.25
    assert share.get("formateur", 0) <= 0.45
    types = t.government_type.value_counts(normalize=True)
    assert min(types.get("majority", 0), types.get("consensus", 0)) >= 0.2
    assert len(t) == RUNS and np.isfinite(t.casualties).all()


# --------------------------------------------------------------------------- election day
ELECTION_DAY = "scenarios/election_day_2021.toml"


def election_day(weeks: int | None = None, **changes) -> pd.DataFrame:
    """Runs of the election-day scenario (cut at ``weeks``), on the shared seeds."""
    from sim.engine.replicates import run_replicates
    from sim.scenario.loading import with_overrides
    from tests.conftest import ROOT
    from tests.test_mechanisms import SEEDS

    overrides = {k.replace("__", "."): v for k, v in changes.items()}
    if weeks is not None:
        overrides["clock.horizon_weeks"] = weeks
    columns, errors = run_replicates(with_overrides(ROOT / ELECTION_DAY, overrides), SEEDS[:2000])
    assert not any(errors)
    import pyarrow as pa

    return pa.table(columns).to_pandas()


def test_the_results_appeal_aggrieves_the_losers_into_the_first_months_violence():
    off = election_day(5, grievance__results_appeal=0.0)
    on = election_day(5)
    # without it, only the most hawkish runs see clashes in the first month
    assert (off.max_escalation >= 3).mean() < 0.5 < (on.max_escalation >= 3).mean()
    assert_rises(off.max_escalation, on.max_escalation)
    assert_rises(off.casualties, on.casualties)


def test_the_election_day_targets_hold_with_a_margin():
    """The article's first month (scenarios/cases/first_month_2021.toml): some actor at
    clashes by week 5 in at least 0.25 of runs, an attack on the incumbent by week 5 in at
    least 0.05, and armed conflict without a crackdown in at least 0.01 over the horizon;
    each by the lower end of its 95% interval over 2,000 runs."""
    from sim.engine.outcomes import wilson_interval

    month = election_day(5)
    n = len(month)
    assert wilson_interval((month.max_escalation >= 3).sum(), n)[0] >= 0.25
    assert wilson_interval((month.incumbent_attacks >= 1).sum(), n)[0] >= 0.05
    weeks = month.incumbent_attack_weeks.map(list)
    assert (weeks.map(len) == month.incumbent_attacks).all()
    assert all(1 <= w <= 5 for ws in weeks for w in ws)  # within the first five weeks
    whole = election_day()
    camps = (whole.max_escalation == 5) & (whole.pmf_status == "intact")
    assert wilson_interval(camps.sum(), n)[0] >= 0.01


def test_portfolios_follow_seats_with_the_formateurs_bonus():
    """Gamson's law: each government list's share of the ministries is its share of the
    coalition's seats, after the formateur's bonus; the shares cover the cabinet."""
    from tests.test_mechanisms import BASE

    t = baseline_runs()
    seats = {name: f.seats for name, f in BASE.factions.items()}
    bonus = BASE.bargaining.formateur_bonus
    for _, run in t[t.formed].head(200).iterrows():
        shares, seat_shares = dict(run.portfolios), dict(run.seat_shares)
        assert sorted(shares) == sorted(run.coalition) == sorted(seat_shares)
        assert sum(shares.values()) == pytest.approx(1.0, abs=1e-5)
        assert sum(seat_shares.values()) == pytest.approx(1.0, abs=1e-5)
        if not len(run.walked_out):  # the seats as elected
            held = sum(seats[m] for m in shares)
            for m in shares:
                assert seat_shares[m] == pytest.approx(seats[m] / held, abs=1e-5)
        over = {m: s - (1 - bonus) * seat_shares[m] for m, s in shares.items()}
        assert sum(v > 1e-5 for v in over.values()) == 1  # the formateur's list alone
        assert max(over.values()) == pytest.approx(bonus, abs=1e-5)
    assert t[~t.formed].portfolios.map(len).eq(0).all()


def test_a_first_session_kept_open_delays_the_government():
    voted = batch(variant(parliament__open_session_probability=0.0))
    kept_open = batch(variant(parliament__open_session_probability=0.6))
    assert_rises(voted.weeks_to_government.fillna(200), kept_open.weeks_to_government.fillna(200))


def test_the_court_rule_decides_who_counts_as_the_largest_bloc():
    """Under the court's reading (the default) the largest bloc formed in parliament names
    the formateur; under the largest-list rule, the largest list at the election does."""
    from tests.test_mechanisms import BASE

    largest_list = max(BASE.factions, key=lambda name: BASE.factions[name].seats)
    stay = {"walk_out__probability": 0.0}  # the largest list never leaves
    by_bloc = batch(variant(parliament__largest_list_rule=False, **stay), runs=200)
    by_list = batch(variant(parliament__largest_list_rule=True, **stay), runs=200)
    assert (by_list.largest_bloc == largest_list).all()
    assert (by_list.largest_bloc_seats == BASE.factions[largest_list].seats).all()
    assert not (by_bloc.largest_bloc == largest_list).any()
    assert (by_bloc.largest_bloc_seats > by_list.largest_bloc_seats).all()
