"""Each mechanism moves outcomes in the direction the theory (and the article) says, over
many runs. The runs go through the compiled batch engine (``sim.engine.replicates``), which steps
the very processes a ``FormationModel`` steps; both arms of a comparison run on the same
seeds (replicate i gets ``run_seed(scenario seed, i)``: common random numbers), so the
differences are paired and not noise; each assertion demands a margin of several standard
errors of the paired difference."""

from __future__ import annotations

import itertools
from functools import cache

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

import sim
from sim.batch.experiment import run_seed
from sim.engine.dotted import set_dotted
from sim.engine.enums import Stage
from sim.engine.outcomes import wilson_interval
from sim.engine.replicates import run_replicates
from sim.scenario.loading import load_scenario, resolve_raw, validate
from tests.conftest import BASELINE, SCENARIOS

RAW, _ = resolve_raw(BASELINE)
BASE = load_scenario(BASELINE)
RUNS = 1000  # per arm: about 0.15 s each through the compiled engine
SEEDS = np.array([run_seed(BASE.seed, i) for i in range(4 * RUNS)], dtype=np.int64)


def variant(**changes) -> sim.Scenario:
    """The baseline with dotted keys changed (``a__b`` for ``a.b``)."""
    raw = RAW
    for key, value in changes.items():
        raw = set_dotted(raw, key.replace("__", "."), value)
    return validate(raw)


def batch(scenario, runs: int = RUNS) -> pd.DataFrame:
    """The run table of ``runs`` replicates of a scenario, on the shared seeds."""
    columns, errors = run_replicates(scenario, SEEDS[:runs])
    assert not any(errors), errors
    return pa.table(columns).to_pandas()


@cache
def baseline_runs() -> pd.DataFrame:
    return batch(BASE)


def paired_gap(a: pd.Series, b: pd.Series) -> tuple[float, float]:
    """Mean of b - a and its standard error (paired: same seeds)."""
    d = b.astype(float).to_numpy() - a.astype(float).to_numpy()
    return d.mean(), d.std(ddof=1) / np.sqrt(len(d))


def assert_rises(a: pd.Series, b: pd.Series, z: float = 4.0):
    gap, se = paired_gap(a, b)
    assert gap > z * max(se, 1e-9), f"expected a rise: gap {gap:.4f}, se {se:.4f}"


def test_both_government_families_are_reachable():
    runs = baseline_runs()
    n = len(runs)
    for family in ("majority", "consensus"):
        lo, _ = wilson_interval((runs.government_type == family).sum(), n)
        assert lo > 0.05, f"{family} is not reachable with non-trivial probability"


@pytest.mark.slow  # many replicates, about 1.2 s
def test_blocking_third_stalls_the_presidency():
    """With a two-thirds quorum a bloc over a third that stays away stalls the vote; with
    a simple-majority quorum it takes half the chamber staying away."""
    strict = batch(BASE, runs=4 * RUNS)  # the delay is small next to its spread
    lax = batch(variant(parliament__president_quorum=165), runs=4 * RUNS)
    assert strict.blocking_third.mean() > 0.3
    assert_rises(lax.blocking_third, strict.blocking_third)
    assert_rises(lax.president_failures, strict.president_failures)
    assert_rises(lax.weeks_to_government.fillna(80), strict.weeks_to_government.fillna(80))


def test_without_iran_mediation_escalation_to_clashes_is_likelier():
    no_iran = batch(load_scenario(SCENARIOS / "no_iran_mediation.toml"))
    assert_rises(baseline_runs().max_escalation >= 3, no_iran.max_escalation >= 3)


def test_more_mediation_never_raises_expected_top_escalation():
    means, runs = [], []
    for mediation in (0.0, 0.35, 0.7, 1.0):
        runs.append(batch(variant(patrons__iran__mediation=mediation)))
        means.append(runs[-1].max_escalation.mean())
    # monotone non-increasing: each step's paired gap is below two of its standard errors
    for a, b in itertools.pairwise(runs):
        gap, se = paired_gap(a.max_escalation, b.max_escalation)
        assert gap < 2 * se + 1e-9, means
    assert_rises(runs[-1].max_escalation, runs[0].max_escalation)


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
    attacker_legit = model.state.legitimacy[fatah]
    while model.incumbent.attacks == 0 and model.running:
        model.step()
    assert model.incumbent.attacks >= 1 and model.incumbent.alive
    assert model.incumbent.failed_attacks == model.incumbent.attacks
    assert model.incumbent.legitimacy > before
    assert model.state.legitimacy[fatah] < attacker_legit
    assert model.state.patience[iran, fatah] < 1.0  # its patron's patience wears thin
    assert model.patrons[iran].patience["fatah"] < 1.0


