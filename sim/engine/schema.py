"""The scenario schema: frozen, typed sections with the ranges each value allows.

Unknown keys are errors (``extra="forbid"``), types are strict (a string is not a number),
numbers are finite (``inf`` and ``nan`` are refused everywhere), and every bound here is
what the model can take; where a value comes from is said in the scenario file, not here.
Loading, ``extends`` and error messages live in ``sim.scenario``.
"""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field

from sim.engine.enums import Community

# Upper limits. A value above one of these is not a scenario a run could use: it is a typo,
# or an attempt at infinity that would only fail (or silently saturate) once a batch runs.
#: Utility, grievance and escalation weights are on a scale of about 1 (the baseline's lie
#: between 0.006 and 12). A million times that already decides every comparison a weight
#: enters, and keeps products of weights, seats and weeks far from float overflow.
MAX_WEIGHT = 1e6
#: Expected casualties per actor and week at a rung: a million is beyond any war's worst
#: week, and keeps the Poisson draws (numpy refuses rates above ~9.2e18) and the run's
#: casualty count (an int64 column) exact.
MAX_CASUALTY_RATE = 1e6
#: The least acceptance noise (a standard deviation): below a millionth the noise is nil
#: anyway, and dividing a margin by less overflows.
MIN_NOISE = 1e-6
#: Seats: more than any legislature has (the largest, China's NPC, has under 3,000); seat
#: sums, squares and binomial vote draws stay far inside int64.
MAX_SEATS = 10_000
#: Weeks: a horizon of ten years at most, so no week count can be longer.
MAX_WEEKS = 520
#: Names are labels in tables, plots and dotted keys, not documents.
MAX_NAME = 100

Unit = Annotated[float, Field(ge=0.0, le=1.0)]
Signed = Annotated[float, Field(ge=-1.0, le=1.0)]
Weight = Annotated[float, Field(ge=0.0, le=MAX_WEIGHT)]
Positive = Annotated[float, Field(gt=0.0, le=MAX_WEIGHT)]
Seats = Annotated[int, Field(ge=0, le=MAX_SEATS)]
Weeks = Annotated[int, Field(ge=0, le=MAX_WEEKS)]
CasualtyRate = Annotated[float, Field(ge=0.0, le=MAX_CASUALTY_RATE)]


def as_tuple(value: Any) -> Any:
    """TOML arrays arrive as lists; store them as tuples so scenarios stay immutable."""
    return tuple(value) if isinstance(value, list) else value


def _label(value: str) -> str:
    if not value or len(value) > MAX_NAME or not value.isprintable():
        raise ValueError(f"must be 1 to {MAX_NAME} printable characters (got {value!r})")
    return value


def _name(value: str) -> str:
    """Faction, patron and bloc names are also steps of dotted keys (factions.NAME.seats),
    and values of the run table's columns, beside the placeholders a comparison shows for
    a missing value: "(no government)", "(PM without a party)", all in parentheses. A
    name in parentheses, or the empty text a missing value is stored as, could pass for
    one, so it is refused."""
    _label(value)
    if any(c in value for c in ".[]"):
        raise ValueError(f"must not contain '.', '[' or ']', which dotted keys use (got {value!r})")
    if value != value.strip():
        raise ValueError(f"must not begin or end with a space (got {value!r})")
    if value.startswith("(") and value.endswith(")"):
        raise ValueError(
            f"must not be wrapped in parentheses, which mark placeholder labels such as "
            f"'(no government)' (got {value!r})"
        )
    return value


#: A scenario's name: any printable text (it only labels results).
Label = Annotated[str, AfterValidator(_label)]
#: A faction's, patron's or bloc's name: printable, and usable in a dotted key.
Name = Annotated[str, AfterValidator(_name)]
Names = Annotated[tuple[str, ...], BeforeValidator(as_tuple)]
if TYPE_CHECKING:
    CommunityName = str
else:
    CommunityName = Literal[tuple(c.value for c in Community)]


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, allow_inf_nan=False)


