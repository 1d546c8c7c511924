"""A run's outcomes as compiled code records them, and as Arrow columns.

``record_outcome`` (compiled) writes a finished run's outcomes into arrays: a record of
``RAW`` per run (one field per scalar outcome of ``sim.engine.outcomes.OUTCOMES``) and arrays for
lists, series and shares; ``to_table`` turns the arrays of many runs into the run table's
columns at once; ``run_row`` is the same path for one run (``FormationModel.outcome``).
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np
import pyarrow as pa

from sim.engine.declare import State, World
from sim.engine.jit import jit
from sim.engine.outcomes import BOOL, FLOAT, INT, LEVELS, OUTCOMES, STRING, Kind
from sim.engine.processes.blocs import largest_bloc
from sim.engine.world import Compiled


def _raw_dtype() -> np.dtype:
    """The per-run record compiled code fills: one field per scalar outcome column (codes
    for categories and names, -1 for none); lists and series travel in their own arrays."""
    kinds = {BOOL: np.bool_, INT: np.int64, FLOAT: np.float64, STRING: np.int64}
    fields = []
    for o in OUTCOMES:
        if o.source:  # a list, series, shares or family: an array of its own
            continue
        dtype = np.int64 if o.kind is Kind.CATEGORY else kinds[o.type]
        fields.append((o.name, dtype))
    return np.dtype(fields, align=True)


RAW = _raw_dtype()


class Raw(NamedTuple):
    """Arrays of R runs' outcomes, before they become Arrow columns."""

    raw: np.ndarray  # (R,) records of RAW
    coalition: np.ndarray  # (R, N) bool: members of the government
    weights: np.ndarray  # (R, P) patrons' weights in the government
    escalation: np.ndarray  # (R, T) int8 series, valid up to each run's final week
    grievance: np.ndarray  # (R, T) float32 series
    attacks: np.ndarray  # (R, T) int16: strikes on the incumbent each week
    portfolios: np.ndarray  # (R, N) each list's share of the ministries (0 outside)
    seat_shares: np.ndarray  # (R, N) each list's share of the coalition's seats (0 outside)
    walked_out: np.ndarray  # (R, N) bool: the lists that walked out of parliament
    weeks_at_level: np.ndarray  # (R, 6) weeks with the highest rung at each rung
    event_weeks: np.ndarray  # (R, E) the week each scenario event first fired, or -1


