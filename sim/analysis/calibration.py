"""Calibration of the shared behaviour to every case at once, with a posterior, and the
leave-one-case-out check of it (``sim calibrate CASES...``, ``--cross-validate``).

**What is fitted.** The behavioural parameters (``sim.scenario.behaviour``) that have a
``[ranges]`` entry in the cases' scenarios: every case shares them, so they are fitted to
all the cases together. The facts of each moment (seats, patrons...) are not.

**The score of a candidate** (a set of parameter values) is a sum of proper scores over the
cases, each computed from ``runs`` runs of the case's scenario at those values on the same
seeds for every candidate (common random numbers: candidates differ by their values, not
by their luck):

- the log score (-ln p) of each recorded condition, p the share of runs meeting it, kept
  off 0 and 1 by half a run (``(k + 0.5) / (n + 1)``), so a record never seen costs a
  finite amount. A case's recorded government type is one of its conditions
  (``government_type == X``), whose log score is the multi-class log score of the type;
- the CRPS (``scoringrules.crps_ensemble``) of the recorded weeks to government against
  the runs' weeks, a run without a government by the horizon (or such a record) counting
  as one week past it; divided by ``DURATION_SCALE``.

**The posterior** comes from one of two likelihood-free methods, chosen by the measured
prototype of benchmarks/README.md ("Calibration: the prototype that chose the method"):

- ``importance`` (the default): a Latin hypercube over the ranges (the uniform prior),
  each candidate weighted by exp(-lambda * score). The log scores are minus the log of a
  composite likelihood of the record (the conditions' probabilities multiplied as if
  independent), so this is a tempered (generalised Bayes) posterior; lambda, at most 1,
  is the largest that keeps the weights' effective sample size at a tenth of the
  candidates (``tempered_weights`` says why);
- ``abc``: ABC-SMC (``pyabc``), the distance a candidate's score, each generation's
  threshold the median of the last one's scores.

pyabc and scoringrules are the optional extra ``calibrate`` (in the dev extra too).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from sim.analysis.backtest import NO_GOVERNMENT, TYPES, PreparedCase, brier, load_case
from sim.analysis.settings import (
    CALIBRATION_CANDIDATES,
    CALIBRATION_GENERATIONS,
    CALIBRATION_METHODS,
    CALIBRATION_POPULATION,
    CALIBRATION_RUNS,
    CALIBRATION_SEED,
)
from sim.batch.experiment import run_seed
from sim.batch.outputs import ResultsError
from sim.engine.dotted import with_value
from sim.engine.replicates import run_points
from sim.scenario.behaviour import is_behavioural
from sim.scenario.draws import ParameterDraws
from sim.scenario.loading import ScenarioError, resolve_raw, validate
from sim.scenario.ranges import Range, parse_ranges

__all__ = [
    "DURATION_SCALE",
    "CalibrationCase",
    "Fit",
    "LeftOut",
    "behavioural_ranges",
    "case_loss",
    "cross_validate",
    "fit",
    "load_calibration_cases",
    "score_left_out",
    "total_loss",
]

#: Weeks of CRPS that weigh as one unit of log score (one nat): the training formations
#: took 19 to 55 weeks, so a forecast ten weeks off is a miss as bad as giving the record
#: a probability of 1/e.
DURATION_SCALE = 10.0
#: The extra's packages, for the message when they are missing.
EXTRA = "pip install '.[calibrate]'"


def require_extra() -> None:
    """Raise a ScenarioError-like one-line error when pyabc or scoringrules is missing."""
    try:
        import pyabc  # noqa: F401
        import scoringrules  # noqa: F401
    except ImportError:
        raise ResultsError(f"sim calibrate needs the optional extra: {EXTRA}") from None


# --------------------------------------------------------------------------- the cases
@dataclass(frozen=True)
class CalibrationCase:
    """A case ready to run at any candidate's values, always on the same seeds."""

    prepared: PreparedCase
    raw: dict  # the case's scenario, resolved, its horizon cut to the case's weeks
    origin: dict
    file: str
    seeds: np.ndarray

    @property
    def name(self) -> str:
        return self.prepared.name

    def scenario(self, values: dict[str, float]):
        raw = self.raw
        for key, value in values.items():
            raw = with_value(raw, key, value)
        return validate(raw, self.origin, self.file)

    def columns(self) -> list[str]:
        needed = {c for e in self.prepared.conditions for c in e.columns}
        return sorted(needed | {"weeks_to_government", "government_type"})

    def frame(self, groups: Sequence[tuple[dict[str, float], np.ndarray]]) -> pd.DataFrame:
        """The runs of each (values, seeds) group, one frame (failed runs dropped)."""
        outcomes, errors = run_points([(self.scenario(v), s) for v, s in groups])
        names = self.columns()
        frame = pa.table({k: outcomes[k] for k in names}).to_pandas()
        return frame[[e is None for e in errors]].reset_index(drop=True)

    def runs_at(self, values: dict[str, float]) -> pd.DataFrame:
        return self.frame([(values, self.seeds)])


