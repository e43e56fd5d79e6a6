"""Least privilege (issue 12.3) with two provinces, Phitsanulok (65) and Chiang Mai (50).

Screen pops and caller history, caller flags, team positions, the case worker's reach, citizen
reports of the same reporter, and a route x role matrix: every route of the app declares who may
read it, and every other demo user is refused (401/403/404, or the login page).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

import pytest
from sqlalchemy import select

from cases.models import Case
from console.enums import Role
from console.extensions import socketio
from console.models import RealtimeEvent, User
from dispatch.models import Incident, Team
from ess.models import Attachment, Report
from telephony.models import Call, CallerFlag
from tests.conftest import Client, csrf_token, incident_body
from tests.ess_helpers import PSL, PSL_FAR, PSL_NEAR, make_api_key, png_bytes, report_body
from tests.telephony_fakes import Twilio, twiml

CM = (18.7883, 98.9853)  # Chiang Mai city (province 50)
PSL_LINE, CM_LINE, NO_LINE = "+6655123456", "+6653123456", "+6621111111"
EXTRA_USERS = [  # besides the demo's: the roles the demo has in one province only
    ("cm.calltaker", Role.CALL_TAKER, "50"),
    ("cm.caseworker", Role.CASE_WORKER, "50"),
    ("nat.calltaker", Role.CALL_TAKER, None),
    ("psl.agency", Role.AGENCY, "65"),  # answers for the first agency of Phitsanulok
    ("psl.volunteer", Role.VOLUNTEER, "65"),
]


@pytest.fixture
def app(phone_app, tmp_path, session, demo_hash):
    """The app with the phone line, photos in a temporary directory and the extra users."""
    phone_app.config["ESS_ATTACHMENT_DIR"] = str(tmp_path / "attachments")
    for username, role, province in EXTRA_USERS:
        user = User(username=username, display_name=username, password_hash=demo_hash,
                    role=role, province_code=province)
        if hasattr(User, "demo"):
            user.demo = True  # NOTE: stand-ins for demo users: no second login step asked.
        if role is Role.AGENCY:
            from cases.models import Agency

            user.agency_id = session.scalar(select(Agency.id).where(
                Agency.province_code == "65").order_by(Agency.id))
        session.add(user)
    session.commit()
    return phone_app


@pytest.fixture
def session(phone_app):
    s = phone_app.extensions["db_factory"]()
    yield s
    s.rollback()
    s.close()


def ring(tw: Twilio, sid: str, frm: str, to: str = PSL_LINE, digit: str = "1"):
    """A call that reaches its queue; returns the menu's TwiML."""
    tw.call(sid, "voice", frm=frm, to=to)
    return twiml(tw.call(sid, "menu", frm=frm, to=to, Digits=digit))


def pops(sock) -> list[dict]:
    return [e["args"][0]["data"] for e in sock.get_received() if e["name"] == "call.ringing"]


def api_report(http, key, lat_lon, **over) -> dict:
    resp = http.post("/api/v1/reports", json=report_body(lat_lon, **over), headers=key)
    assert resp.status_code == 201, resp.json
    return resp.json


def incident_of(session, report_id: int) -> Incident:
    session.expire_all()
    return session.get(Incident, session.get(Report, report_id).incident_id)


# --- 1. the screen pop and the caller's history ----------------------------------------------

def test_the_pop_shows_a_province_only_its_own_history_flags_and_work(app, session, login_as):
    number = "+66812345678"
    cm, psl, nat = login_as("cm.calltaker"), login_as("calltaker"), login_as("nat.calltaker")
    # Chiang Mai: a call that opened an incident, and a flag with its reason.
    body = incident_body()
    body["incident"]["location"].update(province_code="50", district_code="5001")
    assert cm.post("/api/calls", json=body).status_code == 201
    assert cm.post("/api/flags", json={"number": number, "level": "supervisor",
                                       "reason": "CM-REASON"}).status_code == 201
    # Phitsanulok: one call of its own.
    assert psl.post("/api/calls", json={"action": "close", "number": number, "summary": "ถาม",
                                        "outcome": "advice_given"}).status_code == 201
    cm_incident = session.scalar(select(Incident).where(Incident.province_code == "50"))
    psl_call = session.scalar(select(Call).where(Call.province_code == "65"))

    socks = {name: socketio.test_client(app, flask_test_client=c.http)
             for name, c in (("psl", psl), ("cm", cm), ("nat", nat))}
    for sock in socks.values():
        sock.get_received()
    menu = ring(Twilio(app), "CALP1", number)
    assert menu.find("Enqueue").text == "65"  # the Chiang Mai flag does not route this call
    got = {name: pops(sock) for name, sock in socks.items()}
    for sock in socks.values():
        sock.disconnect()

    [local] = got["psl"]
    assert local["times_called_before"] == 1
    assert [c["id"] for c in local["last_contacts"]] == [psl_call.id]
    assert local["open_incidents"] == [] and local["flags"] == [] and local["open_cases"] == []
    assert local["protected_because"] == ["other_province"]  # protected, details withheld
    assert local["applied_level"] is None and local["nuisance_level"] is None
    text = json.dumps(local, ensure_ascii=False)
    assert "CM-REASON" not in text and cm_incident.ref not in text
    [whole] = got["nat"]
    assert whole["times_called_before"] == 2
    assert [i["ref"] for i in whole["open_incidents"]] == [cm_incident.ref]
    assert [f["reason"] for f in whole["flags"]] == ["CM-REASON"]
    assert whole["protected_because"] == ["open_incident"]
    assert got["cm"] == []
    rooms = [e.rooms for e in session.scalars(select(RealtimeEvent).where(
        RealtimeEvent.name == "call.ringing").order_by(RealtimeEvent.seq))]
    assert rooms == [["calltakers:national", "supervisors:national"],
                     ["calltakers:65", "supervisors:65"]]

    # A console opening late gets the same split.
    [late] = psl.get("/api/calls/waiting").json
    assert late["open_incidents"] == [] and late["flags"] == []
    assert late["times_called_before"] == 1
    [late] = nat.get("/api/calls/waiting").json
    assert late["times_called_before"] == 2 and late["flags"]
    assert cm.get("/api/calls/waiting").json == []


