"""Comparing batches: every outcome's probability or distribution per scenario with a 95%
interval, its difference from the first scenario with an interval and a test, and a
correction for the many tests one table holds.

``compare`` returns a long table, one row per outcome (value or statistic) and scenario.
Its columns, in this order, are also the header of ``sim compare --csv``:

=============  ===========================================================================
outcome        run-table column: government_type, pm_kind, pmf_status, max_escalation,
               pm_faction, formed, blocking_third, incumbent_survived, weeks_to_government,
               casualties
value          the category ("majority", "3", "true"; for pm_faction a list's name,
               "(no government)" or "(PM without a party)"); empty for numeric outcomes
statistic      "probability" for categories; q10, q25, median, q75, q90 (and mean for
               casualties) for numeric outcomes
scenario       the batch's label (its scenario name, or PARAM=value with ``by``)
n              runs counted (runs that raised an error are excluded)
estimate       the probability, quantile or mean
ci_low         95% interval of the estimate: Wilson for probabilities, bootstrap
ci_high        percentile for quantiles and means
diff           estimate minus the first scenario's (empty on the first scenario's rows)
diff_low       95% interval of the difference: Newcombe's hybrid score interval (its paired
diff_high      form under common random numbers) for probabilities; bootstrap otherwise
test           the test of the difference (on probability and median rows)
p_value        its two-sided p-value
p_adjusted     after Holm's (default) or Benjamini-Hochberg's correction over every test
significant    p_adjusted < alpha (on a median row, also a difference that is not 0)
pairing        "reference", "paired: common random numbers (...)" or "unpaired: ..."
excluded       runs left out of this scenario because they raised an error
=============  ===========================================================================

Tests: with common random numbers (replicate *i* of both batches ran on the same seed, so
their outcomes are pairs; batches of different sizes pair on the seeds both hold, and the
pairing column says how many) the paired tests are used -- McNemar's exact test for a category,
Wilcoxon's signed-rank test for a numeric outcome -- which remove the noise both batches
share. Otherwise (different seeds, or ``paired=False``): chi-square, or Fisher's exact test
when an expected count is below 5; Mann-Whitney U (or Kolmogorov-Smirnov with
``numeric_test="ks"``) for numeric outcomes.

The CSV keeps these machine names; what a reader sees (the terminal table, the report)
names outcomes, values and rungs in words (``sim.labels``).

Runs without a government count as taking *longer than the horizon* (+inf weeks), so the
quantiles of weeks_to_government are those of time to government over all runs, as in a
survival analysis; a quantile of +inf means "not reached by the horizon".
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
from scipy import stats

from sim.analysis.gamson import SHARE_COLUMNS
from sim.analysis.labels import NO_GOVERNMENT, NO_PARTY, actor_labels
from sim.analysis.settings import CORRECTIONS, NUMERIC_TESTS
from sim.analysis.statistics import (
    QUANTILES,
    bootstrap,
    difference,
    distribution_test,
    holm,
    mcnemar,
    newcombe_interval,
    paired_bootstrap,
    paired_newcombe_interval,
    percentile_interval,
    proportion_test,
    summaries,
)
from sim.batch.results import column_names, load_manifest, load_results
from sim.engine.outcomes import COMPARED_CATEGORIES, COMPARED_NUMBERS, Kind, wilson_interval

TABLE_COLUMNS = [
    "outcome", "value", "statistic", "scenario", "n", "estimate", "ci_low", "ci_high",
    "diff", "diff_low", "diff_high", "test", "p_value", "p_adjusted", "significant",
    "pairing", "excluded",
]  # fmt: skip
#: Categorical outcomes and their values (None: the values found in the runs), and the
#: statistics of numeric ones (a mean only for counts): from the registry, sim.outcomes.
CATEGORICAL: dict[str, list | None] = dict(COMPARED_CATEGORIES)
NUMERIC = {
    o.name: [*QUANTILES, *(["mean"] if o.kind is Kind.COUNT else [])] for o in COMPARED_NUMBERS
}
RUN_COLUMNS = ["run_id", "seed", *CATEGORICAL, *NUMERIC, "error"]
SERIES = ["escalation_by_week", "grievance_by_week"]  # for the report's fan charts


class CompareError(Exception):
    """Batches that cannot be compared (missing directory, unknown --by parameter...)."""


@dataclass
class Batch:
    """One scenario's runs: a batch directory, or one value of a swept parameter."""

    label: str
    source: str
    manifest: dict
    runs: pd.DataFrame  # runs without an error
    failed: int
    key_columns: list[str] = field(default_factory=lambda: ["seed"])
    all_keys: frozenset = frozenset()  # replicate identities, errored runs included


