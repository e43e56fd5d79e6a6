"""ESS Help Me reports from the LINE Official Account and the mobile app, with their photos."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from console.db import Base, UTCDateTime, str_enum, utcnow
from dispatch.enums import Category
from ess.enums import ReportSource, ReportStatus


class ApiClient(Base):
    """A mobile app (or partner) allowed to post reports; only the key's sha256 is kept."""

    __tablename__ = "ess_api_client"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Report(Base):
    """One citizen report; it becomes an incident or is attached to an open one."""

    __tablename__ = "ess_report"
    __table_args__ = (
        CheckConstraint("lat IS NULL OR (lat >= -90 AND lat <= 90)", name="lat_range"),
        CheckConstraint("lon IS NULL OR (lon >= -180 AND lon <= 180)", name="lon_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[ReportSource] = mapped_column(str_enum(ReportSource, length=8))
    api_client_id: Mapped[int | None] = mapped_column(ForeignKey("ess_api_client.id"))
    contact: Mapped[str | None] = mapped_column(String(120), index=True)
    line_user_id: Mapped[str | None] = mapped_column(String(64), index=True)
    lat: Mapped[float | None] = mapped_column(Float)
    lon: Mapped[float | None] = mapped_column(Float)
    accuracy_m: Mapped[float | None] = mapped_column(Float)
    category: Mapped[Category] = mapped_column(str_enum(Category))
    description: Mapped[str] = mapped_column(Text, default="")
    client_time: Mapped[datetime | None] = mapped_column(UTCDateTime())
    status: Mapped[ReportStatus] = mapped_column(
        str_enum(ReportStatus, length=12), default=ReportStatus.RECEIVED
    )
    incident_id: Mapped[int | None] = mapped_column(ForeignKey("incident.id"), index=True)
    token_hash: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    # LINE: messages until this moment plus the window still build this report.
    last_message_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    attachments: Mapped[list[Attachment]] = relationship(
        back_populates="report", order_by="Attachment.id", cascade="all, delete-orphan"
    )


class Attachment(Base):
    """A photo kept under instance/attachments/ with a random name; never served publicly."""

    __tablename__ = "ess_attachment"

    id: Mapped[int] = mapped_column(primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("ess_report.id"), index=True)
    stored_name: Mapped[str] = mapped_column(String(64), unique=True)
    content_type: Mapped[str] = mapped_column(String(32))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    report: Mapped[Report] = relationship(back_populates="attachments")


class IdempotencyRecord(Base):
    """The answer given to one Idempotency-Key of one client, replayed on a retry; pruned after
    ESS_IDEMPOTENCY_HOURS. The reporter's token is never kept in plain text: the body is stored
    without it and the token sealed (AES-GCM, key from SECRET_KEY) for the replay only."""

    __tablename__ = "ess_idempotency"
    __table_args__ = (UniqueConstraint("client_id", "key", name="uq_ess_idempotency_client_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("ess_api_client.id"))
    key: Mapped[str] = mapped_column(String(255))
    body_hash: Mapped[str] = mapped_column(String(64))
    response_status: Mapped[int | None] = mapped_column(Integer)
    response_body: Mapped[dict | None] = mapped_column(JSON)
    token_sealed: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)


class LineEvent(Base):
    """A LINE webhook event already handled (a redelivery with the same id is ignored)."""

    __tablename__ = "ess_line_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    webhook_event_id: Mapped[str] = mapped_column(String(64), unique=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class LineFollower(Base):
    """A LINE user who follows (or unfollowed) the Official Account; pushes only to followers."""

    __tablename__ = "ess_line_follower"

    id: Mapped[int] = mapped_column(primary_key=True)
    line_user_id: Mapped[str] = mapped_column(String(64), unique=True)
    following: Mapped[bool] = mapped_column(Boolean, default=True)
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


# NOTE: the index of the dedupe query (ess.service.find_open_incident: the open incidents of a
# province inside a box around a report, opened in the last minutes), declared here with the
# query that needs it. Partial on the open statuses, so closed incidents never make it grow;
# on PostgreSQL it carries the other columns the query reads (an index-only scan).
def _open_place_index() -> Index:
    from dispatch.enums import OPEN_STATUSES
    from dispatch.models import Incident

    open_values = ", ".join(f"'{s.value}'" for s in sorted(OPEN_STATUSES, key=lambda s: s.value))
    where = text(f"status IN ({open_values})")
    return Index("ix_incident_open_place", Incident.province_code, Incident.lat, Incident.lon,
                 postgresql_where=where, sqlite_where=where,
                 postgresql_include=["created_at", "category"])


OPEN_PLACE_INDEX = _open_place_index()