def test_flags_route_only_their_provinces_calls_and_protection_counts_everywhere(
        app, session, login_as):
    tw = Twilio(app)
    psl, cm = login_as("calltaker"), login_as("cm.calltaker")
    nuisance = "+66820000001"
    assert cm.post("/api/flags", json={"number": nuisance, "level": "low_priority",
                                       "reason": "ก่อกวน"}).status_code == 201
    assert ring(tw, "CALF1", nuisance, to=PSL_LINE).find("Enqueue").text == "65"
    assert ring(tw, "CALF2", nuisance, to=CM_LINE).find("Enqueue").text == "50-low"
    # An at-risk flag in Chiang Mai protects the caller from Phitsanulok's own low priority.
    at_risk = "+66820000002"
    assert cm.post("/api/flags", json={"number": at_risk, "level": "at_risk",
                                       "reason": "RISK-CM"}).status_code == 201
    assert psl.post("/api/flags", json={"number": at_risk, "level": "low_priority",
                                        "reason": "โทรซ้ำ"}).status_code == 201
    assert ring(tw, "CALF3", at_risk, to=PSL_LINE).find("Enqueue").text == "65"
    [pop] = [p for p in psl.get("/api/calls/waiting").json if p["number"] == at_risk]
    assert [f["reason"] for f in pop["flags"]] == ["โทรซ้ำ"]
    assert pop["nuisance_level"] == "low_priority" and pop["applied_level"] is None
    assert pop["protected_because"] == ["other_province"]
    # Without the protection, the province's own flag does route the province's call.
    assert ring(tw, "CALF4", "+66820000003", to=PSL_LINE).find("Enqueue").text == "65"
    assert psl.post("/api/flags", json={"number": "+66820000003", "level": "low_priority",
                                        "reason": "โทรซ้ำ"}).status_code == 201
    assert ring(tw, "CALF5", "+66820000003", to=PSL_LINE).find("Enqueue").text == "65-low"


def test_a_national_queue_call_pops_for_national_call_takers_only(app, session, login_as):
    psl, nat = login_as("calltaker"), login_as("nat.calltaker")
    socks = {name: socketio.test_client(app, flask_test_client=c.http)
             for name, c in (("psl", psl), ("nat", nat))}
    for sock in socks.values():
        sock.get_received()
    assert ring(Twilio(app), "CALN1", "+66830000001", to=NO_LINE).find(
        "Enqueue").text == "national"
    got = {name: pops(sock) for name, sock in socks.items()}
    for sock in socks.values():
        sock.disconnect()
    assert got["psl"] == [] and len(got["nat"]) == 1
    call_id = got["nat"][0]["id"]
    assert psl.get("/api/calls/waiting").json == []
    assert [p["id"] for p in nat.get("/api/calls/waiting").json] == [call_id]
    assert psl.post(f"/api/calls/{call_id}/accept", json={}).status_code == 404
    assert psl.post(f"/api/calls/{call_id}/callback", json={}).status_code == 404


# --- 2. caller flags -----------------------------------------------------------------------

def test_flags_are_listed_and_lifted_within_their_province(app, session, login_as):
    psl, cm, national = login_as("calltaker"), login_as("cm.calltaker"), login_as("national")

    def make(client, reason):
        resp = client.post("/api/flags", json={"number": "0841234567", "level": "warn",
                                               "reason": reason})
        assert resp.status_code == 201, resp.json
        return resp.json

    a, b, c = make(psl, "F-65"), make(cm, "F-50"), make(national, "F-ALL")
    assert (a["province_code"], b["province_code"], c["province_code"]) == ("65", "50", None)
    assert [f["reason"] for f in psl.get("/api/flags").json] == ["F-65"]
    assert [f["reason"] for f in login_as("supervisor").get("/api/flags").json] == ["F-65"]
    assert [f["reason"] for f in cm.get("/api/flags").json] == ["F-50"]
    assert [f["reason"] for f in national.get("/api/flags").json] == ["F-ALL", "F-50", "F-65"]
    for client, flag in ((psl, b), (psl, c), (cm, a), (cm, c)):
        assert client.post(f"/api/flags/{flag['id']}/lift", json={}).status_code == 404
    session.expire_all()
    assert all(f.active for f in session.scalars(select(CallerFlag)))
    assert psl.post(f"/api/flags/{a['id']}/lift", json={}).status_code == 200
    assert national.post(f"/api/flags/{b['id']}/lift", json={}).status_code == 200
    assert [f["reason"] for f in national.get("/api/flags").json] == ["F-ALL"]


# --- 3. teams ---------------------------------------------------------------------------------

def test_a_member_sees_only_their_own_team_and_desks_only_their_province(app, login_as):
    def codes(username):
        resp = login_as(username).get("/api/teams")
        assert resp.status_code == 200, (username, resp.json)
        return sorted(t["code"] for t in resp.json)

    assert codes("team1") == ["PSL-1"] and codes("team2") == ["PSL-2"]
    assert codes("cm.team1") == ["CMI-1"]
    assert codes("dispatcher") == codes("calltaker") == ["PSL-1", "PSL-2", "PSL-3"]
    assert codes("cm.dispatcher") == ["CMI-1", "CMI-2"]
    assert len(codes("national")) == 5
    member = login_as("team1").get("/api/teams").json[0]
    assert member["lat"] is not None  # their own position, as the phone shows it
    assert login_as("caseworker").get("/api/teams").status_code == 403
    state = login_as("team1").get("/api/state").json
    assert [t["code"] for t in state["teams"]] == ["PSL-1"]


def test_a_team_position_reaches_its_own_team_and_the_province_desks(app, login_as):
    users = ("team1", "team2", "dispatcher", "cm.dispatcher")
    clients = {u: login_as(u) for u in users}
    socks = {u: socketio.test_client(app, flask_test_client=c.http) for u, c in clients.items()}
    for sock in socks.values():
        sock.get_received()
    assert clients["team2"].post("/api/teams/me/position",
                                 json={"lat": 16.8, "lon": 100.2}).status_code == 200
    heard = {u: [e["args"][0]["data"]["code"] for e in s.get_received()
                 if e["name"] == "team.updated"] for u, s in socks.items()}
    for sock in socks.values():
        sock.disconnect()
    assert heard == {"team1": [], "team2": ["PSL-2"], "dispatcher": ["PSL-2"],
                     "cm.dispatcher": []}


# --- 4. the case worker ---------------------------------------------------------------------

def _with_photo(http, key, lat_lon) -> dict:
    from tests.integration.test_ess_api import _multipart

    resp = http.post("/api/v1/reports", data=_multipart(report_body(lat_lon), [(png_bytes(),
                                                                                 "a.png")]),
                     content_type="multipart/form-data", headers=key)
    assert resp.status_code == 201, resp.json
    return resp.json


def hand_over(session, login_as, incident_id: int, team_code: str = "PSL-1",
              member: str = "team1") -> None:
    team_id = session.scalar(select(Team.id).where(Team.code == team_code))
    assert login_as("dispatcher").post(f"/api/incidents/{incident_id}/assign",
                                       json={"team_id": team_id}).status_code == 200
    client = login_as(member)
    for step in ("acknowledge", "en-route", "on-scene", "resolve"):
        resp = client.post(f"/api/incidents/{incident_id}/steps/{step}", json={"note": ""})
        assert resp.status_code == 200, resp.json


