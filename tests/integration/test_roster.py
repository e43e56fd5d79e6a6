"""Duty rosters (issue 14): the one "who is on duty now" resolver, in Bangkok time, across
midnight, with swaps, absences and nobody rostered."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select

from console.models import AuditLog, User
from roster import service
from roster.enums import Attendance, DutyRole

DAY = date(2026, 12, 3)


def _user(session, username: str) -> User:
    return session.scalar(select(User).where(User.username == username))


def _bkk(day: int, hour: int, minute: int = 0) -> datetime:
    """An instant given in Bangkok time (UTC+7)."""
    return datetime(2026, 12, day, hour, minute, tzinfo=service.BANGKOK)


def test_shift_windows_are_bangkok_time_and_the_night_shift_ends_next_day():
    starts, ends = service.shift_window(DAY, 510, 990)
    assert (starts, ends) == (datetime(2026, 12, 3, 1, 30, tzinfo=UTC),
                              datetime(2026, 12, 3, 9, 30, tzinfo=UTC))
    starts, ends = service.shift_window(DAY, 990, 510)
    assert starts == datetime(2026, 12, 3, 9, 30, tzinfo=UTC)
    assert ends == datetime(2026, 12, 4, 1, 30, tzinfo=UTC)  # 08.30 น. of the next day
    assert service.clock(990) == "16.30" and service.parse_clock("08:30") == 510
    assert service.parse_clock("8.30 น.") == 510 and service.parse_clock("25.00") is None


def test_on_duty_day_and_overnight_shifts(session):
    sup = _user(session, "supervisor")
    taker = _user(session, "calltaker")
    disp = _user(session, "dispatcher")
    service.assign(session=session, actor=sup, province_code="65", day=DAY, start_minute=510,
                   end_minute=990, role=DutyRole.CALL_TAKER, user_id=taker.id)
    service.assign(session=session, actor=sup, province_code="65", day=DAY, start_minute=990,
                   end_minute=510, role=DutyRole.DISPATCHER, user_id=disp.id)
    service.assign(session=session, actor=sup, province_code="65", day=DAY, start_minute=990,
                   end_minute=510, role=DutyRole.CALL_TAKER, user_id=sup.id)
    session.flush()

    at_noon = service.on_duty(session, "65", _bkk(3, 12))
    assert [(d.role, d.user_id) for d in at_noon] == [(DutyRole.CALL_TAKER, taker.id)]
    assert service.on_duty(session, "65", _bkk(3, 8, 29)) == []  # before the day shift
    assert [d.user_id for d in service.on_duty(session, "65", _bkk(3, 16, 29))] == [taker.id]
    # 16.30 sharp: the night shift has begun, the day shift has ended.
    night = service.on_duty(session, "65", _bkk(3, 16, 30), role=DutyRole.CALL_TAKER)
    assert [d.user_id for d in night] == [sup.id]
    # After midnight (the next Bangkok day) the night shift still holds, until 08.30 น.
    after_midnight = service.on_duty(session, "65", _bkk(4, 2))
    assert {(d.role, d.user_id) for d in after_midnight} == {
        (DutyRole.DISPATCHER, disp.id), (DutyRole.CALL_TAKER, sup.id)}
    assert service.on_duty(session, "65", _bkk(4, 8, 30)) == []
    assert service.on_duty(session, "50", _bkk(3, 12)) == []  # another province: nobody
    assert service.has_roster(session, "65", _bkk(3, 12))
    assert not service.has_roster(session, "50", _bkk(3, 12))


def test_an_approved_swap_replaces_the_person_and_an_absence_removes_them(session):
    sup = _user(session, "supervisor")
    taker = _user(session, "calltaker")
    other = User(username="calltaker2", display_name="สมใจ รับสาย", role=taker.role,
                 province_code="65", password_hash="x")
    session.add(other)
    session.flush()
    row = service.assign(session=session, actor=sup, province_code="65", day=DAY,
                         start_minute=510, end_minute=990, role=DutyRole.CALL_TAKER,
                         user_id=taker.id)
    service.approve_swap(session=session, actor=sup, assignment_id=row.id,
                         substitute_id=other.id)
    duty = service.on_duty(session, "65", _bkk(3, 10), role="call_taker")
    assert [(d.user_id, d.replaces_id) for d in duty] == [(other.id, taker.id)]
    service.approve_swap(session=session, actor=sup, assignment_id=row.id, substitute_id=None)
    assert [d.user_id for d in service.on_duty(session, "65", _bkk(3, 10))] == [taker.id]
    service.record_attendance(session=session, actor=sup, assignment_id=row.id,
                              attendance=Attendance.ABSENT)
    assert service.on_duty(session, "65", _bkk(3, 10)) == []
    actions = session.scalars(select(AuditLog.action).where(AuditLog.entity == "roster")
                              .order_by(AuditLog.id)).all()
    assert actions == ["roster.assigned", "roster.swap_approved", "roster.swap_undone",
                       "roster.attendance"]


def test_teams_on_call_and_province_scope(session):
    from console.errors import Forbidden, ValidationFailed
    from dispatch.models import Team

    sup = _user(session, "supervisor")
    team = session.scalar(select(Team).where(Team.code == "PSL-1"))
    cm_team = session.scalar(select(Team).where(Team.code == "CMI-1"))
    service.assign(session=session, actor=sup, province_code="65", day=DAY, start_minute=510,
                   end_minute=990, role=DutyRole.TEAM, team_id=team.id)
    teams = service.on_duty(session, "65", _bkk(3, 9), role=DutyRole.TEAM)
    assert [d.team_id for d in teams] == [team.id]
    with pytest.raises(Forbidden):  # a provincial supervisor edits only their province
        service.assign(session=session, actor=sup, province_code="50", day=DAY,
                       start_minute=510, end_minute=990, role=DutyRole.TEAM,
                       team_id=cm_team.id)
    with pytest.raises(ValidationFailed):  # a dispatcher cannot be the shift's call-taker
        service.assign(session=session, actor=sup, province_code="65", day=DAY,
                       start_minute=510, end_minute=990, role=DutyRole.SUPERVISOR,
                       user_id=_user(session, "dispatcher").id)
    with pytest.raises(ValidationFailed):  # overlapping a shift of the day
        service.assign(session=session, actor=sup, province_code="65", day=DAY,
                       start_minute=600, end_minute=700, role=DutyRole.TEAM, team_id=team.id)
