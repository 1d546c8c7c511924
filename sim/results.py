"""Reading a batch directory back: the run table and its manifest."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pyarrow.dataset as ds

from sim.batch import MANIFEST, RUNS_DIR


class ResultsError(Exception):
    pass


def _dataset(out: str | Path) -> ds.Dataset:
    runs = Path(out) / RUNS_DIR
    parts = sorted(runs.glob("part-*.parquet"))
    if not parts:
        raise ResultsError(f"{out}: no runs found (expected Parquet parts in {runs})")
    return ds.dataset([str(p) for p in parts], format="parquet")


def load_results(out: str | Path, columns: list[str] | None = None) -> pd.DataFrame:
    """The run table of a batch directory, one row a run, sorted by ``run_id``."""
    table = _dataset(out).to_table(columns=columns)
    frame = table.to_pandas()
    if "run_id" in frame.columns:
        frame = frame.sort_values("run_id", kind="stable").reset_index(drop=True)
    return frame


def load_manifest(out: str | Path) -> dict:
    path = Path(out) / MANIFEST
    if not path.is_file():
        raise ResultsError(f"{out}: no {MANIFEST} (is this a batch directory?)")
    return json.loads(path.read_text())


def iter_rows(
    out: str | Path, columns: list[str] | None = None, batch_size: int = 4096
) -> Iterator[dict]:
    """Rows of a batch, a record batch at a time (constant memory)."""
    for batch in _dataset(out).to_batches(columns=columns, batch_size=batch_size):
        yield from batch.to_pylist()
