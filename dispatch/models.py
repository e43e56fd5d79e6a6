"""Incidents, the people in them, rapid-response teams, assignments and the timeline."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Float,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from console.db import Base, UTCDateTime, str_enum, utcnow
from dispatch.enums import (
    AgeGroup,
    AlarmKind,
    Category,
    EscalationAction,
    IncidentStatus,
    Precision,
    Priority,
    Sex,
    Source,
    TeamStatus,
    TimerKind,
    VulnerableGroup,
)


class Team(Base):
    """A rapid-response team (หน่วยเคลื่อนที่เร็ว) of one province."""

    __tablename__ = "team"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    province_code: Mapped[str] = mapped_column(String(2), index=True)
    status: Mapped[TeamStatus] = mapped_column(str_enum(TeamStatus), default=TeamStatus.AVAILABLE)
    skills: Mapped[list[str]] = mapped_column(JSON, default=list)
    phone: Mapped[str | None] = mapped_column(String(20))
    lat: Mapped[float | None] = mapped_column(Float)
    lon: Mapped[float | None] = mapped_column(Float)
    position_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    position_accuracy_m: Mapped[float | None] = mapped_column(Float)
    status_changed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # NOTE: optimistic locking: two dispatchers changing the same team at once -> one wins.
    version: Mapped[int] = mapped_column(default=1, server_default="1")

    __mapper_args__ = {"version_id_col": version}


class Incident(Base):
    """Someone needs help: the record that travels from intake to case management."""

    __tablename__ = "incident"
    __table_args__ = (
        CheckConstraint("lat IS NULL OR (lat >= -90 AND lat <= 90)", name="lat_range"),
        CheckConstraint("lon IS NULL OR (lon >= -180 AND lon <= 180)", name="lon_range"),
        Index("ix_incident_province_status", "province_code", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    ref: Mapped[str | None] = mapped_column(String(32), unique=True)
    source: Mapped[Source] = mapped_column(str_enum(Source), default=Source.HOTLINE)
    # The news / social-media item's https link, and who referred it (agency, Damrongdhama
    # Centre, volunteer, letter's sender) for the sources that have one (issue 14).
    source_link: Mapped[str | None] = mapped_column(String(500))
    source_org: Mapped[str | None] = mapped_column(String(200))
    call_id: Mapped[int | None] = mapped_column(ForeignKey("call.id"))
    category: Mapped[Category] = mapped_column(str_enum(Category))
    priority: Mapped[Priority] = mapped_column(str_enum(Priority, length=2))
    status: Mapped[IncidentStatus] = mapped_column(
        str_enum(IncidentStatus), default=IncidentStatus.NEW
    )
    summary: Mapped[str] = mapped_column(Text)
    notes: Mapped[str] = mapped_column(Text, default="")
    # Location
    province_code: Mapped[str] = mapped_column(String(2))
    district_code: Mapped[str | None] = mapped_column(String(4))
    subdistrict_code: Mapped[str | None] = mapped_column(String(6))
    address_text: Mapped[str] = mapped_column(Text, default="")
    lat: Mapped[float | None] = mapped_column(Float)
    lon: Mapped[float | None] = mapped_column(Float)
    precision: Mapped[Precision] = mapped_column(str_enum(Precision, length=12))
    # The caller could not say where: the desks show "place unknown" (issue 14).
    place_unknown: Mapped[bool] = mapped_column(default=False, server_default=false())
    # Who holds it now
    team_id: Mapped[int | None] = mapped_column(ForeignKey("team.id"))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    # The standard intervals, stored, not derived from logs.
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    triaged_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    dispatched_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    en_route_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    on_scene_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    handed_over_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # While a team holds an unacknowledged offer: when it lapses.
    offer_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # While a team is on scene: when its next safety check-in is due.
    checkin_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Rung of the escalation ladder reached (0 = first offer), None before the first offer.
    escalation_step: Mapped[int | None] = mapped_column()
    # Opened for a citizen report whose reporter (LINE user or contact) already had this other
    # open incident, too far away (or in another province) to join it: the dispatcher is told.
    same_reporter_id: Mapped[int | None] = mapped_column(ForeignKey("incident.id"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # NOTE: optimistic locking: a stale read can never overwrite a newer status (SQLite too).
    version: Mapped[int] = mapped_column(default=1, server_default="1")

    __mapper_args__ = {"version_id_col": version}

    people: Mapped[list[IncidentPerson]] = relationship(
        back_populates="incident", order_by="IncidentPerson.id", cascade="all, delete-orphan"
    )
    timeline: Mapped[list[TimelineEntry]] = relationship(
        back_populates="incident", order_by="TimelineEntry.id", cascade="all, delete-orphan"
    )
    team: Mapped[Team | None] = relationship()
    same_reporter: Mapped[Incident | None] = relationship(
        remote_side="Incident.id", foreign_keys="Incident.same_reporter_id")


class IncidentPerson(Base):
    """A person involved in an incident (minimum data, PDPA)."""

    __tablename__ = "incident_person"

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incident.id"), index=True)
    age_group: Mapped[AgeGroup] = mapped_column(str_enum(AgeGroup, length=12))
    sex: Mapped[Sex] = mapped_column(str_enum(Sex, length=12))
    vulnerable_group: Mapped[VulnerableGroup] = mapped_column(str_enum(VulnerableGroup))

    incident: Mapped[Incident] = relationship(back_populates="people")


class Assignment(Base):
    """A team given an incident by a dispatcher; at most one active per incident."""

    __tablename__ = "assignment"

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incident.id"), index=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("team.id"), index=True)
    assigned_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    assigned_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    acknowledged_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    active: Mapped[bool] = mapped_column(default=True)


class TimelineEntry(Base):
    """One thing that happened to an incident: who, when, from which status to which."""

    __tablename__ = "incident_timeline"

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incident.id"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    kind: Mapped[str] = mapped_column(String(32))
    from_status: Mapped[str | None] = mapped_column(String(24))
    to_status: Mapped[str | None] = mapped_column(String(24))
    team_id: Mapped[int | None] = mapped_column(ForeignKey("team.id"))
    note: Mapped[str] = mapped_column(Text, default="")
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    incident: Mapped[Incident] = relationship(back_populates="timeline")


class FusionDismissal(Base):
    """Two incidents a dispatcher marked "not a duplicate" (or separated by splitting a merge):
    the pair is never suggested again. One row per unordered pair: the lower id first."""

    __tablename__ = "fusion_dismissal"
    __table_args__ = (
        UniqueConstraint("incident_a_id", "incident_b_id", name="uq_fusion_dismissal_pair"),
        CheckConstraint("incident_a_id < incident_b_id", name="pair_order"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_a_id: Mapped[int] = mapped_column(ForeignKey("incident.id"))
    incident_b_id: Mapped[int] = mapped_column(ForeignKey("incident.id"), index=True)
    dismissed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    dismissed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    reason: Mapped[str] = mapped_column(Text, default="", server_default="")
    # "desk": marked on a desk; "split": a merge of the two was split again.
    via: Mapped[str] = mapped_column(String(8), default="desk", server_default="desk")


class TeamPosition(Base):
    """A team's reported position over time (its path, for the case file)."""

    __tablename__ = "team_position"
    __table_args__ = (Index("ix_team_position_team_at", "team_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("team.id"))
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    lat: Mapped[float] = mapped_column(Float)
    lon: Mapped[float] = mapped_column(Float)
    accuracy_m: Mapped[float | None] = mapped_column(Float)


class Timer(Base):
    """A durable timer: stored with its due time, survives restarts, fires exactly once."""

    __tablename__ = "timer"
    __table_args__ = (Index("ix_timer_due", "fired_at", "due_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[TimerKind] = mapped_column(str_enum(TimerKind))
    incident_id: Mapped[int] = mapped_column(ForeignKey("incident.id"), index=True)
    team_id: Mapped[int | None] = mapped_column(ForeignKey("team.id"))
    due_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    fired_at: Mapped[datetime | None] = mapped_column(UTCDateTime())  # or cancelled
    outcome: Mapped[str | None] = mapped_column(String(24))  # fired | cancelled
    # Escalation timers: the ladder rung they wait on (a stale rung never fires twice).
    step: Mapped[int | None] = mapped_column()


class Alarm(Base):
    """Something a supervisor must handle: an SOS, a missed check-in, a lapsed offer."""

    __tablename__ = "alarm"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[AlarmKind] = mapped_column(str_enum(AlarmKind))
    province_code: Mapped[str] = mapped_column(String(2), index=True)
    team_id: Mapped[int | None] = mapped_column(ForeignKey("team.id"))
    incident_id: Mapped[int | None] = mapped_column(ForeignKey("incident.id"))
    raised_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    raised_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    lat: Mapped[float | None] = mapped_column(Float)
    lon: Mapped[float | None] = mapped_column(Float)
    note: Mapped[str] = mapped_column(Text, default="")
    handled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    handled_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    # Escalation alarms: whom the ladder says to phone now (provincial office, police, EMS).
    contact_name: Mapped[str] = mapped_column(String(120), default="", server_default="")
    contact_phone: Mapped[str | None] = mapped_column(String(20))
    # Case alarms (a late referral step or plan action): the case, for the desk's link.
    case_id: Mapped[int | None] = mapped_column(ForeignKey("welfare_case.id"), index=True)
    # What the alarm is read from, in each reader's language (issue 14): a short shift's
    # shift_id, starts_at, ends_at (ISO) and short ({duty role: how many missing}); and
    # sent_to_all ('nobody_on_duty' or 'no_phone') when it went to every supervisor of the
    # province. None on older alarms: their note is shown as it was written.
    facts: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class EscalationStep(Base):
    """One rung of a province's escalation ladder for one priority (set by an admin)."""

    __tablename__ = "escalation_step"
    __table_args__ = (
        UniqueConstraint("province_code", "priority", "position",
                         name="uq_escalation_step_rung"),
        CheckConstraint("wait_seconds >= 15 AND wait_seconds <= 86400", name="wait_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    province_code: Mapped[str] = mapped_column(String(2))
    priority: Mapped[Priority] = mapped_column(str_enum(Priority, length=2))
    position: Mapped[int] = mapped_column()  # 0 = the first offer
    action: Mapped[EscalationAction] = mapped_column(str_enum(EscalationAction))
    # How long this rung waits for an acknowledgement before the next one is taken.
    wait_seconds: Mapped[int] = mapped_column()
    contact_name: Mapped[str] = mapped_column(String(120), default="")
    contact_phone: Mapped[str | None] = mapped_column(String(20))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
