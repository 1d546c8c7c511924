"""A batch directory on disk: its manifest, its Parquet parts, and reading them back.

Layout: ``DIR/manifest.json`` (what the batch is, how it ran) and ``DIR/runs/part-*.parquet``
(the run table, one part per finished chunk). The batch engine writes through the helpers
here so that the rules that make resume safe live in one place: parts appear atomically
(temporary file, fsync, rename), a directory is used by one batch process at a time (an
advisory lock), and a directory holding another batch is refused, never mixed. Parts that
rot, stray files and duplicated runs are handled in ``sim.parts``.
"""

from __future__ import annotations

import contextlib
import os
import platform
import warnings
from collections.abc import Callable, Iterator
from datetime import datetime
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow.dataset as ds

from sim.batch.directory import (
    LOCK,
    MANIFEST,
    check_directory,
    clear_batch,
    clear_stale,
    locked,
)
from sim.batch.manifest import parse_manifest
from sim.batch.outputs import BatchError, OutputError, ResultsError, reason
from sim.batch.parts import (
    READ_ERRORS,
    RUNS_DIR,
    check_unique,
    foreign_reason,
    id_reason,
    identity_metadata,
    list_parts,
    part_name,
    quarantine,
    unreadable,
    warn,
)
from sim.engine.outcomes import arrow_fields

__all__ = [
    "LOCK",
    "MANIFEST",
    "RUNS_DIR",
    "BatchError",
    "OutputError",
    "ResultsError",
    "check_directory",
    "clear_batch",
    "clear_stale",
    "locked",
]


# --------------------------------------------------------------------------- reading
def part_paths(out: str | Path) -> list[Path]:
    """The finished parts, in name order (temporary files start with a dot: never listed;
    other files are ignored with a warning)."""
    return list_parts(out)


def checked_parts(out: str | Path) -> list[Path]:
    """The parts, each readable, each this batch's (its identity matches the manifest's,
    its rows match its name), and no run in two of them; else a ResultsError naming the
    part or parts."""
    parts = list_parts(out)
    if not parts:
        raise ResultsError(f"{out}: no runs found (expected Parquet parts in {out}/{RUNS_DIR})")
    manifest = Path(out) / MANIFEST
    # a batch sim wrote has an identity, and so has each of its parts; one written by hand
    # (or by an older sim) has neither, and its parts are read as they are
    identity = load_manifest(out).get("identity") if manifest.exists() else None
    ids, problems = [], []
    for part in parts:
        try:
            schema = pq.read_schema(part)
            column = pq.read_table(part, columns=["run_id"]).column("run_id")
        except READ_ERRORS as exc:
            raise unreadable(part, exc) from None
        why = id_reason(part, column)
        if why is None and identity is not None:
            why = foreign_reason(part, schema, identity)
        if why is not None:
            problems.append(
                f"{part} is not a part of this batch: {why}; run the batch's command again: "
                "it sets the part aside and reruns its runs"
            )
        integers = pa.types.is_integer(column.type) and not column.null_count
        ids.append(column.to_numpy() if integers else np.empty(0, np.int64))
    check_unique(out, parts, ids)  # first: a copied part names both copies
    if problems:
        raise ResultsError(problems[0])
    check_unique(out, parts, ids)
    return parts


def dataset(out: str | Path) -> ds.Dataset:
    import pyarrow.dataset as ds  # (with pandas) only when a batch is read back

    return ds.dataset([str(p) for p in checked_parts(out)], format="parquet")


def column_names(out: str | Path) -> list[str]:
    """The run table's columns (from the first part's schema; every part has the same)."""
    parts = checked_parts(out)
    try:
        return list(pq.read_schema(parts[0]).names)
    except READ_ERRORS as exc:
        raise unreadable(parts[0], exc) from None


def load_results(out: str | Path, columns: list[str] | None = None) -> pd.DataFrame:
    """The run table of a batch directory, one row a run, sorted by ``run_id``.

    An interrupted batch loads too (its finished runs), with a warning that says how
    many runs are missing and how to finish them. An unreadable part, or a run found in
    two parts, is an error naming the parts.
    """
    if columns is not None:
        columns = _checked_columns(out, columns)
    table = dataset(out).to_table(columns=columns)
    frame = table.to_pandas()
    if "run_id" in frame.columns:
        frame = frame.sort_values("run_id", kind="stable").reset_index(drop=True)
    manifest = Path(out) / MANIFEST
    if manifest.exists():
        expected = load_manifest(out).get("runs")
        if isinstance(expected, int) and len(frame) < expected:
            warnings.warn(
                f"{out}: {len(frame)} of {expected} runs present; the batch is incomplete "
                "(run the same command again to finish it)",
                stacklevel=2,
            )
    return frame


