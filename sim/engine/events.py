"""The event log of a single run: what each process did, week by week, and why.

Compiled processes call ``log_event`` with an ``EventKind``, the actors involved and up to
eight numbers. In a batch the log has no room (``sim.engine.state.new_state`` without
``record_events``), so recording costs one comparison; for a single run
(``FormationModel``, ``sim explain``) it holds every event. ``decode`` turns the log into
``Event`` objects, each with a readable line; ``KINDS`` declares, once, what each kind's
numbers mean and how it reads.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from sim.engine.enums import (
    EscalationLevel,
    EventKind,
    GovernmentType,
    PMFStatus,
    PMKind,
    SeatRule,
    Stage,
)
from sim.engine.jit import jit

if TYPE_CHECKING:
    from sim.engine.state import State
    from sim.engine.world import Compiled

#: An ANSWER's ``detail``: refuses or accepts a package (cabinet talks), attends a session
#: or stays away from it.
REFUSES, ACCEPTS, ATTENDS, STAYS_AWAY = 0, 1, 2, 3

#: A CONFIDENCE_VOTE's ``detail``: short of a majority, carried, or carried without a
#: major list a consensus deal needs (the deal then does not go ahead).
VOTE_SHORT, VOTE_PASSED, VOTE_DEAL_BROKEN = 0, 1, 2

#: The terms of an invitee's margin (``bargaining.acceptance_margin``), in its order.
MARGIN_TERMS = (
    "office", "policy", "safety", "patrons", "mediation", "association", "prime_minister",
)  # fmt: skip


@jit
def recording(state: State) -> bool:
    """Is this run keeping an event log (a single run, not a batch)?"""
    return len(state.event_codes) > 0


@jit
def log_event(
    state: State, kind: int, actor: int = -1, other: int = -1, detail: int = 0,
    v0: float = 0.0, v1: float = 0.0, v2: float = 0.0, v3: float = 0.0,
    v4: float = 0.0, v5: float = 0.0, v6: float = 0.0, v7: float = 0.0,
) -> None:  # fmt: skip
    """Append an event of this week to the run's log (nothing in a batch)."""
    codes = state.event_codes
    if len(codes) == 0:
        return
    run = state.run[0]
    e = run.events
    if e >= len(codes):
        run.events_lost += 1
        return
    codes[e, 0] = run.week
    codes[e, 1] = kind
    codes[e, 2] = actor
    codes[e, 3] = other
    codes[e, 4] = detail
    values = state.event_values
    values[e, 0] = v0
    values[e, 1] = v1
    values[e, 2] = v2
    values[e, 3] = v3
    values[e, 4] = v4
    values[e, 5] = v5
    values[e, 6] = v6
    values[e, 7] = v7
    run.events = e + 1


@dataclass(frozen=True)
class Kind:
    """What one kind of event records: its process, the meaning of ``other`` and
    ``detail`` (``what`` names them for JSON), and its numbers' names."""

    process: str
    other: str = ""
    detail: str = ""
    values: tuple[str, ...] = ()