def test_a_case_worker_reads_incidents_and_photos_of_their_cases_only(app, session, login_as):
    http, key = app.test_client(), {"X-Api-Key": make_api_key(app)}
    with_case = _with_photo(http, key, PSL)
    without = _with_photo(http, key, PSL_FAR)
    a, b = incident_of(session, with_case["id"]), incident_of(session, without["id"])
    assert a.id != b.id
    hand_over(session, login_as, a.id)
    session.expire_all()
    case = session.scalar(select(Case).where(Case.incident_id == a.id))
    photo_a = session.scalar(select(Attachment.id).where(Attachment.report_id == with_case["id"]))
    photo_b = session.scalar(select(Attachment.id).where(Attachment.report_id == without["id"]))

    worker, other = login_as("caseworker"), login_as("cm.caseworker")
    assert worker.get(f"/api/incidents/{a.id}").status_code == 200
    assert worker.get(f"/api/ess/attachments/{photo_a}").status_code == 200
    assert worker.get(f"/api/incidents/{b.id}").status_code == 404
    assert worker.get(f"/api/ess/attachments/{photo_b}").status_code == 404
    assert worker.get(f"/desk/incidents/{a.id}").status_code == 403
    assert worker.get(f"/desk/cases/{case.id}").status_code == 200
    assert login_as("dispatcher").get(f"/api/incidents/{b.id}").status_code == 200
    for url in (f"/api/incidents/{a.id}", f"/api/ess/attachments/{photo_a}",
                f"/desk/cases/{case.id}"):
        assert other.get(url).status_code == 404, url
    assert case.ref not in other.get("/api/cases").get_data(as_text=True)


# --- 5. citizen reports of the same reporter -------------------------------------------------

def test_the_same_reporter_elsewhere_gets_a_new_incident_flagged_for_the_desk(
        app, session, login_as):
    http, key = app.test_client(), {"X-Api-Key": make_api_key(app)}
    contact = "0811111111"
    first = api_report(http, key, CM, contact=contact)
    second = api_report(http, key, PSL, contact=contact)
    cm_incident = incident_of(session, first["id"])
    psl_incident = incident_of(session, second["id"])
    assert cm_incident.province_code == "50" and psl_incident.province_code == "65"
    assert second["number"] == psl_incident.ref != cm_incident.ref
    assert psl_incident.same_reporter_id == cm_incident.id
    # The reporter's status shows only their own report's incident.
    status = http.get(f"/api/v1/reports/{second['id']}",
                      headers={**key, "X-Report-Token": second["token"]})
    assert status.status_code == 200 and status.json["number"] == psl_incident.ref
    assert cm_incident.ref not in status.get_data(as_text=True)
    status = http.get(f"/api/v1/reports/{first['id']}",
                      headers={**key, "X-Report-Token": first["token"]})
    assert status.json["number"] == cm_incident.ref
    # The desk hears "same reporter"; the number only where it may be seen.
    created = session.scalars(select(RealtimeEvent).where(
        RealtimeEvent.name == "incident.created").order_by(RealtimeEvent.seq)).all()[-1]
    assert created.payload["data"]["id"] == psl_incident.id
    assert created.payload["data"]["same_reporter"] == {"incident_id": None, "ref": None}
    assert cm_incident.ref not in json.dumps(created.payload, ensure_ascii=False)
    dispatcher, national = login_as("dispatcher"), login_as("national")
    assert dispatcher.get(f"/api/incidents/{psl_incident.id}").json["same_reporter"] == {
        "incident_id": None, "ref": None}
    assert national.get(f"/api/incidents/{psl_incident.id}").json["same_reporter"] == {
        "incident_id": cm_incident.id, "ref": cm_incident.ref}
    page = dispatcher.get(f"/desk/incidents/{psl_incident.id}").get_data(as_text=True)
    assert "ผู้แจ้งรายเดียวกับเรื่องแจ้งเหตุอื่น" in page and cm_incident.ref not in page
    page = national.get(f"/desk/incidents/{psl_incident.id}").get_data(as_text=True)
    assert f"ผู้แจ้งรายเดียวกับเรื่องแจ้งเหตุ {cm_incident.ref}" in page
    desk = dispatcher.get("/desk/dispatch").get_data(as_text=True)  # the queue's label text
    text = json.loads(re.search(r'id="dispatch-text" type="application/json">(.*?)</script>',
                                desk, re.S).group(1))
    assert text["same_reporter"] == "ผู้แจ้งรายเดียวกับเรื่องแจ้งเหตุ %(ref)s"
    assert login_as("cm.dispatcher").get(f"/api/incidents/{psl_incident.id}").status_code == 404

    # Same province, too far: new incident, its neighbour named on every desk of the province.
    far = api_report(http, key, PSL_FAR, contact=contact)
    far_incident = incident_of(session, far["id"])
    assert far_incident.id != psl_incident.id
    assert dispatcher.get(f"/api/incidents/{far_incident.id}").json["same_reporter"] == {
        "incident_id": psl_incident.id, "ref": psl_incident.ref}
    # Near and recent: the same reporter joins, whatever the category.
    near = api_report(http, key, PSL_NEAR, contact=contact, category="other")
    assert near["number"] == psl_incident.ref
    # Near but too late: a new incident again.
    app.config["ESS_DEDUPE_MINUTES"] = 0
    late = api_report(http, key, PSL, contact=contact)
    assert late["number"] not in {psl_incident.ref, far_incident.ref}
    assert incident_of(session, late["id"]).same_reporter_id is not None


def test_a_line_reporter_elsewhere_is_asked_for_the_place_and_gets_a_new_incident(
        app, session):
    import time

    from tests.ess_helpers import LineServer, line_event, line_signature
    from tests.jobs_helpers import run_jobs

    server = LineServer(content=png_bytes())
    app.config.update(LINE_CHANNEL_SECRET="secret", LINE_CHANNEL_ACCESS_TOKEN="token",
                      LINE_API_BASE=server.url, LINE_DATA_API_BASE=server.url,
                      ESS_LINE_WINDOW_MINUTES=10)
    http = app.test_client()

    def send(event):
        body = json.dumps({"destination": "Ubot", "events": [event]}).encode()
        resp = http.post("/line/webhook", data=body, content_type="application/json",
                         headers={"X-Line-Signature": line_signature("secret", body)})
        assert resp.status_code == 200
        run_jobs(app)  # NOTE: the answers are sent by the job worker.

    def at(minutes_ago):
        return int((time.time() - minutes_ago * 60) * 1000)

    try:
        send(line_event("location", event_id="l1", at_ms=at(30), latitude=CM[0],
                        longitude=CM[1]))
        cm_incident = session.scalar(select(Incident))
        send(line_event("text", event_id="t1", at_ms=at(0), text="มาอีกแล้ว"))
        session.expire_all()
        latest = session.scalars(select(Report).order_by(Report.id.desc())).first()
        assert latest.incident_id is None  # not joined to the Chiang Mai incident
        replies = [b["messages"][0]["text"] for b in server.posted("/v2/bot/message/reply")]
        assert "ตำแหน่ง" in replies[-1] and cm_incident.ref not in replies[-1]
        send(line_event("location", event_id="l2", at_ms=at(0), latitude=PSL[0],
                        longitude=PSL[1]))
        session.expire_all()
        latest = session.get(Report, latest.id)
        new = session.get(Incident, latest.incident_id)
        assert new.province_code == "65" and new.same_reporter_id == cm_incident.id
        replies = [b["messages"][0]["text"] for b in server.posted("/v2/bot/message/reply")]
        assert f"ESS-{latest.id:06d}" in replies[-1]
        assert all(cm_incident.ref not in r and new.ref not in r for r in replies)
    finally:
        server.close()


