"""Bad input on every form and endpoint: a clear 4xx, a message per field, nothing written."""

from __future__ import annotations

import copy

import pytest

from tests.conftest import incident_body
from tests.integration.test_path_http import counts, team_id


def with_incident(**changes) -> dict:
    body = incident_body()
    for path, value in changes.items():
        target = body
        *parents, leaf = path.split("__")
        for key in parents:
            target = target[key]
        target[leaf] = value
    return body


BAD_CALLS = [
    ("no action", {k: v for k, v in incident_body().items() if k != "action"}, None),
    ("unknown action", {**incident_body(), "action": "delete"}, None),
    ("empty summary", with_incident(summary="  "), "summary"),
    ("bad phone", with_incident(number="12345"), "number"),
    ("letters phone", with_incident(number="08x-123-4567"), "number"),
    ("unknown category", with_incident(incident__category="aliens"), "incident.category"),
    ("missing priority", with_incident(incident__priority=None), "incident.priority"),
    ("priority P5", with_incident(incident__priority="P5"), "incident.priority"),
    ("no location", with_incident(incident__location={"province_code": None}),
     "incident.location"),
    ("unknown province", with_incident(incident__location__province_code="99"),
     "incident.location.province_code"),
    ("district of another province",
     with_incident(incident__location__district_code="5001"),
     "incident.location.district_code"),
    ("subdistrict of another district",
     with_incident(incident__location__subdistrict_code="500101"),
     "incident.location.subdistrict_code"),
    ("outside Thailand", with_incident(incident__location__lat=51.5,
                                       incident__location__lon=-0.12),
     "incident.location.lat"),
    ("half coordinates", with_incident(incident__location__lat=16.8), "incident.location"),
    ("text coordinates", with_incident(incident__location__lat="north",
                                       incident__location__lon=100.2),
     "incident.location.lat"),
    ("bad person", with_incident(incident__people=[{"age_group": "ancient"}]),
     "incident.people.0.age_group"),
    ("too many people", with_incident(incident__people=[{}] * 31), "incident.people"),
    ("unknown field", with_incident(incident__colour="red"), "incident.colour"),
    ("summary too long", with_incident(summary="ก" * 4001), "summary"),
    ("close without outcome", {"action": "close", "summary": "x"}, "outcome"),
    ("close as incident_created", {"action": "close", "summary": "x",
                                   "outcome": "incident_created"}, "outcome"),
    ("referral without agency", {"action": "close", "summary": "x",
                                 "outcome": "referred_elsewhere"}, "agency_id"),
    ("unknown agency", {"action": "close", "summary": "x", "outcome": "referred_elsewhere",
                        "agency_id": 999999}, "agency_id"),
    ("not an object", ["a list"], None),
]


@pytest.mark.parametrize("name,body,field", BAD_CALLS, ids=[c[0] for c in BAD_CALLS])
def test_bad_calls_are_refused_with_field_messages(login_as, session, name, body, field):
    calltaker = login_as("calltaker")
    before = counts(session)
    resp = calltaker.post("/api/calls", json=copy.deepcopy(body))
    assert 400 <= resp.status_code < 500, resp.json
    assert resp.json["error"]
    if field:
        assert field in resp.json["fields"], resp.json
        assert resp.json["fields"][field]
    assert counts(session) == before


