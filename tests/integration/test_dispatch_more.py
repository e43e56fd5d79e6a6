"""Recommendation, team positions, cancel, availability, optimistic locking, read audit."""

from __future__ import annotations

import re
import threading

import pytest
from sqlalchemy import func, select

from console.models import AuditLog
from dispatch.models import Incident, Team, TeamPosition
from tests.conftest import incident_body
from tests.integration.test_path_http import counts, team_id


def new_incident(login_as, **location) -> dict:
    body = incident_body()
    if location:
        body["incident"]["location"] = location
    resp = login_as("calltaker").post("/api/calls", json=body)
    assert resp.status_code == 201, resp.json
    return resp.json["incident"]


def test_recommendation_orders_by_eta_and_filters_skill_province_and_staleness(
    login_as, session
):
    # A child-protection case in Mueang Phitsanulok (urban speed), near PSL-2's position.
    incident = new_incident(login_as, province_code="65", lat=16.78, lon=100.21,
                            address_text="x")
    dispatcher = login_as("dispatcher")
    resp = dispatcher.get(f"/api/incidents/{incident['id']}/recommendations")
    assert resp.status_code == 200
    # Category children -> child_protection: only PSL-1 (PSL-3 is off duty, CMI teams elsewhere)
    assert [s["team"]["code"] for s in resp.json] == ["PSL-1"]
    session.expire_all()
    assert session.get(Incident, incident["id"]).district_code == "6501"
    best = resp.json[0]
    assert best["skill"] == "child_protection" and best["distance_km"] > 0
    assert best["eta_minutes"] == pytest.approx(best["distance_km"] * 1.4 / 25 * 60, rel=0.02)

    # The team reports a fresh position right on the incident: distance drops to ~0.
    member = login_as("team1")
    resp = member.post("/api/teams/me/position", json={"lat": 16.7801, "lon": 100.2101,
                                                        "accuracy": 12})
    assert resp.status_code == 200 and resp.json["position_accuracy_m"] == 12
    again = dispatcher.get(f"/api/incidents/{incident['id']}/recommendations").json
    assert again[0]["distance_km"] < 0.05

    # Positions older than the limit are ignored.
    dispatcher.http.application.config["POSITION_MAX_AGE_MINUTES"] = 0
    assert dispatcher.get(f"/api/incidents/{incident['id']}/recommendations").json == []


def test_position_reports_are_validated_and_kept_as_a_path(login_as, session):
    member = login_as("team1")
    before = counts(session)
    for body in ({"lat": 51.5, "lon": -0.1}, {"lat": "x", "lon": 100}, {"lat": 91, "lon": 0}, {}):
        resp = member.post("/api/teams/me/position", json=body)
        assert resp.status_code == 422, body
    assert counts(session) == before
    assert login_as("dispatcher").post("/api/teams/me/position",
                                       json={"lat": 16.8, "lon": 100.2}).status_code == 403
    member.post("/api/teams/me/position", json={"lat": 16.80, "lon": 100.20})
    member.post("/api/teams/me/position", json={"lat": 16.81, "lon": 100.21})
    assert session.scalar(select(func.count()).select_from(TeamPosition)) == 2


def test_cancel_releases_the_team_and_needs_a_reason(login_as, session):
    incident = new_incident(login_as)
    dispatcher, member = login_as("dispatcher"), login_as("team1")
    psl1 = team_id(session, "PSL-1")
    dispatcher.post(f"/api/incidents/{incident['id']}/assign", json={"team_id": psl1})
    before = counts(session)
    resp = dispatcher.post(f"/api/incidents/{incident['id']}/cancel", json={"reason": " "})
    assert resp.status_code == 422 and "reason" in resp.json["fields"]
    assert member.post(f"/api/incidents/{incident['id']}/cancel",
                                  json={"reason": "x"}).status_code == 403
    assert counts(session) == before
    resp = dispatcher.post(f"/api/incidents/{incident['id']}/cancel",
                           json={"reason": "duplicate of an earlier report"})
    assert resp.status_code == 200 and resp.json["status"] == "cancelled"
    session.expire_all()
    assert session.get(Team, psl1).status.value == "available"
    assert session.get(Incident, incident["id"]).cancelled_at is not None
    resp = dispatcher.post(f"/api/incidents/{incident['id']}/cancel", json={"reason": "again"})
    assert resp.status_code == 409


