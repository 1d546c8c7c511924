"""How a weekly process declares itself, in Starsim's manner: the declarations *create* things.

A process module declares, next to its code (``Process`` subclasses):

- its scenario **section**: a pydantic ``Section`` under a table name (``[walk_out]``); the
  scenario schema, the World's compiled records and ``sim processes`` are built from it;
- its **state**: ``StateField``s (arrays, one value per faction, actor, week...) and
  ``RunField``s (scalars of the run record), with their dtype and initial value; the run's
  ``State`` and its record ``RUN`` are built from them (``sim.engine.assembly``);
- its random **stream**, by name: the stream's key is derived from the run's seed and the
  name (``sim.engine.streams``);
- its **event** kinds, with their text for the timeline (``EventSpec``): the event log
  decodes a run's events through them (``sim.engine.events``).

Nothing here imports a process: ``sim.engine.assembly`` gathers the declarations of the
processes of ``sim.engine.week.PROCESSES`` and builds every list from them.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    from pydantic import BaseModel

#: What compiled code is handed: the assembled ``State`` (``sim.engine.assembly.State``) and
#: ``World`` named tuples. Their fields are built from the declarations at import time, so
#: a type checker sees them as ``Any``; ``tests/test_processes.py`` checks that each field a
#: process touches is declared.
State = Any
World = Any


class Per(StrEnum):
    """The shape of a state field: one value per what."""

    FACTION = "faction"  # (N,)
    ACTOR = "actor"  # (N + 1,): the factions, then the street
    FACTION_PATRON = "faction x patron"  # (N, P)
    PATRON_FACTION = "patron x faction"  # (P, N)
    ISSUE = "issue"  # (K,)
    WEEK = "week"  # (T,): the weeks from the start week to the horizon
    RUNG = "rung"  # (6,): the rungs of the escalation ladder
    EVENT = "event"  # (E, width): a single run's event log; no rows in a batch
    ANSWER = "answer"  # (N, width) in a single run, (0, width) in a batch
    SCENARIO_EVENT = "scenario event"  # (E,): the scenario's [events]


#: An initial value: a constant, or a function of (world, start, the fields built before it)
#: giving the whole array.
Initial = float | int | bool | Callable[[Any, Any, Any], Any]


@dataclass(frozen=True)
class StateField:
    """An array of the run's ``State``."""

    name: str
    dtype: Any
    per: Per
    doc: str
    initial: Initial = 0
    width: int = 0  # the second dimension of EVENT and ANSWER fields


@dataclass(frozen=True)
class RunField:
    """A scalar of the run record (``state.run[0].name`` in compiled code)."""

    name: str
    dtype: Any
    doc: str
    initial: float | int | bool | Callable[[Any], Any] = 0  # a constant, or f(world)


def event_code(name: str) -> int:
    """The compiled code of an event kind: a stable hash of its name, so that a kind's code
    never depends on which processes exist or on their order (cached machine code keeps
    its constants)."""
    return zlib.crc32(name.encode()) & 0x7FFF_FFFF


@dataclass(frozen=True)
class Line:
    """What an event's text is written from: its actors' names, its codes and numbers."""

    actor: str  # the acting faction ("" for none; "the street" for the street)
    other_actor: str  # ``other`` as a faction's name, when the kind says it is one
    other: int
    detail: int
    values: dict[str, float]
    bloc: Callable[[int], str]  # a bloc's name by index ("no bloc" for -1)
    event: Callable[[int], str]  # a scenario event's name by index


@dataclass(frozen=True)
class EventSpec:
    """One kind of event: its name, what ``other`` and ``detail`` mean (``what`` names them
    for JSON), its numbers' names, and its line for the timeline."""

    name: str
    text: Callable[[Line], str]
    other: str = ""
    detail: str = ""
    values: tuple[str, ...] = ()
    other_is_actor: bool = False  # ``other`` is a faction (an answer: the formateur)

    @property
    def code(self) -> int:
        return event_code(self.name)


@dataclass(frozen=True)
class SectionSpec:
    """A scenario table a process owns: ``[name]``, validated by ``model``; ``switch``
    names its key that switches the mechanism off at 0 (the others are then read by
    nothing: ``tests/test_dead_keys.py`` counts them as inert)."""

    name: str
    model: type[BaseModel]
    switch: str = ""
    many: bool = False  # a table of named tables, ``[name.KEY]``, each a ``model``
    compile: Callable[[Any], Any] | None = None  # the scenario -> its compiled record
    check: Callable[[Any], list[tuple[str, str]]] | None = None  # rules across tables


class Process:
    """What a weekly process declares about itself (never instantiated)."""

    #: its random stream's name ("" if it draws none)
    stream: ClassVar[str] = ""
    #: the scenario table it owns, if any (shared tables are ``sim.engine.world.CORE``)
    section: ClassVar[SectionSpec | None] = None
    #: World sections (scenario tables) it reads, its own included
    parameters: ClassVar[tuple[str, ...]] = ()
    #: the State arrays and run-record scalars it owns (creates and initialises)
    state: ClassVar[tuple[StateField | RunField, ...]] = ()
    #: State fields it reads and writes (``run.X`` for the run record): what it touches of
    #: the others' state, checked against its code by tests/test_processes.py
    reads: ClassVar[tuple[str, ...]] = ()
    writes: ClassVar[tuple[str, ...]] = ()
    #: the kinds of event it records
    events: ClassVar[tuple[EventSpec, ...]] = ()
    step: ClassVar[Callable[..., Any]]  # the compiled step(world, state, rng)
