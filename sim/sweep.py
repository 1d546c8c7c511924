"""Sweeps: vary named parameters (dotted keys) over a grid or a Latin hypercube.

Each sweep point is a full scenario (the base with the point's values applied), validated
like any scenario file, so a bad value gets the same clear error. Replicate *i* of every
point uses the same seed (common random numbers), so differences between points are not
noise.
"""

from __future__ import annotations

import copy
import itertools
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from scipy.stats import qmc

from sim.scenario import Scenario, ScenarioError, validate


@dataclass(frozen=True)
class SweepPoint:
    point: int
    values: dict[str, float]
    scenario: Scenario


_INDEXED = re.compile(r"^(\w+)\[(\d+)\]$")


def _steps(key: str) -> list[str | int]:
    """``escalation.thresholds[3]`` -> ["escalation", "thresholds", 3]."""
    steps: list[str | int] = []
    for part in key.split("."):
        m = _INDEXED.match(part)
        steps += [m.group(1), int(m.group(2))] if m else [part]
    return steps


def get_dotted(raw: dict, key: str) -> Any:
    """The value at a dotted key; ``name[i]`` picks an element of an array."""
    node: Any = raw
    for step in _steps(key):
        if isinstance(step, int):
            if not isinstance(node, list) or step >= len(node):
                raise KeyError(key)
        elif not isinstance(node, dict) or step not in node:
            raise KeyError(key)
        node = node[step]
    return node


def set_dotted(raw: dict, key: str, value: Any) -> dict:
    """A copy of ``raw`` with the dotted key set (the key must already exist)."""
    out = copy.deepcopy(raw)
    node: Any = out
    steps = _steps(key)
    for step in steps[:-1]:
        node = node[step]
    node[steps[-1]] = value
    return out


def numeric_parameter(raw: dict, key: str, file: str, where: str, use: str = "be swept") -> Any:
    """The current value of a dotted key that must name a number of the scenario (for a
    sweep or a range); a clear ScenarioError otherwise."""
    try:
        current = get_dotted(raw, key)
    except KeyError:
        raise ScenarioError(
            file,
            where,
            f"{key!r} is not a parameter of this scenario (use a dotted key "
            "such as 'patrons.iran.mediation')",
        ) from None
    if isinstance(current, bool) or not isinstance(current, int | float):
        raise ScenarioError(
            file, where, f"{key!r} is not numeric ({current!r}); only numbers can {use}"
        )
    return current


def _typed(current: Any, value: float) -> Any:
    return (
        round(value) if isinstance(current, int) and not isinstance(current, bool) else float(value)
    )


def grid_points(raw: dict, parameters: dict[str, list], file: str) -> list[dict[str, Any]]:
    keys = list(parameters)
    for key in keys:
        current = numeric_parameter(raw, key, file, f"sweep.parameters.{key}")
        values = parameters[key]
        if not isinstance(values, list) or not values:
            raise ScenarioError(
                file, f"sweep.parameters.{key}", "a grid needs a non-empty list of values"
            )
        for v in values:
            if isinstance(v, bool) or not isinstance(v, int | float):
                raise ScenarioError(
                    file, f"sweep.parameters.{key}", f"grid values must be numbers (got {v!r})"
                )
            if isinstance(current, int) and not float(v).is_integer():
                # rounding 2.5 to 2 behind the user's back would run a point they never asked
                raise ScenarioError(
                    file, f"sweep.parameters.{key}", f"{key!r} is an integer (got {v!r})"
                )
        parameters[key] = [_typed(current, v) for v in values]
    return [
        dict(zip(keys, combo, strict=True)) for combo in itertools.product(*parameters.values())
    ]


def lhs_points(
    raw: dict, parameters: dict[str, Any], samples: int, seed: int, file: str
) -> list[dict[str, Any]]:
    keys = list(parameters)
    lows, highs, currents = [], [], []
    for key in keys:
        where = f"sweep.parameters.{key}"
        currents.append(numeric_parameter(raw, key, file, where))
        spec = parameters[key]
        if not (isinstance(spec, dict) and set(spec) == {"low", "high"}):
            raise ScenarioError(file, where, "a Latin hypercube needs { low = ..., high = ... }")
        low, high = spec["low"], spec["high"]
        if any(isinstance(x, bool) or not isinstance(x, int | float) for x in (low, high)):
            raise ScenarioError(file, where, "low and high must be numbers")
        if low >= high:
            raise ScenarioError(file, where, f"low ({low}) must be below high ({high})")
        lows.append(low)
        highs.append(high)
    if samples < 1:
        raise ScenarioError(file, "sweep.samples", "must be at least 1")
    unit = qmc.LatinHypercube(d=len(keys), seed=np.random.default_rng(seed)).random(samples)
    scaled = qmc.scale(unit, lows, highs)
    return [
        {k: _typed(c, v) for k, c, v in zip(keys, currents, row, strict=True)} for row in scaled
    ]


