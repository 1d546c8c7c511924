"""Sweeps: vary named parameters (dotted keys) over a grid or a Latin hypercube.

A ``[sweep]`` table (or ``sim sweep``'s options) is checked by a schema model like every
other table, so its errors read like any key's. Each sweep point is then a full scenario
(the base with the point's values applied), validated like any scenario file, so a bad
value gets the same clear error. Replicate *i* of every point uses the same seed (common
random numbers), so differences between points are not noise.
"""

from __future__ import annotations

import itertools
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

from pydantic import (
    BeforeValidator,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    model_validator,
)

from sim.engine.assembly import Scenario
from sim.engine.dotted import get_dotted, with_value
from sim.engine.limits import MAX_RUNS
from sim.engine.schema import Section, as_tuple
from sim.scenario.loading import ScenarioError, file_for, schema_error, validate
from sim.scenario.settings import Design

#: Every sweep point is a validated scenario of its own, held by the ``sim`` process and by
#: each worker (about 60 kB and 4 ms to build on the project's 2-core VM): 20,000 points
#: is about a gigabyte and over a minute before the first run. A larger design is
#: refused before anything is allocated (a grid's size is a product of its value counts).
MAX_POINTS = 20_000
#: Replicates per point: the same limit as --runs and --replicates.
MAX_REPLICATES = MAX_RUNS
SEED_KEY = "seed"
SEED_REFUSED = (
    "the batch seed cannot be swept or ranged: every run's seed derives from it (use "
    "--seed for another batch seed, or more replicates for more runs)"
)


@dataclass(frozen=True)
class SweepPoint:
    point: int
    values: dict[str, float]
    scenario: Scenario


# --------------------------------------------------------------------------- the [sweep] table
#: A grid's values for one key: numbers (finite; integers are taken as numbers).
GridValues = Annotated[tuple[float, ...], BeforeValidator(as_tuple), Field(min_length=1)]
GRID_VALUES = TypeAdapter(GridValues, config=ConfigDict(strict=True, allow_inf_nan=False))


class Bounds(Section):
    """A Latin hypercube's interval for one key."""

    low: float
    high: float

    @model_validator(mode="after")
    def _ordered(self) -> Bounds:
        if not self.low < self.high:
            raise ValueError(f"low ({self.low:g}) must be below high ({self.high:g})")
        return self


class SweepTable(Section):
    """``[sweep]``: the method, replicates per point and, per dotted key, a grid's values
    (``[v1, v2, ...]``) or a Latin hypercube's bounds (``{ low = ..., high = ... }``)."""

    method: Design = "grid"
    replicates: int | None = Field(default=None, ge=1, le=MAX_REPLICATES)
    samples: int = Field(default=10, ge=1)  # Latin hypercube points
    seed: int | None = Field(default=None, ge=0, lt=2**63)  # of the Latin hypercube
    parameters: dict[str, Any] = Field(min_length=1)


def numeric_parameter(raw: dict, key: str, file: str, where: str, use: str = "be swept") -> Any:
    """The current value of a dotted key that must name a number of the scenario (for a
    sweep or a range); a clear ScenarioError otherwise."""
    if key == SEED_KEY:
        raise ScenarioError(file, where, SEED_REFUSED)
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


#: Memory a design may take, all points held at once: the points are each a validated
#: scenario, and a point costs about POINT_BYTES_PER_SCENARIO_BYTE times its scenario's
#: size as JSON (issue 20's probe: a 509 kB file held 3.9 MB a point, about 7.7 times).
#: So the point limit scales with the scenario: the baseline (30 kB) keeps all 20,000;
#: a 2,000-faction file of 509 kB gets about 1,600.
MAX_DESIGN_BYTES = 6 * 2**30
POINT_BYTES_PER_SCENARIO_BYTE = 8


def point_bytes(raw: dict | None) -> int:
    """About what one point of a design over ``raw`` holds in memory (bytes)."""
    if raw is None:
        return 0
    size = len(json.dumps(raw, default=str, separators=(",", ":")))
    return size * POINT_BYTES_PER_SCENARIO_BYTE


def check_design_size(
    points: int, what: str, advice: str, file: str, key: str, raw: dict | None = None
) -> None:
    """Refuse a design of more than MAX_POINTS points, or one whose points would take more
    than MAX_DESIGN_BYTES (with ``raw``, the scenario: a large scenario allows fewer
    points), saying its size and the limit (call it with the size computed, before the
    design is built)."""
    if points > MAX_POINTS:
        raise ScenarioError(
            file,
            key,
            f"{what} has {points:,} points, above the limit of {MAX_POINTS:,} (each point is "
            f"a scenario held in memory); {advice}",
        )
    each = point_bytes(raw)
    if each and points * each > MAX_DESIGN_BYTES:
        allowed = MAX_DESIGN_BYTES // each
        raise ScenarioError(
            file,
            key,
            f"{what} has {points:,} points of about {each / 2**20:.1f} MB each (this "
            f"scenario's size), {points * each / 2**30:.1f} GB in all, above the limit of "
            f"{MAX_DESIGN_BYTES // 2**30} GB: at most {allowed:,} points here; {advice}",
        )


