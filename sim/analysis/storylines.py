"""Storylines: the few paths a batch's runs take, from each run's sequence of key events.

Each run becomes a short vector of its key events, all read from the run table
(``sim.load_results``'s columns, no engine output of its own): the bloc that named the
formateur, presidential sessions without a quorum, nominees charged, a walk-out, the week
each rung from clashes up was first reached (from ``escalation_by_week``), whether
targeted attacks came before any government, attacks on the incumbent and his death, the
PMF's fate, and the government formed (its week, type and prime minister). The columns are
standardised (a column that never varies is dropped) and the runs are grouped by Ward's
hierarchical clustering (``scipy.cluster.hierarchy``), cut at ``paths`` groups.

Why this method: the sequences are short (a handful of events, each once at most) and
their order is carried by the weeks, so a vector of event weeks holds the sequence; Ward's
criterion on it is deterministic (no random start, unlike k-means), well kept in scipy,
and makes compact groups whose means read as a typical timeline. Sequence-alignment
distances (optimal matching, as in TraMineR) would need an implementation of our own for
no better grouping of such short sequences. Ward needs all pairwise distances, so above
``LINKED_RUNS`` runs an evenly spaced subset is clustered and every other run joins the
path whose centre is nearest.

Each path has its share of the runs, a title from its commonest outcome, a typical
timeline (the median week of each event that happens in at least half its runs, in
order), and an example run: the run nearest the path's centre, which ``sim explain DIR
RUN_ID`` replays.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from sim.analysis.labels import in_words, rung

#: Ward's linkage holds n^2/2 distances: above this many runs, a subset is linked
LINKED_RUNS = 3000
#: paths shown by default: a few, as an analyst reads them
PATHS = 5
#: an event is on a path's typical timeline when at least this share of its runs have it
TYPICAL = 0.5
#: the rungs whose first week is an event: clashes, targeted attacks, armed conflict
RUNGS = (3, 4, 5)
CATEGORIES = ("government_type", "pm_kind", "largest_bloc", "pmf_status")
COLUMNS = [
    "run_id", "formed", "weeks_to_government", "government_type", "pm_kind", "pm_faction",
    "largest_bloc", "president_failures", "nominees", "walked_out", "max_escalation",
    "incumbent_attacks", "incumbent_attack_weeks", "incumbent_survived", "pmf_status",
    "final_week", "escalation_by_week",
]  # fmt: skip


class StorylineError(ValueError):
    """A run table that cannot be grouped (no runs, a column missing)."""


@dataclass
class Storyline:
    """One path: its share of the runs, what it is, when things happen, a run to replay."""

    number: int
    runs: int
    share: float
    title: str
    timeline: list[tuple[int, str]]  # (median week, event), in order
    notes: list[str]  # what is common on the path but has no week (sessions, walk-outs)
    example_run: int
    members: list[int] = field(default_factory=list, repr=False)  # its run ids

    def to_json(self) -> dict[str, Any]:
        return {
            "path": self.number,
            "runs": self.runs,
            "share": self.share,
            "title": self.title,
            "timeline": [{"week": w, "event": e} for w, e in self.timeline],
            "notes": self.notes,
            "example_run": self.example_run,
        }


def _first_week(series: Any, level: int, start_week: int) -> float:
    """The week the run's highest rung first reached ``level`` (nan: never)."""
    values = np.asarray(series if series is not None else [], dtype=float)
    hits = np.flatnonzero(values >= level)
    return float(start_week + hits[0]) if len(hits) else np.nan


def events(runs: pd.DataFrame, start_week: int = 0) -> pd.DataFrame:
    """Each run's key events as numbers: weeks (nan: it did not happen), counts, flags."""
    missing = [c for c in COLUMNS if c not in runs.columns]
    if missing:
        raise StorylineError(f"the run table has no column {', '.join(missing)}")
    out = pd.DataFrame(index=runs.index)
    formed = runs["formed"].astype(bool)
    out["government_week"] = np.where(formed, runs["weeks_to_government"], np.nan)
    for level in RUNGS:
        out[f"rung_{level}_week"] = [
            _first_week(s, level, start_week) for s in runs["escalation_by_week"]
        ]
    out["attacks_before_government"] = (
        out["rung_4_week"].notna()
        & (out["government_week"].isna() | (out["rung_4_week"] < out["government_week"]))
    ).astype(float)
    out["attack_week"] = [
        float(w[0]) if w is not None and len(w) else np.nan for w in runs["incumbent_attack_weeks"]
    ]
    out["incumbent_killed"] = (~runs["incumbent_survived"].astype(bool)).astype(float)
    out["walk_out"] = [float(w is not None and len(w) > 0) for w in runs["walked_out"]]
    out["president_failures"] = runs["president_failures"].astype(float)
    out["nominees"] = runs["nominees"].astype(float)
    return out


