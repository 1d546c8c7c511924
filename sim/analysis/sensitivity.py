"""Global sensitivity analysis of the model's outcomes over the scenario's ``[ranges]``.

SALib draws the design (Morris trajectories or Saltelli/Sobol' points) in the unit
hypercube scaled to the ranges; every design point becomes a sweep point of an ordinary
batch (so workers, resume, the Dask backend and the manifest all apply); SALib then
analyses one number per point and outcome.

The model is stochastic, while Morris and Sobol' assume a deterministic function of the
parameters. Each point is therefore run ``replicates`` times and the outcome is the mean
over them (a probability, an expectation, a median): the analysis sees an estimate of
E[outcome | parameters]. Replicate *i* uses the same seed at every point (common random
numbers, as in every batch), so the differences between neighbouring points that Morris's
elementary effects are made of are not swamped by independent noise. What noise is left
shows up as spurious sigma (Morris) or spurious first-order/total indices (Sobol'); the
summary reports it as ``noise_share``: the mean squared standard error of a point's
outcome over the variance of the outcome across points. Near 0 the ranking is about the
parameters; near 1 it is about the dice, and more replicates are needed.
"""

from __future__ import annotations

import os
import shutil
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from SALib.analyze import morris as morris_analyze
from SALib.analyze import sobol as sobol_analyze
from SALib.sample import morris as morris_sample
from SALib.sample import sobol as sobol_sample

from sim.analysis.safe_text import plain
from sim.analysis.settings import DEFAULT_SAMPLES, SENSITIVITY_METHODS
from sim.batch.experiment import prepare
from sim.batch.outputs import ResultsError, write_json
from sim.batch.results import load_results
from sim.batch.runner import BatchResult, run_batch
from sim.engine.outcomes import POINT_STATISTICS
from sim.scenario.loading import ScenarioError, resolve_raw, validate
from sim.scenario.ranges import Range, parse_ranges, select
from sim.scenario.sweep import check_design_size

METHODS = SENSITIVITY_METHODS
#: The index each method ranks by, and the columns of its CSV.
RANK_BY = {"morris": "mu_star", "sobol": "ST"}
COLUMNS = {
    "morris": ["mu_star", "mu_star_conf", "sigma", "mu"],
    "sobol": ["S1", "S1_conf", "ST", "ST_conf"],
}
#: The outcomes analysed, one number per design point (sim.engine.outcomes.POINT_STATISTICS).
OUTCOMES = {s.name: s.label for s in POINT_STATISTICS}
RUN_COLUMNS = ["point", *dict.fromkeys(s.outcome for s in POINT_STATISTICS), "error"]
SUBDIR = "sensitivity"
TOP = 5
# Seed streams besides the batch's runs (which use spawn keys 0..replicates-1).
_SAMPLE_STREAM, _ANALYSIS_STREAM = 0x53414D50, 0x414E4C59


def problem(ranges: list[Range]) -> dict[str, Any]:
    """SALib's problem definition for these ranges."""
    return {
        "num_vars": len(ranges),
        "names": [r.key for r in ranges],
        "bounds": [[r.low, r.high] for r in ranges],
    }


def _rng(seed: int, stream: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence([seed, stream]))


def check_options(method: str, samples: int, replicates: int, levels: int, file: str) -> None:
    if method not in METHODS:
        raise ScenarioError(file, "--method", f"must be one of {', '.join(METHODS)}")
    if replicates < 1:
        raise ScenarioError(file, "--replicates", f"must be a positive integer (got {replicates})")
    if method == "morris":
        if samples < 2:
            raise ScenarioError(
                file, "--samples", f"Morris needs at least 2 trajectories (got {samples})"
            )
        if levels < 2 or levels % 2:
            raise ScenarioError(file, "--levels", f"must be an even number >= 2 (got {levels})")
    elif samples < 2 or samples & (samples - 1):
        raise ScenarioError(
            file,
            "--samples",
            f"Sobol' sampling needs a power of 2 (2, 4, ..., 64, 128, ...), got {samples}",
        )


