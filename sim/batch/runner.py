"""Running a batch: the session that resumes, extends or adaptively grows a batch
directory, feeding chunks of runs to local workers (``sim.pool``) or Dask
(``sim.distributed``) and writing each finished chunk as a part (``sim.results``).

Everything that can refuse a batch is checked before anything is written: the options,
the output place (``sim.outputs``), the batch already there, the Dask scheduler. Then the
directory is locked, its parts read back (``sim.parts``: rotten parts are quarantined), and
the missing runs run. An interruption (Ctrl-C, SIGTERM, a dead worker that cannot be
replaced, a full disk) leaves every finished part in place; the same command resumes.
"""

from __future__ import annotations

import os
import sys
import time
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import islice
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from sim.batch.adaptive import Look, Precision
from sim.batch.directory import (
    MANIFEST,
    check_directory,
    check_overwrite,
    clear_batch,
    clear_stale,
    locked,
)
from sim.batch.experiment import Experiment, install_points, run_chunk
from sim.batch.outputs import BatchError, BatchWarning, check_directory_writable, reason, write_json
from sim.batch.parts import RUNS_DIR
from sim.batch.pool import raise_pending_stop, run_pool
from sim.batch.progress import Progress
from sim.batch.results import new_manifest, resume_parts, table_schema, write_part
from sim.batch.settings import (
    BACKENDS,
    CHUNKS_PER_WORKER,
    DEFAULT_MAX_RUNS,
    MAX_CHUNK,
    MAX_WORKERS_PER_CORE,
)
from sim.engine.outcomes import OutcomeTally
from sim.engine.replicates import warm_up


@dataclass
class BatchResult:
    out: Path
    total: int
    completed_now: int
    resumed: int
    failed: int
    seconds: float
    tally: OutcomeTally
    manifest: dict
    looks: list[Look] = field(default_factory=list)  # adaptive replication's looks


