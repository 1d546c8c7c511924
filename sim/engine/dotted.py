"""Dotted keys: one path into a scenario's tables, ``escalation.thresholds[3]``.

A dotted key names a value of a scenario as sweeps, ranges, ``--param`` and events do:
tables by name, joined by dots, and ``name[i]`` for an element of an array.

Each path has one spelling: an index is ASCII digits with no leading zero
(``thresholds[3]``, never ``thresholds[03]`` or ``thresholds[٣]``). Any other spelling names
no key, so it is refused as an unknown key wherever keys are parsed (``--param``, sweeps,
``[ranges]``, events), and two spellings can never set one value under two labels.
"""

from __future__ import annotations

import copy
import re
from typing import Any

_INDEXED = re.compile(r"(\w+)\[(0|[1-9][0-9]*)\]")


def is_canonical(key: str) -> bool:
    """Whether ``key`` is spelled the one allowed way (each step a name, or name[i])."""
    return all(
        _INDEXED.fullmatch(part) or (part and "[" not in part and "]" not in part)
        for part in key.split(".")
    )


def _steps(key: str) -> list[str | int]:
    """``escalation.thresholds[3]`` -> ["escalation", "thresholds", 3]."""
    steps: list[str | int] = []
    for part in key.split("."):
        m = _INDEXED.fullmatch(part)
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
    return copy.deepcopy(with_value(raw, key, value))


def with_value(raw: dict, key: str, value: Any) -> dict:
    """``raw`` with the dotted key set, copying only the tables and arrays on the key's path
    and sharing the rest (so both must be left unchanged): what validating a sweep point or
    a range's end needs, at a small fraction of a deep copy's cost."""
    steps = _steps(key)

    def copy_along(node: Any, depth: int) -> Any:
        if depth == len(steps):
            return value
        out: Any = list(node) if isinstance(node, list) else dict(node)
        out[steps[depth]] = copy_along(node[steps[depth]], depth + 1)
        return out

    return copy_along(raw, 0)
