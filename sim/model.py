"""The Mesa model: Iraq's factions after an election, one step a week.

``FormationModel.step`` only orchestrates, in a fixed order; the maths lives in the pure
functions of ``bargaining``, ``factions``, ``escalation``, ``patrons`` and
``constitution``. Each process draws from its own random stream, spawned from the run's
seed (Starsim-style), so that changing one mechanism does not reshuffle the random
numbers of the others: scenario comparisons stay paired.
"""

from __future__ import annotations

from pathlib import Path

import mesa
import numpy as np

from sim import bargaining, escalation, factions, patrons
from sim.constitution import ConstitutionalProcess, boycotting
from sim.enums import PMF_ISSUE, SHARING_ISSUE, GovernmentType, PMFStatus, PMKind, Stage
from sim.factions import Faction
from sim.patrons import Incumbent, Patron
from sim.scenario import Scenario, load_cached
from sim.world import world_for

DEFAULT_SCENARIO = Path(__file__).resolve().parent.parent / "scenarios" / "baseline.toml"
REPLAN_WEEKS = 4  # a formateur rethinks its offer at least this often
STREAMS = ("blocs", "sessions", "bargaining", "escalation", "attacks", "governance")
PMF_STEPS = (PMFStatus.INTACT, PMFStatus.CURTAILED, PMFStatus.DISSOLVED)


def make_streams(seed: int) -> dict[str, np.random.Generator]:
    """One generator per process, all derived from the run's seed."""
    children = np.random.SeedSequence(seed).spawn(len(STREAMS))
    return {
        name: np.random.default_rng(child) for name, child in zip(STREAMS, children, strict=True)
    }


