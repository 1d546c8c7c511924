"""Agent-based simulator of government formation and escalation (Iraq, after the 2021 election).

The Python API mirrors the command line::

    import sim
    model = sim.FormationModel("scenarios/baseline.toml", seed=1).run()
    exp = sim.prepare("scenarios/baseline.toml", runs=1000)
    sim.run_batch(exp, "results/baseline")
    table = sim.load_results("results/baseline")
"""

from sim.batch import prepare, run_batch
from sim.enums import EscalationLevel, GovernmentType, PMFStatus, PMKind
from sim.model import FormationModel
from sim.results import load_manifest, load_results
from sim.scenario import Scenario, ScenarioError, load_scenario

__all__ = [
    "EscalationLevel",
    "FormationModel",
    "GovernmentType",
    "PMFStatus",
    "PMKind",
    "Scenario",
    "ScenarioError",
    "load_manifest",
    "load_results",
    "load_scenario",
    "prepare",
    "run_batch",
]
