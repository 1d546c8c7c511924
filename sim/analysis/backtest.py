"""Backtesting: how much chance does the model give what actually happened?

A *case file* (TOML) names a scenario, a batch (runs and seed), optionally a horizon in
``weeks`` (for a record of only the first weeks of a contest: the scenario's horizon is cut
to that week, through ``sim.scenario.loading.with_overrides``), and the record itself:

- ``conditions``: what happened, as conditions on a run's row in the language of
  ``sim discover --outcome`` (``"max_escalation >= 4"``, ``"not formed"``);
- ``weeks_to_government``: weeks from election day to the confidence vote, or ``"none"``.

``sim backtest CASE.toml`` runs the batch (``sim.batch``) and scores the record against it:

- P(every condition at once) and P(each condition alone), with 95% Wilson intervals;
- the percentile of the recorded duration among the runs' durations, a run without a
  government (and a record of none, or of one after the horizon) counting as beyond the
  horizon; ties count half (the mid-rank percentile), so a record the model always matches
  sits at 50, one it always overshoots at 100;
- the multi-class Brier score (Brier 1950: the sum over classes of (forecast - outcome)^2,
  0 best, 2 worst) of ``government_type``, the runs' shares as the forecast, beside a
  uniform forecast's score ((K - 1)/K for K types) and the skill 1 - score/uniform.

The recorded ``government_type`` is the value of a condition ``government_type == X`` (one
that does not branch with ``or``); a case with none such records 'none' when no government
came within the horizon, and no type otherwise (the Brier score is then not computed). A
record that contradicts itself (a named type and no government, or 'none' and a government
within the horizon) is a bad case file.

A bad case file is one line, exit status 2, nothing run or written, as a bad scenario is:
unknown keys are errors, types are strict, and the case's errors name the case file.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np
from pydantic import BeforeValidator, Field, ValidationError

from sim.analysis.conditions import Expression, column_kinds
from sim.batch.experiment import Experiment, prepare
from sim.batch.results import load_results, table_schema
from sim.batch.runner import BatchResult, run_batch
from sim.engine.dotted import set_dotted
from sim.engine.enums import GovernmentType
from sim.engine.limits import MAX_RUNS
from sim.engine.outcomes import wilson_interval
from sim.engine.schema import MAX_WEEKS, Label, Section, as_tuple
from sim.scenario.loading import (
    ScenarioError,
    read_toml,
    scenario_hash,
    schema_error,
    with_overrides,
)
from sim.scenario.ranges import parse_ranges
from sim.scenario.sweep import SweepPoint

__all__ = [
    "Case",
    "PreparedCase",
    "Score",
    "as_json",
    "brier",
    "duration_shares",
    "format_score",
    "load_case",
    "run_case",
    "score",
]

NO_GOVERNMENT = "none"
TYPES = tuple(GovernmentType.labels())
#: What weeks_to_government allows, in the words of the README (pydantic's union message
#: would list both branches' failures).
RULES = {
    "weeks_to_government": 'must be weeks from election day, 0 to 520, or "none" (no '
    "government by the horizon)"
}


class Case(Section):
    """A case file: the scenario and batch to run, and what was recorded."""

    name: Label | None = None  # default: the file's stem
    description: str = ""
    scenario: str = Field(min_length=1)  # relative to the case file
    runs: int = Field(ge=1, le=MAX_RUNS)
    seed: int = Field(ge=0, lt=2**63)
    weeks: int | None = Field(default=None, ge=1, le=MAX_WEEKS)
    conditions: Annotated[
        tuple[Annotated[str, Field(min_length=1)], ...],
        BeforeValidator(as_tuple),
        Field(min_length=1),
    ]
    weeks_to_government: Annotated[int, Field(ge=0, le=MAX_WEEKS)] | Literal["none"]


@dataclass(frozen=True)
class PreparedCase:
    """A checked case: its batch, ready to run, and the record in the model's terms."""

    path: Path
    case: Case
    name: str
    experiment: Experiment
    conditions: list[Expression]
    start_week: int
    horizon: int  # the last week a run reaches: the case's weeks, or the scenario's horizon
    recorded_weeks: int | None  # None: no government within the horizon
    recorded_type: str | None  # None: a government, of a type the case does not name
    type_from: str  # "conditions[i]" or "weeks_to_government"

    @property
    def first_session(self) -> int:
        """The first week a session can meet (none before the results are certified)."""
        clocks = [p.scenario.clock for p in self.experiment.points]
        return min(max(c.first_session_week, c.certified_week) for c in clocks)

    @property
    def sessionless(self) -> bool:
        """Whether the horizon ends before any session can meet: then no government can
        form in any run, and forecasting "none" is no skill."""
        return self.horizon < self.first_session


