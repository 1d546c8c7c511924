"""The Dask backend: the same chunks, on a LocalCluster or a running scheduler.

Dask is an optional extra (``pip install '.[dask]'``); a plain install never imports it.
Results are identical to the local backend because seeds depend only on run ids, and the
client writes the parts, so workers need no shared file system. Chunks are submitted
through a bounded window (a few per worker thread) rather than all at once, so the
client's and the scheduler's memory stay flat however many runs the batch has.
"""

from __future__ import annotations

import logging
import signal
import sys
import threading
import warnings
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from itertools import islice
from typing import Any

from sim.batch.experiment import run_chunk
from sim.batch.outputs import BatchError
from sim.scenario.sweep import SweepPoint

IN_FLIGHT_PER_THREAD = 3  # enough to keep every worker busy while results come back
CONNECT_TIMEOUT = "30s"


def _connect(workers: int, scheduler: str | None):
    try:
        from dask.distributed import Client, LocalCluster
    except ImportError:
        raise BatchError(
            "the dask backend needs the optional extra: pip install '.[dask]'"
        ) from None
    if scheduler:
        try:
            return Client(scheduler, timeout=CONNECT_TIMEOUT), None
        except (OSError, TimeoutError) as exc:
            raise BatchError(f"cannot reach the Dask scheduler at {scheduler}: {exc}") from None
    # The cluster's processes ignore Ctrl-C (an ignored signal stays ignored across fork
    # and exec): it reaches the whole process group, and only this process should act on
    # it, by closing the cluster. Their logs are silenced below errors for the same reason:
    # a batch that stops prints one line, not the cancelled tasks of every worker.
    # Python's resource tracker (a process the spawned workers need) would print a
    # two-line "leaked semaphore" warning if the batch were killed with kill -9; the
    # processes spawned from here on take this filter from the interpreter's flags.
    quiet_tracker = "ignore:resource_tracker:UserWarning"
    if quiet_tracker not in sys.warnoptions:
        sys.warnoptions.append(quiet_tracker)
    # Its HTTP server (health checks; no dashboard) moves to a free port when 8787 is
    # taken, by another user's cluster say, and would warn about it: nothing to act on.
    warnings.filterwarnings("ignore", message=r"Port \d+ is already in use", category=UserWarning)
    with _sigint_ignored():
        cluster = LocalCluster(
            n_workers=workers,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            silence_logs=logging.CRITICAL,
        )
    return Client(cluster), cluster


@contextmanager
def _sigint_ignored() -> Iterator[None]:
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _threads(client) -> int:
    """Worker threads on the cluster (waits for a first worker, e.g. a queued SLURM job)."""
    client.wait_for_workers(1)
    info = client.scheduler_info().get("workers", {})
    return max(1, sum(w.get("nthreads", 1) for w in info.values()))


class DaskSession:
    """A connected client (and the LocalCluster it owns, if any), opened before the batch
    writes anything, so that an unreachable scheduler leaves no trace in ``--out``."""

    def __init__(self, workers: int, scheduler: str | None):
        self.client, self.cluster = _connect(workers, scheduler)

    def threads(self) -> int:
        return _threads(self.client)

    def close(self) -> None:
        self.client.close()
        if self.cluster is not None:
            self.cluster.close()


def run_on_dask(
    session: DaskSession,
    chunks: Iterator[list[tuple[int, int, int]]],
    points: list[SweepPoint],
    consume: Callable[[Any], None],
    progress: AbstractContextManager,
) -> None:
    """Run every chunk on Dask; ``consume`` each chunk's rows, in completion order."""
    from dask.distributed import as_completed

    client = session.client
    threads = session.threads()
    # the points travel once to each worker, not with every chunk
    [shared] = client.scatter([points], broadcast=True, hash=False)

    def submit(chunk):
        return client.submit(run_chunk, chunk, shared, pure=False)

    window = as_completed([submit(c) for c in islice(chunks, threads * IN_FLIGHT_PER_THREAD)])
    with progress:
        for future in window:
            rows = future.result()
            future.release()
            for chunk in islice(chunks, 1):
                window.add(submit(chunk))
            consume(rows)
