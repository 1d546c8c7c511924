"""The weekly processes, one module each (Starsim's modules, compiled).

Each module holds the maths of one mechanism as pure functions, then its ``step(world,
state, rng)``, compiled with numba, and a ``Process`` class that declares what the step
needs: the scenario sections it reads (``parameters``), the ``State`` fields it reads and
writes (``run.X`` for a field of the run record), and its random stream (``name``, a field
of ``sim.engine.streams.Streams``). ``sim.engine.week.one_week`` calls the steps in order; the
declarations
are checked against the code by ``tests/test_processes.py``.

To add a mechanism: write a module like these, add its step to ``sim.engine.week.one_week`` and its
class to ``sim.engine.week.PROCESSES`` at the same place, and (if it draws random numbers) its
stream to ``sim.engine.streams.Streams``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

#: The event log every process may append to (``sim.engine.events.log_event``): declared by each.
EVENT_LOG = ("event_codes", "event_values", "run.events", "run.events_lost")


class Process:
    """What a weekly process declares about itself (never instantiated)."""

    name: ClassVar[str]  # its random stream, a field of sim.engine.streams.Streams ("" if none)
    parameters: ClassVar[tuple[str, ...]]  # World sections (scenario tables) it reads
    reads: ClassVar[tuple[str, ...]]  # State fields it reads
    writes: ClassVar[tuple[str, ...]]  # State fields it writes
    step: ClassVar[Callable[..., Any]]  # the compiled step(world, state, rng)
