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
#: Calibration methods (``sim calibrate``): importance sampling of a Latin hypercube with
#: tempered weights, or ABC-SMC (benchmarks/README.md measured both; the first is the default).
CALIBRATION_METHODS = ("importance", "abc")
#: Calibration defaults, which finish on the project's 2-core VM in about a minute with
#: --cross-validate on the three training cases (README, the case library's section).
CALIBRATION_CANDIDATES = 1000  # importance sampling: Latin hypercube points
CALIBRATION_RUNS = 40  # runs of each case per candidate
CALIBRATION_POPULATION = 40  # ABC-SMC: particles a generation
CALIBRATION_GENERATIONS = 3  # ABC-SMC
CALIBRATION_CHECK_RUNS = 400  # runs scoring a case under a posterior
CALIBRATION_SEED = 18  # the number
