"""Scenario events: the world changes at a given week, or when something happens.

A scenario's ``[events.NAME]`` tables are interventions and outside shocks (Starsim's and
Covasim's interventions; EMA Workbench's policy levers). Each has a trigger: ``week = W``
(counted from election day) or ``when = "CONDITION"`` on the run's state (``max_rung >= 4
and not formed``, ``rung.NAME >= 3``, ``incumbent_attacks > 0``: the observables are
``sim.engine.rules.conditions.OBSERVABLES``); once the trigger holds it fires with
``probability`` a week (default 1), once (``once = true``, the default) or every week the
trigger holds. Its effects:

- ``set = { "patrons.us.backing" = 0.0 }``: scenario values the model reads week by week,
  from the week it fires. The run then reads a World compiled with those values (each
  combination of fired events is compiled once per scenario, ``sim.engine.assembly``); a
  value the run copies into its state at the start cannot change mid-run and is refused
  (``FIXED``).
- named shocks, for what a value cannot say: ``killed = { community = "shia", dead = 300 }``
  (an outside attack: the dead count on that community's lists, by seats, and aggrieve
  them), ``grievance = { factions = [...], rise = 0.2 }``, ``kill_incumbent = true``, and
  ``leave_parliament = [...]`` (lists leave by decree, their seats passed on as in a
  walk-out).

Each event draws from its own stream, keyed by its name: an event that never fires changes
no run, and runs are bit-identical up to the week an event first fires.
"""

from __future__ import annotations

import re
import zlib
from collections import namedtuple
from typing import Any

import numpy as np
from pydantic import Field, model_validator

from sim.engine.declare import (
    EventSpec,
    Line,
    Per,
    Process,
    RunField,
    SectionSpec,
    State,
    StateField,
    World,
    event_code,
)  # fmt: skip
from sim.engine.events import EVENT_LOG, log_event
from sim.engine.jit import jit
from sim.engine.processes.attacks import incumbent_killed
from sim.engine.processes.walkouts import walk_out
from sim.engine.rules.conditions import ConditionError, parse_condition, triggered
from sim.engine.schema import MAX_WEEKS, CommunityName, Names, Section, Unit
from sim.engine.streams import mix, uniform

FIRES = event_code("scenario_event")
DRAW = 0  # each event's stream's slot


class Killed(Section):
    """An outside attack's dead, among one community."""

    community: CommunityName
    dead: int = Field(ge=0, le=1_000_000)


class GrievanceRise(Section):
    factions: Names
    rise: Unit


class ScenarioEvent(Section):
    """``[events.NAME]``: a trigger, a weekly chance once it holds, and effects."""

    week: int | None = Field(default=None, ge=0, le=MAX_WEEKS)
    when: str | None = Field(default=None, min_length=1, max_length=500)
    probability: Unit = 1.0
    once: bool = True
    set: dict[str, float | int | bool] = Field(default_factory=dict)
    killed: Killed | None = None
    grievance: GrievanceRise | None = None
    kill_incumbent: bool = False
    leave_parliament: Names = ()

    @model_validator(mode="after")
    def _one_trigger(self) -> ScenarioEvent:
        if (self.week is None) == (self.when is None):
            raise ValueError('give exactly one trigger: week = W, or when = "CONDITION"')
        return self


#: Keys an event cannot set: the run copies them into its state when it starts (or they
#: shape the run itself), so a new value mid-run would never be read.
FIXED = (
    (r"name|description|seed|events\..*", "it is not a value the model reads"),
    (r"clock\..*", "the clock shapes the whole run"),
    (r"blocs.*|consensus\..*", "blocs and the consensus community are set at the start"),
    (r"factions\.[^.]+\.(seats|previous_seats|grievance|escalation|legitimacy|alignment.*)",
     "a faction's seats, grievance, rung, legitimacy and alignments are its state, "
     "changed by the run (use a shock: grievance, killed, leave_parliament)"),
    (r"patrons\.[^.]+\.patience", "a patron's patience is state, changed by the run"),
    (r"incumbent\.(present|alive|legitimacy|faction)",
     "the incumbent's standing is state (use kill_incumbent)"),
    (r"escalation\.street_start", "the street's first rung is its state at the start"),
    (r"parliament\.size", "the chamber's size sets the seats at the start"),
)  # fmt: skip


