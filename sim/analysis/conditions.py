"""Conditions on a run's row, as analysts write them on the command line.

``max_escalation >= 4``, ``pmf_status == dissolved``, ``not formed``, ``'NAME' in
walked_out``, joined by ``and`` / ``or`` and grouped by parentheses. Parsed against the
run table's columns and categories, so a typo is an error before anything runs (``sim
discover --outcome``).
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

_TOKEN = re.compile(r"""\s*(>=|<=|==|!=|>|<|\(|\)|"[^"]*"|'[^']*'|[-+\w.]+)""")
_OPS = dict(
    zip(
        (">=", "<=", "==", "!=", ">", "<"),
        (operator.ge, operator.le, operator.eq, operator.ne, operator.gt, operator.lt),
        strict=True,
    )
)


#: most and-terms a condition may expand to (its disjunctive normal form): a guard on
#: nested parentheses, far above anything written by hand
MAX_TERMS = 256
Term = tuple[bool, str, str | None, Any]  # (negated, column, operator or None, value)


@dataclass
class Expression:
    """A condition on a run's row: ``max_escalation >= 4``, ``pmf_status == dissolved``,
    ``not formed``, ``'NAME' in walked_out`` (a list column holds the name; ``not
    in`` too; a bare list column is true when it holds any), joined by ``and`` / ``or``
    (``and`` binds tighter), grouped by parentheses, negated by ``not``.

    Parsed against the run table's columns, so a typo is caught before anything runs;
    kept as its disjunctive normal form, ``terms`` (an or-list of and-lists).
    """

    text: str
    terms: list[list[Term]]  # or-list of and-lists

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
        if not tokens:
            raise fail("empty; e.g. 'max_escalation >= 4'")
        parser = _Parser(tokens, kinds, fail)
        tree = parser.disjunction()
        if parser.i < len(tokens):
            got = tokens[parser.i]
            raise fail("unmatched ')'" if got == ")" else f"expected 'and' or 'or', got {got!r}")
        terms = _normal_form(tree, False)
        if len(terms) > MAX_TERMS:
            raise fail(f"expands to {len(terms)} and-terms, above {MAX_TERMS}: simplify it")
        return cls(text.strip(), terms)

    def evaluate(self, frame: pd.DataFrame) -> np.ndarray:
        """True where the row meets the condition (a missing value never does)."""
        result = np.zeros(len(frame), dtype=bool)
        for conj in self.terms:
            part = np.ones(len(frame), dtype=bool)
            for negate, column, op, value in conj:  # value: a number, a bool or a label
                series = frame[column]
                if op == "in" or (op is None and _is_list(series)):
                    hit = series.map(lambda v, x=value, o=op: _holds(v, x, o))
                else:
                    hit = series.astype(bool) if op is None else _OPS[op](series, value)
                hit = np.asarray(hit.fillna(False), dtype=bool) & series.notna().to_numpy()
                part &= ~hit if negate else hit
            result |= part
        return result


def _is_list(series: pd.Series) -> bool:
    first = series.dropna()
    return bool(len(first)) and isinstance(first.iloc[0], list | tuple | np.ndarray)


def _holds(values: Any, name: Any, op: str | None) -> bool:
    """A list cell holds the name (``in``), or holds anything (a bare list column)."""
    if values is None or (isinstance(values, float) and np.isnan(values)):
        return False
    items = [str(v) for v in values]
    return bool(items) if op is None else str(name) in items


