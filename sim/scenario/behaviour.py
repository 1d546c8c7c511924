"""Which scenario keys are behaviour (shared by every case) and which are facts of a moment.

A case of the library (``scenarios/cases/``) is a whole scenario of one formation: its
parliament, blocs, incumbent, patrons, clock, rules and, once the engine has them, its
outside shocks. What the actors *do* with that moment, how grievance builds, how the ladder
is climbed, how offers are weighed, is one model of Iraqi politics, so every case shares it:
a case overrides facts of its own moment, never a behavioural ``[assumption]``. The
calibration (``sim calibrate``) fits the behavioural keys only, to every case at once.

The rule is declared here once: ``BEHAVIOURAL`` lists the sections (and single keys) that
are behaviour; ``MOMENT`` the keys inside them that are nevertheless facts of a moment,
each with why. Everything else (``clock``, ``parliament``'s rules, ``consensus.community``,
``factions``, ``blocs``, ``incumbent``'s standing, ``patrons``) is a fact of the moment.
"""

from __future__ import annotations

from typing import Any

from sim.engine.dotted import get_dotted

__all__ = [
    "BEHAVIOURAL",
    "MOMENT",
    "behavioural_keys",
    "behavioural_overrides",
    "is_behavioural",
]

#: Behaviour: dotted prefixes (a section, or one key of a section of facts).
BEHAVIOURAL: tuple[str, ...] = (
    "bargaining",  # how offers are weighed and nominees chosen
    "grievance",  # how grievance builds and decays
    "escalation",  # the ladder: thresholds, slope, capability, deterrence, casualties
    "governance",  # what a government does about the PMF's mandate
    "walk_out",  # when a blocked list withdraws its MPs
    "walk_back",  # when a list that walked out returns
    "consensus.major_list_seats",  # what makes a list "major": one definition for all cases
    "parliament.deadline_slip_probability",  # how often deadlines slip in practice
    "parliament.session_probability",  # how often a pending vote is convened
    "incumbent.attack_probability",  # how often an armed faction at rung 4 strikes the PM
    "incumbent.attack_lethality",
    "incumbent.backfire_legitimacy",  # what a failed attack does to the victim and attacker
    "incumbent.attacker_legitimacy_cost",
    "incumbent.patience_cost",
)

#: Keys under a behavioural prefix that are facts of a moment, and why.
MOMENT: dict[str, str] = {
    "bargaining.issue_weights": "which questions divide the lists is the moment's agenda "
    "(the PMF's mandate in 2021 did not exist in 2006)",
    "escalation.street_start": "the rung the street starts on: protests already under way "
    "at the scenario's start week, or not",
    "walk_out.seats_to": "where a resigning MP's seat goes is the election law's rule",
    "grievance.results_appeal": "the losers' anger until certification is behaviour, but "
    "whether it is still to come depends on the start week: a scenario starting after "
    "certification carries it in its starting grievances (baseline.toml sets 0 for that "
    "reason), one starting on election day sets the election-day value "
    "(election_day_2021.toml)",
}


def _under(key: str, prefix: str) -> bool:
    return key == prefix or key.startswith(prefix + ".") or key.startswith(prefix + "[")


def is_behavioural(key: str) -> bool:
    """Whether the dotted key (``escalation.thresholds[3]`` included) is behaviour."""
    if any(_under(key, m) for m in MOMENT):
        return False
    return any(_under(key, b) for b in BEHAVIOURAL)


def _leaves(table: dict, prefix: str = "") -> list[tuple[str, Any]]:
    out = []
    for name, value in table.items():
        key = f"{prefix}{name}"
        if isinstance(value, dict):
            out += _leaves(value, key + ".")
        else:
            out.append((key, value))
    return out


def behavioural_keys(raw: dict) -> dict[str, Any]:
    """The behavioural keys a resolved scenario sets, and their values (a list, such as the
    ladder's thresholds, is one value)."""
    tables = {k: v for k, v in raw.items() if k not in ("ranges", "sweep")}
    return {k: v for k, v in _leaves(tables) if is_behavioural(k)}


def behavioural_overrides(raw: dict, reference: dict) -> dict[str, tuple[Any, Any]]:
    """The behavioural keys on which a resolved scenario differs from the reference (the
    baseline every case shares): key -> (reference's value, scenario's value); a key the
    reference lacks shows its value as None."""
    theirs = behavioural_keys(raw)
    ours = behavioural_keys(reference)
    out = {}
    for key in sorted(set(theirs) | set(ours)):
        mine = ours.get(key)
        other = theirs.get(key)
        if key not in theirs:
            try:
                other = get_dotted(raw, key)
            except KeyError:
                other = None
        if mine != other:
            out[key] = (mine, other)
    return out
