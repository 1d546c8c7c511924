"""The Mesa model: Iraq's factions after an election, one step a week.

``FormationModel.step`` only orchestrates, in a fixed order; the maths lives in the pure
functions of ``bargaining``, ``factions``, ``escalation``, ``patrons`` and
``constitution``, and the glue that feeds them is split by concern: talks and votes in
``sim.negotiation``, grievance, escalation and attacks in ``sim.conflict``. Each process
draws from its own random stream, spawned from the run's seed (Starsim-style), so that
changing one mechanism does not reshuffle the random numbers of the others: scenario
comparisons stay paired.
"""

from __future__ import annotations

from pathlib import Path

import mesa
import numpy as np

from sim import factions, patrons
from sim.conflict import ConflictMixin
from sim.constitution import ConstitutionalProcess
from sim.enums import PMF_ISSUE, GovernmentType, PMFStatus, PMKind, Stage
from sim.factions import Faction
from sim.negotiation import NegotiationMixin
from sim.patrons import Incumbent, Patron
from sim.scenario import Scenario, load_cached
from sim.world import world_for

DEFAULT_SCENARIO = Path(__file__).resolve().parent.parent / "scenarios" / "baseline.toml"
STREAMS = ("blocs", "sessions", "bargaining", "escalation", "attacks", "governance")
PMF_STEPS = (PMFStatus.INTACT, PMFStatus.CURTAILED, PMFStatus.DISSOLVED)  # in order


def make_streams(seed: int) -> dict[str, np.random.Generator]:
    """One generator per process, all derived from the run's seed."""
    children = np.random.SeedSequence(seed).spawn(len(STREAMS))
    return {
        name: np.random.default_rng(child) for name, child in zip(STREAMS, children, strict=True)
    }


class FormationModel(NegotiationMixin, ConflictMixin, mesa.Model):
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
        self._options: tuple[np.ndarray, ...] = ()
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
            affinity = factions.bloc_affinity(
                bloc_of,
                self.bloc_leaders,
                self.world,
                self.state,
                bg.pm_rivalry,
                bg.mediation_value,
                bg.patron_value,
                self.scenario.parliament.confidence_majority,
            )
            self._options = factions.bloc_options(bloc_of, affinity, self._is_leader)
            self._affinity_key = key
        noise = bg.bloc_noise * self.streams["blocs"].standard_normal(self.n_factions)
        new = factions.update_blocs(
            bloc_of, self._options, self._is_leader, noise, bg.switching_cost, bg.join_threshold
        )
        self.bloc_switches += int(np.count_nonzero(new != bloc_of))
        self.state["bloc_of"] = new

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

    # ------------------------------------------------------------------ derived state
    def mean_grievance(self) -> float:
        seats = self.world["seats"]
        return float(seats @ self.state["grievance"] / seats.sum())

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
