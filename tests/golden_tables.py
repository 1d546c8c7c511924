"""Golden run tables: a hash of the run table of every shipped scenario, on fixed seeds.

``tests/test_golden_tables.py`` recomputes each table and compares its hash with the stored
one, so a refactor meant to change nothing (the layout of the package, how processes
declare their state) is checked to be bit-identical, column by column and run by run. When
a change is *meant* to move a scenario's runs, regenerate and commit the file:

    .venv/bin/python -m tests.golden_tables --update
"""

from __future__ import annotations

import argparse
import hashlib
import json
from pathlib import Path

import numpy as np
import pyarrow as pa

from sim.batch.experiment import run_seed
from sim.engine.replicates import run_replicates
from sim.scenario.loading import load_scenario

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = Path(__file__).resolve().parent / "golden" / "run_tables.json"
SCENARIOS = sorted((ROOT / "scenarios").glob("*.toml"))
RUNS = 200


def table_hash(path: Path, runs: int = RUNS) -> str:
    """SHA-256 of the scenario's run table (its first ``runs`` replicates), every value
    written exactly (floats by their shortest round-trip repr)."""
    scenario = load_scenario(path)
    seeds = np.array([run_seed(scenario.seed, i) for i in range(runs)], dtype=np.int64)
    columns, errors = run_replicates(scenario, seeds)
    if any(errors):
        raise RuntimeError(f"a run of {path.name} failed: {next(e for e in errors if e)}")
    rows = pa.table(columns).to_pylist()
    text = json.dumps(rows, sort_keys=True, default=repr)
    return hashlib.sha256(text.encode()).hexdigest()


def hashes() -> dict[str, str]:
    return {path.name: table_hash(path) for path in SCENARIOS}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--update", action="store_true", help="rewrite the stored hashes")
    args = parser.parse_args()
    current = hashes()
    if args.update:
        GOLDEN.write_text(json.dumps(current, indent=1, sort_keys=True) + "\n")
        print(f"wrote {GOLDEN}")
    else:
        stored = json.loads(GOLDEN.read_text())
        for name, value in current.items():
            print(name, "same" if stored.get(name) == value else "CHANGED")
