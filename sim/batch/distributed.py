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
from sim.batch.outputs import BatchError, OutputError
from sim.batch.pool import WorkerLost
from sim.scenario.sweep import SweepPoint

IN_FLIGHT_PER_THREAD = 3  # enough to keep every worker busy while results come back
CONNECT_TIMEOUT = "30s"


#: The schemes of a Dask scheduler's address (distributed's comm backends that a client
#: can dial); an http:// address is a dashboard, not a scheduler.
SCHEDULER_SCHEMES = ("tcp", "tls", "ucx", "ws", "wss", "inproc")


def parse_scheduler(address: str) -> str:
    """``--scheduler``, checked before connecting: ``[SCHEME://]HOST:PORT``, with a scheme
    of ``SCHEDULER_SCHEMES`` (tcp when none is given) and a port from 1 to 65535. Returns
    the address with its scheme; anything else is a BatchError (one line)."""
    from urllib.parse import urlsplit

    text = address.strip()
    allowed = f"give SCHEME://HOST:PORT with a scheme of {', '.join(SCHEDULER_SCHEMES)}"
    if not text or any(c.isspace() for c in text):
        raise BatchError(f"--scheduler {address!r}: not an address; {allowed}")
    if "://" not in text:
        text = f"tcp://{text}"
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError as exc:
        raise BatchError(f"--scheduler {address!r}: {exc}; {allowed}") from None
    if parts.scheme not in SCHEDULER_SCHEMES:
        hint = " (that is a web address: the dashboard, not the scheduler)" if parts.scheme in (
            "http", "https") else ""  # fmt: skip
        raise BatchError(f"--scheduler {address!r}: scheme {parts.scheme!r}{hint}; {allowed}")
    if parts.scheme == "inproc":
        return text
    if not parts.hostname or port is None or not 1 <= port <= 65535:
        raise BatchError(f"--scheduler {address!r}: needs a host and a port; {allowed}")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise BatchError(f"--scheduler {address!r}: has a path or query; {allowed}")
    return text


def _refuse_web_server(address: str) -> None:
    """An HTTP server at a tcp:// address (a dashboard, a proxy) is refused in one line:
    Dask's handshake would read its reply as a frame length of exabytes and hang. A probe
    request is sent; a Dask scheduler closes the connection on it, a web server answers
    "HTTP/"."""
    import socket
    from urllib.parse import urlsplit

    parts = urlsplit(address)
    if parts.scheme != "tcp" or parts.hostname is None or parts.port is None:
        return
    try:
        with socket.create_connection((parts.hostname, parts.port), timeout=3) as probe:
            probe.sendall(b"GET / HTTP/1.0\r\n\r\n")
            reply = probe.recv(5)
    except OSError:
        return  # unreachable, or closed on us: the client's own connect says which
    if reply.startswith(b"HTTP/"):
        raise BatchError(
            f"--scheduler {address}: a web server answers there, not a Dask scheduler (the "
            "dashboard? the scheduler's port is usually 8786)"
        )


def _connect(workers: int, scheduler: str | None):
    try:
        from dask.distributed import Client, LocalCluster
    except ImportError:
        raise BatchError(
            "the dask backend needs the optional extra: pip install '.[dask]'"
        ) from None
    if scheduler is not None:
        address = parse_scheduler(scheduler)
        _refuse_web_server(address)
        try:
            return Client(address, timeout=CONNECT_TIMEOUT), None
        except Exception as exc:
            # e.g. an HTTP server on that port: the handshake reads its reply as a frame
            # length and tries to allocate exabytes (MemoryError), or fails to decode it
            why = " ".join(f"{type(exc).__name__}: {exc}".split())[:300]
            raise BatchError(
                f"cannot reach the Dask scheduler at {address} ({why}); is a scheduler "
                "listening there?"
            ) from None
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
            rows = _result(future)
            future.release()
            for chunk in islice(chunks, 1):
                window.add(submit(chunk))
            consume(rows)


def _result(future) -> Any:
    """A chunk's rows; a lost worker or scheduler ends the batch in one line (exit 1),
    the finished parts kept, so that the same command resumes it. A run that raises is
    recorded in its row by ``run_chunk``, so an exception here is the cluster's, not a run's.
    """
    from distributed import CancelledError
    from distributed import TimeoutError as DaskTimeout
    from distributed.comm import CommClosedError
    from distributed.scheduler import KilledWorker

    try:
        return future.result()
    except KilledWorker as exc:
        raise WorkerLost(
            f"Dask workers kept dying on one chunk ({' '.join(str(exc).split())[:200]}); the "
            "finished parts are kept: run the same command again to resume"
        ) from None
    except (CancelledError, CommClosedError, DaskTimeout, OSError) as exc:
        raise OutputError(
            f"the Dask cluster was lost mid-batch ({type(exc).__name__}: a worker or the "
            "scheduler stopped, e.g. at a job's walltime); the finished parts are kept: run "
            "the same command again to resume"
        ) from None
