"""Each mechanism moves outcomes in the direction the theory (and the article) says, over
many runs. Runs share seeds across the two arms (common random numbers), so differences
are not noise; each assertion demands a margin of several standard errors."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

import sim
from sim.enums import Stage
from sim.scenario import load_scenario, resolve_raw, validate
from sim.sweep import set_dotted
from tests.conftest import BASELINE, SCENARIOS

RAW, _ = resolve_raw(BASELINE)
RUNS = 250


def variant(**changes) -> sim.Scenario:
    raw = RAW
    for key, value in changes.items():
        raw = set_dotted(raw, key.replace("__", "."), value)
    return validate(raw)


def batch(scenario, runs=RUNS, tmp_path=None, name="b") -> pd.DataFrame:
    rows = [
        sim.FormationModel(scenario, seed=s, record_series=False).run().outcome()
        for s in range(runs)
    ]
    return pd.DataFrame(rows)


def paired_gap(a: pd.Series, b: pd.Series) -> tuple[float, float]:
    """Mean of b - a and its standard error (paired: same seeds)."""
    d = b.astype(float).to_numpy() - a.astype(float).to_numpy()
    return d.mean(), d.std(ddof=1) / np.sqrt(len(d))


def assert_rises(a: pd.Series, b: pd.Series, z: float = 3.0):
    gap, se = paired_gap(a, b)
    assert gap > z * max(se, 1e-9), f"expected a rise: gap {gap:.3f}, se {se:.3f}"


@pytest.fixture(scope="module")
def baseline_runs() -> pd.DataFrame:
    return batch(load_scenario(BASELINE), runs=600)


@pytest.mark.slow
def test_both_government_families_are_reachable(baseline_runs):
    shares = baseline_runs.government_type.value_counts(normalize=True)
    n = len(baseline_runs)
    for family in ("majority", "consensus"):
        lo, _ = sim.outcomes.wilson_interval(shares.get(family, 0) * n, n)
        assert lo > 0.05, f"{family} is not reachable with non-trivial probability"


@pytest.mark.slow
def test_blocking_third_stalls_the_presidency():
    """With a two-thirds quorum a bloc over a third that stays away stalls the vote; with
    a simple-majority quorum it takes half the chamber staying away."""
    strict = batch(load_scenario(BASELINE))
    lax = batch(variant(parliament__president_quorum=165))
    assert strict.blocking_third.mean() > 0.3
    assert_rises(lax.blocking_third, strict.blocking_third)
    assert_rises(lax.president_failures, strict.president_failures)
    assert_rises(lax.weeks_to_government.fillna(80), strict.weeks_to_government.fillna(80))


@pytest.mark.slow
def test_without_iran_mediation_escalation_to_clashes_is_likelier(baseline_runs):
    no_iran = batch(load_scenario(SCENARIOS / "no_iran_mediation.toml"), runs=600)
    assert_rises(baseline_runs.max_escalation >= 3, no_iran.max_escalation >= 3)


@pytest.mark.slow
def test_more_mediation_never_raises_expected_top_escalation():
    means = []
    for mediation in (0.0, 0.35, 0.7, 1.0):
        runs = batch(variant(patrons__iran__mediation=mediation), runs=200)
        means.append(runs.max_escalation.mean())
    # monotone non-increasing, up to a small tolerance for sampling noise
    assert all(b <= a + 0.05 for a, b in itertools.pairwise(means)), means
    assert means[-1] < means[0]


def test_a_failed_attack_raises_the_incumbents_legitimacy():
    sc = variant(
        incumbent__attack_probability=1.0,
        incumbent__attack_lethality=0.0,
        factions__fatah__escalation=4,
        factions__fatah__grievance=1.0,
    )
    before = sc.incumbent.legitimacy
    model = sim.FormationModel(sc, seed=1)
    fatah = model.compiled.names.index("fatah")
    iran = model.compiled.patron_names.index("iran")
    attacker_legit = model.state["legitimacy"][fatah]
    while model.incumbent.attacks == 0 and model.running:
        model.step()
    assert model.incumbent.attacks >= 1 and model.incumbent.alive
    assert model.incumbent.legitimacy > before
    assert model.state["legitimacy"][fatah] < attacker_legit
    assert model.state["patience"][iran, fatah] < 1.0  # its patron's patience wears thin


@pytest.mark.slow
def test_a_stronger_backfire_leaves_the_incumbent_more_legitimate():
    """Over many runs with attacks, a stronger backfire means more legitimacy at the end."""
    hot = dict(
        incumbent__attack_probability=0.5,
        incumbent__attack_lethality=0.0,
        factions__fatah__escalation=4,
        factions__fatah__grievance=1.0,
    )
    weak = batch(variant(incumbent__backfire_legitimacy=0.0, **hot), runs=200)
    strong = batch(variant(incumbent__backfire_legitimacy=0.4, **hot), runs=200)
    assert (weak.incumbent_attacks > 0).mean() > 0.2
    assert_rises(weak.incumbent_legitimacy, strong.incumbent_legitimacy)


def mean_pmf_grievance(scenario, runs=150, week=20):
    out = []
    for seed in range(runs):
        model = sim.FormationModel(scenario, seed=seed, record_series=False)
        pmf = model.world["pmf"]
        while model.running and model.week < week:
            model.step()
        out.append(model.state["grievance"][pmf].mean())
    return pd.Series(out)


def test_guarantees_lower_militia_grievance():
    none = mean_pmf_grievance(variant(patrons__iran__guarantee=0.0))
    strong = mean_pmf_grievance(variant(patrons__iran__guarantee=1.0))
    assert_rises(strong, none)


@pytest.mark.slow
def test_casualties_feed_back_into_grievance():
    off = batch(variant(grievance__casualty=0.0))
    on = batch(variant(grievance__casualty=0.3))
    assert_rises(off.max_escalation, on.max_escalation)


@pytest.mark.slow
def test_patron_restraint_lowers_escalation():
    loose = batch(variant(patrons__iran__restraint=0.0))
    tight = batch(variant(patrons__iran__restraint=1.0))
    assert_rises(tight.max_escalation, loose.max_escalation)


@pytest.mark.slow
def test_deterrence_lowers_escalation():
    weak = batch(variant(incumbent__security_capacity=0.1))
    strong = batch(variant(incumbent__security_capacity=1.0))
    assert_rises(strong.max_escalation, weak.max_escalation)


def test_seat_loss_feeds_grievance():
    forgiving = mean_pmf_grievance(variant(grievance__seat_loss=0.0), runs=100, week=10)
    bitter = mean_pmf_grievance(variant(grievance__seat_loss=0.8), runs=100, week=10)
    assert_rises(forgiving, bitter)


@pytest.mark.slow
def test_a_government_moving_on_the_mandate_curtails_the_pmf_and_raises_conflict():
    still = batch(variant(governance__mandate_move_probability=0.0))
    moving = batch(variant(governance__mandate_move_probability=0.6))
    assert (still.pmf_status == "intact").all()
    assert_rises(still.pmf_status != "intact", moving.pmf_status != "intact")
    assert_rises(still.max_escalation >= 5, moving.max_escalation >= 5, z=2.0)


@pytest.mark.slow
def test_exclusion_from_government_breeds_grievance():
    mild = batch(variant(grievance__government_exclusion=0.0))
    harsh = batch(variant(grievance__government_exclusion=0.05))
    assert_rises(mild.max_escalation, harsh.max_escalation)


def test_no_session_means_no_president():
    model = sim.FormationModel(variant(parliament__session_probability=0.0), seed=0).run()
    assert model.process.stage == Stage.PRESIDENT and model.formed_week is None
    assert model.outcome()["government_type"] == "none"


@pytest.mark.slow
def test_us_backing_of_the_incumbent_deters_escalation():
    alone = batch(variant(patrons__us__backs_incumbent=0.0))
    backed = batch(variant(patrons__us__backs_incumbent=1.0))
    assert_rises(backed.max_escalation, alone.max_escalation)


@pytest.mark.slow
def test_turkeys_backing_of_its_partners_makes_a_majority_government_likelier():
    """Backed partners fear the excluded militias less, so they join a national majority."""
    none = batch(variant(patrons__turkey__backing=0.0), runs=500)
    strong = batch(variant(patrons__turkey__backing=1.0), runs=500)
    assert_rises(none.government_type == "majority", strong.government_type == "majority")
