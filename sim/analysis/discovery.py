"""Scenario discovery: which parameter ranges make an outcome likely (PRIM).

PRIM (Friedman & Fisher 1999; Bryant & Lempert 2010 for scenario discovery) starts from
the box that holds every sweep point and peels: each step tries cutting a slice of about
``alpha`` of the box's runs off the low or the high end of each parameter, and keeps the
cut that leaves the highest density of the outcome. The sequence of boxes is the peeling
trajectory: coverage (share of all outcome runs inside the box) falls as density (share
of the box's runs with the outcome) rises, and the analyst picks the trade-off.

The implementation is ours, small and tested: the ``prim`` package on PyPI is GPL-3
(this project is MIT), and EMA Workbench would add scikit-learn, statsmodels, seaborn and
platypus for one algorithm. It works on points rather than runs: each sweep point carries
its number of runs (the weight) and of outcome runs, which is the same as peeling the runs
(all runs of a point share its parameters) and keeps it fast on large batches.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
from scipy.stats import binom

from sim.analysis.conditions import Expression, column_kinds
from sim.analysis.safe_text import csv_safe, plain
from sim.analysis.sensitivity import replaced_dir
from sim.batch.outputs import (
    ResultsError,
    check_directory_writable,
    check_file_writable,
    reason,
    write_json,
)
from sim.batch.parts import RUNS_DIR
from sim.batch.results import load_manifest, load_results

SUBDIR = "discovery"
#: condition operators as words, for folder names (a ">" cannot be in every file system)
OPERATOR_WORDS = {">=": "ge", "<=": "le", "==": "eq", "!=": "ne", ">": "gt", "<": "lt"}
MAX_FOLDER = 80  # characters of a folder name; a longer one ends in a hash of the whole


def outcome_folder(expr: Expression) -> str:
    """The folder of one outcome's discovery, named from the outcome as parsed (so
    'max_escalation>=4' and "max_escalation >= '4'" share one): max_escalation_ge_4,
    not_formed, pmf_status_eq_dissolved_or_formed. Each outcome keeps its own folder, so
    discovering a second one does not replace the first."""
    ors = []
    for conj in expr.terms:
        ands = []
        for negate, column, op, value in conj:
            words = ["not"] if negate else []
            words.append(column)
            if op is not None:
                shown = f"{value:g}" if isinstance(value, float) else str(value).lower()
                words += [OPERATOR_WORDS[op], shown]
            ands.append("_".join(words))
        ors.append("_and_".join(ands))
    name = "".join(c if c.isalnum() or c in "._-" else "_" for c in "_or_".join(ors))
    name = name.lstrip(".") or "outcome"
    if len(name) > MAX_FOLDER:
        digest = hashlib.sha256(name.encode()).hexdigest()[:8]
        name = f"{name[: MAX_FOLDER - 9]}-{digest}"
    return name


@dataclass
class Prim:
    """A peeling trajectory over weighted points, and the box chosen on it."""

    names: list[str]
    x: np.ndarray  # points x parameters
    y: np.ndarray  # outcome runs at each point
    w: np.ndarray  # runs at each point
    lows: list[np.ndarray]  # one box a step
    highs: list[np.ndarray]
    trajectory: pd.DataFrame
    chosen: int

    def inside(self, step: int, drop: int | None = None) -> np.ndarray:
        lo, hi = self.lows[step].copy(), self.highs[step].copy()
        if drop is not None:
            lo[drop], hi[drop] = -np.inf, np.inf
        return np.all((self.x >= lo) & (self.x <= hi), axis=1)

    def box(self, step: int | None = None) -> pd.DataFrame:
        """The box's ranges, whether each parameter is restricted, and its quasi-p-value.

        The quasi-p-value of a restriction (Bryant & Lempert 2010) is the chance of seeing
        at least the box's outcome runs if the box had the density it has without that
        restriction: a large value says the restriction may be noise.
        """
        step = self.chosen if step is None else step
        full_lo, full_hi = self.lows[0], self.highs[0]
        lo, hi = self.lows[step], self.highs[step]
        inside = self.inside(step)
        n, k = self.w[inside].sum(), self.y[inside].sum()
        restricted = (lo > full_lo) | (hi < full_hi)
        qp = [np.nan] * len(self.names)
        for j in np.flatnonzero(restricted):
            loose = self.inside(step, drop=int(j))
            qp[j] = float(binom.sf(k - 1, n, self.y[loose].sum() / self.w[loose].sum()))
        return pd.DataFrame(
            {"parameter": self.names, "low": lo, "high": hi, "restricted": restricted}
            | {"full_low": full_lo, "full_high": full_hi, "qp_value": qp}
        )


def _cut(xs: np.ndarray, ws: np.ndarray, alpha: float) -> tuple[float, float] | None:
    """New low and new high bounds after peeling ``alpha`` of the weight off either end.

    A peel removes whole distinct values (points on a grid, as Morris designs are, cannot
    be split), at least one and at most all but one.
    """
    values, where = np.unique(xs, return_inverse=True)
    if len(values) < 2:
        return None
    weight = np.bincount(where, weights=ws)
    target = alpha * weight.sum()
    below = np.cumsum(weight)
    above = np.cumsum(weight[::-1])
    k_low = min(int(np.searchsorted(below, target)) + 1, len(values) - 1)
    k_high = min(int(np.searchsorted(above, target)) + 1, len(values) - 1)
    return float(values[k_low]), float(values[len(values) - 1 - k_high])


def peel(
    names: list[str],
    x: np.ndarray,
    y: np.ndarray,
    w: np.ndarray | None = None,
    alpha: float = 0.05,
    mass_min: float = 0.05,
) -> Prim:
    """The peeling trajectory, until no peel raises the density or the box gets too small."""
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    w = np.ones(len(x)) if w is None else np.asarray(w, dtype=float)
    total_w, total_y = w.sum(), y.sum()
    lo, hi = x.min(axis=0), x.max(axis=0)
    inside = np.ones(len(x), dtype=bool)
    lows, highs = [lo.copy()], [hi.copy()]
    rows: list[dict[str, Any]] = []

    def record(inside: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> None:
        rows.append(
            {
                "step": len(rows),
                "coverage": y[inside].sum() / total_y,
                "density": y[inside].sum() / w[inside].sum(),
                "mass": w[inside].sum() / total_w,
                "n_restricted": int(np.sum((lo > lows[0]) | (hi < highs[0]))),
            }
        )

    record(inside, lo, hi)
    while True:
        density = rows[-1]["density"]
        best = None
        for j in range(x.shape[1]):
            cut = _cut(x[inside, j], w[inside], alpha)
            if cut is None:
                continue
            for side, bound in enumerate(cut):
                keep = inside & (x[:, j] >= bound if side == 0 else x[:, j] <= bound)
                mass = w[keep].sum() / total_w
                if mass < mass_min:
                    continue
                score = (y[keep].sum() / w[keep].sum(), mass)
                if best is None or score > best[0]:
                    best = (score, j, side, bound, keep)
        if best is None or best[0][0] <= density:
            break
        _, j, side, bound, inside = best
        lo, hi = lo.copy(), hi.copy()
        (lo if side == 0 else hi)[j] = bound
        lows.append(lo)
        highs.append(hi)
        record(inside, lo, hi)
    trajectory = pd.DataFrame(rows)
    return Prim(list(names), x, y, w, lows, highs, trajectory, choose(trajectory))


def choose(trajectory: pd.DataFrame, min_coverage: float = 0.5) -> int:
    """The densest box that still covers ``min_coverage`` of the outcome runs."""
    ok = trajectory[trajectory["coverage"] >= min_coverage - 1e-12]
    if ok.empty:
        return 0
    best = ok.sort_values(["density", "coverage"], ascending=False, kind="stable")
    return int(best["step"].iloc[0])


# --------------------------------------------------------------------------- batches
def points_of(out: str | Path, outcome: str) -> tuple[list[str], pd.DataFrame, Expression]:
    """Per sweep point: its parameter values, its runs and its outcome runs."""
    manifest = load_manifest(out)
    params = list((manifest.get("sweep") or {}).get("parameters") or [])
    if not params:
        raise ResultsError(
            f"{out}: no parameter varies in this batch; discovery needs a `sim sweep` or "
            "`sim sensitivity` directory"
        )
    expr = Expression.parse(outcome, _scalar_columns(out), str(out))
    frame = load_results(
        out, columns=list(dict.fromkeys(["point", *params, *expr.columns, "error"]))
    )
    frame = frame[frame["error"].isna()]
    if frame.empty:
        raise ResultsError(f"{out}: every run failed; nothing to discover")
    frame = frame.assign(_hit=expr.evaluate(frame).astype(float))
    grouped = frame.groupby("point", sort=True)
    table = grouped[params].first()
    table["runs"] = grouped.size()
    table["hits"] = grouped["_hit"].sum()
    hits, total = int(table["hits"].sum()), int(table["runs"].sum())
    if hits in (0, total):
        raise ResultsError(
            f"{out}: --outcome {outcome!r} holds in {hits} of {total} runs; PRIM needs runs "
            "with and without it"
        )
    return params, table, expr


def _scalar_columns(out: str | Path) -> dict[str, str]:
    """Column name -> kind (number, bool, text) of the run table; list columns left out."""
    parts = sorted((Path(out) / RUNS_DIR).glob("part-*.parquet"))
    return column_kinds(pq.read_schema(parts[0]))


@dataclass
class Discovery:
    out: Path
    folder: Path  # out/discovery/<outcome>
    prim: Prim
    summary: dict
    box: pd.DataFrame


def discover(
    out: str | Path,
    outcome: str,
    alpha: float = 0.05,
    mass_min: float = 0.05,
    min_coverage: float = 0.5,
    step: int | None = None,
    csv: str | Path | None = None,
) -> Discovery:
    """Run PRIM on a batch directory and write ``out/discovery/<outcome>/`` (and
    ``csv``); the folder is named from the outcome (``outcome_folder``)."""
    for name, value, ok, allowed in (
        ("--alpha", alpha, 0 < alpha < 0.5, "(0, 0.5)"),
        ("--mass-min", mass_min, 0 < mass_min < 1, "(0, 1)"),
        ("--min-coverage", min_coverage, 0 <= min_coverage <= 1, "[0, 1]"),
    ):
        if not ok:
            raise ResultsError(f"{out}: {name}: must be in {allowed}, got {value}")
    out = Path(out)
    # every place this writes, checked before any work (and before anything is written)
    if csv is not None:
        check_file_writable(csv, "--csv", ResultsError)
    params, table, expr = points_of(out, outcome)
    folder = out / SUBDIR / outcome_folder(expr)
    check_directory_writable(folder, "discovery output", ResultsError)
    prim = peel(params, table[params].to_numpy(), table["hits"], table["runs"], alpha, mass_min)
    prim.chosen = choose(prim.trajectory, min_coverage)
    if step is not None:
        last = len(prim.trajectory) - 1
        if not 0 <= step <= last:
            raise ResultsError(f"{out}: --step: the trajectory has steps 0..{last}, got {step}")
        prim.chosen = step
    box = prim.box()
    point = prim.trajectory.iloc[prim.chosen]
    summary = {
        "outcome": expr.text,
        "directory": str(out),
        "runs": int(table["runs"].sum()),
        "points": len(table),
        "outcome_runs": int(table["hits"].sum()),
        "base_density": round(float(table["hits"].sum() / table["runs"].sum()), 6),
        "alpha": alpha,
        "mass_min": mass_min,
        "min_coverage": min_coverage,
        "step": prim.chosen,
        "steps": len(prim.trajectory),
        "coverage": round(float(point["coverage"]), 6),
        "density": round(float(point["density"]), 6),
        "mass": round(float(point["mass"]), 6),
        "box": [
            {k: None if isinstance(v, float) and np.isnan(v) else v for k, v in row.items()}
            for row in box.to_dict(orient="records")
        ],
    }
    try:
        if csv is not None:  # first: the discovery folder is replaced only if this worked
            tmp = Path(csv).with_name(f".{Path(csv).name}.tmp")
            csv_safe(box).to_csv(tmp, index=False)
            os.replace(tmp, csv)
        write_outputs(folder, summary, prim, box)
    except OSError as exc:
        raise ResultsError(f"{out}: cannot write the discovery output ({reason(exc)})") from None
    return Discovery(out, folder, prim, summary, box)


def write_outputs(target: Path, summary: dict, prim: Prim, box: pd.DataFrame) -> None:
    with replaced_dir(target) as tmp:
        write_json(tmp / "summary.json", summary)
        csv_safe(box).to_csv(tmp / "box.csv", index=False)
        prim.trajectory.to_csv(tmp / "trajectory.csv", index=False)
        plot(prim, box, summary, tmp / "discovery.png")


def plot(prim: Prim, box: pd.DataFrame, summary: dict, path: Path) -> None:
    """Left: the peeling trajectory. Right: the chosen box within each parameter's range."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    traj = prim.trajectory
    fig, (left, right) = plt.subplots(1, 2, figsize=(13, 5.5))
    left.plot(traj["coverage"], traj["density"], color="0.75", zorder=0)
    dots = left.scatter(traj["coverage"], traj["density"], c=traj["n_restricted"], cmap="viridis")
    fig.colorbar(dots, ax=left, label="restricted parameters")
    chosen = traj.iloc[prim.chosen]
    left.scatter(chosen["coverage"], chosen["density"], s=200, facecolors="none", edgecolors="red")
    left.set(xlabel="coverage", ylabel="density", xlim=(0, 1.02), ylim=(0, 1.02))
    left.set_title(f"peeling trajectory: {plain(summary['outcome'])}", fontsize=10)
    shown = box[box["restricted"]] if box["restricted"].any() else box
    span = (shown["full_high"] - shown["full_low"]).replace(0, 1)
    start = (shown["low"] - shown["full_low"]) / span
    width = (shown["high"] - shown["low"]) / span
    names = [plain(p) for p in shown["parameter"]]
    right.barh(names, np.ones(len(shown)), color="0.85")
    right.barh(names, width, left=start, color="tab:red", alpha=0.7)
    for i, row in enumerate(shown.itertuples()):
        right.text(0.01, i, f"{row.low:.3g} .. {row.high:.3g}", va="center", fontsize=8)
    right.set(xlim=(0, 1), xlabel="share of the sampled range")
    right.set_title(
        f"box at step {prim.chosen}: coverage {summary['coverage']:.2f}, "
        f"density {summary['density']:.2f}",
        fontsize=10,
    )
    right.tick_params(axis="y", labelsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def format_discovery(d: Discovery) -> str:
    s = d.summary
    lines = [
        f"PRIM on {s['directory']}: {s['outcome']} in {s['outcome_runs']} of {s['runs']} runs "
        f"({s['points']} points; base density {s['base_density']:.3f})",
        "peeling trajectory (step: coverage, density, mass, restricted parameters):",
    ]
    traj = d.prim.trajectory
    # a dozen steps spread over the trajectory, and the chosen one (trajectory.csv has all)
    shown = set(np.linspace(0, len(traj) - 1, min(len(traj), 12)).round().astype(int))
    for row in traj[traj["step"].isin(shown | {d.prim.chosen})].itertuples():
        mark = "  <- chosen" if row.step == d.prim.chosen else ""
        lines.append(
            f"  {row.step:>3}: {row.coverage:.3f}  {row.density:.3f}  {row.mass:.3f}"
            f"  {row.n_restricted}{mark}"
        )
    lines.append(
        f"box (step {s['step']}): coverage {s['coverage']:.3f}, density {s['density']:.3f}, "
        f"mass {s['mass']:.3f}"
    )
    restricted = d.box[d.box["restricted"]]
    if restricted.empty:
        lines.append("  no parameter restricted: the outcome is not concentrated in any range")
    for row in restricted.itertuples():
        lines.append(
            f"  {row.parameter:<40} {row.low:.4g} .. {row.high:.4g}  "
            f"(of {row.full_low:.4g} .. {row.full_high:.4g}; qp {row.qp_value:.2g})"
            + ("  possibly noise (qp > 0.05)" if row.qp_value > 0.05 else "")
        )
    return "\n".join(lines)
