"""Every shipped scenario's run table is bit-identical to the stored one (see golden_tables)."""

from __future__ import annotations

import json

import pytest

from tests.golden_tables import GOLDEN, SCENARIOS, table_hash


def test_every_shipped_scenario_has_a_stored_table():
    stored = json.loads(GOLDEN.read_text())
    assert sorted(stored) == sorted(p.name for p in SCENARIOS)


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.stem)
def test_the_run_table_is_bit_identical(path):
    stored = json.loads(GOLDEN.read_text())[path.name]
    assert table_hash(path) == stored, (
        f"{path.name}: the run table moved; regenerate tests/golden/run_tables.json only if "
        "the change is meant (python -m tests.golden_tables --update)"
    )
