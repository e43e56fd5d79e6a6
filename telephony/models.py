"""The call log, the carrier's call events, caller flags and outbound messages."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, String, Text, UniqueConstraint, false, true
from sqlalchemy.orm import Mapped, mapped_column, relationship

from console.db import Base, UTCDateTime, str_enum, utcnow
from dispatch.enums import Source
from telephony.enums import (
    CallOutcome,
    CallReason,
    CallStatus,
    Channel,
    FlagLevel,
    MessageKind,
)


class Call(Base):
    """One hotline contact: typed by a call-taker, or arrived by voice (then also answered)."""

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
    # Who answered it on the console (voice calls: set when accepted from the screen pop).
    taken_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    ring_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Voice calls through the carrier (NULL for calls typed in without one).
    call_sid: Mapped[str | None] = mapped_column(String(64), unique=True, index=True)
    called_number: Mapped[str | None] = mapped_column(String(20))
    status: Mapped[CallStatus | None] = mapped_column(str_enum(CallStatus, length=12))
    reason: Mapped[CallReason | None] = mapped_column(str_enum(CallReason, length=12))
    queue: Mapped[str | None] = mapped_column(String(40))
    # When the carrier connected the line to the voice menu (Twilio "in-progress").
    connected_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    talk_seconds: Mapped[int | None] = mapped_column(Integer)
    recording_url: Mapped[str | None] = mapped_column(String(500))
    recording_seconds: Mapped[int | None] = mapped_column(Integer)
    needs_callback: Mapped[bool] = mapped_column(default=False, server_default=false())
    # Where the matter came from (issue 14): the phone unless the officer recorded a walk-in, a
    # letter, a referral, a news item (its link) or an อพม. volunteer on the desk's form.
    source: Mapped[Source] = mapped_column(str_enum(Source), default=Source.HOTLINE,
                                           server_default=Source.HOTLINE.value)
    source_link: Mapped[str | None] = mapped_column(String(500))
    source_org: Mapped[str | None] = mapped_column(String(200))
    # The guided-intake script version the call-taker had on screen (admin.models.IntakeScript).
    script_version_id: Mapped[int | None] = mapped_column(ForeignKey("intake_script.id"))

    # The script's questions the call-taker asked (ticked) or answered on this call.
    script_answers: Mapped[list[CallScriptAnswer]] = relationship(
        order_by="CallScriptAnswer.question_index", cascade="all, delete-orphan")


class CallScriptAnswer(Base):
    """One question of the guided-intake script version a call was taken with, asked by the
    call-taker (ticked), with the caller's short answer when one was typed (issue 14). The
    question's text is the version's (versions never change): `question_index` counts from 0
    in its list of questions."""

    __tablename__ = "call_script_answer"
    __table_args__ = (UniqueConstraint("call_id", "question_index",
                                       name="uq_call_script_answer_question"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("call.id"), index=True)
    script_version_id: Mapped[int] = mapped_column(ForeignKey("intake_script.id"))
    question_index: Mapped[int] = mapped_column(Integer)
    answer: Mapped[str] = mapped_column(String(300), default="", server_default="")

    # The script version (admin.models.IntakeScript), for its question's text.
    script = relationship("IntakeScript", viewonly=True)

    def question(self, *, thai: bool = True) -> str:
        """The question's text in the version it was asked from (Thai unless asked otherwise;
        the other language when one is missing)."""
        first, second = ((self.script.questions_th, self.script.questions_en) if thai
                         else (self.script.questions_en, self.script.questions_th))
        i = self.question_index
        return first[i] if i < len(first) else second[i] if i < len(second) else ""


class CallEvent(Base):
    """One carrier callback, kept once per call and kind: repeated deliveries change nothing."""

    __tablename__ = "call_event"
    __table_args__ = (UniqueConstraint("call_sid", "kind", name="uq_call_event_sid_kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    call_sid: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(32))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class CallLink(Base):
    """A voice call linked to the incident or case whose number the caller keyed in."""

    __tablename__ = "call_link"

    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("call.id"), index=True)
    incident_id: Mapped[int | None] = mapped_column(ForeignKey("incident.id"))
    case_id: Mapped[int | None] = mapped_column(ForeignKey("welfare_case.id"))
    ref: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class CallerFlag(Base):
    """A flag on a number (nuisance levels or at-risk); stops acting by itself when expired."""

    __tablename__ = "caller_flag"

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(20), index=True)  # E.164
    level: Mapped[FlagLevel] = mapped_column(str_enum(FlagLevel, length=16))
    reason: Mapped[str] = mapped_column(Text)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    active: Mapped[bool] = mapped_column(default=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    # The province of the user who set it: listed and lifted there, and it routes only that
    # province's calls. NULL (a national user, or an old flag whose setter had none): national.
    province_code: Mapped[str | None] = mapped_column(String(2), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    lifted_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    lifted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    lift_reason: Mapped[str] = mapped_column(Text, default="")


class OutboundMessage(Base):
    """An SMS or call-back sent through the provider, with its result (failures stay visible)."""

    __tablename__ = "outbound_message"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[MessageKind] = mapped_column(str_enum(MessageKind, length=12))
    provider: Mapped[str] = mapped_column(String(16))
    to_number: Mapped[str] = mapped_column(String(20))
    body: Mapped[str] = mapped_column(Text, default="")
    call_id: Mapped[int | None] = mapped_column(ForeignKey("call.id"), index=True)
    incident_id: Mapped[int | None] = mapped_column(ForeignKey("incident.id"), index=True)
    team_id: Mapped[int | None] = mapped_column(ForeignKey("team.id"))
    recipient_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    sent_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    provider_sid: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(24))
    error: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)


class HotlineLine(Base):
    """A hotline number the carrier delivers calls to, and the province whose queue its calls
    join (None: the national queue). Set on the admin pages; TWILIO_NUMBERS only seeds it once."""

    __tablename__ = "hotline_line"

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(20), unique=True)  # E.164
    province_code: Mapped[str | None] = mapped_column(String(2))
    label: Mapped[str] = mapped_column(String(120), default="", server_default="")
    active: Mapped[bool] = mapped_column(default=True, server_default=true())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
