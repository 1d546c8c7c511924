"""Conditions on a run's state, as scenario events write them (``when = "..."``).

``max_rung >= 4 and not formed``, ``rung.NAME >= 3 or casualties > 200``: comparisons over
the declared ``OBSERVABLES``, joined by ``and`` / ``or`` (``and`` binds tighter), ``not X``
and a bare ``X`` for yes/no. ``parse_condition`` compiles a text to codes once, when the
scenario is compiled; ``triggered`` evaluates them in compiled code each week.
"""

from __future__ import annotations

import re

import numpy as np

from sim.engine.declare import State
from sim.engine.enums import Stage
from sim.engine.jit import jit

#: What a condition may test, with the code compiled code reads. ``.NAME`` follows the
#: per-faction ones.
OBSERVABLES = {
    "week": "weeks since election day",
    "stage": "the constitutional stage (awaiting_session, speaker, president, nomination, "
    "cabinet, formed)",
    "max_rung": "the highest rung any actor is on now (0-5)",
    "formed": "a government has formed",
    "incumbent_alive": "the incumbent is alive",
    "incumbent_attacks": "strikes on the incumbent so far",
    "casualties": "deaths in the run's violence so far",
    "weeks_since_session": "weeks since the last session was held",
    "rung.NAME": "a faction's rung",
    "grievance.NAME": "a faction's grievance",
    "seats.NAME": "the seats a faction holds now",
    "walked_out.NAME": "the faction has walked out",
}
_SCALARS = [k for k in OBSERVABLES if "." not in k]
_PER_FACTION = [k.split(".")[0] for k in OBSERVABLES if "." in k]
_OPS = ("==", "!=", ">=", "<=", ">", "<")
_TOKEN = re.compile(r"\s*(>=|<=|==|!=|>|<|\(|\)|[-+\w.]+)")


class ConditionError(ValueError):
    """A condition that cannot be read (its message says what is allowed)."""


def parse_condition(text: str, factions: list[str]) -> list[list[tuple[int, int, int, float]]]:
    """``text`` as an or-list of and-lists of (observable, faction, operator, value) codes;
    ``not X`` is ``X == 0``, a bare ``X`` is ``X != 0``; ``and`` binds tighter than ``or``."""
    tokens = _TOKEN.findall(text)
    if "".join(tokens).replace(" ", "") != text.replace(" ", ""):
        raise ConditionError(f"cannot read {text!r}")
    if "(" in tokens or ")" in tokens:
        raise ConditionError("no parentheses: write an 'or' of 'and's")
    groups: list[list[tuple[int, int, int, float]]] = [[]]
    i = 0
    while i < len(tokens):
        negate = tokens[i] == "not"
        i += negate
        if i >= len(tokens):
            raise ConditionError(f"{text!r} ends early")
        name = tokens[i]
        observable, faction = _observable(name, factions)
        i += 1
        if i < len(tokens) and tokens[i] in _OPS:
            if negate:
                raise ConditionError(f"'not' goes before a bare observable ({name})")
            if i + 1 >= len(tokens):
                raise ConditionError(f"{text!r}: {tokens[i]} needs a value")
            op, value = _OPS.index(tokens[i]), _value(name, tokens[i + 1])
            i += 2
        else:
            op, value = (_OPS.index("==") if negate else _OPS.index("!=")), 0.0
        groups[-1].append((observable, faction, op, value))
        if i < len(tokens):
            if tokens[i] == "or":
                groups.append([])
            elif tokens[i] != "and":
                raise ConditionError(f"expected 'and' or 'or' after {name}, got {tokens[i]!r}")
            i += 1
            if i >= len(tokens):
                raise ConditionError(f"{text!r} ends early")
    return groups


def _observable(name: str, factions: list[str]) -> tuple[int, int]:
    head, _, rest = name.partition(".")
    if not rest and head in _SCALARS:
        return _SCALARS.index(head), -1
    if rest and head in _PER_FACTION:
        if rest not in factions:
            raise ConditionError(f"{name}: no faction named {rest!r}")
        return len(_SCALARS) + _PER_FACTION.index(head), factions.index(rest)
    raise ConditionError(f"{name!r} names nothing; allowed: {', '.join(OBSERVABLES)}")


def _value(name: str, token: str) -> float:
    if name == "stage":
        try:
            return float(Stage[token.upper()])
        except KeyError:
            allowed = ", ".join(s.name.lower() for s in Stage)
            raise ConditionError(f"stage {token!r}: allowed {allowed}") from None
    if token in ("true", "false"):
        return float(token == "true")
    try:
        return float(token)
    except ValueError:
        raise ConditionError(f"{name}: {token!r} is not a number") from None


@jit
def observe(state: State, observable: int, faction: int) -> float:
    """The value of an observable now (``OBSERVABLES``, in order)."""
    run = state.run[0]
    if observable == 0:
        return float(run.week)
    if observable == 1:
        return float(run.stage)
    if observable == 2:
        return float(state.levels.max())
    if observable == 3:
        return 1.0 if run.formed_week >= 0 else 0.0
    if observable == 4:
        return 1.0 if run.incumbent_alive else 0.0
    if observable == 5:
        return float(run.incumbent_attacks)
    if observable == 6:
        return float(run.casualties)
    if observable == 7:
        return float(run.week - run.last_session_week)
    if observable == 8:
        return float(state.levels[faction])
    if observable == 9:
        return float(state.grievance[faction])
    if observable == 10:
        return float(state.seats[faction])
    return 1.0 if state.walked_out[faction] else 0.0


@jit
def holds(value: float, op: int, threshold: float) -> bool:
    if op == 0:
        return value == threshold
    if op == 1:
        return value != threshold
    if op == 2:
        return value >= threshold
    if op == 3:
        return value <= threshold
    if op == 4:
        return value > threshold
    return value < threshold


@jit
def triggered(
    state: State, week: int, start: int, stop: int, group: np.ndarray, observable: np.ndarray,
    faction: np.ndarray, op: np.ndarray, value: np.ndarray,
) -> bool:  # fmt: skip
    """Does an event trigger this week: its ``week`` reached (if it has one), or its clauses
    ``start:stop`` hold, an or of ands, in one pass (a group that holds ends the search,
    a clause that fails skips the rest of its group)."""
    if week >= 0:
        return state.run[0].week >= week
    if start == stop:
        return False
    current, every = group[start], True
    for c in range(start, stop):
        if group[c] != current:
            if every:
                return True
            current, every = group[c], True
        if every:
            every = holds(observe(state, observable[c], faction[c]), op[c], value[c])
    return every
