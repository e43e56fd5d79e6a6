"""The call log: every contact with the hotline, whether or not it became an incident."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from console.db import Base, UTCDateTime, str_enum, utcnow
from telephony.enums import CallOutcome, Channel


class Call(Base):
    """One hotline contact taken by a call-taker."""

    __tablename__ = "call"

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[Channel] = mapped_column(str_enum(Channel, length=12), default=Channel.VOICE)
    number: Mapped[str | None] = mapped_column(String(20), index=True)  # E.164, None = withheld
    caller_name: Mapped[str] = mapped_column(String(120), default="")
    summary: Mapped[str] = mapped_column(Text)
    advice: Mapped[str] = mapped_column(Text, default="")
    outcome: Mapped[CallOutcome | None] = mapped_column(str_enum(CallOutcome))
    agency_id: Mapped[int | None] = mapped_column(ForeignKey("agency.id"))
    province_code: Mapped[str | None] = mapped_column(String(2), index=True)
    taken_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    ring_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
