"""The event log of a single run: what each process did, week by week, and why.

Compiled processes call ``log_event`` with an event kind's code, the actors involved and up
to eight numbers. In a batch the log has no room (``sim.engine.assembly.new_state`` without
``record_events``), so recording costs one comparison; for a single run
(``FormationModel``, ``sim explain``) it holds every event. Each process declares its kinds
of event, with their numbers' names and their line for the timeline
(``sim.engine.declare.EventSpec``), next to the code that logs them; ``decode`` turns the
log into ``Event`` objects through those declarations.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from sim.engine.declare import EventSpec, Line, Per, RunField, State, StateField
from sim.engine.enums import EscalationLevel
from sim.engine.jit import jit

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
EVENT_CODES, EVENT_VALUES = 5, 8

#: The log's own state: every process may append to it (``log_event``).
FIELDS: tuple[StateField | RunField, ...] = (
    StateField("event_codes", np.int64, Per.EVENT, "week, kind, actor, other, detail",
               width=EVENT_CODES),
    StateField("event_values", np.float64, Per.EVENT, "the event's numbers", width=EVENT_VALUES),
    RunField("events", np.int64, "events recorded"),
    RunField("events_lost", np.int64, "events the full log dropped"),
)  # fmt: skip
#: What a process that logs events declares it writes.
EVENT_LOG = ("event_codes", "event_values", "run.events", "run.events_lost")


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
class Event:
    """One thing a process did in one week."""

    week: int
    process: str
    kind: str  # the kind's declared name ("walk_out")
    actors: tuple[str, ...]
    values: dict[str, float] = field(default_factory=dict)
    text: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "week": self.week,
            "process": self.process,
            "kind": self.kind,
            "actors": list(self.actors),
            "values": self.values,
            "text": self.text,
        }


def rung_name(level: int) -> str:
    return EscalationLevel(level).name.lower().replace("_", " ")


def decode(
    kinds: Mapping[int, tuple[str, EventSpec]], names: tuple[str, ...],
    bloc_names: tuple[str, ...], state: Any, start: int = 0,
    event_names: tuple[str, ...] = (),
) -> list[Event]:  # fmt: skip
    """The run's events from the ``start``-th on, in the order they happened; ``kinds``
    maps each code to its process and declaration (``sim.engine.assembly.EVENT_KINDS``)."""

    def actor(i: int) -> str:
        if i < 0:
            return ""
        return names[i] if i < len(names) else "the street"

    def bloc(b: int) -> str:
        return bloc_names[b] if 0 <= b < len(bloc_names) else "no bloc"

    def event(k: int) -> str:
        return event_names[k] if 0 <= k < len(event_names) else ""

    count = int(state.run[0]["events"])
    codes, values = state.event_codes[start:count], state.event_values[start:count]
    events = []
    for (week, k, who, other, detail), numbers in zip(codes.tolist(), values, strict=True):
        process, spec = kinds[k]
        v = {name: float(x) for name, x in zip(spec.values, numbers, strict=False)}
        a = actor(who)
        b = actor(other) if spec.other_is_actor else ""
        actors = tuple(x for x in (a, b) if x)
        if spec.other and not spec.other_is_actor:
            v[spec.other] = float(other)
        if spec.detail:
            v[spec.detail] = float(detail)
        text = spec.text(Line(a, b, other, detail, v, bloc, event))
        events.append(Event(int(week), process, spec.name, actors, v, text))
    return events


def lost(state: State) -> int:
    """Events the full log could not hold."""
    return int(np.asarray(state.run)[0]["events_lost"])
