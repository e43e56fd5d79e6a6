"""Offers that must be acknowledged, lapses, escalation, check-ins, SOS; the clock in hand."""

from __future__ import annotations

import threading
from datetime import timedelta

from sqlalchemy import func, select

from console import escalation_policy
from console.db import utcnow
from console.models import User
from dispatch import service as dispatch_service
from dispatch.models import Alarm, Incident, Team, Timer
from tests.integration.test_dispatch_more import new_incident
from tests.integration.test_path_http import team_id
from tests.jobs_helpers import run_jobs


def _fire(app, session, now, **policy):
    pol = escalation_policy(app.config)
    if policy:
        pol = dispatch_service.EscalationPolicy(**{**pol.__dict__, **policy})
    chooser = dispatch_service.choose_next_team(
        app.extensions["positions"], dispatch_service.geo_service.TravelSettings(), 30)
    fired = dispatch_service.fire_due_timers(session=session, now=now, policy=pol, choose=chooser)
    session.commit()
    return fired


def _child_team(session, code, lat):
    team = Team(code=code, name=code, province_code="65", skills=["child_protection"], lat=lat,
                lon=100.26, position_at=utcnow())
    session.add(team)
    session.commit()
    return team


def _indexed_team_with_member(app, session, code: str, phone: str) -> Team:
    """A second child-protection team near Phitsanulok, in the index, with a member's phone."""
    team = _child_team(session, code, 16.90)
    session.add(User(username=code.lower(), display_name="m", role="field_member",
                     province_code="65", team_id=team.id, phone=phone, password_hash="x"))
    session.commit()
    dispatch_service.index_position(index=app.extensions["positions"], team=team)
    return team


def test_an_unacknowledged_p1_offer_lapses_and_goes_to_the_next_team(app, login_as, session):
    second = _child_team(session, "PSL-9", 16.90)
    dispatch_service.index_position(index=app.extensions["positions"], team=second)
    incident = new_incident(login_as, province_code="65", lat=16.82, lon=100.26)
    dispatcher = login_as("dispatcher")
    psl1 = team_id(session, "PSL-1")
    resp = dispatcher.post(f"/api/incidents/{incident['id']}/assign", json={"team_id": psl1})
    assert resp.status_code == 200
    due = resp.json["offer_due_at"]
    assert due is not None
    session.expire_all()
    row = session.get(Incident, incident["id"])
    assert (row.offer_due_at - row.dispatched_at).total_seconds() == 60  # P1

    # Before the deadline nothing happens; after it, exactly once.
    first_due = row.offer_due_at
    assert _fire(app, session, first_due - timedelta(seconds=1)) == []
    assert _fire(app, session, first_due + timedelta(seconds=1)) == [f"offer_lapse:{row.id}"]
    assert _fire(app, session, first_due + timedelta(seconds=2)) == []
    session.expire_all()
    row = session.get(Incident, incident["id"])
    assert row.status.value == "assigned" and row.team_id == second.id  # auto-escalated
    assert session.get(Team, psl1).status.value == "available"
    kinds = [e.kind for e in row.timeline]
    assert "offer_lapsed" in kinds and kinds.count("status") >= 2
    alarm = session.scalar(select(Alarm).where(Alarm.kind == "offer_lapsed"))
    assert alarm.team_id == psl1 and alarm.handled_at is None

    # The second team lets it lapse too: the default ladder's third rung tells the supervisors;
    # the incident waits as new.
    _fire(app, session, row.offer_due_at + timedelta(seconds=1))
    session.expire_all()
    row = session.get(Incident, incident["id"])
    assert row.status.value == "new" and row.team_id is None and row.escalation_step == 2
    kinds = [a.kind.value for a in session.scalars(select(Alarm).order_by(Alarm.id))]
    assert kinds == ["offer_lapsed", "offer_lapsed", "escalated"]


def test_acknowledging_cancels_the_lapse(app, login_as, session):
    incident = new_incident(login_as)
    login_as("dispatcher").post(f"/api/incidents/{incident['id']}/assign",
                                json={"team_id": team_id(session, "PSL-1")})
    login_as("team1").post(f"/api/incidents/{incident['id']}/steps/acknowledge", json={})
    assert _fire(app, session, utcnow() + timedelta(hours=1)) == []
    session.expire_all()
    assert session.get(Incident, incident["id"]).status.value == "acknowledged"
    timers = session.scalars(select(Timer)).all()
    assert [(t.kind.value, t.outcome) for t in timers] == [("offer_lapse", "cancelled")]


def test_decline_with_reason_offers_the_next_team(app, login_as, session):
    incident = new_incident(login_as)
    member = login_as("team1")
    login_as("dispatcher").post(f"/api/incidents/{incident['id']}/assign",
                                json={"team_id": team_id(session, "PSL-1")})
    assert member.post(f"/api/incidents/{incident['id']}/decline",
                       json={"reason": ""}).status_code == 422
    resp = member.post(f"/api/incidents/{incident['id']}/decline",
                       json={"reason": "vehicle broke down"})
    assert resp.status_code == 200
    assert resp.json["status"] == "new"  # no other child-protection team is free
    session.expire_all()
    entry = [e for e in session.get(Incident, incident["id"]).timeline
             if e.kind == "offer_declined"]
    assert entry and entry[0].note == "vehicle broke down"
    assert member.post(f"/api/incidents/{incident['id']}/decline",
                       json={"reason": "again"}).status_code in (403, 409)


