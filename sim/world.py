"""A scenario compiled to arrays: the fixed facts of one world, built once per scenario.

Models built from the same Scenario object share one World (read-only arrays), so a batch
pays the conversion once; each model copies only what changes during a run.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.bargaining import Terms
from sim.enums import ISSUES
from sim.escalation import GrievanceRates, Ladder, seat_loss_grievance
from sim.scenario import Scenario


@dataclass(frozen=True)
class World:
    scenario: Scenario
    names: tuple[str, ...]
    patron_names: tuple[str, ...]
    bloc_names: tuple[str, ...]
    arrays: dict  # read-only numpy arrays, see compile_world
    bloc_of: np.ndarray  # initial bloc of each faction (-1 = none)
    bloc_leaders: np.ndarray
    initial_grievance: np.ndarray
    terms: Terms
    ladder: Ladder
    rates: GrievanceRates

    @property
    def n(self) -> int:
        return len(self.names)


def _positions(p) -> list[float]:
    return [getattr(p, issue) for issue in ISSUES]


def compile_world(sc: Scenario) -> World:
    names = tuple(sc.factions)
    patrons = tuple(sc.patrons)
    index = {name: i for i, name in enumerate(names)}
    factions = [sc.factions[n] for n in names]
    seats = np.array([f.seats for f in factions], dtype=float)
    previous = np.array([f.previous_seats for f in factions], dtype=float)
    alignment = np.array(
        [[f.alignment.get(p, 0.0) for p in patrons] for f in factions], dtype=float
    )
    positions = np.array([_positions(f.positions) for f in factions], dtype=float)
    armed = np.array([f.armed for f in factions], dtype=float)
    pmf = np.array([f.pmf for f in factions], dtype=bool)
    community = np.array([f.community for f in factions])
    major = (community == sc.consensus.community) & (seats >= sc.consensus.major_list_seats)
    backing = np.zeros(len(names))
    for patron in sc.patrons.values():
        for name in patron.backs:
            backing[index[name]] += patron.backing
    issue_weights = np.array(_positions(sc.bargaining.issue_weights), dtype=float)
    if issue_weights.sum() <= 0:
        issue_weights = np.ones(len(ISSUES))
    arrays = {
        "seats": seats,
        "previous_seats": previous,
        "positions": positions,
        "office_weight": np.array([f.office_weight for f in factions], dtype=float),
        "cohesion": np.array([f.cohesion for f in factions], dtype=float),
        "legitimacy": np.array([f.legitimacy for f in factions], dtype=float),
        "armed": armed,
        "pmf": pmf,
        # the PMF side: members of the umbrella and lists that defend its mandate
        "pmf_side": pmf | (positions[:, 0] > 0.5),
        "major_list": major,
        "alignment": alignment,
        "alignment_pos": np.maximum(alignment, 0.0),
        "issue_weights": issue_weights,
        "backing": np.minimum(backing, 1.0),
        "patron_pmf_stance": np.array([sc.patrons[p].pmf_stance for p in patrons]),
        "patron_mediation": np.array([sc.patrons[p].mediation for p in patrons]),
        "patron_guarantee": np.array([sc.patrons[p].guarantee for p in patrons]),
        "patron_restraint": np.array([sc.patrons[p].restraint for p in patrons]),
        "patron_pressure": np.array([sc.patrons[p].pressure for p in patrons]),
        "patron_patience": np.array([sc.patrons[p].patience for p in patrons]),
        "incumbent_backing": float(sum(sc.patrons[p].backs_incumbent for p in patrons)),
        "incumbent_position": np.array(_positions(sc.incumbent.positions), dtype=float),
        "incumbent_supporters": np.array([n in sc.incumbent.supported_by for n in names]),
        "initial_levels": np.array([f.escalation for f in factions] + [sc.escalation.street_start]),
    }
    # coefficients of the acceptance utility that never change during a run
    bg = sc.bargaining
    arrays["issue_weights_norm"] = issue_weights / issue_weights.sum()
    arrays["office_coef"] = 4.0 * bg.office_value * arrays["office_weight"]
    arrays["policy_coef"] = bg.policy_value * (1.0 - arrays["office_weight"])
    arrays["safety_coef"] = bg.safety_value * (1.0 - armed) * (1.0 - arrays["backing"])
    arrays["major_seats"] = float(seats[major].sum())
    arrays["leader_distance"] = np.zeros((len(names), len(sc.blocs)))
    for b, bloc in enumerate(sc.blocs):
        lead = positions[index[bloc.leader]]
        arrays["leader_distance"][:, b] = np.abs(positions - lead) @ arrays["issue_weights_norm"]
    arrays["armed_street"] = np.append(armed, 0.0)
    arrays["pmf_side_street"] = np.append(arrays["pmf_side"], False)
    for value in arrays.values():
        if isinstance(value, np.ndarray):
            value.setflags(write=False)
    bloc_names = tuple(b.name for b in sc.blocs)
    bloc_of = np.full(len(names), -1, dtype=np.int64)
    leaders = np.array([index[b.leader] for b in sc.blocs], dtype=np.int64)
    for b, bloc in enumerate(sc.blocs):
        for member in (bloc.leader, *bloc.members):
            bloc_of[index[member]] = b
    g = sc.grievance
    floor = np.clip(seat_loss_grievance(seats, previous, g.seat_loss), 0.0, 1.0)
    initial = np.clip(np.array([f.grievance for f in factions]) + floor, 0.0, 1.0)
    arrays["grievance_floor"] = floor
    floor.setflags(write=False)
    terms = Terms(
        issue_weights=issue_weights,
        office_value=bg.office_value,
        policy_value=bg.policy_value,
        safety_value=bg.safety_value,
        patron_value=bg.patron_value,
        mediation_value=bg.mediation_value,
        pm_rivalry=bg.pm_rivalry,
        incumbent_appeal=bg.incumbent_appeal,
        formateur_bonus=bg.formateur_bonus,
        acceptance_noise=bg.acceptance_noise,
        buffer_seats=bg.buffer_seats,
    )
    e = sc.escalation
    ladder = Ladder(
        thresholds=np.array(e.thresholds, dtype=float),
        slope=e.slope,
        down_probability=e.down_probability,
        capability_weight=e.capability_weight,
        deterrence_weight=e.deterrence_weight,
        restraint_weight=e.restraint_weight,
        casualty_rates=np.array(e.casualty_rates, dtype=float),
        protest_min_seats=e.protest_min_seats,
        street_cap=e.street_cap,
    )
    rates = GrievanceRates(
        decay=g.decay,
        talks_exclusion=g.talks_exclusion,
        government_exclusion=g.government_exclusion,
        mandate_threat=g.mandate_threat,
        guarantee_relief=g.guarantee_relief,
        casualty=g.casualty,
        protest_relief=g.protest_relief,
    )
    return World(
        sc, names, patrons, bloc_names, arrays, bloc_of, leaders, initial, terms, ladder, rates
    )


_CACHE: dict[int, tuple[Scenario, World]] = {}


def world_for(sc: Scenario) -> World:
    """The compiled World of a Scenario object, built once per process."""
    hit = _CACHE.get(id(sc))
    if hit is not None and hit[0] is sc:
        return hit[1]
    if len(_CACHE) > 64:
        _CACHE.clear()
    world = compile_world(sc)
    _CACHE[id(sc)] = (sc, world)
    return world
