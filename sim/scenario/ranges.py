"""Parameter ranges: the plausible interval of each uncertain parameter, with its source.

A scenario's ``[ranges]`` table maps a dotted parameter key to ``{ low, high, source }``::

    [ranges]
    "patrons.iran.mediation" = { low = 0.3, high = 0.9, source = "assumption: ..." }

The key is quoted so TOML keeps it whole; an unquoted dotted key (which TOML turns into
nested tables) is accepted too. Ranges merge through ``extends`` like any table, so a
derived scenario can narrow one range and inherit the rest.

Ranges describe an experiment, not the world, so scenario validation skips them (see
``EXPERIMENT_TABLES``) and this module checks them, each entry with a schema model like any
table (finite numbers, no unknown keys): the key must name a numeric parameter, low must be
below high, the source must say where the interval comes from, and the scenario must stay
valid with the parameter at its low and at its high (the model's own limits, e.g. a
probability in [0, 1], apply to ranges too: an interval the parameter does not allow is
refused here rather than part-way through a sensitivity batch).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import AfterValidator, ValidationError, model_validator

from sim.engine.dotted import with_value
from sim.engine.schema import Section
from sim.scenario.loading import ScenarioError, file_for, schema_error, validate
from sim.scenario.sweep import numeric_parameter

FIELDS = ("low", "high", "source")


def _said(source: str) -> str:
    if not source.strip():
        raise ValueError("must be a non-empty string saying where the range comes from")
    return source.strip()


class RangeSpec(Section):
    """One entry of ``[ranges]``: ``{ low = ..., high = ..., source = "..." }``."""

    low: float
    high: float
    source: Annotated[str, AfterValidator(_said)]

    @model_validator(mode="after")
    def _ordered(self) -> RangeSpec:
        if not self.low < self.high:
            raise ValueError(f"low ({self.low:g}) must be below high ({self.high:g})")
        return self


@dataclass(frozen=True)
class Range:
    """One uncertain parameter: its interval, whether it is an integer, and its source."""

    key: str
    low: float
    high: float
    source: str
    integer: bool = False

    def value(self, x: float) -> int | float:
        """A sampled value as the scenario stores it (integers are rounded)."""
        return round(x) if self.integer else float(x)

    def as_dict(self) -> dict[str, Any]:
        return {"low": self.low, "high": self.high, "source": self.source}


def _entries(table: dict, prefix: str = "") -> Iterable[tuple[str, Any]]:
    """Flatten the table: a leaf is a value that is not a table, or a table with range fields."""
    for name, value in table.items():
        key = f"{prefix}{name}"
        if isinstance(value, dict) and value and not set(value) & set(FIELDS):
            yield from _entries(value, key + ".")
        else:
            yield key, value


def _check_entry(raw: dict, key: str, spec: Any, file: str) -> Range:
    where = f"ranges.{key}"
    try:
        checked = RangeSpec.model_validate(spec)
    except ValidationError as exc:
        raise schema_error(exc, RangeSpec, {}, file, where, blame=lambda _key: file) from None
    current = numeric_parameter(raw, key, file, where, use="have ranges")
    return Range(key, checked.low, checked.high, checked.source, isinstance(current, int))


def _check_allowed(raw: dict, origin: dict, rng: Range, file: str) -> None:
    """The scenario must stay valid with the parameter at either end of its range."""
    for name, x in (("low", rng.low), ("high", rng.high)):
        try:
            validate(with_value(raw, rng.key, rng.value(x)), origin, file)
        except ScenarioError as exc:
            raise ScenarioError(
                file,
                f"ranges.{rng.key}",
                f"{name} = {x:g} is outside what {rng.key} allows: {exc.message}",
            ) from None


def parse_ranges(raw: dict, origin: dict | None = None, file: str = "<scenario>") -> list[Range]:
    """The checked ranges of a resolved scenario (empty if it declares none), in file order."""
    origin = origin or {}
    table = raw.get("ranges")
    if table is None:
        return []
    if not isinstance(table, dict):  # the one check before the entries can be flattened
        raise ScenarioError(file, "ranges", "must be a table of dotted keys")
    base = {k: v for k, v in raw.items() if k not in ("ranges", "sweep")}
    out = []
    for key, spec in _entries(table):
        where = _entry_file(origin, key, spec, file)
        rng = _check_entry(base, key, spec, where)
        _check_allowed(base, origin, rng, where)
        out.append(rng)
    return out


def _entry_file(origin: dict, key: str, spec: Any, default: str) -> str:
    """The file to blame for a range: the derived file that overrode any of its fields
    (one that only changes ``high`` is the one that put it below ``low``), else its own."""
    entry = file_for(f"ranges.{key}", origin, default)
    if not isinstance(spec, dict):
        return entry
    fields = (origin.get(f"ranges.{key}.{f}") for f in spec)
    return next((f for f in fields if f and f != entry), entry)


def select(ranges: list[Range], keys: list[str] | None, file: str) -> list[Range]:
    """The ranges named in ``keys`` (all of them if none), or a clear error."""
    if not ranges:
        raise ScenarioError(
            file,
            "ranges",
            "no parameter ranges declared; add a [ranges] table of "
            '"dotted.key" = { low = ..., high = ..., source = "..." }',
        )
    if not keys:
        return ranges
    by_key = {r.key: r for r in ranges}
    for key in keys:
        if key not in by_key:
            raise ScenarioError(
                file,
                f"--param {key}",
                f"no range declared for it; declared: {', '.join(by_key)}",
            )
    if len(set(keys)) != len(keys):
        raise ScenarioError(file, "--param", "a parameter is named twice")
    return [by_key[k] for k in keys]
