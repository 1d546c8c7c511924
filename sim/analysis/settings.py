"""The analyses' choices, declared once for the library and the command line (standard
library only, so ``sim --help`` stays fast)."""

from __future__ import annotations

#: Multiple-comparison corrections of ``sim compare``: Holm, or Benjamini-Hochberg.
CORRECTIONS = ("holm", "bh")
#: Tests of the numeric outcomes (weeks to government, casualties).
NUMERIC_TESTS = ("mannwhitney", "ks")
#: Sensitivity methods (SALib): Morris screening, Sobol' indices.
SENSITIVITY_METHODS = ("morris", "sobol")
#: Each method's default sample count: Morris trajectories, Sobol' base samples.
DEFAULT_SAMPLES = {"morris": 10, "sobol": 64}
