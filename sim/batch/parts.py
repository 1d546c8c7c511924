"""The Parquet parts of a batch directory, and the ways they go wrong.

``DIR/runs/`` should hold only ``part-*.parquet`` files (one finished chunk each) and, while
a batch runs, its hidden temporary files. Three things happen to directories that live
long: a part rots (a truncated copy, a bad disk), a file that is not a part lands there
(notes, a spreadsheet export), and a part is copied (``part-...-copy.parquet``), so that
some runs appear twice. Reading a batch must not turn any of these into a traceback or a
silently wrong count:

- a part that cannot be read is an error when a batch is *read* (naming the part and the
  cure); when a batch is *resumed* it is moved to ``DIR/quarantine/``, named in one
  warning line, and its runs are run again (they are missing, so they are re-done);
- a file that is not a part is ignored, with one warning line;
- a run id found in two parts is an error that names both, for reading and resuming alike.

Parts also carry the identity of the batch that wrote them (``IDENTITY_KEY`` in the Parquet
metadata: the scenario hash, the seed and the sweep), and their names say which runs they
hold. When a batch is resumed, a part from another batch, one written without an identity,
or one whose rows do not match its name (a renamed or copied part) is quarantined like an
unreadable one, and its runs are run again: a part is never trusted, counted or written
over unless this batch wrote it. Reading a batch refuses such a part with one line.
"""

from __future__ import annotations

import hashlib
import json
import re
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from sim.batch.outputs import BatchError, BatchWarning, ResultsError, reason

RUNS_DIR = "runs"
QUARANTINE = "quarantine"
PART_GLOB = "part-*.parquet"
MAX_NAMED = 3  # duplicate pairs named in an error; the rest are counted
#: The Parquet metadata key of a part's batch identity (a JSON object, ``part_identity``).
IDENTITY_KEY = b"sim.batch.identity"
PART_NAME = re.compile(r"part-(\d{9,})-(\d{9,})\.parquet")


def part_name(first: int, last: int) -> str:
    return f"part-{first:09d}-{last:09d}.parquet"


def part_identity(identity: dict) -> dict:
    """What a part records of its batch: the scenario hash, the seed, and a digest of the
    sweep (its points and, for a sweep, the replicates that number its runs). A plain
    batch's replicate count is left out, since a plain batch may grow and its earlier
    parts stay valid."""
    sweep = {"points": identity.get("points")}
    if identity.get("points") != [{}]:
        sweep["replicates"] = identity.get("replicates")
    digest = hashlib.sha256(json.dumps(sweep, sort_keys=True, default=str).encode()).hexdigest()
    return {
        "scenario_hash": identity.get("scenario_hash"),
        "seed": identity.get("seed"),
        "sweep": digest[:32],
    }


def identity_metadata(identity: dict) -> dict[bytes, bytes]:
    return {IDENTITY_KEY: json.dumps(part_identity(identity), sort_keys=True).encode()}


def stored_identity(schema: pa.Schema) -> dict | None:
    """The identity a part's schema carries, or None (no identity, or not readable)."""
    raw = (schema.metadata or {}).get(IDENTITY_KEY)
    if raw is None:
        return None
    try:
        value = json.loads(raw)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def foreign_reason(part: Path, schema: pa.Schema, identity: dict) -> str | None:
    """Why ``part`` is not this batch's (a phrase), or None when it is."""
    theirs = stored_identity(schema)
    if theirs is None:
        return "it carries no batch identity (not written by this version of sim)"
    mine = part_identity(identity)
    if theirs != mine:
        what = [k for k in mine if theirs.get(k) != mine[k]]
        return f"it belongs to another batch (its {', '.join(what) or 'identity'} differs)"
    return None


def id_reason(part: Path, column: pa.ChunkedArray) -> str | None:
    """Why a part's ``run_id`` column cannot be trusted (a phrase), or None: not integers,
    nulls, or ids that do not match the part's name."""
    if not pa.types.is_integer(column.type):
        return f"its run_id column holds {column.type}, not integers"
    if column.null_count:
        return f"its run_id column holds {column.null_count} null(s)"
    match = PART_NAME.fullmatch(part.name)
    if match is None:
        return "its name does not say which runs it holds (part-FIRST-LAST.parquet)"
    if not len(column):
        return "it holds no runs"
    ids = column.to_numpy()
    first, last = int(match.group(1)), int(match.group(2))
    if int(ids.min()) != first or int(ids.max()) != last:
        return (
            f"its name says runs {first}..{last} but it holds runs {int(ids.min())}.."
            f"{int(ids.max())} (renamed or copied)"
        )
    return None


