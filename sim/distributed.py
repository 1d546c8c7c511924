"""The Dask backend: the same chunks, on a LocalCluster or a running scheduler.

Dask is an optional extra (``pip install .[dask]``); a plain install never imports it.
Results are identical to the local backend because seeds depend only on run ids.
"""

from __future__ import annotations

from collections.abc import Callable

from sim.batch import BatchError, run_chunk
from sim.sweep import SweepPoint


def run_on_dask(
    tasks: list[list[tuple[int, int, int]]],
    points: list[SweepPoint],
    workers: int,
    scheduler: str | None,
    consume: Callable[[list[dict]], None],
) -> None:
    try:
        from dask.distributed import Client, LocalCluster, as_completed
    except ImportError:
        raise BatchError(
            "the dask backend needs the optional extra: pip install '.[dask]'"
        ) from None
    cluster = None
    if scheduler:
        client = Client(scheduler)
    else:
        cluster = LocalCluster(
            n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None
        )
        client = Client(cluster)
    try:
        shared = client.scatter(points, broadcast=True)
        futures = [client.submit(run_chunk, task, shared, pure=False) for task in tasks]
        for future in as_completed(futures):
            consume(future.result())
            future.release()
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
