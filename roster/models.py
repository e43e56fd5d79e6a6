"""Duty rosters: shift patterns per province, the shifts themselves, who is on each role of a
shift (people, or teams on call), approved substitutes, attendance, and staffing minimums."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
    true,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from console.db import Base, UTCDateTime, str_enum, utcnow
from roster.enums import Attendance, DutyRole

# The shifts a province has until its supervisors set their own: (start, end) in minutes after
# midnight, Bangkok time; an end at or before the start is on the next day.
DEFAULT_PATTERNS: tuple[tuple[int, int], ...] = ((8 * 60 + 30, 16 * 60 + 30),
                                                 (16 * 60 + 30, 8 * 60 + 30))


class ShiftPattern(Base):
    """One shift of a province's day (08.30–16.30 น., 16.30–08.30 น. of the next day, ...)."""

    __tablename__ = "shift_pattern"
    __table_args__ = (UniqueConstraint("province_code", "start_minute",
                                       name="uq_shift_pattern_start"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    province_code: Mapped[str] = mapped_column(String(2), index=True)
    start_minute: Mapped[int] = mapped_column(Integer)
    end_minute: Mapped[int] = mapped_column(Integer)
    active: Mapped[bool] = mapped_column(default=True, server_default=true())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))


class DutyShift(Base):
    """One shift of one province on one day (created when someone is first put on it)."""

    __tablename__ = "duty_shift"
    __table_args__ = (
        UniqueConstraint("province_code", "starts_at", name="uq_duty_shift_start"),
        Index("ix_duty_shift_window", "province_code", "starts_at", "ends_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    province_code: Mapped[str] = mapped_column(String(2))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # Done once each: the short-staffing alarm, teams made available, teams reminded at the end.
    short_alarm_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    teams_started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    teams_reminded_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    assignments: Mapped[list[DutyAssignment]] = relationship(
        back_populates="shift", order_by="DutyAssignment.id")


class DutyAssignment(Base):
    """A person on a role of a shift, or a team on call for it. A substitute approved by a
    supervisor (a swap) is on duty instead of the person first put on it."""

    __tablename__ = "duty_assignment"
    __table_args__ = (
        UniqueConstraint("shift_id", "role", "user_id", name="uq_duty_assignment_user"),
        UniqueConstraint("shift_id", "team_id", name="uq_duty_assignment_team"),
        CheckConstraint("(user_id IS NULL) <> (team_id IS NULL)",
                        name="one_holder"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    shift_id: Mapped[int] = mapped_column(ForeignKey("duty_shift.id"), index=True)
    role: Mapped[DutyRole] = mapped_column(str_enum(DutyRole))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"), index=True)
    team_id: Mapped[int | None] = mapped_column(ForeignKey("team.id"))
    substitute_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"), index=True)
    swap_approved_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    swap_approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    attendance: Mapped[Attendance | None] = mapped_column(str_enum(Attendance))
    attendance_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    attendance_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))

    shift: Mapped[DutyShift] = relationship(back_populates="assignments")


class StaffingLevel(Base):
    """The fewest people a province wants on a role in every shift (0 or no row: none)."""

    __tablename__ = "staffing_level"

    province_code: Mapped[str] = mapped_column(String(2), primary_key=True)
    role: Mapped[DutyRole] = mapped_column(str_enum(DutyRole), primary_key=True)
    minimum: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