def warn(message: str) -> None:
    warnings.warn(message, BatchWarning, stacklevel=3)


def _one_line(exc: BaseException) -> str:
    return " ".join(f"{type(exc).__name__}: {exc}".split())


def list_parts(out: str | Path, report: Callable[[str], None] = warn) -> list[Path]:
    """The parts, in name order; anything else (not hidden) is reported and ignored."""
    runs = Path(out) / RUNS_DIR
    if not runs.is_dir():
        return []
    parts = []
    for entry in sorted(runs.iterdir()):
        if entry.name.startswith("."):  # temporary files of a running or killed batch
            continue
        if entry.is_file() and entry.match(PART_GLOB):
            parts.append(entry)
        else:
            report(f"{entry} is not a part of the run table (part-*.parquet); ignored")
    return parts


def read_ids(part: Path) -> np.ndarray:
    return pq.read_table(part, columns=["run_id"]).column("run_id").to_numpy()


def unreadable(part: Path, exc: BaseException) -> ResultsError:
    return ResultsError(
        f"{part} cannot be read ({_one_line(exc)}); run the batch's command again: it sets "
        "the part aside and reruns its runs"
    )


READ_ERRORS = (pa.ArrowException, OSError, ValueError)


def check_unique(out: str | Path, parts: list[Path], ids: list[np.ndarray]) -> None:
    """Every run id in one part only; else an error naming the parts that share ids."""
    if not parts:
        return
    lengths = [len(a) for a in ids]
    flat = np.concatenate(ids) if ids else np.empty(0, np.int64)
    owner = np.repeat(np.arange(len(parts)), lengths)
    order = np.argsort(flat, kind="stable")
    flat, owner = flat[order], owner[order]
    dup = np.flatnonzero(flat[1:] == flat[:-1])
    if not len(dup):
        return
    pairs: dict[tuple[int, int], list[int]] = {}
    for i in dup:
        pairs.setdefault((int(owner[i]), int(owner[i + 1])), []).append(int(flat[i]))
    named = []
    for (a, b), shared in list(pairs.items())[:MAX_NAMED]:
        same = "a run id twice" if a == b else f"and {parts[b].name}"
        named.append(f"{parts[a].name} {same} ({len(shared)} shared, e.g. run {shared[0]})")
    more = f"; and {len(pairs) - MAX_NAMED} more pair(s)" if len(pairs) > MAX_NAMED else ""
    raise ResultsError(
        f"{out}: {len(dup)} run id(s) appear more than once in {Path(out) / RUNS_DIR}: "
        f"{'; '.join(named)}{more}. A part was copied or another batch's part was added: "
        "remove the extra part"
    )


def quarantine(out: Path, part: Path, exc: BaseException | str, report=warn) -> Path:
    """Move a part that cannot be read or trusted to ``DIR/quarantine/`` (never
    overwriting anything there), and say so in one line. ``exc`` is the read error, or a
    phrase saying why the part is not trusted."""
    folder = out / QUARANTINE
    if folder.exists() and not folder.is_dir():
        raise BatchError(
            f"{folder} is a file, not a folder: a part must be set aside there; move that "
            "file away and run the command again"
        )
    why = exc if isinstance(exc, str) else f"cannot be read ({_one_line(exc)})"
    try:
        folder.mkdir(exist_ok=True)
        target, k = folder / part.name, 1
        while target.exists():
            target, k = folder / f"{part.name}.{k}", k + 1
        part.replace(target)
    except OSError as exc_:
        raise BatchError(
            f"{part} must be set aside ({why}) but cannot be moved to {folder} ({reason(exc_)})"
        ) from None
    report(
        f"{part} {'is set aside: ' if isinstance(exc, str) else ''}{why}; moved to {target} "
        "and its runs will be run again"
    )
    return target
