"""The screen pop over Socket.IO: it reaches only the call-takers of the call's province."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from console.enums import Role
from console.extensions import socketio
from console.service import create_user
from telephony.models import Call
from tests.telephony_fakes import Twilio

POP_KEYS = {
    "id", "number", "number_display", "province_code", "queue", "reason", "ring_at",
    "times_called_before", "last_contacts", "open_incidents", "open_cases", "flags",
    "protected_because", "nuisance_level", "applied_level", "linked_refs",
}
STATE_KEYS = {"id", "province_code", "queue", "status", "taken_by_id", "answered_at",
              "ended_at", "needs_callback", "has_recording"}


@pytest.fixture
def app(phone_app):
    """Every test here runs on the app with the phone line configured."""
    return phone_app


def received(sock) -> list[dict]:
    return [{"name": e["name"], **e["args"][0]} for e in sock.get_received()
            if e["name"] != "hello"]


@pytest.fixture
def sockets(app, session, login_as, demo_hash):
    cm = create_user(session=session, username="cm.calltaker", password="x",
                     display_name="รับสายเชียงใหม่", role=Role.CALL_TAKER, province_code="50")
    cm.password_hash = demo_hash
    session.commit()
    socks = {}
    for name in ("calltaker", "cm.calltaker", "dispatcher", "supervisor", "national"):
        client = login_as(name)
        sock = socketio.test_client(app, flask_test_client=client.http)
        assert sock.is_connected(), name
        sock.get_received()
        socks[name] = (client, sock)
    yield socks
    for _, sock in socks.values():
        sock.disconnect()


def test_pop_reaches_only_the_provinces_call_takers_and_supervisors(app, sockets):
    tw = Twilio(app)
    tw.call("CAP1", "voice")
    tw.call("CAP1", "menu", Digits="2")
    got = {name: received(sock) for name, (_, sock) in sockets.items()}
    [pop] = got["calltaker"]
    assert pop["name"] == "call.ringing" and set(pop["data"]) == POP_KEYS
    assert pop["data"]["number_display"] == "081-234-5678" and pop["data"]["reason"] == "advice"
    assert pop["data"]["province_code"] == "65" and pop["data"]["queue"] == "65"
    # A supervisor on the calls desk takes calls too: the pop reaches them live (issue 14).
    for name in ("supervisor", "national"):
        assert [e["name"] for e in got[name]] == ["call.ringing"], name
    for name in ("cm.calltaker", "dispatcher"):
        assert got[name] == [], name

    tw.call("CAP2", "voice", to="+6653123456")
    tw.call("CAP2", "menu", to="+6653123456", Digits="1")
    got = {name: received(sock) for name, (_, sock) in sockets.items()}
    assert [e["name"] for e in got["cm.calltaker"]] == ["call.ringing"]
    assert [e["name"] for e in got["national"]] == ["call.ringing"]
    assert all(got[n] == [] for n in ("calltaker", "dispatcher", "supervisor"))

    calltaker = sockets["calltaker"][0]
    assert calltaker.post(f"/api/calls/{pop['data']['id']}/accept", json={}).status_code == 200
    got = {name: received(sock) for name, (_, sock) in sockets.items()}
    [update] = got["calltaker"]
    assert update["name"] == "call.updated" and set(update["data"]) == STATE_KEYS
    assert update["data"]["status"] == "in_progress" and update["data"]["taken_by_id"]
    assert [e["name"] for e in got["supervisor"]] == ["call.updated"]
    assert all(got[n] == [] for n in ("cm.calltaker", "dispatcher"))


def test_supervisor_level_pops_for_supervisors_only(app, sockets):
    calltaker = sockets["calltaker"][0]
    assert calltaker.post("/api/flags", json={"number": "0899999999", "level": "supervisor",
                                              "reason": "ก่อกวน"}).status_code == 201
    tw = Twilio(app)
    tw.call("CAP3", "voice", frm="+66899999999")
    tw.call("CAP3", "menu", frm="+66899999999", Digits="1")
    got = {name: received(sock) for name, (_, sock) in sockets.items()}
    assert [e["name"] for e in got["supervisor"]] == ["call.ringing"]
    assert [e["name"] for e in got["national"]] == ["call.ringing"]
    assert got["supervisor"][0]["data"]["flags"][0]["reason"] == "ก่อกวน"
    assert all(got[n] == [] for n in ("calltaker", "cm.calltaker", "dispatcher"))


def test_simulated_call_plays_the_webhooks(app, sockets, session):
    supervisor, calltaker = sockets["supervisor"][0], sockets["calltaker"][0]
    resp = supervisor.post("/api/simulator/incoming-call",
                           json={"number": "082-222-3333", "called": "055-123-456",
                                 "digit": "2"})
    assert resp.status_code == 201, resp.json
    assert resp.json["status"] == "queued" and resp.json["reason"] == "advice"
    got = {name: received(sock) for name, (_, sock) in sockets.items()}
    [pop] = got["calltaker"]
    assert pop["data"]["number"] == "+66822223333" and pop["data"]["id"] == resp.json["id"]
    assert got["cm.calltaker"] == []
    # Without a line, the simulated line of the supervisor's own province is called.
    resp = supervisor.post("/api/simulator/incoming-call", json={"digit": "1"})
    assert resp.status_code == 201 and resp.json["province_code"] == "65"
    assert [e["name"] for e in received(sockets["calltaker"][1])] == ["call.ringing"]
    before = session.scalar(select(func.count()).select_from(Call))
    for bad in ({"number": "12"}, {"digit": "9"}, {"case_ref": "<x>"}, {"other": 1},
                {"province_code": "6"}):
        assert supervisor.post("/api/simulator/incoming-call", json=bad).status_code == 422
    assert calltaker.post("/api/simulator/incoming-call", json={}).status_code == 403
    assert session.scalar(select(func.count()).select_from(Call)) == before