def test_team_goes_on_and_off_duty(login_as, session):
    member = login_as("team1")
    psl1, psl2 = team_id(session, "PSL-1"), team_id(session, "PSL-2")
    assert member.post(f"/api/teams/{psl1}/availability",
                       json={"available": False}).json["status"] == "off_duty"
    assert member.post(f"/api/teams/{psl2}/availability",
                       json={"available": False}).status_code == 403
    assert login_as("cm.dispatcher").post(f"/api/teams/{psl1}/availability",
                                          json={"available": True}).status_code == 404
    assert login_as("dispatcher").post(f"/api/teams/{psl1}/availability",
                                       json={"available": True}).json["status"] == "available"
    actions = session.scalars(select(AuditLog.detail).where(AuditLog.action == "team.status"))
    assert [(d["from"], d["to"]) for d in actions] == [("available", "off_duty"),
                                                       ("off_duty", "available")]


def test_reading_an_incident_is_audited(login_as, session):
    incident = new_incident(login_as)
    dispatcher = login_as("dispatcher")
    assert dispatcher.get(f"/api/incidents/{incident['id']}").status_code == 200
    assert dispatcher.get(f"/desk/incidents/{incident['id']}").status_code == 200
    session.expire_all()
    rows = session.scalars(select(AuditLog).where(AuditLog.action == "incident.viewed")).all()
    assert [r.entity_id for r in rows] == [incident["id"], incident["id"]]


def test_huge_ids_are_not_found_not_500(login_as):
    dispatcher = login_as("dispatcher")
    assert dispatcher.get("/api/incidents/" + "9" * 30).status_code == 404
    resp = dispatcher.post("/api/incidents/1/assign", json={"team_id": 10**30})
    assert resp.status_code == 422


def test_nul_characters_are_refused_cleanly(login_as, session, app):
    from tests.conftest import csrf_token

    calltaker = login_as("calltaker")
    before = counts(session)
    resp = calltaker.post("/api/calls", json=incident_body(summary="a\x00b"))
    assert resp.status_code == 422 and "summary" in resp.json["fields"]
    http = app.test_client()
    resp = http.post("/login", data={"username": "dis\x00patcher", "password": "x",
                                     "csrf_token": csrf_token(http)})
    assert resp.status_code == 401
    assert counts(session)["incident"] == before["incident"]


def test_map_point_must_lie_in_the_chosen_province(login_as, session):
    calltaker = login_as("calltaker")
    before = counts(session)
    body = incident_body()
    body["incident"]["location"] = {"province_code": "50", "lat": 16.8211, "lon": 100.2659}
    resp = calltaker.post("/api/calls", json=body)
    assert resp.status_code == 422 and "incident.location.lat" in resp.json["fields"]
    assert "พิษณุโลก" in resp.json["fields"]["incident.location.lat"]
    assert counts(session) == before


def test_print_maps_hold_no_outside_url(login_as, session):
    incident = new_incident(login_as)
    dispatcher = login_as("dispatcher")
    dispatcher.post(f"/api/incidents/{incident['id']}/assign",
                    json={"team_id": team_id(session, "PSL-1")})
    member = login_as("team1")
    for lat, lon in ((16.83, 100.27), (16.825, 100.265), (16.82, 100.26)):
        member.post("/api/teams/me/position", json={"lat": lat, "lon": lon})
    page = dispatcher.get(f"/desk/incidents/{incident['id']}/map").get_data(as_text=True)
    assert "L.polyline" in page and incident["ref"] in page
    supervisor = login_as("supervisor")
    shift = supervisor.get("/desk/reports/shift-map").get_data(as_text=True)
    live = supervisor.get("/desk/supervisor").get_data(as_text=True)
    for html in (page, shift, live):
        assert re.findall(r"https?://", html) == []  # air-gapped default: no outside URL at all
    # With a tile source configured, that source is the only outside URL.
    tiles = "https://tile.example.org/{z}/{x}/{y}.png"
    dispatcher.http.application.config["MAP_TILE_URL"] = tiles
    for url in (f"/desk/incidents/{incident['id']}/map",):
        html = dispatcher.get(url).get_data(as_text=True)
        assert set(re.findall(r"https?://[^\"' )]+", html)) == {tiles}
    html = supervisor.get("/desk/supervisor").get_data(as_text=True)
    assert set(re.findall(r"https?://[^\"' )]+", html)) == {tiles}