@jit
def record_outcome(
    world: World, state: State, start_alignment: np.ndarray, out: Raw, r: int
) -> None:
    """Write one finished run's outcomes into row ``r`` of the output arrays. Patrons'
    weights use the alignments the run started with (a rift after formation does not
    rewrite who brought the government in)."""
    raw = out.raw[r : r + 1]
    coalition, weights, walked_out = out.coalition[r], out.weights[r], out.walked_out[r]
    escalation, grievance, attacks = out.escalation[r], out.grievance[r], out.attacks[r]
    portfolios, seat_shares = out.portfolios[r], out.seat_shares[r]
    run = state.run[0]
    row = raw[0]
    formed = run.formed_week >= 0
    span = run.week - world.clock.start_week + 1
    row.formed = formed
    row.weeks_to_government = run.formed_week
    row.government_type = run.government_type
    row.pm_kind = run.pm_kind
    row.pm_faction = run.pm_faction
    coalition[:] = state.government
    walked_out[:] = state.walked_out
    seats_now = state.seats  # after any walk-out
    row.coalition_seats = int((seats_now * state.government).sum())
    n_blocs = len(world.bloc_leaders)
    if run.nomination_leader >= 0:
        leader, bloc, seats = run.nomination_leader, run.nomination_bloc, run.nomination_seats
    else:
        leader, seats = largest_bloc(world, seats_now, state.bloc_of)
        bloc = state.bloc_of[leader]
    # names of blocs first, then of lists (to_table)
    by_list = world.parliament.largest_list_rule
    row.largest_bloc = bloc if bloc >= 0 and not by_list else n_blocs + leader
    row.largest_bloc_seats = int(seats)
    row.blocking_third = run.stalled_by_boycott
    row.president_sessions = run.president_sessions
    row.president_failures = run.president_failures
    row.nominees = run.nominees
    row.max_escalation = state.escalation_series[:span].max()
    out.weeks_at_level[r] = state.weeks_at_level
    out.event_weeks[r] = state.fired_week
    row.casualties = run.casualties
    row.incumbent_attacks = run.incumbent_attacks
    row.incumbent_survived = run.incumbent_alive or not run.incumbent_present
    row.incumbent_legitimacy = run.incumbent_legitimacy
    row.pmf_status = run.pmf_status
    row.bloc_switches = run.bloc_switches
    row.final_week = run.week
    weights[:] = 0.0
    held = (seats_now * state.government).sum()
    if formed and held > 0:
        lever = np.maximum(start_alignment, 0.0)
        for i in range(len(seats_now)):
            if state.government[i]:
                weights += seats_now[i] * lever[i] / held
    escalation[:span] = state.escalation_series[:span]
    grievance[:span] = state.grievance_series[:span]
    attacks[:span] = state.incumbent_attack_series[:span]
    # Gamson's law with the formateur's bonus (the anchor of sim.bargaining's office term):
    # ministries in proportion to the seats each member brings, the formateur's list first
    portfolios[:] = 0.0
    seat_shares[:] = 0.0
    if formed and held > 0:
        bonus = world.bargaining.formateur_bonus if state.government[run.formateur] else 0.0
        for i in range(len(seats_now)):
            if state.government[i]:
                seat_shares[i] = seats_now[i] / held
                portfolios[i] = (1.0 - bonus) * seat_shares[i]
        if bonus > 0:
            portfolios[run.formateur] += bonus


def empty_raw(runs: int, n: int, patrons: int, span: int, events: int = 0) -> Raw:
    """Output arrays for ``runs`` runs of a world with n factions and ``span`` weeks."""
    return Raw(
        raw=np.zeros(runs, dtype=RAW),
        coalition=np.zeros((runs, n), dtype=np.bool_),
        weights=np.zeros((runs, patrons)),
        escalation=np.zeros((runs, span), dtype=np.int8),
        grievance=np.zeros((runs, span), dtype=np.float32),
        attacks=np.zeros((runs, span), dtype=np.int16),
        portfolios=np.zeros((runs, n)),
        seat_shares=np.zeros((runs, n)),
        walked_out=np.zeros((runs, n), dtype=np.bool_),
        weeks_at_level=np.zeros((runs, len(LEVELS)), dtype=np.int64),
        event_weeks=np.full((runs, events), -1, dtype=np.int64),
    )


def _lists(values: np.ndarray, lengths: np.ndarray, kind: pa.DataType) -> pa.Array:
    offsets = np.zeros(len(lengths) + 1, dtype=np.int32)
    np.cumsum(lengths, out=offsets[1:])
    mask = np.arange(values.shape[1]) < lengths[:, None]
    return pa.ListArray.from_arrays(pa.array(offsets), pa.array(values[mask], type=kind))


def _event_weeks(counts: np.ndarray, span: np.ndarray, start_weeks: np.ndarray) -> pa.Array:
    """(R, T) events per week (from each run's start week) as a list of weeks per run, each
    week repeated once per event in it."""
    counts = np.where(np.arange(counts.shape[1]) < span[:, None], counts, 0).astype(np.int64)
    lengths = counts.sum(axis=1)
    offsets = np.zeros(len(lengths) + 1, dtype=np.int32)
    np.cumsum(lengths, out=offsets[1:])
    t = np.broadcast_to(np.arange(counts.shape[1]), counts.shape)
    weeks = np.repeat(t.ravel(), counts.ravel()) + np.repeat(start_weeks, lengths)
    return pa.ListArray.from_arrays(pa.array(offsets), pa.array(weeks, type=pa.int16()))


