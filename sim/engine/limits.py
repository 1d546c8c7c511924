"""The limits of a batch, declared once for the scenario format, the API and the command
line (standard library only, so ``sim --help`` stays fast)."""

from __future__ import annotations

#: Seeds are 63-bit, as in scenario files (``seed`` < 2**63): NumPy's SeedSequence takes
#: more, but the manifest and the Parquet ``seed`` column are int64.
SEED_LIMIT = 2**63
#: Runs or replicates per point: a billion is months of runs, and run ids stay in int64.
MAX_RUNS = 10**9
