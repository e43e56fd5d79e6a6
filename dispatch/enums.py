"""Incident and team vocabularies and their state machines (tables, not scattered ifs)."""

from __future__ import annotations

from enum import StrEnum


class Category(StrEnum):
    """What kind of danger the incident is about."""

    CHILDREN = "children"
    DOMESTIC_VIOLENCE = "domestic_violence"
    ELDERLY = "elderly"
    DISABILITY = "disability"
    HOMELESS = "homeless"
    TRAFFICKING = "trafficking"
    SUICIDE_RISK = "suicide_risk"
    # Labour exploitation (forced or unpaid work, child labour) apart from trafficking, and
    # general welfare requests (relief subsidy เงินสงเคราะห์, other rights and benefits).
    LABOUR = "labour"
    WELFARE_REQUEST = "welfare_request"
    OTHER = "other"


class Priority(StrEnum):
    """P1 life in danger now ... P4 no time pressure."""

    P1 = "P1"
    P2 = "P2"
    P3 = "P3"
    P4 = "P4"


class Source(StrEnum):
    """Where the incident came from."""

    HOTLINE = "hotline"
    ESS = "ess"
    LINE = "line"
    APP = "app"
    # Other ways a matter reaches the centre, recorded on the desk's one intake form (issue 14).
    WALK_IN = "walk_in"
    LETTER = "letter"
    DAMRONGDHAMA = "damrongdhama"  # a referral from a ศูนย์ดำรงธรรม (Damrongdhama Centre)
    SURVEILLANCE = "surveillance"  # a news or social-media item (its https link is kept)
    AGENCY = "agency"  # another agency
    VOLUNTEER = "volunteer"  # an อพม. volunteer


# Sources the desk's intake form offers (citizen reports come through ESS / LINE / the app).
INTAKE_SOURCES = (Source.HOTLINE, Source.WALK_IN, Source.LETTER, Source.DAMRONGDHAMA,
                  Source.SURVEILLANCE, Source.AGENCY, Source.VOLUNTEER)
# Sources that name who referred the matter, and the one that needs its link.
SOURCES_WITH_ORG = frozenset({Source.DAMRONGDHAMA, Source.AGENCY, Source.VOLUNTEER,
                              Source.LETTER})


class AgeGroup(StrEnum):
    """Age group of a person involved."""

    CHILD = "child"  # 0-17
    ADULT = "adult"  # 18-59
    ELDER = "elder"  # 60+
    UNKNOWN = "unknown"


class Sex(StrEnum):
    """Sex of a person involved, as told by the caller."""

    FEMALE = "female"
    MALE = "male"
    OTHER = "other"
    UNKNOWN = "unknown"


class VulnerableGroup(StrEnum):
    """Vulnerable group a person belongs to."""

    NONE = "none"
    CHILD = "child"
    WOMAN = "woman"
    ELDERLY = "elderly"
    DISABLED = "disabled"
    HOMELESS = "homeless"
    MIGRANT = "migrant"
    PREGNANT = "pregnant"


class Precision(StrEnum):
    """How exact an incident's coordinates are."""

    POINT = "point"
    SUBDISTRICT = "subdistrict"
    DISTRICT = "district"
    PROVINCE = "province"


class IncidentStatus(StrEnum):
    """Where an incident stands in the rapid-response path."""

    NEW = "new"
    ASSIGNED = "assigned"
    ACKNOWLEDGED = "acknowledged"
    EN_ROUTE = "en_route"
    ON_SCENE = "on_scene"
    RESOLVED = "resolved"
    HANDED_OVER = "handed_over"
    CANCELLED = "cancelled"


OPEN_STATUSES = frozenset(
    {
        IncidentStatus.NEW,
        IncidentStatus.ASSIGNED,
        IncidentStatus.ACKNOWLEDGED,
        IncidentStatus.EN_ROUTE,
        IncidentStatus.ON_SCENE,
    }
)

INCIDENT_TRANSITIONS: dict[IncidentStatus, frozenset[IncidentStatus]] = {
    IncidentStatus.NEW: frozenset({IncidentStatus.ASSIGNED, IncidentStatus.CANCELLED}),
    # ASSIGNED -> NEW: the offer lapsed or the team declined; the incident waits for a team again.
    IncidentStatus.ASSIGNED: frozenset(
        {IncidentStatus.ACKNOWLEDGED, IncidentStatus.NEW, IncidentStatus.CANCELLED}
    ),
    IncidentStatus.ACKNOWLEDGED: frozenset({IncidentStatus.EN_ROUTE, IncidentStatus.CANCELLED}),
    IncidentStatus.EN_ROUTE: frozenset({IncidentStatus.ON_SCENE, IncidentStatus.CANCELLED}),
    IncidentStatus.ON_SCENE: frozenset({IncidentStatus.RESOLVED}),
    IncidentStatus.RESOLVED: frozenset({IncidentStatus.HANDED_OVER}),
    IncidentStatus.HANDED_OVER: frozenset(),
    IncidentStatus.CANCELLED: frozenset(),
}

