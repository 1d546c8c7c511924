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
#: The most local worker processes a core: the runs are CPU-bound, so beyond one a core
#: extra workers only queue; a few more hide start-up and I/O, thousands exhaust memory.
MAX_WORKERS_PER_CORE = 8
#: The narrowest half-width asked for: 0.001 needs about Z^2 / (4 h^2) = 960,000 runs for
#: p = 0.5 with a fixed sample; narrower ones reach the run limit first, and far narrower
#: ones (1e-300) overflow the confidence sequence's arithmetic.
MIN_PRECISION = 1e-3
