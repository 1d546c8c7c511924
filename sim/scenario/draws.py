"""Parameter draws: forecasts that carry the uncertainty of the parameters, not only chance.

``sim run SCENARIO --priors`` draws each group of replicates' parameter values from the
scenario's ``[ranges]`` (uniform over each interval); ``--posterior FILE`` draws them from
a weighted posterior sample (a Parquet table: one column a parameter, by its dotted key,
and a ``weight`` column, as ``sim calibrate`` writes it).

A *draw* is one set of parameter values; ``runs_per_draw`` consecutive replicates share it.
Draw *d*'s values come from a random stream keyed by the batch seed and *d* alone (and, for
priors, the parameter's key: adding a range to a scenario does not move the others' draws),
so replicate *i* of two scenarios run with the same seed gets the same parameter values and
the same run seed: comparisons across scenarios stay paired, as they are at fixed values.

Several runs a draw, not one, so that the spread of the outcomes' probabilities over the
parameters can be told apart from chance (``sim.analysis.statistics.parameter_spread``).
"""

from __future__ import annotations

import hashlib
import math
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

from sim.scenario.loading import ScenarioError
from sim.scenario.ranges import Range
from sim.scenario.settings import DEFAULT_RUNS_PER_DRAW
from sim.scenario.sweep import numeric_parameter

__all__ = [
    "DEFAULT_RUNS_PER_DRAW",
    "WEIGHT",
    "ParameterDraws",
    "posterior_draws",
    "prior_draws",
    "read_posterior",
]

#: The posterior sample's weight column.
WEIGHT = "weight"
#: The stream of parameter draws, apart from the runs' own streams (spawn keys (i,)).
DRAW_STREAM = 0x5052494F  # "PRIO"


@dataclass(frozen=True)
class ParameterDraws:
    """Where a batch's parameter values come from, and how many runs share each draw."""

    source: Literal["priors", "posterior"]
    keys: tuple[str, ...]
    runs_per_draw: int
    ranges: tuple[Range, ...] = ()  # priors
    sample: tuple[tuple[float, ...], ...] = ()  # posterior: one row a particle
    weights: tuple[float, ...] = ()
    file: str = ""  # the posterior's file, for the manifest

    def draws(self, runs: int) -> int:
        return math.ceil(runs / self.runs_per_draw)

    def values(self, seed: int, draw: int) -> dict[str, float]:
        """Draw ``draw``'s parameter values (a pure function of the seed and the draw)."""
        if self.source == "priors":
            out = {}
            for r in self.ranges:
                key = (DRAW_STREAM, draw, zlib.crc32(r.key.encode()))
                u = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=key)).random()
                out[r.key] = r.value(r.low + u * (r.high - r.low))
            return out
        rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(DRAW_STREAM, draw)))
        row = self.sample[int(rng.choice(len(self.sample), p=np.asarray(self.weights)))]
        return dict(zip(self.keys, row, strict=True))

    def identity(self) -> dict[str, Any]:
        """What must match for a batch directory to be resumed."""
        return {
            "source": self.source,
            "runs_per_draw": self.runs_per_draw,
            "keys": list(self.keys),
            "file": self.file,
            "ranges": [r.as_dict() for r in self.ranges],
            # the sample itself, not only its file's name: another posterior written to
            # the same path must not resume this batch
            "sample": hashlib.sha256(repr((self.sample, self.weights)).encode()).hexdigest()[:16],
        }


def _runs_per_draw(value: int, file: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ScenarioError(file, "--runs-per-draw", f"must be a positive integer (got {value!r})")
    return value


def prior_draws(
    ranges: list[Range], file: str, runs_per_draw: int = DEFAULT_RUNS_PER_DRAW
) -> ParameterDraws:
    """Draws from the scenario's ``[ranges]``, uniform over each interval."""
    if not ranges:
        raise ScenarioError(
            file,
            "ranges",
            "--priors draws from the scenario's [ranges], and it declares none; add "
            '"dotted.key" = { low = ..., high = ..., source = "..." }',
        )
    return ParameterDraws(
        "priors", tuple(r.key for r in ranges), _runs_per_draw(runs_per_draw, file),
        ranges=tuple(ranges),
    )  # fmt: skip


def read_posterior(path: str | Path) -> tuple[list[str], np.ndarray, np.ndarray]:
    """A posterior sample's parameter keys, values (one row a particle) and normalised
    weights. A bad file is a ScenarioError naming it and what is wrong."""
    import pyarrow.parquet as pq

    path = Path(path)
    where = str(path)
    if not path.is_file():
        raise ScenarioError(where, "--posterior", "file not found")
    try:
        table = pq.read_table(path)
    except Exception as exc:  # pyarrow raises several types for a file that is not Parquet
        raise ScenarioError(where, "--posterior", f"not a Parquet table ({exc})") from None
    if WEIGHT not in table.column_names:
        raise ScenarioError(where, WEIGHT, "a posterior sample needs a 'weight' column")
    keys = [c for c in table.column_names if c not in (WEIGHT, "distance", "generation")]
    if not keys or table.num_rows == 0:
        raise ScenarioError(where, "--posterior", "no parameter columns, or no rows")
    try:
        values = np.column_stack([table[k].to_numpy().astype(float) for k in keys])
        weights = table[WEIGHT].to_numpy().astype(float)
    except (TypeError, ValueError):
        raise ScenarioError(where, "--posterior", "every column must be numeric") from None
    if not np.isfinite(values).all():
        raise ScenarioError(where, "--posterior", "parameter values must be finite numbers")
    if not np.isfinite(weights).all() or (weights < 0).any() or weights.sum() <= 0:
        raise ScenarioError(where, WEIGHT, "weights must be finite, non-negative and not all zero")
    return keys, values, weights / weights.sum()


def posterior_draws(
    path: str | Path, raw: dict, file: str, runs_per_draw: int = DEFAULT_RUNS_PER_DRAW
) -> ParameterDraws:
    """Draws from a weighted posterior sample; each column must name a numeric parameter
    of the scenario."""
    keys, values, weights = read_posterior(path)
    integer = []
    for key in keys:
        current = numeric_parameter(raw, key, str(path), key, use="have posterior draws")
        integer.append(isinstance(current, int))
    rows = tuple(
        tuple(round(v) if is_int else float(v) for v, is_int in zip(row, integer, strict=True))
        for row in values
    )
    return ParameterDraws(
        "posterior", tuple(keys), _runs_per_draw(runs_per_draw, file), sample=rows,
        weights=tuple(float(w) for w in weights), file=str(path),
    )  # fmt: skip