def test_missed_check_in_raises_an_alarm_until_handled(app, login_as, session):
    incident = new_incident(login_as)
    dispatcher, member = login_as("dispatcher"), login_as("team1")
    dispatcher.post(f"/api/incidents/{incident['id']}/assign",
                    json={"team_id": team_id(session, "PSL-1")})
    for step in ("acknowledge", "en-route", "on-scene"):
        member.post(f"/api/incidents/{incident['id']}/steps/{step}", json={})
    session.expire_all()
    due = session.get(Incident, incident["id"]).checkin_due_at
    assert due is not None
    # A check-in pushes the deadline on.
    resp = member.post(f"/api/incidents/{incident['id']}/checkin", json={})
    assert resp.status_code == 200
    session.expire_all()
    new_due = session.get(Incident, incident["id"]).checkin_due_at
    assert new_due > due
    outcomes = [t.outcome for t in session.scalars(select(Timer).where(
        Timer.kind == "checkin_due").order_by(Timer.id))]
    assert outcomes == ["cancelled", None]  # the first deadline is gone, the next one waits
    assert _fire(app, session, new_due - timedelta(seconds=1)) == []
    assert _fire(app, session, new_due + timedelta(seconds=1)) == [f"checkin:{incident['id']}"]
    alarms = dispatcher.get("/api/alarms").json
    assert [a["kind"] for a in alarms] == ["missed_checkin"]
    assert login_as("cm.dispatcher").get("/api/alarms").json == []
    assert dispatcher.post(f"/api/alarms/{alarms[0]['id']}/handle").status_code == 200
    assert dispatcher.post(f"/api/alarms/{alarms[0]['id']}/handle").status_code == 409
    assert dispatcher.get("/api/alarms").json == []


def test_sos_is_the_highest_alarm_with_the_last_position(login_as, session):
    member = login_as("team1")
    dispatcher = login_as("dispatcher")
    assert dispatcher.post("/api/teams/me/sos", json={}).status_code == 403
    assert member.post("/api/teams/me/sos", json={"lat": 999}).status_code == 422
    resp = member.post("/api/teams/me/sos", json={"note": "ถูกข่มขู่"})
    assert resp.status_code == 201 and resp.json["kind"] == "sos"
    assert resp.json["lat"] == 16.8211  # the team's last known position
    alarms = dispatcher.get("/api/alarms").json
    assert alarms[0]["kind"] == "sos"


def test_timers_fire_once_when_several_workers_race(app, login_as, session, backend):
    incident = new_incident(login_as)
    login_as("dispatcher").post(f"/api/incidents/{incident['id']}/assign",
                                json={"team_id": team_id(session, "PSL-1")})
    factory = app.extensions["db_factory"]
    later = utcnow() + timedelta(minutes=5)
    barrier = threading.Barrier(3)
    results: list[list[str]] = []

    def worker():
        s = factory()
        barrier.wait()
        try:
            results.append(dispatch_service.fire_due_timers(
                session=s, now=later, policy=escalation_policy(app.config)))
            s.commit()
        except Exception as exc:  # noqa: BLE001 - a loser may be refused by the database
            s.rollback()
            results.append([f"error:{type(exc).__name__}"])
        finally:
            s.close()

    threads = [threading.Thread(target=worker) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    fired = [r for rs in results for r in rs if not r.startswith("error")]
    assert fired == [f"offer_lapse:{incident['id']}"], results
    # One lapse alarm and, with no other team to offer, one escalation to the supervisors.
    kinds = [a.kind.value for a in session.scalars(select(Alarm).order_by(Alarm.id))]
    assert kinds == ["offer_lapsed", "escalated"]


def test_the_system_user_is_never_needed(session):
    # Escalation acts with no user: timeline and audit rows carry no actor, not a fake one.
    assert session.scalar(select(func.count()).select_from(User).where(
        User.username == "system")) == 0


def test_assignment_and_sos_send_sms_through_the_provider(app, login_as, session):
    from telephony.models import OutboundMessage

    incident = new_incident(login_as)
    login_as("dispatcher").post(f"/api/incidents/{incident['id']}/assign",
                                json={"team_id": team_id(session, "PSL-1")})
    login_as("team1").post("/api/teams/me/sos", json={"note": "help"})
    assert session.scalars(select(OutboundMessage)).all() == []  # queued, not sent yet
    run_jobs(app)
    rows = session.scalars(select(OutboundMessage).order_by(OutboundMessage.id)).all()
    assert [(r.to_number, r.status != "failed") for r in rows] == [
        ("+66800001301", True),   # team1, the only PSL-1 member with a phone
        ("+66800001300", True),   # the Phitsanulok supervisor, about the SOS
    ]
    assert incident["ref"] in rows[0].body and "/desk/team" in rows[0].body
    assert "SOS" in rows[1].body or "ขอความช่วยเหลือ" in rows[1].body or "1300" in rows[1].body


def test_the_timer_worker_sends_sms_for_the_next_offer_and_the_alarm(app, login_as, session):
    from dispatch import flows
    from telephony.models import OutboundMessage

    _indexed_team_with_member(app, session, "PSL-8", "+66800001308")
    incident = new_incident(login_as, province_code="65", lat=16.82, lon=100.26)
    login_as("dispatcher").post(f"/api/incidents/{incident['id']}/assign",
                                json={"team_id": team_id(session, "PSL-1")})
    run_jobs(app)  # NOTE: the worker sends the offer SMS at once (before the offer lapses).
    fired = _fire(app, session, utcnow() + timedelta(minutes=2))
    flows.after_timers(session=session, fired=fired, link_base="http://console.example")
    session.commit()
    run_jobs(app)
    to = [r.to_number for r in session.scalars(select(OutboundMessage).order_by(
        OutboundMessage.id))]
    assert to == ["+66800001301", "+66800001308", "+66800001300"]
