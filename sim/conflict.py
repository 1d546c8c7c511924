"""Grievance, escalation and attacks: the model's side of the violence.

The maths is in ``sim.escalation`` (the ladder, grievance) and ``sim.patrons``
(restraint, guarantees, deterrence, backfire); these methods gather the week's inputs from
the model's state and write the results back. Mixed into :class:`sim.model.FormationModel`.
"""

from __future__ import annotations

import numpy as np

from sim import bargaining, escalation, patrons
from sim.enums import PMF_ISSUE, GovernmentType, PMFStatus, PMKind

PMF_STEPS = (PMFStatus.INTACT, PMFStatus.CURTAILED, PMFStatus.DISSOLVED)  # in order


class ConflictMixin:
    """Grievance sources, the escalation step and attacks on the incumbent."""

    def _mandate_threat(self) -> np.ndarray:
        side = self.world["pmf_side"]
        if self.formed_week is not None:
            stance = self.coalition_pmf_stance
            crackdown = PMF_STEPS.index(self.pmf_status)
            gv = self.scenario.governance
            return side * (max(0.0, -stance) + gv.crackdown_grievance * crackdown)
        if not self.talks_open:
            return side * 0.0
        table = bargaining.government_position(
            self.on_the_table, self.world["seats"], self.world["positions"], self.world
        )
        return side * max(0.0, -table[PMF_ISSUE])

    def _guarantee_credibility(self) -> np.ndarray:
        mediation = self.state["patron_mediation"]
        if self.formed_week is None:
            return 0.5 + 0.5 * mediation
        if self.government_type is GovernmentType.CONSENSUS:
            return np.ones_like(mediation)
        return (0.5 if self.coalition_pmf_stance >= 0 else 0.1) * np.ones_like(mediation)

    def _grievance_sources(self) -> tuple[np.ndarray, ...]:
        """Exclusion, threat to the mandate and guarantees: they change only when the
        table, the government, the PMF's status or alignments do, so they are cached."""
        key = (
            id(self.on_the_table),
            self.talks_open,
            self.formed_week,
            self.pmf_status,
            self._alignment_version,
        )
        if self._sources_key != key:
            st, w = self.state, self.world
            formed = self.formed_week is not None
            none = np.zeros(self.n_factions, dtype=bool)
            outside = ~self.government & (w["seats"] > 0) if formed else none
            excluded = ~self.on_the_table & self.talks_open if not formed else none
            guarantee = patrons.guarantees(
                st["alignment"],
                w["patron_guarantee"],
                self._guarantee_credibility(),
                w["pmf_side"],
            )
            self._sources = (excluded, outside, self._mandate_threat(), guarantee)
            self._sources_key = key
        return self._sources

    def _update_grievance(self) -> None:
        st, w = self.state, self.world
        excluded, outside, threat, guarantee = self._grievance_sources()
        street = self._casualties_last[-1] / max(self.n_factions, 1)
        st["grievance"] = escalation.update_grievance(
            st["grievance"],
            w["grievance_floor"],
            excluded,
            outside,
            threat,
            guarantee,
            self._casualties_last[:-1] + street,
            self._protest_last,
            self.compiled.rates,
        )

    # ------------------------------------------------------------------ escalation
    def _deterrence(self) -> float:
        inc = self.scenario.incumbent
        if self.formed_week is not None:
            share = self.world["seats"][self.government].sum() / self.scenario.parliament.size
            return inc.security_capacity * share * (0.5 + 0.5 * inc.resolve)
        if not self.incumbent.present:
            return 0.5 * inc.security_capacity
        return patrons.deterrence(
            inc.security_capacity,
            self.incumbent.legitimacy,
            self.world["incumbent_backing"],
            self.incumbent.alive,
        ) * (0.5 + 0.5 * inc.resolve)

    def _escalate(self) -> None:
        st, w, ladder = self.state, self.world, self.compiled.ladder
        n = self.n_factions
        seats = w["seats"]
        out = seats * ~self.government
        grievance = self._street
        grievance[:n] = st["grievance"]
        grievance[n] = out @ st["grievance"] / max(out.sum(), 1.0)
        armed = w["armed_street"]
        pressure = escalation.net_pressure(
            grievance, armed, self._deterrence(), st["restraint"], ladder
        )
        levels = st["levels"]
        crackdown = self.pmf_status is not PMFStatus.INTACT
        rivals = escalation.rivals_mobilised(levels, armed, w["pmf_side_street"], crackdown)
        caps = escalation.level_caps(armed, rivals)
        caps[-1] = min(caps[-1], ladder.street_cap)
        rng = self.streams["escalation"]
        levels = escalation.step_levels(levels, pressure, caps, rng.random(n + 1), ladder)
        casualties = rng.poisson(ladder.casualty_rates[levels])
        st["levels"] = levels
        st["escalation"] = levels[:n].astype(float)
        self._refresh_menace()
        self.casualties += int(casualties.sum())
        self._casualties_last = casualties.astype(float)
        self._protest_last = escalation.effective_protest(levels[:n], seats, ladder)

    def _attack_incumbent(self) -> None:
        """Factions at the targeted-attacks rung may strike the incumbent while he holds
        office; a failed attack backfires on the attackers and raises his legitimacy."""
        inc, cfg = self.incumbent, self.scenario.incumbent
        in_office = self.formed_week is None or self.pm_kind is PMKind.INCUMBENT
        u = self.streams["attacks"].random((2, self.n_factions))
        if not (inc.alive and cfg.attacks_enabled and in_office):
            return
        ready = self.state["levels"][:-1] >= 4
        attackers = ready & (u[0] < cfg.attack_probability * self.world["armed"])
        for i in np.flatnonzero(attackers):
            inc.attacks += 1
            lethal = cfg.attack_lethality * (1.0 - cfg.security_capacity)
            legit = self.state["legitimacy"]
            if u[1, i] < lethal:
                legit[i] = max(0.0, legit[i] - 2 * cfg.attacker_legitimacy_cost)
                self._incumbent_killed()
                return
            inc.failed_attacks += 1
            inc.legitimacy = patrons.backfire(inc.legitimacy, cfg.backfire_legitimacy)
            self.state["incumbent_legitimacy"] = inc.legitimacy
            legit[i] = max(0.0, legit[i] - cfg.attacker_legitimacy_cost)
            blame = cfg.patience_cost * np.maximum(self.state["alignment"][i], 0)
            self.state["patience"][:, i] = np.maximum(self.state["patience"][:, i] - blame, 0.0)
            self._refresh_alignment()

    def _incumbent_killed(self) -> None:
        """His killing leaves the state weaker and enrages those who backed him."""
        self.incumbent.alive = False
        supporters = self.world["incumbent_supporters"]
        bump = self.scenario.grievance.incumbent_killed
        self.state["grievance"] = np.minimum(self.state["grievance"] + bump * supporters, 1.0)
