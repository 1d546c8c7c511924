"""Shared fixtures: the repository's scenarios, and small scenario files made on the fly."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = ROOT / "scenarios"
BASELINE = SCENARIOS / "baseline.toml"


@pytest.fixture
def baseline_path() -> Path:
    return BASELINE


@pytest.fixture
def make_scenario(tmp_path):
    """Write a scenario that extends the baseline with the given TOML text."""

    def make(body: str, name: str = "variant.toml") -> Path:
        path = tmp_path / name
        path.write_text(f'extends = "{BASELINE.as_posix()}"\n{body}\n')
        return path

    return make


def run_cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """Run the ``sim`` command in a subprocess, as a user would."""
    return subprocess.run(
        [sys.executable, "-m", "sim.cli.main", *args],
        capture_output=True,
        text=True,
        cwd=cwd or ROOT,
        check=False,
    )


def plant_failures(monkeypatch, fail) -> None:
    """Make the batch engine's runs fail where ``fail(seed)`` says so: ``fail`` returns
    nothing for a seed that runs, or raises (or kills its process) for one that does not.
    The engine's compiled loop (``sim.engine.replicates.simulate_runs``) is wrapped, so forked
    workers inherit the failures; a chunk holding a failing seed is then run one seed at a
    time, as after any failure."""
    import sim.engine.replicates

    real = sim.engine.replicates.simulate_runs

    def fragile(*args):
        seeds = args[-2]  # simulate_runs(..., seeds, out)
        for seed in seeds:
            fail(int(seed))
        return real(*args)

    monkeypatch.setattr(sim.engine.replicates, "simulate_runs", fragile)


# --------------------------------------------------------------------------- hypothesis
# Two profiles. "ci" (the default) is deterministic: examples derive from each test's
# name (derandomize), nothing is read from or saved to a database, so every run of the
# suite tries the same cases and passes or fails alike. "wide" is for a long search by
# hand (SIM_HYPOTHESIS_PROFILE=wide pytest -m "not slow" tests/test_model.py): random,
# many more examples, failures kept in .hypothesis/ to replay; each failure it finds
# becomes an @example on its test, so the ci profile checks it from then on.
from hypothesis import HealthCheck  # noqa: E402
from hypothesis import settings as hypothesis_settings  # noqa: E402

HYPOTHESIS_PROFILE_VARIABLE = "SIM_HYPOTHESIS_PROFILE"
hypothesis_settings.register_profile(
    "ci",
    max_examples=40,
    derandomize=True,
    database=None,
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
hypothesis_settings.register_profile(
    "wide",
    max_examples=2000,
    derandomize=False,
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
hypothesis_settings.load_profile(os.environ.get(HYPOTHESIS_PROFILE_VARIABLE, "ci"))