class Clock(Section):
    start_week: Weeks
    first_session_week: Weeks
    horizon_weeks: int = Field(ge=1, le=MAX_WEEKS)
    follow_up_weeks: int = Field(ge=0, le=MAX_WEEKS // 2)
    # the week the results are certified; until then seat counts are provisional and the
    # losers' appeals aggrieve them ([grievance] results_appeal). -1: at the first session
    certified_week: int = Field(default=-1, ge=-1, le=MAX_WEEKS)


class Parliament(Section):
    size: int = Field(ge=3, le=MAX_SEATS)
    speaker_majority: int = Field(ge=1, le=MAX_SEATS)
    president_quorum: int = Field(ge=1, le=MAX_SEATS)
    confidence_majority: int = Field(ge=1, le=MAX_SEATS)
    nomination_weeks: Weeks
    cabinet_deadline_weeks: int = Field(ge=1, le=MAX_WEEKS)
    deadline_slip_probability: Unit
    session_probability: Unit
    # weekly chance that the first session, once opened, is kept open without electing the
    # speaker while the blocs bargain (a known delaying device; 0: never)
    open_session_probability: Unit = 0.0
    # who the president charges: false, the largest bloc formed in parliament (the Federal
    # Supreme Court's reading of article 76); true, the largest list at the election
    largest_list_rule: bool = False


class Positions(Section):
    """Positions on the issues that divide factions, each in [-1, 1]."""

    pmf_mandate: Signed
    us_presence: Signed
    shia_vote_sharing: Signed


class IssueWeights(Section):
    pmf_mandate: Weight
    us_presence: Weight
    shia_vote_sharing: Weight


class Faction(Section):
    #: what a reader calls the list ("State of Law"); the name stays its id in data files
    label: Label = ""
    seats: Seats
    previous_seats: Seats
    community: CommunityName
    armed: Unit
    pmf: bool
    alignment: dict[str, Signed] = Field(default_factory=dict)
    positions: Positions
    office_weight: Unit
    grievance: Unit
    cohesion: Unit = 0.95
    legitimacy: Unit = 0.5
    escalation: int = Field(default=0, ge=0, le=5)


class Patron(Section):
    label: Label = ""  # what a reader calls the patron ("Iran"); the name is its id
    mediation: Unit
    guarantee: Unit
    restraint: Unit
    pressure: Unit
    pmf_stance: Signed
    backs_incumbent: Unit = 0.0
    backs: Names = ()
    backing: Unit = 0.0
    patience: Unit = 1.0


class Incumbent(Section):
    present: bool = True
    alive: bool = True
    faction: str = ""
    legitimacy: Unit
    resolve: Unit
    security_capacity: Unit
    positions: Positions
    # his patrons act through their own keys (patrons.NAME.backs_incumbent), so he has no
    # alignment of his own: v1 accepted one and never read it
    supported_by: Names = ()
    nomination_probability: Unit
    attacks_enabled: bool = True
    attack_probability: Unit
    attack_lethality: Unit
    backfire_legitimacy: Unit
    attacker_legitimacy_cost: Unit
    patience_cost: Unit


class Bloc(Section):
    name: Name
    label: Label = ""  # what a reader calls the bloc; the name is its id
    leader: str
    members: Names = ()


class Consensus(Section):
    community: CommunityName
    major_list_seats: Seats


class Bargaining(Section):
    issue_weights: IssueWeights
    office_value: Weight
    policy_value: Weight
    safety_value: Weight
    patron_value: Weight
    mediation_value: Weight
    pm_rivalry: Weight
    incumbent_appeal: Weight
    formateur_bonus: Unit
    acceptance_noise: Annotated[float, Field(ge=MIN_NOISE, le=MAX_WEIGHT)]
    buffer_seats: Seats
    compromise_after_failure: Unit
    stalemate_pressure: Weight
    switching_cost: Weight
    join_threshold: Annotated[float, Field(ge=-MAX_WEIGHT, le=MAX_WEIGHT)]
    bloc_noise: Weight
    # the formateur weighs a compromise prime minister from its first nominee on, not only
    # after one has failed (false: only after a failure)
    compromise_first: bool = False
    # what a compromise figure, acceptable across the consensus community, adds to every
    # invitee's margin (0: nothing beyond standing at the coalition's centre)
    compromise_appeal: Weight = 0.0


class ScenarioBase(Section):
    """A scenario's own tables: its name and seed, the clock, parliament's rules, the
    consensus community, bargaining, the incumbent, the patrons, the factions and the
    blocs. The tables each weekly process owns (``[grievance]``, ``[escalation]``...) are
    added to it by ``sim.engine.assembly.Scenario``, from the processes' declarations."""

    name: Label
    description: str = ""
    seed: int = Field(ge=0, lt=2**63)
    clock: Clock
    parliament: Parliament
    consensus: Consensus
    bargaining: Bargaining
    incumbent: Incumbent
    patrons: dict[Name, Patron] = Field(min_length=1)
    factions: dict[Name, Faction] = Field(min_length=2)
    blocs: Annotated[tuple[Bloc, ...], BeforeValidator(as_tuple)] = ()

    if TYPE_CHECKING:  # the processes' tables, read by attribute

        def __getattr__(self, name: str) -> Any: ...


# --------------------------------------------------------------------------- cross-field rules
def check_rules(sc: ScenarioBase) -> list[tuple[str, str]]:
    """Rules across fields that types cannot express: seat totals, thresholds, references
    to factions and patrons, blocs. Returns (dotted key, what is wrong) pairs, in file order."""
    problems: list[tuple[str, str]] = []
    names = sorted(sc.factions)
    patrons = ", ".join(sorted(sc.patrons))
    size = sc.parliament.size
    total = sum(f.seats for f in sc.factions.values())
    if total != size:
        problems.append(
            ("factions", f"faction seats add up to {total}, but parliament.size is {size}")
        )
    for key in ("speaker_majority", "president_quorum", "confidence_majority"):
        value = getattr(sc.parliament, key)
        if value > size:
            problems.append(
                (
                    f"parliament.{key}",
                    f"{value} exceeds parliament.size ({size}); allowed 1..{size}",
                )
            )
    for name, faction in sc.factions.items():
        for patron in faction.alignment:
            if patron not in sc.patrons:
                problems.append(
                    (f"factions.{name}.alignment.{patron}", f"no such patron; patrons: {patrons}")
                )

    def check_faction(key: str, value: str) -> None:
        if value not in sc.factions:
            problems.append((key, f"no faction named {value!r}; factions: {', '.join(names)}"))

    inc = sc.incumbent
    if inc.faction:
        check_faction("incumbent.faction", inc.faction)
    for i, value in enumerate(inc.supported_by):
        check_faction(f"incumbent.supported_by[{i}]", value)
    for pname, backer in sc.patrons.items():
        for i, value in enumerate(backer.backs):
            check_faction(f"patrons.{pname}.backs[{i}]", value)
    problems += _bloc_problems(sc.blocs, check_faction)
    for b, bloc in enumerate(sc.blocs):
        for member in (bloc.leader, *bloc.members):
            if member in sc.factions and sc.factions[member].seats == 0:
                why = f"{member!r} has no seats: a bloc is made of lists in parliament"
                problems.append((f"blocs[{b}]", why))
    thresholds = sc.escalation.thresholds
    if any(b <= a for a, b in itertools.pairwise(thresholds)):
        problems.append(("escalation.thresholds", "must be strictly increasing, each in [0, 1]"))
    clock = sc.clock
    if clock.start_week >= clock.horizon_weeks:
        problems.append(
            ("clock.start_week", f"must be below clock.horizon_weeks ({clock.horizon_weeks})")
        )
    return problems


def _bloc_problems(blocs: tuple[Bloc, ...], check_faction) -> list[tuple[str, str]]:
    """Blocs name existing factions; a bloc is named once, lists a member once, and a
    faction sits in one bloc at most (a bloc is who its members are: a repeat is a typo)."""
    problems: list[tuple[str, str]] = []
    named: dict[str, int] = {}
    seen: dict[str, str] = {}
    for b, bloc in enumerate(blocs):
        if bloc.name in named:
            problems.append(
                (
                    f"blocs[{b}].name",
                    f"{bloc.name!r} is already the name of blocs[{named[bloc.name]}]",
                )
            )
        named.setdefault(bloc.name, b)
        check_faction(f"blocs[{b}].leader", bloc.leader)
        listed: set[str] = set()
        for i, value in enumerate(bloc.members):
            check_faction(f"blocs[{b}].members[{i}]", value)
            if value in listed:
                problems.append((f"blocs[{b}].members[{i}]", f"{value!r} is listed twice"))
            listed.add(value)
        for member in (bloc.leader, *bloc.members):
            if member in seen and seen[member] != bloc.name:
                problems.append(
                    (f"blocs[{b}].members", f"{member!r} is already in bloc {seen[member]!r}")
                )
            seen[member] = bloc.name
    return problems