ALLOWED = {"method", "replicates", "samples", "seed", "parameters"}


def parse_sweep(raw: dict, file: str) -> tuple[list[dict[str, Any]], int | None]:
    """The points of the scenario's ``[sweep]`` table (and its replicate count)."""
    spec = raw.get("sweep")
    if spec is None:
        return [], None
    if not isinstance(spec, dict):
        raise ScenarioError(file, "sweep", "must be a table")
    for key in spec:
        if key not in ALLOWED:
            raise ScenarioError(
                file, f"sweep.{key}", f"unknown key; allowed keys: {', '.join(sorted(ALLOWED))}"
            )
    method = spec.get("method", "grid")
    if method not in ("grid", "lhs"):
        raise ScenarioError(file, "sweep.method", f"must be 'grid' or 'lhs' (got {method!r})")
    parameters = spec.get("parameters")
    if not isinstance(parameters, dict) or not parameters:
        raise ScenarioError(
            file, "sweep.parameters", "a non-empty table of dotted keys is required"
        )
    replicates = spec.get("replicates")
    if replicates is not None and (
        isinstance(replicates, bool) or not isinstance(replicates, int) or replicates < 1
    ):
        raise ScenarioError(file, "sweep.replicates", "must be a positive integer")
    base = {k: v for k, v in raw.items() if k != "sweep"}
    parameters = dict(parameters)
    if method == "grid":
        return grid_points(base, parameters, file), replicates
    samples = spec.get("samples", 10)
    seed = spec.get("seed", raw.get("seed", 0))
    if isinstance(samples, bool) or not isinstance(samples, int):
        raise ScenarioError(file, "sweep.samples", "must be a positive integer")
    return lhs_points(base, parameters, samples, int(seed), file), replicates


def build_points(
    raw: dict, points: list[dict[str, Any]], origin: dict, file: str
) -> list[SweepPoint]:
    """Validate every point as a scenario of its own."""
    base = {k: v for k, v in raw.items() if k != "sweep"}
    out = []
    for p, values in enumerate(points):
        point_raw = base
        for key, value in values.items():
            point_raw = set_dotted(point_raw, key, value)
        try:
            scenario = validate(point_raw, origin, file)
        except ScenarioError as exc:
            where, key = exc.file, exc.key
            if key in values:
                # the fault is the sweep's value: name the file that declares the sweep, not
                # the one (perhaps extended) that declares the parameter's default
                key = f"sweep.parameters.{key}"
                where = origin.get(key, file)
            raise ScenarioError(where, key, f"{exc.message} (at sweep point {values})") from None
        out.append(SweepPoint(p, values, scenario))
    return out


def cli_parameters(specs: list[str], method: str, file: str | Path) -> dict[str, Any]:
    """Parse ``key=v1,v2`` (grid) or ``key=low:high`` (lhs) from the command line."""
    out: dict[str, Any] = {}
    for spec in specs:
        key, sep, rest = spec.partition("=")
        if not sep or not key or not rest:
            raise ScenarioError(
                file, "--param", f"expected KEY=V1,V2,... or KEY=LOW:HIGH, got {spec!r}"
            )
        if key in out:
            raise ScenarioError(file, f"--param {key}", "given more than once")
        if method == "lhs" and ":" not in rest:
            raise ScenarioError(file, f"--param {key}", f"lhs expects LOW:HIGH, got {rest!r}")
        try:
            if method == "lhs":
                low, _, high = rest.partition(":")
                out[key] = {"low": float(low), "high": float(high)}
            else:
                out[key] = [float(v) for v in rest.split(",")]
        except ValueError:
            raise ScenarioError(
                file, f"--param {key}", f"values must be numbers, got {rest!r}"
            ) from None
    return out
