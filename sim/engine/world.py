"""The World: the fixed facts of one scenario, compiled once into named arrays.

A ``World`` holds what a run reads but never changes: the factions' seats, positions,
armed capacity and community; the patrons' instruments; the incumbent's standing; the
blocs' leaders; and the scenario's parameter sections. Each section (``[bargaining]``,
``[grievance]``...) is the scenario's own pydantic section turned field for field into a
record the compiled processes can read (``world.grievance.decay``): nothing is copied by
hand, so a key added to the schema reaches the processes under the same name. Models built
from one Scenario object share one World.
"""

from __future__ import annotations

import typing
from collections import namedtuple
from collections.abc import Callable, Mapping
from typing import Any, Literal, NamedTuple

import numpy as np
from pydantic import BaseModel

from sim.engine import schema
from sim.engine.enums import ISSUES, Community
from sim.engine.schema import ScenarioBase

# --------------------------------------------------------------------------- sections


def _kind(annotation: Any) -> type | None:
    """float, int, bool or tuple for the fields a compiled process can read (a choice among
    words, ``Literal[...]``, is read as its index, int); None else."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _kind(typing.get_args(annotation)[0])
    if origin is Literal:
        return str
    if origin is tuple:
        args = typing.get_args(annotation)
        return tuple if args and all(_kind(a) is float for a in args) else None
    if annotation in (float, int, bool):
        return annotation
    return None


def _numeric_fields(section: type[BaseModel]) -> dict[str, type]:
    kinds = {name: _kind(f.annotation) for name, f in section.model_fields.items()}
    return {name: kind for name, kind in kinds.items() if kind is not None}


def _record_type(section: type[BaseModel]) -> type:
    """A named tuple with the section's numeric fields, made once per section class and
    kept as a global of this module (compiled code caches types by module and name)."""
    name = f"{section.__name__}Record"
    record = namedtuple(name, list(_numeric_fields(section)))  # type: ignore[misc]
    record.__module__ = __name__
    globals()[name] = record
    return record


def as_record(section: BaseModel) -> Any:
    """A scenario section as its record: values cast to the declared type, so every
    scenario compiles to the same record type (an int given for a float is a float)."""
    fields = _numeric_fields(type(section))
    values: list[Any] = []
    for name, kind in fields.items():
        value = getattr(section, name)
        if kind is str:  # a word of a Literal: its index, as the enum of its meaning has it
            options = typing.get_args(type(section).model_fields[name].annotation)
            values.append(options.index(value))
        else:
            values.append(tuple(float(v) for v in value) if kind is tuple else kind(value))
    return record_type(type(section))(*values)


_RECORDS: dict[type, type] = {}


def record_type(section: type[BaseModel]) -> type:
    """The compiled record of a section class, made once."""
    if section not in _RECORDS:
        _RECORDS[section] = _record_type(section)
    return _RECORDS[section]


#: The scenario tables every process may read, owned by no process (the others are
#: declared by the process that owns them, ``sim.engine.declare.Process.section``).
CORE_SECTIONS: dict[str, type[BaseModel]] = {
    "clock": schema.Clock,
    "parliament": schema.Parliament,
    "bargaining": schema.Bargaining,
    "incumbent": schema.Incumbent,
}


# --------------------------------------------------------------------------- the world
class Facts(NamedTuple):
    """A scenario's fixed facts: N factions (rows), P patrons, B blocs, K issues. The World
    is these, then one compiled record per scenario table (``world_type``).

    Arrays with N + 1 rows have the street as their last row: it climbs the ladder like an
    actor but holds no seats.
    """

    # factions (N,)
    seats: np.ndarray
    previous_seats: np.ndarray
    positions: np.ndarray  # (N, K) on the issues of sim.engine.enums.ISSUES, each in [-1, 1]
    office_weight: np.ndarray
    cohesion: np.ndarray
    armed: np.ndarray
    pmf: np.ndarray  # bool: inside the PMF umbrella
    pmf_side: np.ndarray  # bool: the umbrella and the lists that defend its mandate
    major_list: np.ndarray  # bool: a major list of the consensus community
    community: np.ndarray  # int: the community's row in sim.engine.enums.Community
    backing: np.ndarray  # outside backing of each faction (Turkey's of its partners), <= 1
    grievance_floor: np.ndarray  # grievance that never decays: the seats lost
    # patrons (P,)
    patron_pmf_stance: np.ndarray
    patron_mediation: np.ndarray
    patron_guarantee: np.ndarray
    patron_restraint: np.ndarray
    patron_pressure: np.ndarray
    # the incumbent
    incumbent_position: np.ndarray  # (K,)
    incumbent_supporters: np.ndarray  # (N,) bool
    incumbent_faction: int  # his list's row, or -1 when he leads none
    incumbent_backing: float  # patrons' backing of him, summed
    # blocs (B,)
    bloc_leaders: np.ndarray  # (B,) each bloc's leader's row
    is_leader: np.ndarray  # (N,) bool: leads a bloc (and so never leaves it)
    # the street is the last row
    armed_street: np.ndarray  # (N + 1,)
    pmf_side_street: np.ndarray  # (N + 1,) bool
    # coefficients of the utilities that never change during a run
    issue_weights: np.ndarray  # (K,) normalised to sum to 1
    office_coef: np.ndarray  # (N,)
    policy_coef: np.ndarray  # (N,)
    safety_coef: np.ndarray  # (N,)
    major_seats: float
    leader_distance: np.ndarray  # (N, B) policy distance to each bloc's leader
    # the ladder's thresholds, indexed by the current rung
    climb_at: np.ndarray  # (6,) pressure to climb from a rung (inf at the top)
    hold_at: np.ndarray  # (6,) pressure below which one may step down (-inf at the bottom)


def world_type(sections: Mapping[str, type[BaseModel]]) -> type:
    """The World: the facts, then a record per scenario table, under the table's name."""
    fields = [*Facts._fields, *sections]
    world = namedtuple("World", fields)  # type: ignore[misc]
    world.__module__ = __name__
    globals()["World"] = world  # compiled code caches types by module and name
    return world