# --------------------------------------------------------------------------- designs
def grid_points(raw: dict, grid: dict[str, tuple[float, ...]], file: str) -> list[dict[str, Any]]:
    """Every combination of the values (the size is checked before: see parse_sweep)."""
    typed: dict[str, list[Any]] = {}
    for key, values in grid.items():
        current = numeric_parameter(raw, key, file, f"sweep.parameters.{key}")
        for v in values:
            if isinstance(current, int) and not float(v).is_integer():
                # rounding 2.5 to 2 behind the user's back would run a point they never asked
                raise ScenarioError(
                    file, f"sweep.parameters.{key}", f"{key!r} is an integer (got {v!r})"
                )
        typed[key] = [_typed(current, v) for v in values]
    keys = list(typed)
    return [dict(zip(keys, combo, strict=True)) for combo in itertools.product(*typed.values())]


def lhs_points(
    raw: dict, bounds: dict[str, Bounds], samples: int, seed: int, file: str
) -> list[dict[str, Any]]:
    """``samples`` points of a Latin hypercube over the bounds, drawn from ``seed``."""
    import numpy as np
    from scipy.stats import qmc  # a slow import, which only Latin hypercubes need

    keys = list(bounds)
    currents = [numeric_parameter(raw, k, file, f"sweep.parameters.{k}") for k in keys]
    unit = qmc.LatinHypercube(d=len(keys), seed=np.random.default_rng(seed)).random(samples)
    scaled = qmc.scale(unit, [bounds[k].low for k in keys], [bounds[k].high for k in keys])
    return [
        {k: _typed(c, v) for k, c, v in zip(keys, currents, row, strict=True)} for row in scaled
    ]


#: What a key of the sweep allows, in the README's words (see ``schema_error``).
RULES = {
    "replicates": "must be a positive integer",
    "samples": "must be a positive integer, at least 1",
    "parameters": "a non-empty table of dotted keys is required",
}
GRID_RULE = {"": "a grid needs a non-empty list of values; values must be numbers, not inf or nan"}
BOUNDS_RULE = {"": "a Latin hypercube needs { low = ..., high = ... }, finite, low below high"}


def _checked(model: Any, data: Any, prefix: str, where: str, rules: dict[str, str]) -> Any:
    """``data`` validated by a schema model (or a TypeAdapter), errors keyed from ``prefix``
    and blamed on ``where``, the file that declares the sweep."""
    check = model.validate_python if isinstance(model, TypeAdapter) else model.model_validate
    try:
        return check(data)
    except ValidationError as exc:
        raise schema_error(exc, model, {}, where, prefix, lambda _key: where, rules) from None


def parse_sweep(
    raw: dict, file: str, origin: dict[str, str] | None = None
) -> tuple[list[dict[str, Any]], int | None]:
    """The points of the scenario's ``[sweep]`` table (and its replicate count)."""
    spec = raw.get("sweep")
    if spec is None:
        return [], None
    where = file_for("sweep", origin or {}, file)
    table = _checked(SweepTable, spec, "sweep", where, RULES)
    base = {k: v for k, v in raw.items() if k != "sweep"}
    if table.method == "grid":
        grid = {
            key: _checked(GRID_VALUES, values, f"sweep.parameters.{key}", where, GRID_RULE)
            for key, values in table.parameters.items()
        }
        check_design_size(
            math.prod(len(v) for v in grid.values()),
            "the grid (" + " x ".join(str(len(v)) for v in grid.values()) + " values)",
            "use fewer values, or a Latin hypercube (method = 'lhs')",
            where,
            "sweep.parameters",
            base,
        )
        return grid_points(base, grid, where), table.replicates
    bounds = {
        key: _checked(Bounds, interval, f"sweep.parameters.{key}", where, BOUNDS_RULE)
        for key, interval in table.parameters.items()
    }
    check_design_size(
        table.samples, "the Latin hypercube", "use fewer samples", where, "sweep.samples", base
    )
    seed = table.seed if table.seed is not None else raw.get("seed", 0)
    return lhs_points(base, bounds, table.samples, seed, where), table.replicates


def build_points(
    raw: dict, points: list[dict[str, Any]], origin: dict, file: str
) -> list[SweepPoint]:
    """Validate every point as a scenario of its own."""
    base = {k: v for k, v in raw.items() if k != "sweep"}
    out = []
    for p, values in enumerate(points):
        point_raw = base
        for key, value in values.items():
            point_raw = with_value(point_raw, key, value)
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
        if key == SEED_KEY:
            raise ScenarioError(file, f"--param {key}", SEED_REFUSED)
        if key in out:
            raise ScenarioError(file, f"--param {key}", "given more than once")
        if method == "lhs" and ":" not in rest:
            raise ScenarioError(file, f"--param {key}", f"lhs expects LOW:HIGH, got {rest!r}")
        try:
            if method == "lhs":
                low, _, high = rest.partition(":")
                numbers = [float(low), float(high)]
                out[key] = {"low": numbers[0], "high": numbers[1]}
            else:
                numbers = [float(v) for v in rest.split(",")]
                out[key] = numbers
        except ValueError:
            raise ScenarioError(
                file, f"--param {key}", f"values must be numbers, got {rest!r}"
            ) from None
        if not all(math.isfinite(x) for x in numbers):
            raise ScenarioError(
                file, f"--param {key}", f"values must be finite numbers, got {rest!r}"
            )
    return out
