"""The prototype that chose the calibration's method (benchmarks/README.md, "Calibration:
the prototype that chose the method").

Two likelihood-free methods, on the same three training cases, the same score (the sum of
proper scores of sim.analysis.calibration), the same runs per case and about the same
number of candidates:

- ABC-SMC (pyabc), the distance a candidate's score, epsilon the median of the last
  generation's;
- importance sampling of a Latin hypercube over the priors, each candidate weighted by
  exp(-score) (a Gibbs posterior: the log scores are minus a composite log likelihood).

For each: wall time, candidates, the effective sample size of the weights, and the score
of its posterior's forecast on fresh seeds (draws from the posterior, 10 runs a draw): the
lower, the better the posterior forecasts the cases. It measures; it asserts nothing.

    .venv/bin/python benchmarks/calibration_prototype.py --runs 20 --candidates 300
"""

from __future__ import annotations

import argparse
import math
import time
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.stats import qmc

from sim.analysis.calibration import (
    Fit,
    behavioural_ranges,
    case_loss,
    fit_abc,
    fit_importance,
    load_calibration_cases,
    total_loss,
)
from sim.batch.experiment import run_seed

CASES = [f"scenarios/cases/formation_{c}.toml" for c in ("2006", "2014", "2021_22")]


def ess(weights: np.ndarray) -> float:
    w = weights / weights.sum()
    return float(1.0 / np.sum(w**2))


def importance(cases, ranges, candidates: int, seed: int) -> Fit:
    t0 = time.perf_counter()
    unit = qmc.LatinHypercube(d=len(ranges), seed=np.random.default_rng(seed)).random(candidates)
    rows, losses = [], []
    for u in unit:
        values = {
            r.key: r.value(r.low + x * (r.high - r.low)) for r, x in zip(ranges, u, strict=True)
        }
        rows.append(values)
        losses.append(total_loss(cases, values))
    losses_ = np.array(losses)
    weights = np.exp(-(losses_ - losses_.min()))
    sample = pd.DataFrame(rows)
    sample["weight"] = weights / weights.sum()
    sample["distance"] = losses_
    return Fit(tuple(ranges), sample, (), time.perf_counter() - t0, candidates)


def forecast_score(cases, fitted: Fit, draws: int, seed: int) -> float:
    """Total score of the posterior's forecast on seeds no candidate ran on."""
    parameter_draws = fitted.draws(10)
    total = 0.0
    for case in cases:
        groups = [
            (parameter_draws.values(seed, d),
             np.array([run_seed(seed, 10 * d + i) for i in range(10)], dtype=np.int64))
            for d in range(draws)
        ]  # fmt: skip
        total += case_loss(case, case.frame(groups)).total
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20, help="runs per case per candidate")
    parser.add_argument("--candidates", type=int, default=300)
    parser.add_argument("--population", type=int, default=50)
    parser.add_argument("--generations", type=int, default=3)
    parser.add_argument("--seed", type=int, default=18)
    parser.add_argument("--check-draws", type=int, default=50)
    args = parser.parse_args()
    cases = load_calibration_cases(CASES, args.runs, args.seed)
    ranges = behavioural_ranges(cases)
    total_loss(cases, {})  # compile and warm up before timing
    fresh = args.seed + 1_000_003
    print(f"{len(cases)} cases, {len(ranges)} parameters, {args.runs} runs a case a candidate")
    print(f"{'method':<34}{'seconds':>8}{'candidates':>12}{'ESS':>8}{'forecast score':>16}")
    lhs = importance(cases, ranges, args.candidates, args.seed)
    tempered = fit_importance(cases, ranges, args.candidates, args.seed)
    abc = fit_abc(cases, ranges, args.population, args.generations, args.seed,
              Path("/tmp/calibration_prototype.db"))  # fmt: skip
    unit = np.random.default_rng(5).random((200, len(ranges)))
    priors = pd.DataFrame(
        [{r.key: r.value(r.low + u * (r.high - r.low)) for r, u in zip(ranges, row, strict=True)}
         for row in unit]
    )  # fmt: skip
    priors["weight"] = 1.0
    baseline = forecast_score(
        cases, Fit(tuple(ranges), priors, (), 0.0, 0), args.check_draws, fresh
    )
    for name, fitted in (
        ("importance sampling, exp(-score)", lhs),
        ("importance sampling, tempered", tempered),
        ("ABC-SMC (pyabc)", abc),
    ):
        w = fitted.sample["weight"].to_numpy()
        score = forecast_score(cases, fitted, args.check_draws, fresh)
        print(
            f"{name:<34}{fitted.seconds:>8.1f}{fitted.evaluations:>12}{ess(w):>8.1f}{score:>16.2f}",
            flush=True,
        )
    print(f"{'the priors themselves':<34}{'':>8}{'':>12}{'':>8}{baseline:>16.2f}")
    print(f"(uniform guess per condition would score about {math.log(2):.2f} a condition)")


if __name__ == "__main__":
    main()
