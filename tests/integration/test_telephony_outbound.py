"""Call-backs and team SMS through twilio's own client, sent to a loopback recorder."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from console.models import AuditLog, User
from dispatch.models import Incident, Team
from telephony import service
from telephony.models import Call, OutboundMessage
from tests.conftest import incident_body
from tests.jobs_helpers import run_jobs
from tests.telephony_fakes import ACCOUNT, Recorder, Twilio, make_app, twiml

AUTH = "twilio-auth-token-for-tests"


@pytest.fixture
def recorder():
    rec = Recorder()
    yield rec
    rec.close()


@pytest.fixture
def app(db_url, recorder):
    app = make_app(db_url, TELEPHONY_PROVIDER="twilio", TWILIO_ACCOUNT_SID=ACCOUNT,
                   TWILIO_AUTH_TOKEN=AUTH, TWILIO_NUMBER="+6621234567",
                   TWILIO_API_BASE_URL=recorder.url)
    yield app
    app.extensions["db_engine"].dispose()


def missed_call(app, session, sid: str, frm: str) -> Call:
    tw = Twilio(app, token=AUTH)  # NOTE: with Twilio, webhooks are signed with the auth token
    tw.call(sid, "voice", frm=frm)
    tw.call(sid, "menu", frm=frm, Digits="1")
    tw.call(sid, "status", frm=frm, CallStatus="no-answer")
    session.expire_all()
    return session.scalar(select(Call).where(Call.call_sid == sid))


def test_webhooks_use_the_twilio_auth_token(app):
    params = {"CallSid": "CA1", "From": "+66812345678", "To": "+6621234567"}
    assert Twilio(app, token=AUTH).post("voice", params).status_code == 200
    assert Twilio(app).post("voice", params).status_code == 403  # the simulator's token


def test_one_click_call_back_goes_through_twilio(app, session, login_as, recorder):
    call = missed_call(app, session, "CA100", "+66812345678")
    assert call.needs_callback
    calltaker = login_as("calltaker")
    resp = calltaker.post(f"/api/calls/{call.id}/callback", json={})
    assert resp.status_code == 202, resp.json
    assert resp.json["queued"] and recorder.requests == []  # the request never calls Twilio
    assert run_jobs(app) == 1
    msg = session.scalars(select(OutboundMessage)).one()
    assert msg.status == "queued" and msg.provider_sid.startswith("CA")
    [sent] = recorder.requests
    assert sent["path"] == f"/2010-04-01/Accounts/{ACCOUNT}/Calls.json"
    assert sent["auth"].startswith("Basic ")
    assert sent["form"]["To"] == "+66812345678" and sent["form"]["From"] == "+6621234567"
    root = twiml(type("R", (), {"mimetype": "text/xml",
                                "get_data": lambda self: sent["form"]["Twiml"]})())
    # The officer has a phone on file (demo data): the call-back rings it once the caller answers.
    assert root.find("Say").get("language") == "th-TH" and root.find("Dial").text == "+66800001310"
    session.expire_all()
    assert not session.get(Call, call.id).needs_callback
    assert calltaker.get("/api/callbacks").json == []
    audit = session.scalars(select(AuditLog).where(AuditLog.action == "call.callback")).one()
    assert audit.entity_id == call.id and audit.detail["status"] == "queued"


def test_a_failed_call_back_is_kept_and_stays_on_the_list(app, session, login_as, recorder):
    recorder.fail_to.add("+66811111111")
    call = missed_call(app, session, "CA101", "+66811111111")
    calltaker = login_as("calltaker")
    resp = calltaker.post(f"/api/calls/{call.id}/callback", json={})
    assert resp.status_code == 202
    run_jobs(app)
    msg = session.scalars(select(OutboundMessage)).one()
    assert msg.status == "failed" and "Invalid 'To'" in msg.error and msg.call_id == call.id
    assert [c["id"] for c in calltaker.get("/api/callbacks").json] == [call.id]
    # An invalid number is not tried again: the job gave up at once, with the reason.
    from jobs.models import OutboundJob

    job = session.scalars(select(OutboundJob)).one()
    assert (job.state.value, job.reason, job.attempts) == ("dead", "bad_number", 1)


def test_call_back_refusals_write_nothing(app, session, login_as, recorder):
    tw = Twilio(app, token=AUTH)
    tw.call("CA102", "voice", frm="anonymous")
    tw.call("CA102", "status", frm="anonymous", CallStatus="no-answer")
    withheld = session.scalar(select(Call).where(Call.call_sid == "CA102"))
    calltaker, member = login_as("calltaker"), login_as("team1")
    before = session.scalar(select(func.count()).select_from(OutboundMessage))
    assert calltaker.post(f"/api/calls/{withheld.id}/callback", json={}).status_code == 409
    assert calltaker.post("/api/calls/424242/callback", json={}).status_code == 404
    assert calltaker.post(f"/api/calls/{withheld.id}/callback",
                          json={"to": "+66800000000"}).status_code == 422
    assert member.post(f"/api/calls/{withheld.id}/callback",
                                  json={}).status_code == 403
    assert run_jobs(app) == 0
    assert recorder.requests == []
    assert session.scalar(select(func.count()).select_from(OutboundMessage)) == before
    # The simulator control is off when Twilio is configured.
    resp = login_as("supervisor").post("/api/simulator/incoming-call", json={})
    assert resp.status_code == 409


def test_team_sms_on_assignment(app, session, login_as, recorder):
    resp = login_as("calltaker").post("/api/calls", json=incident_body(incident={
        **incident_body()["incident"],
        "location": {"province_code": "65", "district_code": "6501", "subdistrict_code": None,
                     "address_text": "", "lat": 16.8211, "lon": 100.2659}}))
    incident = session.get(Incident, resp.json["incident"]["id"])
    team = session.scalar(select(Team).where(Team.code == "PSL-1"))
    member = session.scalar(select(User).where(User.username == "team1"))
    member.phone = "+66823456789"
    extra = User(username="team1b", display_name="x", password_hash="x", role=member.role,
                 province_code="65", team_id=team.id, phone="+66800000001", locale="en")
    nophone = User(username="team1c", display_name="y", password_hash="x", role=member.role,
                   province_code="65", team_id=team.id)
    session.add_all([extra, nophone])
    session.flush()
    recorder.fail_to.add("+66800000001")
    session.commit()
    dispatcher = login_as("dispatcher")
    assert dispatcher.post(f"/api/incidents/{incident.id}/assign",
                           json={"team_id": team.id}).status_code == 200
    assert recorder.requests == []  # the offer is saved; the SMS are only queued
    run_jobs(app)
    sent = session.scalars(select(OutboundMessage).order_by(OutboundMessage.id)).all()
    assert [(m.to_number, m.status) for m in sent] == [("+66823456789", "queued"),
                                                       ("+66800000001", "failed")]
    assert sent[1].error and sent[0].provider_sid.startswith("SM")
    assert [r["path"].rsplit("/", 1)[1] for r in recorder.requests] == ["Messages.json"] * 2
    thai, english = (r["form"]["Body"] for r in recorder.requests)
    for body in (thai, english):
        assert incident.ref in body and "geo:16.821100,100.265900" in body
        assert "/desk/team" in body
    assert "เด็ก" in thai and "Children" in english
    assert recorder.requests[0]["form"]["From"] == "+6621234567"

    listed = dispatcher.get(f"/api/incidents/{incident.id}/messages").json
    assert [(m["to"], m["status"], bool(m["error"])) for m in listed] == [
        ("+66823456789", "queued", False), ("+66800000001", "failed", True)]
    assert login_as("cm.dispatcher").get(
        f"/api/incidents/{incident.id}/messages").status_code == 404
    assert login_as("calltaker").get(
        f"/api/incidents/{incident.id}/messages").status_code == 403


def test_map_links_only_when_configured(app, session):
    incident = Incident(lat=16.5, lon=100.25)
    assert service.location_link(incident) == "geo:16.500000,100.250000"
    template = "https://www.openstreetmap.org/?mlat={lat}&mlon={lon}"
    assert service.location_link(incident, template) == (
        "https://www.openstreetmap.org/?mlat=16.500000&mlon=100.250000")
    assert service.location_link(Incident()) == ""


def test_accepting_a_queued_call_puts_the_caller_through_to_the_officer(
    app, session, login_as, recorder
):
    tw = Twilio(app, token=AUTH)
    tw.call("CA200", "voice", frm="+66812345678", to="055-123-456")
    tw.call("CA200", "menu", frm="+66812345678", to="055-123-456", Digits="1")
    call = session.scalar(select(Call).where(Call.call_sid == "CA200"))
    calltaker = login_as("calltaker")  # demo phone +66800001310
    resp = calltaker.post(f"/api/calls/{call.id}/accept", json={})
    assert resp.status_code == 200, resp.json
    assert resp.json["connecting"] is True and recorder.requests == []
    run_jobs(app)
    [sent] = [r for r in recorder.requests if r["path"].endswith("/Calls/CA200.json")]
    root = twiml(type("R", (), {"mimetype": "text/xml",
                                "get_data": lambda self: sent["form"]["Twiml"]})())
    dial = root.find("Dial")
    assert dial.text == "+66800001310" and dial.get("callerId") == "+6621234567"
    audit = session.scalars(select(AuditLog).where(AuditLog.action == "call.connected")).one()
    assert audit.detail["status"] == "queued"


def test_an_officer_without_a_phone_keeps_the_caller_in_the_queue(
    app, session, login_as, recorder
):
    tw = Twilio(app, token=AUTH)
    tw.call("CA201", "voice", frm="+66812345678", to="055-123-456")
    call = session.scalar(select(Call).where(Call.call_sid == "CA201"))
    officer = session.scalar(select(User).where(User.username == "calltaker"))
    officer.phone = None
    session.commit()
    resp = login_as("calltaker").post(f"/api/calls/{call.id}/accept", json={})
    assert resp.status_code == 200 and resp.json["connecting"] is False
    assert resp.json["connect_error"]
    run_jobs(app)
    assert not [r for r in recorder.requests if "/Calls/CA201" in r["path"]]