# --------------------------------------------------------------------------- loading
def _read_dir(path: Path, series: bool, shares: bool) -> tuple[dict, pd.DataFrame]:
    if not path.is_dir():
        raise CompareError(f"{path}: no such batch directory")
    manifest = load_manifest(path)
    swept = (manifest.get("sweep") or {}).get("parameters") or []
    columns = RUN_COLUMNS + (["point", *swept] if swept else [])
    present = set(column_names(path))
    # the weekly series and the cabinet and seat shares a batch holds (older tables lack some)
    columns += [c for c in SERIES if series and c in present]
    columns += [c for c in SHARE_COLUMNS if shares and c in present]
    columns += [c for c in (EVENT_WEEKS,) if c in present]  # the scenario's events
    try:
        frame = load_results(path, columns=columns)
    except (pa.ArrowInvalid, KeyError) as exc:
        raise CompareError(f"{path}: the run table lacks a column this needs ({exc})") from None
    return manifest, frame


EVENT_WEEKS = "event_weeks"


def events_fired(batches: list[Batch]) -> pd.DataFrame:
    """Which scenario events fired in each batch, and how often: per batch and event, the
    share of runs it fired in (with its 95% interval) and the median week it first fired.
    Empty when no batch's scenario has events."""
    rows = []
    for b in batches:
        if EVENT_WEEKS not in b.runs or b.runs.empty:
            continue
        weeks = b.runs[EVENT_WEEKS].map(lambda m: dict(m) if m is not None else {})
        names = list(dict.fromkeys(name for d in weeks for name in d))
        for name in names:
            fired = weeks.map(lambda d, n=name: d.get(n))
            hit = fired.notna()
            lo, hi = wilson_interval(int(hit.sum()), len(hit))
            median = float(fired[hit].median()) if hit.any() else float("nan")
            rows.append((b.label, name, hit.mean(), lo, hi, median))
    columns = ["scenario", "event", "fired", "low", "high", "median_week"]
    return pd.DataFrame(rows, columns=columns)


def _batch(label, source, manifest, frame, key_columns) -> Batch:
    error = frame["error"].fillna("").astype(str).str.len() > 0
    runs = frame[~error].reset_index(drop=True)
    if runs.empty:
        raise CompareError(f"{source}: every run failed ({int(error.sum())}); nothing to compare")
    keys = frozenset(frame[key_columns].itertuples(index=False, name=None))
    if len(keys) < len(frame):  # replicates are not identified uniquely: no pairing
        keys = frozenset()
    return Batch(label, source, manifest, runs, int(error.sum()), key_columns, keys)


def load_batches(
    dirs: Iterable[str | Path],
    by: str | None = None,
    series: bool = False,
    minimum: int = 1,
    shares: bool = False,
) -> list[Batch]:
    """The batches to compare: one per directory, or one per value of ``by`` in a sweep.

    ``series`` also loads the weekly series (``SERIES``, for fan charts), ``shares`` the
    cabinet and seat shares (``sim.gamson``); fewer than ``minimum`` batches is an error
    (``sim compare`` needs two)."""
    batches: list[Batch] = []
    for d in dirs:
        path = Path(d)
        manifest, frame = _read_dir(path, series, shares)
        swept = (manifest.get("sweep") or {}).get("parameters") or []
        if by is None:  # a sweep without --by is pooled over its points, and says so
            keys = ["seed", "point"] if swept else ["seed"]
            label = manifest.get("scenario_name") or path.name
            if swept:
                label += f" (pooled over {len(manifest['sweep'].get('points', []))} sweep points)"
            batches.append(_batch(label, str(path), manifest, frame, keys))
            continue
        if by not in swept:
            allowed = f"allowed: {', '.join(swept)}" if swept else "it is not a sweep"
            raise CompareError(f"--by {by}: not a swept parameter of {path} ({allowed})")
        # replicate i at the other parameters' values is the same run in every group
        keys = ["seed", *(k for k in swept if k != by)]
        for value, group in frame.groupby(by, sort=True):
            label = f"{by}={value:g}"
            batches.append(_batch(label, f"{path} [{label}]", manifest, group, keys))
    _unique_labels(batches)
    if len(batches) < minimum:
        raise CompareError(
            f"need at least {minimum} scenarios to compare, got {len(batches)} "
            "(give more batch directories, or a sweep with --by PARAM)"
        )
    return batches


def _unique_labels(batches: list[Batch]) -> None:
    """Scenario names, made unique with their directories (two runs of one scenario)."""
    labels = [b.label for b in batches]
    for b in batches:
        if labels.count(b.label) > 1:
            b.label = f"{b.label} ({b.source})"
    labels = [b.label for b in batches]
    for i, b in enumerate(batches):  # still the same (rounded sweep values): number them
        if labels.count(b.label) > 1:
            b.label = f"{b.label} #{i + 1}"


