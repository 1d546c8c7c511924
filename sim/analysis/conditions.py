"""Conditions on a run's row, as analysts write them on the command line.

``max_escalation >= 4``, ``pmf_status == dissolved``, ``not formed``, ``walked_out has
NAME`` (a list column holding a name), joined by ``and`` / ``or``. Parsed against the
run table's columns and categories, so a typo is an error before anything runs
(``sim discover --outcome``).
"""

from __future__ import annotations

import operator
import re
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from sim.batch.outputs import ResultsError
from sim.engine.outcomes import CATEGORIES

_TOKEN = re.compile(r"""\s*(>=|<=|==|!=|>|<|"[^"]*"|'[^']*'|[-+\w.]+)""")
_OPS = dict(
    zip(
        (">=", "<=", "==", "!=", ">", "<"),
        (operator.ge, operator.le, operator.eq, operator.ne, operator.gt, operator.lt),
        strict=True,
    )
)


#: The operator of a list column: ``walked_out has NAME``.
HAS = "has"


@dataclass
class Expression:
    """A condition on a run's row: ``max_escalation >= 4``, ``pmf_status == dissolved``,
    ``not formed``, joined by ``and`` / ``or`` (``and`` binds tighter; no parentheses).

    Parsed against the run table's columns, so a typo is caught before anything runs.
    """

    text: str
    terms: list[list[tuple[bool, str, str | None, Any]]]  # or-list of and-lists

    @property
    def columns(self) -> list[str]:
        return sorted({t[1] for conj in self.terms for t in conj})

    @classmethod
    def parse(
        cls, text: str, kinds: dict[str, str], where: str, key: str | None = None
    ) -> Expression:
        """``where`` and ``key`` say where the text came from, for messages: by default
        the ``--outcome`` of a batch directory; a file's key (``conditions[0]``) else."""

        def fail(message: str) -> ResultsError:
            if key is None:
                return ResultsError(f"{where}: --outcome {text!r}: {message}")
            return ResultsError(f"{where}: {key}: {message} (in {text!r})")

        tokens, pos = [], 0
        while pos < len(text.rstrip()):
            m = _TOKEN.match(text, pos)
            if not m:
                raise fail(f"cannot read {text[pos:].strip()!r}")
            tokens.append(m.group(1))
            pos = m.end()
        terms: list[list] = [[]]
        i = 0
        while i < len(tokens):
            negate = tokens[i] == "not"
            i += negate
            if i >= len(tokens):
                raise fail("expected a column name at the end")
            column = tokens[i]
            if column not in kinds:
                raise fail(f"no column {column!r}; columns: {', '.join(sorted(kinds))}")
            op, value, i = None, None, i + 1
            if kinds[column] == "names":
                if i + 1 >= len(tokens) or tokens[i] != HAS:
                    raise fail(f"{column!r} is a list of names: write '{column} {HAS} NAME'")
                op, value = HAS, tokens[i + 1].strip("\"'")
                i += 2
            elif i < len(tokens) and tokens[i] in _OPS:
                if i + 1 >= len(tokens):
                    raise fail(f"expected a value after {tokens[i]!r}")
                op, value = tokens[i], _value(tokens[i + 1], kinds[column], fail)
                allowed = CATEGORIES.get(column)
                if allowed and kinds[column] == "text" and value not in allowed:
                    raise fail(f"{column} is one of {', '.join(allowed)}, not {value!r}")
                i += 2
            elif kinds[column] != "bool":
                raise fail(f"{column!r} is not true/false: compare it, e.g. '{column} >= 1'")
            terms[-1].append((negate, column, op, value))
            if i < len(tokens):
                if tokens[i] not in ("and", "or"):
                    raise fail(f"expected 'and' or 'or', got {tokens[i]!r}")
                if tokens[i] == "or":
                    terms.append([])
                i += 1
                if i >= len(tokens):
                    raise fail(f"nothing after {tokens[i - 1]!r}")
        if not terms[0]:
            raise fail("empty; e.g. 'max_escalation >= 4'")
        return cls(text.strip(), terms)

    def evaluate(self, frame: pd.DataFrame) -> np.ndarray:
        """True where the row meets the condition (a missing value never does)."""
        result = np.zeros(len(frame), dtype=bool)
        for conj in self.terms:
            part = np.ones(len(frame), dtype=bool)
            for negate, column, op, value in conj:  # value: a number, a bool or a label
                series = frame[column]
                if op == HAS:
                    has = [v is not None and value in list(v) for v in series]
                    part &= ~np.array(has, bool) if negate else np.array(has, bool)
                    continue
                hit = series.astype(bool) if op is None else _OPS[op](series, value)
                hit = np.asarray(hit.fillna(False), dtype=bool) & series.notna().to_numpy()
                part &= ~hit if negate else hit
            result |= part
        return result


def _value(token: str, kind: str, fail) -> object:
    bare = token.strip("\"'")
    if kind == "number":
        try:
            return float(bare)
        except ValueError:
            raise fail(f"expected a number, got {token!r}") from None
    if kind == "bool":
        if bare.lower() not in ("true", "false"):
            raise fail(f"expected true or false, got {token!r}")
        return bare.lower() == "true"
    return bare


def column_kinds(schema: pa.Schema) -> dict[str, str]:
    """Column name -> kind (number, bool, text) of a run table's schema: the columns a
    condition can name; a list of names is "names", tested with ``has``; other list
    columns are left out)."""
    kinds: dict[str, str] = {}
    for f in schema:
        if pa.types.is_boolean(f.type):
            kinds[f.name] = "bool"
        elif pa.types.is_integer(f.type) or pa.types.is_floating(f.type):
            kinds[f.name] = "number"
        elif pa.types.is_string(f.type):
            kinds[f.name] = "text"
        elif pa.types.is_list(f.type) and pa.types.is_string(f.type.value_type):
            kinds[f.name] = "names"
    return kinds