def _checked_columns(out: str | Path, columns: object) -> list[str]:
    """``columns`` as the API promises: a list of the table's column names (else one
    ResultsError naming the unknown ones and the allowed ones)."""
    if isinstance(columns, str) or not isinstance(columns, list | tuple):
        raise ResultsError(f"columns must be a list of column names (got {columns!r})")
    if not all(isinstance(c, str) for c in columns):
        raise ResultsError(f"columns must be a list of column names (got {columns!r})")
    names = column_names(out)
    unknown = [c for c in columns if c not in names]
    if unknown:
        raise ResultsError(
            f"{out}: no column(s) {', '.join(map(repr, unknown))} in the run table; "
            f"allowed: {', '.join(names)}"
        )
    return list(columns)


def load_manifest(out: str | Path) -> dict:
    """The batch's manifest, checked against its schema (``sim.batch.manifest``): a
    missing or damaged one is a ResultsError (one line naming the file and the key)."""
    path = Path(out) / MANIFEST
    if not path.exists():
        raise ResultsError(f"{out}: no {MANIFEST} (is this a batch directory?)")
    manifest, problem = parse_manifest(path, strict=False)
    if manifest is None:
        raise ResultsError(
            f"{path}: not a sim manifest ({problem}); run the batch's command again with "
            "--overwrite to rebuild the batch"
        )
    return manifest


def iter_rows(
    out: str | Path, columns: list[str] | None = None, batch_size: int = 4096
) -> Iterator[dict]:
    """Rows of a batch, a record batch at a time (constant memory)."""
    for batch in dataset(out).to_batches(columns=columns, batch_size=batch_size):
        yield from batch.to_pylist()


def done_run_ids(out: str | Path) -> set[int]:
    """The run ids already on disk (checked: readable parts, no run twice)."""
    return {
        int(i)
        for part in checked_parts(out)
        for i in pq.read_table(part, columns=["run_id"]).column("run_id").to_numpy()
    }


def resume_parts(
    out: Path,
    total: int,
    columns: list[str],
    add: Callable[[dict], None],
    report=warn,
    identity: dict | None = None,
) -> np.ndarray:
    """Read a batch's parts to resume it: which of ``total`` runs are done (a mask).

    Each part's ``columns`` go to ``add`` row by row (the resumed batch's tally), one part
    in memory at a time. A part that cannot be read, or cannot be trusted (another batch's
    identity, or none, with ``identity`` given; a run_id column that is not integers, or
    rows that do not match the part's name), is quarantined (``sim.batch.parts``) and its
    runs counted as missing; a run in two parts, or a part holding runs this batch does
    not have, stops the batch with an error naming the parts.
    """
    done = np.zeros(total, dtype=bool)
    parts, ids = [], []
    for part in list_parts(out, report):
        try:
            schema = pq.read_schema(part)
            names = schema.names
            table = pq.read_table(part, columns=["run_id", *[c for c in columns if c in names]])
            column = table.column("run_id")
        except READ_ERRORS as exc:
            quarantine(out, part, exc, report)
            continue
        why = id_reason(part, column)
        if why is None and identity is not None:
            why = foreign_reason(part, schema, identity)
        if why is not None:
            quarantine(out, part, why, report)
            continue
        part_ids = column.to_numpy()
        missing = [c for c in columns if c not in names]
        if missing:
            raise BatchError(
                f"{part} lacks column(s) {', '.join(missing)}: it was written by another "
                "version of sim; use another --out, or --overwrite to rerun the batch"
            )
        if len(part_ids) and (part_ids.min() < 0 or part_ids.max() >= total):
            raise BatchError(
                f"{part} holds runs {part_ids.min()}..{part_ids.max()}, outside this batch's "
                f"0..{total - 1}; remove it, or use --overwrite"
            )
        parts.append(part)
        ids.append(part_ids)
        for row in table.to_pylist():
            add(row)
    try:
        check_unique(out, parts, ids)
    except ResultsError as exc:
        raise BatchError(str(exc)) from None
    for part_ids in ids:
        done[part_ids] = True
    return done


