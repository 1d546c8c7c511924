"""Calibrate the baseline's [assumption] values against target bands, in two stages.

1. **Screen** (the sensitivity tools: SALib's Morris method over the scenario's [ranges]):
   which parameters move the calibration statistics at all. Each statistic's elementary
   effects are scaled by the width of its band, and the parameters are ranked by their
   largest mu* over the statistics. Only the top ``--top`` are searched.
2. **Search**: a Latin hypercube over those parameters' ranges (scipy.stats.qmc), each
   candidate run on the baseline and on the election-day scenario (which extends it), on
   the same seeds (common random numbers), and scored by the squared misses of each
   statistic outside its band, in units (five points of a probability, five weeks).
   ``--refine`` searches again in a box
   around the best candidate.

The bands are what the article (and the constitution's timetable) makes plausible, plus
the issue's targets for the model's dynamics: a live contest between the majority and
consensus families; a compromise PM in at least a quarter of runs and the formateur's own
nominee in at most 45%; a blocking third that often stalls the presidency; formation
taking most of a year; escalation that is not fixed by the government's type; armed
conflict that is rare but possible with the PMF intact; and, from election day, the
article's first month (clashes and an attack on the incumbent within five weeks) as
possible, not certain.

It prints the screening table and the best candidates; the chosen values are copied into
scenarios/baseline.toml by hand, each keeping its [assumption] comment.

    .venv/bin/python scripts/calibrate.py --trajectories 12 --top 18 --candidates 400 --refine 200
    .venv/bin/python scripts/calibrate.py --local --also incumbent.attack_probability
"""

from __future__ import annotations

import argparse
import multiprocessing
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
from SALib.analyze import morris as morris_analyze
from SALib.sample import morris as morris_sample
from scipy.stats import qmc

from sim.batch.experiment import run_seed
from sim.engine.dotted import set_dotted
from sim.engine.replicates import run_replicates
from sim.scenario.loading import resolve_raw, validate
from sim.scenario.ranges import Range, parse_ranges

BASELINE = Path("scenarios/baseline.toml")
ELECTION_DAY = Path("scenarios/election_day_2021.toml")
FIRST_MONTH = 5  # weeks after election day the first-month targets cover
#: Parameters only the election-day scenario sets (the baseline starts after the results
#: were certified, with the appeals' anger already in its grievances): searched beside the
#: baseline's [ranges], applied to the election-day runs alone.
ELECTION_DAY_ONLY = (
    Range("grievance.results_appeal", 0.0, 0.15, "assumption: the losers' weekly anger per "
          "share of seats lost, until the results are certified"),
)  # fmt: skip

Frame = pd.DataFrame
Statistic = Callable[[Frame, Frame], float]


def _top(frame: Frame, weeks: int) -> pd.Series:
    """Highest rung by week ``weeks`` (the election-day runs' series start at week 0)."""
    return frame.escalation_by_week.map(lambda s: int(max(s[: weeks + 1])))


def _before_government(frame: Frame, start: int) -> pd.Series:
    """Highest rung before a government formed (over the whole run if none did)."""

    def top(series, formed_week) -> int:
        end = len(series) if pd.isna(formed_week) else int(formed_week) - start + 1
        return int(max(series[: max(end, 1)]))

    return pd.Series(map(top, frame.escalation_by_week, frame.weeks_to_government))


def _given(frame: Frame, kind: str, rung: int) -> float:
    of_kind = frame[frame.government_type == kind]
    return float((of_kind.max_escalation >= rung).mean()) if len(of_kind) else 0.0


