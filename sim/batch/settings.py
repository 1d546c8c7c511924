"""A batch's choices and limits, declared once for the engine's API and the command line
(standard library only, so ``sim --help`` stays fast)."""

from __future__ import annotations

#: Where a batch runs: processes on this machine, or a Dask cluster.
BACKENDS = ("local", "dask")
#: Runs per chunk at most (~0.2 s of work): amortises IPC and the part's fsync.
MAX_CHUNK = 1000
#: Chunks per worker by default: load balance, and little lost to a kill.
CHUNKS_PER_WORKER = 8
#: Adaptive replication stops here even if not precise enough.
DEFAULT_MAX_RUNS = 100_000
