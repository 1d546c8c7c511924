"""Scenario files: TOML in, frozen typed objects out, clear errors for bad input.

A scenario may say ``extends = "baseline.toml"`` (relative to its own file) and override
only what changes; tables merge key by key, arrays and scalars replace, and factions and
blocs can be dropped or replaced (``sim.inheritance``). Every error names
the file that set the offending key, the dotted key, and what is allowed. The schema
itself is in ``sim.schema``.

A file is read whole before anything else happens, within limits that no scenario comes
near (size, nesting, length of the ``extends`` chain), so that a hostile or mistaken file
(a binary, a device, a million nested arrays) is one clear error, not a traceback.
"""

from __future__ import annotations

import hashlib
import json
import re
import tomllib
from functools import lru_cache
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from sim.engine.assembly import Scenario, check_rules
from sim.engine.dotted import get_dotted, set_dotted
from sim.scenario.inheritance import InheritanceError, inherit

__all__ = [
    "EXPERIMENT_TABLES",
    "MAX_DEPTH",
    "MAX_EXTENDS",
    "MAX_FILE_BYTES",
    "Scenario",
    "ScenarioError",
    "file_for",
    "load_cached",
    "load_scenario",
    "read_toml",
    "resolve_raw",
    "scenario_hash",
    "schema_error",
    "validate",
]


class ScenarioError(Exception):
    """A problem with a scenario file: which file, which key, what is allowed."""

    def __init__(self, file: str | Path, key: str, message: str):
        self.file, self.key, self.message = str(file), key, message
        where = f"{self.file}: {key}: " if key else f"{self.file}: "
        super().__init__(where + message)


# --------------------------------------------------------------------------- reading files
#: Tables that describe an experiment on the scenario rather than the world itself.
EXPERIMENT_TABLES = ("sweep", "ranges")
#: The baseline is 30 kB and a 40-faction scenario 22 kB; a megabyte holds over a thousand
#: factions. Anything larger is not a hand-written scenario (and is not read into memory).
MAX_FILE_BYTES = 1_000_000
#: Tables and arrays nested in one another: scenarios need 5 (ranges.patrons.iran.mediation
#: .low); the limit keeps every recursive step (merge, hash, validation) far from Python's.
MAX_DEPTH = 16
#: Files in one ``extends`` chain (a scenario extending a variant of the baseline is 3).
MAX_EXTENDS = 16


def _problem_reading(path: Path) -> tuple[str | None, dict[str, Any]]:
    """Read and parse a TOML file: (what is wrong with it, or None; its contents)."""
    try:
        if not path.exists():
            return "file not found", {}
        if path.is_dir():
            return "is a directory, not a scenario file", {}
        if not path.is_file():  # a device or a pipe: reading could block or never end
            return "is not a regular file", {}
        with path.open("rb") as fh:
            data = fh.read(MAX_FILE_BYTES + 1)
    except OSError as exc:  # unreadable, a name too long, a loop of links...
        return f"cannot be read ({exc.strerror or exc})", {}
    if len(data) > MAX_FILE_BYTES:
        return f"is larger than {MAX_FILE_BYTES:,} bytes, the limit for a scenario file", {}
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        return (
            f"is not UTF-8 text (byte 0x{data[exc.start]:02x} at offset {exc.start}); "
            "a scenario is a UTF-8 TOML file",
            {},
        )
    try:
        table = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        return f"malformed TOML: {exc}", {}
    except RecursionError:  # tomllib parses nested arrays recursively
        return f"malformed TOML: nested deeper than {MAX_DEPTH} levels", {}
    if _depth(table) > MAX_DEPTH:
        return f"tables and arrays are nested deeper than {MAX_DEPTH} levels", {}
    return None, table


def _depth(value: Any) -> int:
    """How deeply tables and arrays nest (without recursion: the input may be hostile)."""
    deepest, stack = 0, [(value, 0)]
    while stack and deepest <= MAX_DEPTH:
        node, level = stack.pop()
        deepest = max(deepest, level)
        if isinstance(node, dict):
            stack.extend((child, level + 1) for child in node.values())
        elif isinstance(node, list):
            stack.extend((child, level + 1) for child in node)
    return deepest