#: statistic: (how it is computed from the baseline's and election day's runs, band)
TARGETS: dict[str, tuple[Statistic, tuple[float, float]]] = {
    "majority": (lambda b, e: (b.government_type == "majority").mean(), (0.25, 0.6)),
    "consensus": (lambda b, e: (b.government_type == "consensus").mean(), (0.35, 0.7)),
    "no_government": (lambda b, e: (~b.formed).mean(), (0.0, 0.15)),
    "compromise_pm": (lambda b, e: (b.pm_kind == "compromise").mean(), (0.25, 0.5)),
    "formateur_pm": (lambda b, e: (b.pm_kind == "formateur").mean(), (0.1, 0.45)),
    "blocking_third": (lambda b, e: b.blocking_third.mean(), (0.5, 0.95)),
    "median_weeks": (lambda b, e: b.weeks_to_government.fillna(79).median(), (30, 60)),
    "rung_4_before_government": (
        lambda b, e: (_before_government(b, 4) >= 4).mean(),
        (0.05, 0.3),
    ),
    "rung_4_under_majority": (lambda b, e: _given(b, "majority", 4), (0.3, 0.85)),
    "rung_4_under_consensus": (lambda b, e: _given(b, "consensus", 4), (0.05, 0.4)),
    "rung_5": (lambda b, e: (b.max_escalation >= 5).mean(), (0.03, 0.15)),
    "rung_5_pmf_intact": (
        lambda b, e: ((b.max_escalation >= 5) & (b.pmf_status == "intact")).mean(),
        (0.01, 0.1),
    ),
    "election_day_rung_3_by_week_5": (lambda b, e: (_top(e, FIRST_MONTH) >= 3).mean(), (0.3, 0.8)),
    "election_day_rung_4_by_week_5": (lambda b, e: (_top(e, FIRST_MONTH) >= 4).mean(), (0.1, 0.6)),
    "election_day_attack_by_week_5": (
        lambda b, e: e.incumbent_attack_weeks.map(
            lambda w: any(x <= FIRST_MONTH for x in w)
        ).mean(),
        (0.06, 0.3),
    ),
    "election_day_rung_5_pmf_intact": (
        lambda b, e: ((e.max_escalation >= 5) & (e.pmf_status == "intact")).mean(),
        (0.02, 0.3),
    ),
}


def statistics(baseline: Frame, election_day: Frame) -> dict[str, float]:
    return {name: float(f(baseline, election_day)) for name, (f, _) in TARGETS.items()}


#: The unit a miss is counted in: five percentage points of a probability, five weeks of a
#: duration. (In band widths, a narrow band's miss would outweigh a wide one's of the same
#: size, and a rare event's band, 0.01 to 0.1, would barely count.)
UNITS = {"median_weeks": 5.0}
PROBABILITY_UNIT = 0.05


def misses(stats: dict[str, float]) -> dict[str, float]:
    """Each statistic's distance outside its band, in units (0 inside)."""
    out = {}
    for name, (_, (low, high)) in TARGETS.items():
        value = stats[name]
        out[name] = max(low - value, 0.0, value - high) / UNITS.get(name, PROBABILITY_UNIT)
    return out


def loss(stats: dict[str, float]) -> float:
    return float(sum(m**2 for m in misses(stats).values()))


# --------------------------------------------------------------------------- running
_RAW: dict = {}  # set in each worker: the two scenarios' merged raw dicts and the seeds


def _setup(runs: int, seed: int) -> None:
    base, _ = resolve_raw(BASELINE)
    day, origin = resolve_raw(ELECTION_DAY)
    own = {k for k, f in origin.items() if Path(f).name == ELECTION_DAY.name}
    seeds = np.array([run_seed(seed, i) for i in range(runs)], dtype=np.int64)
    _RAW.update(base=base, day=day, own=own, seeds=seeds)


def _table(raw: dict, values: dict[str, float], skip: set[str]) -> Frame:
    for key, value in values.items():
        if key not in skip:
            raw = set_dotted(raw, key, value)
    columns, errors = run_replicates(validate(raw), _RAW["seeds"])
    if any(errors):
        raise RuntimeError(next(e for e in errors if e))
    return pa.table(columns).to_pandas()


def evaluate(values: dict[str, float]) -> dict[str, float]:
    """The calibration statistics of one candidate (baseline and election day, same seeds);
    a value the election-day file sets itself stays the file's, unless it is searched."""
    only_day = {r.key for r in ELECTION_DAY_ONLY}
    baseline = _table(_RAW["base"], values, only_day)
    election_day = _table(_RAW["day"], values, _RAW["own"] - only_day)
    return statistics(baseline, election_day)


def run_all(candidates: list[dict[str, float]], runs: int, seed: int) -> list[dict[str, float]]:
    # fork: the workers inherit the compiled code's loaded cache; nothing here imports Mesa
    context = multiprocessing.get_context("fork")
    with context.Pool(2, initializer=_setup, initargs=(runs, seed)) as pool:
        return pool.map(evaluate, candidates, chunksize=1)


# --------------------------------------------------------------------------- the two stages
def screen(ranges: list[Range], trajectories: int, runs: int, seed: int) -> pd.DataFrame:
    """Morris mu* of each statistic (in units of a miss), per parameter."""
    problem = {
        "num_vars": len(ranges),
        "names": [r.key for r in ranges],
        "bounds": [[r.low, r.high] for r in ranges],
    }
    design = morris_sample.sample(problem, trajectories, num_levels=4, seed=seed)
    candidates = [{r.key: r.value(x) for r, x in zip(ranges, row, strict=True)} for row in design]
    results = pd.DataFrame(run_all(candidates, runs, seed))
    table = {}
    for name in TARGETS:
        y = results[name].to_numpy() / UNITS.get(name, PROBABILITY_UNIT)
        table[name] = morris_analyze.analyze(problem, design, y, num_levels=4)["mu_star"]
    screened = pd.DataFrame(table, index=problem["names"])
    screened["largest"] = screened.max(axis=1)
    return screened.sort_values("largest", ascending=False)


