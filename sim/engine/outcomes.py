"""What one run reports (EMA Workbench's *outcomes*), declared once.

``OUTCOMES`` is the registry: each outcome's name, Arrow type, kind, categories, a human
label and a one-line meaning. Everything that lists outcomes derives from it: the run
table's Parquet schema (``arrow_fields``), the per-run record compiled code fills
(``sim.run_record``), a run's row, the run summary (``OutcomeTally``),
``sim compare``'s outcome list, the sensitivity outcomes and the report's labels. Adding an
outcome is one entry here plus the line of ``sim.engine.run_record.record_outcome`` that
computes it (a list, series, shares or family names its array in ``source``).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import numpy as np
import pyarrow as pa

from sim.engine.enums import EscalationLevel, GovernmentType, Labelled, PMFStatus, PMKind

LEVELS = tuple(range(len(EscalationLevel)))


class Kind(StrEnum):
    CATEGORY = "category"  # one of a fixed list of values
    YES_NO = "yes-no"
    COUNT = "count"
    WEEKS = "weeks"  # counted from election day; null when it never happened
    NUMBER = "number"
    NAME = "name"  # a faction's or a bloc's name; null for none
    NAMES = "names"  # a list of factions' names
    SERIES = "series"  # one value a week, from the start week
    EVENT_WEEKS = "event weeks"  # the weeks an event happened, once per event
    SHARES = "shares"  # a share per faction (a map from name to share)
    FIRED = "fired"  # each scenario event's first week (a map from name to week, or null)


@dataclass(frozen=True)
class Outcome:
    name: str
    type: pa.DataType
    kind: Kind
    label: str
    meaning: str
    categories: tuple[Any, ...] = ()
    each: str = ""  # "level": one column per rung; "patron": one per patron ({} in name)
    summarised: bool = False  # printed in the run summary
    compared: bool = False  # in sim compare's table and the report
    # where the column comes from, beside the run's record of scalars
    # (``sim.engine.run_record.Raw``): the array of a list, series, shares or family
    source: str = ""
    labels: type[Labelled] | None = None  # a category stored as a code: its enum's labels
    names: str = ""  # a name stored as a code: "lists", or "blocs then lists"
    digits: int | None = None  # rounding of stored floats (series, shares)


INT, FLOAT, BOOL, STRING = pa.int64(), pa.float64(), pa.bool_(), pa.string()

OUTCOMES: tuple[Outcome, ...] = (
    Outcome("formed", BOOL, Kind.YES_NO, "Government formed",
            "a government won a confidence vote by the horizon", summarised=True, compared=True),
    Outcome("weeks_to_government", INT, Kind.WEEKS, "Weeks to government",
            "weeks from election day to the confidence vote (null: none by the horizon)",
            summarised=True, compared=True),
    Outcome("government_type", STRING, Kind.CATEGORY, "Government type",
            "majority (one major list of the consensus community or none left in), consensus "
            "(all of them in), or none", tuple(GovernmentType.labels()), summarised=True,
            compared=True, labels=GovernmentType),
    Outcome("pm_kind", STRING, Kind.CATEGORY, "Prime minister",
            "the incumbent, the formateur's own nominee, a compromise figure, or none",
            tuple(PMKind.labels()), summarised=True, compared=True, labels=PMKind),
    Outcome("pm_faction", STRING, Kind.NAME, "Prime minister's list",
            "the list the prime minister comes from (null: none, or a PM without a list)",
            compared=True, names="lists"),
    Outcome("coalition", pa.list_(STRING), Kind.NAMES, "Coalition",
            "the lists in the government", source="coalition"),
    Outcome("portfolios", pa.map_(pa.string(), pa.float64()), Kind.SHARES,
            "Share of ministries",
            "each government list's share of the ministries: its seats over the coalition's, "
            "after the formateur's bonus (Gamson's law)", source="portfolios", digits=6),
    Outcome("seat_shares", pa.map_(pa.string(), pa.float64()), Kind.SHARES,
            "Share of the coalition's seats",
            "each government list's seats over the coalition's: what Gamson's law says its "
            "share of the ministries should be", source="seat_shares", digits=6),
    Outcome("coalition_seats", INT, Kind.COUNT, "Coalition seats",
            "seats held by the government's lists (after any walk-out)"),
    Outcome("largest_bloc", STRING, Kind.NAME, "Largest bloc",
            "the largest bloc formed in parliament when the first nominee was charged "
            "(at the end of the run if none was), or a list standing alone",
            names="blocs then lists"),
    Outcome("largest_bloc_seats", INT, Kind.COUNT, "Largest bloc's seats",
            "its seats at that moment"),
    Outcome("blocking_third", BOOL, Kind.YES_NO, "Blocking third",
            "a boycott denied the presidential quorum at least once", summarised=True,
            compared=True),
    Outcome("president_sessions", INT, Kind.COUNT, "Presidential sessions",
            "sessions convened to elect the president"),
    Outcome("president_failures", INT, Kind.COUNT, "Failed presidential sessions",
            "sessions that missed the quorum"),
    Outcome("nominees", INT, Kind.COUNT, "Nominees", "prime ministers-designate charged"),
    Outcome("max_escalation", INT, Kind.CATEGORY, "Highest rung",
            "the highest rung any actor reached (0 politics ... 5 armed conflict)", LEVELS,
            summarised=True, compared=True),
    Outcome("weeks_at_level_{}", INT, Kind.COUNT, "Weeks at rung {}",
            "weeks in which the highest rung was this one", each="level",
            source="weeks_at_level"),
    Outcome("casualties", INT, Kind.COUNT, "Casualties", "deaths in the run's violence",
            summarised=True, compared=True),
    Outcome("incumbent_attacks", INT, Kind.COUNT, "Attacks on the incumbent",
            "strikes on the caretaker (or re-appointed) prime minister"),
    Outcome("incumbent_attack_weeks", pa.list_(pa.int16()), Kind.EVENT_WEEKS,
            "Weeks of attacks on the incumbent",
            "the week of each strike on him, counted from election day", source="attacks"),
    Outcome("incumbent_survived", BOOL, Kind.YES_NO, "Incumbent survived",
            "he was alive at the end (or there was none)", summarised=True, compared=True),
    Outcome("incumbent_legitimacy", FLOAT, Kind.NUMBER, "Incumbent's legitimacy",
            "his legitimacy at the end, in [0, 1]"),
    Outcome("pmf_status", STRING, Kind.CATEGORY, "PMF status",
            "the PMF's legal mandate at the end: intact, curtailed or dissolved",
            tuple(PMFStatus.labels()), summarised=True, compared=True, labels=PMFStatus),
    Outcome("walked_out", pa.list_(STRING), Kind.NAMES, "Walked out",
            "the lists that withdrew their MPs from parliament (`[walk_out]`)",
            source="walked_out"),
    Outcome("bloc_switches", INT, Kind.COUNT, "Bloc switches", "moves between blocs"),
    Outcome("final_week", INT, Kind.WEEKS, "Final week", "the week the run ended"),
    Outcome("patron_weight_{}", FLOAT, Kind.NUMBER, "{}'s weight in government",
            "seat-weighted positive alignment of the government's lists with the patron "
            "(0 without a government)", each="patron", source="weights"),
    Outcome("event_weeks", pa.map_(pa.string(), pa.int16()), Kind.FIRED,
            "Scenario events",
            "each scenario event ([events.NAME]) and the week it first fired (null: it did not)",
            source="event_weeks"),
    Outcome("escalation_by_week", pa.list_(pa.int8()), Kind.SERIES, "Highest rung by week",
            "the highest rung each week, from the start week", source="escalation"),
    Outcome("grievance_by_week", pa.list_(pa.float32()), Kind.SERIES, "Mean grievance by week",
            "seat-weighted mean grievance each week, from the start week", source="grievance",
            digits=4),
)  # fmt: skip
BY_NAME = {o.name: o for o in OUTCOMES}


@dataclass(frozen=True)
class PointStatistic:
    """A number per design point for sensitivity analysis, from one outcome of its runs:
    the share of runs with ``outcome == value`` ("share") or ``>= value`` ("at_least"),
    the mean, or the median (a run without the event counting at the horizon)."""

    name: str
    label: str
    outcome: str
    statistic: str
    value: Any = None


POINT_STATISTICS: tuple[PointStatistic, ...] = (
    PointStatistic("p_formed", "P(government formed)", "formed", "share", True),
    PointStatistic("p_majority", "P(majority government)", "government_type", "share", "majority"),
    PointStatistic("p_consensus", "P(consensus government)", "government_type", "share",
                   "consensus"),
    PointStatistic("expected_max_escalation", "expected highest escalation", "max_escalation",
                   "mean"),
    PointStatistic("p_escalation_4plus", "P(escalation >= 4)", "max_escalation", "at_least", 4),
    PointStatistic("median_weeks_to_government",
                   "median weeks to government (none formed = horizon)", "weeks_to_government",
                   "median"),
    PointStatistic("p_pmf_dissolved", "P(PMF dissolved)", "pmf_status", "share", "dissolved"),
)  # fmt: skip
#: Categories of the category outcomes (and "true" of the yes/no ones), for conditions.
CATEGORIES: dict[str, list[Any]] = {
    o.name: list(o.categories) for o in OUTCOMES if o.kind is Kind.CATEGORY
}
#: What ``sim compare`` tabulates: each compared outcome's values (None: those found in the
#: runs), and the statistics of its numeric ones.
COMPARED_CATEGORIES: dict[str, list[Any] | None] = {
    o.name: list(o.categories)
    if o.kind is Kind.CATEGORY
    else ([True] if o.kind is Kind.YES_NO else None)
    for o in OUTCOMES
    if o.compared and o.kind in (Kind.CATEGORY, Kind.YES_NO, Kind.NAME)
}
COMPARED_NUMBERS: list[Outcome] = [
    o for o in OUTCOMES if o.compared and o.kind in (Kind.COUNT, Kind.WEEKS)
]


def columns(outcome: Outcome, patrons: tuple[str, ...]) -> list[str]:
    """The run-table columns of one outcome."""
    if outcome.each == "level":
        return [outcome.name.format(k) for k in LEVELS]
    if outcome.each == "patron":
        return [outcome.name.format(p) for p in patrons]
    return [outcome.name]


def label(column: str) -> str:
    """A run-table column's human label (the column itself if it is not an outcome)."""
    if column in BY_NAME:
        return BY_NAME[column].label
    for o in OUTCOMES:
        prefix = o.name.split("{}")[0]
        if o.each and column.startswith(prefix):
            return o.label.format(column[len(prefix) :])
    return column