# The incident timestamp column stamped when a status is entered.
STATUS_TIMESTAMP: dict[IncidentStatus, str] = {
    IncidentStatus.NEW: "updated_at",
    IncidentStatus.ASSIGNED: "dispatched_at",
    IncidentStatus.ACKNOWLEDGED: "acknowledged_at",
    IncidentStatus.EN_ROUTE: "en_route_at",
    IncidentStatus.ON_SCENE: "on_scene_at",
    IncidentStatus.RESOLVED: "resolved_at",
    IncidentStatus.HANDED_OVER: "handed_over_at",
    IncidentStatus.CANCELLED: "cancelled_at",
}

# Moves a field-team member makes from the team page, in order.
TEAM_STEPS: tuple[IncidentStatus, ...] = (
    IncidentStatus.ACKNOWLEDGED,
    IncidentStatus.EN_ROUTE,
    IncidentStatus.ON_SCENE,
    IncidentStatus.RESOLVED,
)


class TeamStatus(StrEnum):
    """What a rapid-response team is doing."""

    OFF_DUTY = "off_duty"
    AVAILABLE = "available"
    OFFERED = "offered"  # holds an offer it has not acknowledged yet
    EN_ROUTE = "en_route"
    ON_SCENE = "on_scene"
    CLEARING = "clearing"  # job resolved; finishing notes, travelling back; not yet free


TEAM_TRANSITIONS: dict[TeamStatus, frozenset[TeamStatus]] = {
    TeamStatus.OFF_DUTY: frozenset({TeamStatus.AVAILABLE}),
    TeamStatus.AVAILABLE: frozenset({TeamStatus.OFF_DUTY, TeamStatus.OFFERED}),
    # OFFERED -> AVAILABLE: the offer lapsed, was declined or the incident was cancelled.
    TeamStatus.OFFERED: frozenset({TeamStatus.EN_ROUTE, TeamStatus.AVAILABLE}),
    TeamStatus.EN_ROUTE: frozenset({TeamStatus.ON_SCENE, TeamStatus.AVAILABLE}),
    TeamStatus.ON_SCENE: frozenset({TeamStatus.CLEARING}),
    TeamStatus.CLEARING: frozenset({TeamStatus.AVAILABLE, TeamStatus.OFF_DUTY}),
}

# Statuses a team leaves by itself (or a dispatcher) from the duty buttons, not through a job.
TEAM_FREE_STATUSES = frozenset({TeamStatus.OFF_DUTY, TeamStatus.AVAILABLE, TeamStatus.CLEARING})

# Team status that follows each incident status reached by the team. Acknowledging an offer
# commits the team to go: it counts as en route until it reports on scene.
TEAM_STATUS_FOR_INCIDENT: dict[IncidentStatus, TeamStatus] = {
    IncidentStatus.ASSIGNED: TeamStatus.OFFERED,
    IncidentStatus.ACKNOWLEDGED: TeamStatus.EN_ROUTE,
    IncidentStatus.EN_ROUTE: TeamStatus.EN_ROUTE,
    IncidentStatus.ON_SCENE: TeamStatus.ON_SCENE,
    IncidentStatus.RESOLVED: TeamStatus.CLEARING,
    IncidentStatus.CANCELLED: TeamStatus.AVAILABLE,
}


# Skills a team needs for each category (None = any team will do).
CATEGORY_SKILLS: dict[str, str | None] = {
    "children": "child_protection",
    "domestic_violence": "domestic_violence",
    "elderly": "elderly",
    "disability": "disability",
    "homeless": "homeless",
    "trafficking": "trafficking",
    "suicide_risk": "psychiatric",
    "labour": None,
    "welfare_request": None,
    "other": None,
}


class TimerKind(StrEnum):
    """What a durable timer does when it comes due."""

    OFFER_LAPSE = "offer_lapse"
    CHECKIN_DUE = "checkin_due"
    ESCALATION_STEP = "escalation_step"  # nobody acknowledged: take the ladder's next step


class AlarmKind(StrEnum):
    """Why a supervisor is alerted; SOS is the highest."""

    SOS = "sos"
    MISSED_CHECKIN = "missed_checkin"
    OFFER_LAPSED = "offer_lapsed"
    OFFER_DECLINED = "offer_declined"
    ESCALATED = "escalated"  # the ladder reached a supervisor, the provincial office or outside
    UNOFFERED = "unoffered"  # nobody offered the incident to a team within the first rung's wait
    CASE_OVERDUE = "case_overdue"  # a case's referral step or plan action is late (supervisor)
    CASE_OFFICE = "case_office"  # still late after the grace: the provincial office (สนง.พมจ.)
    ROSTER_SHORT = "roster_short"  # a shift about to start below its staffing minimum (roster/)


class EscalationAction(StrEnum):
    """One rung of a province's escalation ladder."""

    TEAM = "team"  # offer to the next suggested team
    SUPERVISOR = "supervisor"  # alarm + SMS to the supervisor on duty (else all the province's)
    PROVINCIAL_OFFICE = "provincial_office"  # the provincial social development office (พมจ.)
    OUTSIDE_RESPONDER = "outside_responder"  # police 191, EMS 1669, ...


# Rungs that need someone to phone (a contact name and number).
CONTACT_ACTIONS = frozenset({EscalationAction.PROVINCIAL_OFFICE,
                             EscalationAction.OUTSIDE_RESPONDER})