# --- the route x role matrix ----------------------------------------------------------------

PSL_DESK = frozenset({"calltaker", "dispatcher", "supervisor", "national", "admin",
                      "nat.calltaker"})
PSL_DISPATCH = frozenset({"dispatcher", "supervisor", "national", "admin"})
PSL_CALLS = frozenset({"calltaker", "supervisor", "national", "admin", "nat.calltaker"})
CALLS_DESK = PSL_CALLS | {"cm.calltaker"}
DISPATCH_DESK = PSL_DISPATCH | {"cm.dispatcher"}
SUPERVISORS = frozenset({"supervisor", "national", "admin"})
MEMBERS = frozenset({"team1", "team2", "cm.team1"})
PSL_CASES = frozenset({"caseworker", "supervisor", "national", "admin"})
CASES_DESK = PSL_CASES | {"cm.caseworker"}
USERS = ("calltaker", "dispatcher", "supervisor", "team1", "team2", "caseworker",
         "cm.dispatcher", "cm.team1", "national", "admin", "cm.calltaker", "cm.caseworker",
         "nat.calltaker", "psl.agency", "psl.volunteer")
ALL_USERS = frozenset(USERS)
PARTNERS = frozenset({"psl.agency", "psl.volunteer"})  # see only their referrals / tasks


@dataclass
class Probe:
    """One request: who gets an answer (2xx); everyone else must be refused. For lists,
    `marker` is Phitsanulok's data that exactly `sees` find in the answer. Writes are sent
    only by those who must be refused (what they change is tested elsewhere)."""

    method: str
    url: str
    ok: frozenset[str]
    body: dict | None = None
    marker: str | None = None
    sees: frozenset[str] = field(default_factory=frozenset)


# Routes that need no rule: nothing personal in them, or their own gate tested below.
EXEMPT = {
    "static": "public files",
    "console.home": "a redirect to the user's desk",
    "console.favicon": "the public icon",
    "console.login": "the login form",
    "console.logout": "ends the caller's own session",
    "console.set_language": "a language cookie",
    "ess_api.openapi": "the public API document",
    "ess_api.docs": "the public API document",
    "accounts.login_code": "the second login step of the one logging in",
    "accounts.login_setup": "the first-login setup of the one logging in",
    "accounts.account": "the user's own account",
    "accounts.password": "the user's own password",
    "accounts.setup": "the user's own second factor",
    "accounts.renew_recovery_codes": "the user's own recovery codes",
    # Counts only; its own gate (METRICS_TOKEN, else direct loopback) is tested in test_health:
    # the test client's requests come from loopback.
    "health.metrics_page": "process metrics behind a token or loopback (test_health)",
}
WEBHOOKS = {  # signed by the provider: refused unsigned (see test_signed_and_keyed_routes)
    # The agency's referral page: the signed, expiring link is the key (test_case_referrals).
    "referral_link.page", "referral_link.step",
    # A volunteer's task without an account: the same kind of link (test_partners).
    "task_link.page", "task_link.record",
    "twilio_hooks.voice", "twilio_hooks.menu", "twilio_hooks.case", "twilio_hooks.wait",
    "twilio_hooks.queue_result", "twilio_hooks.recorded", "twilio_hooks.recording",
    "twilio_hooks.status", "ess_line.line_webhook", "ess_api.create_report",
    "ess_api.report_status",
}


def _subsidy_with_document(app, session, case) -> None:
    """A subsidy request on the case with one stored document."""
    from pathlib import Path

    from cases.models import Subsidy, SubsidyDocument
    from console.db import utcnow

    subsidy = Subsidy(case_id=case.id, province_code=case.province_code, amount_satang=100000,
                      reason="LP-SUBSIDY-65", budget_line="emergency_relief",
                      levels=["team_head", "provincial_office"], requested_at=utcnow())
    subsidy.documents.append(SubsidyDocument(stored_name="lpsubsidydoc", content_type="image/png",
                                             size=len(png_bytes()), sha256="0" * 64))
    session.add(subsidy)
    session.commit()
    folder = Path(app.config["ESS_ATTACHMENT_DIR"])
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "lpsubsidydoc").write_bytes(png_bytes())


def build_world(app, session, login_as) -> dict:
    """Phitsanulok's objects every probe points at."""
    tw = Twilio(app)
    calltaker = login_as("calltaker")
    resp = calltaker.post("/api/calls", json=incident_body())
    assert resp.status_code == 201
    open_id = resp.json["incident"]["id"]
    team2 = session.scalar(select(Team).where(Team.code == "PSL-2"))
    team3 = session.scalar(select(Team).where(Team.code == "PSL-3"))
    dispatcher = login_as("dispatcher")
    assert dispatcher.post(f"/api/incidents/{open_id}/assign",
                           json={"team_id": team2.id}).status_code == 200
    member2 = login_as("team2")
    assert member2.post(f"/api/incidents/{open_id}/steps/acknowledge",
                        json={"note": ""}).status_code == 200
    assert member2.post("/api/teams/me/sos", json={"note": "LP-SOS-65"}).status_code == 201

    http, key = app.test_client(), {"X-Api-Key": make_api_key(app)}
    reported = _with_photo(http, key, PSL)
    case_incident = incident_of(session, reported["id"])
    hand_over(session, login_as, case_incident.id)
    session.expire_all()
    case = session.scalar(select(Case).where(Case.incident_id == case_incident.id))
    photo = session.scalar(select(Attachment.id).where(Attachment.report_id == reported["id"]))
    alarm_id = login_as("dispatcher").get("/api/alarms").json[0]["id"]
    _subsidy_with_document(app, session, case)  # subsidy 1 with document 1 (the probes)

    ring(tw, "CAMX1", "+66819990065")  # waiting
    ring(tw, "CAMX2", "+66819990066")
    tw.call("CAMX2", "status", frm="+66819990066", CallStatus="no-answer")  # to call back
    waiting = session.scalar(select(Call.id).where(Call.call_sid == "CAMX1"))
    missed = session.scalar(select(Call.id).where(Call.call_sid == "CAMX2"))
    flag = calltaker.post("/api/flags", json={"number": "0819990067", "level": "warn",
                                              "reason": "LP-FLAG-65"}).json
    from console.db import utcnow
    from jobs.enums import JobState
    from jobs.models import OutboundJob

    session.add(OutboundJob(kind="sms.alarm", payload={}, state=JobState.DEAD, attempts=5,
                            reason="timeout", province_code="65", recipient="LP-JOB-65",
                            finished_at=utcnow()))
    referral = _open_referral(app, session, case.id)
    session.commit()
    partner = _partner_world(session, case)
    session.commit()
    return {**partner, "open": open_id, "case_incident": case_incident.id,
            "case_ref": case_incident.ref,
            "open_ref": session.get(Incident, open_id).ref, "case": case.id,
            "case_no": case.ref, "photo": photo, "report": reported["id"], "alarm": alarm_id,
            "waiting": waiting, "missed": missed, "flag": flag["id"], "team3": team3.id,
            "user": session.scalar(select(User.id).where(User.username == "dispatcher")),
            "referral": referral}


