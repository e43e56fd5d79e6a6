"""Roster alarms and teams on call (issue 14): a shift about to start below its staffing
minimum raises one alarm to the supervisor on duty, else the province's supervisors (through
the roster.short domain event, like case_overdue); teams on call become available when their
shift starts."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy import func, select

from console import domain_events
from console.models import RealtimeEvent, User
from dispatch.enums import AlarmKind, TeamStatus
from dispatch.models import Alarm, Team
from jobs.models import OutboundJob
from roster import flows
from roster import service as roster
from roster.enums import DutyRole

DAY = date(2026, 12, 3)
LEAD = timedelta(minutes=60)
BEFORE_NIGHT = datetime(2026, 12, 3, 16, 0, tzinfo=roster.BANGKOK)  # 30 min before 16.30 น.


def _user(session, username: str) -> User:
    return session.scalar(select(User).where(User.username == username))


def _alarms(session) -> list[Alarm]:
    return list(session.scalars(select(Alarm).where(Alarm.kind == AlarmKind.ROSTER_SHORT)))


def _check(session, now=BEFORE_NIGHT) -> list[int]:
    return flows.check_upcoming(session=session, now=now, lead=LEAD,
                                link_base="http://localhost")


def test_a_short_shift_alarms_the_supervisors_once_before_it_starts(app, session):
    assert domain_events.subscribers(domain_events.ROSTER_SHORT)
    sup = _user(session, "supervisor")
    roster.set_staffing(session=session, actor=sup, province_code="65",
                        minimums={DutyRole.CALL_TAKER: 1, DutyRole.DISPATCHER: 1})
    roster.assign(session=session, actor=sup, province_code="65", day=DAY, start_minute=990,
                  end_minute=510, role=DutyRole.DISPATCHER, user_id=_user(session, "dispatcher").id)
    # Two hours before: not yet (the lead is an hour).
    assert _check(session, BEFORE_NIGHT - timedelta(hours=2)) == []
    [shift_id] = _check(session)
    [alarm] = _alarms(session)
    assert alarm.province_code == "65" and alarm.handled_at is None
    # Its facts are kept, and read in the reader's language (Thai here, as the centre writes).
    assert alarm.facts["shift_id"] == shift_id and alarm.facts["short"] == {"call_taker": 1}
    with app.app_context():
        from dispatch.flows import alarm_note

        assert alarm_note(alarm, lang="th") == "เวร 3 ธ.ค. 2569 16.30–08.30 น. ขาดผู้รับแจ้ง 1 คน"
    sms = session.scalars(select(OutboundJob).where(OutboundJob.kind == "sms.alarm")).all()
    assert sms and all(j.payload["alarm_id"] == alarm.id for j in sms)
    session.commit()
    [event] = session.scalars(select(RealtimeEvent).where(RealtimeEvent.name == "alarm.changed")
                              .order_by(RealtimeEvent.seq.desc()).limit(1))
    assert "supervisors:65" in event.rooms or "province:65" in event.rooms
    # Exactly once: the next passes (and another process's) find the shift already alarmed.
    assert _check(session) == [] and _check(session, BEFORE_NIGHT + timedelta(minutes=20)) == []
    assert len(_alarms(session)) == 1


def test_a_fully_staffed_shift_or_a_province_without_minimums_raises_nothing(app, session):
    sup = _user(session, "supervisor")
    assert _check(session) == []  # no minimums anywhere: rosters are not in use
    roster.set_staffing(session=session, actor=sup, province_code="65",
                        minimums={DutyRole.CALL_TAKER: 1})
    roster.assign(session=session, actor=sup, province_code="65", day=DAY, start_minute=990,
                  end_minute=510, role=DutyRole.CALL_TAKER, user_id=_user(session, "calltaker").id)
    assert _check(session) == [] and _alarms(session) == []


def test_teams_on_call_become_available_when_their_shift_starts(app, session):
    sup = _user(session, "supervisor")
    team = session.scalar(select(Team).where(Team.code == "PSL-3"))
    assert team.status is TeamStatus.OFF_DUTY
    roster.assign(session=session, actor=sup, province_code="65", day=DAY, start_minute=990,
                  end_minute=510, role=DutyRole.TEAM, team_id=team.id)
    assert flows.start_shifts(session=session, now=BEFORE_NIGHT) == []  # not yet
    started = BEFORE_NIGHT + timedelta(minutes=31)
    assert len(flows.start_shifts(session=session, now=started)) == 1
    session.flush()
    session.refresh(team)
    assert team.status is TeamStatus.AVAILABLE
    assert flows.start_shifts(session=session, now=started + timedelta(minutes=5)) == []
    assert session.scalar(select(func.count()).select_from(Alarm)
                          .where(Alarm.kind == AlarmKind.ROSTER_SHORT)) == 0


def test_teams_on_call_are_reminded_once_before_their_shift_ends(app, session):
    from telephony.models import OutboundMessage
    from tests.jobs_helpers import run_jobs

    sup = _user(session, "supervisor")
    team = session.scalar(select(Team).where(Team.code == "PSL-1"))
    roster.assign(session=session, actor=sup, province_code="65", day=DAY, start_minute=510,
                  end_minute=990, role=DutyRole.TEAM, team_id=team.id)
    soon = BEFORE_NIGHT + timedelta(minutes=20)  # 16.20 น.: ten minutes before 16.30
    before = timedelta(minutes=15)
    assert flows.remind_ending(session=session, now=BEFORE_NIGHT, before=before,
                               link_base="http://localhost") == []
    assert len(flows.remind_ending(session=session, now=soon, before=before,
                                   link_base="http://localhost")) == 1
    assert flows.remind_ending(session=session, now=soon, before=before,
                               link_base="http://localhost") == []
    session.commit()
    assert run_jobs(app) >= 1
    session.expire_all()
    body = session.scalar(select(OutboundMessage.body).where(
        OutboundMessage.team_id == team.id).order_by(OutboundMessage.id.desc()).limit(1))
    assert body == ("1300: เวรของทีม ทีม พม. หนึ่งเดียว พิษณุโลก 1 จะสิ้นสุดเวลา 16.30 น. "
                    "กรุณาแจ้งสถานะทีมในระบบก่อนออกเวร")


def test_the_timer_loops_roster_pass_raises_the_alarm_in_its_own_transaction(app, session):
    """What the console's timer loop calls (console/__init__.py _timer_loop)."""
    sup = _user(session, "supervisor")
    roster.set_staffing(session=session, actor=sup, province_code="65",
                        minimums={DutyRole.SUPERVISOR: 1})
    session.commit()
    app.config["ROSTER_ALARM_LEAD_MINUTES"] = 24 * 60  # the next shift is always within a day
    flows._last_pass["at"] = 0.0
    with app.app_context():
        flows.timer_pass(app)
        flows.timer_pass(app)  # throttled: at most every CHECK_EVERY_SECONDS
    session.expire_all()
    assert len(_alarms(session)) == 2  # the two shifts of the coming day, once each
    flows._last_pass["at"] = 0.0
    with app.app_context():
        flows.timer_pass(app)
    session.expire_all()
    assert len(_alarms(session)) == 2