def load_case(path: str | Path, runs: int | None = None, seed: int | None = None) -> PreparedCase:
    """Read and check a case file and its scenario, and prepare its batch (``runs`` and
    ``seed`` override the file's). Raises ScenarioError (or ResultsError for a condition)
    naming the case file; nothing is run or written."""
    path = Path(path)
    raw = read_toml(path)
    try:
        case = Case.model_validate(raw)
    except ValidationError as exc:
        raise schema_error(exc, Case, {}, str(path), rules=RULES) from None
    scenario_path = Path(os.path.normpath(path.parent / case.scenario))  # shown, so tidied
    if not scenario_path.is_file():
        what = "is not a regular file" if scenario_path.exists() else "file not found"
        raise ScenarioError(path, "scenario", f"{scenario_path}: {what}")
    exp = prepare(scenario_path, runs=case.runs if runs is None else runs,
                  seed=case.seed if seed is None else seed)  # fmt: skip
    parse_ranges(exp.raw, {}, str(scenario_path))  # checked whole, as `sim validate` does
    if exp.sweep_keys:
        raise ScenarioError(
            path, "scenario", f"{scenario_path} has a [sweep]: a backtest runs one scenario"
        )
    scenario = exp.points[0].scenario
    start = scenario.clock.start_week
    horizon = scenario.clock.horizon_weeks
    if case.weeks is not None:
        if case.weeks <= start:
            raise ScenarioError(
                path,
                "weeks",
                f"must be above the scenario's clock.start_week ({start}), where runs begin "
                f"(got {case.weeks})",
            )
        horizon = case.weeks
        cut = with_overrides(scenario_path, {"clock.horizon_weeks": horizon})
        exp_raw = set_dotted(exp.raw, "clock.horizon_weeks", horizon)
        exp = replace(
            exp, raw=exp_raw, scenario_hash=scenario_hash(exp_raw), points=[SweepPoint(0, {}, cut)]
        )
    kinds = column_kinds(table_schema(tuple(scenario.patrons), []))
    conditions = [
        Expression.parse(text, kinds, str(path), key=f"conditions[{i}]")
        for i, text in enumerate(case.conditions)
    ]
    weeks = case.weeks_to_government
    recorded_weeks = None if weeks == NO_GOVERNMENT or int(weeks) > horizon else int(weeks)
    recorded_type, type_from = _recorded_type(path, conditions, recorded_weeks, horizon)
    return PreparedCase(
        path, case, case.name or path.stem, exp, conditions, start, horizon, recorded_weeks,
        recorded_type, type_from,
    )  # fmt: skip


def _recorded_type(
    path: Path, conditions: list[Expression], weeks: int | None, horizon: int
) -> tuple[str | None, str]:
    """The recorded government type and where it comes from (see the module's rule)."""
    named = [
        (i, value)
        for i, expr in enumerate(conditions)
        if len(expr.terms) == 1
        for negate, column, op, value in expr.terms[0]
        if column == "government_type" and op == "==" and not negate
    ]
    if len({value for _, value in named}) > 1:
        shown = " and ".join(f"{v!r} (conditions[{i}])" for i, v in named)
        raise ScenarioError(path, "conditions", f"name two government types, {shown}")
    within = f"within the horizon (week {horizon})"
    if named:
        i, value = named[0]
        if value == NO_GOVERNMENT and weeks is not None:
            raise ScenarioError(
                path, "weeks_to_government",
                f"{weeks} is {within}, but conditions[{i}] records no government",
            )  # fmt: skip
        if value != NO_GOVERNMENT and weeks is None:
            raise ScenarioError(
                path, "weeks_to_government",
                f"records no government {within}, but conditions[{i}] records a {value} one",
            )  # fmt: skip
        return str(value), f"conditions[{i}]"
    return (NO_GOVERNMENT if weeks is None else None), "weeks_to_government"


