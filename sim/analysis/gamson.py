"""Cabinet shares against seat shares (Gamson's law).

Gamson's law says a coalition's members share the ministries in proportion to the seats
each brings: a member's cabinet share equals its seat share. The run table holds both per
government list and run (``portfolios``, ``seat_shares``: maps from list to share). Here
they are summarised per list, over the runs in which it was in government, and pooled in
one least-squares line of cabinet share on seat share over every (run, member) pair.
Gamson's law is slope 1, intercept 0; the formateur's bonus lifts the formateur above the
line and its partners below it (the model gives partners (1 - bonus) x their seat share).

Pure pandas: the functions take a run table (or a ``Batch``'s runs) and return frames.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

SHARE_COLUMNS = ("portfolios", "seat_shares")
WORDS = ("cabinet shares", "seat shares")  # what a reader is told is missing
TABLE_COLUMNS = [
    "list", "governments", "seat_share", "cabinet_share", "difference", "ratio", "formateur",
]  # fmt: skip
#: shares are stored rounded to 6 decimals: a list is the formateur (took the bonus) only
#: when its cabinet share exceeds its seat share by more than rounding can explain
BONUS_TOLERANCE = 1e-5


@dataclass(frozen=True)
class GamsonFit:
    """Least squares of cabinet share on seat share over every (run, member) pair."""

    slope: float
    intercept: float
    r_squared: float
    pairs: int
    governments: int  # runs with a government (and shares recorded)


def shares(cell) -> dict[str, float]:
    """A map cell as it comes back from Parquet (a list of (key, value) tuples), a dict,
    or null / empty (no government), as a dict."""
    if cell is None or (isinstance(cell, float) and np.isnan(cell)):
        return {}
    items = cell.items() if isinstance(cell, dict) else cell
    return {str(k): float(v) for k, v in items}


def has_shares(frame: pd.DataFrame) -> bool:
    """Whether a run table records both shares (older tables lack one or both)."""
    return all(c in frame.columns for c in SHARE_COLUMNS)


def member_pairs(frame: pd.DataFrame) -> pd.DataFrame:
    """One row per government list and run: run (the frame's row), list, seat share,
    cabinet share, and whether it was the formateur (its cabinet share above its seat
    share: only the formateur's bonus does that; with no bonus nobody is)."""
    rows = []
    cells = zip(frame["portfolios"], frame["seat_shares"], strict=True)
    for run, (cabinet, seats) in enumerate(cells):
        cabinet, seats = shares(cabinet), shares(seats)
        for name, portfolio in cabinet.items():
            seat = seats.get(name, np.nan)
            rows.append((run, name, seat, portfolio, portfolio - seat > BONUS_TOLERANCE))
    return pd.DataFrame(rows, columns=["run", "list", "seat_share", "cabinet_share", "formateur"])


def gamson_table(frame: pd.DataFrame) -> pd.DataFrame:
    """One row per list that was ever in government, most governments first: the runs it
    was in government (``governments``), its mean seat share of the coalition and mean
    cabinet share over those runs, their difference (cabinet - seat) and ratio (cabinet /
    seat; Gamson's law: 0 and 1), and the share of those runs in which it was the
    formateur. Empty (with these columns) when no run formed a government."""
    pairs = member_pairs(frame)
    if pairs.empty:
        return pd.DataFrame(columns=TABLE_COLUMNS)
    table = pairs.groupby("list", sort=False).agg(
        governments=("run", "size"),
        seat_share=("seat_share", "mean"),
        cabinet_share=("cabinet_share", "mean"),
        formateur=("formateur", "mean"),
    )
    table["difference"] = table["cabinet_share"] - table["seat_share"]
    table["ratio"] = table["cabinet_share"] / table["seat_share"]
    table = table.reset_index().sort_values(
        ["governments", "seat_share", "list"], ascending=[False, False, True], kind="stable"
    )
    return table[TABLE_COLUMNS].reset_index(drop=True)


def gamson_fit(frame: pd.DataFrame) -> GamsonFit:
    """The pooled line of cabinet share on seat share (NaN where it is not defined: fewer
    than two pairs, or every seat share the same)."""
    pairs = member_pairs(frame).dropna(subset=["seat_share"])
    x = pairs["seat_share"].to_numpy(float)
    y = pairs["cabinet_share"].to_numpy(float)
    governments = int(pairs["run"].nunique())
    if len(x) < 2 or np.ptp(x) == 0:
        return GamsonFit(np.nan, np.nan, np.nan, len(x), governments)
    slope, intercept = np.polyfit(x, y, 1)
    residual = y - (slope * x + intercept)
    spread = ((y - y.mean()) ** 2).sum()
    r_squared = 1.0 - (residual**2).sum() / spread if spread > 0 else 1.0
    return GamsonFit(float(slope), float(intercept), float(r_squared), len(x), governments)


def fit_text(fit: GamsonFit) -> str:
    """The pooled line in one sentence, against what Gamson's law predicts."""
    if np.isnan(fit.slope):
        return f"no line fitted ({fit.pairs} member(s) in {fit.governments} government(s))"
    return (
        f"pooled fit over {fit.pairs} (run, list) pairs in {fit.governments} governments: "
        f"cabinet share = {fit.slope:.3f} x seat share {'-' if fit.intercept < 0 else '+'} "
        f"{abs(fit.intercept):.3f} "
        f"(R^2 {fit.r_squared:.3f}); Gamson's law: slope 1, intercept 0"
    )


def format_gamson(frame: pd.DataFrame, label: str) -> str:
    """One batch's table as text, with the pooled fit; one line when it has nothing."""
    if not has_shares(frame):
        words = [w for c, w in zip(SHARE_COLUMNS, WORDS, strict=True) if c not in frame.columns]
        missing = " and ".join(words)
        return f"{label}: its run table has no {missing} (an older sim made it; rerun the batch)"
    table = gamson_table(frame)
    if table.empty:
        return f"{label}: no government formed in any of its {len(frame)} runs"
    fit = gamson_fit(frame)
    width = max([len(str(n)) for n in table["list"]] + [4]) + 2
    lines = [
        f"Cabinet shares against seat shares (Gamson's law): {label}, "
        f"{fit.governments} of {len(frame)} runs formed a government",
        f"  {'list':<{width}}{'governments':>12}{'seat share':>12}{'cabinet share':>15}"
        f"{'difference':>12}{'ratio':>8}{'formateur':>11}",
    ]
    for r in table.itertuples():
        lines.append(
            f"  {r.list:<{width}}{r.governments:>12}{r.seat_share:>12.3f}"
            f"{r.cabinet_share:>15.3f}{r.difference:>+12.3f}{r.ratio:>8.2f}{r.formateur:>11.2f}"
        )
    lines += [
        "Means over the runs in which the list was in government (shares of the coalition's",
        "seats and of the ministries); formateur: the share of those runs in which it was the",
        "formateur (took the bonus).",
        fit_text(fit),
    ]
    return "\n".join(lines)