def sample(prob: dict, method: str, samples: int, seed: int, levels: int = 4) -> np.ndarray:
    """The design: Morris trajectories (N * (D+1) rows) or Saltelli points (N * (D+2))."""
    rng = _rng(seed, _SAMPLE_STREAM)
    if method == "morris":
        return morris_sample.sample(prob, samples, num_levels=levels, seed=rng)
    return sobol_sample.sample(prob, samples, calc_second_order=False, seed=rng)


def analyze(
    prob: dict, x: np.ndarray, y: np.ndarray, method: str, seed: int, levels: int = 4
) -> pd.DataFrame:
    """Indices with 95% confidence intervals, one row a parameter, sorted by rank.

    Rank 1 is the most influential (largest mu* or total index). An outcome that does not
    vary over the design has no ranking: its indices are 0 and its ranks are missing.
    """
    names = prob["names"]
    columns = COLUMNS[method]
    if np.ptp(y) == 0:
        frame = pd.DataFrame({c: np.zeros(len(names)) for c in columns})
        frame.insert(0, "parameter", names)
        frame["rank"] = pd.array([pd.NA] * len(names), dtype="Int64")
        return frame
    rng = _rng(seed, _ANALYSIS_STREAM)
    # SALib warns as it goes ("Constant values encountered" when some resample is
    # constant): kept, and summarised in one line per outcome, not printed raw
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        if method == "morris":
            res = morris_analyze.analyze(
                prob, x, y, num_resamples=1000, conf_level=0.95, num_levels=levels, seed=rng
            )
        else:
            res = sobol_analyze.analyze(
                prob, y, calc_second_order=False, num_resamples=1000, conf_level=0.95, seed=rng
            )
    frame = pd.DataFrame({c: np.asarray(res[c], dtype=float) for c in columns})
    frame.insert(0, "parameter", names)
    key = RANK_BY[method]
    frame["rank"] = (
        frame[key].rank(ascending=False, method="first", na_option="bottom").astype("Int64")
    )
    frame = frame.sort_values("rank", kind="stable").reset_index(drop=True)
    frame.attrs["warnings"] = [
        str(w.message) for w in caught if not issubclass(w.category, RuntimeWarning)
    ]  # numpy's on NaN indices stay silent, as before
    return frame