def _open_referral(app, session, case_id: int) -> int:
    """A referral of the case waiting for its agency (its letter can be printed)."""
    from datetime import timedelta

    from cases.flows import seal_nonce
    from cases.models import Agency, Referral
    from console.db import utcnow

    now = utcnow()
    agency = session.scalar(select(Agency.id).where(Agency.province_code == "65"))
    row = Referral(case_id=case_id, agency_id=agency, service="LP-REF-65", status="sent",
                   shared={}, nonce_hash="0" * 64, link_expires_at=now + timedelta(days=9),
                   ack_due_at=now + timedelta(days=1), accept_due_at=now + timedelta(days=2),
                   sent_at=now)
    session.add(row)
    session.flush()
    row.nonce_sealed = seal_nonce("n", secret=app.config["SECRET_KEY"], referral_id=row.id)
    return row.id


def _partner_world(session, case) -> dict:
    """A referral to the agency of psl.agency and a follow-up given to psl.volunteer."""
    from datetime import timedelta

    from cases.enums import FollowUpKind
    from cases.models import Agency, FollowUp, Referral
    from console.db import utcnow

    now = utcnow()
    agency = session.scalar(select(Agency.id).where(Agency.province_code == "65")
                            .order_by(Agency.id))
    referral = Referral(case_id=case.id, agency_id=agency, service="LP-AGENCY-65",
                        status="sent", shared={"case_ref": case.ref, "summary": "LP-SHARED"},
                        nonce_hash=None, link_expires_at=now + timedelta(days=9),
                        ack_due_at=now + timedelta(days=1), accept_due_at=now + timedelta(days=2),
                        sent_at=now)
    volunteer = session.scalar(select(User.id).where(User.username == "psl.volunteer"))
    task = FollowUp(case_id=case.id, kind=FollowUpKind.VISIT, due_on=now.date(),
                    assigned_to_id=volunteer, purpose="LP-TASK-65", volunteer_name="อพม.")
    session.add_all([referral, task])
    session.flush()
    return {"agency_referral": referral.id, "task": task.id}


