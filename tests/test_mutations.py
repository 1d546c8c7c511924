"""Random single mutations of the baseline file, through `sim validate`: every outcome is a
clean acceptance (exit 0) or one error line (exit 2), never a traceback; and a scenario
that validates also runs, without a numeric warning (an overflow, a nan).

A mutation replaces one number of the file with one no run can use (inf, nan, 1e308...), or
replaces one value (a leaf, or a whole table) with something a careless or hostile edit
could leave there (inf, nan, -1, 1e20, "", a string, a list, a huge
integer, a bool, a date, random text or numbers), deletes a key, adds an unknown key, or
renames a table's key (a faction's name, a range's dotted key). Derandomized, so every run
tries the same examples; ``SIM_MUTATIONS=3000 pytest tests/test_mutations.py`` tries more.
"""

from __future__ import annotations

import contextlib
import datetime
import io
import json
import math
import os
import tempfile
import tomllib
import warnings
from pathlib import Path
from typing import Any

import pytest
from conftest import BASELINE
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from sim.cli.main import main
from sim.mesa.model import FormationModel
from sim.scenario.loading import load_scenario

EXAMPLES = int(os.environ.get("SIM_MUTATIONS", "200"))
RAW = tomllib.loads(BASELINE.read_text())
ODD_TEXT = st.text(st.characters(exclude_categories=("Cs",)), max_size=12)  # no surrogates
#: Numbers no run can use, or that sit on an edge.
ODD_NUMBERS = st.sampled_from(
    [math.inf, -math.inf, math.nan, -1, -1e-9, 1e20, 1e308, -1e308, 5e-324, 2**63, 2**70, 0]
)
ODD_VALUES = st.one_of(
    st.sampled_from(
        [
            math.inf, -math.inf, math.nan, -1, -1.0, 0, 1e20, -1e20, 1e308, 5e-324, 2**63,
            2**70, -(2**70), True, False, "", "x", r"$\nope$", "=cmd()", [], [1, 2], ["kdp"],
            {}, {"a": 1}, datetime.date(2021, 10, 10),
        ]
    ),
    st.integers(),
    st.floats(),
    ODD_TEXT,
)  # fmt: skip


def toml_value(value: Any) -> str:
    """A value as TOML, on one line (inline tables and arrays nest to any depth)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)  # inf, nan, -0.0 and 1e+20 are TOML too
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)  # a TOML basic string
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, list):
        return "[" + ", ".join(map(toml_value, value)) + "]"
    return (
        "{" + ", ".join(f"{toml_value(str(k))} = {toml_value(v)}" for k, v in value.items()) + "}"
    )


def paths(node: Any, path: tuple = ()) -> list[tuple]:
    """Every place in the file: each table's keys and each array's elements, at any depth."""
    found = [path] if path else []
    if isinstance(node, dict):
        for key, value in node.items():
            found += paths(value, (*path, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            found += paths(value, (*path, i))
    return found


def dig(raw: dict, path: tuple) -> Any:
    node = raw
    for step in path:
        node = node[step]
    return node


PLACES = paths(RAW)
TABLES = [(), *(p for p in PLACES if isinstance(dig(RAW, p), dict))]
NUMBERS = [p for p in PLACES if type(dig(RAW, p)) in (int, float)]


@st.composite
def mutants(draw) -> tuple[str, dict]:
    """(what was done, the mutated file's table)."""
    raw = json.loads(json.dumps(RAW, default=str))  # a deep copy (the baseline has no dates)
    kind = draw(st.sampled_from(["number"] * 3 + ["replace"] * 2 + ["delete", "add", "rename"]))
    if kind == "number":
        path = draw(st.sampled_from(NUMBERS))
        dig(raw, path[:-1])[path[-1]] = draw(ODD_NUMBERS)
        return f"number {path}", raw
    if kind in ("replace", "delete"):
        path = draw(st.sampled_from(PLACES))
        parent = dig(raw, path[:-1])
        if kind == "replace":
            parent[path[-1]] = draw(ODD_VALUES)
        elif isinstance(parent, dict):
            del parent[path[-1]]
        else:
            parent.pop(path[-1])
        return f"{kind} {path}", raw
    table = dig(raw, draw(st.sampled_from(TABLES)))
    name = draw(ODD_TEXT)
    if kind == "add":
        table[name] = draw(ODD_VALUES)
        return f"add {name!r}", raw
    if not table or name in table:
        return "nothing", raw
    old = draw(st.sampled_from(sorted(table)))
    table[name] = table.pop(old)
    return f"rename {old!r} to {name!r}", raw


@pytest.mark.slow  # 200 mutated files, each validated and run: about 4 s
@settings(
    max_examples=EXAMPLES,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(mutant=mutants())
def test_a_mutated_baseline_is_accepted_and_runs_or_refused_in_one_line(mutant):
    what, raw = mutant
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "mutant.toml"
        path.write_text("".join(f"{toml_value(k)} = {toml_value(v)}\n" for k, v in raw.items()))
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(["validate", str(path)])
        event(f"exit {code}")
        assert code in (0, 2), what
        if code == 2:
            lines = err.getvalue().splitlines()
            assert len(lines) == 1 and lines[0].startswith(f"error: {path}: "), (what, lines)
            assert out.getvalue() == ""
            return
        assert err.getvalue() == "" and ": ok" in out.getvalue(), what
        with warnings.catch_warnings():  # an overflow or a nan on the way is a failure too
            warnings.simplefilter("error", RuntimeWarning)
            model = FormationModel(load_scenario(path), seed=1, record_series=False)
            outcome = model.run().outcome()
        assert outcome["final_week"] >= 0 and outcome["casualties"] >= 0, what
