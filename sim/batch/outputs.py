"""Where commands write: checked before any work starts, and errors that say what failed.

A command that will write a directory or a file first makes sure it can: no file where a
directory must be, and a folder that accepts a new file (checked by creating and removing
a probe, since permission bits say nothing for root or on a read-only mount). Writes that
fail later anyway (a disk that fills up mid-batch) become an ``OutputError``: one line,
and nothing half-written left behind.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
from pathlib import Path


class ResultsError(Exception):
    """A batch directory that cannot be read as asked."""


class BatchError(Exception):
    """A batch that must not start: bad options, or a directory it must not write."""


class OutputError(Exception):
    """Writing failed after the work began (e.g. the disk is full); what is done is kept."""


class BatchWarning(UserWarning):
    """Something in a batch directory was set aside or ignored (shown as one line).

    Defined here, with the errors, so that the command line can show these warnings without
    importing NumPy or pyarrow (``sim.parts`` raises them and re-exports the name)."""


def reason(exc: OSError) -> str:
    """An OSError as a short phrase ("No space left on device")."""
    return exc.strerror or errno.errorcode.get(exc.errno or 0, "") or str(exc)


def _existing_ancestor(path: Path) -> Path:
    for candidate in (path, *path.parents):
        if candidate.exists():
            return candidate
    return Path.cwd()  # pragma: no cover - the root always exists


def _probe(folder: Path) -> OSError | None:
    """Create and remove a file in ``folder``: the one test of "can we write here"."""
    probe = folder / f".sim-probe-{os.getpid()}"
    try:
        fd = os.open(probe, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    except FileExistsError:
        return None
    except OSError as exc:
        return exc
    os.close(fd)
    with contextlib.suppress(OSError):
        os.unlink(probe)
    return None


def check_directory_writable(path: str | Path, what: str, error: type = BatchError) -> None:
    """``path`` is, or can become, a directory we can write in; else ``error`` (one line)."""
    path = Path(path)
    if str(path) == "":
        raise error(f"{what}: an empty path; give a directory")
    if path.exists() and not path.is_dir():
        raise error(f"{what} {path}: exists and is not a directory")
    base = _existing_ancestor(path)
    if not base.is_dir():
        raise error(f"{what} {path}: {base} is a file, not a directory")
    failure = _probe(base)
    if failure is not None:
        raise error(f"{what} {path}: cannot write in {base} ({reason(failure)})")


def check_file_writable(
    path: str | Path, what: str, error: type = BatchError, make_parents: bool = False
) -> None:
    """``path`` can be written as a file: its folder exists (or, with ``make_parents``, can
    be made) and takes files. An existing file there is replaced by a rename, so its own
    permission bits do not matter."""
    path = Path(path)
    if str(path) == "" or path.name in ("", ".", ".."):
        raise error(f"{what} {str(path)!r}: not a file name")
    if path.is_dir():
        raise error(f"{what} {path}: is a directory, not a file")
    parent = _existing_ancestor(path.parent) if make_parents else path.parent
    if not parent.exists():
        raise error(f"{what} {path}: no directory {parent}")
    if not parent.is_dir():
        raise error(f"{what} {path}: {parent} is a file, not a directory")
    failure = _probe(parent)
    if failure is not None:
        raise error(f"{what} {path}: cannot write in {parent} ({reason(failure)})")


def write_atomic(path: str | Path, data: str | bytes, error: type = OutputError) -> Path:
    """Write a file all at once: a temporary file beside it, then a rename, so a crash
    leaves the old file or the new one, whole, and never a temporary one. A failure to
    write (an unwritable place, a directory there, a full disk) is ``error``, one line."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(data, bytes):
            tmp.write_bytes(data)
        else:
            tmp.write_text(data, encoding="utf-8")
        os.replace(tmp, path)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise error(f"{path}: cannot write ({reason(exc)})") from None
        raise
    return path


def write_json(path: str | Path, data: object, error: type = OutputError) -> Path:
    """Replace a JSON file atomically (``write_atomic``); NaN is refused, not written as
    the non-JSON ``NaN``."""
    return write_atomic(path, json.dumps(data, indent=2, default=str, allow_nan=False), error)