def test_a_stronger_backfire_leaves_the_incumbent_more_legitimate():
    """Over many runs with attacks, a stronger backfire means more legitimacy at the end."""
    hot = dict(
        incumbent__attack_probability=0.5,
        incumbent__attack_lethality=0.0,
        factions__fatah__escalation=4,
        factions__fatah__grievance=1.0,
    )
    weak = batch(variant(incumbent__backfire_legitimacy=0.0, **hot))
    strong = batch(variant(incumbent__backfire_legitimacy=0.4, **hot))
    assert (weak.incumbent_attacks > 0).mean() > 0.2
    assert_rises(weak.incumbent_legitimacy, strong.incumbent_legitimacy)


def mean_pmf_grievance(scenario, runs: int = 200, week: int = 20) -> pd.Series:
    """The PMF lists' mean grievance at a week, stepping Mesa models on the shared seeds."""
    out = []
    for seed in SEEDS[:runs]:
        model = sim.FormationModel(scenario, seed=int(seed), record_series=False)
        pmf = model.world.pmf
        while model.running and model.week < week:
            model.step()
        out.append(model.state.grievance[pmf].mean())
    return pd.Series(out)


def test_guarantees_lower_militia_grievance():
    none = mean_pmf_grievance(variant(patrons__iran__guarantee=0.0))
    strong = mean_pmf_grievance(variant(patrons__iran__guarantee=1.0))
    assert_rises(strong, none)


def test_casualties_feed_back_into_grievance():
    off = batch(variant(grievance__casualty=0.0))
    on = batch(variant(grievance__casualty=0.3))
    assert_rises(off.max_escalation, on.max_escalation)


def test_patron_restraint_lowers_escalation():
    loose = batch(variant(patrons__iran__restraint=0.0))
    tight = batch(variant(patrons__iran__restraint=1.0))
    assert_rises(tight.max_escalation, loose.max_escalation)


def test_deterrence_lowers_escalation():
    weak = batch(variant(incumbent__security_capacity=0.1))
    strong = batch(variant(incumbent__security_capacity=1.0))
    assert_rises(strong.max_escalation, weak.max_escalation)


def test_seat_loss_feeds_grievance():
    forgiving = mean_pmf_grievance(variant(grievance__seat_loss=0.0), week=10)
    bitter = mean_pmf_grievance(variant(grievance__seat_loss=0.8), week=10)
    assert_rises(forgiving, bitter)


def test_a_government_moving_on_the_mandate_curtails_the_pmf_and_raises_conflict():
    still = batch(variant(governance__mandate_move_probability=0.0))
    moving = batch(variant(governance__mandate_move_probability=0.6))
    assert (still.pmf_status == "intact").all()
    assert_rises(still.pmf_status != "intact", moving.pmf_status != "intact")
    assert_rises(still.max_escalation >= 5, moving.max_escalation >= 5, z=3.0)
    # only a majority government moves on the mandate
    assert (moving[moving.pmf_status != "intact"].government_type == "majority").all()


def test_exclusion_from_government_breeds_grievance():
    mild = batch(variant(grievance__government_exclusion=0.0))
    harsh = batch(variant(grievance__government_exclusion=0.05))
    assert_rises(mild.max_escalation, harsh.max_escalation)


def test_no_session_means_no_president():
    model = sim.FormationModel(variant(parliament__session_probability=0.0), seed=0).run()
    assert model.stage == Stage.PRESIDENT and not model.formed
    assert model.run_state.president_sessions == 0
    assert model.outcome()["government_type"] == "none"
    runs = batch(variant(parliament__session_probability=0.0), runs=200)
    assert (runs.government_type == "none").all() and (runs.president_sessions == 0).all()


def test_us_backing_of_the_incumbent_deters_escalation():
    alone = batch(variant(patrons__us__backs_incumbent=0.0))
    backed = batch(variant(patrons__us__backs_incumbent=1.0))
    assert_rises(backed.max_escalation, alone.max_escalation)


def test_turkeys_backing_of_its_partners_makes_a_majority_government_likelier():
    """Backed partners fear the excluded militias less, so they join a national majority."""
    none = batch(variant(patrons__turkey__backing=0.0))
    strong = batch(variant(patrons__turkey__backing=1.0))
    assert_rises(none.government_type == "majority", strong.government_type == "majority")
