"""Everything built from the processes' declarations: the run's State and record, the World's
sections, the scenario schema, the event kinds and the streams.

Nothing here is written per process: adding a process to ``sim.engine.week.PROCESSES``
adds its table to the scenario schema and the World, its arrays and scalars to the State,
its stream and its event texts, and its line to ``sim processes``.
"""

from __future__ import annotations

from collections import namedtuple
from typing import Any

import numpy as np
from numba import typed
from numba.core import types
from numba.experimental import structref
from pydantic import BaseModel, Field, ValidationError, create_model

from sim.engine import dotted, schema
from sim.engine import events as log
from sim.engine import state as states
from sim.engine import world as worlds
from sim.engine.declare import EventSpec, RunField, SectionSpec, StateField
from sim.engine.jit import jit
from sim.engine.processes.interventions import effects, set_events
from sim.engine.schema import Name, ScenarioBase
from sim.engine.streams import stream_keys, stream_tag
from sim.engine.week import PROCESSES

#: Who owns each piece of state: the week's core, the event log, then each process.
OWNERS: tuple[tuple[str, tuple[StateField | RunField, ...]], ...] = (
    ("the week", states.CORE),
    ("the event log", log.FIELDS),
    *((p.__name__, p.state) for p in PROCESSES),
)
_DECLARED = [f for _, fields in OWNERS for f in fields]
ARRAYS: tuple[StateField, ...] = tuple(f for f in _DECLARED if isinstance(f, StateField))
RUN_FIELDS: tuple[RunField, ...] = tuple(f for f in _DECLARED if isinstance(f, RunField))
RUN = states.run_dtype(RUN_FIELDS)

_names = ["run", *(f.name for f in ARRAYS)]
_scalars = [f.name for f in RUN_FIELDS]
_repeated = sorted({n for n in _names if _names.count(n) > 1} | {
    n for n in _scalars if _scalars.count(n) > 1
})  # fmt: skip
if _repeated:  # pragma: no cover - a declaration error, caught on import
    raise TypeError(f"state fields declared twice: {_repeated}")

#: A run's changing state: the run record, then every declared array, in declaration order.
State = namedtuple("State", _names)  # type: ignore[misc]
State.__module__ = __name__


@structref.register
class _StateRefType(types.StructRef):
    def preprocess_fields(self, fields: Any) -> Any:
        return tuple((name, types.unliteral(kind)) for name, kind in fields)


class StateRef(structref.StructRefProxy):
    """The compiled processes' handle on a ``State``: the same arrays, passed as one
    pointer. (A named tuple of arrays handed whole from one compiled function to another
    costs a reference-count update per array, about a microsecond a call; a structref
    costs one.) Build it with ``state_ref``; read the arrays through the ``State``."""


structref.define_proxy(StateRef, _StateRefType, list(State._fields))


@jit
def state_ref(state: Any) -> Any:
    """The compiled handle on ``state`` (shares its arrays)."""
    return StateRef(*state)


# --------------------------------------------------------------------------- the World
#: Every scenario table a process reads: the shared ones, then each process's own.
SECTIONS: dict[str, type[BaseModel]] = {
    **worlds.CORE_SECTIONS,
    **{p.section.name: p.section.model for p in PROCESSES if p.section is not None},
}
World: Any = worlds.world_type(SECTIONS)


@structref.register
class _WorldRefType(types.StructRef):
    def preprocess_fields(self, fields: Any) -> Any:
        return tuple((name, types.unliteral(kind)) for name, kind in fields)


class WorldRef(structref.StructRefProxy):
    """The compiled processes' handle on a ``World`` (see ``StateRef``)."""


structref.define_proxy(WorldRef, _WorldRefType, list(World._fields))


@jit
def world_ref(world: Any) -> Any:
    """The compiled handle on ``world`` (shares its arrays)."""
    return WorldRef(*world)


# --------------------------------------------------------------------------- the scenario
def _optional(model: type[BaseModel]) -> Any:
    """A table whose keys all have defaults may be left out (its defaults switch its
    mechanism off, as each says); any other table is required."""
    try:
        return model()
    except ValidationError:
        return ...


def _field(spec: SectionSpec) -> tuple[Any, Any]:
    if spec.many:  # named tables of one kind, none by default
        return (dict[Name, spec.model], Field(default_factory=dict))  # type: ignore[name-defined]
    return (spec.model, _optional(spec.model))


#: The scenario schema: the scenario's own tables and each process's.
Scenario = create_model(  # type: ignore[call-overload]
    "Scenario",
    __base__=ScenarioBase,
    __module__=__name__,
    **{p.section.name: _field(p.section) for p in PROCESSES if p.section is not None},
)


def check_rules(sc: Any) -> list[tuple[str, str]]:
    """Rules across a scenario's tables: its own (``schema.check_rules``), then each
    process's (``SectionSpec.check``); (dotted key, what is wrong) pairs."""
    problems = schema.check_rules(sc)
    for p in PROCESSES:
        if p.section is not None and p.section.check is not None:
            problems += p.section.check(sc)
    return problems


def _compiler(name: str) -> Any:
    return lambda sc: worlds.as_record(getattr(sc, name))


#: Each table's compiled record, by the function that makes it from a scenario.
COMPILERS: dict[str, Any] = {
    name: _compiler(name) for name in worlds.CORE_SECTIONS
} | {
    p.section.name: p.section.compile or _compiler(p.section.name)
    for p in PROCESSES
    if p.section is not None
}  # fmt: skip

_CACHE: dict[int, tuple[Any, worlds.Compiled]] = {}


