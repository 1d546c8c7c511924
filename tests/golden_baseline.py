"""Golden baseline (Starsim-style): a fixed-seed batch of the baseline, summarised.

``tests/test_golden.py`` recomputes the summary and compares it with the stored one, so an
unintended change in behaviour (a refactor that was meant to change nothing) fails loudly.
When a change is *meant* to move the baseline, regenerate and commit the file:

    .venv/bin/python -m tests.golden_baseline --update
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import pyarrow as pa

from sim.batch.experiment import run_seed
from sim.engine.replicates import run_replicates
from sim.scenario.loading import load_scenario

GOLDEN = Path(__file__).resolve().parent / "golden" / "baseline_summary.json"
BASELINE = Path(__file__).resolve().parent.parent / "scenarios" / "baseline.toml"
#: The same summary from the first engine (v1, before the core rewrite of issue 9; 200
#: runs through ``FormationModel``), kept for the record and never regenerated.
V1 = GOLDEN.with_name("baseline_summary_v1.json")
RUNS = 2000


def summary(runs: int = RUNS) -> dict:
    """The summary of the baseline's first ``runs`` replicates (the batch's seeds), run by
    the compiled engine that ``sim run`` uses."""
    scenario = load_scenario(BASELINE)
    seeds = np.array([run_seed(scenario.seed, i) for i in range(runs)], dtype=np.int64)
    columns, errors = run_replicates(scenario, seeds)
    if any(errors):
        raise RuntimeError(f"a baseline run failed: {next(e for e in errors if e)}")
    frame = pa.table(columns).to_pandas()

    def shares(column: str) -> dict:
        counts = frame[column].value_counts(normalize=True).sort_index()
        return {str(k): round(float(v), 4) for k, v in counts.items()}

    formed = frame[frame.formed]
    return {
        "runs": runs,
        "government_type": shares("government_type"),
        "pm_kind": shares("pm_kind"),
        "pmf_status": shares("pmf_status"),
        "max_escalation": shares("max_escalation"),
        "blocking_third": round(float(frame.blocking_third.mean()), 4),
        "median_weeks_to_government": float(formed.weeks_to_government.median()),
        "mean_casualties": round(float(frame.casualties.mean()), 3),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--update", action="store_true", help="rewrite the stored summary")
    args = parser.parse_args()
    current = summary()
    if args.update:
        GOLDEN.write_text(json.dumps(current, indent=2) + "\n")
        print(f"wrote {GOLDEN}")
    else:
        print(json.dumps(current, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