KINDS: dict[EventKind, Kind] = {
    EventKind.PARLIAMENT_SITS: Kind("sessions"),
    EventKind.OFFER_PLANNED: Kind(
        "sessions", "pm_kind", "invite_to",
        ("members", "member_seats", "expected_value", "pass_probability"),
    ),
    EventKind.ANSWER: Kind("sessions", "formateur", "answer", ("margin", *MARGIN_TERMS)),
    EventKind.SESSION: Kind("sessions", "stage", "quorum_met", ("present", "quorum")),
    EventKind.PRESIDENT_ELECTED: Kind("sessions", "", "consensus_deal", ("present",)),
    EventKind.NOMINEE_CHARGED: Kind("sessions", "pm_kind", "", ("bloc_seats",)),
    EventKind.CONFIDENCE_VOTE: Kind(
        "sessions", "pm_kind", "result", ("yes", "majority", "seats_accepting")
    ),
    EventKind.NOMINEE_FAILED: Kind("sessions", "pm_kind", "", ("failed_nominees",)),
    EventKind.GOVERNMENT_FORMED: Kind(
        "sessions", "government_type", "pm_kind", ("coalition_seats", "yes")
    ),
    EventKind.BLOC_SWITCH: Kind("blocs", "to_bloc", "from_bloc"),
    EventKind.RUNG_CHANGE: Kind(
        "escalation", "to_rung", "from_rung",
        ("pressure", "grievance", "capability", "deterrence", "restraint", "cap", "resolve"),
    ),
    EventKind.CASUALTIES: Kind("escalation", "", "", ("dead",)),
    EventKind.ATTACK: Kind("attacks", "", "killed", ("incumbent_legitimacy",)),
    EventKind.PMF_MOVE: Kind("governance", "pmf_status", "", ("votes", "majority")),
    EventKind.WALK_OUT: Kind("walkouts", "", "seats_to", ("seats",)),
    EventKind.SESSION_KEPT_OPEN: Kind("sessions"),
}  # fmt: skip


@dataclass(frozen=True)
class Event:
    """One thing a process did in one week."""

    week: int
    process: str
    kind: EventKind
    actors: tuple[str, ...]
    values: dict[str, float] = field(default_factory=dict)
    text: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "week": self.week,
            "process": self.process,
            "kind": self.kind.name.lower(),
            "actors": list(self.actors),
            "values": self.values,
            "text": self.text,
        }


def rung_name(level: int) -> str:
    return EscalationLevel(level).name.lower().replace("_", " ")


class _Names:
    """Names of the run's actors and blocs, for the readable lines."""

    def __init__(self, compiled: Compiled):
        self.factions = list(compiled.names)
        self.blocs = list(compiled.bloc_names)

    def actor(self, i: int) -> str:
        if i < 0:
            return ""
        return self.factions[i] if i < len(self.factions) else "the street"

    def bloc(self, b: int) -> str:
        return self.blocs[b] if 0 <= b < len(self.blocs) else "no bloc"