class Start(NamedTuple):
    """Where a run starts: the scenario's initial state (copied into each run's State)."""

    grievance: np.ndarray  # (N,)
    levels: np.ndarray  # (N + 1,) rungs, the street last
    legitimacy: np.ndarray  # (N,)
    bloc_of: np.ndarray  # (N,) bloc index, -1 outside every bloc
    alignment: np.ndarray  # (N, P)
    patience: np.ndarray  # (P,)


class Compiled(NamedTuple):
    """A scenario compiled once: its World (and the compiled processes' handle on it), its
    Start, and the names for the outputs."""

    scenario: ScenarioBase
    world: Any  # the World (``world_type``)
    ref: Any  # a WorldRef: the same arrays, as compiled code takes them
    start: Start
    names: tuple[str, ...]
    patron_names: tuple[str, ...]
    bloc_names: tuple[str, ...]
    event_names: tuple[str, ...] = ()  # the scenario's events, in order
    #: the World of each phase (a combination of fired events that set values), as
    #: compiled code takes them: a typed list, ``refs[0]`` being ``ref``
    refs: Any = None


def seat_loss_grievance(seats: np.ndarray, previous: np.ndarray, weight: float) -> np.ndarray:
    """Grievance from losing seats since the previous election (share of seats lost)."""
    lost = np.maximum(previous - seats, 0) / np.maximum(previous, 1)
    return weight * lost


def _positions(p: schema.Positions | schema.IssueWeights) -> list[float]:
    return [float(getattr(p, issue)) for issue in ISSUES]