def test_non_json_body_is_refused(login_as, session):
    calltaker = login_as("calltaker")
    before = counts(session)
    resp = calltaker.post("/api/calls", data="summary=x",
                          headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert resp.status_code == 409 or resp.status_code == 400
    assert resp.json["error"]
    assert counts(session) == before


@pytest.mark.parametrize("body", [{}, {"team_id": "PSL-1"}, {"team_id": None}, {"team": 1}, []])
def test_bad_assign_bodies(login_as, session, body):
    incident = login_as("calltaker").post("/api/calls", json=incident_body()).json["incident"]
    dispatcher = login_as("dispatcher")
    before = counts(session)
    resp = dispatcher.post(f"/api/incidents/{incident['id']}/assign", json=body)
    assert resp.status_code in (400, 422) and resp.json["error"]
    assert counts(session) == before


def test_bad_steps(login_as, session):
    incident = login_as("calltaker").post("/api/calls", json=incident_body()).json["incident"]
    dispatcher = login_as("dispatcher")
    dispatcher.post(f"/api/incidents/{incident['id']}/assign",
                    json={"team_id": team_id(session, "PSL-1")})
    member = login_as("team1")
    before = counts(session)
    assert member.post(f"/api/incidents/{incident['id']}/steps/fly", json={}).status_code == 404
    resp = member.post(f"/api/incidents/{incident['id']}/steps/acknowledge",
                       json={"note": "x" * 2001})
    assert resp.status_code == 422 and "note" in resp.json["fields"]
    assert member.post("/api/incidents/999999/steps/acknowledge", json={}).status_code == 404
    assert counts(session) == before


def test_csrf_is_required_on_every_post(login_as, session):
    calltaker = login_as("calltaker")
    before = counts(session)
    resp = calltaker.http.post("/api/calls", json=incident_body())
    assert resp.status_code == 400 and resp.json["error"]
    resp = calltaker.http.post("/logout")
    assert resp.status_code == 400
    assert counts(session) == before


def test_login_refuses_wrong_password_and_missing_fields(app, session):
    from tests.conftest import csrf_token

    http = app.test_client()
    token = csrf_token(http)
    resp = http.post("/login", data={"username": "dispatcher", "password": "nope",
                                     "csrf_token": token})
    assert resp.status_code == 401
    assert http.get("/api/state").status_code == 401
    resp = http.post("/login", data={"username": "", "password": "", "csrf_token": token})
    assert resp.status_code == 401


def test_unknown_language_falls_back_to_thai(login_as):
    from tests.conftest import csrf_token

    dispatcher = login_as("dispatcher")
    token = csrf_token(dispatcher.http, "/desk/dispatch")
    resp = dispatcher.http.post("/language", data={"lang": "xx", "next": "//evil.example/",
                                                   "csrf_token": token})
    assert resp.status_code == 302 and resp.headers["Location"] == "/"
    assert 'lang="th"' in dispatcher.get("/desk/dispatch").get_data(as_text=True)


def test_place_pickers_answer_garbage_with_empty_lists(login_as):
    calltaker = login_as("calltaker")
    assert calltaker.get("/api/geo/provinces/99/districts").json == []
    assert calltaker.get("/api/geo/districts/abcd/subdistricts").json == []
    assert calltaker.get("/api/geo/search?q=" + "ก" * 500 + "&level=planet").status_code == 200
    names = [p["name_th"] for p in calltaker.get("/api/geo/search?q=พิษณุโลก").json]
    assert "พิษณุโลก" in names
    assert len(calltaker.get("/api/geo/provinces").json) == 77


def test_login_redirect_never_leaves_the_site(app):
    from tests.conftest import csrf_token

    http = app.test_client()
    token = csrf_token(http)
    resp = http.post("/login?next=//evil.example/x", data={
        "username": "dispatcher", "password": "demo1300", "csrf_token": token})
    assert resp.status_code == 302 and resp.headers["Location"] == "/"


def test_geocode_answers_every_input_without_error(login_as):
    calltaker = login_as("calltaker")
    found = calltaker.get("/api/geo/geocode?q=ต.ท่าทอง อ.เมือง จ.พิษณุโลก").json
    assert found[0]["subdistrict_code"] == "650105" and found[0]["precision"] == "subdistrict"
    for q in ("", "%%%", "ก" * 1000, "16.8, 100.26", "\x00"):
        assert calltaker.get("/api/geo/geocode", query_string={"q": q}).status_code == 200
    assert calltaker.get("/api/geo/reverse?lat=abc&lon=1").status_code == 422
    assert calltaker.get("/api/geo/reverse?lat=51.5&lon=-0.1").status_code == 422
    assert calltaker.get("/api/geo/reverse?lat=16.82&lon=100.26").json["province"]["code"] == "65"