def fixed_reason(key: str) -> str | None:
    """Why ``key`` cannot change mid-run, or None if an event may set it."""
    for pattern, reason in FIXED:
        if re.fullmatch(pattern, key):
            return reason
    return None


# --------------------------------------------------------------------------- compiled
EventsRecord = namedtuple(  # the section as compiled code reads it (E events, C clauses)
    "EventsRecord",
    "week probability once bit tag dead_by_list grievance_rise kill leave clause_start "
    "clause_stop clause_group clause_observable clause_faction clause_op clause_value",
)


def event_tag(name: str) -> np.uint64:
    """The tag of an event's stream: a hash of its name (stable, whatever else exists)."""
    return np.uint64(zlib.crc32(f"event:{name}".encode()) * 0x9E3779B1 & (2**64 - 1))


def set_events(sc: Any) -> list[str]:
    """The events that set values: each is a bit of the run's ``phase``, the index of the
    World it reads."""
    return [name for name, e in sc.events.items() if e.set]


def compile_events(sc: Any) -> EventsRecord:
    names = list(sc.factions)
    seats = np.array([sc.factions[n].seats for n in names], dtype=float)
    community = [sc.factions[n].community for n in names]
    events = list(sc.events.items())
    setters = set_events(sc)
    e_count, n = len(events), len(names)
    dead = np.zeros((e_count, n))
    rise = np.zeros((e_count, n))
    leave = np.zeros((e_count, n), dtype=np.bool_)
    clauses: list[tuple[int, int, int, int, int, float]] = []
    for k, (_, event) in enumerate(events):
        if event.killed is not None:
            kin = np.array([c == event.killed.community for c in community]) & (seats > 0)
            if kin.any():
                dead[k] = event.killed.dead * seats * kin / (seats * kin).sum()
        if event.grievance is not None:
            for faction in event.grievance.factions:
                rise[k, names.index(faction)] = event.grievance.rise
        for faction in event.leave_parliament:
            leave[k, names.index(faction)] = True
        if event.when is not None:
            for g, group in enumerate(parse_condition(event.when, names)):
                clauses += [(k, g, *clause) for clause in group]
    table = np.array(clauses, dtype=float).reshape(-1, 6)
    # each event's clauses are a run of rows, in the order of its groups
    owner = table[:, 0].astype(np.int64)
    start = np.searchsorted(owner, np.arange(e_count), side="left")
    stop = np.searchsorted(owner, np.arange(e_count), side="right")
    return EventsRecord(
        week=np.array([-1 if e.week is None else e.week for _, e in events], dtype=np.int64),
        probability=np.array([e.probability for _, e in events], dtype=float),
        once=np.array([e.once for _, e in events], dtype=np.bool_),
        bit=np.array([setters.index(n) if n in setters else -1 for n, _ in events], np.int64),
        tag=np.array([event_tag(n) for n, _ in events], dtype=np.uint64),
        dead_by_list=dead,
        grievance_rise=rise,
        kill=np.array([e.kill_incumbent for _, e in events], dtype=np.bool_),
        leave=leave,
        clause_start=start.astype(np.int64),
        clause_stop=stop.astype(np.int64),
        clause_group=table[:, 1].astype(np.int64),
        clause_observable=table[:, 2].astype(np.int64),
        clause_faction=table[:, 3].astype(np.int64),
        clause_op=table[:, 4].astype(np.int64),
        clause_value=table[:, 5].copy(),
    )


def check_events(sc: Any) -> list[tuple[str, str]]:
    """Events name existing factions, a week within the horizon and a readable condition."""
    problems: list[tuple[str, str]] = []
    names = list(sc.factions)
    listed = ", ".join(sorted(names))
    for name, event in sc.events.items():
        where = f"events.{name}"
        if event.week is not None and event.week > sc.clock.horizon_weeks:
            problems.append((f"{where}.week", f"{event.week} is past the horizon "
                             f"(clock.horizon_weeks = {sc.clock.horizon_weeks})"))  # fmt: skip
        if event.when is not None:
            try:
                parse_condition(event.when, names)
            except ConditionError as exc:
                problems.append((f"{where}.when", str(exc)))
        shocked = [*(event.grievance.factions if event.grievance else ()),
                   *event.leave_parliament]  # fmt: skip
        for faction in shocked:
            if faction not in sc.factions:
                problems.append((where, f"no faction named {faction!r}; factions: {listed}"))
        for key in event.set:
            reason = fixed_reason(key)
            if reason is not None:
                problems.append((f"{where}.set.{key}", f"cannot change mid-run: {reason}"))
    if len(set_events(sc)) > MAX_SETTING:
        problems.append(("events", f"at most {MAX_SETTING} events may set values (each "
                         "combination of them is a World compiled for the run)"))  # fmt: skip
    return problems


