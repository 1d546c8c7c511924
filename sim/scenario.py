"""Scenario files: TOML in, frozen typed objects out, clear errors for bad input.

A scenario may say ``extends = "baseline.toml"`` (relative to its own file) and override
only what changes; tables merge key by key, arrays and scalars replace. Every error names
the file that set the offending key, the dotted key, and what is allowed. The schema
itself is in ``sim.schema``.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import re
import tomllib
from functools import lru_cache
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from sim.schema import Scenario

__all__ = [
    "EXPERIMENT_TABLES",
    "Scenario",
    "ScenarioError",
    "load_cached",
    "load_scenario",
    "resolve_raw",
    "scenario_hash",
    "validate",
]


class ScenarioError(Exception):
    """A problem with a scenario file: which file, which key, what is allowed."""

    def __init__(self, file: str | Path, key: str, message: str):
        self.file, self.key, self.message = str(file), key, message
        where = f"{self.file}: {key}: " if key else f"{self.file}: "
        super().__init__(where + message)


# --------------------------------------------------------------------------- loading

#: Tables that describe an experiment on the scenario rather than the world itself.
EXPERIMENT_TABLES = ("sweep", "ranges")


def _read_toml(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise ScenarioError(path, "", "file not found")
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(path, "", f"malformed TOML: {exc}") from None


def _merge(base: dict, override: dict, origin: dict, file: str, prefix: str = "") -> dict:
    """Deep-merge ``override`` into ``base``; record which file set each dotted key."""
    out = dict(base)
    for key, value in override.items():
        dotted = f"{prefix}{key}"
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value, origin, file, dotted + ".")
        else:
            out[key] = value
            origin[dotted] = file
            if isinstance(value, dict):
                _mark(value, origin, file, dotted + ".")
    return out


def _mark(table: dict, origin: dict, file: str, prefix: str) -> None:
    for key, value in table.items():
        origin[f"{prefix}{key}"] = file
        if isinstance(value, dict):
            _mark(value, origin, file, f"{prefix}{key}.")


def resolve_raw(path: str | Path, _seen: tuple[Path, ...] = ()) -> tuple[dict, dict[str, str]]:
    """Read a scenario and everything it extends into one merged dict (plus key origins)."""
    path = Path(path)
    real = path.resolve()
    if real in _seen:
        raise ScenarioError(path, "extends", "circular 'extends' chain")
    raw = _read_toml(path)
    parent = raw.pop("extends", None)
    origin: dict[str, str] = {}
    if parent is None:
        return _merge({}, raw, origin, str(path)), origin
    if not isinstance(parent, str):
        raise ScenarioError(path, "extends", "expected a path string relative to this file")
    base, origin = resolve_raw(path.parent / parent, (*_seen, real))
    return _merge(base, raw, origin, str(path)), origin


def scenario_hash(raw: dict) -> str:
    """A stable hash of the resolved scenario: same parameters, same hash."""
    canonical = json.dumps(raw, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _allowed_keys(loc: tuple) -> list[str]:
    """Field names allowed at the parent of ``loc`` (for 'unknown key' messages)."""
    model: Any = Scenario
    for part in loc[:-1]:
        if isinstance(part, int):
            continue
        field = model.model_fields.get(part) if hasattr(model, "model_fields") else None
        if field is None:
            # inside a dict[str, Section]: the part is a user name, keep the same model
            continue
        annotation = field.annotation
        args = getattr(annotation, "__args__", ())
        candidates = [annotation, *args]
        nxt = next(
            (c for c in candidates if isinstance(c, type) and issubclass(c, BaseModel)), None
        )
        if nxt is None:
            nxt = next(
                (
                    a
                    for c in candidates
                    for a in getattr(c, "__args__", ())
                    if isinstance(a, type) and issubclass(a, BaseModel)
                ),
                None,
            )
        if nxt is None:
            return []
        model = nxt
    return sorted(model.model_fields) if hasattr(model, "model_fields") else []


def _describe(error: dict) -> str:
    kind, loc = error["type"], error["loc"]
    if kind == "extra_forbidden":
        allowed = _allowed_keys(loc)
        return "unknown key" + (f"; allowed keys: {', '.join(allowed)}" if allowed else "")
    if kind == "missing":
        return "required key is missing"
    message = error["msg"]
    if "input" in error and not isinstance(error["input"], dict | list):
        message += f" (got {error['input']!r})"
    return message


def _file_for(key: str, origin: dict[str, str], default: str) -> str:
    """The file that set ``key`` (or, for a whole table, the file that last set something
    inside it): the one to name in an error message."""
    key = re.sub(r"\[\d+\]", "", key)
    while key:
        inside = {file for k, file in origin.items() if k == key or k.startswith(key + ".")}
        if default in inside:
            return default
        if key in origin:
            return origin[key]
        if inside:
            return sorted(inside)[-1]
        key = key.rpartition(".")[0]
    return default


def _check_references(sc: Scenario) -> list[tuple[str, str]]:
    """Cross-field rules pydantic cannot express: seat totals, thresholds, references."""
    problems: list[tuple[str, str]] = []
    names = sorted(sc.factions)
    patrons = sorted(sc.patrons)
    size = sc.parliament.size
    total = sum(f.seats for f in sc.factions.values())
    if total != size:
        problems.append(
            ("factions", f"faction seats add up to {total}, but parliament.size is {size}")
        )
    for key in ("speaker_majority", "president_quorum", "confidence_majority"):
        value = getattr(sc.parliament, key)
        if value > size:
            problems.append(
                (
                    f"parliament.{key}",
                    f"{value} exceeds parliament.size ({size}); allowed 1..{size}",
                )
            )
    for name, faction in sc.factions.items():
        for patron in faction.alignment:
            if patron not in sc.patrons:
                problems.append(
                    (f"factions.{name}.alignment.{patron}", f"no such patron; patrons: {patrons}")
                )

    def check_faction(key: str, value: str) -> None:
        if value not in sc.factions:
            problems.append((key, f"no faction named {value!r}; factions: {', '.join(names)}"))

    inc = sc.incumbent
    if inc.faction:
        check_faction("incumbent.faction", inc.faction)
    for i, value in enumerate(inc.supported_by):
        check_faction(f"incumbent.supported_by[{i}]", value)
    for patron in inc.alignment:
        if patron not in sc.patrons:
            problems.append(
                (f"incumbent.alignment.{patron}", f"no such patron; patrons: {patrons}")
            )
    for pname, patron in sc.patrons.items():
        for i, value in enumerate(patron.backs):
            check_faction(f"patrons.{pname}.backs[{i}]", value)
    seen: dict[str, str] = {}
    for b, bloc in enumerate(sc.blocs):
        check_faction(f"blocs[{b}].leader", bloc.leader)
        for i, value in enumerate(bloc.members):
            check_faction(f"blocs[{b}].members[{i}]", value)
        for member in {bloc.leader, *bloc.members}:
            if member in seen and seen[member] != bloc.name:
                problems.append(
                    (f"blocs[{b}].members", f"{member!r} is already in bloc {seen[member]!r}")
                )
            seen[member] = bloc.name
    thresholds = sc.escalation.thresholds
    if any(b <= a for a, b in itertools.pairwise(thresholds)):
        problems.append(("escalation.thresholds", "must be strictly increasing, each in [0, 1]"))
    clock = sc.clock
    if clock.start_week >= clock.horizon_weeks:
        problems.append(
            ("clock.start_week", f"must be below clock.horizon_weeks ({clock.horizon_weeks})")
        )
    return problems


def validate(raw: dict, origin: dict[str, str] | None = None, file: str = "<scenario>") -> Scenario:
    """Turn a merged raw dict into a Scenario, or raise ScenarioError."""
    origin = origin or {}
    # experiment tables are checked by their own modules (sim.sweep)
    raw = {k: v for k, v in raw.items() if k not in EXPERIMENT_TABLES}
    try:
        scenario = Scenario.model_validate(raw)
    except ValidationError as exc:
        error = exc.errors()[0]
        key = ".".join(str(p) if not isinstance(p, int) else f"[{p}]" for p in error["loc"])
        key = key.replace(".[", "[")
        raise ScenarioError(_file_for(key, origin, file), key, _describe(error)) from None
    problems = _check_references(scenario)
    if problems:
        key, message = problems[0]
        raise ScenarioError(_file_for(key, origin, file), key, message)
    return scenario


def load_scenario(path: str | Path) -> Scenario:
    """Load, merge and validate a scenario file."""
    raw, origin = resolve_raw(path)
    return validate(raw, origin, str(path))


@lru_cache(maxsize=32)
def _cached(path: str, mtime: float) -> tuple[Scenario, str]:
    raw, origin = resolve_raw(path)
    return validate(raw, origin, path), scenario_hash(raw)


def load_cached(path: str | Path) -> Scenario:
    """Load a scenario once per process (the Mesa batch_run path builds many models)."""
    p = Path(path)
    mtime = p.stat().st_mtime if p.is_file() else -1.0
    return _cached(str(p), mtime)[0]