def load_calibration_cases(
    paths: Sequence[str | Path], runs: int, seed: int
) -> list[CalibrationCase]:
    """Each case file checked (as ``sim backtest`` does) and its runs' seeds: replicate i of
    every case and candidate runs on ``run_seed(seed, i)``."""
    if not paths:
        raise ScenarioError("<command line>", "CASES", "name at least one case file")
    seeds = np.array([run_seed(seed, i) for i in range(runs)], dtype=np.int64)
    out = []
    for path in paths:
        prepared = load_case(path, runs=runs, seed=seed)
        raw, origin = resolve_raw(prepared.experiment.path)
        raw = with_value(raw, "clock.horizon_weeks", prepared.horizon)
        out.append(CalibrationCase(prepared, raw, origin, str(prepared.experiment.path), seeds))
    return out


def behavioural_ranges(cases: Sequence[CalibrationCase]) -> list[Range]:
    """The ranges of the behavioural keys, which every case must declare alike."""
    per_case = []
    for case in cases:
        ranges = parse_ranges(case.raw, case.origin, case.file)
        per_case.append({r.key: r for r in ranges if is_behavioural(r.key)})
    first = per_case[0]
    if not first:
        raise ScenarioError(
            cases[0].file, "ranges", "declares no range on a behavioural key: nothing to fit"
        )
    for case, theirs in zip(cases[1:], per_case[1:], strict=True):
        if {k: (r.low, r.high) for k, r in theirs.items()} != {
            k: (r.low, r.high) for k, r in first.items()
        }:
            raise ScenarioError(
                case.file, "ranges", f"its behavioural ranges differ from {cases[0].file}'s: "
                "every case shares one behaviour, and so one prior",
            )  # fmt: skip
    return list(first.values())


# --------------------------------------------------------------------------- the score
@dataclass(frozen=True)
class CaseLoss:
    case: str
    conditions: tuple[tuple[str, float, float], ...]  # (condition, p, -ln p)
    crps_weeks: float
    total: float


def _smoothed(hits: np.ndarray) -> float:
    return (float(hits.sum()) + 0.5) / (len(hits) + 1.0)


def _durations(case: CalibrationCase, frame: pd.DataFrame) -> tuple[np.ndarray, float]:
    beyond = float(case.prepared.horizon + 1)
    weeks = frame["weeks_to_government"].to_numpy(dtype=float, na_value=np.nan)
    weeks = np.where(np.isnan(weeks), beyond, weeks)
    recorded = case.prepared.recorded_weeks
    return weeks, beyond if recorded is None else float(recorded)


def case_loss(case: CalibrationCase, frame: pd.DataFrame) -> CaseLoss:
    """The case's proper scores against its runs (lower is better)."""
    import scoringrules as sr

    if not len(frame):
        return CaseLoss(case.name, (), float("inf"), float("inf"))
    conditions = []
    for expr in case.prepared.conditions:
        p = _smoothed(expr.evaluate(frame))
        conditions.append((expr.text, p, -math.log(p)))
    weeks, recorded = _durations(case, frame)
    crps = float(sr.crps_ensemble(recorded, weeks))
    total = sum(c[2] for c in conditions) + crps / DURATION_SCALE
    return CaseLoss(case.name, tuple(conditions), crps, total)


def total_loss(cases: Sequence[CalibrationCase], values: dict[str, float]) -> float:
    """The candidate's score summed over the cases."""
    return float(sum(case_loss(c, c.runs_at(values)).total for c in cases))


