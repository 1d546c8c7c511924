"""Outcomes are declared once (issue 9, section 3): the registry ``sim.engine.outcomes.OUTCOMES``
is the run table's Parquet schema, a run's row, and the README's column list, so an outcome
added to the registry cannot be missing from any of them."""

from __future__ import annotations

import re
import subprocess
import sys

import numpy as np
import pyarrow as pa

from sim.batch.experiment import run_seed
from sim.batch.results import table_schema
from sim.engine.outcomes import (
    CATEGORIES,
    COMPARED_CATEGORIES,
    COMPARED_NUMBERS,
    OUTCOMES,
    POINT_STATISTICS,
    Kind,
    arrow_fields,
    columns,
    label,
)
from sim.engine.replicates import run_replicates
from sim.mesa.model import FormationModel
from sim.scenario.loading import load_scenario
from tests.conftest import BASELINE, ROOT

BASE = load_scenario(BASELINE)
PATRONS = tuple(BASE.patrons)
ENGINE = ["run_id", "seed"]
EXPANDED = [c for o in OUTCOMES for c in columns(o, PATRONS)]


def test_the_parquet_schema_is_the_registrys_columns_and_the_engines():
    schema = table_schema(PATRONS, [])
    assert schema.names == [*ENGINE, *EXPANDED, "error"]
    swept = table_schema(PATRONS, ["patrons.iran.mediation", "grievance.decay"])
    assert swept.names == [
        *ENGINE, "point", "patrons.iran.mediation", "grievance.decay", *EXPANDED, "error"
    ]  # fmt: skip
    for o in OUTCOMES:
        for c in columns(o, PATRONS):
            assert schema.field(c).type == o.type, c
    assert arrow_fields(PATRONS) == [schema.field(c) for c in EXPANDED]
    assert len(set(schema.names)) == len(schema.names)


def test_a_runs_row_has_the_registrys_columns_with_their_types():
    row = FormationModel(BASE, seed=1, record_series=False).run().outcome()
    assert list(row) == EXPANDED
    seeds = np.array([run_seed(BASE.seed, i) for i in range(20)], dtype=np.int64)
    outcomes, _ = run_replicates(BASE, seeds)
    assert list(outcomes) == EXPANDED
    table = pa.table(outcomes)
    assert table.schema == pa.schema(arrow_fields(PATRONS))
    for o in OUTCOMES:
        if o.kind is Kind.CATEGORY:
            assert set(table[o.name].to_pylist()) <= set(o.categories), o.name
        if o.kind is Kind.YES_NO:
            assert set(table[o.name].to_pylist()) <= {True, False}, o.name


def test_every_list_of_outcomes_derives_from_the_registry():
    names = {o.name for o in OUTCOMES}
    assert set(CATEGORIES) == {o.name for o in OUTCOMES if o.kind is Kind.CATEGORY}
    assert set(COMPARED_CATEGORIES) <= names
    assert {o.name for o in COMPARED_NUMBERS} <= names
    assert {s.outcome for s in POINT_STATISTICS} <= names
    for o in OUTCOMES:
        for c in columns(o, PATRONS):
            assert label(c) != c, f"{c} has a human label"


def readme_section() -> str:
    text = (ROOT / "README.md").read_text()
    match = re.search(r"^## What a run reports\n(.*?)(?=^## )", text, re.S | re.M)
    assert match, "the README has a section 'What a run reports'"
    return match.group(1)


def template(o) -> str:
    """How the README names an outcome: ``weeks_at_level_<level>`` for one column each."""
    return o.name.replace("{}", f"<{o.each}>") if o.each else o.name


def test_the_readme_names_every_column_of_the_run_table():
    section = readme_section()
    named = set(re.findall(r"`([^`]+)`", section))
    missing = [template(o) for o in OUTCOMES if template(o) not in named]
    assert not missing, f"columns missing from the README's 'What a run reports': {missing}"
    assert {"run_id", "seed", "point", "error"} <= named
    # and its table names no column the registry does not have
    rows = re.findall(r"^\| `([^`]+)` \|", section, re.M)
    assert rows == [template(o) for o in OUTCOMES]


def test_the_readmes_table_is_the_scripts_output():
    """The README says its table is ``scripts/outcome_table.py``'s output: meanings and
    categories too, not only the names."""
    out = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "outcome_table.py")],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert out.strip() in readme_section()
