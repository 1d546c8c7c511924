"""The Dask backend: the same chunks, on a LocalCluster or a running scheduler.

Dask is an optional extra (``pip install '.[dask]'``); a plain install never imports it.
Results are identical to the local backend because seeds depend only on run ids, and the
client writes the parts, so workers need no shared file system. Chunks are submitted
through a bounded window (a few per worker thread) rather than all at once, so the
client's and the scheduler's memory stay flat however many runs the batch has.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from itertools import islice

from sim.batch import BatchError, run_chunk
from sim.sweep import SweepPoint

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
    cluster = LocalCluster(
        n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None
    )
    return Client(cluster), cluster


def _threads(client) -> int:
    """Worker threads on the cluster (waits for a first worker, e.g. a queued SLURM job)."""
    client.wait_for_workers(1)
    info = client.scheduler_info().get("workers", {})
    return max(1, sum(w.get("nthreads", 1) for w in info.values()))


def run_on_dask(
    chunks_for: Callable[[int], Iterator[list[tuple[int, int, int]]]],
    points: list[SweepPoint],
    workers: int,
    scheduler: str | None,
    consume: Callable[[list[dict]], None],
    progress: AbstractContextManager,
) -> None:
    """Run every chunk on Dask; ``consume`` each chunk's rows, in completion order.

    ``chunks_for(n)`` makes the chunks once the cluster's size ``n`` is known (a running
    cluster may be far larger than this machine).
    """
    client, cluster = _connect(workers, scheduler)
    try:
        from dask.distributed import as_completed

        threads = _threads(client)
        chunks = chunks_for(threads)
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
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
