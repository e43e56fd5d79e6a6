"""Hoax/nuisance flags: graded routing, expiry, audit, and the never-silently-block rule."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from console.db import utcnow
from console.models import AuditLog, RealtimeEvent
from telephony.models import Call, CallerFlag
from tests.conftest import incident_body
from tests.telephony_fakes import twiml

NUMBER = "+66812345678"


@pytest.fixture
def app(phone_app):
    """Every test here runs on the app with the phone line configured."""
    return phone_app


def counts(session) -> dict[str, int]:
    session.expire_all()
    return {m.__tablename__: session.scalar(select(func.count()).select_from(m))
            for m in (CallerFlag, AuditLog, Call, RealtimeEvent)}


def flag(client, level: str, number: str = "081-234-5678", **over):
    resp = client.post("/api/flags", json={"number": number, "level": level,
                                           "reason": "โทรก่อกวนซ้ำ", **over})
    assert resp.status_code == 201, resp.json
    return resp.json


def ring(twilio, sid: str, frm: str = NUMBER):
    """A call that reaches the queue; returns (voice TwiML, menu TwiML)."""
    voice = twiml(twilio.call(sid, "voice", frm=frm))
    menu = twiml(twilio.call(sid, "menu", frm=frm, Digits="1"))
    return voice, menu


def last_pop(session) -> dict:
    session.expire_all()
    event = session.scalars(select(RealtimeEvent).where(RealtimeEvent.name == "call.ringing")
                            .order_by(RealtimeEvent.seq.desc())).first()
    return {"rooms": event.rooms, **event.payload["data"]}


def test_each_level_changes_the_route_and_shows_on_the_pop(twilio, session, login_as):
    calltaker = login_as("calltaker")
    voice, menu = ring(twilio, "CF00")
    assert len(voice.findall("Say")) == 0 and menu.find("Enqueue").text == "65"

    warn = flag(calltaker, "warn")
    assert warn["number"] == NUMBER and warn["expires_at"] is None
    voice, menu = ring(twilio, "CF01")
    assert voice[0].tag == "Say" and voice[0].get("language") == "th-TH"
    assert menu.find("Enqueue").text == "65"
    pop = last_pop(session)
    assert pop["applied_level"] == "warn" and pop["times_called_before"] == 1
    assert [f["level"] for f in pop["flags"]] == ["warn"] and pop["protected_because"] == []

    flag(calltaker, "low_priority", hours=2)
    _, menu = ring(twilio, "CF02")
    assert menu.find("Enqueue").text == "65-low"
    assert last_pop(session)["rooms"] == ["calltakers:65", "calltakers:national",
                                          "supervisors:65", "supervisors:national"]

    flag(login_as("supervisor"), "supervisor")
    _, menu = ring(twilio, "CF03")
    assert menu.find("Enqueue").text == "65-supervisors"
    pop = last_pop(session)
    assert pop["rooms"] == ["supervisors:65", "supervisors:national"]
    assert pop["applied_level"] == "supervisor" and len(pop["flags"]) == 3
    # Only a supervisor answers the supervisors' queue.
    call_id = pop["id"]
    assert calltaker.post(f"/api/calls/{call_id}/accept", json={}).status_code == 403
    assert login_as("supervisor").post(f"/api/calls/{call_id}/accept",
                                       json={}).status_code == 200

    session.expire_all()
    audited = session.scalars(select(AuditLog).where(AuditLog.action == "flag.created")).all()
    assert len(audited) == 3 and all(a.actor_id for a in audited)
    assert audited[0].detail["level"] == "warn" and audited[0].detail["reason"] == "โทรก่อกวนซ้ำ"


def test_open_incident_or_at_risk_is_never_deprioritised(twilio, session, login_as):
    calltaker = login_as("calltaker")
    assert calltaker.post("/api/calls", json=incident_body()).status_code == 201
    flag(calltaker, "supervisor")
    flag(calltaker, "low_priority")
    voice, menu = ring(twilio, "CF10")
    assert voice.find("Say") is None  # no warning either
    assert menu.find("Enqueue").text == "65"
    pop = last_pop(session)
    assert pop["rooms"] == ["calltakers:65", "calltakers:national", "supervisors:65",
                            "supervisors:national"]
    assert pop["nuisance_level"] == "supervisor" and pop["applied_level"] is None
    assert pop["protected_because"] == ["open_incident"]
    assert len(pop["open_incidents"]) == 1 and len(pop["flags"]) == 2

    other = "+66898765432"
    flag(calltaker, "low_priority", number=other)
    flag(calltaker, "at_risk", number=other)
    _, menu = ring(twilio, "CF11", frm=other)
    assert menu.find("Enqueue").text == "65"
    pop = last_pop(session)
    assert pop["protected_because"] == ["at_risk"] and pop["nuisance_level"] == "low_priority"


def test_expired_and_lifted_flags_stop_acting(twilio, session, login_as):
    calltaker = login_as("calltaker")
    made = flag(calltaker, "low_priority", hours=1)
    row = session.get(CallerFlag, made["id"])
    row.expires_at = utcnow() - timedelta(minutes=1)
    session.commit()
    _, menu = ring(twilio, "CF20")
    assert menu.find("Enqueue").text == "65"
    assert calltaker.get("/api/flags").json == []
    assert calltaker.post(f"/api/flags/{made['id']}/lift", json={}).status_code == 409

    made = flag(calltaker, "low_priority")
    assert [f["id"] for f in calltaker.get("/api/flags").json] == [made["id"]]
    resp = login_as("supervisor").post(f"/api/flags/{made['id']}/lift",
                                       json={"reason": "ผู้โทรเป็นผู้เสียหายจริง"})
    assert resp.status_code == 200 and resp.json["active"] is False
    _, menu = ring(twilio, "CF21")
    assert menu.find("Enqueue").text == "65"
    assert calltaker.post(f"/api/flags/{made['id']}/lift", json={}).status_code == 409
    session.expire_all()
    lifted = session.scalars(select(AuditLog).where(AuditLog.action == "flag.lifted")).all()
    assert [(a.entity_id, a.detail["reason"]) for a in lifted] == [
        (made["id"], "ผู้โทรเป็นผู้เสียหายจริง")]


@pytest.mark.parametrize("body,field", [
    ({"number": "12", "level": "warn", "reason": "x"}, "number"),
    ({"number": "0812345678", "level": "block", "reason": "x"}, "level"),
    ({"number": "0812345678", "level": "warn", "reason": ""}, "reason"),
    ({"number": "0812345678", "level": "warn", "reason": "x", "hours": 0}, "hours"),
    ({"number": "0812345678", "level": "warn", "reason": "x", "hours": "soon"}, "hours"),
    ({"number": "0812345678", "level": "warn", "reason": "x", "active": False}, "active"),
    ({"level": "warn", "reason": "x"}, "number"),
])
def test_bad_flags_are_refused_and_write_nothing(login_as, session, body, field):
    calltaker = login_as("calltaker")
    before = counts(session)
    resp = calltaker.post("/api/flags", json=body)
    assert resp.status_code == 422 and field in resp.json["fields"], resp.json
    assert counts(session) == before


def test_flag_endpoints_refuse_other_roles_and_unknowns(login_as, session):
    dispatcher, member, calltaker = login_as("dispatcher"), login_as("team1"), login_as(
        "calltaker")
    before = counts(session)
    body = {"number": "0812345678", "level": "warn", "reason": "x"}
    assert dispatcher.post("/api/flags", json=body).status_code == 403
    assert member.get("/api/flags").status_code == 403
    assert calltaker.post("/api/flags", data="not json",
                          headers={"Content-Type": "text/plain"}).status_code == 409
    assert calltaker.post("/api/flags/99999/lift", json={}).status_code == 404
    assert calltaker.post("/api/flags/1/lift", json={"why": "x"}).status_code == 422
    assert counts(session) == before