# --------------------------------------------------------------------------- the fit
@dataclass(frozen=True)
class Fit:
    ranges: tuple[Range, ...]
    sample: pd.DataFrame  # one row a particle: the parameters, weight, distance
    generations: tuple[dict[str, Any], ...]  # per generation: epsilon, evaluations...
    seconds: float
    evaluations: int
    method: str = "abc"

    @property
    def keys(self) -> list[str]:
        return [r.key for r in self.ranges]

    def point(self) -> dict[str, float]:
        """The calibrated point values: the posterior's weighted means."""
        w = self.sample["weight"].to_numpy()
        return {r.key: r.value(float(np.dot(w, self.sample[r.key]))) for r in self.ranges}

    def draws(self, runs_per_draw: int) -> ParameterDraws:
        rows = tuple(tuple(float(v) for v in row) for row in self.sample[self.keys].to_numpy())
        w = self.sample["weight"].to_numpy(dtype=float)
        return ParameterDraws(
            "posterior", tuple(self.keys), runs_per_draw, sample=rows,
            weights=tuple(float(x) for x in w / w.sum()),
        )  # fmt: skip

    def shrinkage(self) -> pd.DataFrame:
        """Per parameter: the posterior's weighted mean and standard deviation, against
        the uniform prior's (sd ratio below 1: the cases pin the parameter down)."""
        w = self.sample["weight"].to_numpy()
        rows = []
        for r in self.ranges:
            x = self.sample[r.key].to_numpy()
            mean = float(np.dot(w, x))
            sd = math.sqrt(max(float(np.dot(w, (x - mean) ** 2)), 0.0))
            prior_sd = (r.high - r.low) / math.sqrt(12)
            rows.append({"parameter": r.key, "low": r.low, "high": r.high, "mean": mean,
                         "sd": sd, "sd_ratio": sd / prior_sd})  # fmt: skip
        return pd.DataFrame(rows).sort_values("sd_ratio").reset_index(drop=True)


#: The calibration's methods (benchmarks/README.md, "Calibration: the prototype that chose
#: the method", measured both): importance sampling is the default.
METHODS = CALIBRATION_METHODS
#: Importance sampling's weights are exp(-lambda * score), lambda at most 1 and lowered
#: until the weights' effective sample size is at least this share of the candidates.
ESS_SHARE = 0.1


@dataclass(frozen=True)
class Settings:
    """How a calibration searches: the method, its size, runs a case a candidate, seed."""

    method: str = CALIBRATION_METHODS[0]
    candidates: int = CALIBRATION_CANDIDATES  # importance sampling: Latin hypercube points
    population: int = CALIBRATION_POPULATION  # ABC-SMC: particles a generation
    generations: int = CALIBRATION_GENERATIONS  # ABC-SMC
    runs: int = CALIBRATION_RUNS
    seed: int = CALIBRATION_SEED
    workers: int = 1  # importance sampling: processes scoring candidates (same fit whatever)

    def as_dict(self) -> dict[str, Any]:
        shown = {"method": self.method, "runs": self.runs, "seed": self.seed}
        if self.method == "abc":
            return {**shown, "population": self.population, "generations": self.generations}
        return {**shown, "candidates": self.candidates}


def tempered_weights(losses: np.ndarray, share: float = ESS_SHARE) -> tuple[np.ndarray, float]:
    """exp(-lambda * loss), normalised, with the largest lambda in (0, 1] whose effective
    sample size is at least ``share`` of the candidates (bisection: ESS falls as lambda
    grows). Why temper: the log scores of a case's conditions are summed as if the
    conditions were independent, and they are not (a consensus government is a formed
    one), so at lambda = 1 the evidence is counted more than once and the weights collapse
    on one or two candidates; a composite likelihood is tempered for that reason."""

    def weights(lam: float) -> np.ndarray:
        w = np.exp(-lam * (losses - losses.min()))
        return w / w.sum()

    def ess(w: np.ndarray) -> float:
        return float(1.0 / np.sum(w**2))

    target = share * len(losses)
    if ess(weights(1.0)) >= target:
        return weights(1.0), 1.0
    low, high = 0.0, 1.0
    for _ in range(50):
        mid = (low + high) / 2
        low, high = (mid, high) if ess(weights(mid)) >= target else (low, mid)
    return weights(low), low


