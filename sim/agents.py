"""The base of the model's agents: a Mesa ``Agent`` that does not keep its model alive.

Mesa 3.3 numbers agents from a class-level ``defaultdict`` keyed by model
(``Agent._ids``), which holds every model that ever created an agent: a batch of
thousands of runs in one process keeps them all, memory grows and garbage collection slows
(mesa issue #3179, fixed after 3.3). Our agents count per model in a weak-keyed mapping
instead, so a finished model is freed like any other object.
"""

from __future__ import annotations

import itertools
import weakref

import mesa


class _WeakCounters(weakref.WeakKeyDictionary):
    """model -> itertools.count(1), created on first use, dropped with the model."""

    def __getitem__(self, model):
        try:
            return super().__getitem__(model)
        except KeyError:
            counter = itertools.count(1)
            self[model] = counter
            return counter


class SimAgent(mesa.Agent):
    """Base of Faction, Patron and Incumbent: unique ids per model, no leak."""

    _ids = _WeakCounters()
