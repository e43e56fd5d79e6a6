"""The whole path over HTTP on SQLite and PostgreSQL: call -> incident -> team -> case."""

from __future__ import annotations

from sqlalchemy import func, select

from cases.models import Case
from console.models import AuditLog, RealtimeEvent
from dispatch.models import Incident, Team, TimelineEntry
from telephony.models import Call
from tests.conftest import incident_body


def counts(session) -> dict[str, int]:
    """Row counts of everything a refused request must not touch."""
    session.expire_all()
    return {
        model.__tablename__: session.scalar(select(func.count()).select_from(model))
        for model in (Call, Incident, TimelineEntry, AuditLog, RealtimeEvent, Case)
    }


def team_id(session, code: str) -> int:
    return session.scalar(select(Team.id).where(Team.code == code))


def test_whole_path_records_every_interval_and_hands_over_a_case(login_as, session):
    calltaker, dispatcher, member = login_as("calltaker"), login_as("dispatcher"), login_as("team1")
    resp = calltaker.post("/api/calls", json=incident_body())
    assert resp.status_code == 201, resp.json
    incident = resp.json["incident"]
    assert incident["status"] == "new" and incident["ref"].startswith("65-25")
    assert incident["precision"] == "district" and incident["lat"] is not None

    resp = dispatcher.post(f"/api/incidents/{incident['id']}/assign",
                           json={"team_id": team_id(session, "PSL-1")})
    assert resp.status_code == 200, resp.json
    assert resp.json["status"] == "assigned" and resp.json["team_name"].endswith("1")

    for step, status in [("acknowledge", "acknowledged"), ("en-route", "en_route"),
                         ("on-scene", "on_scene"), ("resolve", "handed_over")]:
        resp = member.post(f"/api/incidents/{incident['id']}/steps/{step}", json={"note": step})
        assert resp.status_code == 200, resp.json
        assert resp.json["status"] == status

    session.expire_all()
    row = session.get(Incident, incident["id"])
    stamps = [row.created_at, row.triaged_at, row.dispatched_at, row.acknowledged_at,
              row.en_route_at, row.on_scene_at, row.resolved_at, row.handed_over_at]
    assert all(stamps) and stamps == sorted(stamps)
    kinds = [(e.kind, e.to_status, e.note) for e in row.timeline]
    assert kinds[0] == ("created", "new", "")
    assert [k[1] for k in kinds[1:]] == ["assigned", "acknowledged", "en_route", "on_scene",
                                         "resolved", "handed_over"]
    assert ("status", "en_route", "en-route") in kinds
    # The team is clearing after the job; one tap makes it free for the next one.
    team = session.get(Team, row.team_id)
    assert team.status.value == "clearing"
    assert login_as("team1").post(f"/api/teams/{team.id}/availability",
                                  json={"available": True}).json["status"] == "available"
    statuses = [a.detail["to"] for a in session.scalars(
        select(AuditLog).where(AuditLog.action == "team.status", AuditLog.entity_id == team.id)
        .order_by(AuditLog.id))]
    assert statuses == ["offered", "en_route", "on_scene", "clearing", "available"]

    case = session.scalar(select(Case).where(Case.incident_id == row.id))
    assert case.status.value == "intake"
    assert case.notes == "ประตูสีฟ้า" and case.address_text == "หมู่ 4"
    assert (case.province_code, case.district_code) == ("65", "6501")
    assert [(p.age_group, p.sex) for p in case.people] == [("child", "female")]
    copied = [e.to_status for e in case.timeline if e.source == "incident"]
    assert copied == ["new", "assigned", "acknowledged", "en_route", "on_scene", "resolved"]
    assert case.timeline[-1].kind == "opened"

    actions = set(session.scalars(select(AuditLog.action)))
    assert {"incident.created", "incident.status", "case.opened", "call.incident"} <= actions

    caseworker = login_as("caseworker")
    page = caseworker.get(f"/desk/cases/{case.id}")
    assert page.status_code == 200 and case.ref in page.get_data(as_text=True)
    session.expire_all()
    viewed = session.scalars(select(AuditLog).where(AuditLog.action == "case.viewed")).all()
    assert [(a.entity_id, a.actor_id is not None) for a in viewed] == [(case.id, True)]


