"""Discrete states of the model, named in the domain's words."""

from __future__ import annotations

from enum import IntEnum, StrEnum


class Labelled(IntEnum):
    """An integer state (what compiled code stores) with the word the run table prints."""

    @property
    def label(self) -> str:
        return self.name.lower()

    @classmethod
    def labels(cls) -> list[str]:
        """The labels in the order the run summary and comparisons list them."""
        return [member.label for member in sorted(cls, key=lambda m: m.order)]

    @property
    def order(self) -> int:
        return int(self)


class EscalationLevel(IntEnum):
    """The escalation ladder of DESIGN.md, one rung a week at most."""

    POLITICS = 0  # ordinary politics
    THREATS = 1  # "dire consequences" statements
    PROTESTS = 2  # protests and sit-ins
    CLASHES = 3  # clashes with security forces, with casualties
    TARGETED_ATTACKS = 4  # attacks on officials, the incumbent included
    ARMED_CONFLICT = 5  # armed conflict between factions of one community

    @property
    def label(self) -> str:
        """The rung's name as reports print it ("targeted attacks")."""
        return self.name.lower().replace("_", " ")

    @property
    def rung(self) -> str:
        """Number and name ("4 targeted attacks"): the number keeps the ladder's order."""
        return f"{int(self)} {self.label}"


class Stage(IntEnum):
    """Where the constitutional sequence stands."""

    AWAITING_SESSION = 0  # results not yet certified, parliament not convened
    SPEAKER = 1
    PRESIDENT = 2
    NOMINATION = 3
    CABINET = 4
    FORMED = 5


class GovernmentType(Labelled):
    """The government that formed: a national majority, a consensus of the community's
    major lists, or none by the horizon (listed in that order)."""

    NONE = 0
    MAJORITY = 1
    CONSENSUS = 2

    @property
    def order(self) -> int:
        return (int(self) - 1) % 3  # majority, consensus, none


class PMKind(Labelled):
    """Who leads the government: the incumbent, the formateur's own nominee, a compromise
    figure, or no one (listed in that order)."""

    NONE = 0
    INCUMBENT = 1
    FORMATEUR = 2
    COMPROMISE = 3

    @property
    def order(self) -> int:
        return (int(self) - 1) % 4  # incumbent, formateur, compromise, none


class PMFStatus(Labelled):
    """The PMF's legal standing; a government can only move it one step at a time."""

    INTACT = 0
    CURTAILED = 1
    DISSOLVED = 2


class SeatRule(Labelled):
    """Where the seats of a list that walks out of parliament go (``[walk_out] seats_to``).
    Iraq's election law gives a resigning MP's seat to the runner-up in the district, who
    mostly comes from the same community: ``same_community`` shares the seats among the
    remaining lists of the walk-out list's community in proportion to their seats (all
    lists, if none is left); ``all_lists`` among every remaining list; ``vacant`` leaves
    them empty, so quorums and majorities, counted on the chamber's full size, get harder."""

    SAME_COMMUNITY = 0
    ALL_LISTS = 1
    VACANT = 2


class Community(StrEnum):
    SHIA = "shia"
    KURD = "kurd"
    SUNNI = "sunni"
    MINORITY = "minority"
    CROSS_SECTARIAN = "cross-sectarian"


#: The issues every faction takes a position on, in [-1, 1]. The PMF mandate is the issue
#: the article puts at the centre: +1 defends the PMF's legal mandate, -1 would end it.
ISSUES = ("pmf_mandate", "us_presence", "shia_vote_sharing")
PMF_ISSUE = ISSUES.index("pmf_mandate")
#: Sharing the Shia vote is about the *form* of government, not an average of members'
#: views: a government that takes in every major list of the consensus community stands at
#: +1 on it, one that leaves major lists out at -1 (a national-majority government).
SHARING_ISSUE = ISSUES.index("shia_vote_sharing")
