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
    why = sim.explain("results/baseline", 812)  # one run replayed: .events, .why(), .plot()

Every name is imported on first use (PEP 562): ``import sim`` and the ``sim`` command start
without Mesa, pandas or matplotlib, which take seconds to import.
"""

from __future__ import annotations

import importlib
import sys
import types
from typing import TYPE_CHECKING, Any

#: Public name -> the module that defines it.
_LAZY = {
    "EscalationLevel": "sim.enums",
    "GovernmentType": "sim.enums",
    "PMFStatus": "sim.enums",
    "PMKind": "sim.enums",
    "FormationModel": "sim.formation",
    "Scenario": "sim.scenario",
    "ScenarioError": "sim.scenario",
    "load_scenario": "sim.scenario",
    "load_manifest": "sim.results",
    "load_results": "sim.results",
    "prepare": "sim.batch",
    "run_batch": "sim.batch",
    "compare": "sim.compare",
    "load_batches": "sim.compare",
    "gamson_table": "sim.gamson",
    "gamson_fit": "sim.gamson",
    "build_report": "sim.report",
    "format_table": "sim.report",
    "write_csv": "sim.report",
    "plot_outcomes": "sim.plots",
    "plot_weeks_ecdf": "sim.plots",
    "plot_escalation_fan": "sim.plots",
    "plot_casualties": "sim.plots",
    "run_sensitivity": "sim.sensitivity",
    "discover": "sim.discovery",
    "parse_ranges": "sim.ranges",
    "explain": "sim.explanation",
    "Event": "sim.events",
}

__all__ = [
    "EscalationLevel",
    "Event",
    "FormationModel",
    "GovernmentType",
    "PMFStatus",
    "PMKind",
    "Scenario",
    "ScenarioError",
    "build_report",
    "compare",
    "discover",
    "explain",
    "format_table",
    "gamson_fit",
    "gamson_table",
    "load_batches",
    "load_manifest",
    "load_results",
    "load_scenario",
    "parse_ranges",
    "plot_casualties",
    "plot_escalation_fan",
    "plot_outcomes",
    "plot_weeks_ecdf",
    "prepare",
    "run_batch",
    "run_sensitivity",
    "write_csv",
]

if TYPE_CHECKING:  # for type checkers and IDEs: the same names, imported eagerly
    from sim.batch import prepare, run_batch
    from sim.compare import compare, load_batches
    from sim.discovery import discover
    from sim.enums import EscalationLevel, GovernmentType, PMFStatus, PMKind
    from sim.events import Event
    from sim.explanation import explain
    from sim.formation import FormationModel
    from sim.gamson import gamson_fit, gamson_table
    from sim.plots import plot_casualties, plot_escalation_fan, plot_outcomes, plot_weeks_ecdf
    from sim.ranges import parse_ranges
    from sim.report import build_report, format_table, write_csv
    from sim.results import load_manifest, load_results
    from sim.scenario import Scenario, ScenarioError, load_scenario
    from sim.sensitivity import run_sensitivity


class _Package(types.ModuleType):
    """``sim.compare`` names both a submodule and the function it defines. When a submodule
    is first imported, Python binds it on the package, which would hide the function (an
    eager import used to bind the function after it); so the package keeps its functions."""

    def __setattr__(self, name: str, value: Any) -> None:
        if isinstance(value, types.ModuleType) and _LAZY.get(name) == f"{__name__}.{name}":
            return  # the submodule stays reachable as sys.modules["sim.compare"]
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'sim' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_LAZY])
