"""Talks and votes: the model's side of the constitutional sequence.

The constitution (``sim.constitution``) decides *when* a session sits or a nominee is
charged; these methods decide what is on the table and who shows up, calling the pure
functions of ``sim.bargaining``. Mixed into :class:`sim.model.FormationModel`.
"""

from __future__ import annotations

import numpy as np

from sim import bargaining
from sim.constitution import boycotting
from sim.enums import PMF_ISSUE, SHARING_ISSUE, GovernmentType, PMKind

REPLAN_WEEKS = 4  # a formateur rethinks its offer at least this often


class NegotiationMixin:
    """Offers, sessions, nominees and the confidence vote (state lives on the model)."""

    def _provisional_nominee(self, formateur: int) -> tuple[PMKind, np.ndarray]:
        inc = self.scenario.incumbent
        backs = self.world["incumbent_supporters"][formateur]
        if self.incumbent.alive and (
            formateur == self.incumbent_faction or (backs and inc.nomination_probability >= 0.5)
        ):
            return PMKind.INCUMBENT, self.world["incumbent_position"]
        return PMKind.FORMATEUR, self.world["positions"][formateur]

    def _nominee_position(self, formateur: int, nominee: PMKind) -> np.ndarray | None:
        if nominee is PMKind.INCUMBENT:
            return self.world["incumbent_position"]
        if nominee is PMKind.FORMATEUR:
            return self.world["positions"][formateur]
        return None

    def _offer(
        self, formateur: int, nominee: PMKind, consider_compromise: bool, invite_to: int = 0
    ):
        """The formateur's offer: re-planned when the situation changes (another formateur
        or nominee) or every few weeks; otherwise the same coalition is offered again on
        this week's terms. A deal that elected the president by taking
        in every major list binds the cabinet talks that follow."""
        bloc_of = self.state["bloc_of"]
        # blocs churn at the margins every week; the formateur re-plans on a schedule or
        # when the nominee, the deal or the kind of vote changes, not at every reshuffle
        key = (formateur, nominee, consider_compromise, self.consensus_deal, invite_to)
        target = self.scenario.parliament.confidence_majority
        if self._plan is not None and self._plan[0] == key and self.week < self._plan[2]:
            proposal, margins = bargaining.renew_offer(
                self._plan[1], formateur, self.world, self.state, self.terms
            )
        else:
            own = bloc_of[formateur]
            bloc_members = (bloc_of == own) if own >= 0 else np.zeros(self.n_factions, bool)
            rivals = (bloc_of >= 0) & (bloc_of != own)
            proposal, margins = bargaining.best_proposal(
                formateur,
                nominee,
                self._nominee_position(formateur, nominee),
                bloc_members,
                rivals,
                self.world,
                self.state,
                self.terms,
                target,
                consider_compromise,
            )
            self._plan = (key, proposal, self.week + REPLAN_WEEKS)
        self.on_the_table = proposal.members
        self.talks_open = True
        return proposal, margins

    def session_attendance(
        self, consider_compromise: bool, quorum: int, blocs_only: bool = False
    ) -> float:
        """Seats present at a session: the leading bloc puts its package on the table and
        those left out who would refuse it stay away."""
        formateur, _ = self.largest_bloc()
        nominee, _ = self._provisional_nominee(formateur)
        # the package must bring enough members to the chamber for the quorum
        proposal, margins = self._offer(formateur, nominee, consider_compromise, quorum)
        draws = self.streams["sessions"].standard_normal(self.n_factions)
        away = boycotting(
            proposal.members,
            margins,
            draws,
            self.terms.acceptance_noise,
            self.state["bloc_of"],
            self.bloc_leaders,
            int(self.state["bloc_of"][formateur]),
        )
        return float(self.scenario.parliament.size - self.world["seats"][away].sum())

    def seal_deal(self) -> None:
        """The package that elected the president binds the cabinet talks if it took in
        every major list of the consensus community."""
        stance = bargaining.sharing_stance(self.on_the_table, self.world["major_list"])
        self.consensus_deal = stance >= 1.0

    def add_stalemate(self) -> None:
        """A failed session or nominee: everyone feels the pull toward a deal, and the
        leading bloc, blocked from the government it won, grows aggrieved."""
        self.state["stalemate"] += self.scenario.bargaining.stalemate_pressure
        formateur, _ = self.largest_bloc()
        bloc_of = self.state["bloc_of"]
        own = bloc_of[formateur]
        blocked = (bloc_of == own) if own >= 0 else np.zeros(self.n_factions, dtype=bool)
        blocked[formateur] = True
        g = self.state["grievance"]
        self.state["grievance"] = np.minimum(g + self.scenario.grievance.blocked * blocked, 1.0)

    def choose_nominee(self, failures: int) -> tuple[int, PMKind]:
        """The president charges the largest bloc's nominee; after failures, a compromise
        candidate becomes likely."""
        formateur, seats = self.largest_bloc()
        if self.largest_bloc_at_nomination is None:
            self.largest_bloc_at_nomination = (formateur, seats)
        inc = self.scenario.incumbent
        u = self.streams["sessions"].random(2)
        if failures > 0 and u[0] < self.scenario.bargaining.compromise_after_failure:
            return formateur, PMKind.COMPROMISE
        if self.incumbent.alive and formateur == self.incumbent_faction:
            return formateur, PMKind.INCUMBENT
        backs = self.world["incumbent_supporters"][formateur]
        appeal = inc.nomination_probability * (0.5 + self.incumbent.legitimacy)
        if self.incumbent.alive and backs and u[1] < appeal:
            return formateur, PMKind.INCUMBENT
        return formateur, PMKind.FORMATEUR

    def try_to_form_government(self, formateur: int, nominee: PMKind, compromise: bool) -> bool:
        """The formateur's offer this week; if enough invitees accept, a confidence vote."""
        proposal, margins = self._offer(formateur, nominee, compromise)
        rng = self.streams["bargaining"]
        draws = rng.standard_normal(self.n_factions)
        accepted = bargaining.draw_acceptance(
            proposal.members, margins, self.terms.acceptance_noise, draws, formateur
        )
        seats = self.world["seats"]
        majority = self.scenario.parliament.confidence_majority
        yes = bargaining.confidence_votes(accepted, seats, self.world["cohesion"], rng)
        if seats[accepted].sum() < majority or yes < majority:
            return False
        major = self.world["major_list"]
        if self.consensus_deal and (accepted & major).sum() < major.sum():
            return False  # a consensus deal does not go ahead without every major list
        self.government = accepted
        self.confidence_yes = yes
        self.pm_kind = proposal.pm_kind
        self.pm_faction = (
            formateur
            if proposal.pm_kind is PMKind.FORMATEUR
            else (self.incumbent_faction if proposal.pm_kind is PMKind.INCUMBENT else -1)
        )
        gov_pos = bargaining.government_position(
            accepted, seats, self.world["positions"], self.world
        )
        all_major = gov_pos[SHARING_ISSUE] >= 1.0
        self.government_type = GovernmentType.CONSENSUS if all_major else GovernmentType.MAJORITY
        self.coalition_pmf_stance = float(
            0.75 * gov_pos[PMF_ISSUE] + 0.25 * proposal.pm_position[PMF_ISSUE]
        )
        self.formed_week = self.week
        self.talks_open = False
        return True
