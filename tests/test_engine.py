"""One implementation (issue 9, section 2): the Mesa model and the batch engine run the same
compiled week, so a run's row is the same whichever makes it; and a run's row depends on
its seed alone, never on the runs that share its chunk or their order."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from sim.batch.experiment import run_seed
from sim.engine.replicates import run_points, run_replicates
from sim.mesa.model import FormationModel
from sim.scenario.loading import load_scenario
from tests.conftest import BASELINE, SCENARIOS

BASE = load_scenario(BASELINE)
SEEDS = [run_seed(BASE.seed, i) for i in range(12)] + [0, 1, 2**63 - 1]


def rows(scenario, seeds) -> list[dict]:
    columns, errors = run_replicates(scenario, np.array(seeds, dtype=np.int64))
    assert errors == [None] * len(seeds)
    return pa.table(columns).to_pylist()


@pytest.mark.parametrize(
    "name", ["baseline", "incumbent_killed", "majority_ends_pmf", "stress_40_factions"]
)
def test_the_mesa_model_and_the_batch_engine_give_the_same_row(name):
    scenario = load_scenario(SCENARIOS / f"{name}.toml")
    for seed, row in zip(SEEDS, rows(scenario, SEEDS), strict=True):
        model = FormationModel(scenario, seed=seed, record_series=False).run()
        assert model.outcome() == row, seed


def test_the_mesa_models_weekly_records_are_the_rows_series():
    """Mesa's DataCollector and the compiled run record see the same weeks."""
    for seed, row in zip(SEEDS[:4], rows(BASE, SEEDS[:4]), strict=True):
        model = FormationModel(BASE, seed=seed).run()
        frame = model.datacollector.get_model_vars_dataframe()
        assert frame["max_escalation"].tolist() == row["escalation_by_week"]
        assert np.allclose(frame["mean_grievance"], row["grievance_by_week"], atol=1e-4)
        assert frame["week"].iloc[-1] == row["final_week"]
        assert frame["casualties"].iloc[-1] == row["casualties"]
        assert model.outcome() == row


def test_a_runs_row_does_not_depend_on_the_other_runs_of_its_chunk():
    a, b, c = SEEDS[:3]
    together = rows(BASE, [a, b, c])
    assert rows(BASE, [b]) == [together[1]]
    assert rows(BASE, [c, b, a]) == together[::-1]
    assert rows(BASE, [b, b]) == [together[1], together[1]]
    assert together[0] != together[1], "different seeds, different runs"


def test_a_runs_row_does_not_depend_on_the_other_points_of_its_chunk():
    """A sweep's chunk holds several scenarios' runs (``run_points``)."""
    other = load_scenario(SCENARIOS / "us_withdraws_backing.toml")
    seeds = np.array(SEEDS[:3], dtype=np.int64)
    columns, errors = run_points([(BASE, seeds), (other, seeds[::-1].copy())])
    assert errors == [None] * 6
    mixed = pa.table(columns).to_pylist()
    assert mixed[:3] == rows(BASE, SEEDS[:3])
    assert mixed[3:] == rows(other, SEEDS[:3][::-1])


def test_a_failing_run_loses_only_its_own_row(monkeypatch):
    import sim.engine.replicates

    real = sim.engine.replicates.simulate_runs
    bad = SEEDS[1]

    def fragile(*args):
        if bad in args[-2]:  # simulate_runs(..., seeds, out)
            raise RuntimeError("planted")
        return real(*args)

    monkeypatch.setattr(sim.engine.replicates, "simulate_runs", fragile)
    columns, errors = run_replicates(BASE, np.array(SEEDS[:3], dtype=np.int64))
    assert errors[0] is None and errors[2] is None
    assert errors[1].startswith("RuntimeError: planted")
    got = pa.table(columns).to_pylist()
    monkeypatch.undo()
    clean = rows(BASE, SEEDS[:3])
    assert got[0] == clean[0] and got[2] == clean[2]
    assert all(value is None for value in got[1].values())
