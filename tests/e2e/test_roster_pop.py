"""Roster routing over Socket.IO (issue 14): the first pop reaches only the call-taker on duty
(their own pop room), the province's others only after the wait; other provinces never."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, update

from console.db import utcnow
from console.enums import Role
from console.extensions import socketio
from console.models import User
from console.service import create_user
from jobs.models import OutboundJob
from roster import service as roster
from roster.enums import DutyRole
from tests.jobs_helpers import run_jobs
from tests.telephony_fakes import Twilio


@pytest.fixture
def app(phone_app):
    return phone_app


def pops(sock) -> list[dict]:
    return [e["args"][0]["data"] for e in sock.get_received() if e["name"] == "call.ringing"]


@pytest.fixture
def sockets(app, session, login_as, demo_hash):
    for username, province in (("calltaker2", "65"), ("cm.calltaker", "50")):
        user = create_user(session=session, username=username, password="x",
                           display_name=username, role=Role.CALL_TAKER, province_code=province)
        user.password_hash = demo_hash
    session.commit()
    socks = {}
    for name in ("calltaker", "calltaker2", "cm.calltaker", "supervisor", "national"):
        sock = socketio.test_client(app, flask_test_client=login_as(name).http)
        assert sock.is_connected(), name
        sock.get_received()
        socks[name] = sock
    yield socks
    for sock in socks.values():
        sock.disconnect()


def test_on_duty_call_taker_first_then_the_province_after_the_wait(app, session, sockets):
    sup = session.scalar(select(User).where(User.username == "supervisor"))
    taker = session.scalar(select(User).where(User.username == "calltaker"))
    now = utcnow()
    day, minute = roster.local_day(now), roster.minute_of(now)
    start, end = (510, 990) if 510 <= minute < 990 else (990, 510)
    if minute < 510:
        day -= timedelta(days=1)
    roster.assign(session=session, actor=sup, province_code="65", day=day, start_minute=start,
                  end_minute=end, role=DutyRole.CALL_TAKER, user_id=taker.id)
    session.commit()
    tw = Twilio(app)
    tw.call("CAR1", "voice")
    tw.call("CAR1", "menu", Digits="1")
    got = {name: pops(sock) for name, sock in sockets.items()}
    [first] = got["calltaker"]
    assert first["roster"]["wave"] == "on_duty" and first["province_code"] == "65"
    assert got["calltaker2"] == [] and got["supervisor"] == [] and got["cm.calltaker"] == []
    assert len(got["national"]) == 1 and "roster" not in got["national"][0]
    session.execute(update(OutboundJob).where(OutboundJob.kind == "telephony.pop_fallback")
                    .values(run_at=utcnow() - timedelta(seconds=1)))
    session.commit()
    assert run_jobs(app) == 1
    got = {name: pops(sock) for name, sock in sockets.items()}
    [late] = got["calltaker2"]
    assert late["id"] == first["id"] and late["roster"]["wave"] == "others"
    assert len(got["supervisor"]) == 1 and len(got["calltaker"]) == 1  # everyone of the province
    assert got["cm.calltaker"] == [] and got["national"] == []