def probes(w: dict) -> dict[str, list[Probe]]:
    """Every route's rule, as requests about Phitsanulok's objects."""
    held_open = PSL_DESK | {"team2"}
    held_case = PSL_DESK | {"team1", "caseworker"}
    geo = ALL_USERS
    inc = f"/api/incidents/{w['open']}"
    return {
        "console.session_info": [Probe("GET", "/api/session", ALL_USERS)],
        "console.state": [Probe("GET", "/api/state", ALL_USERS, marker=w["open_ref"],
                                sees=held_open)],
        "console.calls_desk": [Probe("GET", "/desk/calls", CALLS_DESK)],
        "console.dispatch_desk": [Probe("GET", "/desk/dispatch", DISPATCH_DESK)],
        "console.team_desk": [Probe("GET", "/desk/team", MEMBERS)],
        "console.supervisor_desk": [Probe("GET", "/desk/supervisor", SUPERVISORS)],
        "console.escalation_desk": [Probe("GET", "/desk/escalation", frozenset({"admin"}))],
        "console.cases_desk": [Probe("GET", "/desk/cases", CASES_DESK, marker=w["case_no"],
                                     sees=PSL_CASES)],
        "console.case_detail": [Probe("GET", f"/desk/cases/{w['case']}", PSL_CASES)],
        "console.incident_detail": [
            Probe("GET", f"/desk/incidents/{w['case_incident']}", PSL_DISPATCH)],
        "console.incident_print_map": [
            Probe("GET", f"/desk/incidents/{w['case_incident']}/map", PSL_DISPATCH)],
        "console.shift_print_map": [Probe("GET", "/desk/reports/shift-map", SUPERVISORS)],
        "dispatch.get_incident": [
            Probe("GET", inc, held_open),
            Probe("GET", f"/api/incidents/{w['case_incident']}", held_case)],
        "dispatch.teams": [Probe("GET", "/api/teams", ALL_USERS - PARTNERS - {"caseworker",
                                                                              "cm.caseworker"},
                                 marker="PSL-2", sees=PSL_DESK | {"team2"})],
        "dispatch.alarms": [Probe("GET", "/api/alarms", DISPATCH_DESK, marker="LP-SOS-65",
                                  sees=PSL_DISPATCH)],
        "jobs.failed": [Probe("GET", "/api/outbound/failed", DISPATCH_DESK, marker="LP-JOB-65",
                              sees=PSL_DISPATCH)],
        "dispatch.handle_alarm": [Probe("POST", f"/api/alarms/{w['alarm']}/handle",
                                        PSL_DISPATCH)],
        "dispatch.recommendations": [Probe("GET", f"{inc}/recommendations", PSL_DISPATCH)],
        "dispatch.duplicates": [Probe("GET", f"{inc}/duplicates", PSL_DESK)],
        "dispatch.board_duplicates": [Probe("GET", "/api/incidents/duplicates", DISPATCH_DESK)],
        # Fusion on the desk (test_fusion_dismiss_split): "not a duplicate" and a merge split
        # again, the province's dispatchers and supervisors.
        "dispatch.not_duplicate": [Probe("POST", f"{inc}/not-duplicate", PSL_DISPATCH,
                                         {"other_id": w["case_incident"]})],
        "ess_desk.split_merge": [Probe("POST", f"{inc}/split", PSL_DISPATCH,
                                       {"merged_id": w["case_incident"]})],
        "dispatch.assign": [Probe("POST", f"{inc}/assign", PSL_DISPATCH,
                                  {"team_id": w["team3"]})],
        "dispatch.step": [Probe("POST", f"{inc}/steps/en-route", PSL_DISPATCH | {"team2"},
                                {"note": ""})],
        "dispatch.cancel": [Probe("POST", f"{inc}/cancel", PSL_DISPATCH, {"reason": "x"})],
        "dispatch.decline": [Probe("POST", f"{inc}/decline", frozenset({"team2"}),
                                   {"reason": "x"})],
        "dispatch.checkin": [Probe("POST", f"{inc}/checkin", frozenset({"team2"}), {})],
        "dispatch.availability": [Probe("POST", f"/api/teams/{w['team3']}/availability",
                                        PSL_DISPATCH, {"available": True})],
        "dispatch.report_position": [Probe("POST", "/api/teams/me/position", MEMBERS,
                                           {"lat": 16.8, "lon": 100.2})],
        "dispatch.sos": [Probe("POST", "/api/teams/me/sos", MEMBERS, {"note": ""})],
        "dispatch.get_ladders": [Probe("GET", "/api/escalation/65", frozenset({"admin"}))],
        "dispatch.put_ladder": [Probe("PUT", "/api/escalation/65/P2", frozenset({"admin"}),
                                      {"rungs": [{"action": "team", "wait_seconds": 60}]})],
        "telephony.log_call": [Probe("POST", "/api/calls", CALLS_DESK, {"action": "x"})],
        "telephony.accept": [Probe("POST", f"/api/calls/{w['waiting']}/accept", PSL_CALLS, {})],
        "telephony.call_back": [Probe("POST", f"/api/calls/{w['missed']}/callback",
                                      PSL_CALLS, {})],
        "telephony.waiting": [Probe("GET", "/api/calls/waiting", CALLS_DESK,
                                    marker="+66819990065", sees=PSL_CALLS)],
        "telephony.answer_times": [Probe("GET", "/api/calls/answer-times", SUPERVISORS)],
        "telephony_api.callbacks": [Probe("GET", "/api/callbacks", CALLS_DESK,
                                          marker="+66819990066", sees=PSL_CALLS)],
        "telephony_api.flags": [Probe("GET", "/api/flags", CALLS_DESK, marker="LP-FLAG-65",
                                      sees=PSL_CALLS)],
        "telephony_api.create_flag": [Probe("POST", "/api/flags", CALLS_DESK, {})],
        "telephony_api.lift_flag": [Probe("POST", f"/api/flags/{w['flag']}/lift", PSL_CALLS,
                                          {})],
        "telephony_api.incident_messages": [
            Probe("GET", f"/api/incidents/{w['case_incident']}/messages", PSL_DISPATCH)],
        "telephony_api.simulate_hangup": [
            Probe("POST", f"/api/simulator/calls/{w['waiting']}/hangup", SUPERVISORS, {})],
        "dispatch.reporter_contact": [
            Probe("GET", f"{inc}/contact", held_open),
            Probe("GET", f"/api/incidents/{w['case_incident']}/contact",
                  PSL_DESK | {"caseworker"})],
        "telephony_api.simulate_incoming_call": [
            Probe("POST", "/api/simulator/incoming-call", SUPERVISORS, {"digit": "1"})],
        "cases.list_cases": [Probe("GET", "/api/cases", CASES_DESK, marker=w["case_no"],
                                   sees=PSL_CASES)],
        "cases.open_case": [Probe("POST", "/api/cases", CASES_DESK, {})],
        "cases.move": [Probe("POST", f"/api/cases/{w['case']}/move", PSL_CASES,
                             {"to": "fact_finding"})],
        "cases.add_person": [Probe("POST", f"/api/cases/{w['case']}/people", PSL_CASES,
                                   {"full_name": "LP", "no_id_reason": "not_given"})],
        "cases.reveal_national_id": [
            Probe("POST", f"/api/cases/{w['case']}/people/1/national-id", PSL_CASES, {})],
        # Persons across cases and transfers (test_case_persons): a merge and a transfer's
        # answer are checked against the persons' and the receiving province in the service.
        "cases.person_duplicates": [Probe("POST", f"/api/cases/{w['case']}/people/duplicates",
                                          PSL_CASES, {})],
        "cases.merge_persons": [Probe("POST", "/api/cases/persons/merge", CASES_DESK, {})],
        "cases.propose_transfer": [Probe("POST", f"/api/cases/{w['case']}/transfer", PSL_CASES,
                                         {})],
        "cases.incoming_transfers": [Probe("GET", "/api/cases/transfers", CASES_DESK)],
        "cases.answer_transfer": [Probe("POST", "/api/cases/transfers/1/accept", CASES_DESK,
                                        {})],
        # Hand-over between workers and transfer gaps (test_case_handover): who may offer,
        # answer or withdraw, and the case's place, are checked again in the service.
        "cases.offer_handover": [Probe("POST", f"/api/cases/{w['case']}/handover", PSL_CASES,
                                       {})],
        "cases.handover_list": [Probe("GET", "/api/cases/handovers", CASES_DESK)],
        "cases.answer_handover": [Probe("POST", "/api/cases/handovers/1/accept", CASES_DESK,
                                        {})],
        "cases.withdraw_transfer": [Probe("POST", "/api/cases/transfers/1/withdraw", CASES_DESK,
                                          {})],
        "cases.set_place": [Probe("PUT", f"/api/cases/{w['case']}/place", PSL_CASES, {})],
        "cases.assign": [Probe("POST", f"/api/cases/{w['case']}/assign", PSL_CASES,
                               {"user_id": 1})],
        "cases.save_assessment": [Probe("PUT", f"/api/cases/{w['case']}/assessment",
                                        PSL_CASES, {})],
        "cases.add_action": [Probe("POST", f"/api/cases/{w['case']}/actions", PSL_CASES, {})],
        "cases.update_action": [Probe("POST", f"/api/cases/{w['case']}/actions/1", PSL_CASES,
                                      {"status": "done"})],
        "console.case_status_levels": [Probe("GET", "/desk/cases/status", CASES_DESK)],
        "cases.record_consent": [Probe("POST", f"/api/cases/{w['case']}/consents", PSL_CASES,
                                       {})],
        "cases.send_referral": [Probe("POST", f"/api/cases/{w['case']}/referrals", PSL_CASES,
                                      {})],
        "cases.revoke_referral": [Probe("POST", f"/api/cases/{w['case']}/referrals/1/revoke",
                                        PSL_CASES, {"reason": "x"})],
        # The desk's referral views (test_case_reminders): the province's case desks; the
        # agencies' times for supervisors; the printed letter of an open referral.
        "cases.referral_list": [Probe("GET", "/api/cases/referrals?view=team", CASES_DESK,
                                      marker="LP-REF-65", sees=PSL_CASES)],
        "cases.referral_times": [Probe("GET", "/api/cases/referral-times", SUPERVISORS)],
        "case_referrals.referrals_desk": [Probe("GET", "/desk/cases/referrals", CASES_DESK)],
        "case_referrals.referral_letter": [
            Probe("GET", f"/desk/cases/{w['case']}/referrals/{w['referral']}/letter",
                  PSL_CASES)],
        # Agency users and อพม. volunteers (test_partners): their own referrals and tasks only.
        "partners.agency_desk": [Probe("GET", "/desk/agency", frozenset({"psl.agency"}),
                                       marker=w["case_no"], sees=frozenset({"psl.agency"}))],
        "partners.agency_referrals": [Probe("GET", "/api/agency/referrals",
                                            frozenset({"psl.agency"}), marker="LP-AGENCY-65",
                                            sees=frozenset({"psl.agency"}))],
        "partners.agency_referral": [Probe("GET", f"/api/agency/referrals/{w['agency_referral']}",
                                           frozenset({"psl.agency"}), marker="LP-SHARED",
                                           sees=frozenset({"psl.agency"}))],
        "partners.agency_step": [Probe("POST",
                                       f"/api/agency/referrals/{w['agency_referral']}/step",
                                       frozenset({"psl.agency"}), {"to": "acknowledged"})],
        "partners.give_to_volunteer": [Probe(
            "POST", f"/api/cases/{w['case']}/follow-ups/{w['task']}/volunteer", PSL_CASES, {})],
        "partners.tasks_desk": [Probe("GET", "/desk/tasks", frozenset({"psl.volunteer"}),
                                      marker="LP-TASK-65", sees=frozenset({"psl.volunteer"}))],
        "partners.my_tasks": [Probe("GET", "/api/tasks", frozenset({"psl.volunteer"}),
                                    marker="LP-TASK-65", sees=frozenset({"psl.volunteer"}))],
        "partners.task_done": [Probe("POST", f"/api/tasks/{w['task']}/done",
                                     frozenset({"psl.volunteer"}), {"outcome": "x"})],
        "cases.schedule_follow_up": [Probe("POST", f"/api/cases/{w['case']}/follow-ups",
                                           PSL_CASES, {})],
        "cases.complete_follow_up": [Probe("POST", f"/api/cases/{w['case']}/follow-ups/1/done",
                                           PSL_CASES, {"outcome": "x"})],
        # Subsidies and the fact-finding PDF (test_case_subsidies): the case roles of the
        # province; the approvers' desk and the totals, supervisors.
        "cases.list_subsidies": [Probe("GET", f"/api/cases/{w['case']}/subsidies", PSL_CASES,
                                       marker="LP-SUBSIDY-65", sees=PSL_CASES)],
        "cases.request_subsidy": [Probe("POST", f"/api/cases/{w['case']}/subsidies", PSL_CASES,
                                        {})],
        "cases.approve_subsidy": [Probe("POST", f"/api/cases/{w['case']}/subsidies/1/approve",
                                        PSL_CASES, {})],
        "cases.reject_subsidy": [Probe("POST", f"/api/cases/{w['case']}/subsidies/1/reject",
                                       PSL_CASES, {"note": "x"})],
        "cases.subsidy_paid": [Probe("POST", f"/api/cases/{w['case']}/subsidies/1/paid",
                                     PSL_CASES, {})],
        "cases.attach_subsidy_document": [
            Probe("POST", f"/api/cases/{w['case']}/subsidies/1/documents", PSL_CASES, {})],
        "cases.subsidy_document": [
            Probe("GET", f"/api/cases/{w['case']}/subsidies/1/documents/1", PSL_CASES)],
        "cases.fact_finding_pdf": [Probe("GET", f"/api/cases/{w['case']}/fact-finding.pdf",
                                         PSL_CASES)],
        "subsidy_desk.subsidy_page": [Probe("GET", "/desk/subsidies", SUPERVISORS)],
        "subsidy_desk.subsidy_totals_csv": [Probe("GET", "/desk/subsidies/totals.csv",
                                                  SUPERVISORS)],
        # The province's approval chain, holders and budget lines: its supervisors, admins.
        "subsidy_desk.subsidy_settings_page": [Probe("GET", "/desk/subsidies/settings",
                                                     SUPERVISORS)],
        "cases.subsidy_settings": [Probe("GET", "/api/cases/subsidy-settings/65", SUPERVISORS)],
        "cases.save_subsidy_settings": [Probe("PUT", "/api/cases/subsidy-settings/65",
                                              SUPERVISORS, {})],
        "ess_desk.incident_reports": [
            Probe("GET", f"/api/incidents/{w['case_incident']}/reports", PSL_DISPATCH)],
        "ess_desk.merge": [Probe("POST", f"{inc}/merge", PSL_DISPATCH,
                                 {"duplicate_id": w["case_incident"]})],
        "ess_desk.split": [Probe("POST", f"/api/ess/reports/{w['report']}/split",
                                 PSL_DISPATCH)],
        "ess_desk.attachment": [Probe("GET", f"/api/ess/attachments/{w['photo']}", held_case)],
        # The users desk (accounts): administrators only.
        "accounts.users_desk": [Probe("GET", "/desk/users", frozenset({"admin"}))],
        "accounts.user_detail": [Probe("GET", f"/desk/users/{w['user']}",
                                       frozenset({"admin"}))],
        "accounts.create_user": [Probe("POST", "/api/users", frozenset({"admin"}), {})],
        "accounts.update_user": [Probe("PUT", f"/api/users/{w['user']}", frozenset({"admin"}),
                                       {})],
        "accounts.user_action": [Probe("POST", f"/api/users/{w['user']}/sign-out",
                                       frozenset({"admin"}), {})],
        # The centre's data (test_centre_admin): teams and agencies for administrators and
        # supervisors (their own province), hotline lines and categories for administrators.
        "admin.home": [Probe("GET", "/admin", SUPERVISORS)],
        "admin.categories_api": [Probe("GET", "/admin/api/categories", ALL_USERS)],
        "admin.page": [Probe("GET", "/admin/teams", SUPERVISORS, marker="PSL-2",
                             sees=SUPERVISORS),
                       Probe("GET", "/admin/agencies", SUPERVISORS),
                       Probe("GET", "/admin/lines", frozenset({"admin"})),
                       Probe("GET", "/admin/categories", frozenset({"admin"}))],
        "admin.edit_page": [Probe("GET", f"/admin/teams/{w['team3']}", SUPERVISORS),
                            Probe("GET", "/admin/categories/children", frozenset({"admin"}))],
        "admin.create": [Probe("POST", "/admin/teams", SUPERVISORS, {}),
                         Probe("POST", "/admin/lines", frozenset({"admin"}), {})],
        "admin.update": [Probe("POST", f"/admin/teams/{w['team3']}", SUPERVISORS, {}),
                         Probe("POST", "/admin/categories/children", frozenset({"admin"}), {})],
        "admin.export": [Probe("GET", "/admin/teams/export.csv", SUPERVISORS, marker="PSL-2",
                               sees=SUPERVISORS),
                         Probe("GET", "/admin/lines/export.csv", frozenset({"admin"}))],
        "admin.import_file": [Probe("POST", "/admin/teams/import", SUPERVISORS, {}),
                              Probe("POST", "/admin/categories/import", frozenset({"admin"}),
                                    {})],
        # Guided intake (test_guided_intake): scripts kept by administrators (changed by
        # national ones); the desk's panel for the call-takers and supervisors of the province.
        "admin.scripts_page": [Probe("GET", "/admin/intake-scripts", frozenset({"admin"}))],
        "admin.script_page": [Probe("GET", "/admin/intake-scripts/children",
                                    frozenset({"admin"}))],
        "admin.save_script": [Probe("POST", "/admin/intake-scripts/children",
                                    frozenset({"admin"}), {})],
        "admin.intake_guide": [Probe("GET", "/admin/api/intake-guide?category=children"
                                     "&province_code=65", PSL_CALLS)],
        # Duty rosters (test_roster_page): supervisors and admins, a provincial supervisor
        # only their own province's roster.
        "roster.page": [Probe("GET", "/desk/roster", SUPERVISORS)],
        "roster.export": [Probe("GET", "/desk/roster/export.csv", SUPERVISORS)],
        "roster.add": [Probe("POST", "/desk/roster/assignments", SUPERVISORS, {})],
        "roster.remove": [Probe("POST", "/desk/roster/assignments/999999/remove", SUPERVISORS,
                                {})],
        "roster.swap": [Probe("POST", "/desk/roster/assignments/999999/swap", SUPERVISORS, {})],
        "roster.attendance": [Probe("POST", "/desk/roster/assignments/999999/attendance",
                                    SUPERVISORS, {})],
        "roster.staffing": [Probe("POST", "/desk/roster/staffing", SUPERVISORS, {})],
        "roster.set_patterns": [Probe("POST", "/desk/roster/patterns", SUPERVISORS, {})],
        # A person's own duties and asking for a swap: every desk staff member (their own).
        "roster.mine": [Probe("GET", "/desk/roster/mine", CALLS_DESK | DISPATCH_DESK)],
        "roster.request_swap": [Probe("POST", "/desk/roster/assignments/999999/request-swap",
                                      CALLS_DESK | DISPATCH_DESK, {})],
        "roster.import_file": [Probe("POST", "/desk/roster/import", SUPERVISORS, {})],
        # PDPA (test_pdpa): the access log and a person's requests, supervisors and admins.
        "pdpa.access_log_page": [Probe("GET", "/desk/access-log?by=phone&q=0819990065",
                                       SUPERVISORS)],
        "pdpa.export": [Probe("GET", "/desk/pdpa/export?phone=0819990065", SUPERVISORS,
                              marker="+66819990065", sees=SUPERVISORS)],
        "pdpa.erase": [Probe("POST", "/desk/pdpa/erase", SUPERVISORS, {})],
        "geo.provinces": [Probe("GET", "/api/geo/provinces", geo)],
        "geo.districts": [Probe("GET", "/api/geo/provinces/65/districts", geo)],
        "geo.subdistricts": [Probe("GET", "/api/geo/districts/6501/subdistricts", geo)],
        "geo.search": [Probe("GET", "/api/geo/search?q=%E0%B8%9E", geo)],
        "geo.reverse": [Probe("GET", "/api/geo/reverse?lat=16.8&lon=100.26", geo)],
        "geo.geocode": [Probe("GET", "/api/geo/geocode?q=%E0%B8%9E", geo)],
        # Probes for the load balancer (test_health): no login, nothing personal in them.
        "health.healthz": [Probe("GET", "/healthz", ALL_USERS | {"anonymous"})],
        "health.readyz": [Probe("GET", "/readyz", ALL_USERS | {"anonymous"})],
    }


