"""The Mesa model: ``FormationModel``, one step a week of ``sim.engine.week.one_week``.

A ``FormationModel`` holds one run: its scenario's ``World``, its ``State``, its random
streams, and the Mesa agents that are named views of the state (``sim.agents``). Its
``step`` is ``sim.engine.week.one_week`` -- the weekly processes in the order ``sim.model``
lists them (``PROCESSES``: blocs, sessions, governance, grievance, escalation, attacks) --
followed by Mesa's data collection; the batch engine runs the very same compiled week.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import mesa
import numpy as np

from sim.engine.assembly import Scenario, decode, new_state, state_ref, streams_for, world_for
from sim.engine.enums import GovernmentType, PMFStatus, Stage
from sim.engine.events import Event
from sim.engine.limits import SEED_LIMIT
from sim.engine.processes import blocs
from sim.engine.week import one_week
from sim.mesa.agents import Faction, Incumbent, Patron
from sim.scenario.loading import ScenarioError, load_cached, with_overrides


def checked_seed(seed: object, scenario: object = "FormationModel") -> int:
    """``seed`` as the command line takes it (``--seed``): an integer from 0 to 2**63 - 1.
    Anything else (2**64, 1.5, "1", True) is a ScenarioError, not a numba TypingError or a
    silent seed 1."""
    where = scenario if isinstance(scenario, str | Path) else "FormationModel"
    ok = isinstance(seed, int | np.integer) and not isinstance(seed, bool | np.bool_)
    if not ok or not 0 <= int(seed) < SEED_LIMIT:  # type: ignore[call-overload]
        raise ScenarioError(where, "seed", f"must be an integer from 0 to 2**63 - 1 (got {seed!r})")
    return int(seed)  # type: ignore[call-overload]


DEFAULT_SCENARIO = Path(__file__).resolve().parent.parent / "scenarios" / "baseline.toml"


class FormationModel(mesa.Model):
    """Government formation and escalation after an election (a Mesa model).

    Parameters
    ----------
    scenario:
        A :class:`Scenario` or the path of a scenario TOML file.
    seed:
        The run's seed; every random number of the run derives from it (``sim.streams``).
        ``rng`` is accepted as an alias, so that ``mesa.batch_run`` users can pass either.
    record_series:
        Collect weekly series with Mesa ``DataCollector``s (model-level and per faction).
    record_events:
        Keep the run's event log (``model.events``: what each process did, and why).
    **overrides:
        Scenario values by dotted key (``FormationModel(path, seed=1,
        **{"patrons.iran.mediation": 0.3})``), validated like the scenario file itself; so
        ``mesa.batch_run`` can sweep them.
    """

    def __init__(
        self,
        scenario: Scenario | str | Path = DEFAULT_SCENARIO,
        seed: int | None = None,
        record_series: bool = True,
        rng: int | None = None,
        record_events: bool = True,
        **overrides: Any,
    ):
        if seed is None and isinstance(rng, int | np.integer):
            seed = int(rng)
        if seed is not None:
            seed = checked_seed(seed, scenario)
        if seed is None:  # a fresh seed from the operating system's entropy
            seed = int(np.random.SeedSequence().generate_state(1, np.uint64)[0] >> 1)
        super().__init__(rng=int(seed))
        self.seed = int(seed)
        if overrides:
            sc = with_overrides(scenario, overrides)
        else:
            sc = scenario if isinstance(scenario, Scenario) else load_cached(scenario)
        self.scenario = sc
        self.compiled = world_for(sc)
        self.world = self.compiled.world
        self.state = new_state(self.compiled.world, self.compiled.start, record_events)
        self._events: list[Event] = []
        self.streams = streams_for(self.seed)
        self._state_ref = state_ref(self.state)  # what the compiled week takes
        self._run = self.state.run.view(np.recarray)  # the run record, by attribute
        self.week = int(self._run[0].week)  # weeks since election day
        names = self.compiled
        self.factions = [Faction(self, i, name) for i, name in enumerate(names.names)]
        self.patrons = [Patron(self, p, name) for p, name in enumerate(names.patron_names)]
        self.incumbent = Incumbent(self)
        self.datacollector: mesa.DataCollector | None = None
        if record_series:
            self.datacollector = mesa.DataCollector(
                model_reporters={
                    "week": "week",
                    "stage": lambda m: Stage(m.run_state.stage).name.lower(),
                    "max_escalation": lambda m: int(m.state.levels.max()),
                    "street_level": lambda m: int(m.state.levels[-1]),
                    "mean_grievance": lambda m: m.mean_grievance(),
                    "casualties": lambda m: int(m.run_state.casualties),
                    "incumbent_legitimacy": lambda m: float(m.run_state.incumbent_legitimacy),
                    "largest_bloc_seats": lambda m: m.largest_bloc()[1],
                    "formed": lambda m: m.formed,
                    "government_type": lambda m: GovernmentType(m.run_state.government_type).label,
                },
                agenttype_reporters={
                    Faction: {
                        "week": "week",
                        "faction": "name",
                        "grievance": "grievance",
                        "rung": lambda a: int(a.escalation),
                        "bloc": "bloc",
                        "in_government": "in_government",
                    }
                },
            )
            self.datacollector.collect(self)

    # ------------------------------------------------------------------ the week
    def step(self) -> None:
        """One week: ``one_week``, the compiled processes in order, then Mesa's records."""
        one_week(self.compiled.refs, self._state_ref, self.streams)
        run = self._run[0]
        self.week = int(run.week)
        self.running = bool(run.running)
        if self.datacollector is not None:
            self.datacollector.collect(self)

    def run(self) -> FormationModel:
        """Step until the run ends (formation plus follow-up, or the horizon)."""
        while self.running:
            self.step()
        return self

    # ------------------------------------------------------------------ views
    @property
    def run_state(self) -> Any:
        """The run's scalar state (``sim.engine.state.RUN``): ``model.run_state.stage`` etc."""
        return self._run[0]

    @property
    def stage(self) -> Stage:
        return Stage(self.run_state.stage)

    @property
    def formed(self) -> bool:
        return bool(self.run_state.formed_week >= 0)

    @property
    def pmf_status(self) -> PMFStatus:
        return PMFStatus(self.run_state.pmf_status)

    def mean_grievance(self) -> float:
        """Seat-weighted mean grievance of the factions."""
        return float(self.world.seats @ self.state.grievance / self.world.seats.sum())

    def largest_bloc(self) -> tuple[int, float]:
        """The largest bloc formed in parliament now, as (leader's row, seats)."""
        leader, seats = blocs.largest_bloc(self.compiled.ref, self.state.seats, self.state.bloc_of)
        return int(leader), float(seats)

    @property
    def events(self) -> list[Event]:
        """The run's event log so far (``sim.engine.events.Event``; empty if not recorded)."""
        have = len(self._events)
        if int(self.run_state.events) > have:
            self._events += decode(self.compiled, self.state, have)
        return list(self._events)

    def outcome(self) -> dict[str, Any]:
        """The run's tidy row (see ``sim.outcomes``)."""
        from sim.engine.run_record import run_row

        return run_row(self.compiled, self._state_ref, int(self.run_state.phase))
