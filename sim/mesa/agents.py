"""The model's agents: named, inspectable views of the run's State.

Factions, patrons and the incumbent are Mesa agents, so Mesa users can list them, collect
their attributes and draw them; their state lives in the model's ``State`` arrays (one row
a faction, one column a patron), which the compiled processes read and write. A view reads
its row when asked, so it is never out of date.

Mesa 3.3 numbers agents from a class-level ``defaultdict`` keyed by model
(``Agent._ids``), which holds every model that ever created an agent: a batch of thousands
of runs in one process would keep them all (mesa issue #3179, fixed after 3.3). Our agents
count per model in a weak-keyed mapping instead, so a finished model is freed.
"""

from __future__ import annotations

import itertools
import weakref
from typing import Any, Protocol

import mesa

from sim.engine.declare import State, World
from sim.engine.enums import ISSUES, EscalationLevel
from sim.engine.world import Compiled


class FormationModel(Protocol):
    """What an agent reads of its model (``sim.mesa.model.FormationModel``): the model
    imports the agents, never the other way round."""

    week: int
    state: State
    world: World
    compiled: Compiled

    @property
    def run_state(self) -> Any: ...


class _WeakCounters(weakref.WeakKeyDictionary):
    """model -> itertools.count(1), created on first use, dropped with the model."""

    def __getitem__(self, model: Any) -> Any:
        try:
            return super().__getitem__(model)
        except KeyError:
            counter = itertools.count(1)
            self[model] = counter
            return counter


class SimAgent(mesa.Agent):
    """Base of Faction, Patron and Incumbent: unique ids per model, no leak."""

    _ids = _WeakCounters()
    model: FormationModel


class Faction(SimAgent):
    """A list in parliament: row ``index`` of the model's arrays."""

    def __init__(self, model: FormationModel, index: int, name: str):
        super().__init__(model)
        self.index = index
        self.name = name

    @property
    def week(self) -> int:
        """The model's week (weeks since election day), for per-faction series."""
        return self.model.week

    @property
    def seats(self) -> int:
        return int(self.model.state.seats[self.index])

    @property
    def previous_seats(self) -> int:
        return int(self.model.world.previous_seats[self.index])

    @property
    def grievance(self) -> float:
        return float(self.model.state.grievance[self.index])

    @property
    def escalation(self) -> EscalationLevel:
        return EscalationLevel(int(self.model.state.levels[self.index]))

    @property
    def legitimacy(self) -> float:
        return float(self.model.state.legitimacy[self.index])

    @property
    def bloc(self) -> str | None:
        b = int(self.model.state.bloc_of[self.index])
        return None if b < 0 else self.model.compiled.bloc_names[b]

    @property
    def in_government(self) -> bool:
        return bool(self.model.state.government[self.index])

    @property
    def positions(self) -> dict[str, float]:
        row = self.model.world.positions[self.index].tolist()
        return dict(zip(ISSUES, row, strict=True))

    def __repr__(self) -> str:
        return f"Faction({self.name!r}, seats={self.seats}, bloc={self.bloc})"


class Patron(SimAgent):
    """An outside power: column ``index`` of the model's patron arrays."""

    def __init__(self, model: FormationModel, index: int, name: str):
        super().__init__(model)
        self.index = index
        self.name = name

    @property
    def mediation(self) -> float:
        return float(self.model.world.patron_mediation[self.index])

    @property
    def patience(self) -> dict[str, float]:
        """Its tolerance of each client's violence (falls after attacks it is blamed for)."""
        row = self.model.state.patience[self.index].tolist()
        return dict(zip(self.model.compiled.names, row, strict=True))

    def __repr__(self) -> str:
        return f"Patron({self.name!r}, mediation={self.mediation:.2f})"


class Incumbent(SimAgent):
    """The caretaker prime minister (his state is the run record's ``incumbent_*``)."""

    @property
    def present(self) -> bool:
        return bool(self.model.run_state.incumbent_present)

    @property
    def alive(self) -> bool:
        return bool(self.model.run_state.incumbent_alive)

    @property
    def legitimacy(self) -> float:
        return float(self.model.run_state.incumbent_legitimacy)

    @property
    def attacks(self) -> int:
        return int(self.model.run_state.incumbent_attacks)

    @property
    def failed_attacks(self) -> int:
        return int(self.model.run_state.incumbent_failed_attacks)

    def __repr__(self) -> str:
        return f"Incumbent(alive={self.alive}, legitimacy={self.legitimacy:.2f})"
