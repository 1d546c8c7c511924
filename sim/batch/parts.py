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
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from sim.batch.outputs import BatchWarning, ResultsError

RUNS_DIR = "runs"
QUARANTINE = "quarantine"
PART_GLOB = "part-*.parquet"
MAX_NAMED = 3  # duplicate pairs named in an error; the rest are counted


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


def quarantine(out: Path, part: Path, exc: BaseException, report=warn) -> Path:
    """Move an unreadable part to ``DIR/quarantine/`` (never overwriting), say so once."""
    folder = out / QUARANTINE
    folder.mkdir(exist_ok=True)
    target, k = folder / part.name, 1
    while target.exists():
        target, k = folder / f"{part.name}.{k}", k + 1
    part.replace(target)
    report(
        f"{part} cannot be read ({_one_line(exc)}); moved to {target} and its runs will be "
        "run again"
    )
    return target
