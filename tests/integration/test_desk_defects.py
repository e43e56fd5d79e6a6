"""Desk defects found when the console was tried as a new user would (issue 14): the server's
side of each (the pages' side is in the browser tests)."""

from __future__ import annotations

import copy

from sqlalchemy import select

from cases.models import Case
from console.models import AuditLog, RealtimeEvent
from dispatch.models import Alarm, Incident
from tests.conftest import incident_body
from tests.integration.test_path_http import counts, team_id


def _walk(member, incident_id: int, steps) -> None:
    for step in steps:
        resp = member.post(f"/api/incidents/{incident_id}/steps/{step}", json={})
        assert resp.status_code == 200, resp.json


def test_sos_is_on_the_job_timeline_names_the_team_and_tells_the_phone_who_took_charge(
        login_as, session):
    calltaker, dispatcher, member = login_as("calltaker"), login_as("dispatcher"), login_as("team1")
    incident = calltaker.post("/api/calls", json=incident_body()).json["incident"]
    psl1 = team_id(session, "PSL-1")
    dispatcher.post(f"/api/incidents/{incident['id']}/assign", json={"team_id": psl1})
    _walk(member, incident["id"], ["acknowledge", "en-route", "on-scene"])

    # The phone resends a queued SOS with the same key until it is confirmed: one alarm.
    key = {"Idempotency-Key": "sos-0123456789abcdef"}
    first = member.post("/api/teams/me/sos", json={"lat": 16.8, "lon": 100.2}, headers=key)
    again = member.post("/api/teams/me/sos", json={"lat": 16.8, "lon": 100.2}, headers=key)
    assert first.status_code == 201 and again.status_code == 201
    assert again.json["id"] == first.json["id"]
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert len(session.scalars(select(Alarm).where(Alarm.kind == "sos")).all()) == 1
    alarm = first.json
    team_name = session.get(Incident, incident["id"]).team.name
    assert alarm["team_name"] == team_name and alarm["incident_id"] == incident["id"]
    assert dispatcher.get("/api/alarms").json[0]["team_name"] == team_name

    # The SOS is part of the job's story.
    session.expire_all()
    sos = [e for e in session.get(Incident, incident["id"]).timeline if e.kind == "sos"]
    assert len(sos) == 1 and sos[0].team_id == psl1 and sos[0].actor_id is not None
    detail = dispatcher.get(f"/desk/incidents/{incident['id']}").get_data(as_text=True)
    assert 'data-kind="sos"' in detail

    # A supervisor takes charge: the team's room hears who, and the timeline says so.
    supervisor = login_as("supervisor")
    handled = supervisor.post(f"/api/alarms/{alarm['id']}/handle")
    assert handled.status_code == 200
    assert handled.json["handled_by_name"] and handled.json["handled_at"]
    event = session.scalars(select(RealtimeEvent).where(RealtimeEvent.name == "alarm.changed")
                            .order_by(RealtimeEvent.seq.desc())).first()
    assert event.payload["data"]["handled_by_name"] == handled.json["handled_by_name"]
    assert f"team:{psl1}" in event.rooms
    session.expire_all()
    kinds = [e.kind for e in session.get(Incident, incident["id"]).timeline]
    assert kinds.count("sos_handled") == 1


def test_a_province_alone_is_no_place_unless_the_caller_cannot_say(login_as, session):
    calltaker = login_as("calltaker")
    body = incident_body()
    body["incident"]["location"] = {"province_code": "65", "district_code": None,
                                    "subdistrict_code": None, "address_text": "  ",
                                    "lat": None, "lon": None}
    before = counts(session)
    refused = calltaker.post("/api/calls", json=copy.deepcopy(body))
    assert refused.status_code == 422, refused.json
    assert "Place unknown" in refused.json["fields"]["incident.location"] or \
        "ไม่ทราบสถานที่" in refused.json["fields"]["incident.location"]
    assert counts(session) == before

    # Not a yes/no: refused on its field.
    body["incident"]["location"]["place_unknown"] = "yes"
    bad = calltaker.post("/api/calls", json=copy.deepcopy(body))
    assert bad.status_code == 422 and "incident.location.place_unknown" in bad.json["fields"]
    assert counts(session) == before

    body["incident"]["location"]["place_unknown"] = True
    saved = calltaker.post("/api/calls", json=body)
    assert saved.status_code == 201, saved.json
    incident = saved.json["incident"]
    assert incident["place_unknown"] is True and incident["precision"] == "province"
    dispatcher = login_as("dispatcher")
    board = dispatcher.get("/api/state").json["incidents"]
    assert [i["place_unknown"] for i in board if i["id"] == incident["id"]] == [True]
    page = dispatcher.get(f"/desk/incidents/{incident['id']}").get_data(as_text=True)
    assert 'data-testid="place-unknown"' in page

    # A place the officer gave (a district, a description, a map point) needs no tick.
    for location in ({"province_code": "65", "district_code": "6501"},
                     {"province_code": "65", "address_text": "หลังวัดท่าทอง"},
                     {"lat": 16.82, "lon": 100.26}):
        body = incident_body()
        body["incident"]["location"] = location
        resp = calltaker.post("/api/calls", json=body)
        assert resp.status_code == 201, (location, resp.json)
        assert resp.json["incident"]["place_unknown"] is False