def run_case(
    prepared: PreparedCase,
    out: str | Path,
    workers: int | None = None,
    overwrite: bool = False,
    quiet: bool = False,
) -> BatchResult:
    """Run (or resume) the case's batch into ``out``."""
    return run_batch(prepared.experiment, out, workers=workers, overwrite=overwrite, quiet=quiet)


# --------------------------------------------------------------------------- the score
@dataclass(frozen=True)
class Probability:
    label: str
    hits: int
    runs: int

    @property
    def p(self) -> float:
        return self.hits / self.runs if self.runs else float("nan")

    @property
    def interval(self) -> tuple[float, float]:
        return wilson_interval(self.hits, self.runs)

    def as_dict(self) -> dict[str, Any]:
        low, high = self.interval
        return {"condition": self.label, "p": self.p, "low": low, "high": high,
                "hits": self.hits, "runs": self.runs}  # fmt: skip


@dataclass(frozen=True)
class Score:
    prepared: PreparedCase
    out: Path
    runs: int
    failed: int
    every: Probability
    each: list[Probability]
    sooner: float  # share of runs with a government before the recorded week
    same: float  # ... in the same week (both none within the horizon included)
    later: float
    forecast: dict[str, float]  # government_type -> share of runs
    brier: float | None
    uniform_brier: float

    @property
    def percentile(self) -> float:
        return 100.0 * (self.sooner + self.same / 2)

    @property
    def skill(self) -> float | None:
        """1 - Brier/uniform; None without a Brier score, or when the horizon ends before
        any session can meet (every run has no government by construction)."""
        if self.brier is None or self.prepared.sessionless:
            return None
        return 1.0 - self.brier / self.uniform_brier


def score(prepared: PreparedCase, out: str | Path) -> Score:
    """Score the record against the batch in ``out`` (runs that failed are left out)."""
    columns = {c for e in prepared.conditions for c in e.columns}
    columns |= {"weeks_to_government", "government_type", "error"}
    frame = load_results(out, columns=sorted(columns))
    failed = int(frame["error"].notna().sum())
    ok = frame[frame["error"].isna()]
    n = len(ok)
    hits = [e.evaluate(ok) for e in prepared.conditions]
    every = np.logical_and.reduce(hits) if n else np.zeros(0, bool)
    # durations: no government by the horizon is beyond it (+inf), as is such a record
    weeks = ok["weeks_to_government"].to_numpy(dtype=float, na_value=np.inf)
    recorded = np.inf if prepared.recorded_weeks is None else float(prepared.recorded_weeks)
    types = ok["government_type"].to_numpy()
    forecast = {t: float(np.mean(types == t)) if n else float("nan") for t in TYPES}
    recorded_type = prepared.recorded_type
    each = [
        Probability(e.text, int(h.sum()), n) for e, h in zip(prepared.conditions, hits, strict=True)
    ]
    return Score(
        prepared, Path(out), n, failed,
        Probability(f"all {len(hits)} conditions at once", int(every.sum()), n), each,
        *duration_shares(weeks, recorded), forecast,
        None if recorded_type is None or not n else brier(forecast, recorded_type),
        brier({t: 1 / len(TYPES) for t in TYPES}, TYPES[0]),
    )  # fmt: skip


def duration_shares(weeks: np.ndarray, recorded: float) -> tuple[float, float, float]:
    """Shares of runs whose duration is below, equal to and above the recorded one (+inf:
    no government by the horizon, so two such are equal)."""
    if not len(weeks):
        return float("nan"), float("nan"), float("nan")
    return (
        float(np.mean(weeks < recorded)),
        float(np.mean(weeks == recorded)),
        float(np.mean(weeks > recorded)),
    )


