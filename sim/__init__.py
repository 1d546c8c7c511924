"""Agent-based simulator of government formation and escalation (Iraq, after the 2021 election).

The Python API mirrors the command line::

    import sim
    model = sim.FormationModel("scenarios/baseline.toml", seed=1).run()
    exp = sim.prepare("scenarios/baseline.toml", runs=1000)
    sim.run_batch(exp, "results/baseline")
    table = sim.load_results("results/baseline")
    diff = sim.compare("results/baseline", "results/us_withdraws_backing")  # a DataFrame
    fig = sim.plot_outcomes(diff)  # matplotlib figures, also plot_weeks_ecdf(dirs...) etc.
    sa = sim.run_sensitivity("scenarios/baseline.toml", "results/sa", method="morris")
    box = sim.discover("results/sa", "max_escalation >= 4").box  # PRIM's box, a DataFrame
"""

from sim.batch import prepare, run_batch
from sim.compare import compare, load_batches
from sim.enums import EscalationLevel, GovernmentType, PMFStatus, PMKind
from sim.model import FormationModel
from sim.report import build_report, format_table, write_csv
from sim.results import load_manifest, load_results
from sim.scenario import Scenario, ScenarioError, load_scenario

#: The plotting functions, imported on first use so that the CLI starts without matplotlib.
_LAZY = {
    "plot_outcomes": "sim.plots",
    "plot_weeks_ecdf": "sim.plots",
    "plot_escalation_fan": "sim.plots",
    "plot_casualties": "sim.plots",
    "run_sensitivity": "sim.sensitivity",
    "discover": "sim.discovery",
    "parse_ranges": "sim.ranges",
}

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
    "build_report",
    "compare",
    "format_table",
    "load_batches",
    "write_csv",
    *_LAZY,
]


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'sim' has no attribute {name!r}")