def point_outcomes(runs: pd.DataFrame, horizons: list[int]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Each point's outcomes (means over its replicates) and their squared standard errors.

    Runs that raised are left out. A median of weeks needs a value for runs that formed no
    government: they count at the horizon, so the median is a lower bound when over half
    formed none (and then equals the horizon).
    """
    n_points = len(horizons)
    ok = runs[runs["error"].isna()].copy()
    counts = ok.groupby("point").size().reindex(range(n_points), fill_value=0)
    empty = counts.index[counts == 0].tolist()
    if empty:
        raise ResultsError(
            f"{len(empty)} design point(s) have no successful run (first: point {empty[0]}); "
            "see the 'error' column of the run table"
        )
    horizon = np.asarray(horizons, dtype=float)[ok["point"].to_numpy()]
    per_run = pd.DataFrame({"point": ok["point"].to_numpy()})
    for stat in POINT_STATISTICS:
        column = ok[stat.outcome]
        if stat.statistic == "share":
            values = (column == stat.value).astype(float).to_numpy()
        elif stat.statistic == "at_least":
            values = (column >= stat.value).astype(float).to_numpy()
        elif stat.statistic == "median":  # runs without the event count at the horizon
            weeks = column.astype(float).to_numpy()
            values = np.where(np.isnan(weeks), horizon, weeks)
        else:
            values = column.astype(float).to_numpy()
        per_run[stat.name] = values
    grouped = per_run.groupby("point")
    means = grouped.mean()
    se2 = grouped.var(ddof=1).div(counts, axis=0)
    for stat in POINT_STATISTICS:
        if stat.statistic == "median":
            means[stat.name] = grouped[stat.name].median()
            se2[stat.name] = np.nan  # no simple standard error for a median
    means.insert(0, "runs", counts)
    return means[["runs", *OUTCOMES]], se2[list(OUTCOMES)]


def noise_share(y: np.ndarray, se2: np.ndarray) -> float | None:
    """Mean squared standard error over the variance across points (None if unknown)."""
    var = float(np.var(y, ddof=1)) if len(y) > 1 else 0.0
    if var == 0 or np.isnan(se2).all():
        return None
    return round(float(np.nanmean(se2)) / var, 4)


@dataclass
class SensitivityResult:
    out: Path
    batch: BatchResult
    summary: dict
    tables: dict[str, pd.DataFrame]


def design(
    path: str | Path,
    method: str,
    samples: int,
    seed: int | None,
    params: list[str] | None = None,
    levels: int = 4,
) -> tuple[list[Range], np.ndarray, list[dict[str, float]], int]:
    """Ranges, the SALib sample, the sweep points it becomes, and the seed used."""
    file = str(path)
    raw, origin = resolve_raw(path)
    scenario = validate(raw, origin, file)
    ranges = select(parse_ranges(raw, origin, file), params, file)
    size = samples * (len(ranges) + (1 if method == "morris" else 2))  # before SALib draws it
    what = f"{samples} {method} samples over {len(ranges)} parameters: the design"
    check_design_size(size, what, "use fewer samples, or --param", file, "--samples", raw)
    seed = scenario.seed if seed is None else seed
    x = sample(problem(ranges), method, samples, seed, levels)
    points = [{r.key: r.value(v) for r, v in zip(ranges, row, strict=True)} for row in x]
    return ranges, x, points, seed


def run_sensitivity(
    path: str | Path,
    out: str | Path,
    method: str = SENSITIVITY_METHODS[0],
    samples: int = DEFAULT_SAMPLES[SENSITIVITY_METHODS[0]],
    replicates: int = 10,
    seed: int | None = None,
    params: list[str] | None = None,
    levels: int = 4,
    workers: int | None = None,
    backend: str = "local",
    scheduler: str | None = None,
    overwrite: bool = False,
    quiet: bool = False,
) -> SensitivityResult:
    """Sample, run the design as a batch into ``out``, analyse, write ``out/sensitivity/``."""
    check_options(method, samples, replicates, levels, str(path))
    ranges, x, points, seed = design(path, method, samples, seed, params, levels)
    exp = prepare(path, runs=replicates, seed=seed, points=points)
    out = Path(out)
    batch = run_batch(
        exp,
        out,
        workers=workers,
        backend=backend,
        scheduler=scheduler,
        overwrite=overwrite,
        quiet=quiet,
    )
    runs = load_results(out, columns=RUN_COLUMNS)
    means, se2 = point_outcomes(runs, [p.scenario.clock.horizon_weeks for p in exp.points])
    prob = problem(ranges)
    tables = {
        name: analyze(prob, x, means[name].to_numpy(), method, seed, levels) for name in OUTCOMES
    }
    summary = {
        "method": method,
        "samples": samples,
        "levels": levels if method == "morris" else None,
        "replicates": replicates,
        "seed": seed,
        "scenario": str(path),
        "points": len(points),
        "runs": exp.total_runs,
        "failed_runs": batch.failed,
        "rank_by": RANK_BY[method],
        "parameters": {r.key: r.as_dict() for r in ranges},
        "outcomes": {
            name: _outcome_summary(name, tables[name], means[name].to_numpy(), se2[name], method)
            for name in OUTCOMES
        },
    }
    design_table = pd.DataFrame(x, columns=prob["names"])
    design_table.insert(0, "point", range(len(points)))
    write_outputs(out / SUBDIR, summary, tables, design_table.join(means, on="point"), method)
    return SensitivityResult(out, batch, summary, tables)


def _outcome_summary(
    name: str, table: pd.DataFrame, y: np.ndarray, se2: pd.Series, method: str
) -> dict:
    ranked = table.dropna(subset=["rank"]).head(TOP)
    cols = COLUMNS[method]
    return {
        "label": OUTCOMES[name],
        "mean": _number(np.mean(y)),
        "min": _number(np.min(y)),
        "max": _number(np.max(y)),
        "constant": bool(np.ptp(y) == 0),
        "noise_share": noise_share(y, se2.to_numpy()),
        "salib_warnings": list(table.attrs.get("warnings", [])),
        "top": [
            {"parameter": row.parameter, "rank": int(row.rank)}
            | {c: _number(getattr(row, c)) for c in cols}
            for row in ranked.itertuples()
        ],
    }


def _number(x: float) -> float | None:
    """A JSON-safe number (SALib gives NaN for indices it cannot estimate)."""
    return None if np.isnan(x) else round(float(x), 6)


@contextmanager
def replaced_dir(target: Path) -> Iterator[Path]:
    """Yield a fresh directory beside ``target``; on success swap it in for ``target``.

    An error while writing leaves the previous ``target`` untouched (never half-written).
    """
    tmp = target.with_name(f".{target.name}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    try:
        yield tmp
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    old = target.with_name(f".{target.name}.old")
    shutil.rmtree(old, ignore_errors=True)
    if target.exists():
        os.replace(target, old)
    os.replace(tmp, target)
    shutil.rmtree(old, ignore_errors=True)


def write_outputs(
    target: Path, summary: dict, tables: dict[str, pd.DataFrame], points: pd.DataFrame, method: str
) -> None:
    with replaced_dir(target) as tmp:
        for name, table in tables.items():
            table.to_csv(tmp / f"{name}.csv", index=False)
        points.to_csv(tmp / "points.csv", index=False)
        write_json(tmp / "summary.json", summary)
        plot(tables, summary, method, tmp / "sensitivity.png")


def plot(tables: dict[str, pd.DataFrame], summary: dict, method: str, path: Path) -> None:
    """One panel per outcome: the top parameters' main index with its interval."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    key = RANK_BY[method]
    fig, axes = plt.subplots(2, 4, figsize=(18, 8.5))
    for ax, (name, table) in zip(axes.flat, tables.items(), strict=False):
        top = table.head(8).iloc[::-1]
        labels = [plain(".".join(p.split(".")[-2:])) for p in top["parameter"]]
        ax.barh(labels, top[key], xerr=top[f"{key}_conf"], color="tab:blue", label=key)
        other = "sigma" if method == "morris" else "S1"
        ax.plot(top[other], labels, "o", color="tab:orange", label=other)
        ax.set_title(OUTCOMES[name], fontsize=10)
        ax.tick_params(axis="y", labelsize=8)
        if summary["outcomes"][name]["constant"]:
            ax.text(0.5, 0.5, "constant over the design", transform=ax.transAxes, ha="center")
    axes.flat[0].legend(fontsize=8, loc="lower right")
    last = axes.flat[-1]
    last.axis("off")
    last.text(
        0,
        0.5,
        f"{plain(summary['scenario'])}\n{method}, {summary['samples']} samples:\n"
        f"{summary['points']} points x {summary['replicates']} replicates\n"
        f"seed {summary['seed']}\n\nbars: {key}\n(95% interval)\ndots: {other}",
        fontsize=9,
    )
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def format_summary(summary: dict) -> str:
    """The top parameters per outcome, as printed by ``sim sensitivity``."""
    key = summary["rank_by"]
    lines = [
        f"{summary['method']} sensitivity of {summary['scenario']}: {summary['points']} points "
        f"x {summary['replicates']} replicates (seed {summary['seed']}), ranked by {key}"
    ]
    for info in summary["outcomes"].values():
        noise = info["noise_share"]
        head = f"{info['label']} (mean {info['mean']:.3g}, "
        head += f"range {info['min']:.3g}-{info['max']:.3g}"
        head += f", noise share {noise:.2f})" if noise is not None else ")"
        lines.append(head)
        if info["constant"]:
            lines.append("    constant over the design: no ranking")
        for item in info["top"]:
            conf = item.get(f"{key}_conf")
            lines.append(
                f"  {item['rank']:>2}. {item['parameter']:<40} {key} {item[key]:8.4f}"
                + (f" ± {conf:.4f}" if conf is not None else "")
            )
    note = salib_note(summary)
    return "\n".join(lines + ([note] if note else []))


def salib_note(summary: dict) -> str:
    """SALib's warnings over every outcome, in one line ("" when it gave none)."""
    warned = {
        info["label"]: info.get("salib_warnings") or []
        for info in summary["outcomes"].values()
        if info.get("salib_warnings")
    }
    if not warned:
        return ""
    messages: dict[str, int] = {}
    for found in warned.values():
        for message in found:
            messages[message] = messages.get(message, 0) + 1
    said = "; ".join(f"{m.strip()} ({k} time(s))" for m, k in messages.items())
    return f"note: SALib warned while analysing {', '.join(warned)}: {said}"