class _Parser:
    """Recursive descent over the tokens: or of ands of (not) terms or groups."""

    def __init__(self, tokens: list[str], kinds: dict[str, str], fail) -> None:
        self.tokens, self.kinds, self.fail, self.i = tokens, kinds, fail, 0

    def _peek(self, ahead: int = 0) -> str | None:
        j = self.i + ahead
        return self.tokens[j] if j < len(self.tokens) else None

    def _joined(self, word: str, part) -> tuple:
        items = [part()]
        while self._peek() == word:
            self.i += 1
            if self._peek() is None:
                raise self.fail(f"nothing after {word!r}")
            items.append(part())
        return items[0] if len(items) == 1 else (word, items)

    def disjunction(self) -> tuple:
        return self._joined("or", self.conjunction)

    def conjunction(self) -> tuple:
        return self._joined("and", self.unary)

    def unary(self) -> tuple:
        token = self._peek()
        if token == "not" and self._peek(1) is not None and self._peek(2) != "in":
            self.i += 1
            return ("not", self.unary())
        if token == "(":
            self.i += 1
            if self._peek() == ")":
                raise self.fail("empty parentheses")
            inner = self.disjunction()
            if self._peek() != ")":
                raise self.fail("a '(' is not closed")
            self.i += 1
            return inner
        return self.term()

    def term(self) -> tuple:
        kinds, fail = self.kinds, self.fail
        if self._peek() is None or self._peek() == "not":
            raise fail("expected a column name at the end")
        if self._peek(1) == "in" or (self._peek(1) == "not" and self._peek(2) == "in"):
            name = self.tokens[self.i].strip("\"'")
            negate = self._peek(1) == "not"
            self.i += 3 if negate else 2
            column = self._peek()
            if column is None:
                raise fail("expected a list column after 'in'")
            if kinds.get(column) != "list":
                lists = sorted(k for k, v in kinds.items() if v == "list")
                raise fail(f"{column!r} is not a list column; list columns: {', '.join(lists)}")
            self.i += 1
            return ("term", (negate, column, "in", name))
        column = self.tokens[self.i]
        if column not in kinds:
            raise fail(f"no column {column!r}; columns: {', '.join(sorted(kinds))}")
        op, value = None, None
        self.i += 1
        if self._peek() in _OPS:
            if self._peek(1) is None:
                raise fail(f"expected a value after {self._peek()!r}")
            if kinds[column] == "list":
                raise fail(f"{column} is a list: test a name in it, e.g. 'NAME in {column}'")
            op, value = self._peek(), _value(self.tokens[self.i + 1], kinds[column], fail)
            allowed = CATEGORIES.get(column)
            if allowed and kinds[column] == "text" and value not in allowed:
                raise fail(f"{column} is one of {', '.join(allowed)}, not {value!r}")
            self.i += 2
        elif kinds[column] not in ("bool", "list"):
            raise fail(f"{column!r} is not true/false: compare it, e.g. '{column} >= 1'")
        return ("term", (False, column, op, value))


def _normal_form(node: tuple, negated: bool) -> list[list[Term]]:
    """The node as an or-list of and-lists, ``not`` pushed onto the terms (De Morgan)."""
    kind = node[0]
    if kind == "term":
        negate, column, op, value = node[1]
        return [[(negate != negated, column, op, value)]]
    if kind == "not":
        return _normal_form(node[1], not negated)
    parts = [_normal_form(child, negated) for child in node[1]]
    if (kind == "or") != negated:  # an or (or a negated and): the alternatives side by side
        return [conj for part in parts for conj in part]
    out: list[list[Term]] = [[]]
    for part in parts:  # an and (or a negated or): every combination of the parts
        out = [a + b for a in out for b in part]
        if len(out) > MAX_TERMS:
            break
    return out


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
    """Column name -> kind (number, bool, text, list) of a run table's schema: the columns
    a condition can name (a list of names, such as ``walked_out``, is a "list"; lists of
    numbers and of pairs are left out)."""
    kinds: dict[str, str] = {}
    for f in schema:
        if pa.types.is_boolean(f.type):
            kinds[f.name] = "bool"
        elif pa.types.is_integer(f.type) or pa.types.is_floating(f.type):
            kinds[f.name] = "number"
        elif pa.types.is_string(f.type):
            kinds[f.name] = "text"
        elif pa.types.is_list(f.type) and pa.types.is_string(f.type.value_type):
            kinds[f.name] = "list"
    return kinds
