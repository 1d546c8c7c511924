"""No dead keys (issue 9, section 3): every numeric key of the baseline scenario is read by
the model. Each key is perturbed (within what it allows, keeping the scenario valid) and a
fixed set of runs is made; some column of the run table must change. A key that cannot
change any run of the baseline must be on ``INERT``, with the reason it is inert *in this
scenario* (it is read, but the baseline never reaches the branch that reads it)."""

from __future__ import annotations

from functools import cache
from typing import Any

import numpy as np
import pyarrow as pa
import pytest

from sim.batch.experiment import run_seed
from sim.engine.dotted import get_dotted, with_value
from sim.engine.replicates import run_replicates
from sim.engine.week import PROCESSES
from sim.scenario.loading import EXPERIMENT_TABLES, ScenarioError, resolve_raw, validate
from tests.conftest import BASELINE

RAW, ORIGIN = resolve_raw(BASELINE)
RUNS = 200  # runs a perturbation is first tried on
MORE_RUNS = 2000  # runs a key that moved nothing in RUNS is tried on, before it is dead
TRIES = 2  # the boldest valid perturbations tried on MORE_RUNS before a key is dead

# Why a key the model reads can still move no run of the baseline (each checked by tracing
# the key to where it is read, sim/ path in brackets):
SMALL_LIST_ALIGNMENT = (
    "a small list's leverage for a patron [bloc affinities, acceptance margins, restraint]: "
    "the list is never in a government (so no patron's weight shows it) and its bloc "
    "choice, invitations and attendance never tip, whatever the value"
)
NEVER_VOTES = (
    "the cohesion of a list that never accepts an offer [sessions: confidence vote]: its "
    "MPs' votes are never drawn"
)
NO_ASSOCIATION = (
    "faction legitimacy costs votes only when a coalition's seat-weighted legitimacy falls "
    "below 0.5 [bargaining: association]; Huquq holds one seat, too few to pull any "
    "coalition's below it"
)
NO_CLIENT_TO_REASSURE = (
    "guarantees reassure only the lists on the PMF's side [grievance: reassurance], and "
    "none of them is positively aligned with this patron (no leverage)"
)
#: Keys the baseline cannot move, each with its reason: the model reads them, but the
#: baseline never reaches a state where their value decides anything; another scenario
#: would.
INERT: dict[str, str] = {
    "clock.certified_week": (
        "it ends the weeks of the results appeal [grievance: results_appeal], which the "
        "baseline sets to 0 (its starting grievances already carry the appeals' anger); "
        "election_day_2021.toml sets it"
    ),
    "patrons.us.guarantee": NO_CLIENT_TO_REASSURE,
    "patrons.turkey.guarantee": NO_CLIENT_TO_REASSURE,
    "factions.huquq.legitimacy": NO_ASSOCIATION,
    "factions.huquq.alignment.turkey": SMALL_LIST_ALIGNMENT,
    "factions.minorities.cohesion": NEVER_VOTES,
}


def switched_off(raw: dict) -> dict[str, str]:
    """Keys of the tables whose mechanism the baseline switches off (``switch`` = 0, as its
    process declares): nothing reads them, by construction."""
    inert = {}
    for process in PROCESSES:
        spec = process.section
        if spec is None or not spec.switch:
            continue
        values = raw.get(spec.name, {})
        default = spec.model.model_fields[spec.switch].default
        if values.get(spec.switch, default) == 0:
            for key in values:
                if key != spec.switch:
                    inert[f"{spec.name}.{key}"] = (
                        f"its mechanism is off in the baseline ({spec.name}.{spec.switch} = 0)"
                    )
    return inert


def numeric_keys(node: Any, prefix: str = "") -> list[str]:
    """Every numeric leaf of the resolved scenario as a dotted key (``a.b``, ``a.b[2]``),
    the experiment tables ([sweep], [ranges]) aside: they describe experiments on the
    scenario, not the world it models."""
    keys: list[str] = []
    if isinstance(node, dict):
        for key, value in node.items():
            if not prefix and key in EXPERIMENT_TABLES:
                continue
            keys += numeric_keys(value, f"{prefix}.{key}" if prefix else key)
    elif isinstance(node, list):
        for i, value in enumerate(node):
            keys += numeric_keys(value, f"{prefix}[{i}]")
    elif isinstance(node, int | float) and not isinstance(node, bool):
        keys.append(prefix)
    return keys


