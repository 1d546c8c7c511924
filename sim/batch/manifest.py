"""The schema of ``DIR/manifest.json``: a manifest is read only through ``parse_manifest``.

A manifest is edited, truncated or replaced as any file on disk is (``null``, ``[]``,
``{"identity": 5}``, 40 bytes of a real one). Every command that reads one (run, compare,
report, explain, discover) goes through this schema, so a damaged manifest is one line
naming the file and the key, never a traceback deep in the command. Pydantic checks the
shape; keys the schema does not name are kept (later versions may add some).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, StrictInt, ValidationError

#: Most nested levels a manifest may have: a real one has about eight (scenario tables);
#: far deeper is a hostile file, and Python's JSON parser would hit its recursion limit.
MAX_DEPTH = 64
MAX_BYTES = 64 * 2**20  # a manifest holds a scenario snapshot: a few hundred kB at most


class Identity(BaseModel):
    model_config = ConfigDict(extra="allow")
    scenario_hash: str
    seed: StrictInt
    replicates: StrictInt | None
    points: list[dict[str, StrictInt | float]]


class Sweep(BaseModel):
    model_config = ConfigDict(extra="allow")
    parameters: list[str]
    points: list[dict[str, StrictInt | float]]


class Manifest(BaseModel):
    """What resuming a batch needs of its manifest: every key ``new_manifest`` writes that
    the identity check and the session record read."""

    model_config = ConfigDict(extra="allow")
    scenario_name: str
    scenario_path: str
    scenario_hash: str
    scenario: dict[str, Any]
    identity: Identity
    seed: StrictInt
    replicates: StrictInt
    runs: StrictInt
    sweep: Sweep | None = None
    status: str
    sessions: list[dict[str, Any]]


class ReadManifest(BaseModel):
    """What reading a batch needs (compare, report, explain, discover): each key typed
    where it is present. Keys may be missing (a batch written by hand, or by an older
    sim, holds fewer), and each command says which one it needs."""

    model_config = ConfigDict(extra="allow")
    scenario_name: str | None = None
    scenario_path: str | None = None
    scenario_hash: str | None = None
    scenario: dict[str, Any] | None = None
    identity: Identity | None = None
    seed: StrictInt | None = None
    replicates: StrictInt | None = None
    runs: StrictInt | None = None
    sweep: Sweep | None = None
    status: str | None = None
    sessions: list[dict[str, Any]] | None = None


def _depth(value: object, limit: int) -> int:
    stack, deepest = [(value, 1)], 0
    while stack:
        item, level = stack.pop()
        deepest = max(deepest, level)
        if deepest > limit:
            return deepest
        if isinstance(item, dict):
            stack.extend((v, level + 1) for v in item.values())
        elif isinstance(item, list):
            stack.extend((v, level + 1) for v in item)
    return deepest


def problem(text: str, strict: bool = True) -> tuple[dict | None, str]:
    """``text`` parsed as a manifest, or None and what is wrong with it (a phrase);
    ``strict`` for resuming (``Manifest``), else for reading (``ReadManifest``)."""
    try:
        data = json.loads(text)
    except RecursionError:
        return None, f"nested more than {MAX_DEPTH} levels"
    except ValueError as exc:
        return None, f"not JSON ({' '.join(str(exc).split())})"
    if not isinstance(data, dict):
        return None, f"a JSON {type(data).__name__ if data is not None else 'null'}, not an object"
    if _depth(data, MAX_DEPTH) > MAX_DEPTH:
        return None, f"nested more than {MAX_DEPTH} levels"
    try:
        (Manifest if strict else ReadManifest).model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        key = ".".join(str(p) for p in first["loc"]) or "(top level)"
        return None, f"key {key!r}: {first['msg'].lower()}"
    return data, ""


def parse_manifest(path: Path, strict: bool = True) -> tuple[dict | None, str]:
    """Read and check ``path``: the manifest, or None and what is wrong (a phrase)."""
    try:
        if path.stat().st_size > MAX_BYTES:
            return None, f"larger than {MAX_BYTES // 2**20} MiB"
        if not path.is_file():
            return None, "not a regular file"
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        return None, "not UTF-8 text"
    except OSError as exc:
        return None, exc.strerror or str(exc)
    return problem(text, strict)
