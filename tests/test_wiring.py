"""The wiring between the constitutional sequence and its rules, tested through the model.

Issue 9 found two wiring bugs that the unit tests of the pure functions could not see: the
speaker's session never passed ``blocs_only`` on to ``constitution.boycotting`` (so a
routine vote stalled like the presidential one), and the formateur's offers never passed
``consensus_only`` or ``invite_to`` on to ``bargaining.best_offer``. Each test here
steps Mesa models of the baseline week by week and checks what the flag does to the
sessions; each fails if the flag is not passed (checked by removing it from
``sim/engine/processes/sessions.py``).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np

from sim.batch.experiment import run_seed
from sim.engine.enums import GovernmentType, Stage
from sim.mesa.model import FormationModel
from sim.scenario.loading import load_scenario
from tests.conftest import BASELINE

BASE = load_scenario(BASELINE)
RUNS = 500


@dataclass
class Trace:
    """What one run's sessions did, week by week."""

    speaker_week: int  # the week the speaker was elected (-1: never)
    president_packages: list[float]  # seats on the table at each presidential session
    consensus_deal: bool  # the president was elected on a consensus package
    cabinet_offers: int  # weeks with a cabinet offer on the table after such a deal
    narrow_offers: int  # of those, offers leaving out a major list
    formed: bool
    government_type: GovernmentType


def trace(seed: int) -> Trace:
    model = FormationModel(BASE, seed=seed, record_series=False)
    state = model.state
    speaker_week, packages, offers, narrow = -1, [], 0, 0
    while model.running:
        before = model.stage
        sessions = int(model.run_state.president_sessions)
        model.step()
        after = model.stage
        if before < Stage.PRESIDENT <= after:  # parliament may sit and elect in one week
            speaker_week = model.week
        if model.run_state.president_sessions > sessions:
            packages.append(float(state.seats[state.on_the_table].sum()))
        offered = before == Stage.CABINET or (
            before == Stage.NOMINATION and after != Stage.NOMINATION
        )
        if offered and model.run_state.consensus_deal:
            offers += 1
            narrow += bool((state.major_list & ~state.on_the_table).any())  # in parliament
    return Trace(
        speaker_week,
        packages,
        bool(model.run_state.consensus_deal),
        offers,
        narrow,
        model.formed,
        GovernmentType(model.run_state.government_type),
    )


@cache
def traces() -> list[Trace]:
    return [trace(run_seed(BASE.seed, i)) for i in range(RUNS)]


def test_the_speaker_is_elected_the_week_parliament_first_sits():
    """A routine vote: only blocs stay away (``blocs_only``), so the speaker's session is
    not stalled by lists left out of the package, as the presidential one can be. Without
    the flag about 40% of baseline runs stalled one to four weeks here."""
    weeks = np.array([t.speaker_week for t in traces()])
    first = BASE.clock.first_session_week
    assert (weeks >= first).all(), "no speaker before parliament sits, and always one"
    assert (weeks == first).mean() >= 0.99, np.unique(weeks, return_counts=True)


def test_after_a_consensus_deal_every_cabinet_offer_takes_in_every_major_list():
    """The package that elected the president took in every major list of the consensus
    community: the cabinet talks are then consensus-only (``consensus_only``)."""
    runs = traces()
    deals = [t for t in runs if t.consensus_deal]
    assert len(deals) > 0.3 * RUNS, "consensus deals are common in the baseline"
    assert sum(t.cabinet_offers for t in deals) >= len(deals)
    assert sum(t.narrow_offers for t in deals) == 0
    # so a consensus deal ends in a consensus government: no run stalls on majority offers
    # that the deal cannot accept
    assert all(t.formed and t.government_type == GovernmentType.CONSENSUS for t in deals)


def test_presidential_packages_are_widened_to_the_quorum():
    """A presidential session needs two-thirds present: the formateur also weighs each
    family widened to the quorum (``invite_to``), and often puts a widened package on the
    table; without the flag no package reaches the quorum."""
    quorum = BASE.parliament.president_quorum
    runs = [t for t in traces() if t.president_packages]
    assert len(runs) == RUNS, "every baseline run holds a presidential session"
    widened = np.mean([max(t.president_packages) >= quorum for t in runs])
    assert widened > 0.25, widened
    # and a narrow package is still an option the formateur takes
    narrow = np.mean([min(t.president_packages) < quorum for t in runs])
    assert narrow > 0.05, narrow
