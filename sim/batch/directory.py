"""Whose batch a directory holds, and who may write it.

A directory holding another batch is refused, never mixed (the checks only read, so a
refused directory is left exactly as it was); one process at a time writes a directory
(an advisory lock the kernel drops even on kill -9); ``--overwrite`` clears the batch there.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sim.batch.manifest import parse_manifest
from sim.batch.outputs import BatchError, reason
from sim.batch.parts import PART_GLOB, QUARANTINE, RUNS_DIR, list_parts

MANIFEST = "manifest.json"
LOCK = ".sim-batch.lock"
#: The analysis folders other commands write into a batch directory (sensitivity,
#: discovery): they describe the batch there, so ``--overwrite`` removes them with it.
ANALYSIS_DIRS = ("sensitivity", "discovery")
#: Everything a sim batch writes at the top of its directory; ``--overwrite`` removes these
#: and refuses a directory holding anything else. Hidden names are the temporary files of
#: an atomic write (``.manifest.json.PID.tmp``, ``.sensitivity.tmp``, ``.sensitivity.old``).
BATCH_ENTRIES = (MANIFEST, LOCK, RUNS_DIR, QUARANTINE, *ANALYSIS_DIRS)


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
    lock = out / LOCK
    if lock.is_symlink() or (lock.exists() and not lock.is_file()):
        raise BatchError(
            f"{lock} is not a regular file (sim keeps its lock there); remove it and run the "
            "command again"
        )
    try:
        fh = open(lock, "a+")  # noqa: SIM115 - closed by the with below
    except OSError as exc:
        raise BatchError(f"{lock}: cannot open the batch lock ({reason(exc)})") from None
    with fh:
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
    for name, kind in ((RUNS_DIR, "folder"), (QUARANTINE, "folder")):
        entry = out / name
        if entry.is_symlink() or (entry.exists() and not entry.is_dir()):
            raise BatchError(
                f"{entry} is not a {kind} (a sim batch keeps its {name} there); use another "
                "--out, or move it away"
            )
    if manifest_path.exists() or manifest_path.is_symlink():
        old, problem = parse_manifest(manifest_path)
        if old is None:
            raise BatchError(
                f"{manifest_path} is not a sim manifest ({problem}); use another --out, or "
                "--overwrite to replace the batch there"
            )
        theirs = old["identity"]
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


def _batch_entry(entry: Path) -> bool:
    name = entry.name
    if name.startswith(".") and name.endswith((".tmp", ".old")):
        return True  # an atomic write's temporary (manifest, analysis folder)
    return name in BATCH_ENTRIES


def _foreign(out: Path) -> list[str]:
    """What in ``out`` a sim batch did not write (names, for the refusal)."""
    found = [e.name for e in sorted(out.iterdir()) if not _batch_entry(e)]
    runs = out / RUNS_DIR
    if runs.is_dir() and not runs.is_symlink():
        for entry in sorted(runs.iterdir()):
            ours = entry.name.startswith(".") and entry.name.endswith(".tmp")
            if not ours and not (entry.is_file() and entry.match(PART_GLOB)):
                found.append(f"{RUNS_DIR}/{entry.name}")
    for name in (RUNS_DIR, QUARANTINE, *ANALYSIS_DIRS, MANIFEST, LOCK):
        entry = out / name
        want_dir = name not in (MANIFEST, LOCK)
        if entry.is_symlink() or (entry.exists() and entry.is_dir() != want_dir):
            found.append(name)
    manifest = out / MANIFEST
    if manifest.is_file() and not manifest.is_symlink() and parse_manifest(manifest)[0] is None:
        has_parts = any((out / RUNS_DIR).glob(PART_GLOB)) if (out / RUNS_DIR).is_dir() else False
        if not has_parts:  # a damaged manifest of a batch that wrote runs is ours to replace
            found.append(f"{MANIFEST} (not a sim manifest)")
    return found


def check_overwrite(out: Path) -> None:
    """Refuse ``--overwrite`` of a directory holding anything a sim batch did not write."""
    if not out.is_dir():
        return
    try:
        foreign = _foreign(out)
    except OSError as exc:
        raise BatchError(f"--overwrite {out}: cannot list it ({reason(exc)})") from None
    if foreign:
        shown = ", ".join(foreign[:5]) + (
            f" and {len(foreign) - 5} more" if len(foreign) > 5 else ""
        )
        raise BatchError(
            f"--overwrite {out}: refusing, it holds what no sim batch wrote ({shown}); "
            "--overwrite removes only a batch (manifest, runs, quarantine, sensitivity, "
            "discovery): use another --out"
        )


def clear_batch(out: Path) -> None:
    """``--overwrite``: remove the batch a directory holds: its manifest, parts, lock's
    neighbours, quarantine and analysis folders (``check_overwrite`` has refused anything
    else). The lock file itself stays: this process holds it."""
    try:
        (out / MANIFEST).unlink(missing_ok=True)
        for name in (RUNS_DIR, QUARANTINE, *ANALYSIS_DIRS):
            if (out / name).is_dir():
                shutil.rmtree(out / name)
        for entry in out.iterdir():
            if entry.name.startswith(".") and entry.name.endswith((".tmp", ".old")):
                if entry.is_dir():
                    shutil.rmtree(entry)
                else:
                    entry.unlink()
    except OSError as exc:
        raise BatchError(
            f"--overwrite {out}: cannot remove the old batch ({reason(exc)})"
        ) from None


def clear_stale(runs_dir: Path) -> None:
    """Remove temporary files a killed batch left behind (safe: we hold the lock)."""
    for stale in runs_dir.glob(".*.tmp"):
        try:
            stale.unlink(missing_ok=True)
        except OSError as exc:
            raise BatchError(
                f"{stale}: cannot remove a killed batch's temporary file ({reason(exc)}); "
                f"make {runs_dir} writable and run the command again"
            ) from None