def world_for(sc: Any) -> worlds.Compiled:
    """The compiled World of a Scenario object, built once per process."""
    hit = _CACHE.get(id(sc))
    if hit is not None and hit[0] is sc:
        return hit[1]
    if len(_CACHE) > 64:
        _CACHE.clear()
        _REFS.clear()
    compiled = worlds.compile_world(sc, World, COMPILERS, world_ref)
    compiled = compiled._replace(refs=_phases(sc, compiled))
    _CACHE[id(sc)] = (sc, compiled)
    _REFS[id(compiled.world)] = (compiled.world, compiled.ref)
    return compiled


#: The compiled handle of each World built here (making one costs a few hundred
#: microseconds: a new model or chunk reuses it).
_REFS: dict[int, tuple[Any, Any]] = {}


def _ref_of(world: Any) -> Any:
    hit = _REFS.get(id(world))
    return hit[1] if hit is not None and hit[0] is world else world_ref(world)


def _phases(sc: Any, compiled: worlds.Compiled) -> Any:
    """The World of each phase of a run: phase b (a bit per scenario event that sets
    values, ``interventions.set_events``) is the scenario with the values of the events of
    b's bits set. Phase 0 is the scenario itself."""
    refs = typed.List()
    refs.append(compiled.ref)
    setters = [sc.events[name] for name in set_events(sc)] if hasattr(sc, "events") else []
    for phase in range(1, 2 ** len(setters)):
        raw = sc.model_dump()
        for bit, event in enumerate(setters):
            if phase >> bit & 1:
                for key, value in event.set.items():
                    raw = dotted.with_value(raw, key, value)
        variant = Scenario.model_validate(raw)
        refs.append(worlds.compile_world(variant, World, COMPILERS, world_ref).ref)
    return refs


# --------------------------------------------------------------------------- a run
def new_state(world: Any, start: Any, record_events: bool = False) -> Any:
    """A run at its start week, before its first step (``one_week``): every declared field
    at its initial value, and the week's first record; with ``record_events``, with room
    for its event log. ``world`` is the World (not its compiled handle)."""
    return new_memory(world, start, record_events)[1]


def new_memory(world: Any, start: Any, record_events: bool = False) -> tuple[np.ndarray, Any]:
    """``new_state``, with the block of memory its arrays are views of (a batch copies a
    scenario's initial block over a run's to start it, ``sim.engine.replicates``)."""
    memory, views = states.layout(ARRAYS, RUN, world, record_events)
    states.initialise(ARRAYS, RUN_FIELDS, views, world, start)
    state = State(*views)
    states.record_week(_ref_of(world), state_ref(state))
    return memory, state


#: The streams' tags, in the order of the week: ``one_week`` gives ``PROCESSES[k]`` the
#: key of ``STREAM_TAGS[k]``.
STREAM_TAGS = np.array([stream_tag(p.stream) for p in PROCESSES], dtype=np.uint64)
_streams = [p.stream for p in PROCESSES if p.stream]
if len(set(_streams)) != len(_streams):  # pragma: no cover - a declaration error
    raise TypeError(f"two processes declare one stream: {_streams}")


def streams_for(seed: int) -> np.ndarray:
    """The run's stream keys, one per process in the order of the week."""
    return stream_keys(seed, STREAM_TAGS)


# --------------------------------------------------------------------------- the events
def _event_kinds() -> dict[int, tuple[str, EventSpec]]:
    kinds: dict[int, tuple[str, EventSpec]] = {}
    for p in PROCESSES:
        for spec in p.events:
            if spec.code in kinds:  # pragma: no cover - a declaration error
                raise TypeError(f"event {spec.name!r} declared twice (or its code clashes)")
            kinds[spec.code] = (p.stream or p.__name__.lower(), spec)
    return kinds


#: Every kind of event, by its compiled code: (its process, its declaration).
EVENT_KINDS = _event_kinds()
EVENT_NAMES = tuple(spec.name for _, spec in EVENT_KINDS.values())


def decode(compiled: worlds.Compiled, state: Any, start: int = 0) -> list[log.Event]:
    """The run's events from the ``start``-th on, in the order they happened."""
    events = getattr(compiled.scenario, "events", {})
    described = tuple(f"{name!r}: {effects(e)}" for name, e in events.items())
    return log.decode(EVENT_KINDS, compiled.names, compiled.bloc_names, state, start, described)


def describe() -> str:
    """The week in words: each process in order, its stream, its table, what it owns, the
    others' state it reads and writes, and its events (``sim processes`` prints it)."""
    lines = ["one week, in order (sim/engine/week.py: one_week):"]
    for k, process in enumerate(PROCESSES, 1):
        doc = (process.__doc__ or "").strip().splitlines()[0]
        module = process.__module__.replace(".", "/") + ".py"
        own = [("run." if isinstance(f, RunField) else "") + f.name for f in process.state]
        lines.append(f"{k}. {process.__name__} ({module}): {doc}")
        lines.append(f"     random stream: {process.stream or '(draws none)'}")
        table = f"[{process.section.name}]" if process.section else "(none of its own)"
        lines.append(f"     its table: {table}; reads the tables: {', '.join(process.parameters)}")
        lines.append(f"     owns: {', '.join(own) or '(nothing)'}")
        lines.append(f"     reads: {', '.join(process.reads)}")
        lines.append(f"     writes: {', '.join(process.writes) or '(only its own)'}")
        lines.append(f"     events: {', '.join(e.name for e in process.events) or '(none)'}")
    lines.append(
        f"{len(PROCESSES) + 1}. the week's record and the stopping rule (sim/engine/state.py)"
    )
    return "\n".join(lines)