def as_batches(items, by: str | None = None, series: bool = False, minimum: int = 1):
    """Accept directories, Batch objects, or one list of either (the API's convenience)."""
    if len(items) == 1 and isinstance(items[0], list | tuple):
        items = items[0]
    if items and all(isinstance(b, Batch) for b in items):
        return list(items)
    return load_batches(items, by=by, series=series, minimum=minimum)


# --------------------------------------------------------------------------- the table
def _as_label(value) -> str:
    return str(value).lower() if isinstance(value, bool | np.bool_) else str(value)


def category_labels(frame: pd.DataFrame, outcome: str, suffix: str = "") -> pd.Series:
    """A categorical outcome of a run table (``suffix``: of one side of a joined table) as
    strings ("true", "3", "majority", or a list's name).

    The prime minister's list is null in two different cases: no government formed, or a
    PM from no list (the incumbent, a compromise figure); the government type tells them
    apart, and they get separate values."""
    series = frame[f"{outcome}{suffix}"]
    if outcome == "pm_faction":
        none = frame[f"government_type{suffix}"].astype(str).eq("none").to_numpy()
        filler = pd.Series(np.where(none, NO_GOVERNMENT, NO_PARTY), index=series.index)
        return series.where(series.notna(), filler).astype(str)
    return series.map(_as_label)


def numeric_values(frame: pd.DataFrame, column: str) -> np.ndarray:
    """A numeric outcome as floats; no government by the horizon counts as +inf weeks."""
    values = pd.to_numeric(frame[column]).astype(float).to_numpy()
    return np.where(np.isnan(values), np.inf, values)


def _pairing(ref: Batch, other: Batch, paired: bool) -> tuple[str, pd.DataFrame | None]:
    """Whether ``other`` can be compared with ``ref`` run by run (common random numbers).

    Runs pair on the replicates both batches hold, whatever their counts: a 300-run batch
    against a 2,000-run one with the same seed pairs on its 300 shared seeds. Each
    scenario's own estimate still uses all its runs; differences, their intervals and
    tests use the pairs.
    """
    if other.key_columns != ref.key_columns:
        keys = f"{', '.join(other.key_columns)} vs {', '.join(ref.key_columns)}"
        return f"unpaired: runs not matched one to one (replicates keyed by {keys})", None
    if not (ref.all_keys and other.all_keys):
        return "unpaired: replicates not identified uniquely", None
    shared = len(ref.all_keys & other.all_keys)
    if not shared:
        s0, s1 = ref.manifest.get("seed"), other.manifest.get("seed")
        why = f"different batch seeds ({s1} vs {s0})" if s0 != s1 else "no run shares a seed"
        return f"unpaired: {why}, no common random numbers", None
    if not paired:
        return f"unpaired (as asked), although {shared} seeds are common", None
    joined = other.runs.merge(ref.runs, on=ref.key_columns, suffixes=("_k", "_0"))
    if joined.empty:
        return "unpaired: no run succeeded in both", None
    counts = (len(other.all_keys), len(ref.all_keys))
    of = "" if counts[0] == counts[1] == shared else f" of {counts[0]} and {counts[1]} runs"
    return f"paired: common random numbers ({len(joined)} shared seeds{of})", joined


def _row(outcome, value, statistic, batch, n, estimate, low, high, pairing) -> dict:
    return {
        "outcome": outcome,
        "value": value,
        "statistic": statistic,
        "scenario": batch.label,
        "n": n,
        "estimate": float(estimate),
        "ci_low": float(low),
        "ci_high": float(high),
        "pairing": pairing,
        "excluded": batch.failed,
    }


def _categorical_rows(batches: list[Batch], pairings) -> list[dict]:
    rows = []
    for outcome, values in CATEGORICAL.items():
        labels = [category_labels(b.runs, outcome) for b in batches]
        if values is None:
            values = sorted(set().union(*labels))
        for value in map(_as_label, values):
            hits = [int((lab == value).sum()) for lab in labels]
            n0, k0 = len(labels[0]), hits[0]
            for i, (b, (note, joined)) in enumerate(zip(batches, pairings, strict=True)):
                n, k = len(labels[i]), hits[i]
                row = _row(outcome, value, "probability", b, n, k / n, *wilson_interval(k, n), note)
                if i and joined is None:
                    row["diff"] = k / n - k0 / n0
                    row["diff_low"], row["diff_high"] = newcombe_interval(k, n, k0, n0)
                    row["test"], row["p_value"] = proportion_test(k, n, k0, n0)
                elif i:
                    xk = (category_labels(joined, outcome, "_k") == value).to_numpy()
                    x0 = (category_labels(joined, outcome, "_0") == value).to_numpy()
                    cells = [int(c.sum()) for c in (xk & x0, xk & ~x0, ~xk & x0, ~xk & ~x0)]
                    row["diff"] = (cells[1] - cells[2]) / len(joined)
                    row["diff_low"], row["diff_high"] = paired_newcombe_interval(*cells)
                    row["test"], row["p_value"] = mcnemar(cells[1], cells[2])
                rows.append(row)
    return rows


