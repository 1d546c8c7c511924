"""The week: the weekly processes of ``sim.engine.processes``, in order.

``PROCESSES`` is the ordered list of the week, and ``one_week`` calls their steps in the
same order (``tests/test_processes.py`` checks that the two agree), each reading and
writing the run's ``State`` and drawing from its own stream (``keys[k]`` is the stream of
``PROCESSES[k]``, ``sim.engine.assembly.STREAM_TAGS``). It is compiled (numba), and it is the
one implementation: the Mesa model (``sim.mesa.model.FormationModel``) calls it once a
step, and the batch engine (``sim.engine.replicates``) in a compiled loop over thousands of
runs. Everything else that lists the processes (the State, the World's sections, the
scenario schema, the event texts, ``sim processes``) is built from this list by
``sim.engine.assembly``. This module does not import Mesa, so batch workers start without it.

A new mechanism is a module of ``sim.engine.processes`` (its step and its declarations), a
place in ``PROCESSES`` and a line in ``one_week`` at that place.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from sim.engine.declare import State
from sim.engine.jit import jit
from sim.engine.processes import (
    attacks,
    blocs,
    escalation,
    governance,
    grievance,
    interventions,
    returns,
    sessions,
    walkouts,
)
from sim.engine.state import record_week

#: The weekly processes, in the order ``one_week`` runs them.
PROCESSES = (
    interventions.Interventions,
    blocs.Blocs,
    sessions.Sessions,
    walkouts.Walkouts,
    returns.Returns,
    governance.Governance,
    grievance.Grievance,
    escalation.Escalation,
    attacks.Attacks,
)


@jit
def one_week(worlds: Any, state: State, keys: np.ndarray) -> None:
    """One week: the processes in order, then the week's record and the stopping rule.
    ``worlds[phase]`` is the World the run reads, the scenario with the values of the
    events that have fired (``worlds[0]`` until one fires)."""
    run = state.run[0]
    run.week += 1
    interventions.step(worlds[run.phase], state, keys[0])  # scenario events fire
    world = worlds[run.phase]
    blocs.step(world, state, keys[1])  # blocs form and break; the largest names
    sessions.step(world, state, keys[2])  # the constitutional sequence, talks, votes
    walkouts.step(world, state, keys[3])  # lists blocked too long leave parliament
    returns.step(world, state, keys[4])  # lists that walked out come back
    governance.step(world, state, keys[5])  # a government's moves on the PMF
    grievance.step(world, state, keys[6])  # grievance from all of the above (draws none)
    escalation.step(world, state, keys[7])  # the ladder, casualties
    attacks.step(world, state, keys[8])  # strikes on the incumbent, backfire
    record_week(world, state)
    followed = run.formed_week >= 0 and run.week >= run.formed_week + world.clock.follow_up_weeks
    if run.week >= world.clock.horizon_weeks or followed:
        run.running = False


@jit
def simulate(worlds: Any, state: State, keys: np.ndarray) -> State:
    """Step a run until it ends: formation plus the weeks followed after it, or the horizon."""
    while state.run[0].running:
        one_week(worlds, state, keys)
    return state
