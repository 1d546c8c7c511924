"""The weekly processes, one module each (Starsim's modules, compiled).

Each module holds the maths of one mechanism as pure functions, then its ``step(world,
state, rng)``, compiled with numba, and a ``Process`` class (``sim.engine.declare``) that
declares what the mechanism brings: its scenario table, the state it owns with its initial
values, its random stream and its kinds of event with their texts; and what it touches of
the others' state. ``sim.engine.week`` runs the steps in order; ``sim.engine.assembly``
builds the State, the World, the scenario schema and the event log's texts from the
declarations.

To add a mechanism: write a module like these (with its test), add its class to
``sim.engine.week.PROCESSES`` and its step to ``one_week`` at the same place, and give its
table's values, each with its source, in the baseline scenario.
"""
