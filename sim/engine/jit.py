"""Compiled functions: numba's ``njit``, cached on disk, with a cache that cannot go stale.

The model's processes are compiled once and the machine code is cached beside the source
(``__pycache__``), so a new ``sim`` process starts without compiling. numba decides whether
a cached function is fresh by its *own* file's timestamp only: a change to a function it
calls in another file would go unnoticed, and the old code would run. So this module keys
the whole package's cache to a hash of the source files compiled code comes from
(``compiled_sources``): on import, if the hash differs from the one the cache was built
with, the cached code is removed and compiled afresh (once).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from numba import njit

PACKAGE = Path(__file__).resolve().parent
MARKER = "sim-sources.sha256"


#: Modules compiled code reads without naming numba: their constants (enum values) are
#: frozen into the machine code.
CONSTANTS = ("enums.py",)


def compiled_sources() -> list[Path]:
    """The sources compiled code comes from: every module that uses numba, and those
    whose constants it reads. Editing any other module (the report, the command line)
    keeps the cache."""
    out = []
    for path in sorted(PACKAGE.rglob("*.py")):
        text = path.read_bytes()
        if path.name in CONSTANTS or b"jit" in text or b"numba" in text:
            out.append(path)
    return out


def _source_hash() -> str:
    digest = hashlib.sha256()
    for path in compiled_sources():
        digest.update(str(path.relative_to(PACKAGE)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def _cache_dirs() -> list[Path]:
    """Where numba keeps the package's cached code: ``__pycache__`` beside each source
    folder, or under ``NUMBA_CACHE_DIR`` (mirroring the source path) when that is set."""
    folders = sorted({p.parent for p in PACKAGE.rglob("*.py")})
    root = os.environ.get("NUMBA_CACHE_DIR")
    if root:
        return [Path(root) / str(f).lstrip(os.sep) for f in folders]
    return [f / "__pycache__" for f in folders]


def _refresh_cache() -> None:
    current = _source_hash()
    for folder in _cache_dirs():
        marker = folder / MARKER
        try:
            if marker.is_file() and marker.read_text() == current:
                continue
            for stale in (*folder.glob("*.nbi"), *folder.glob("*.nbc")):
                stale.unlink(missing_ok=True)
            folder.mkdir(parents=True, exist_ok=True)
            marker.write_text(current)
        except OSError:  # a read-only install: numba then caches elsewhere, or not at all
            continue


_refresh_cache()


def jit(function: Callable[..., Any] | None = None, **options: Any) -> Any:
    """``numba.njit(cache=True)``; ``@jit`` or ``@jit``."""
    if function is None:
        return lambda f: njit(cache=True, **options)(f)
    return njit(cache=True, **options)(function)