def read_toml(path: Path, referrer: Path | None = None) -> dict[str, Any]:
    """A file's table; errors name the file, or, for a parent, the file whose ``extends``
    names it (that is the line to fix) and what is wrong with the parent."""
    problem, table = _problem_reading(path)
    if problem is None:
        return table
    if referrer is None:
        raise ScenarioError(path, "", problem)
    raise ScenarioError(referrer, "extends", f"{path}: {problem}")


def resolve_raw(
    path: str | Path, _seen: tuple[Path, ...] = (), _referrer: Path | None = None
) -> tuple[dict, dict[str, str]]:
    """Read a scenario and everything it extends into one merged dict (plus key origins)."""
    path = Path(path)
    try:
        real = path.resolve()
    except (OSError, ValueError, RuntimeError):  # a NUL byte, a loop: the read says what
        real = path.absolute()
    if real in _seen:
        raise ScenarioError(_referrer or path, "extends", "circular 'extends' chain")
    if len(_seen) >= MAX_EXTENDS:
        raise ScenarioError(
            _referrer or path, "extends", f"a chain of more than {MAX_EXTENDS} files"
        )
    raw = read_toml(path, _referrer)
    parent = raw.pop("extends", None)
    origin: dict[str, str] = {}
    base = None
    if parent is not None:
        if not isinstance(parent, str) or not parent:
            raise ScenarioError(path, "extends", "expected a path string relative to this file")
        base, origin = resolve_raw(path.parent / parent, (*_seen, real), path)
    try:  # merged over the parent, with its directives (drop, replace) applied
        merged = inherit(base, raw, origin, str(path), str(path.parent / (parent or "")))
    except InheritanceError as exc:
        raise ScenarioError(path, exc.key, exc.message) from None
    return merged, origin


