"""The model: Iraq's factions after an election, one step a week.

``one_week`` is the whole of a step: the weekly processes of ``sim.processes``, in order, each
reading and writing the run's ``State``. It is compiled (numba), and it is the one
implementation: the Mesa model (``sim.mesa.model.FormationModel``) calls it once a step, and
the batch engine (``sim.replicates``) calls it in a compiled loop over thousands of runs.
``PROCESSES`` lists the same processes, in the same order, for inspection (and
``tests/test_processes.py`` checks that the two agree). This module does not import Mesa,
so that batch workers start without it.
"""

from __future__ import annotations

import numpy as np

from sim.engine.jit import jit
from sim.engine.processes import (
    attacks,
    blocs,
    escalation,
    governance,
    grievance,
    sessions,
    walkouts,
)
from sim.engine.state import State, record_week
from sim.engine.streams import Streams
from sim.engine.world import World

NO_STREAM = np.uint64(0)  # for a process that draws no random numbers

#: The weekly processes, in the order ``one_week`` runs them.
PROCESSES = (
    blocs.Blocs,
    sessions.Sessions,
    walkouts.Walkouts,
    governance.Governance,
    grievance.Grievance,
    escalation.Escalation,
    attacks.Attacks,
)


@jit
def one_week(world: World, state: State, streams: Streams) -> None:
    """One week: the processes in order, then the week's record and the stopping rule."""
    run = state.run[0]
    run.week += 1
    blocs.step(world, state, streams.blocs)  # blocs form and break; the largest names
    sessions.step(world, state, streams.sessions)  # the constitutional sequence, talks, votes
    walkouts.step(world, state, streams.walkouts)  # lists blocked too long leave parliament
    governance.step(world, state, streams.governance)  # a government's moves on the PMF
    grievance.step(world, state, NO_STREAM)  # grievance from all of the above
    escalation.step(world, state, streams.escalation)  # the ladder, casualties
    attacks.step(world, state, streams.attacks)  # strikes on the incumbent, backfire
    record_week(world, state)
    followed = run.formed_week >= 0 and run.week >= run.formed_week + world.clock.follow_up_weeks
    if run.week >= world.clock.horizon_weeks or followed:
        run.running = False


@jit
def simulate(world: World, state: State, streams: Streams) -> State:
    """Step a run until it ends: formation plus the weeks followed after it, or the horizon."""
    while state.run[0].running:
        one_week(world, state, streams)
    return state


def describe() -> str:
    """The week in words: each process in order, its stream, the scenario sections it
    reads and the state it reads and writes (``sim processes`` prints it)."""
    lines = ["one week, in order (sim/engine/week.py: one_week):"]
    for k, process in enumerate(PROCESSES, 1):
        doc = (process.__doc__ or "").strip().splitlines()[0]
        module = process.__module__.replace(".", "/") + ".py"
        lines.append(f"{k}. {process.__name__} ({module}): {doc}")
        lines.append(f"     random stream: {process.name or '(draws none)'}")
        lines.append(f"     scenario sections: {', '.join(process.parameters)}")
        lines.append(f"     reads: {', '.join(process.reads)}")
        lines.append(f"     writes: {', '.join(process.writes)}")
    lines.append(
        f"{len(PROCESSES) + 1}. the week's record and the stopping rule (sim/engine/state.py)"
    )
    return "\n".join(lines)
