"""The outbound job table: the queue itself, written in the transaction of the change."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from console.db import Base, UTCDateTime, str_enum, utcnow
from jobs.enums import JobState


class OutboundJob(Base):
    """One piece of outbound work (an SMS, a LINE push, a photo download, a call update)."""

    __tablename__ = "outbound_job"
    __table_args__ = (Index("ix_outbound_job_due", "state", "run_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(40))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    state: Mapped[JobState] = mapped_column(str_enum(JobState, length=12),
                                            default=JobState.PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # 0: the configured JOBS_MAX_ATTEMPTS.
    max_attempts: Mapped[int] = mapped_column(Integer, default=0)
    run_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # Claimed by which worker, until when: past it, the worker is taken as dead (re-claimed).
    locked_by: Mapped[str | None] = mapped_column(String(80))
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # The last failure: a reason code the desks label, and the provider's own words (logs only).
    reason: Mapped[str] = mapped_column(String(24), default="")
    error: Mapped[str] = mapped_column(Text, default="")
    # Who may see it on the desks, and for whom it was (a name, never the provider's answer).
    province_code: Mapped[str | None] = mapped_column(String(2), index=True)
    incident_id: Mapped[int | None] = mapped_column(Integer, index=True)
    recipient: Mapped[str] = mapped_column(String(160), default="")