def send(client: Client, probe: Probe):
    if probe.method == "GET":
        return client.get(probe.url)
    call = client.put if probe.method == "PUT" else client.post
    return call(probe.url, json=probe.body)


def refused(resp) -> bool:
    """401/403/404, or a page sending the anonymous visitor to the login form."""
    if resp.status_code in (401, 403, 404):
        return True
    return resp.status_code == 302 and "/login" in resp.headers.get("Location", "")


def test_every_route_declares_who_may_read_it_and_refuses_everyone_else(
        app, session, login_as):
    world = build_world(app, session, login_as)
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules()}
    # NOTE: a rule for a route this build does not have (yet) is skipped, not an error.
    rules = {e: items for e, items in probes(world).items() if e in endpoints}
    undeclared = endpoints - set(rules) - set(EXEMPT) - WEBHOOKS
    assert not undeclared, f"routes without an access rule in this test: {sorted(undeclared)}"

    anon = app.test_client()
    clients = {"anonymous": Client(http=anon, token=csrf_token(anon), username="")}
    clients.update({name: login_as(name) for name in USERS})
    failures = []
    for items in rules.values():
        for probe in items:
            for name, client in clients.items():
                allowed = name in probe.ok
                if allowed and probe.method != "GET":
                    continue
                resp = send(client, probe)
                where = f"{probe.method} {probe.url} as {name}: {resp.status_code}"
                if not allowed:
                    if not refused(resp):
                        failures.append(f"{where} (should be refused)")
                    continue
                if resp.status_code != 200:
                    failures.append(f"{where} (should be answered)")
                elif probe.marker is not None:
                    found = probe.marker in resp.get_data(as_text=True)
                    if found != (name in probe.sees):
                        failures.append(f"{where} ({'sees' if found else 'misses'} "
                                        f"{probe.marker})")
    assert not failures, "\n".join(failures)


def test_signed_and_keyed_routes_refuse_what_is_not_signed(app, session):
    http = app.test_client()
    for path in ("voice", "menu", "case", "wait", "queue-result", "recorded", "recording",
                 "status"):
        resp = http.post(f"/telephony/twilio/{path}", data={"CallSid": "CA1", "From": "+6681"})
        assert resp.status_code == 403, path
    app.config.update(LINE_CHANNEL_SECRET="secret")
    assert http.post("/line/webhook", data=b"{}", content_type="application/json",
                     headers={"X-Line-Signature": "AAAA"}).status_code == 400
    assert http.post("/api/v1/reports", json=report_body()).status_code == 401
    key = {"X-Api-Key": make_api_key(app)}
    made = http.post("/api/v1/reports", json=report_body(), headers=key).json
    assert http.get(f"/api/v1/reports/{made['id']}").status_code == 401
    assert http.get(f"/api/v1/reports/{made['id']}", headers=key).status_code == 404
    assert http.get(f"/api/v1/reports/{made['id']}",
                    headers={**key, "X-Report-Token": "x"}).status_code == 404
    assert session.scalar(select(Call.id)) is None