def search(
    ranges: list[Range], centre: dict[str, float] | None, scale: float, n: int, runs: int, seed: int
) -> list[tuple[float, dict[str, float], dict[str, float]]]:
    """Latin-hypercube candidates over the ranges (or a box of ``scale`` around ``centre``),
    each scored; best first."""
    lows, highs = np.array([r.low for r in ranges]), np.array([r.high for r in ranges])
    if centre is not None:
        mid = np.array([centre[r.key] for r in ranges])
        half = (highs - lows) * scale / 2
        lows, highs = np.maximum(lows, mid - half), np.minimum(highs, mid + half)
    unit = qmc.LatinHypercube(d=len(ranges), seed=seed).random(n)
    points = qmc.scale(unit, lows, highs)
    candidates = [{r.key: r.value(x) for r, x in zip(ranges, p, strict=True)} for p in points]
    if centre is not None:
        candidates.insert(0, dict(centre))
    scored = [
        (loss(s), c, s) for c, s in zip(candidates, run_all(candidates, runs, seed), strict=True)
    ]
    return sorted(scored, key=lambda t: t[0])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trajectories", type=int, default=12, help="Morris trajectories")
    parser.add_argument("--top", type=int, default=10, help="parameters to search")
    parser.add_argument("--candidates", type=int, default=256)
    parser.add_argument("--refine", type=int, default=128, help="candidates near the best")
    parser.add_argument("--scale", type=float, default=0.3, help="the refinement box")
    parser.add_argument("--runs", type=int, default=400, help="runs per scenario and point")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--also", action="append", default=[], help="search this range too (dotted key)"
    )
    parser.add_argument(
        "--local", action="store_true", help="no global search: refine around the current values"
    )
    args = parser.parse_args()
    raw, origin = resolve_raw(BASELINE)
    ranges = [*parse_ranges(raw, origin, str(BASELINE)), *ELECTION_DAY_ONLY]
    day, _ = resolve_raw(ELECTION_DAY)
    current = {r.key: r.value(_current(raw, r.key)) for r in ranges}
    for r in ELECTION_DAY_ONLY:
        current[r.key] = r.value(_current(day, r.key))
    pd.set_option("display.width", 200, "display.max_columns", 30)

    now = run_all([{}], args.runs, args.seed)[0]
    print(f"current values: loss {loss(now):.3f}")
    _print_stats(now)

    screened = screen(ranges, args.trajectories, args.runs // 2, args.seed)
    print("\nscreening (Morris mu*, in units of a miss; the largest over the statistics):")
    print(screened[["largest"]].round(3).to_string())
    chosen = [r for r in ranges if r.key in {*screened.index[: args.top], *args.also}]
    print("\nsearching:", ", ".join(r.key for r in chosen))

    fixed = {k: v for k, v in current.items() if k not in {r.key for r in chosen}}
    if args.local:
        centre = {r.key: current[r.key] for r in chosen}
        best = search(chosen, centre, args.scale, args.refine, args.runs, args.seed + 1)[0]
    else:
        best = search(chosen, None, 1.0, args.candidates, args.runs, args.seed)[0]
    if args.refine and not args.local:
        centre = best[1]
        best = search(chosen, centre, args.scale, args.refine, args.runs, args.seed + 1)[0]
    score, values, stats = best
    print(f"\nbest: loss {score:.3f} (fixed at their current values: {len(fixed)} others)")
    for key, value in values.items():
        print(f"  {key} = {value:.4g}  (now {current[key]:.4g})")
    _print_stats(stats)
    return 0


def _current(raw: dict, key: str) -> float:
    from sim.engine.dotted import get_dotted

    return float(get_dotted(raw, key))


def _print_stats(stats: dict[str, float]) -> None:
    missed = misses(stats)
    for name, (_, (low, high)) in TARGETS.items():
        flag = "" if missed[name] == 0 else f"  <- off by {missed[name]:.2f} units"
        print(f"  {name:32s} {stats[name]:7.3f}   band [{low:g}, {high:g}]{flag}")


if __name__ == "__main__":
    sys.exit(main())