def features(runs: pd.DataFrame, happened: pd.DataFrame, horizon: float) -> np.ndarray:
    """The standardised vectors Ward's method groups: event weeks (an event that did not
    happen sits a quarter of the horizon past it, so "never" is far from "late"), flags,
    counts and one column per category of the outcomes that name the path."""
    columns = []
    for name in happened.columns:
        x = happened[name].to_numpy(float)
        if name.endswith("_week"):
            columns.append(np.isnan(x).astype(float))  # whether it happened
            x = np.where(np.isnan(x), 1.25 * horizon, x)
        columns.append(x)
    for name in CATEGORIES:
        values = runs[name].astype(str).to_numpy()
        columns += [(values == v).astype(float) for v in sorted(set(values))]
    x = np.column_stack(columns)
    spread = x.std(axis=0)
    keep = spread > 1e-12
    return (x[:, keep] - x[:, keep].mean(axis=0)) / spread[keep]


def _groups(x: np.ndarray, paths: int) -> np.ndarray:
    """Ward's clusters (0-based labels), on a subset when the runs are many."""
    from scipy.cluster.hierarchy import fcluster, linkage

    n = len(x)
    if n < 2 or x.shape[1] == 0:
        return np.zeros(n, dtype=int)
    linked = np.unique(np.linspace(0, n - 1, min(n, LINKED_RUNS)).round().astype(int))
    tree = linkage(x[linked], method="ward")
    sub = fcluster(tree, t=min(paths, len(linked)), criterion="maxclust") - 1
    if len(linked) == n:
        return sub
    centres = np.stack([x[linked][sub == k].mean(axis=0) for k in range(sub.max() + 1)])
    distance = ((x[:, None, :] - centres[None, :, :]) ** 2).sum(axis=2)
    return distance.argmin(axis=1)


def _mode(values: pd.Series) -> tuple[str, float]:
    counts = values.astype(str).value_counts()
    return str(counts.index[0]), float(counts.iloc[0] / counts.sum())


def _rung(level: int) -> str:
    """ "rung 4 (targeted attacks)"."""
    return f"rung {level} ({rung(level).split(' ', 1)[1]})"


def _title(group: pd.DataFrame, happened: pd.DataFrame, labels: Mapping[str, str]) -> str:
    government, share = _mode(group["government_type"])
    if government == "none":
        head = "no government by the horizon"
    else:
        kind, _ = _mode(group.loc[group["government_type"] == government, "pm_kind"])
        pm = {"formateur": "the formateur's nominee", "compromise": "a compromise PM"}
        head = f"{government} government under {pm.get(kind, 'the ' + kind)}"
        chosen = group[(group["government_type"] == government) & (group["pm_kind"] == kind)]
        lists = chosen["pm_faction"].dropna().astype(str)
        lists = lists[lists != ""]
        if kind == "formateur" and len(lists):
            head += f" from {in_words(lists.value_counts().index[0], labels)}"
    if share < 0.8:
        head += f" (in {share:.0%} of its runs)"
    top = int(pd.to_numeric(group["max_escalation"]).median())
    head += f", violence up to {_rung(top)}"
    if happened["walk_out"].mean() >= TYPICAL:
        head += ", after a walk-out"
    if happened["incumbent_killed"].mean() >= TYPICAL:
        head += ", the incumbent killed"
    pmf, _ = _mode(group["pmf_status"])
    if pmf != "intact":
        head += f", the PMF {pmf}"
    return head


def _timeline(group: pd.DataFrame, happened: pd.DataFrame) -> list[tuple[int, str]]:
    steps = []
    for level in RUNGS:
        weeks = happened[f"rung_{level}_week"]
        if weeks.notna().mean() >= TYPICAL:
            steps.append((weeks.median(), f"{_rung(level)} first reached"))
    attack = happened["attack_week"]
    if attack.notna().mean() >= TYPICAL:
        steps.append((attack.median(), "an attack on the incumbent"))
    weeks = happened["government_week"]
    if weeks.notna().mean() >= TYPICAL:
        government, _ = _mode(group.loc[weeks.notna(), "government_type"])
        steps.append((weeks.median(), f"a {government} government forms"))
    return [(round(w), text) for w, text in sorted(steps, key=lambda s: s[0])]


