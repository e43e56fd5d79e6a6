"""Cases handed over from incidents, and the agencies work is referred to."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Float, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from cases.enums import AgencyKind, CaseStatus
from console.db import Base, UTCDateTime, str_enum, utcnow


class Agency(Base):
    """An agency a caller or case is referred to (OSCC, police, ศูนย์ดำรงธรรม, a พม. department)."""

    __tablename__ = "agency"

    id: Mapped[int] = mapped_column(primary_key=True)
    name_th: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str] = mapped_column(String(200))
    kind: Mapped[AgencyKind] = mapped_column(str_enum(AgencyKind))
    phone: Mapped[str | None] = mapped_column(String(20))
    province_code: Mapped[str | None] = mapped_column(String(2))


class Case(Base):
    """A case in case management, opened from a resolved incident."""

    __tablename__ = "welfare_case"

    id: Mapped[int] = mapped_column(primary_key=True)
    ref: Mapped[str | None] = mapped_column(String(32), unique=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incident.id"), unique=True)
    status: Mapped[CaseStatus] = mapped_column(str_enum(CaseStatus), default=CaseStatus.INTAKE)
    category: Mapped[str] = mapped_column(String(24))
    priority: Mapped[str] = mapped_column(String(2))
    summary: Mapped[str] = mapped_column(Text)
    notes: Mapped[str] = mapped_column(Text, default="")
    province_code: Mapped[str] = mapped_column(String(2), index=True)
    district_code: Mapped[str | None] = mapped_column(String(4))
    subdistrict_code: Mapped[str | None] = mapped_column(String(6))
    address_text: Mapped[str] = mapped_column(Text, default="")
    lat: Mapped[float | None] = mapped_column(Float)
    lon: Mapped[float | None] = mapped_column(Float)
    precision: Mapped[str] = mapped_column(String(12))
    assigned_to_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    opened_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))

    people: Mapped[list[CasePerson]] = relationship(
        order_by="CasePerson.id", cascade="all, delete-orphan"
    )
    timeline: Mapped[list[CaseTimelineEntry]] = relationship(
        order_by="CaseTimelineEntry.id", cascade="all, delete-orphan"
    )


class CasePerson(Base):
    """A person carried over from the incident into the case."""

    __tablename__ = "case_person"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("welfare_case.id"), index=True)
    age_group: Mapped[str] = mapped_column(String(12))
    sex: Mapped[str] = mapped_column(String(12))
    vulnerable_group: Mapped[str] = mapped_column(String(24))


class CaseTimelineEntry(Base):
    """The case's history, starting with a copy of the incident's timeline."""

    __tablename__ = "case_timeline"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("welfare_case.id"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    source: Mapped[str] = mapped_column(String(12))  # 'incident' or 'case'
    kind: Mapped[str] = mapped_column(String(32))
    from_status: Mapped[str | None] = mapped_column(String(24))
    to_status: Mapped[str | None] = mapped_column(String(24))
    note: Mapped[str] = mapped_column(Text, default="")
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