def _text(kind: EventKind, a: str, b: str, other: int, detail: int, v: dict, names: _Names):
    """The event's line, in words."""
    pm = PMKind(other).label if kind in _PM_KINDS and other >= 0 else ""
    if kind == EventKind.PARLIAMENT_SITS:
        return "results certified: parliament sits"
    if kind == EventKind.OFFER_PLANNED:
        return (
            f"{a} plans a package of {v['members']:.0f} lists ({v['member_seats']:.0f} seats) "
            f"under a {pm} PM; expected value {v['expected_value']:.2f}, "
            f"chance it passes {v['pass_probability']:.2f}"
        )
    if kind == EventKind.ANSWER:
        terms = sorted(MARGIN_TERMS, key=lambda t: -abs(v[t]))[:2]
        why = ", ".join(f"{t.replace('_', ' ')} {v[t]:+.2f}" for t in terms)
        verb = {
            REFUSES: f"refuses {b}'s package", ACCEPTS: f"accepts {b}'s package",
            ATTENDS: "attends", STAYS_AWAY: "stays away",
        }[detail]  # fmt: skip
        return f"{a} {verb} (margin {v['margin']:+.2f}: {why})"
    if kind == EventKind.SESSION:
        stage = Stage(other).name.lower()
        met = "quorum met" if detail else "quorum missed"
        return f"{stage} session: {v['present']:.0f} present of {v['quorum']:.0f} needed, {met}"
    if kind == EventKind.PRESIDENT_ELECTED:
        deal = " on a consensus package" if detail else ""
        return f"president elected{deal}"
    if kind == EventKind.NOMINEE_CHARGED:
        return f"{a} (bloc of {v['bloc_seats']:.0f} seats) is charged with a {pm} nominee"
    if kind == EventKind.CONFIDENCE_VOTE:
        result = {
            VOTE_PASSED: "wins", VOTE_SHORT: "fails",
            VOTE_DEAL_BROKEN: "is void (the consensus deal lacks a major list)",
        }[detail]  # fmt: skip
        return (
            f"confidence vote for {a}'s {pm} nominee {result}: {v['yes']:.0f} yes of "
            f"{v['majority']:.0f} needed ({v['seats_accepting']:.0f} seats in the deal)"
        )
    if kind == EventKind.NOMINEE_FAILED:
        return f"{a}'s {pm} nominee runs out of time"
    if kind == EventKind.GOVERNMENT_FORMED:
        gov = GovernmentType(other).label
        lead = f"under {a}'s PM" if a else f"under a {PMKind(detail).label} PM without a list"
        return f"a {gov} government forms {lead} ({v['coalition_seats']:.0f} seats)"
    if kind == EventKind.BLOC_SWITCH:
        return f"{a} moves from {names.bloc(detail)} to {names.bloc(other)}"
    if kind == EventKind.RUNG_CHANGE:
        move = "climbs" if other > detail else "steps down"
        return (
            f"{a} {move} to {rung_name(other)} (pressure {v['pressure']:+.2f}: grievance "
            f"{v['grievance']:.2f}, capability {v['capability']:+.2f}, deterrence "
            f"{-v['deterrence']:+.2f}, restraint {-v['restraint']:+.2f}"
            + (f", resolve {v['resolve']:+.2f})" if v["resolve"] else ")")
        )
    if kind == EventKind.CASUALTIES:
        return f"{v['dead']:.0f} dead on {a}'s side"
    if kind == EventKind.ATTACK:
        if detail:
            return f"{a} strikes the incumbent and kills him"
        now = v["incumbent_legitimacy"]
        return f"{a} strikes the incumbent and fails (his legitimacy now {now:.2f})"
    if kind == EventKind.PMF_MOVE:
        status = PMFStatus(other).label
        return f"the government's bill leaves the PMF {status} ({v['votes']:.0f} votes)"
    if kind == EventKind.SESSION_KEPT_OPEN:
        return "the first session is kept open: no vote on the speaker this week"
    if kind == EventKind.WALK_OUT:
        rule = SeatRule(detail)
        to = rule.label.replace("_", " ")
        where = "are left vacant" if rule == SeatRule.VACANT else f"pass to {to}"
        return f"{a} walks out of parliament: its {v['seats']:.0f} seats {where}"
    return kind.name.lower()


_PM_KINDS = {
    EventKind.OFFER_PLANNED, EventKind.NOMINEE_CHARGED, EventKind.CONFIDENCE_VOTE,
    EventKind.NOMINEE_FAILED,
}  # fmt: skip
_FACTION_OTHER = {EventKind.ANSWER}


def decode(compiled: Compiled, state: State, start: int = 0) -> list[Event]:
    """The run's events from the ``start``-th on, in the order they happened."""
    names = _Names(compiled)
    count = int(state.run[0]["events"])
    codes, values = state.event_codes[start:count], state.event_values[start:count]
    events = []
    for (week, k, actor, other, detail), numbers in zip(codes.tolist(), values, strict=True):
        kind = EventKind(k)
        spec = KINDS[kind]
        v = {name: float(x) for name, x in zip(spec.values, numbers, strict=False)}
        a = names.actor(actor)
        b = names.actor(other) if kind in _FACTION_OTHER else ""
        actors = tuple(x for x in (a, b) if x)
        if spec.other and kind not in _FACTION_OTHER:
            v[spec.other] = float(other)
        if spec.detail:
            v[spec.detail] = float(detail)
        text = _text(kind, a, b, other, detail, v, names)
        events.append(Event(int(week), spec.process, kind, actors, v, text))
    return events


def lost(state: State) -> int:
    """Events the full log could not hold."""
    return int(np.asarray(state.run)[0]["events_lost"])
