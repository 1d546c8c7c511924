"""What one run reports: a tidy row of outcomes (EMA Workbench's word), plus the summary
of many rows with 95% intervals."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

import numpy as np

from sim.enums import GovernmentType, PMFStatus, PMKind
from sim.patrons import patron_weights

if TYPE_CHECKING:
    from sim.model import FormationModel

LEVELS = range(6)


def run_outcome(model: FormationModel) -> dict:
    """The run's row: formation, government, escalation, incumbent, PMF, patrons."""
    names = model.compiled.names
    seats = model.world["seats"]
    gov = model.government
    formed = model.formed_week is not None
    leader, bloc_seats = model.largest_bloc_at_nomination or model.largest_bloc()
    leader_bloc = int(model.state["bloc_of"][leader])
    row = {
        "formed": formed,
        "weeks_to_government": model.formed_week if formed else None,
        "government_type": model.government_type.value,
        "pm_kind": model.pm_kind.value,
        "pm_faction": names[model.pm_faction] if model.pm_faction >= 0 else None,
        "coalition": [names[i] for i in np.flatnonzero(gov)],
        "coalition_seats": int(seats[gov].sum()),
        "largest_bloc": model.bloc_names[leader_bloc] if leader_bloc >= 0 else names[leader],
        "largest_bloc_seats": int(bloc_seats),
        "blocking_third": model.process.stalled_by_boycott,
        "president_sessions": model.process.president_sessions,
        "president_failures": model.process.president_failures,
        "nominees": model.process.nominees,
        "max_escalation": int(
            model.escalation_series[: model.week - model.scenario.clock.start_week + 1].max()
        ),
        **{f"weeks_at_level_{k}": int(model.weeks_at_level[k]) for k in LEVELS},
        "casualties": int(model.casualties),
        "incumbent_attacks": int(model.incumbent.attacks),
        "incumbent_survived": bool(model.incumbent.alive or not model.incumbent.present),
        "incumbent_legitimacy": float(model.incumbent.legitimacy),
        "pmf_status": model.pmf_status.value,
        "bloc_switches": int(model.bloc_switches),
        "final_week": int(model.week),
    }
    weights = patron_weights(gov, seats, model.world["alignment"])
    for p, name in enumerate(model.compiled.patron_names):
        row[f"patron_weight_{name}"] = float(weights[p]) if formed else 0.0
    span = model.week - model.scenario.clock.start_week + 1
    row["escalation_by_week"] = model.escalation_series[:span].tolist()
    row["grievance_by_week"] = model.grievance_series[:span].round(4).tolist()
    return row


CATEGORIES = {
    "government_type": [g.value for g in GovernmentType],
    "pm_kind": [k.value for k in PMKind],
    "pmf_status": [s.value for s in PMFStatus],
    "max_escalation": list(LEVELS),
}


def wilson_interval(successes: float, n: float, z: float = 1.959964) -> tuple[float, float]:
    """Wilson score interval for a binomial proportion (good at small n and near 0 or 1)."""
    if n <= 0:
        return (0.0, 1.0)
    p = successes / n
    denom = 1.0 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return (float(max(0.0, centre - half)), float(min(1.0, centre + half)))


class OutcomeTally:
    """Streaming summary of run rows: counts and histograms, constant memory."""

    COLUMNS: ClassVar[list[str]] = [
        *CATEGORIES,
        "formed",
        "weeks_to_government",
        "blocking_third",
        "casualties",
        "incumbent_survived",
        "error",
    ]

    def __init__(self) -> None:
        self.n = 0
        self.failed = 0
        self.counts = {key: dict.fromkeys(values, 0) for key, values in CATEGORIES.items()}
        self.weeks = np.zeros(1, dtype=np.int64)  # histogram of weeks_to_government
        self.formed = 0
        self.blocking_third = 0
        self.casualties = 0
        self.survived = 0

    def add(self, row: dict) -> None:
        if row.get("error"):
            self.failed += 1
            return
        self.n += 1
        for key in CATEGORIES:
            self.counts[key][row[key]] += 1
        if row["formed"]:
            self.formed += 1
            w = int(row["weeks_to_government"])
            if w >= len(self.weeks):
                self.weeks = np.pad(self.weeks, (0, w + 1 - len(self.weeks)))
            self.weeks[w] += 1
        self.blocking_third += bool(row["blocking_third"])
        self.casualties += int(row["casualties"])
        self.survived += bool(row["incumbent_survived"])

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
        for key, k in (
            ("formed", self.formed),
            ("blocking_third", self.blocking_third),
            ("incumbent_survived", self.survived),
        ):
            out.append((key, "true", k / max(self.n, 1), wilson_interval(k, self.n)))
        return out