KEYS = numeric_keys(RAW)
INERT.update(switched_off(RAW))


def candidates(value: int | float) -> list[int | float]:
    """Values to try in place of ``value``: scaled, shifted, of the other sign, and the
    ends of the usual ranges (those the key does not allow are skipped)."""
    if isinstance(value, int):
        tried = [value * 2, value // 2, value + 1, value - 1, value + 20, value + 50, 0, 1, 5]
    else:
        tried = [value * 1.5, value * 0.5, value + 0.2, value - 0.2, -value, 1.0, 0.0, -1.0,
                 value * 3, value + 1.0, value * 1.1, value * 0.9]  # fmt: skip
    return [v for v in dict.fromkeys(tried) if v != value]


def perturbed(key: str, value: int | float) -> dict:
    """The raw baseline with ``key`` set to ``value``; seat counts move seats to or from
    another list (and the size of parliament, to or from the small lists), so the seats
    still add up to the chamber."""
    raw = with_value(RAW, key, value)
    if key == "parliament.size" or (key.startswith("factions.") and key.endswith(".seats")):
        other = "minorities" if key == "factions.minor_lists.seats" else "minor_lists"
        step = value - get_dotted(RAW, key)
        if key.startswith("factions."):
            step = -step
        other_key = f"factions.{other}.seats"
        raw = with_value(raw, other_key, get_dotted(RAW, other_key) + step)
    return raw


def table(raw: dict, runs: int) -> pa.Table:
    """The run table of the first ``runs`` replicates (each scenario's own seeds)."""
    scenario = validate(raw, ORIGIN, str(BASELINE))
    seeds = np.array([run_seed(scenario.seed, i) for i in range(runs)], dtype=np.int64)
    columns, errors = run_replicates(scenario, seeds)
    assert not any(errors), next(e for e in errors if e)
    return pa.table(columns)


@cache
def baseline(runs: int) -> pa.Table:
    return table(RAW, runs)


def moves_a_run(key: str) -> tuple[bool, list]:
    """Does some valid perturbation of ``key`` change the run table? And the values tried:
    each on RUNS runs, then the boldest few on MORE_RUNS."""
    current = get_dotted(RAW, key)
    valid = []
    for value in candidates(current):
        raw = perturbed(key, value)
        try:
            validate(raw, ORIGIN, str(BASELINE))
        except ScenarioError:
            continue
        valid.append(value)
        if not table(raw, RUNS).equals(baseline(RUNS)):
            return True, valid
    for value in sorted(valid, key=lambda v: -abs(v - current))[:TRIES]:
        if not table(perturbed(key, value), MORE_RUNS).equals(baseline(MORE_RUNS)):
            return True, valid
    return False, valid


def test_the_walk_finds_the_baselines_numbers():
    assert len(KEYS) > 150
    for key in ("seed", "clock.horizon_weeks", "escalation.thresholds[3]",
                "factions.kdp.alignment.turkey", "patrons.iran.mediation",
                "bargaining.issue_weights.pmf_mandate"):  # fmt: skip
        assert key in KEYS, key
    assert not any(key.startswith(EXPERIMENT_TABLES) for key in KEYS)
    assert set(INERT) <= set(KEYS), "every inert key is a key of the baseline"


@pytest.mark.slow
def test_every_numeric_key_changes_some_run_or_is_documented_inert():
    dead, live_but_listed = {}, []
    for key in KEYS:
        moved, tried = moves_a_run(key)
        assert tried, f"{key}: no valid perturbation"
        if not moved and key not in INERT:
            dead[key] = tried
        if moved and key in INERT:
            live_but_listed.append(key)
    assert not dead, f"keys that change no run (tried values): {dead}"
    assert not live_but_listed, f"keys listed as inert that do change runs: {live_but_listed}"
