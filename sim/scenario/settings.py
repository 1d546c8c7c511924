"""The scenario format's choices, declared once for the schema and the command line
(standard library only, so ``sim --help`` stays fast)."""

from __future__ import annotations

from typing import Literal, get_args

#: A sweep's designs: every combination of the values, or a Latin hypercube.
Design = Literal["grid", "lhs"]
DESIGNS: tuple[str, ...] = get_args(Design)

#: Replicates sharing one parameter draw (``sim run --priors`` / ``--posterior``): 10 puts
#: a per-draw probability within about +-0.15 (one standard error at p = 0.5), enough to
#: see a spread such as issue 18's (P(majority) per point with quartiles 0, 0, 0, 0.5, 1),
#: while 100 runs still span 10 draws.
DEFAULT_RUNS_PER_DRAW = 10