def _named(codes: np.ndarray, names: np.ndarray) -> pa.Array:
    """Names by index, null where the index is -1."""
    return pa.array(names[np.maximum(codes, 0)], type=pa.string(), mask=codes < 0)


def _members(members: np.ndarray, names: np.ndarray) -> tuple[pa.Array, pa.Array]:
    """Offsets and names of each run's members (an (R, N) bool array), row by row."""
    offsets = np.zeros(len(members) + 1, dtype=np.int32)
    np.cumsum(members.sum(axis=1), out=offsets[1:])
    chosen = np.broadcast_to(names, members.shape)[members]
    return pa.array(offsets), pa.array(chosen, type=pa.string())


def to_table(compiled: Compiled, out: Raw, start_weeks: np.ndarray) -> dict[str, pa.Array]:
    """The outcome columns of R runs, as Arrow arrays (registry order); ``compiled`` gives
    the names, ``start_weeks`` each run's first week (where its series begin). Each column
    is made by its outcome's kind, from its ``source`` array or the record of scalars."""
    raw = out.raw
    names = {
        "lists": np.array(compiled.names, dtype=object),
        "blocs then lists": np.array([*compiled.bloc_names, *compiled.names], dtype=object),
    }
    span = np.maximum(raw["final_week"] - start_weeks + 1, 0)
    each = {"level": [str(k) for k in LEVELS], "patron": list(compiled.patron_names)}
    result: dict[str, pa.Array] = {}
    for o in OUTCOMES:
        source: Any = getattr(out, o.source) if o.source else None
        if o.each:
            for k, label in enumerate(each[o.each]):
                result[o.name.format(label)] = pa.array(source[:, k], type=o.type)
        elif o.labels is not None:
            words = np.array([m.label for m in sorted(o.labels)], dtype=object)
            result[o.name] = pa.array(words[raw[o.name]], type=pa.string())
        elif o.names:
            result[o.name] = _named(raw[o.name], names[o.names])
        elif o.kind is Kind.NAMES:
            result[o.name] = pa.ListArray.from_arrays(*_members(source, names["lists"]))
        elif o.kind is Kind.SHARES:  # each government list's share
            offsets, keys = _members(out.coalition, names["lists"])
            items = pa.array(source[out.coalition].round(o.digits), type=pa.float64())
            result[o.name] = pa.MapArray.from_arrays(offsets, keys, items)
        elif o.kind is Kind.FIRED:
            events = len(compiled.event_names)
            offsets = pa.array(np.arange(len(source) + 1, dtype=np.int32) * events)
            keys = pa.array(np.tile(np.array(compiled.event_names, dtype=object), len(source)),
                            type=pa.string())  # fmt: skip
            weeks = source.ravel()
            items = pa.array(weeks, type=pa.int16(), mask=weeks < 0)
            result[o.name] = pa.MapArray.from_arrays(offsets, keys, items)
        elif o.kind is Kind.EVENT_WEEKS:
            result[o.name] = _event_weeks(source, span, start_weeks)
        elif o.kind is Kind.SERIES:
            values = source if o.digits is None else source.round(o.digits)
            result[o.name] = _lists(values, span, o.type.value_type)
        else:
            mask = raw[o.name] < 0 if o.kind is Kind.WEEKS else None
            result[o.name] = pa.array(raw[o.name], type=o.type, mask=mask)
    return result


def run_row(compiled: Compiled, state: State, phase: int = 0) -> dict[str, Any]:
    """One run's tidy row (``FormationModel.outcome``): the batch's code path, R = 1.
    ``state`` is the compiled handle (``sim.engine.state.state_ref``)."""
    world = compiled.world
    span = world.clock.horizon_weeks - world.clock.start_week + 1
    out = empty_raw(
        1, len(compiled.names), len(compiled.patron_names), span, len(compiled.event_names)
    )
    record_outcome(compiled.refs[phase], state, compiled.start.alignment, out, 0)
    start = np.array([world.clock.start_week])
    return {name: column[0].as_py() for name, column in to_table(compiled, out, start).items()}
