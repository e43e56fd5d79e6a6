"""The escalation ladder per province and priority: set by an admin, climbed by the clock."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import select

from console.models import AuditLog, User
from dispatch import flows
from dispatch import service as dispatch_service
from dispatch.models import Alarm, EscalationStep, Incident, Timer
from telephony.models import OutboundMessage
from tests.conftest import incident_body
from tests.integration.test_dispatch_more import new_incident
from tests.integration.test_offers_and_safety import (
    _child_team,
    _fire,
    _indexed_team_with_member,
)
from tests.integration.test_path_http import team_id
from tests.jobs_helpers import run_jobs

OFFICE = "+66800001390"  # made-up mobile of the provincial office (พมจ.) duty officer
P1_LADDER = {"rungs": [
    {"action": "team", "wait_seconds": 60},
    {"action": "team", "wait_seconds": 45},
    {"action": "supervisor", "wait_seconds": 120},
    {"action": "provincial_office", "wait_seconds": 300,
     "contact_name": "พมจ.พิษณุโลก เวร", "contact_phone": "080-000-1390"},
    {"action": "outside_responder", "wait_seconds": 60,
     "contact_name": "ตำรวจ", "contact_phone": "191"},
]}


def _alarms(session) -> list[Alarm]:
    session.expire_all()
    return list(session.scalars(select(Alarm).order_by(Alarm.id)))


def _after(app, session, fired):
    """What the timer loop does after a pass: queue the SMS, commit, and the worker sends."""
    flows.after_timers(session=session, fired=fired, link_base="http://console.example")
    session.commit()
    run_jobs(app)


def test_an_unacknowledged_p1_climbs_the_admins_ladder_up_to_the_police(app, login_as, session):
    admin = login_as("admin")
    resp = admin.put("/api/escalation/65/P1", json=P1_LADDER)
    assert resp.status_code == 200, resp.json
    assert resp.json["rungs"][3]["contact_phone"] == OFFICE  # normalised to E.164
    assert resp.json["rungs"][4]["contact_phone"] == "191"  # short codes kept
    second = _child_team(session, "PSL-9", 16.90)
    dispatch_service.index_position(index=app.extensions["positions"], team=second)
    incident = new_incident(login_as, province_code="65", lat=16.82, lon=100.26)
    psl1 = team_id(session, "PSL-1")
    assert login_as("dispatcher").post(f"/api/incidents/{incident['id']}/assign",
                                       json={"team_id": psl1}).status_code == 200
    session.expire_all()
    row = session.get(Incident, incident["id"])
    assert row.escalation_step == 0
    assert (row.offer_due_at - row.dispatched_at).total_seconds() == 60  # rung 1's wait

    # Rung 2: the next team, with its own (shorter) wait.
    fired = _fire(app, session, row.offer_due_at + timedelta(seconds=1))
    assert fired == [f"offer_lapse:{row.id}"]
    session.expire_all()
    row = session.get(Incident, incident["id"])
    assert (row.team_id, row.escalation_step) == (second.id, 1)
    assert (row.offer_due_at - row.dispatched_at).total_seconds() == 45
    lapse2 = row.offer_due_at

    # Rung 3: nobody else fits -> the supervisors are alarmed (and texted).
    fired = _fire(app, session, lapse2 + timedelta(seconds=1))
    _after(app, session, fired)
    alarms = _alarms(session)
    assert [a.kind.value for a in alarms] == ["offer_lapsed", "offer_lapsed", "escalated"]
    assert alarms[-1].note == "supervisor" and alarms[-1].contact_phone is None
    assert session.get(Incident, incident["id"]).escalation_step == 2
    sms = [m.to_number for m in session.scalars(select(OutboundMessage))]
    assert "+66800001300" in sms  # the Phitsanulok supervisor

    # Rung 4 after rung 3's 120 s, not before; the office's mobile gets an SMS.
    t3 = lapse2 + timedelta(seconds=1)
    assert _fire(app, session, t3 + timedelta(seconds=119)) == []
    fired = _fire(app, session, t3 + timedelta(seconds=121))
    assert fired == [f"escalation:{row.id}"]
    _after(app, session, fired)
    office = _alarms(session)[-1]
    assert (office.note, office.contact_name, office.contact_phone) == (
        "provincial_office", "พมจ.พิษณุโลก เวร", OFFICE)
    texts = session.scalars(select(OutboundMessage).where(OutboundMessage.to_number == OFFICE))
    [text] = list(texts)
    assert incident["ref"] in text.body and "1300" in text.body
    assert "ผู้แจ้ง" not in text.body and "081" not in text.body  # no caller data leaves
    # The priority in words, never a bare code (glossary), in every SMS sent so far.
    assert "ด่วนที่สุด" in text.body
    assert not [m.body for m in session.scalars(select(OutboundMessage))
                if re.search(r"\bP[1-4]\b", m.body)]

    # Rung 5 (the last): police 191 shown to the supervisors to phone; no SMS to a short code.
    fired = _fire(app, session, t3 + timedelta(seconds=121 + 301))
    _after(app, session, fired)
    police = _alarms(session)[-1]
    assert (police.note, police.contact_phone) == ("outside_responder", "191")
    assert not list(session.scalars(select(OutboundMessage).where(
        OutboundMessage.to_number == "191")))
    # The ladder ends there: nothing more fires, however long it waits.
    assert _fire(app, session, t3 + timedelta(days=1)) == []
    assert len(_alarms(session)) == 5
    entries = [e.detail for e in session.get(Incident, incident["id"]).timeline
               if e.kind == "escalated"]
    assert [(d["step"], d["action"]) for d in entries] == [
        (2, "team"), (3, "supervisor"), (4, "provincial_office"), (5, "outside_responder")]
    # The alarm the supervisors see names whom to phone.
    shown = login_as("supervisor").get("/api/alarms").json
    assert {"contact_name": "ตำรวจ", "contact_phone": "191"}.items() <= next(
        a for a in shown if a["note"] == "outside_responder").items()
    assert {a["incident_ref"] for a in shown} == {incident["ref"]}  # the banner's reference


def test_an_acknowledgement_stops_the_ladder(app, login_as, session):
    login_as("admin").put("/api/escalation/65/P1", json={"rungs": [
        {"action": "team", "wait_seconds": 60},
        {"action": "supervisor", "wait_seconds": 60},
        {"action": "outside_responder", "wait_seconds": 60, "contact_name": "EMS",
         "contact_phone": "1669"},
    ]})
    incident = new_incident(login_as)
    dispatcher = login_as("dispatcher")
    psl1 = team_id(session, "PSL-1")
    dispatcher.post(f"/api/incidents/{incident['id']}/assign", json={"team_id": psl1})
    session.expire_all()
    start = session.get(Incident, incident["id"]).offer_due_at
    assert _fire(app, session, start + timedelta(seconds=1)) == [f"offer_lapse:{incident['id']}"]
    assert [a.kind.value for a in _alarms(session)] == ["offer_lapsed", "escalated"]
    # The supervisor gets a team to take it after all: a fresh offer, acknowledged.
    resp = dispatcher.post(f"/api/incidents/{incident['id']}/assign", json={"team_id": psl1})
    assert resp.status_code == 200
    assert login_as("team1").post(f"/api/incidents/{incident['id']}/steps/acknowledge",
                                  json={}).status_code == 200
    assert _fire(app, session, start + timedelta(hours=1)) == []
    assert len(_alarms(session)) == 2  # EMS was never called
    pending = session.scalars(select(Timer).where(Timer.fired_at.is_(None))).all()
    assert pending == []


def test_bad_ladders_are_refused_per_field_and_change_nothing(login_as, session):
    admin = login_as("admin")
    cases = [
        ({"rungs": []}, "rungs"),
        ({"rungs": [{"action": "supervisor", "wait_seconds": 60}]}, "rungs.0.action"),
        ({"rungs": [{"action": "team", "wait_seconds": 60},
                    {"action": "supervisor", "wait_seconds": 60},
                    {"action": "team", "wait_seconds": 60}]}, "rungs.2.action"),
        ({"rungs": [{"action": "team", "wait_seconds": 5}]}, "rungs.0.wait_seconds"),
        ({"rungs": [{"action": "team", "wait_seconds": 60},
                    {"action": "provincial_office", "wait_seconds": 60,
                     "contact_name": "พมจ."}]}, "rungs.1.contact_phone"),
        ({"rungs": [{"action": "team", "wait_seconds": 60},
                    {"action": "outside_responder", "wait_seconds": 60,
                     "contact_phone": "191"}]}, "rungs.1.contact_name"),
        ({"rungs": [{"action": "team", "wait_seconds": 60},
                    {"action": "outside_responder", "wait_seconds": 60, "contact_name": "x",
                     "contact_phone": "call me"}]}, "rungs.1.contact_phone"),
        ({"rungs": [{"action": "helicopter", "wait_seconds": 60}]}, "rungs.0.action"),
    ]
    for body, field in cases:
        resp = admin.put("/api/escalation/65/P1", json=body)
        assert resp.status_code == 422, (body, resp.json)
        assert field in resp.json["fields"], (body, resp.json)
        assert any("\u0e00" <= ch <= "\u0e7f" for ch in resp.json["fields"][field])  # Thai
    assert admin.put("/api/escalation/99/P1", json={"rungs": [
        {"action": "team", "wait_seconds": 60}]}).status_code == 404
    assert admin.put("/api/escalation/65/P9", json={"rungs": [
        {"action": "team", "wait_seconds": 60}]}).status_code == 404
    # The demo's Phitsanulok P1 ladder is as it was; P3 was never set and shows the default.
    rows = session.scalars(select(EscalationStep).order_by(EscalationStep.position)).all()
    assert [(r.priority.value, r.action.value) for r in rows] == [
        ("P1", "team"), ("P1", "team"), ("P1", "supervisor"), ("P1", "provincial_office"),
        ("P1", "outside_responder")]
    shown = admin.get("/api/escalation/65").json
    assert shown["P1"]["configured"] is True and shown["P3"]["configured"] is False
    assert [r["action"] for r in shown["P3"]["rungs"]] == ["team", "team", "supervisor"]
    assert [r["wait_seconds"] for r in shown["P3"]["rungs"]] == [300, 300, 600]


def test_only_an_admin_of_the_province_changes_its_ladder(app, login_as, session, demo_hash):
    body = {"rungs": [{"action": "team", "wait_seconds": 90}]}
    for who in ("supervisor", "dispatcher", "team1", "national"):
        assert login_as(who).put("/api/escalation/65/P2", json=body).status_code == 403, who
        assert login_as(who).get("/api/escalation/65").status_code == 403, who
    # NOTE: flagged like the demo users (no second factor), as the test logs in with a password.
    session.add(User(username="cm.admin", display_name="admin CM", role="admin",
                     province_code="50", password_hash=demo_hash, demo=True))
    session.commit()
    cm_admin = login_as("cm.admin")
    assert cm_admin.put("/api/escalation/65/P2", json=body).status_code == 403
    assert cm_admin.put("/api/escalation/50/P2", json=body).status_code == 200
    assert login_as("admin").put("/api/escalation/65/P2", json=body).status_code == 200
    assert login_as("admin").put("/api/escalation/65/P2", json={"rungs": [
        {"action": "team", "wait_seconds": 30}]}).status_code == 200
    audits = session.scalars(select(AuditLog).where(AuditLog.action == "escalation.changed")
                             .order_by(AuditLog.id)).all()
    assert [(a.detail["province"], a.detail["before"], a.detail["after"]) for a in audits] == [
        ("50", [], [["team", 90, "", None]]),
        ("65", [], [["team", 90, "", None]]),
        ("65", [["team", 90, "", None]], [["team", 30, "", None]]),
    ]
    # The new wait is what the next P2 offer gets.
    call = incident_body()
    call["incident"]["priority"] = "P2"
    incident = login_as("calltaker").post("/api/calls", json=call).json["incident"]
    login_as("dispatcher").post(f"/api/incidents/{incident['id']}/assign",
                                json={"team_id": team_id(session, "PSL-1")})
    session.expire_all()
    row = session.get(Incident, incident["id"])
    assert (row.offer_due_at - row.dispatched_at).total_seconds() == 30


def test_the_escalation_page_is_for_admins(login_as):
    page = login_as("admin").get("/desk/escalation?province=50")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert 'data-testid="ladder-P1"' in text and "เชียงใหม่" in text
    assert login_as("supervisor").get("/desk/escalation").status_code == 403


def test_a_decline_texts_the_next_team_offered(app, login_as, session):
    second = _indexed_team_with_member(app, session, "PSL-8", "+66800001308")
    incident = new_incident(login_as, province_code="65", lat=16.82, lon=100.26)
    login_as("dispatcher").post(f"/api/incidents/{incident['id']}/assign",
                                json={"team_id": team_id(session, "PSL-1")})
    run_jobs(app)  # NOTE: the worker sends PSL-1's offer SMS at once
    resp = login_as("team1").post(f"/api/incidents/{incident['id']}/decline",
                                  json={"reason": "รถเสีย"})
    assert resp.status_code == 200 and resp.json["team_id"] == second.id
    run_jobs(app)
    to = [m.to_number for m in session.scalars(select(OutboundMessage)
                                               .order_by(OutboundMessage.id))]
    assert to == ["+66800001301", "+66800001308"]  # PSL-1's offer, then PSL-8's


def test_an_incident_nobody_offers_alerts_the_supervisors_once(app, login_as, session):
    incident = new_incident(login_as)  # P1 in Phitsanulok: the first rung waits 60 s
    session.expire_all()
    created = session.get(Incident, incident["id"]).created_at
    assert _fire(app, session, created + timedelta(seconds=59)) == []
    fired = _fire(app, session, created + timedelta(seconds=61))
    assert fired == [f"unoffered:{incident['id']}"]
    _after(app, session, fired)
    assert _fire(app, session, created + timedelta(hours=1)) == []  # once
    assert [a.kind.value for a in _alarms(session)] == ["unoffered"]
    texts = [m.to_number for m in session.scalars(select(OutboundMessage))]
    assert texts == ["+66800001300"]  # the Phitsanulok supervisor
    # The dispatcher then offers it: the ladder starts at its first rung, with its wait.
    resp = login_as("dispatcher").post(f"/api/incidents/{incident['id']}/assign",
                                       json={"team_id": team_id(session, "PSL-1")})
    assert resp.status_code == 200
    session.expire_all()
    row = session.get(Incident, incident["id"])
    assert row.escalation_step == 0
    assert (row.offer_due_at - row.dispatched_at).total_seconds() == 60
    assert [e.kind for e in row.timeline][:3] == ["created", "unoffered", "status"]


def test_unoffered_alarms_come_due_per_ladder_and_are_bounded_per_pass(app, login_as, session):
    calltaker = login_as("calltaker")
    ids = {}
    for priority, count in (("P4", dispatch_service.UNOFFERED_PER_PASS + 2), ("P1", 2)):
        body = incident_body()
        body["incident"]["priority"] = priority
        for _ in range(count):
            resp = calltaker.post("/api/calls", json=body)
            assert resp.status_code == 201, resp.json
            ids.setdefault(priority, []).append(resp.json["incident"]["id"])
    session.expire_all()
    start = max(session.get(Incident, i).created_at for i in ids["P1"] + ids["P4"])
    # More not-yet-due P4s (first rung 600 s) than one pass raises must not hide the due P1s.
    assert _fire(app, session, start + timedelta(seconds=61)) == [
        f"unoffered:{i}" for i in ids["P1"]]
    first = _fire(app, session, start + timedelta(seconds=601))
    assert first == [f"unoffered:{i}" for i in ids["P4"][:dispatch_service.UNOFFERED_PER_PASS]]
    assert _fire(app, session, start + timedelta(seconds=602)) == [
        f"unoffered:{i}" for i in ids["P4"][dispatch_service.UNOFFERED_PER_PASS:]]
    assert _fire(app, session, start + timedelta(hours=2)) == []
    assert len([a for a in _alarms(session) if a.kind.value == "unoffered"]) == len(
        ids["P1"]) + len(ids["P4"])