MAX_SETTING = 6


@jit
def fire(events: Any, world: World, state: State, e: int) -> None:
    """Event ``e``'s shocks, and its bit in the run's phase (its values, from now on)."""
    run = state.run[0]
    dead = 0.0
    for i in range(len(state.seats)):
        if events.dead_by_list[e, i] > 0:
            state.casualties_last[i] += events.dead_by_list[e, i]
            dead += events.dead_by_list[e, i]
        if events.grievance_rise[e, i] > 0:
            state.grievance[i] = min(state.grievance[i] + events.grievance_rise[e, i], 1.0)
    run.casualties += int(np.rint(dead))
    if events.kill[e] and run.incumbent_alive:
        incumbent_killed(world, state)
    for i in range(len(state.seats)):
        if events.leave[e, i] and not state.walked_out[i]:
            walk_out(world, state, i)
    if events.bit[e] >= 0:
        run.phase |= 1 << events.bit[e]
    if state.fired_week[e] < 0:
        state.fired_week[e] = run.week
    log_event(state, FIRES, -1, e, 0, dead)


@jit
def step(world: World, state: State, rng: np.uint64) -> None:
    if world.n_events == 0:  # the record of events is unpacked only when there are some
        return
    run = state.run[0]
    events = world.events
    # its arrays, once a week (a record of arrays handed to a function costs a reference
    # count per array)
    week, once, fired = events.week, events.once, state.fired_week
    start, stop, group = events.clause_start, events.clause_stop, events.clause_group
    observable, faction = events.clause_observable, events.clause_faction
    op, value = events.clause_op, events.clause_value
    for e in range(len(week)):
        if once[e] and fired[e] >= 0:
            continue
        if not triggered(state, week[e], start[e], stop[e], group, observable, faction, op, value):
            continue
        p = events.probability[e]
        if p < 1.0 and uniform(mix(rng ^ events.tag[e]), run.week, DRAW, 0) >= p:
            continue
        fire(events, world, state, e)


def effects(event: ScenarioEvent) -> str:
    """An event's effects in words, for the timeline."""
    parts = [f"{key} = {value:g}" for key, value in event.set.items()]
    if event.killed is not None:
        parts.append(f"{event.killed.dead} killed among {event.killed.community}")
    if event.grievance is not None:
        parts.append(
            f"grievance +{event.grievance.rise:g} for {', '.join(event.grievance.factions)}"
        )
    if event.kill_incumbent:
        parts.append("the incumbent killed")
    if event.leave_parliament:
        parts.append(f"{', '.join(event.leave_parliament)} leave parliament")
    return "; ".join(parts) or "no effect"


def fires_text(e: Line) -> str:
    return f"event {e.event(e.other)}"


class Interventions(Process):
    """Scenario events: values set and shocks at a week, or when a condition holds."""

    stream = "events"
    section = SectionSpec("events", ScenarioEvent, many=True, compile=compile_events,
                          check=check_events)  # fmt: skip
    parameters = ("events", "grievance", "walk_out", "parliament")
    state = (
        StateField("fired_week", np.int64, Per.SCENARIO_EVENT,
                   "the week each scenario event first fired (-1: not yet)", -1),
        RunField("phase", np.int64, "the events with values that have fired, a bit each "
                 "(the World the run reads)"),
    )  # fmt: skip
    reads = (
        "run.week", "run.stage", "run.formed_week", "run.incumbent_alive",
        "run.incumbent_attacks", "run.last_session_week", "run.formateur", "levels",
    )  # fmt: skip
    writes = (
        "casualties_last", "grievance", "run.casualties", "run.incumbent_alive", "seats",
        "walked_out", "major_list", "on_the_table", "bloc_of", "run.stage", "run.timer",
        "run.plan_valid", *EVENT_LOG,
    )  # fmt: skip
    events = (EventSpec("scenario_event", fires_text, "event", "", ("dead",)),)
    step = staticmethod(step)
