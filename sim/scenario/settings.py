"""The scenario format's choices, declared once for the schema and the command line
(standard library only, so ``sim --help`` stays fast)."""

from __future__ import annotations

from typing import Literal, get_args

#: A sweep's designs: every combination of the values, or a Latin hypercube.
Design = Literal["grid", "lhs"]
DESIGNS: tuple[str, ...] = get_args(Design)
