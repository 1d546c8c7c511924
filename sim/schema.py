"""The scenario schema: frozen, typed sections with the ranges each value allows.

Unknown keys are errors (``extra="forbid"``), types are strict (a string is not a number),
and every bound here is what the model can take; where a value comes from is said in the
scenario file, not here. Loading, ``extends`` and error messages live in ``sim.scenario``.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from sim.enums import Community

Unit = Annotated[float, Field(ge=0.0, le=1.0)]
Signed = Annotated[float, Field(ge=-1.0, le=1.0)]
NonNegative = Annotated[float, Field(ge=0.0)]


def _list_to_tuple(value: Any) -> Any:
    """TOML arrays arrive as lists; store them as tuples so scenarios stay immutable."""
    return tuple(value) if isinstance(value, list) else value


Names = Annotated[tuple[str, ...], BeforeValidator(_list_to_tuple)]
CommunityName = Literal[tuple(c.value for c in Community)]  # type: ignore[valid-type]


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class Clock(Section):
    start_week: int = Field(ge=0)
    first_session_week: int = Field(ge=0)
    horizon_weeks: int = Field(ge=1, le=520)
    follow_up_weeks: int = Field(ge=0, le=260)


class Parliament(Section):
    size: int = Field(ge=3)
    speaker_majority: int = Field(ge=1)
    president_quorum: int = Field(ge=1)
    confidence_majority: int = Field(ge=1)
    nomination_weeks: int = Field(ge=0)
    cabinet_deadline_weeks: int = Field(ge=1)
    deadline_slip_probability: Unit
    session_probability: Unit


class Positions(Section):
    """Positions on the issues that divide factions, each in [-1, 1]."""

    pmf_mandate: Signed
    us_presence: Signed
    shia_vote_sharing: Signed


class IssueWeights(Section):
    pmf_mandate: NonNegative
    us_presence: NonNegative
    shia_vote_sharing: NonNegative


class Faction(Section):
    seats: int = Field(ge=0)
    previous_seats: int = Field(ge=0)
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
    alignment: dict[str, Signed] = Field(default_factory=dict)
    supported_by: Names = ()
    nomination_probability: Unit
    attacks_enabled: bool = True
    attack_probability: Unit
    attack_lethality: Unit
    backfire_legitimacy: Unit
    attacker_legitimacy_cost: Unit
    patience_cost: Unit


class Bloc(Section):
    name: str = Field(min_length=1)
    leader: str
    members: Names = ()


class Consensus(Section):
    community: CommunityName
    major_list_seats: int = Field(ge=0)


class Bargaining(Section):
    issue_weights: IssueWeights
    office_value: NonNegative
    policy_value: NonNegative
    safety_value: NonNegative
    patron_value: NonNegative
    mediation_value: NonNegative
    pm_rivalry: NonNegative
    incumbent_appeal: NonNegative
    formateur_bonus: Unit
    acceptance_noise: Annotated[float, Field(gt=0.0)]
    buffer_seats: int = Field(ge=0)
    compromise_after_failure: Unit
    stalemate_pressure: NonNegative
    switching_cost: NonNegative
    join_threshold: float
    bloc_noise: NonNegative


class Grievance(Section):
    decay: Unit
    seat_loss: NonNegative
    talks_exclusion: NonNegative
    government_exclusion: NonNegative
    mandate_threat: NonNegative
    guarantee_relief: NonNegative
    casualty: NonNegative
    protest_relief: NonNegative
    incumbent_killed: NonNegative
    blocked: NonNegative


class Escalation(Section):
    thresholds: Annotated[tuple[Unit, Unit, Unit, Unit, Unit], BeforeValidator(_list_to_tuple)]
    slope: Annotated[float, Field(gt=0.0)]
    down_probability: Unit
    capability_weight: NonNegative
    deterrence_weight: NonNegative
    restraint_weight: NonNegative
    casualty_rates: Annotated[
        tuple[NonNegative, NonNegative, NonNegative, NonNegative, NonNegative, NonNegative],
        BeforeValidator(_list_to_tuple),
    ]
    protest_min_seats: int = Field(ge=0)
    street_cap: int = Field(ge=0, le=5)
    street_start: int = Field(default=0, ge=0, le=5)


class Governance(Section):
    anti_pmf_stance: Signed
    mandate_move_probability: Unit
    crackdown_grievance: NonNegative
    patron_rift: Unit


class Scenario(Section):
    name: str = Field(min_length=1)
    description: str = ""
    seed: int = Field(ge=0, lt=2**63)
    clock: Clock
    parliament: Parliament
    consensus: Consensus
    bargaining: Bargaining
    grievance: Grievance
    escalation: Escalation
    governance: Governance
    incumbent: Incumbent
    patrons: dict[str, Patron] = Field(min_length=1)
    factions: dict[str, Faction] = Field(min_length=2)
    blocs: Annotated[tuple[Bloc, ...], BeforeValidator(_list_to_tuple)] = ()
