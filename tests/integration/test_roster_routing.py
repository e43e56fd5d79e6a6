"""Roster routing of screen pops (issue 14): on-duty call-takers first, the province's others
only after the wait (a durable job), with a notice; no roster: everyone at once, as before."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, update

from console.db import utcnow
from console.models import RealtimeEvent, User
from jobs.models import OutboundJob
from roster import service as roster
from roster.enums import DutyRole
from telephony.models import Call
from tests.jobs_helpers import run_jobs


@pytest.fixture
def app(phone_app):
    return phone_app


def _pops(session) -> list[RealtimeEvent]:
    session.expire_all()
    return list(session.scalars(select(RealtimeEvent).where(RealtimeEvent.name == "call.ringing")
                                .order_by(RealtimeEvent.seq)))


def _ring(twilio, sid: str) -> None:
    twilio.call(sid, "voice", CallStatus="ringing")
    twilio.call(sid, "menu", Digits="1", CallStatus="in-progress")


def _roster_now(session, username: str, role=DutyRole.CALL_TAKER) -> User:
    """Put a user on duty in Phitsanulok in the shift holding now."""
    sup = session.scalar(select(User).where(User.username == "supervisor"))
    user = session.scalar(select(User).where(User.username == username))
    now = utcnow()
    day, minute = roster.local_day(now), roster.minute_of(now)
    start, end = (510, 990) if 510 <= minute < 990 else (990, 510)
    if minute < 510:
        day -= timedelta(days=1)  # after midnight: the night shift began yesterday
    roster.assign(session=session, actor=sup, province_code="65", day=day, start_minute=start,
                  end_minute=end, role=role, user_id=user.id)
    session.commit()
    return user


def test_without_a_roster_every_call_taker_gets_the_pop_at_once(twilio, session):
    _ring(twilio, "CA70")
    [pop] = _pops(session)
    assert pop.rooms == ["calltakers:65", "calltakers:national", "supervisors:65",
                         "supervisors:national"]
    assert "roster" not in pop.payload["data"]
    assert session.scalar(select(OutboundJob.id).where(
        OutboundJob.kind == "telephony.pop_fallback")) is None


def test_on_duty_first_then_the_others_after_the_wait(twilio, session, app):
    taker = _roster_now(session, "calltaker")
    _ring(twilio, "CA71")
    national, first = _pops(session)
    assert national.rooms == ["calltakers:national", "supervisors:national"]
    assert first.rooms == [f"pops:{taker.id}"]
    data = first.payload["data"]
    assert data["roster"]["wave"] == "on_duty" and data["number"] == "+66812345678"
    job = session.scalar(select(OutboundJob).where(OutboundJob.kind == "telephony.pop_fallback"))
    wait = (job.run_at - utcnow()).total_seconds()
    assert 20 < wait <= 30  # ROSTER_POP_FALLBACK_SECONDS, 30 by default
    assert run_jobs(app) == 0 and len(_pops(session)) == 2  # nothing before the wait is over
    session.execute(update(OutboundJob).where(OutboundJob.id == job.id)
                    .values(run_at=utcnow() - timedelta(seconds=1)))
    session.commit()
    assert run_jobs(app) == 1
    *_, others = _pops(session)
    assert others.rooms == ["calltakers:65", "supervisors:65"]
    assert others.payload["data"]["roster"]["wave"] == "others"
    assert others.payload["data"]["roster"]["waited_seconds"] >= 0
    assert others.payload["data"]["id"] == first.payload["data"]["id"]


def test_a_call_taken_on_duty_never_reaches_the_others(twilio, session, app, login_as):
    _roster_now(session, "calltaker")
    _ring(twilio, "CA72")
    call = session.scalar(select(Call).where(Call.call_sid == "CA72"))
    assert login_as("calltaker").post(f"/api/calls/{call.id}/accept", json={}).status_code == 200
    session.execute(update(OutboundJob).where(OutboundJob.kind == "telephony.pop_fallback")
                    .values(run_at=utcnow() - timedelta(seconds=1)))
    session.commit()
    before = len(_pops(session))
    run_jobs(app)
    assert len(_pops(session)) == before  # the job found the call taken and did nothing


def test_the_pop_room_is_joined_by_the_call_taker_and_replayed():
    from console.enums import Role
    from console.rooms import rooms_for_user

    taker = User(id=7, username="x", display_name="x", role=Role.CALL_TAKER,
                 province_code="65", password_hash="x")
    dispatcher = User(id=8, username="y", display_name="y", role=Role.DISPATCHER,
                      province_code="65", password_hash="x")
    assert "pops:7" in rooms_for_user(taker)
    assert not any(r.startswith("pops:") for r in rooms_for_user(dispatcher))


def test_the_waiting_list_follows_the_roster_too(twilio, session, app, login_as):
    """A desk that opens (or reloads) during the wait lists the call only for those on duty."""
    from console.enums import Role
    from console.service import create_user

    _roster_now(session, "calltaker")
    other = create_user(session=session, username="calltaker2", password="x",
                        display_name="สมใจ รับสาย", role=Role.CALL_TAKER,
                        province_code="65")
    other.password_hash = session.scalar(select(User.password_hash)
                                         .where(User.username == "calltaker"))
    session.commit()
    _ring(twilio, "CA73")
    call_id = session.scalar(select(Call.id).where(Call.call_sid == "CA73"))
    waiting = {name: [p["id"] for p in login_as(name).get("/api/calls/waiting").get_json()]
               for name in ("calltaker", "calltaker2", "national")}
    assert waiting == {"calltaker": [call_id], "calltaker2": [], "national": [call_id]}
    app.config["ROSTER_POP_FALLBACK_SECONDS"] = 0  # the wait is over
    assert [p["id"] for p in login_as("calltaker2").get("/api/calls/waiting").get_json()] == [
        call_id]