def _percent(share: float) -> str:
    return "under 1%" if 0 < share < 0.005 else f"{share:.0%}"


def _notes(group: pd.DataFrame, happened: pd.DataFrame, labels: Mapping[str, str]) -> list[str]:
    bloc, share = _mode(group["largest_bloc"])
    notes = [f"{in_words(bloc, labels)} names the formateur in {share:.0%} of its runs"]
    failures = happened["president_failures"].median()
    notes.append(
        f"typically {failures:.0f} presidential session(s) without a quorum and "
        f"{happened['nominees'].median():.0f} nominee(s)"
    )
    for column, what in (
        ("walk_out", "a list walks out"),
        ("attacks_before_government", "targeted attacks before any government"),
        ("incumbent_killed", "the incumbent is killed"),
    ):
        share = happened[column].mean()
        if share > 0:
            notes.append(f"{what} in {_percent(share)}")
    pmf = (group["pmf_status"].astype(str) != "intact").mean()
    if pmf > 0:
        notes.append(f"the PMF curtailed or dissolved in {_percent(pmf)}")
    return notes


def storylines(
    runs: pd.DataFrame,
    paths: int = PATHS,
    start_week: int = 0,
    labels: Mapping[str, str] | None = None,
) -> list[Storyline]:
    """The runs grouped into at most ``paths`` storylines, commonest first."""
    if paths < 1:
        raise StorylineError(f"paths: must be at least 1 (got {paths})")
    if "error" in runs.columns:
        runs = runs[runs["error"].isna()]
    runs = runs.reset_index(drop=True)
    if runs.empty:
        raise StorylineError("no runs without an error to group")
    labels = labels or {}
    happened = events(runs, start_week)
    horizon = float(pd.to_numeric(runs["final_week"]).max())
    x = features(runs, happened, horizon)
    groups = _groups(x, paths)
    order = sorted(set(groups.tolist()), key=lambda k: (-(groups == k).sum(), k))
    out = []
    for number, k in enumerate(order, start=1):
        members = np.flatnonzero(groups == k)
        centre = x[members].mean(axis=0)
        nearest = members[((x[members] - centre) ** 2).sum(axis=1).argmin()]
        group, done = runs.iloc[members], happened.iloc[members]
        out.append(
            Storyline(
                number=number,
                runs=len(members),
                share=len(members) / len(runs),
                title=_title(group, done, labels),
                timeline=_timeline(group, done),
                notes=_notes(group, done, labels),
                example_run=int(runs["run_id"].iloc[nearest]),
                members=[int(r) for r in group["run_id"]],
            )
        )
    return out


def format_storylines(paths: list[Storyline], header: str = "") -> str:
    """The paths as text: share, title, typical timeline, notes and the run to replay."""
    lines = [header] if header else []
    for p in paths:
        lines.append(f"path {p.number}: {p.share:.0%} of runs ({p.runs}): {p.title}")
        for week, text in p.timeline:
            lines.append(f"    week {week:>3}: {text}")
        lines.append("    " + "; ".join(p.notes))
        lines.append(f"    example: run {p.example_run} (sim explain DIR {p.example_run})")
    return "\n".join(lines)


def batch_storylines(directory, paths: int = PATHS) -> tuple[list[Storyline], dict]:
    """A batch directory's storylines, named in its scenario's words, and its manifest."""
    from sim.analysis.labels import actor_labels
    from sim.batch.results import column_names, load_manifest, load_results

    manifest = load_manifest(directory)
    missing = [c for c in COLUMNS if c not in column_names(directory)]
    if missing:  # a table written before these columns were kept, or not by sim run
        raise StorylineError(f"{directory}: the run table has no column {', '.join(missing)}")
    scenario = manifest.get("scenario") or {}
    start = int((scenario.get("clock") or {}).get("start_week", 0))
    runs = load_results(directory, columns=[*COLUMNS, "error"])
    return storylines(runs, paths, start, actor_labels(scenario)), manifest


__all__ = [
    "Storyline",
    "StorylineError",
    "batch_storylines",
    "events",
    "format_storylines",
    "storylines",
]