def scenario_hash(raw: dict) -> str:
    """A stable hash of the resolved scenario: same parameters, same hash."""
    canonical = json.dumps(raw, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


# --------------------------------------------------------------------------- error messages
def _allowed_keys(model: Any, loc: tuple) -> list[str]:
    """Field names allowed at the parent of ``loc`` (for 'unknown key' messages)."""
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


def _shown(value: Any, limit: int = 60) -> str:
    """A value as an error message quotes it: its repr, shortened (it may be huge)."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _describe(error: Any, model: Any) -> str:
    kind, loc = error["type"], error["loc"]
    if kind == "extra_forbidden":
        allowed = _allowed_keys(model, loc)
        return "unknown key" + (f"; allowed keys: {', '.join(allowed)}" if allowed else "")
    if kind == "missing":
        return "required key is missing"
    if kind in ("model_type", "dict_type"):
        return f"expected a table, got {_shown(error['input'])}"
    if kind in ("list_type", "tuple_type"):
        return f"expected an array, got {_shown(error['input'])}"
    if kind == "value_error":  # our own validators: the message says what was given
        return str(error["ctx"]["error"])
    message = error["msg"]
    if "input" in error and not isinstance(error["input"], dict | list | tuple):
        message += f" (got {_shown(error['input'])})"
    return message


def _dotted(loc: tuple) -> str:
    """A pydantic location as a dotted key: ("blocs", 0, "name") -> "blocs[0].name"."""
    key = ""
    for part in loc:
        if part == "[key]":  # the error is in a table's key itself, named by the step before
            continue
        if isinstance(part, int):
            key += f"[{part}]"
        else:
            key += f".{part if part else repr(part)}"
    return key.lstrip(".")


def file_for(key: str, origin: dict[str, str], default: str) -> str:
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


def schema_error(
    exc: ValidationError,
    model: Any,
    origin: dict[str, str],
    file: str,
    prefix: str = "",
    blame: Any = None,
    rules: dict[str, str] | None = None,
) -> ScenarioError:
    """The first error pydantic found, as one ScenarioError naming file, key and what is
    allowed. ``prefix`` is where the validated table sits (``sweep``, ``ranges.KEY``);
    ``blame(key)`` picks the file to name (by default the one that set the key).

    ``rules`` states what a field allows in the documentation's words, for fields where
    pydantic's wording would say less (field name -> rule; "" for every error of a bare
    type): the message is then the rule and the value given, keyed by the field."""
    error = exc.errors()[0]
    loc = error["loc"]
    head = loc[0] if loc and isinstance(loc[0], str) else ""
    rule = (rules or {}).get(head)
    if rule is not None and error["type"] != "value_error":  # our validators say it already
        key = ".".join(p for p in (prefix, head) if p)
        message = f"{rule} (got {_shown(error['input'])})"
    else:
        key = ".".join(p for p in (prefix, _dotted(loc)) if p)
        message = _describe(error, model)
    where = blame(key) if blame else file_for(key, origin, file)
    return ScenarioError(where, key, message)


# --------------------------------------------------------------------------- validation
def validate(raw: dict, origin: dict[str, str] | None = None, file: str = "<scenario>") -> Scenario:
    """Turn a merged raw dict into a Scenario, or raise ScenarioError."""
    origin = origin or {}
    # experiment tables are checked by their own modules (sim.sweep, sim.ranges)
    raw = {k: v for k, v in raw.items() if k not in EXPERIMENT_TABLES}
    try:
        scenario = Scenario.model_validate(raw)
    except ValidationError as exc:
        raise schema_error(exc, Scenario, origin, file) from None
    problems = check_rules(scenario)
    if problems:
        key, message = problems[0]
        raise ScenarioError(file_for(key, origin, file), key, message)
    _check_event_values(raw, origin, file)
    return scenario


def _check_event_values(raw: dict, origin: dict[str, str], file: str) -> None:
    """Each value a scenario event sets is checked like the scenario's own: its key must
    name a value of the scenario, and the scenario with it must validate."""
    for name, event in (raw.get("events") or {}).items():
        for key, value in (event.get("set") or {}).items():
            where = f"events.{name}.set.{key}"
            try:
                get_dotted(raw, key)
            except KeyError:
                message = "names no value of the scenario (a dotted key: patrons.iran.mediation)"
                raise ScenarioError(file_for(where, origin, file), where, message) from None
            try:
                changed = Scenario.model_validate(set_dotted(raw, key, value))
            except ValidationError as exc:
                error = schema_error(exc, Scenario, origin, file)
                raise ScenarioError(file_for(where, origin, file), where, error.message) from None
            problems = check_rules(changed)
            if problems:
                raise ScenarioError(file_for(where, origin, file), where, problems[0][1])


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


# --------------------------------------------------------------------------- overrides
def with_overrides(scenario: Scenario | str | Path, overrides: dict[str, Any]) -> Scenario:
    """A scenario with values replaced by dotted key (``{"patrons.iran.mediation": 0.3}``),
    validated like the file itself: a key that names nothing, or a value the key does not
    allow, is a ScenarioError naming the key. Loaded once per process for a given file
    and set of overrides (``mesa.batch_run`` builds many models from the same ones)."""
    plain = tuple(sorted((k, v.item() if hasattr(v, "item") else v) for k, v in overrides.items()))
    if isinstance(scenario, Scenario):
        raw = scenario.model_dump(mode="python")
        return _override(raw, {}, "<scenario>", plain)
    p = Path(scenario)
    mtime = p.stat().st_mtime if p.is_file() else -1.0
    return _overridden_file(str(p), mtime, plain)


@lru_cache(maxsize=256)
def _overridden_file(path: str, mtime: float, plain: tuple[tuple[str, Any], ...]) -> Scenario:
    raw, origin = resolve_raw(path)
    return _override(raw, origin, path, plain)


def _override(
    raw: dict, origin: dict[str, str], file: str, plain: tuple[tuple[str, Any], ...]
) -> Scenario:

    for key, value in plain:
        try:
            get_dotted(raw, key)
        except KeyError:
            raise ScenarioError(
                file,
                key,
                "no such scenario key (use a dotted key such as 'patrons.iran.mediation')",
            ) from None
        raw = set_dotted(raw, key, value)
        origin = {**origin, key: f"{file} (override)"}
    return validate(raw, origin, file)