def arrow_fields(patrons: tuple[str, ...]) -> list[pa.Field]:
    """The run table's outcome columns, in order (``sim.batch.results.table_schema``)."""
    return [pa.field(c, o.type) for o in OUTCOMES for c in columns(o, patrons)]


# --------------------------------------------------------------------------- summaries
def wilson_interval(successes: float, n: float, z: float = 1.959964) -> tuple[float, float]:
    """Wilson score interval for a binomial proportion (good at small n and near 0 or 1)."""
    if n <= 0:
        return (0.0, 1.0)
    p = successes / n
    denom = 1.0 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return (float(max(0.0, centre - half)), float(min(1.0, centre + half)))


SUMMARISED = [o for o in OUTCOMES if o.summarised]


class OutcomeTally:
    """Streaming summary of run rows: counts and histograms, constant memory."""

    COLUMNS = [o.name for o in SUMMARISED] + ["error"]

    def __init__(self) -> None:
        self.n = 0
        self.failed = 0
        self.counts = {
            o.name: dict.fromkeys(o.categories, 0) for o in SUMMARISED if o.kind is Kind.CATEGORY
        }
        self.yes = {o.name: 0 for o in SUMMARISED if o.kind is Kind.YES_NO}
        self.weeks = np.zeros(1, dtype=np.int64)  # histogram of weeks_to_government
        self.casualties = 0

    def add(self, row: dict[str, Any]) -> None:
        if row.get("error"):
            self.failed += 1
            return
        self.n += 1
        for key, counts in self.counts.items():
            counts[row[key]] += 1
        for key in self.yes:
            self.yes[key] += bool(row[key])
        if row["formed"]:
            w = int(row["weeks_to_government"])
            if w >= len(self.weeks):
                self.weeks = np.pad(self.weeks, (0, w + 1 - len(self.weeks)))
            self.weeks[w] += 1
        self.casualties += int(row["casualties"])

    def add_rows(self, rows: Iterator[dict[str, Any]]) -> None:
        for row in rows:
            self.add(row)

    def add_table(self, table: pa.Table) -> None:
        """Add a chunk's rows (an Arrow table of the run table's columns), column by
        column: the same tally as ``add`` for each row, without a Python object a row."""
        ok = table["error"].is_null().to_numpy(zero_copy_only=False)
        self.failed += int((~ok).sum())
        self.n += int(ok.sum())
        for key, counts in self.counts.items():
            values, found = np.unique(
                table[key].to_numpy(zero_copy_only=False)[ok], return_counts=True
            )
            for value, k in zip(values.tolist(), found.tolist(), strict=True):
                counts[value] += k
        for key in self.yes:
            self.yes[key] += int(table[key].to_numpy(zero_copy_only=False)[ok].sum())
        formed = table["formed"].to_numpy(zero_copy_only=False)[ok].astype(bool)
        weeks = table["weeks_to_government"].to_numpy(zero_copy_only=False)[ok][formed]
        histogram = np.bincount(weeks.astype(np.int64), minlength=len(self.weeks))
        self.weeks = np.pad(self.weeks, (0, len(histogram) - len(self.weeks))) + histogram
        self.casualties += int(table["casualties"].to_numpy(zero_copy_only=False)[ok].sum())

    @property
    def formed(self) -> int:
        return self.yes["formed"]

    def median_weeks(self) -> float | None:
        """Median weeks to government over *all* runs, a run without a government by the
        horizon counting as never (+inf), as in a survival analysis: the same definition
        as ``sim compare`` and ``sim report`` (the inverse CDF, no interpolation). +inf
        when fewer than half the runs formed one; None without runs."""
        if self.n == 0:
            return None
        if self.formed < 0.5 * self.n - 1e-9:
            return float("inf")
        cum = np.cumsum(self.weeks)
        return float(np.searchsorted(cum, 0.5 * self.n - 1e-9, side="left"))

    def lines(self) -> list[tuple[str, str, float, tuple[float, float]]]:
        """(outcome, value, probability, 95% interval) rows for printing."""
        out = []
        for key, counts in self.counts.items():
            for value, k in counts.items():
                out.append((key, str(value), k / max(self.n, 1), wilson_interval(k, self.n)))
        for key, k in self.yes.items():
            out.append((key, "true", k / max(self.n, 1), wilson_interval(k, self.n)))
        return out