def race_assign(*attempts) -> list[int]:
    """Fire assignments (client, incident id, team id) at the same moment; sorted statuses."""
    barrier = threading.Barrier(len(attempts))
    results: list[int] = []

    def assign(client, incident_id, team):
        barrier.wait()
        results.append(client.post(f"/api/incidents/{incident_id}/assign",
                                   json={"team_id": team}).status_code)

    threads = [threading.Thread(target=assign, args=a) for a in attempts]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    return sorted(results)


def test_two_dispatchers_assigning_at_once_exactly_one_wins(app, login_as, session, backend):
    incident = new_incident(login_as)
    first, second = login_as("dispatcher"), login_as("supervisor")
    psl1, psl2 = team_id(session, "PSL-1"), team_id(session, "PSL-2")
    assert race_assign((first, incident["id"], psl1), (second, incident["id"], psl2)) == [200, 409]
    session.expire_all()
    row = session.get(Incident, incident["id"])
    busy = [t for t in (session.get(Team, psl1), session.get(Team, psl2))
            if t.status.value != "available"]
    assert len(busy) == 1 and row.team_id == busy[0].id


def test_recommendation_ranks_several_teams_by_travel_time(app, login_as, session):
    from datetime import timedelta

    from console.db import utcnow
    from console.models import User
    from dispatch import service as dispatch_service
    from geo.service import TravelSettings

    # Three available child-protection teams at 1, 5 and 20 km; one of them last seen 2 h ago.
    near, mid, far = (Team(code=c, name=c, province_code="65", skills=["child_protection"],
                           lat=lat, lon=100.26, position_at=utcnow())
                      for c, lat in (("N", 16.829), ("M", 16.865), ("F", 17.0)))
    stale = Team(code="S", name="S", province_code="65", skills=["child_protection"],
                 lat=16.8205, lon=100.26, position_at=utcnow() - timedelta(hours=2))
    session.add_all([near, mid, far, stale])
    session.commit()
    index = app.extensions["positions"]
    for team in (near, mid, far, stale):
        dispatch_service.index_position(index=index, team=team)
    incident = new_incident(login_as, province_code="65", lat=16.82, lon=100.26)
    user = session.scalar(select(User).where(User.username == "dispatcher"))
    got = dispatch_service.recommend_teams(
        session=session, incident_id=incident["id"], user=user, index=index,
        travel=TravelSettings(), max_age_minutes=30)
    codes = [s.team.code for s in got]
    # PSL-1 (demo, 0.6 km away, child protection) comes first; the stale team and PSL-2
    # (no child-protection skill) are left out; CMI teams are in another province.
    assert codes == ["PSL-1", "N", "M", "F"]
    assert all(a.eta_minutes <= b.eta_minutes for a, b in zip(got, got[1:], strict=False))
    assert len(got) <= 5


def test_two_dispatchers_assigning_the_same_team_at_once_exactly_one_wins(
    app, login_as, session, backend
):
    first_incident, second_incident = new_incident(login_as), new_incident(login_as)
    first, second = login_as("dispatcher"), login_as("supervisor")
    psl1 = team_id(session, "PSL-1")
    assert race_assign((first, first_incident["id"], psl1),
                       (second, second_incident["id"], psl1)) == [200, 409]
    session.expire_all()
    holders = [i for i in (session.get(Incident, first_incident["id"]),
                           session.get(Incident, second_incident["id"])) if i.team_id == psl1]
    assert len(holders) == 1 and session.get(Team, psl1).status.value == "offered"