def _point(x: np.ndarray, names: list[str]) -> np.ndarray:
    return summaries(*np.unique(x, return_counts=True), names)


def _numeric_rows(batches, pairings, numeric_test, n_boot, seed) -> list[dict]:
    rows = []
    for o, (outcome, names) in enumerate(NUMERIC.items()):
        xs = [numeric_values(b.runs, outcome) for b in batches]
        estimates = [_point(x, names) for x in xs]
        boots = [
            bootstrap(x, names, np.random.default_rng([seed, o, i]), n_boot)
            for i, x in enumerate(xs)
        ]
        per_scenario = []
        for i, (b, (note, joined)) in enumerate(zip(batches, pairings, strict=True)):
            low, high = percentile_interval(boots[i])
            new = [
                _row(outcome, "", name, b, len(xs[i]), estimates[i][j], low[j], high[j], note)
                for j, name in enumerate(names)
            ]
            if i:
                paired_diff = None
                if joined is None:
                    diff = difference(estimates[i], estimates[0])
                    replicates = difference(boots[i], boots[0])
                else:
                    xk, x0 = (numeric_values(joined, f"{outcome}{s}") for s in ("_k", "_0"))
                    diff = difference(_point(xk, names), _point(x0, names))
                    rng = np.random.default_rng([seed, o, i, 1])
                    replicates = paired_bootstrap(xk, x0, names, rng, n_boot)
                    paired_diff = difference(xk, x0)
                dlow, dhigh = percentile_interval(replicates)
                for j, row in enumerate(new):
                    row.update(diff=diff[j], diff_low=dlow[j], diff_high=dhigh[j])
                test = distribution_test(xs[i], xs[0], paired_diff, numeric_test)
                new[names.index("median")].update(test=test[0], p_value=test[1])
            per_scenario.append(new)
        # one block per statistic, scenario beside scenario (as for the categories)
        rows += [r for block in zip(*per_scenario, strict=True) for r in block]
    return rows


def _adjust(table: pd.DataFrame, correction: str, alpha: float) -> None:
    tested = table["p_value"].notna()
    p = table.loc[tested, "p_value"].to_numpy(float)
    if len(p):
        adjusted = holm(p) if correction == "holm" else stats.false_discovery_control(p)
        table.loc[tested, "p_adjusted"] = adjusted
    significant = (table["p_adjusted"] < alpha).fillna(False).astype(bool)
    # a median row carries its outcome's distribution test, which can reject while the
    # median itself stays where it was: a zero difference in the median gets no star
    unmoved = (table["statistic"] == "median") & (table["diff"] == 0)
    table["significant"] = significant & ~unmoved


def describe(batch: Batch) -> dict:
    m = batch.manifest
    return {
        "label": batch.label,
        "source": batch.source,
        "scenario": m.get("scenario_name"),
        "scenario_hash": m.get("scenario_hash", ""),
        "seed": m.get("seed"),
        "runs": len(batch.runs),
        "failed": batch.failed,
    }


def compare(
    *batches,
    by: str | None = None,
    paired: bool = True,
    correction: str = "holm",
    alpha: float = 0.05,
    numeric_test: str = "mannwhitney",
    n_boot: int = 1000,
    seed: int = 0,
) -> pd.DataFrame:
    """The comparison table of batch directories (or Batch objects); the first is the
    reference. See the module docstring for the columns. ``seed`` fixes the bootstrap, so
    the table is reproducible; ``table.attrs`` describes the batches and the correction."""
    if correction not in CORRECTIONS:
        raise CompareError(f"correction {correction!r}: allowed {', '.join(CORRECTIONS)}")
    if numeric_test not in NUMERIC_TESTS:
        raise CompareError(f"numeric test {numeric_test!r}: allowed {', '.join(NUMERIC_TESTS)}")
    items = as_batches(batches, by=by)
    pairings = [("reference", None)] + [_pairing(items[0], b, paired) for b in items[1:]]
    rows = _categorical_rows(items, pairings) + _numeric_rows(
        items, pairings, numeric_test, n_boot, seed
    )
    table = pd.DataFrame(rows, columns=TABLE_COLUMNS)
    table["value"] = table["value"].fillna("")
    table["test"] = table["test"].astype(object).fillna("")  # all NaN for one batch
    _adjust(table, correction, alpha)
    table.attrs.update(
        batches=[describe(b) for b in items],
        pairings=[p for p, _ in pairings],
        correction=correction,
        alpha=alpha,
        tests=int(table["p_value"].notna().sum()),
        # what a reader calls each list and bloc (the table's values keep the ids)
        labels={k: v for b in items for k, v in actor_labels(b.manifest.get("scenario")).items()},
    )
    return table
