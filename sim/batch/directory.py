"""Whose batch a directory holds, and who may write it.

A directory holding another batch is refused, never mixed (the checks only read, so a
refused directory is left exactly as it was); one process at a time writes a directory
(an advisory lock the kernel drops even on kill -9); ``--overwrite`` clears the batch there.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sim.batch.outputs import BatchError
from sim.batch.parts import RUNS_DIR, list_parts

MANIFEST = "manifest.json"
LOCK = ".sim-batch.lock"


@contextmanager
def locked(out: Path) -> Iterator[None]:
    """Hold ``out``'s advisory lock: two batch processes never write one directory.

    The kernel drops the lock when its holder dies (even by kill -9), so a crash never
    leaves a directory locked. Where ``fcntl`` does not exist (Windows), no lock is taken.
    """
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX
        yield
        return
    with open(out / LOCK, "a+") as fh:
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise BatchError(
                f"{out} is being written by another sim process; wait for it to finish "
                "(or stop it) and run the command again to resume"
            ) from None
        try:
            yield
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


def _describe(key: str, theirs: object, mine: object, same_file: bool) -> str:
    if key == "scenario_hash":
        why = "the file, or a file it extends, has changed since" if same_file else "another file"
        return f"the scenario (hash {str(theirs)[:12]} there, {str(mine)[:12]} here: {why})"
    if key == "points":
        return "the sweep points"
    return f"{key} ({theirs} there, {mine} here)"


def check_directory(
    out: Path, identity: dict, overwrite: bool, scenario_path: str = ""
) -> dict | None:
    """Refuse a directory holding another batch; return its manifest when resuming.

    Reads only: nothing is written, so a refused directory is left as it was
    (``clear_batch`` does the ``--overwrite``). ``identity`` is what must match for a
    resume (scenario hash, seed, sweep points, replicates); how the batch runs (workers,
    backend, chunk size) may change between sessions because it cannot change a single
    row. A plain batch (no sweep) may grow: more replicates extend it, since replicate
    *i*'s seed does not depend on how many there are. Fewer are refused (the runs there
    would be left out of the summary yet stay in the table), and so is any change to a
    sweep's replicates, which renumbers its runs (run id = point x R + replicate).
    """
    manifest_path = out / MANIFEST
    if out.exists() and not out.is_dir():
        raise BatchError(f"{out} exists and is not a directory")
    if overwrite or not out.is_dir():
        return None
    if manifest_path.exists():
        try:
            old = json.loads(manifest_path.read_text())
        except (OSError, ValueError) as exc:
            raise BatchError(
                f"{manifest_path} cannot be read ({exc}); use another --out, or --overwrite "
                "to replace the batch there"
            ) from None
        theirs = old.get("identity") or {}
        same_file = old.get("scenario_path") == scenario_path
        diffs = [
            _describe(k, theirs.get(k), v, same_file)
            for k, v in identity.items()
            if k != "replicates" and theirs.get(k) != v
        ]
        if diffs:
            raise BatchError(
                f"{out} holds a different batch (scenario {old.get('scenario_path')!r}); it "
                f"differs in {'; '.join(diffs)}. Refusing to mix batches: use another --out, "
                "or --overwrite to replace it."
            )
        _check_replicates(out, theirs.get("replicates"), identity)
        return old
    if list_parts(out, report=lambda _: None):
        raise BatchError(
            f"{out}/{RUNS_DIR} holds runs but no {MANIFEST}; refusing to mix batches. "
            "Use another --out, or --overwrite to replace it."
        )
    return None


def _check_replicates(out: Path, theirs: object, identity: dict) -> None:
    mine = identity.get("replicates")
    if theirs == mine:
        return
    if identity.get("points") != [{}]:
        raise BatchError(
            f"{out} holds this sweep with {theirs} replicates per point, not {mine}: a sweep "
            "cannot grow (its run ids are point x replicates + replicate). Use "
            f"--replicates {theirs} to resume it, another --out, or --overwrite."
        )
    if isinstance(theirs, int) and isinstance(mine, int) and mine < theirs:
        raise BatchError(
            f"{out} holds {theirs} runs of this batch; --runs {mine} asks for fewer. Use "
            f"--runs {theirs} (or more, to extend it), or another --out; to analyse fewer, "
            f"load the table and keep run_id < {mine}."
        )


def clear_batch(out: Path) -> None:
    """``--overwrite``: remove the batch a directory holds (its manifest and runs)."""
    (out / MANIFEST).unlink(missing_ok=True)
    shutil.rmtree(out / RUNS_DIR, ignore_errors=True)


def clear_stale(runs_dir: Path) -> None:
    """Remove temporary files a killed batch left behind (safe: we hold the lock)."""
    for stale in runs_dir.glob(".*.tmp"):
        stale.unlink(missing_ok=True)