def default_workers() -> int:
    """All cores this process may use (the affinity mask, where the OS has one)."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return os.cpu_count() or 1


def default_chunk_size(todo: int, workers: int) -> int:
    """About eight chunks per worker (load balance, and little lost to a kill), capped."""
    return max(1, min(MAX_CHUNK, -(-todo // (workers * CHUNKS_PER_WORKER))))


def _check_options(
    workers: int, backend: str, scheduler: str | None, chunk_size: int | None
) -> None:
    if backend not in BACKENDS:
        raise BatchError(f"unknown backend {backend!r}; allowed: {', '.join(BACKENDS)}")
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise BatchError(f"--workers must be a positive integer (got {workers!r})")
    cap = MAX_WORKERS_PER_CORE * default_workers()
    if backend == "local" and workers > cap:
        raise BatchError(
            f"--workers {workers} on {default_workers()} core(s): at most {cap} "
            f"({MAX_WORKERS_PER_CORE} a core); more processes only wait for the cores"
        )
    if chunk_size is not None and (
        isinstance(chunk_size, bool) or not isinstance(chunk_size, int) or chunk_size < 1
    ):
        raise BatchError(f"--chunk-size must be a positive integer (got {chunk_size!r})")
    if scheduler is not None and backend != "dask":
        raise BatchError("--scheduler needs --backend dask")
    if backend == "dask":  # before anything is written, not once the batch has begun
        try:
            import dask.distributed  # noqa: F401
        except ImportError:
            raise BatchError(
                "the dask backend needs the optional extra: pip install '.[dask]'"
            ) from None
        if scheduler is not None:
            from sim.batch.distributed import parse_scheduler

            parse_scheduler(scheduler)


def _task_chunks(
    exp: Experiment, done: np.ndarray, size: int, taper: int = 0
) -> Iterator[list[tuple]]:
    """The missing runs' tasks, a chunk at a time, generated lazily (flat memory).

    With ``taper`` (the number of workers; default chunking only), chunks shrink as the
    batch nears its end, down to an eighth of ``size``, so that no worker sits idle while
    another finishes one last big chunk: that tail cost ~5% at two workers.
    """
    remaining = exp.total_runs - int(done[: exp.total_runs].sum())
    floor = max(1, size // 8)
    todo = (i for i in range(exp.total_runs) if not done[i])
    while True:
        n = min(size, max(floor, -(-remaining // (4 * taper)))) if taper else size
        chunk = list(islice(todo, n))
        if not chunk:
            return
        remaining -= len(chunk)
        yield [exp.task(i) for i in chunk]


def _warn(message: str) -> None:
    warnings.warn(message, BatchWarning, stacklevel=2)


def _run_local(
    chunks: Iterator[list[tuple]],
    exp: Experiment,
    workers: int,
    consume: Callable[[pa.Table], None],
    progress: Progress,
) -> None:
    """In-process for one worker; otherwise a fork pool that survives dead workers
    (``sim.pool``), fed lazily, results in completion order."""
    if workers == 1:
        install_points(exp.points)
        with progress:
            for chunk in chunks:
                consume(run_chunk(chunk))
        return
    # Load the compiled model once here, so that the forked workers inherit it instead of
    # each loading it from the on-disk cache again (about half a second a worker).
    warm_up(exp.points[0].scenario)
    with progress:
        run_pool(
            chunks,
            run_chunk,
            consume,
            workers,
            initializer=install_points,
            initargs=(exp.points,),
            warn=_warn,
        )


@dataclass
class _Session:
    """One ``run_batch`` call: what it has, what it runs on, what it has done."""

    exp: Experiment
    out: Path
    workers: int
    backend: str
    chunk_size: int | None
    quiet: bool
    dask: Any
    tally: OutcomeTally
    done: np.ndarray
    resumed: int
    ran: int = 0
    sizes: list = field(default_factory=list)
    used: int = 0  # the most workers a round ran on (1 when a round was too small to share)

    def run_missing(self, schema: pa.Schema) -> None:
        """Run every run of ``exp`` not yet done (all of them below ``exp.total_runs``)."""
        exp, total = self.exp, self.exp.total_runs
        if len(self.done) < total:
            self.done = np.concatenate([self.done, np.zeros(total - len(self.done), bool)])
        todo = total - int(self.done[:total].sum())
        if not todo:
            return
        # pyarrow imports pandas lazily, the first time it converts a table in this
        # process, inside a Cython check that drops any exception raised meanwhile: a
        # Ctrl-C landing in that import would be lost and the batch would run on.
        import pandas  # noqa: F401

        runs_dir = self.out / RUNS_DIR
        first_round = not self.sizes
        progress = Progress(
            total=total, already=total - todo, quiet=self.quiet, resuming=first_round
        )

        def consume(rows: pa.Table) -> None:
            raise_pending_stop()  # a stop whose exception a finalizer swallowed
            write_part(rows, schema, runs_dir, exp.identity(), _warn)
            self.tally.add_table(rows)
            self.done[rows["run_id"].to_numpy()] = True
            self.ran += len(rows)
            progress.advance(len(rows))

        if self.dask is not None:
            from sim.batch.distributed import run_on_dask

            self.workers = self.dask.threads()  # a running cluster's size is known only now
            self.used = max(self.used, self.workers)
            size = self.chunk_size or default_chunk_size(todo, self.workers)
            chunks = _task_chunks(exp, self.done, size, 0 if self.chunk_size else self.workers)
            run_on_dask(self.dask, chunks, exp.points, consume, progress)
        else:
            size = self.chunk_size or default_chunk_size(todo, self.workers)
            workers = 1 if todo <= size else self.workers  # a pool would cost more
            self.used = max(self.used, workers)
            taper = 0 if self.chunk_size or workers == 1 else workers
            chunks = _task_chunks(exp, self.done, size, taper)
            _run_local(chunks, exp, workers, consume, progress)
        tapered = not self.chunk_size and self.workers > 1
        self.sizes.append(f"up to {size}, tapering" if tapered else size)


def _prepare_out(out: Path) -> None:
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise BatchError(f"--out {out}: cannot create it ({reason(exc)})") from None


def run_batch(
    exp: Experiment,
    out: str | Path,
    workers: int | None = None,
    backend: str = "local",
    scheduler: str | None = None,
    chunk_size: int | None = None,
    overwrite: bool = False,
    quiet: bool = False,
    precision: float | None = None,
    max_runs: int | None = None,
) -> BatchResult:
    """Run (or finish, or extend) a batch into ``out``; see the module docstring.

    With ``precision``, replicates are added in rounds until every probability of the
    summary is known to that half-width (``sim.adaptive``), up to ``max_runs``.

    Everything that can refuse the batch is checked before anything is written: the
    options, the place (``sim.outputs``), the batch already there, the Dask scheduler.
    """
    out = Path(out)
    workers = default_workers() if workers is None else workers
    _check_options(workers, backend, scheduler, chunk_size)
    rule = None
    if precision is not None or max_runs is not None:
        if precision is None:
            raise BatchError("--max-runs needs --precision")
        if exp.sweep_keys:
            raise BatchError("--precision applies to a plain batch, not a sweep")
        rule = Precision(precision, DEFAULT_MAX_RUNS if max_runs is None else max_runs)
    check_directory_writable(out, "--out")
    if overwrite:
        check_overwrite(out)
    if rule is None:
        check_directory(out, exp.identity(), overwrite, str(exp.path))
    else:  # any replicate count there will do: the first look is at least that many
        identity = {**exp.identity(), "replicates": None}
        previous = check_directory(out, identity, overwrite, str(exp.path))
        exp.replicates = rule.first_target((previous or {}).get("replicates") or 0)
    dask = None
    if backend == "dask":  # connect before writing: an unreachable scheduler leaves no trace
        from sim.batch.distributed import DaskSession

        dask = DaskSession(workers, scheduler)
    try:
        _prepare_out(out)
        with locked(out):
            return _run_locked(exp, out, workers, backend, chunk_size, overwrite, quiet, rule, dask)
    finally:
        if dask is not None:
            dask.close()


def _run_locked(exp, out, workers, backend, chunk_size, overwrite, quiet, rule, dask):
    previous = check_directory(out, exp.identity(), overwrite, str(exp.path))  # again, locked
    if overwrite:
        check_overwrite(out)
        clear_batch(out)
    runs_dir = out / RUNS_DIR
    try:
        runs_dir.mkdir(exist_ok=True)
    except OSError as exc:
        raise BatchError(f"--out {out}: cannot create {runs_dir} ({reason(exc)})") from None
    clear_stale(runs_dir)
    tally = OutcomeTally()
    done = np.zeros(exp.total_runs, dtype=bool)
    if previous:
        done = resume_parts(
            out, exp.total_runs, OutcomeTally.COLUMNS, tally.add, _warn, exp.identity()
        )
    session = _Session(
        exp, out, workers, backend, chunk_size, quiet, dask, tally, done, int(done.sum())
    )
    started = datetime.now(UTC)
    manifest = new_manifest(exp, previous, started, backend)
    write_json(out / MANIFEST, manifest)
    schema = table_schema(tuple(exp.points[0].scenario.patrons), exp.sweep_keys)
    t0 = time.perf_counter()
    looks: list[Look] = []
    while True:
        session.run_missing(schema)
        if rule is None:
            break
        look = rule.look(exp.total_runs, tally.n, tally.lines())
        looks.append(look)
        reason_ = rule.stop_reason(look)
        manifest["adaptive"] = rule.record(look, reason_, [x.runs for x in looks])
        if reason_ is not None:
            break
        exp.replicates = rule.next_target(look)
        if not quiet:
            key, value, half = look.widest
            print(
                f"adaptive: widest interval ±{half:.4f} ({key} = {value}) at {look.runs} "
                f"runs; next look at {exp.total_runs}",
                file=sys.stderr,
                flush=True,
            )
        manifest.update(identity=exp.identity(), replicates=exp.replicates, runs=exp.total_runs)
        write_json(out / MANIFEST, manifest)
    seconds = time.perf_counter() - t0
    _finish_manifest(manifest, session, started, seconds, backend)
    write_json(out / MANIFEST, manifest)
    return BatchResult(
        out, exp.total_runs, session.ran, session.resumed, tally.failed, seconds, tally,
        manifest, looks,
    )  # fmt: skip


def _finish_manifest(manifest, session: _Session, started, seconds: float, backend) -> None:
    todo = session.ran
    manifest["status"] = "complete"
    manifest["failed_runs"] = session.tally.failed
    sizes = session.sizes
    manifest["sessions"].append(
        {
            "started": started.isoformat(),
            "finished": datetime.now(UTC).isoformat(),
            "seconds": round(seconds, 3),
            "runs": todo,
            "replicates": session.exp.replicates,
            "workers": session.used,
            "backend": backend,
            "chunk_size": sizes[-1] if len(sizes) == 1 else sizes or None,
            "runs_per_second": round(todo / seconds, 1) if seconds > 0 and todo else None,
        }
    )
    manifest["timing"] = {
        "seconds": round(sum(s["seconds"] for s in manifest["sessions"]), 3),
        "last_session_seconds": round(seconds, 3),
    }