def test_close_at_intake_records_outcome_without_incident(login_as, session):
    calltaker = login_as("calltaker")
    before = counts(session)
    resp = calltaker.post("/api/calls", json={"action": "close", "number": "+66 2 123 4567",
                                              "summary": "ขอคำปรึกษาเรื่องสิทธิ",
                                              "advice": "แนะนำสิทธิผู้สูงอายุ",
                                              "outcome": "advice_given"})
    assert resp.status_code == 201, resp.json
    after = counts(session)
    assert after["call"] == before["call"] + 1 and after["incident"] == before["incident"]
    call = session.get(Call, resp.json["call_id"])
    assert call.number == "+6621234567" and call.outcome.value == "advice_given"
    assert call.closed_at is not None and call.province_code == "65"


def test_illegal_moves_are_refused_and_change_nothing(login_as, session):
    calltaker, dispatcher = login_as("calltaker"), login_as("dispatcher")
    member, other_member = login_as("team1"), login_as("team2")
    first = calltaker.post("/api/calls", json=incident_body()).json["incident"]
    second = calltaker.post("/api/calls", json=incident_body()).json["incident"]
    psl1 = team_id(session, "PSL-1")

    before = counts(session)
    resp = dispatcher.post(f"/api/incidents/{first['id']}/steps/resolve", json={})
    assert resp.status_code == 409
    assert "assigned" in resp.json["error"].lower() or "มอบหมาย" in resp.json["error"]
    assert counts(session) == before

    assert dispatcher.post(f"/api/incidents/{first['id']}/assign",
                           json={"team_id": psl1}).status_code == 200
    before = counts(session)
    resp = dispatcher.post(f"/api/incidents/{second['id']}/assign", json={"team_id": psl1})
    assert resp.status_code == 409 and resp.json["error"]
    resp = dispatcher.post(f"/api/incidents/{second['id']}/assign",
                           json={"team_id": team_id(session, "PSL-3")})  # off duty
    assert resp.status_code == 409
    resp = dispatcher.post(f"/api/incidents/{first['id']}/assign",
                           json={"team_id": team_id(session, "PSL-2")})  # already assigned
    assert resp.status_code == 409
    resp = dispatcher.post(f"/api/incidents/{second['id']}/assign",
                           json={"team_id": team_id(session, "CMI-1")})  # other province
    assert resp.status_code == 404
    resp = other_member.post(f"/api/incidents/{first['id']}/steps/acknowledge", json={})
    assert resp.status_code == 403 and resp.json["error"]
    resp = member.post(f"/api/incidents/{first['id']}/steps/on-scene", json={})  # skips steps
    assert resp.status_code == 409
    assert counts(session) == before
    session.expire_all()
    assert session.get(Incident, second["id"]).status.value == "new"
    assert session.get(Team, team_id(session, "PSL-2")).status.value == "available"


def test_province_scope_hides_other_provinces(login_as):
    calltaker = login_as("calltaker")
    incident = calltaker.post("/api/calls", json=incident_body()).json["incident"]
    cm = login_as("cm.dispatcher")
    assert cm.get(f"/api/incidents/{incident['id']}").status_code == 404
    state = cm.get("/api/state").json
    assert state["incidents"] == [] and {t["province_code"] for t in state["teams"]} == {"50"}
    national = login_as("national")
    assert [i["id"] for i in national.get("/api/state").json["incidents"]] == [incident["id"]]
    psl = login_as("dispatcher").get(f"/api/incidents/{incident['id']}")
    assert psl.status_code == 200 and psl.json["timeline"][0]["kind"] == "created"
