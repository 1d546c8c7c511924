"""Random search over the baseline's [assumption] parameters against target bands.

The bands encode what the article (and, for timing, what happened next) makes plausible:
a live contest between the majority and consensus families, a blocking third that often
stalls the presidency, formation taking most of a year, escalation that often reaches
clashes and sometimes targeted attacks. Prints the best candidates; the chosen values are
copied into scenarios/baseline.toml by hand (each keeps its [assumption] comment).

    .venv/bin/python scripts/calibrate.py --candidates 120 --runs 300
"""

from __future__ import annotations

import argparse
import multiprocessing
import sys

import numpy as np
import pandas as pd

from sim.model import FormationModel
from sim.scenario import resolve_raw, validate
from sim.sweep import get_dotted, set_dotted

SEARCH = {  # dotted key: (low, high)
    "bargaining.office_value": (1.0, 3.0),
    "bargaining.policy_value": (0.8, 2.5),
    "bargaining.safety_value": (0.1, 0.8),
    "bargaining.mediation_value": (0.3, 1.5),
    "bargaining.pm_rivalry": (0.2, 1.0),
    "bargaining.stalemate_pressure": (0.01, 0.1),
    "bargaining.switching_cost": (0.02, 0.3),
    "bargaining.compromise_after_failure": (0.2, 0.8),
    "bargaining.incumbent_appeal": (0.2, 1.2),
    "parliament.session_probability": (0.15, 0.5),
    "escalation.capability_weight": (0.2, 1.0),
    "escalation.restraint_weight": (0.1, 0.5),
    "grievance.mandate_threat": (0.02, 0.08),
    "grievance.talks_exclusion": (0.005, 0.03),
    "grievance.government_exclusion": (0.004, 0.02),
    "grievance.blocked": (0.0, 0.15),
    "governance.mandate_move_probability": (0.02, 0.2),
}

TARGETS = {  # statistic: (low, high)
    "p_majority": (0.2, 0.45),
    "p_consensus": (0.35, 0.65),
    "p_none": (0.05, 0.2),
    "p_blocking_third": (0.4, 0.85),
    "p_pm_compromise": (0.2, 0.5),
    "p_pm_formateur": (0.1, 0.35),
    "p_pm_incumbent": (0.1, 0.35),
    "median_weeks": (35, 60),
    "p_esc3": (0.4, 0.75),
    "p_esc4": (0.1, 0.35),
    "p_esc5": (0.02, 0.15),
    "p_pmf_moved": (0.03, 0.2),
}


def statistics(frame: pd.DataFrame) -> dict[str, float]:
    formed = frame[frame.formed]
    return {
        "p_majority": (frame.government_type == "majority").mean(),
        "p_consensus": (frame.government_type == "consensus").mean(),
        "p_none": (frame.government_type == "none").mean(),
        "p_blocking_third": frame.blocking_third.mean(),
        "p_pm_compromise": (frame.pm_kind == "compromise").mean(),
        "p_pm_formateur": (frame.pm_kind == "formateur").mean(),
        "p_pm_incumbent": (frame.pm_kind == "incumbent").mean(),
        "median_weeks": formed.weeks_to_government.median() if len(formed) else 999.0,
        "p_esc3": (frame.max_escalation >= 3).mean(),
        "p_esc4": (frame.max_escalation >= 4).mean(),
        "p_esc5": (frame.max_escalation >= 5).mean(),
        "p_pmf_moved": (frame.pmf_status != "intact").mean(),
    }


def loss(stats: dict[str, float]) -> float:
    total = 0.0
    for key, (low, high) in TARGETS.items():
        scale = high - low
        value = stats[key]
        miss = max(low - value, 0.0, value - high) / scale
        total += miss**2
    return total


def evaluate(args: tuple[dict, dict, int]) -> tuple[dict, dict, float]:
    raw, values, runs = args
    for key, value in values.items():
        raw = set_dotted(raw, key, value)
    scenario = validate(raw)
    rows = [
        FormationModel(scenario, seed=s, record_series=False).run().outcome() for s in range(runs)
    ]
    stats = statistics(pd.DataFrame(rows))
    return values, stats, loss(stats)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scenario", default="scenarios/baseline.toml")
    parser.add_argument("--candidates", type=int, default=60)
    parser.add_argument("--runs", type=int, default=300)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--scale",
        type=float,
        default=1.0,
        help="shrink the search box around the current values (0..1]",
    )
    args = parser.parse_args()
    raw, _ = resolve_raw(args.scenario)
    rng = np.random.default_rng(args.seed)
    current = {k: get_dotted(raw, k) for k in SEARCH}
    jobs = [(raw, current, args.runs)]
    for _ in range(args.candidates):
        values = {}
        for key, (low, high) in SEARCH.items():
            half = (high - low) * args.scale / 2
            centre = current[key] if args.scale < 1 else (low + high) / 2
            values[key] = float(np.clip(rng.uniform(centre - half, centre + half), low, high))
        jobs.append((raw, values, args.runs))
    with multiprocessing.get_context("fork").Pool(2) as pool:
        results = pool.map(evaluate, jobs)
    print("current:", round(results[0][2], 3), {k: round(v, 3) for k, v in results[0][1].items()})
    for values, stats, score in sorted(results[1:], key=lambda r: r[2])[:5]:
        print(f"\nloss {score:.3f}")
        print("  stats :", {k: round(v, 3) for k, v in stats.items()})
        print("  values:", {k: round(v, 4) for k, v in values.items()})
    return 0


if __name__ == "__main__":
    sys.exit(main())
