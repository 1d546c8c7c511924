"""Human words for what the comparison table holds: outcomes, their values, statistics.

The run table and the comparison's CSV keep the machine names (``government_type``,
``4``, ``true``); what a reader sees -- the terminal table, the HTML report, the figures --
goes through here, so an outcome is called what the registry (``sim.engine.outcomes.OUTCOMES``)
calls it and a rung of the ladder by its name.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import numpy as np

from sim.engine.enums import EscalationLevel
from sim.engine.outcomes import BY_NAME, Kind, label

#: pm_faction has no list in two different cases, which a reader must not confuse
NO_GOVERNMENT = "(no government)"
NO_PARTY = "(PM without a party)"  # the incumbent or a compromise PM outside every list
STATISTICS = {
    "q10": "10th percentile",
    "q25": "25th percentile",
    "median": "median",
    "q75": "75th percentile",
    "q90": "90th percentile",
    "mean": "mean",
    "probability": "probability",
}
RUNG_OUTCOMES = {"max_escalation"}
NOT_A_DIFFERENCE = "n/a"  # a difference between a number of weeks and never


def rung(level: int) -> str:
    """ "4 targeted attacks" for 4."""
    return EscalationLevel(int(level)).rung


def value_label(outcome: str, value, labels: Mapping[str, str] | None = None) -> str:
    """A categorical outcome's value as a reader reads it: a rung by its name, true/false
    as yes/no, a list by its label (``labels``, from ``actor_labels``), anything else (a
    government type) as it is."""
    text = str(value)
    if labels and text in labels:
        return labels[text]
    if outcome in RUNG_OUTCOMES and text.lstrip("-").isdigit():
        return rung(int(text))
    outcome_kind = BY_NAME[outcome].kind if outcome in BY_NAME else None
    if outcome_kind is Kind.YES_NO and text in ("true", "false"):
        return "yes" if text == "true" else "no"
    return text


def row_title(
    outcome: str, value: str = "", statistic: str = "", labels: Mapping[str, str] | None = None
) -> str:
    """A comparison row's title: "Government type: majority", "Government formed",
    "Casualties: median"."""
    name = label(outcome)
    if value:
        if BY_NAME.get(outcome) is not None and BY_NAME[outcome].kind is Kind.YES_NO:
            return name if value == "true" else f"{name}: no"
        return f"{name}: {value_label(outcome, value, labels)}"
    return f"{name}: {STATISTICS.get(statistic, statistic)}"


def interval(low: float, high: float, digits: int = 3, signed: bool = False) -> str:
    """``[0.000, 0.002]``: bounds rounded to what the estimate shows, so a bound a
    rounding error away from zero (1.1e-19) prints as zero, never in exponent form."""
    return f"[{number(low, digits, signed)}, {number(high, digits, signed)}]"


def number(value: float, digits: int = 3, signed: bool = False) -> str:
    """A fixed-point number; -0.000 is printed as 0.000 (+0.000 when signed)."""
    rounded = round(float(value), digits) + 0.0  # + 0.0 turns -0.0 into 0.0
    return f"{rounded:+.{digits}f}" if signed else f"{rounded:.{digits}f}"


def estimate_text(value: float, outcome: str, statistic: str, signed: bool = False) -> str:
    """An estimate, bound or difference as printed: probabilities to three decimals,
    weeks and counts whole (or to one decimal), +inf as "never" for weeks; a difference
    involving a "never" is no number of weeks ("n/a")."""
    value = float(value)
    if not np.isfinite(value):
        if signed:
            return NOT_A_DIFFERENCE
        return "never" if outcome == "weeks_to_government" else "inf"
    if statistic == "probability":
        return number(value, 3, signed)
    if statistic == "mean":
        return number(value, 2, signed)
    text = f"{value:.0f}" if value.is_integer() else f"{value:.1f}"
    return f"+{text}" if signed and value > 0 else text


# --------------------------------------------------------------------------- names of actors
def actor_labels(scenario: Any, patrons: bool = True) -> dict[str, str]:
    """What a reader calls each faction, bloc and patron: ``{id: label}`` from the
    scenario's optional ``label`` fields (an actor without one keeps its id). Takes a
    ``Scenario`` or the raw scenario a batch's manifest keeps; ``patrons=False`` leaves
    the patrons out (an id such as "us" is also a word of running text)."""
    if scenario is None:
        return {}
    if isinstance(scenario, dict):
        factions = {
            k: (v or {}).get("label", "") for k, v in (scenario.get("factions") or {}).items()
        }
        patron_labels = {
            k: (v or {}).get("label", "") for k, v in (scenario.get("patrons") or {}).items()
        }
        blocs = {b.get("name", ""): b.get("label", "") for b in scenario.get("blocs") or []}
    else:
        factions = {k: f.label for k, f in scenario.factions.items()}
        patron_labels = {k: p.label for k, p in scenario.patrons.items()}
        blocs = {b.name: b.label for b in scenario.blocs}
    out: dict[str, str] = {}
    for table in ((patron_labels,) if patrons else ()) + (blocs, factions):
        out.update({k: (v or k) for k, v in table.items() if k})
    return out


def in_words(name: Any, labels: Mapping[str, str]) -> str:
    """An actor's id as a reader reads it (its label, or the id itself)."""
    text = str(name)
    return labels.get(text, text)


def words_for_ids(text: str, labels: dict[str, str]) -> str:
    """A line with every actor id in it replaced by its label (ids as whole words: an id
    such as ``abc`` inside ``abc_list`` is left alone)."""
    changed = {k: v for k, v in labels.items() if k != v}
    if not changed:
        return text
    pattern = re.compile(
        r"(?<![\w])("
        + "|".join(re.escape(k) for k in sorted(changed, key=len, reverse=True))
        + r")(?![\w])"
    )
    return pattern.sub(lambda m: changed[m.group(1)], text)
