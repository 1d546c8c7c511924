"""The two kinds of uncertainty of a batch with parameter draws (``sim run --priors`` or
``--posterior``), kept apart.

- **P**, over chance and the parameters: the share of all runs, the forecast that
  integrates the parameters' uncertainty.
- Its **Monte-Carlo 95% interval**: how far P could move with more runs. Runs that share a
  draw are not independent, so the interval resamples draws, not runs (a normal interval
  on the mean of the per-draw shares: the standard error is their standard deviation over
  the square root of the number of draws).
- The **spread over parameters**: the 10th and 90th percentiles of the outcome's
  probability per draw. Each draw's probability is estimated from its few runs, so this
  spread includes their own chance; ``between`` removes it (the law of total variance:
  the variance of the per-draw shares less the mean binomial variance within a draw,
  divided by the runs per draw) and gives the standard deviation of the outcome's
  probability across the parameters alone.

At fixed parameters (a plain batch) only the first two exist, and the summary says so.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from sim.engine.outcomes import SUMMARISED, Kind

__all__ = [
    "SPREAD_COLUMNS",
    "Spread",
    "batch_spread",
    "format_spread",
    "outcome_hits",
    "parameter_spread",
    "spread_table",
]


@dataclass(frozen=True)
class Spread:
    outcome: str
    value: str
    p: float
    mc_low: float
    mc_high: float
    p10: float  # of the per-draw probability
    p90: float
    between: float  # standard deviation across parameters, chance within a draw removed


def outcome_hits(frame: pd.DataFrame) -> dict[tuple[str, str], np.ndarray]:
    """(outcome, value) -> a run's hit, for the summarised outcomes (the rows of ``sim
    run``'s table, in its order)."""
    out: dict[tuple[str, str], np.ndarray] = {}
    for o in SUMMARISED:
        if o.kind is Kind.CATEGORY and o.name in frame:
            values = frame[o.name].astype(str).to_numpy()
            for c in o.categories:
                out[(o.name, str(c))] = values == str(c)
    for o in SUMMARISED:
        if o.kind is Kind.YES_NO and o.name in frame:
            out[(o.name, "true")] = frame[o.name].fillna(False).astype(bool).to_numpy()
    return out


def parameter_spread(frame: pd.DataFrame, draw_column: str = "point") -> list[Spread]:
    """The spread of each summarised outcome over the draws of ``frame`` (the runs that
    did not fail, with the column naming each run's draw)."""
    draws = frame[draw_column].to_numpy()
    ids, inverse, sizes = np.unique(draws, return_inverse=True, return_counts=True)
    d = len(ids)
    out = []
    for (outcome, value), hit in outcome_hits(frame).items():
        share = np.bincount(inverse, weights=hit.astype(float), minlength=d) / sizes
        p = float(hit.mean()) if len(hit) else float("nan")
        se = float(share.std(ddof=1) / math.sqrt(d)) if d > 1 else float("nan")
        within = np.where(sizes > 1, share * (1 - share) / np.maximum(sizes - 1, 1), 0.0)
        between = float(max(share.var(ddof=1) - within.mean(), 0.0)) if d > 1 else float("nan")
        out.append(
            Spread(
                outcome, value, p, max(0.0, p - 1.96 * se), min(1.0, p + 1.96 * se),
                float(np.percentile(share, 10)), float(np.percentile(share, 90)),
                math.sqrt(between),
            )
        )  # fmt: skip
    return out


def format_spread(spreads: list[Spread], draws: int, runs_per_draw: int, source: str) -> str:
    """The table ``sim run`` prints after a batch with parameter draws."""
    lines = [
        f"over the parameters ({draws} draws from the {source}, {runs_per_draw} runs each): "
        "P over chance and parameters; its Monte-Carlo 95% interval (draws resampled); "
        "the spread over parameters: P per draw, 10th-90th percentile (each from its own "
        "runs) and the standard deviation across parameters alone (chance removed)",
        f"{'outcome':<20}{'value':<14}{'P':>7}   {'Monte-Carlo 95%':<17}"
        f"{'over parameters 10-90%':<24}{'sd':>6}",
    ]
    for s in spreads:
        lines.append(
            f"{s.outcome:<20}{s.value:<14}{s.p:>7.3f}   [{s.mc_low:.3f}, {s.mc_high:.3f}]   "
            f"[{s.p10:.3f}, {s.p90:.3f}]{'':<10}{s.between:>6.3f}"
        )
    return "\n".join(lines)


#: The spread table's columns as a reader sees them (the report, ``sim compare``).
SPREAD_COLUMNS = {
    "outcome": "outcome",
    "value": "value",
    "p": "P (over chance and parameters)",
    "mc_low": "Monte-Carlo 95% low",
    "mc_high": "Monte-Carlo 95% high",
    "p10": "over parameters: P per draw, 10%",
    "p90": "over parameters: P per draw, 90%",
    "between": "sd across parameters (chance removed)",
}


def spread_table(spreads: list[Spread]) -> pd.DataFrame:
    """The spreads as a frame, its columns labelled for a reader."""
    frame = pd.DataFrame([s.__dict__ for s in spreads], columns=list(SPREAD_COLUMNS))
    return frame.rename(columns=SPREAD_COLUMNS)


def batch_spread(manifest: dict, runs: pd.DataFrame) -> tuple[str, pd.DataFrame] | None:
    """A batch's spread over parameters and the sentence saying what it is, or None for a
    batch at fixed values."""
    drawn = manifest.get("parameter_draws")
    if not drawn or "point" not in runs:
        return None
    intro = (
        f"{drawn['draws']} parameter draws from the {drawn['source']}, {drawn['runs_per_draw']} "
        "runs each. P is over chance and the parameters together; its Monte-Carlo interval "
        "says how far more runs could move it (draws resampled); the spread over parameters "
        "is the per-draw probability's 10th-90th percentile (each from its own few runs) and "
        "its standard deviation across the parameters alone (the chance within a draw removed)."
    )
    return intro, spread_table(parameter_spread(runs))