def _identity(cases: Sequence[CalibrationCase], ranges: Sequence[Range], candidates: int,
              seed: int) -> dict[str, Any]:  # fmt: skip
    """What must match for a calibration's scores to be reused: the cases (their scenarios'
    hashes, records, runs), the ranges, the design."""
    return {
        "cases": [[str(c.prepared.path), c.prepared.experiment.scenario_hash,
                   list(c.prepared.case.conditions), len(c.seeds)] for c in cases],
        "ranges": [[r.key, r.low, r.high] for r in ranges],
        "candidates": candidates,
        "seed": seed,
    }  # fmt: skip


def _resumed(store: Path | None, identity: dict[str, Any], n: int) -> list[float | None]:
    """The scores a previous, interrupted calibration of the same design left, by candidate
    (None: not scored yet; all None if there is no store, or it is another calibration's)."""
    import json

    empty: list[float | None] = [None] * n
    if store is None or not store.is_file():
        return empty
    try:
        saved = json.loads(store.read_text())
    except (OSError, ValueError):
        return empty
    scores = saved.get("scores")
    if saved.get("identity") != json.loads(json.dumps(identity)) or len(scores) != n:
        return empty
    return [None if x is None else float(x) for x in scores]  # "inf" reads as inf


def _save(store: Path | None, identity: dict[str, Any], scores: list[float | None]) -> None:
    from sim.batch.outputs import write_json

    if store is not None:
        shown = [x if x is None or math.isfinite(x) else "inf" for x in scores]
        write_json(store, {"identity": identity, "scores": shown})


#: The cases a worker process scores candidates on, installed once by the pool's initializer.
_CASES: list[CalibrationCase] = []
#: Candidates a task: about a second of work, so a task's overhead is nothing.
CHUNK = 16


def install_cases(cases: Sequence[CalibrationCase]) -> None:
    global _CASES
    _CASES = list(cases)


def score_chunk(chunk: list[tuple[int, dict[str, float]]]) -> list[tuple[int, float]]:
    """A worker's task: the scores of (index, values) candidates."""
    return [(i, total_loss(_CASES, values)) for i, values in chunk]