class FormationModel(mesa.Model):
    """Government formation and escalation after an election.

    Parameters
    ----------
    scenario:
        A :class:`Scenario` or the path of a scenario TOML file.
    seed:
        The run's seed; every random stream derives from it. ``rng`` is accepted as an
        alias so that ``mesa.batch_run`` users can pass either.
    record_series:
        Collect weekly series with a Mesa ``DataCollector`` (the batch engine turns this
        off and keeps its own compact arrays, which are always recorded).
    """

    def __init__(
        self,
        scenario: Scenario | str | Path = DEFAULT_SCENARIO,
        seed: int | None = None,
        record_series: bool = True,
        rng: int | None = None,
    ):
        if seed is None:
            seed = rng if isinstance(rng, int | np.integer) else None
        if seed is None:
            seed = int(np.random.SeedSequence().entropy % 2**63)
        super().__init__(rng=int(seed))
        self.seed = int(seed)
        sc = scenario if isinstance(scenario, Scenario) else load_cached(scenario)
        self.scenario = sc
        compiled = world_for(sc)
        self.compiled = compiled
        self.world = compiled.arrays
        self.terms = compiled.terms
        self.bloc_names = compiled.bloc_names
        self.bloc_leaders = compiled.bloc_leaders
        self.streams = make_streams(self.seed)
        w = self.world
        n = compiled.n
        self.n_factions = n
        self.state = {
            "grievance": compiled.initial_grievance.copy(),
            "levels": w["initial_levels"].astype(np.int64),
            "escalation": w["initial_levels"][:n].astype(float),
            "legitimacy": w["legitimacy"].copy(),
            "bloc_of": compiled.bloc_of.copy(),
            "alignment": w["alignment"].copy(),
            "alignment_pos": w["alignment_pos"],
            "backing": w["backing"],
            "patron_pressure": w["patron_pressure"],
            "patron_mediation": w["patron_mediation"],
            "patience": np.repeat(w["patron_patience"][:, None], n, axis=1),
            "stalemate": 0.0,
            "incumbent_legitimacy": sc.incumbent.legitimacy,
        }
        self._alignment_version = 0
        self._affinity_key: tuple | None = None
        self._affinity = None
        self._is_leader = np.zeros(n, dtype=bool)
        self._is_leader[compiled.bloc_leaders] = True
        self._street = np.zeros(n + 1)  # grievance of each actor, the street last
        self._sources_key: tuple | None = None
        self._sources: tuple[np.ndarray, ...] = ()
        self._refresh_alignment()
        self._refresh_menace()
        self.factions = [Faction(self, i, name) for i, name in enumerate(compiled.names)]
        self.patrons = [Patron(self, p, name) for p, name in enumerate(compiled.patron_names)]
        inc = sc.incumbent
        self.incumbent = Incumbent(self, inc.legitimacy, inc.present, inc.alive)
        if inc.present and not inc.alive:  # a scenario that starts after his killing
            self._incumbent_killed()
        self.incumbent_faction = compiled.names.index(inc.faction) if inc.faction else -1
        self.process = ConstitutionalProcess(sc.clock.first_session_week)
        self.week = sc.clock.start_week
        self.end_week = sc.clock.horizon_weeks
        # the government, once formed
        self.government = np.zeros(n, dtype=bool)
        self.government_type = GovernmentType.NONE
        self.pm_kind = PMKind.NONE
        self.pm_faction = -1
        self.formed_week: int | None = None
        self.confidence_yes = 0  # yes votes in the confidence vote that formed it
        self.coalition_pmf_stance = 0.0
        self.pmf_status = PMFStatus.INTACT
        # what happened, for the run's row
        self.on_the_table = np.ones(n, dtype=bool)  # invited to the talks in progress
        self.talks_open = False
        self._plan = None
        self.consensus_deal = False  # the president was elected on a consensus package
        self.casualties = 0
        self.bloc_switches = 0
        self.largest_bloc_at_nomination: tuple[int, float] | None = None
        self._casualties_last = np.zeros(n + 1)
        self._protest_last = np.zeros(n)
        span = self.end_week - self.week + 1
        self.escalation_series = np.zeros(span, dtype=np.int8)
        self.grievance_series = np.zeros(span, dtype=np.float32)
        self.weeks_at_level = np.zeros(6, dtype=np.int64)
        self._record()
        self.datacollector = None
        if record_series:
            self.datacollector = mesa.DataCollector(
                model_reporters={
                    "week": "week",
                    "stage": lambda m: m.process.stage.name.lower(),
                    "max_escalation": lambda m: int(m.state["levels"].max()),
                    "street_level": lambda m: int(m.state["levels"][-1]),
                    "mean_grievance": lambda m: m.mean_grievance(),
                    "casualties": "casualties",
                    "incumbent_legitimacy": lambda m: m.incumbent.legitimacy,
                    "largest_bloc_seats": lambda m: m.largest_bloc()[1],
                    "formed": lambda m: m.formed_week is not None,
                    "government_type": lambda m: m.government_type.value,
                },
            )
            self.datacollector.collect(self)

    # ------------------------------------------------------------------ the week
    def step(self) -> None:
        """One week, in a fixed order: blocs, constitution and bargaining, governing,
        grievance, escalation, attacks on the incumbent, records."""
        self.week += 1
        self._update_blocs()
        self.process.week(self)
        self._govern()
        self._update_grievance()
        self._escalate()
        self._attack_incumbent()
        self._record()
        if self.datacollector is not None:
            self.datacollector.collect(self)
        done_following = (
            self.formed_week is not None
            and self.week >= self.formed_week + self.scenario.clock.follow_up_weeks
        )
        if self.week >= self.end_week or done_following:
            self.running = False

    def run(self) -> FormationModel:
        """Step until the run ends (formation plus follow-up, or the horizon)."""
        while self.running:
            self.step()
        return self

    # ------------------------------------------------------------------ blocs
    def largest_bloc(self) -> tuple[int, float]:
        return factions.largest_bloc(self.state["bloc_of"], self.world["seats"], self.bloc_leaders)

    def _update_blocs(self) -> None:
        if self.process.stage >= Stage.FORMED or not len(self.bloc_leaders):
            return
        bg = self.scenario.bargaining
        bloc_of = self.state["bloc_of"]
        # affinities change only when membership or alignment does: reuse them otherwise
        key = (bloc_of.tobytes(), self._alignment_version)
        if self._affinity_key != key:
            self._affinity = factions.bloc_affinity(
                bloc_of,
                self.bloc_leaders,
                self.world,
                self.state,
                bg.pm_rivalry,
                bg.mediation_value,
                bg.patron_value,
                self.scenario.parliament.confidence_majority,
            )
            self._affinity_key = key
        noise = bg.bloc_noise * self.streams["blocs"].standard_normal(self.n_factions)
        new = factions.update_blocs(
            bloc_of, self._affinity, self._is_leader, noise, bg.switching_cost, bg.join_threshold
        )
        self.bloc_switches += int(np.count_nonzero(new != bloc_of))
        self.state["bloc_of"] = new

    # ------------------------------------------------------------------ constitution hooks
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
                self._plan[1], formateur, self.world, self.state, self.terms, target
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

    # ------------------------------------------------------------------ after formation
    def _govern(self) -> None:
        """A majority government hostile to the PMF may move against its legal mandate."""
        if self.formed_week is None:
            return
        gv = self.scenario.governance
        u = self.streams["governance"].random(2)
        # only a national-majority government moves against the mandate (a consensus one
        # includes the PMF's own lists)
        hostile = (
            self.government_type is GovernmentType.MAJORITY
            and self.coalition_pmf_stance < gv.anti_pmf_stance
        )
        if not hostile or self.pmf_status is PMFStatus.DISSOLVED:
            return
        if u[0] >= gv.mandate_move_probability:
            return
        # Curtailing the PMF is a government bill: the coalition's own votes suffice.
        # Dissolving it needs an absolute majority of members, each list's MPs voting yes
        # in proportion to their hostility to the mandate.
        stance = self.world["positions"][:, PMF_ISSUE]
        if self.pmf_status is PMFStatus.INTACT:
            support = self.world["cohesion"] * self.government
        else:
            support = self.world["cohesion"] * np.clip(-2.0 * stance, 0.0, 1.0)
        votes = (
            self.streams["governance"].binomial(self.world["seats"].astype(np.int64), support).sum()
        )
        if votes < self.scenario.parliament.confidence_majority:
            return
        self.pmf_status = PMF_STEPS[PMF_STEPS.index(self.pmf_status) + 1]
        # members fall out with patrons that defend the PMF (article: such a pact would put
        # al-Sadr and al-Kadhimi at odds with Iran itself)
        defenders = self.world["patron_pmf_stance"] > 0
        rift = gv.patron_rift * self.government[:, None] * defenders[None, :]
        self.state["alignment"] = np.clip(self.state["alignment"] - rift, -1.0, 1.0)
        self._refresh_alignment()

    # ------------------------------------------------------------------ grievance
    def mean_grievance(self) -> float:
        seats = self.world["seats"]
        return float(seats @ self.state["grievance"] / seats.sum())

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

    def _refresh_alignment(self) -> None:
        """Derived views of alignment and patience, recomputed only when they change."""
        st, w = self.state, self.world
        st["alignment_pos"] = np.maximum(st["alignment"], 0.0)
        st["mediation_pull"] = st["alignment_pos"] @ st["patron_mediation"]
        restraint = patrons.restraint(st["alignment"], w["patron_restraint"], st["patience"])
        st["restraint"] = np.append(restraint, 0.0)
        self._alignment_version += 1

    def _refresh_menace(self) -> None:
        """How threatening each faction looks to others: grievance and current rung."""
        st = self.state
        st["menace"] = (st["grievance"] + st["escalation"] / 5.0) / 2.0

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

    # ------------------------------------------------------------------ records
    def _record(self) -> None:
        t = self.week - self.scenario.clock.start_week
        top = int(self.state["levels"].max())
        self.escalation_series[t] = top
        self.grievance_series[t] = self.mean_grievance()
        if t > 0:
            self.weeks_at_level[top] += 1

    def outcome(self) -> dict:
        """The run's tidy row (see ``sim.outcomes``)."""
        from sim.outcomes import run_outcome

        return run_outcome(self)
