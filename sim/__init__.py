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

These names are the public API: everything else is reached through them. The package is
laid out by concept, each layer importing only those below it: ``sim.engine`` (the compiled
core), ``sim.scenario`` (files, sweeps, ranges), ``sim.mesa`` (the Mesa model),
``sim.batch`` (experiments and their store), ``sim.analysis``, ``sim.report``, ``sim.view``
and ``sim.cli``.

Every name is imported on first use (PEP 562): ``import sim`` and the ``sim`` command start
without Mesa, pandas or matplotlib, which take seconds to import.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

#: Public name -> the module that defines it.
_LAZY = {
    "EscalationLevel": "sim.engine.enums",
    "GovernmentType": "sim.engine.enums",
    "PMFStatus": "sim.engine.enums",
    "PMKind": "sim.engine.enums",
    "FormationModel": "sim.mesa.model",
    "Scenario": "sim.scenario.loading",
    "ScenarioError": "sim.scenario.loading",
    "load_scenario": "sim.scenario.loading",
    "load_manifest": "sim.batch.results",
    "load_results": "sim.batch.results",
    "prepare": "sim.batch.experiment",
    "run_batch": "sim.batch.runner",
    "compare": "sim.analysis.compare",
    "load_batches": "sim.analysis.compare",
    "gamson_table": "sim.analysis.gamson",
    "gamson_fit": "sim.analysis.gamson",
    "build_report": "sim.report.document",
    "format_table": "sim.report.document",
    "write_csv": "sim.report.document",
    "plot_outcomes": "sim.report.plots",
    "plot_weeks_ecdf": "sim.report.plots",
    "plot_escalation_fan": "sim.report.plots",
    "plot_casualties": "sim.report.plots",
    "run_sensitivity": "sim.analysis.sensitivity",
    "discover": "sim.analysis.discovery",
    "parse_ranges": "sim.scenario.ranges",
    "explain": "sim.analysis.explanation",
    "Event": "sim.engine.events",
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
    from sim.analysis.compare import compare, load_batches
    from sim.analysis.discovery import discover
    from sim.analysis.explanation import explain
    from sim.analysis.gamson import gamson_fit, gamson_table
    from sim.analysis.sensitivity import run_sensitivity
    from sim.batch.experiment import prepare
    from sim.batch.results import load_manifest, load_results
    from sim.batch.runner import run_batch
    from sim.engine.enums import EscalationLevel, GovernmentType, PMFStatus, PMKind
    from sim.engine.events import Event
    from sim.mesa.model import FormationModel
    from sim.report.document import build_report, format_table, write_csv
    from sim.report.plots import (
        plot_casualties,
        plot_escalation_fan,
        plot_outcomes,
        plot_weeks_ecdf,
    )
    from sim.scenario.loading import Scenario, ScenarioError, load_scenario
    from sim.scenario.ranges import parse_ranges


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'sim' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_LAZY])
