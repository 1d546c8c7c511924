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
from sim.engine.enums import GovernmentType, PMFStatus, PMKind
from sim.engine.jit import jit
from sim.engine.outcomes import BOOL, FLOAT, INT, OUTCOMES, STRING, Kind, columns
from sim.engine.processes.blocs import largest_bloc
from sim.engine.world import Compiled


def _raw_dtype() -> np.dtype:
    """The per-run record compiled code fills: one field per scalar outcome column (codes
    for categories and names, -1 for none); lists and series travel in their own arrays."""
    kinds = {BOOL: np.bool_, INT: np.int64, FLOAT: np.float64, STRING: np.int64}
    fields = []
    for o in OUTCOMES:
        if o.kind in (Kind.NAMES, Kind.SERIES, Kind.EVENT_WEEKS, Kind.SHARES) or o.each == "patron":
            continue
        dtype = np.int64 if o.kind is Kind.CATEGORY else kinds[o.type]
        fields += [(c, dtype) for c in columns(o, ())]
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


@jit
def record_outcome(
    world: World,
    state: State,
    start_alignment: np.ndarray,
    raw: np.ndarray,
    coalition: np.ndarray,
    weights: np.ndarray,
    escalation: np.ndarray,
    grievance: np.ndarray,
    attacks: np.ndarray,
    portfolios: np.ndarray,
    seat_shares: np.ndarray,
    walked_out: np.ndarray,
) -> None:
    """Write one finished run's outcomes into row views of the output arrays. Patrons'
    weights use the alignments the run started with (a rift after formation does not
    rewrite who brought the government in)."""
    run = state.run[0]
    out = raw[0]
    formed = run.formed_week >= 0
    span = run.week - world.clock.start_week + 1
    out.formed = formed
    out.weeks_to_government = run.formed_week
    out.government_type = run.government_type
    out.pm_kind = run.pm_kind
    out.pm_faction = run.pm_faction
    coalition[:] = state.government
    walked_out[:] = state.walked_out
    seats_now = state.seats  # after any walk-out
    out.coalition_seats = int((seats_now * state.government).sum())
    n_blocs = len(world.bloc_leaders)
    if run.nomination_leader >= 0:
        leader, bloc, seats = run.nomination_leader, run.nomination_bloc, run.nomination_seats
    else:
        leader, seats = largest_bloc(world, seats_now, state.bloc_of)
        bloc = state.bloc_of[leader]
    # names of blocs first, then of lists (to_table)
    by_list = world.parliament.largest_list_rule
    out.largest_bloc = bloc if bloc >= 0 and not by_list else n_blocs + leader
    out.largest_bloc_seats = int(seats)
    out.blocking_third = run.stalled_by_boycott
    out.president_sessions = run.president_sessions
    out.president_failures = run.president_failures
    out.nominees = run.nominees
    out.max_escalation = state.escalation_series[:span].max()
    out.weeks_at_level_0 = state.weeks_at_level[0]
    out.weeks_at_level_1 = state.weeks_at_level[1]
    out.weeks_at_level_2 = state.weeks_at_level[2]
    out.weeks_at_level_3 = state.weeks_at_level[3]
    out.weeks_at_level_4 = state.weeks_at_level[4]
    out.weeks_at_level_5 = state.weeks_at_level[5]
    out.casualties = run.casualties
    out.incumbent_attacks = run.incumbent_attacks
    out.incumbent_survived = run.incumbent_alive or not run.incumbent_present
    out.incumbent_legitimacy = run.incumbent_legitimacy
    out.pmf_status = run.pmf_status
    out.bloc_switches = run.bloc_switches
    out.final_week = run.week
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


def empty_raw(runs: int, n: int, patrons: int, span: int) -> Raw:
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


def to_table(compiled: Compiled, out: Raw, start_weeks: np.ndarray) -> dict[str, pa.Array]:
    """The outcome columns of R runs, as Arrow arrays (registry order); ``compiled`` gives
    the names, ``start_weeks`` each run's first week (where its series begin)."""
    raw = out.raw
    labels = {
        "government_type": GovernmentType,
        "pm_kind": PMKind,
        "pmf_status": PMFStatus,
    }
    names = np.array(compiled.names, dtype=object)
    blocs_then_lists = np.array([*compiled.bloc_names, *compiled.names], dtype=object)
    span = np.maximum(raw["final_week"] - start_weeks + 1, 0)
    result: dict[str, pa.Array] = {}
    for o in OUTCOMES:
        if o.name in labels:
            words = np.array([m.label for m in sorted(labels[o.name])], dtype=object)
            result[o.name] = pa.array(words[raw[o.name]], type=pa.string())
        elif o.name == "pm_faction":
            result[o.name] = _named(raw[o.name], names)
        elif o.name == "largest_bloc":
            result[o.name] = _named(raw[o.name], blocs_then_lists)
        elif o.kind is Kind.NAMES:
            members = out.coalition if o.name == "coalition" else out.walked_out
            offsets = np.zeros(len(members) + 1, dtype=np.int32)
            np.cumsum(members.sum(axis=1), out=offsets[1:])
            in_government = np.broadcast_to(names, members.shape)[members]  # row by row
            result[o.name] = pa.ListArray.from_arrays(
                pa.array(offsets), pa.array(in_government, type=pa.string())
            )
        elif o.kind is Kind.SHARES:
            members = out.coalition
            offsets = np.zeros(len(members) + 1, dtype=np.int32)
            np.cumsum(members.sum(axis=1), out=offsets[1:])
            keys = pa.array(np.broadcast_to(names, members.shape)[members], type=pa.string())
            shares = out.portfolios if o.name == "portfolios" else out.seat_shares
            items = pa.array(shares[members].round(6), type=pa.float64())
            result[o.name] = pa.MapArray.from_arrays(pa.array(offsets), keys, items)
        elif o.kind is Kind.EVENT_WEEKS:
            result[o.name] = _event_weeks(out.attacks, span, start_weeks)
        elif o.kind is Kind.SERIES:
            values = out.escalation if o.name == "escalation_by_week" else out.grievance
            if o.name == "grievance_by_week":
                values = values.round(4)
            result[o.name] = _lists(values, span, o.type.value_type)
        elif o.each == "patron":
            for p, patron in enumerate(compiled.patron_names):
                result[o.name.format(patron)] = pa.array(out.weights[:, p], type=o.type)
        else:
            for c in columns(o, ()):
                values = raw[c]
                mask = values < 0 if o.kind is Kind.WEEKS else None
                result[c] = pa.array(values, type=o.type, mask=mask)
    return result


def run_row(compiled: Compiled, state: State) -> dict[str, Any]:
    """One run's tidy row (``FormationModel.outcome``): the batch's code path, R = 1.
    ``state`` is the compiled handle (``sim.engine.state.state_ref``)."""
    world = compiled.world
    span = world.clock.horizon_weeks - world.clock.start_week + 1
    out = empty_raw(1, len(compiled.names), len(compiled.patron_names), span)
    record_outcome(
        compiled.ref, state, compiled.start.alignment, out.raw, out.coalition[0],
        out.weights[0], out.escalation[0], out.grievance[0], out.attacks[0],
        out.portfolios[0], out.seat_shares[0], out.walked_out[0],
    )  # fmt: skip
    start = np.array([world.clock.start_week])
    return {name: column[0].as_py() for name, column in to_table(compiled, out, start).items()}