def fit_importance(
    cases: Sequence[CalibrationCase],
    ranges: Sequence[Range],
    candidates: int,
    seed: int,
    progress: Callable[[str], None] | None = None,
    store: Path | None = None,
    workers: int = 1,
) -> Fit:
    """Importance sampling of a Latin hypercube over the ranges (the uniform prior), each
    candidate weighted by its tempered score (``tempered_weights``), scored on ``workers``
    processes (the batch engine's fork pool, ``sim.batch.pool``). With ``store``, the
    scores so far are saved there every tenth of the design, and a calibration of the same
    design interrupted earlier resumes from them. A score is a function of the values, the
    cases and the seeds, so the fit is the same whatever the workers or interruptions."""
    from scipy.stats import qmc

    from sim.batch.pool import run_pool
    from sim.engine.replicates import warm_up

    t0 = time.perf_counter()
    unit = qmc.LatinHypercube(d=len(ranges), seed=np.random.default_rng(seed)).random(candidates)
    identity = _identity(cases, ranges, candidates, seed)
    losses = _resumed(store, identity, candidates)
    before = sum(x is not None for x in losses)
    if progress and before:
        progress(f"resuming: {before} of {candidates} candidates already scored")
    rows = [
        {r.key: r.value(r.low + x * (r.high - r.low)) for r, x in zip(ranges, u, strict=True)}
        for u in unit
    ]
    todo = [(i, rows[i]) for i in range(candidates) if losses[i] is None]
    step = max(1, candidates // 10)
    scored = [before]

    def consume(results: list[tuple[int, float]]) -> None:
        last = scored[0]
        for i, loss in results:
            losses[i] = loss
        scored[0] += len(results)
        if scored[0] // step > last // step or scored[0] == candidates:
            _save(store, identity, losses)
            if progress:
                spent = time.perf_counter() - t0
                rate = (scored[0] - before) / spent if spent > 0 else 0.0
                left = (candidates - scored[0]) / rate if rate else 0.0
                progress(f"candidate {scored[0]}/{candidates}, {spent:.0f} s, about "
                         f"{left:.0f} s to go")  # fmt: skip

    chunks = [todo[k : k + CHUNK] for k in range(0, len(todo), CHUNK)]
    if workers == 1 or len(chunks) < 2:
        install_cases(cases)
        for chunk in chunks:
            consume(score_chunk(chunk))
    else:
        warm_up(cases[0].scenario({}))  # compiled once here; the forked workers inherit it
        run_pool(chunks, score_chunk, consume, workers, install_cases, (list(cases),))
    scores = np.array([float("inf") if x is None else x for x in losses])
    weights, lam = tempered_weights(scores)
    sample = pd.DataFrame(rows)
    sample["weight"] = weights
    sample["distance"] = scores
    seconds = time.perf_counter() - t0
    info = {"generation": 0, "epsilon": None, "evaluations": candidates,
            "temperature": lam}  # fmt: skip
    return Fit(tuple(ranges), sample, (info,), seconds, candidates, "importance")


def fit(
    cases: Sequence[CalibrationCase],
    ranges: Sequence[Range],
    settings: Settings,
    db: Path,
    progress: Callable[[str], None] | None = None,
) -> Fit:
    """The posterior by the settings' method."""
    if settings.method not in METHODS:
        raise ResultsError(f"calibration method {settings.method!r}: allowed {', '.join(METHODS)}")
    if settings.method == "importance":
        store = db.with_name(db.stem + "_scores.json")
        return fit_importance(cases, ranges, settings.candidates, settings.seed, progress, store,
                              settings.workers)  # fmt: skip
    return fit_abc(cases, ranges, settings.population, settings.generations, settings.seed,
                   db, progress)  # fmt: skip


def fit_abc(
    cases: Sequence[CalibrationCase],
    ranges: Sequence[Range],
    population: int,
    generations: int,
    seed: int,
    db: Path,
    progress: Callable[[str], None] | None = None,
) -> Fit:
    """ABC-SMC over the ranges (uniform priors), the distance a candidate's total score."""
    import pyabc

    require_extra()
    # pyabc's names carry no dots or brackets. Each parameter is fitted on the logit of its
    # place in its range, whose prior is the standard logistic distribution: exactly the
    # uniform prior on the range, but unbounded, so that the perturbation kernel never
    # proposes a value outside it (in 32 dimensions almost every proposal fell outside
    # some bound, and pyabc drew again until one did not: 0.15 s a candidate).
    names = {f"p{i}": r for i, r in enumerate(ranges)}
    prior = pyabc.Distribution(**{n: pyabc.RV("logistic", 0.0, 1.0) for n in names})
    count = [0]

    def on_range(r: Range, z: float) -> int | float:
        return r.value(r.low + (r.high - r.low) / (1.0 + math.exp(-z)))

    def model(parameters: Any) -> dict[str, float]:
        count[0] += 1
        values = {r.key: on_range(r, float(parameters[n])) for n, r in names.items()}
        return {"loss": total_loss(cases, values)}

    def distance(x: dict, _x0: dict) -> float:
        return float(x["loss"])

    # pyabc draws from numpy's global generator: seeding it is the only way to repeat a fit
    np.random.seed(seed % 2**32)  # noqa: NPY002
    abc = pyabc.ABCSMC(
        model,
        prior,
        distance,
        population_size=population,
        sampler=pyabc.sampler.SingleCoreSampler(),
        eps=pyabc.epsilon.QuantileEpsilon(alpha=0.5),
    )
    db.parent.mkdir(parents=True, exist_ok=True)
    if db.exists():
        db.unlink()
    t0 = time.perf_counter()
    abc.new(f"sqlite:///{db}", {"loss": 0.0})
    history = abc.run(max_nr_populations=generations)
    seconds = time.perf_counter() - t0
    frame, weights = history.get_distribution(m=0, t=history.max_t)
    sample = pd.DataFrame(
        {r.key: [on_range(r, float(z)) for z in frame[n].to_numpy()] for n, r in names.items()}
    )
    sample["weight"] = np.asarray(weights) / np.sum(weights)
    distances = history.get_weighted_distances(t=history.max_t)
    sample["distance"] = distances["distance"].to_numpy()[: len(sample)]
    pops = history.get_all_populations()
    gens = tuple(
        {"generation": int(t), "epsilon": float(e), "evaluations": int(s)}
        for t, e, s in zip(pops["t"], pops["epsilon"], pops["samples"], strict=True)
        if t >= 0
    )
    if progress:
        progress(f"ABC-SMC: {count[0]} candidates in {seconds:.1f} s")
    return Fit(tuple(ranges), sample, gens, seconds, count[0])


# --------------------------------------------------------------------------- the check
@dataclass(frozen=True)
class LeftOut:
    """The score of a case's record under a forecast (a fit that never saw it)."""

    case: str
    runs: int
    each: tuple[tuple[str, float], ...]  # (condition, P)
    every: float  # P of all the conditions at once
    percentile: float  # of the recorded duration, ties counting half
    inside: bool  # inside the 10-90 band
    brier: float | None
    log_score: float | None  # -ln P(recorded type), smoothed by half a run
    uniform_brier: float
    uniform_log: float

    def as_dict(self) -> dict[str, Any]:
        return {
            "case": self.case, "runs": self.runs,
            "conditions": [{"condition": c, "p": p} for c, p in self.each],
            "every_condition": self.every, "percentile": self.percentile,
            "inside_10_90": self.inside, "brier": self.brier, "log_score": self.log_score,
            "uniform_brier": self.uniform_brier, "uniform_log_score": self.uniform_log,
        }  # fmt: skip


def score_left_out(case: CalibrationCase, draws: ParameterDraws, runs: int, seed: int) -> LeftOut:
    """Run ``runs`` runs of the case under the draws (a posterior) and score its record."""
    from sim.analysis.backtest import duration_shares

    groups: dict[int, list[int]] = {}
    for i in range(runs):
        groups.setdefault(i // draws.runs_per_draw, []).append(i)
    frame = case.frame(
        [
            (draws.values(seed, d), np.array([run_seed(seed, i) for i in ids], dtype=np.int64))
            for d, ids in groups.items()
        ]
    )
    hits = [e.evaluate(frame) for e in case.prepared.conditions]
    every = np.logical_and.reduce(hits)
    weeks, recorded = _durations(case, frame)
    sooner, same, _ = duration_shares(weeks, recorded)
    percentile = 100.0 * (sooner + same / 2)
    # the band: the recorded duration lies between the runs' 10th and 90th percentiles
    low, high = np.percentile(weeks, [10, 90])
    recorded_type = case.prepared.recorded_type
    if recorded_type is None:
        brier_score = log_score = None
    else:
        types = frame["government_type"].fillna(NO_GOVERNMENT).to_numpy()
        forecast = {t: float(np.mean(types == t)) for t in TYPES}
        brier_score = brier(forecast, recorded_type)
        log_score = -math.log(_smoothed(types == recorded_type))
    return LeftOut(
        case.name, len(frame),
        tuple((e.text, float(h.mean())) for e, h in zip(case.prepared.conditions, hits,
                                                         strict=True)),
        float(every.mean()), percentile, bool(low <= recorded <= high), brier_score, log_score,
        brier({t: 1 / len(TYPES) for t in TYPES}, TYPES[0]), math.log(len(TYPES)),
    )  # fmt: skip


def cross_validate(
    cases: Sequence[CalibrationCase],
    ranges: Sequence[Range],
    settings: Settings,
    out: Path,
    check_runs: int,
    runs_per_draw: int,
    progress: Callable[[str], None] | None = None,
) -> list[tuple[LeftOut, Fit]]:
    """Leave each case out in turn: calibrate on the rest, score the one left out."""
    if len(cases) < 2:
        raise ScenarioError(cases[0].prepared.path, "--cross-validate", "needs at least two cases")
    results = []
    for k, left in enumerate(cases):
        rest = [c for j, c in enumerate(cases) if j != k]
        if progress:
            progress(f"fold {k + 1}/{len(cases)}: fitting without {left.name}")
        fitted = fit(rest, ranges, settings, out / f"fold_{left.name}.db", progress)
        # the case left out runs on seeds no candidate ran on
        fresh = settings.seed + 1_000_003
        scored = score_left_out(left, fitted.draws(runs_per_draw), check_runs, fresh)
        results.append((scored, fitted))
    return results


# --------------------------------------------------------------------------- outputs
POSTERIOR = "posterior.parquet"
CALIBRATED = "calibrated.toml"
SUMMARY = "calibration.json"
CROSS_VALIDATION = "cross_validation.json"
REPORT = "report.html"
#: A posterior sd below this share of the prior's: the cases pin the parameter down.
PINNED = 0.5


def _toml_value(value: Any) -> str:
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, float):
        return f"{value:.4g}"
    return repr(value)


def calibrated_toml(fitted: Fit, base: Path, out: Path, cases: Sequence[CalibrationCase],
                    settings: dict[str, Any]) -> str:  # fmt: skip
    """The scenario of the calibrated point values, over ``base`` (written into ``out``)."""
    import os

    base_raw, _ = resolve_raw(base)
    point = fitted.point()
    spread = fitted.shrinkage().set_index("parameter")
    tables: dict[str, dict[str, Any]] = {}
    notes: dict[tuple[str, str], list[str]] = {}
    for key, value in point.items():
        section, _, name = key.rpartition(".")
        row = spread.loc[key]
        note = f"sd {row['sd']:.3g}, prior {row['low']:g} to {row['high']:g}"
        if "[" in name:  # one element of a list: the list, that element calibrated
            name, _, index = name.partition("[")
            listed = tables.setdefault(section, {}).get(name) or list(base_raw[section][name])
            listed[int(index.rstrip("]"))] = value
            tables[section][name] = listed
            note = f"element {index.rstrip(']')}: {note}"
        else:
            tables.setdefault(section, {})[name] = value
        notes.setdefault((section, name), []).append(note)
    names = ", ".join(c.name for c in cases)
    lines = [
        f"# The shared behaviour calibrated by `sim calibrate` to the cases {names} at once:",
        f"# the weighted means of the ABC-SMC posterior in {out / POSTERIOR}.",
        "# Settings: " + ", ".join(f"{k} {v}" for k, v in settings.items()) + ".",
        "# Every other value is the base scenario's.",
        "",
        f'extends = "{os.path.relpath(base.resolve(), out.resolve())}"',
        'name = "calibrated"  # [scenario] identifier used in results and reports',
        f'description = "The base scenario at the behaviour calibrated to {names}"'
        "  # [scenario] one line on what it asks",
    ]
    for section, entries in tables.items():
        lines += ["", f"[{section}]"]
        for name, value in entries.items():
            said = "; ".join(notes[(section, name)])
            lines.append(
                f"{name} = {_toml_value(value)}  # [calibration: {POSTERIOR}] posterior mean; "
                f"{said}"
            )
    return "\n".join(lines) + "\n"


def format_fit(fitted: Fit) -> str:
    w = fitted.sample["weight"].to_numpy()
    ess = 1.0 / float(np.sum(w**2))
    if fitted.method == "abc":
        how = (f"ABC-SMC, {len(fitted.generations)} generation(s), epsilon by generation: "
               + ", ".join(f"{g['epsilon']:.2f}" for g in fitted.generations))  # fmt: skip
    else:
        how = (f"importance sampling of a Latin hypercube, weights exp(-lambda * score) "
               f"at lambda {fitted.generations[0]['temperature']:.3f}")  # fmt: skip
    lines = [
        f"{how}: {fitted.evaluations} candidates in {fitted.seconds:.1f} s, posterior of "
        f"{len(w)} weighted particles (effective sample size {ess:.1f})",
        f"{'parameter':<38}{'prior':>16}{'posterior mean':>16}{'sd':>9}{'sd/prior':>10}",
    ]
    for row in fitted.shrinkage().itertuples():
        verdict = "pinned" if row.sd_ratio < PINNED else "open"
        lines.append(
            f"{row.parameter:<38}{f'{row.low:g}-{row.high:g}':>16}{row.mean:>16.4g}"
            f"{row.sd:>9.3g}{row.sd_ratio:>10.2f}  {verdict}"
        )
    return "\n".join(lines)


def format_cross_validation(rows: Sequence[LeftOut]) -> str:
    lines = [
        "leave one case out: calibrated on the others, the record scored under that posterior",
        f"{'case':<20}{'P(all)':>8}{'duration pct':>14}{'in 10-90':>10}"
        f"{'Brier (uniform)':>18}{'log (uniform)':>16}",
    ]
    for r in rows:
        brier_ = "n/a" if r.brier is None else f"{r.brier:.3f} ({r.uniform_brier:.3f})"
        log_ = "n/a" if r.log_score is None else f"{r.log_score:.3f} ({r.uniform_log:.3f})"
        lines.append(f"{r.case:<20}{r.every:>8.3f}{r.percentile:>14.1f}"
                     f"{'yes' if r.inside else 'no':>10}{brier_:>18}{log_:>16}")  # fmt: skip
        lines += [f"    P({text}) = {p:.3f}" for text, p in r.each]
    return "\n".join(lines)