def brier(forecast: dict[str, float], recorded: str) -> float:
    """Multi-class Brier score: the sum over classes of (forecast - outcome)^2."""
    return float(sum((f - (t == recorded)) ** 2 for t, f in forecast.items()))


# --------------------------------------------------------------------------- output
def _weeks(prepared: PreparedCase) -> str:
    recorded = prepared.case.weeks_to_government
    if prepared.recorded_weeks is not None:
        return f"{recorded} weeks"
    if recorded == NO_GOVERNMENT:
        return f"none by week {prepared.horizon}"
    return f"{recorded} weeks, after the horizon: none by week {prepared.horizon}"


def format_score(s: Score, header: str = "") -> str:
    """The score as the terminal shows it."""
    pc = s.prepared
    lines = [header] if header else []
    lines.append(f"{'recorded outcome':<44}{'P':>7}   95% interval")
    for k, prob in enumerate([s.every, *s.each]):
        label = prob.label if k == 0 else f"  {prob.label}"
        low, high = prob.interval
        lines.append(f"{label:<44}{prob.p:>7.3f}   [{low:.3f}, {high:.3f}]")
    lines.append(
        f"weeks to government: recorded {_weeks(pc)}; runs sooner {s.sooner:.3f}, the same "
        f"{s.same:.3f}, later {s.later:.3f}; percentile {s.percentile:.1f} (ties count half)"
    )
    shares = ", ".join(f"{t} {f:.3f}" for t, f in s.forecast.items())
    if s.brier is None:
        verdict = "Brier score n/a: the case names no government_type"
    elif s.skill is None:
        verdict = (
            f"Brier {s.brier:.3f} against {s.uniform_brier:.3f} for a uniform forecast; no "
            f"skill: no session can meet by week {pc.horizon} (the first in week "
            f"{pc.first_session}), so no government is certain by construction"
        )
    else:
        verdict = (
            f"Brier {s.brier:.3f} against {s.uniform_brier:.3f} for a uniform forecast "
            f"(skill {s.skill:+.3f})"
        )
    recorded = "none named" if pc.recorded_type is None else repr(pc.recorded_type)
    lines.append(
        f"government type: recorded {recorded} (from {pc.type_from}); runs {shares}; {verdict}"
    )
    return "\n".join(lines)


def _rounded(value: Any) -> Any:
    """Numbers to 6 decimals (a Wilson bound of 1e-19 is 0), in nested dicts and lists."""
    if isinstance(value, float):
        return round(value, 6)
    if isinstance(value, dict):
        return {k: _rounded(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_rounded(v) for v in value]
    return value


def as_json(s: Score) -> dict[str, Any]:
    """The score as ``sim backtest --json`` prints it (floats to 6 decimals)."""
    return _rounded(_plain(s))


def _plain(s: Score) -> dict[str, Any]:
    pc = s.prepared
    recorded = pc.case.weeks_to_government
    return {
        "case": str(pc.path),
        "name": pc.name,
        "scenario": str(pc.experiment.path),
        "out": str(s.out),
        "seed": pc.experiment.seed,
        "runs": s.runs,
        "failed": s.failed,
        "start_week": pc.start_week,
        "horizon_weeks": pc.horizon,
        "every_condition": s.every.as_dict(),
        "conditions": [p.as_dict() for p in s.each],
        "weeks_to_government": {
            "recorded": None if recorded == NO_GOVERNMENT else recorded,
            "beyond_horizon": pc.recorded_weeks is None,
            "sooner": s.sooner,
            "same": s.same,
            "later": s.later,
            "percentile": s.percentile,
        },
        "government_type": {
            "recorded": pc.recorded_type,
            "from": pc.type_from,
            "forecast": s.forecast,
            "brier": s.brier,
            "uniform_brier": s.uniform_brier,
            "skill": s.skill,
            "sessionless": pc.sessionless,  # skill None: no session within the horizon
        },
    }