def compile_world(
    sc: ScenarioBase, world_class: Any, sections: Mapping[str, Callable[[Any], Any]], ref: Any
) -> Compiled:
    """A scenario's World (of type ``world_class``, with a record per table, each made by its
    function of ``sections``), its Start and names; ``ref`` makes the compiled handle on
    the World."""
    names = tuple(sc.factions)
    patrons = tuple(sc.patrons)
    index = {name: i for i, name in enumerate(names)}
    factions = [sc.factions[n] for n in names]
    pat = [sc.patrons[p] for p in patrons]
    seats = np.array([f.seats for f in factions], dtype=float)
    previous = np.array([f.previous_seats for f in factions], dtype=float)
    positions = np.array([_positions(f.positions) for f in factions], dtype=float).reshape(-1, 3)
    armed = np.array([f.armed for f in factions], dtype=float)
    pmf = np.array([f.pmf for f in factions], dtype=bool)
    community = np.array([f.community for f in factions])
    major = (community == sc.consensus.community) & (seats >= sc.consensus.major_list_seats)
    backing = np.zeros(len(names))
    for patron in pat:
        for name in patron.backs:
            backing[index[name]] += patron.backing
    backing = np.minimum(backing, 1.0)
    issue_weights = np.array(_positions(sc.bargaining.issue_weights), dtype=float)
    if issue_weights.sum() <= 0:
        issue_weights = np.ones(len(ISSUES))
    issue_weights = issue_weights / issue_weights.sum()
    office_weight = np.array([f.office_weight for f in factions], dtype=float)
    bg = sc.bargaining
    leaders = np.array([index[b.leader] for b in sc.blocs], dtype=np.int64)
    leader_distance = np.zeros((len(names), len(sc.blocs)))
    for b, leader in enumerate(leaders):
        leader_distance[:, b] = np.abs(positions - positions[leader]) @ issue_weights
    thresholds = np.array(sc.escalation.thresholds, dtype=float)
    floor = np.clip(seat_loss_grievance(seats, previous, sc.grievance.seat_loss), 0.0, 1.0)
    facts = Facts(
        seats=seats,
        previous_seats=previous,
        positions=positions,
        office_weight=office_weight,
        cohesion=np.array([f.cohesion for f in factions], dtype=float),
        armed=armed,
        pmf=pmf,
        pmf_side=pmf | (positions[:, 0] > 0.5),
        major_list=major,
        community=np.array([list(Community).index(Community(c)) for c in community]),
        backing=backing,
        grievance_floor=floor,
        patron_pmf_stance=np.array([p.pmf_stance for p in pat], dtype=float),
        patron_mediation=np.array([p.mediation for p in pat], dtype=float),
        patron_guarantee=np.array([p.guarantee for p in pat], dtype=float),
        patron_restraint=np.array([p.restraint for p in pat], dtype=float),
        patron_pressure=np.array([p.pressure for p in pat], dtype=float),
        incumbent_position=np.array(_positions(sc.incumbent.positions), dtype=float),
        incumbent_supporters=np.array([n in sc.incumbent.supported_by for n in names]),
        incumbent_faction=index[sc.incumbent.faction] if sc.incumbent.faction else -1,
        incumbent_backing=float(sum(p.backs_incumbent for p in pat)),
        bloc_leaders=leaders,
        is_leader=np.isin(np.arange(len(names)), leaders),
        armed_street=np.append(armed, 0.0),
        pmf_side_street=np.append(pmf | (positions[:, 0] > 0.5), False),
        issue_weights=issue_weights,
        # Gamson's law anchors office: a 25% share is worth office_value
        office_coef=4.0 * bg.office_value * office_weight,
        policy_coef=bg.policy_value * (1.0 - office_weight),
        # the unarmed and unbacked fear excluded armed factions the most
        safety_coef=bg.safety_value * (1.0 - armed) * (1.0 - backing),
        major_seats=float(seats[major].sum()),
        leader_distance=leader_distance,
        climb_at=np.append(thresholds, np.inf),
        hold_at=np.append(-np.inf, thresholds),
    )
    world = world_class(*facts, *(compile(sc) for compile in sections.values()))
    bloc_of = np.full(len(names), -1, dtype=np.int64)
    for b, bloc in enumerate(sc.blocs):
        for member in (bloc.leader, *bloc.members):
            bloc_of[index[member]] = b
    start = Start(
        grievance=np.clip(np.array([f.grievance for f in factions]) + floor, 0.0, 1.0),
        levels=np.array([f.escalation for f in factions] + [sc.escalation.street_start]).astype(
            np.int64
        ),
        legitimacy=np.array([f.legitimacy for f in factions], dtype=float),
        bloc_of=bloc_of,
        alignment=np.array(
            [[f.alignment.get(p, 0.0) for p in patrons] for f in factions], dtype=float
        ).reshape(len(names), len(patrons)),
        patience=np.array([p.patience for p in pat], dtype=float),
    )
    for arrays in (world, start):
        for value in arrays:
            if isinstance(value, np.ndarray):
                value.setflags(write=False)
    blocs = tuple(b.name for b in sc.blocs)
    events = tuple(getattr(sc, "events", {}))
    return Compiled(sc, world, ref(world), start, names, patrons, blocs, events)
