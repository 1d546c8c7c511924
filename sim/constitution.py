"""The constitutional sequence (Iraq's constitution, thresholds from the scenario).

Speaker by absolute majority; president with a two-thirds quorum, so a blocking third that
stays away stalls everything; the president charges the largest bloc's nominee; the nominee
has a deadline (which slips in practice) to win a confidence vote by absolute majority;
failure moves to another nominee. The pure rules are functions; ``ConstitutionalProcess``
is the small state machine the model advances once a week.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from sim.enums import PMKind, Stage

if TYPE_CHECKING:
    from sim.model import FormationModel


def quorum_met(present_seats: float, quorum: int) -> bool:
    return present_seats >= quorum


def blocking_third(boycott_seats: float, size: int, quorum: int) -> bool:
    """Do the absent hold enough seats to deny the quorum on their own?"""
    return boycott_seats > size - quorum


def boycotting(
    invited: np.ndarray,
    margins: np.ndarray,
    draws: np.ndarray,
    noise: float,
    bloc_of: np.ndarray,
    leaders: np.ndarray,
    formateur_bloc: int,
    blocs_only: bool = False,
) -> np.ndarray:
    """Who stays away from a session: those left out of the package on the table who
    would refuse it. A bloc whose leader is left out and refuses stays away as one, except
    members invited on their own who would accept (they break ranks). With
    ``blocs_only`` (a routine vote such as the speaker's) only blocs stay away."""
    refuse = margins + noise * draws < 0
    in_bloc = bloc_of >= 0
    leader = leaders[np.maximum(bloc_of, 0)] if len(leaders) else np.zeros_like(bloc_of)
    bloc_line = in_bloc & refuse[leader] & ~invited[leader] & (bloc_of != formateur_bloc)
    alone = ~in_bloc & refuse & ~invited & (not blocs_only)
    return alone | (bloc_line & (~invited | refuse))


class ConstitutionalProcess:
    """Where the sequence stands, its timers and its record."""

    def __init__(self, first_session_week: int):
        self.stage = Stage.AWAITING_SESSION
        self.first_session_week = first_session_week
        self.timer = 0  # week at which the current wait or deadline ends
        self.formateur = -1
        self.nominee = PMKind.NONE
        self.nominees = 0
        self.failed_nominees = 0
        self.president_sessions = 0
        self.president_failures = 0
        self.stalled_by_boycott = False
        self.president_elected_with: float | None = None  # seats present when elected

    def week(self, model: FormationModel) -> None:
        handler = {
            Stage.AWAITING_SESSION: self._await_session,
            Stage.SPEAKER: self._speaker,
            Stage.PRESIDENT: self._president,
            Stage.NOMINATION: self._nomination,
            Stage.CABINET: self._cabinet,
        }.get(self.stage)
        if handler is not None:
            handler(model)

    def _await_session(self, model: FormationModel) -> None:
        if model.week >= self.first_session_week:
            self.stage = Stage.SPEAKER
            self._speaker(model)

    def _speaker(self, model: FormationModel) -> None:
        rules = model.scenario.parliament
        present = model.session_attendance(
            consider_compromise=False, quorum=rules.speaker_majority, blocs_only=True
        )
        if quorum_met(present, rules.speaker_majority):
            self.stage = Stage.PRESIDENT

    def _president(self, model: FormationModel) -> None:
        rules = model.scenario.parliament
        if model.streams["sessions"].random() >= rules.session_probability:
            return
        self.president_sessions += 1
        present = model.session_attendance(consider_compromise=True, quorum=rules.president_quorum)
        if quorum_met(present, rules.president_quorum):
            self.president_elected_with = present
            model.seal_deal()
            self.stage = Stage.NOMINATION
            self.timer = model.week + rules.nomination_weeks
            return
        self.president_failures += 1
        if blocking_third(rules.size - present, rules.size, rules.president_quorum):
            self.stalled_by_boycott = True
        model.add_stalemate()

    def _nomination(self, model: FormationModel) -> None:
        if model.week < self.timer:
            return
        self.formateur, self.nominee = model.choose_nominee(self.failed_nominees)
        self.nominees += 1
        self.stage = Stage.CABINET
        self.timer = model.week + model.scenario.parliament.cabinet_deadline_weeks
        self._cabinet(model)

    def _cabinet(self, model: FormationModel) -> None:
        rules = model.scenario.parliament
        if model.try_to_form_government(self.formateur, self.nominee, self.failed_nominees > 0):
            self.stage = Stage.FORMED
            return
        if model.week < self.timer:
            return
        if model.streams["sessions"].random() < rules.deadline_slip_probability:
            self.timer += 1  # deadlines slip in practice
            return
        self.failed_nominees += 1
        model.add_stalemate()
        self.stage = Stage.NOMINATION
        self.timer = model.week + rules.nomination_weeks