def test_the_reporters_number_reaches_dispatcher_team_and_case_worker_in_the_access_log(
        login_as, session):
    calltaker, dispatcher, member = login_as("calltaker"), login_as("dispatcher"), login_as("team1")
    incident = calltaker.post("/api/calls", json=incident_body()).json["incident"]
    url = f"/api/incidents/{incident['id']}/contact"

    def reads() -> int:
        session.expire_all()
        return len(session.scalars(select(AuditLog).where(
            AuditLog.action == "read.caller_contact", AuditLog.entity_id == incident["id"])).all())

    # Before the offer the team may not read it; call-takers of another province never.
    assert member.get(url).status_code == 403
    assert login_as("cm.dispatcher").get(url).status_code == 404
    assert reads() == 0

    got = dispatcher.get(url)
    assert got.status_code == 200
    [caller] = got.json["contacts"]
    assert caller["kind"] == "caller" and caller["number"] == "+66812345678"
    assert caller["number_display"] == "081-234-5678" and caller["name"] == "ผู้แจ้ง"
    assert reads() == 1
    page = dispatcher.get(f"/desk/incidents/{incident['id']}").get_data(as_text=True)
    assert 'href="tel:+66812345678"' in page and "ผู้แจ้ง" in page
    assert reads() == 2

    dispatcher.post(f"/api/incidents/{incident['id']}/assign",
                    json={"team_id": team_id(session, "PSL-1")})
    assert member.get(url).json["contacts"][0]["number"] == "+66812345678"
    assert reads() == 3

    _walk(member, incident["id"], ["acknowledge", "en-route", "on-scene", "resolve"])
    case = session.scalar(select(Case).where(Case.incident_id == incident["id"]))
    worker = login_as("caseworker")
    assert worker.get(url).json["contacts"][0]["name"] == "ผู้แจ้ง"
    assert reads() == 4
    assert 'data-testid="show-reporter"' in worker.get(f"/desk/cases/{case.id}").get_data(
        as_text=True)
    # The team's job is over: the number is no longer theirs to read.
    assert member.get(url).status_code == 403


def test_simulated_callers_time_out_to_the_call_back_list_or_hang_up(app, login_as, session):
    from datetime import timedelta

    from console.db import utcnow
    from telephony import simulator
    from telephony.models import Call

    supervisor, calltaker = login_as("supervisor"), login_as("calltaker")
    advice = supervisor.post("/api/simulator/incoming-call",
                             json={"number": "082-222-3333", "digit": "2"}).json
    danger = supervisor.post("/api/simulator/incoming-call",
                             json={"number": "083-333-4444", "digit": "1"}).json
    # A supervisor on the calls desk is sent the pops too (not only after a reload).
    rooms = [e.rooms for e in session.scalars(select(RealtimeEvent).where(
        RealtimeEvent.name == "call.ringing").order_by(RealtimeEvent.seq))]
    assert rooms and all("supervisors:65" in r and "calltakers:65" in r for r in rooms)
    assert {c["id"] for c in supervisor.get("/api/calls/waiting").json} == {
        advice["id"], danger["id"]}

    # The caller of the danger line hangs up while waiting (played by a supervisor).
    url = f"/api/simulator/calls/{danger['id']}/hangup"
    assert calltaker.post(url, json={}).status_code == 403
    assert login_as("national").post("/api/simulator/calls/999999/hangup",
                                     json={}).status_code == 404
    assert supervisor.post(url, json={}).status_code == 200
    assert supervisor.post(url, json={}).status_code == 409

    # Within the hold limit nothing moves; past it the other caller leaves for the voice
    # message, once, however many timer passes run.
    hold = app.config["TELEPHONY_HOLD_SECONDS"]
    assert simulator.expire_holds(session=session, now=utcnow(), hold_seconds=hold) == []
    later = utcnow() + timedelta(seconds=hold + 1)
    assert simulator.expire_holds(session=session, now=later, hold_seconds=hold) == [advice["id"]]
    session.commit()
    assert simulator.expire_holds(session=session, now=later, hold_seconds=hold) == []
    session.commit()

    assert calltaker.get("/api/calls/waiting").json == []
    callbacks = {c["id"] for c in calltaker.get("/api/callbacks").json}
    assert {advice["id"], danger["id"]} <= callbacks
    session.expire_all()
    for call_id in (advice["id"], danger["id"]):
        call = session.get(Call, call_id)
        assert call.status.value == "completed" and call.needs_callback and call.ended_at
    updates = [e for e in session.scalars(select(RealtimeEvent).where(
        RealtimeEvent.name == "call.updated"))
        if e.payload["data"]["id"] in (advice["id"], danger["id"])]
    assert {u.payload["data"]["status"] for u in updates} == {"completed"}