# --------------------------------------------------------------------------- writing
def versions(backend: str = "local") -> dict[str, str]:
    """Versions that can change a run's numbers (and the runner's), for the manifest."""
    out = {"python": platform.python_version()}
    packages = ["sim", "mesa", "numpy", "pandas", "pyarrow", "pydantic", "scipy"]
    if backend == "dask":
        packages += ["dask", "distributed"]
    for pkg in packages:
        try:
            out[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            out[pkg] = "not installed"
    return out


def new_manifest(exp, previous: dict | None, started: datetime, backend: str) -> dict:
    """The manifest of a batch session (``exp``, an ``Experiment``): what the batch
    is (scenario snapshot and hash, seeds, sweep), what ran it (versions, host), and the
    sessions so far, which a resumed batch extends."""
    return {
        "scenario_name": exp.points[0].scenario.name,
        "scenario_path": str(exp.path),
        "scenario_hash": exp.scenario_hash,
        "scenario": exp.raw,
        "identity": exp.identity(),
        "seed": exp.seed,
        "replicates": exp.replicates,
        "runs": exp.total_runs,
        "sweep": {"parameters": exp.sweep_keys, "points": [p.values for p in exp.points]}
        if exp.sweep_keys
        else None,
        "parameter_draws": None
        if exp.draws is None
        else {
            "source": exp.draws.source,
            "file": exp.draws.file or None,
            "runs_per_draw": exp.draws.runs_per_draw,
            "draws": len(exp.points),
            "parameters": list(exp.draws.keys),
        },
        "seeding": "run i uses SeedSequence(seed, spawn_key=(i,)) and draw i // runs_per_draw"
        if exp.draws is not None
        else "run i uses SeedSequence(seed, spawn_key=(i mod replicates,))",
        "versions": versions(backend),
        "host": {"platform": platform.platform(), "cpus": os.cpu_count()},
        "status": "running",
        "created": (previous or {}).get("created", started.isoformat()),
        "sessions": [*(previous or {}).get("sessions", [])],
    }


def table_schema(patrons: tuple[str, ...], sweep_keys: list[str]) -> pa.Schema:
    """The run table's columns: ids, sweep values, outcomes (``sim.engine.outcomes.OUTCOMES``),
    error.

    Fixed rather than inferred, so every part of a batch has the same schema even when a
    part holds only failed runs (whose outcome columns are null).
    """
    fields = [
        ("run_id", pa.int64()),
        ("seed", pa.int64()),
    ]
    if sweep_keys:
        fields.append(("point", pa.int64()))
        fields += [(k, pa.float64()) for k in sweep_keys]
    return pa.schema(
        [pa.field(name, kind) for name, kind in fields]
        + arrow_fields(patrons)
        + [pa.field("error", pa.string())]
    )


def _fsync_dir(path: Path) -> None:
    """Make a rename durable (POSIX; a no-op where directories cannot be opened)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def write_part(
    rows: pa.Table, schema: pa.Schema, runs_dir: Path, identity: dict | None = None, report=warn
) -> Path:
    """Write one part atomically: a temporary file, fsynced, renamed into place.

    A reader (or a resumed batch) sees either the whole part or none of it, even after
    kill -9. Columns outside the schema are an error rather than a silent drop, so a new
    outcome added to the model cannot vanish from the table unnoticed. ``identity`` (the
    batch's) goes into the part's metadata. A file already under the part's name is never
    written over: it is moved to the quarantine first (it was not trusted at resume, or
    it appeared since).
    """
    extra = set(rows.column_names) - set(schema.names)
    if extra:
        raise ValueError(
            f"run rows carry columns the table schema lacks: {sorted(extra)} "
            "(declare them in sim.engine.outcomes.OUTCOMES)"
        )
    if identity is not None:
        schema = schema.with_metadata({**(schema.metadata or {}), **identity_metadata(identity)})
    table = rows.sort_by("run_id").select(schema.names).cast(schema)
    first, last = table["run_id"][0].as_py(), table["run_id"][-1].as_py()
    final = runs_dir / part_name(first, last)
    tmp = runs_dir / f".{final.name}.{os.getpid()}.tmp"
    if final.exists() or final.is_symlink():
        quarantine(runs_dir.parent, final, "a file already has this part's name", report)
    with _no_leftover(tmp, final):
        pq.write_table(table, tmp, compression="zstd")
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, final)
    _fsync_dir(runs_dir)
    return final


@contextlib.contextmanager
def _no_leftover(tmp: Path, final: Path) -> Iterator[None]:
    """Remove ``tmp`` if writing fails or is interrupted; a failed write (disk full, a
    read-only disk) becomes one ``OutputError`` line instead of a traceback."""
    try:
        yield
    except BaseException as exc:
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise OutputError(
                f"cannot write {final} ({reason(exc)}); the finished parts are kept: fix "
                "this and run the same command again to resume"
            ) from None
        raise
