"""Twilio voice webhooks on SQLite and PostgreSQL: signatures, TwiML, the call's life cycle."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from console.models import AuditLog, RealtimeEvent
from telephony.models import Call, CallEvent, CallLink
from tests.conftest import incident_body
from tests.telephony_fakes import ACCOUNT, Twilio, make_app, twiml


@pytest.fixture
def app(phone_app):
    """Every test here runs on the app with the phone line configured."""
    return phone_app


def counts(session) -> dict[str, int]:
    session.expire_all()
    return {m.__tablename__: session.scalar(select(func.count()).select_from(m))
            for m in (Call, CallEvent, CallLink, RealtimeEvent, AuditLog)}


def call_of(session, sid: str) -> Call:
    session.expire_all()
    return session.scalar(select(Call).where(Call.call_sid == sid))


def events_named(session, name: str) -> list[RealtimeEvent]:
    session.expire_all()
    return list(session.scalars(select(RealtimeEvent).where(RealtimeEvent.name == name)
                                .order_by(RealtimeEvent.seq)))


def test_a_signed_call_gets_the_thai_menu(twilio, session):
    root = twiml(twilio.call("CA01", "voice", CallStatus="ringing"))
    gather = root.find("Gather")
    assert gather is not None and gather.get("numDigits") == "1"
    assert gather.get("action") == "http://localhost/telephony/twilio/menu"
    assert gather.get("actionOnEmptyResult") == "true" and gather.get("timeout") == "5"
    says = gather.findall("Say")
    assert says and all(s.get("language") == "th-TH" for s in says)
    assert "1300" in says[0].text and "กด 1" in says[1].text
    call = call_of(session, "CA01")
    assert (call.number, call.called_number, call.province_code) == (
        "+66812345678", "+6655123456", "65")
    assert call.status.value == "ringing" and call.ring_at is not None
    assert call.taken_by_id is None and call.closed_at is None


@pytest.mark.parametrize("case", ["tampered", "wrong_url", "missing", "other_token"])
def test_bad_signatures_are_refused_and_store_nothing(twilio, session, case):
    before = counts(session)
    params = {"CallSid": "CA02", "AccountSid": ACCOUNT, "From": "+66812345678",
              "To": "+6655123456", "CallStatus": "ringing"}
    for path in ("voice", "status", "menu", "recording"):
        if case == "tampered":
            resp = twilio.post(path, params, sent={**params, "From": "+66899999999"})
        elif case == "wrong_url":
            resp = twilio.post(path, params, sign_url="https://evil.example/telephony/twilio/"
                                                      + path)
        elif case == "missing":
            resp = twilio.post(path, params, signature="")
        else:
            resp = Twilio(twilio.http.application, token="not-the-token").post(path, params)
        assert resp.status_code == 403, (path, resp.status_code)
    assert counts(session) == before


def test_proxy_headers_and_public_base_url(db_url):
    params = {"CallSid": "CA03", "From": "+66812345678", "To": "+6655123456"}
    public = "https://hotline.example.org/telephony/twilio/voice"
    proxied = make_app(db_url, TRUST_PROXY_HOPS=1)
    tw = Twilio(proxied)
    forwarded = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "hotline.example.org"}
    assert tw.post("voice", params, sign_url=public, headers=forwarded).status_code == 200
    assert tw.post("voice", params, sign_url=public).status_code == 403
    proxied.extensions["db_engine"].dispose()
    configured = make_app(db_url, PUBLIC_BASE_URL="https://hotline.example.org")
    tw = Twilio(configured)
    resp = tw.post("voice", params, sign_url=public)
    assert resp.status_code == 200
    # Twilio is told to come back to the public address.
    assert twiml(resp).find("Gather").get("action") == (
        "https://hotline.example.org/telephony/twilio/menu")
    assert tw.post("voice", params).status_code == 403  # signed for http://localhost
    configured.extensions["db_engine"].dispose()


def test_signed_but_unreadable_callbacks_are_refused(twilio, session):
    before = counts(session)
    assert twilio.post("voice", {"From": "+66812345678"}).status_code == 400
    assert twilio.post("status", {"CallSid": "CA04", "CallStatus": "exploded"}).status_code == 400
    assert twilio.post("status", {"CallStatus": "ringing"}).status_code == 400
    assert counts(session) == before


def test_whole_inbound_call_is_one_record(twilio, session, login_as):
    calltaker = login_as("calltaker")
    twilio.call("CA10", "status", CallStatus="ringing")
    twilio.call("CA10", "voice", CallStatus="ringing")
    twilio.call("CA10", "status", CallStatus="in-progress")
    root = twiml(twilio.call("CA10", "menu", Digits="1", CallStatus="in-progress"))
    enqueue = root.find("Enqueue")
    assert enqueue.text == "65"
    assert enqueue.get("waitUrl") == "http://localhost/telephony/twilio/wait"
    assert enqueue.get("action") == "http://localhost/telephony/twilio/queue-result"
    call = call_of(session, "CA10")
    assert call.status.value == "queued" and call.reason.value == "danger"
    assert call.connected_at is not None and call.answered_at is None
    [pop] = events_named(session, "call.ringing")
    # The province's call-takers and supervisors (a supervisor on the calls desk answers too).
    assert pop.rooms == ["calltakers:65", "calltakers:national", "supervisors:65",
                         "supervisors:national"]
    assert pop.payload["data"]["id"] == call.id and pop.payload["data"]["number"] == (
        "+66812345678")

    resp = calltaker.post(f"/api/calls/{call.id}/accept", json={})
    assert resp.status_code == 200, resp.json
    assert resp.json["taken_by_id"] is not None and resp.json["number_display"] == "081-234-5678"
    assert calltaker.post(f"/api/calls/{call.id}/accept", json={}).status_code == 409
    before = counts(session)["call"]
    resp = calltaker.post("/api/calls", json=incident_body(call_id=call.id, number=""))
    assert resp.status_code == 201, resp.json
    assert resp.json["call_id"] == call.id and counts(session)["call"] == before
    call = call_of(session, "CA10")
    assert call.outcome.value == "incident_created" and call.number == "+66812345678"
    assert call.summary == "เด็กถูกทำร้ายในบ้าน" and call.closed_at is not None
    # The logged call cannot be logged twice.
    again = calltaker.post("/api/calls", json=incident_body(call_id=call.id))
    assert again.status_code == 409

    twilio.call("CA10", "queue-result", QueueResult="bridged")
    twilio.call("CA10", "status", CallStatus="completed", CallDuration="95")
    call = call_of(session, "CA10")
    assert call.status.value == "completed" and call.ended_at >= call.answered_at
    assert call.talk_seconds is not None and call.talk_seconds >= 0
    assert call.ring_at <= call.connected_at <= call.answered_at <= call.ended_at
    assert not call.needs_callback
    actions = set(session.scalars(select(AuditLog.action).where(AuditLog.entity_id == call.id)))
    assert {"call.accepted", "call.incident"} <= actions


def test_repeated_callbacks_change_nothing(twilio, session):
    twilio.call("CA20", "voice")
    twilio.call("CA20", "status", CallStatus="ringing")
    first = call_of(session, "CA20").ring_at
    twilio.call("CA20", "status", CallStatus="no-answer")
    snapshot = counts(session)
    call = call_of(session, "CA20")
    ended = call.ended_at
    for status in ("ringing", "no-answer", "ringing", "in-progress", "completed", "no-answer"):
        twilio.call("CA20", "status", CallStatus=status)
    after = counts(session)
    call = call_of(session, "CA20")
    # Only the two statuses seen for the first time add an event row; nothing else moves.
    assert after["call_event"] == snapshot["call_event"] + 2
    assert after["realtime_event"] == snapshot["realtime_event"]
    assert call.status.value == "no_answer" and call.ended_at == ended and call.ring_at == first
    assert call.needs_callback


def test_nobody_answers_voice_message_and_call_back_list(twilio, session, login_as):
    # An advice call that rang out first, then a danger call that leaves a voice message.
    twilio.call("CA30", "voice", frm="+66811111111")
    twilio.call("CA30", "menu", frm="+66811111111", Digits="2")
    twilio.call("CA30", "status", frm="+66811111111", CallStatus="no-answer")
    twilio.call("CA31", "voice")
    root = twiml(twilio.call("CA31", "menu", Digits=""))  # no key = someone in danger
    assert root.find("Enqueue").text == "65"
    hold = twiml(twilio.call("CA31", "wait", QueueTime="10"))
    assert hold.find("Say").get("language") == "th-TH" and hold.find("Pause") is not None
    assert twiml(twilio.call("CA31", "wait", QueueTime="60")).find("Leave") is not None
    root = twiml(twilio.call("CA31", "queue-result", QueueResult="leave"))
    record = root.find("Record")
    assert record.get("action") == "http://localhost/telephony/twilio/recorded"
    assert record.get("recordingStatusCallback") == "http://localhost/telephony/twilio/recording"
    assert record.get("maxLength") == "120" and root.find("Hangup") is not None
    url = "https://api.twilio.com/2010-04-01/Accounts/AC1/Recordings/RE1"
    twilio.call("CA31", "recorded", RecordingUrl=url, RecordingDuration="14")
    twilio.call("CA31", "recording", RecordingUrl=url, RecordingDuration="15",
                RecordingStatus="completed", RecordingSid="RE1")
    twilio.call("CA31", "status", CallStatus="completed")
    call = call_of(session, "CA31")
    assert call.recording_url == url and call.recording_seconds == 15 and call.needs_callback
    # A Chiang Mai call stays out of Phitsanulok's list.
    twilio.call("CA32", "voice", to="+6653123456")
    twilio.call("CA32", "status", to="+6653123456", CallStatus="busy")

    resp = login_as("calltaker").get("/api/callbacks")
    assert resp.status_code == 200
    assert [(c["reason"], c["number"], c["recording_url"]) for c in resp.json] == [
        ("danger", "+66812345678", url), ("advice", "+66811111111", None)]
    national = login_as("national").get("/api/callbacks").json
    assert {c["province_code"] for c in national} == {"65", "50"}


def test_existing_case_number_links_the_call(twilio, session, login_as):
    resp = login_as("calltaker").post("/api/calls", json=incident_body())
    ref = resp.json["incident"]["ref"]
    twilio.call("CA40", "voice", frm="+66822222222")
    root = twiml(twilio.call("CA40", "menu", frm="+66822222222", Digits="3"))
    gather = root.find("Gather")
    assert gather.get("finishOnKey") == "#"
    assert gather.get("action") == "http://localhost/telephony/twilio/case"
    root = twiml(twilio.call("CA40", "case", frm="+66822222222", Digits=ref.replace("-", "")))
    assert root.find("Enqueue").text == "65"
    call = call_of(session, "CA40")
    assert call.reason.value == "existing"
    [link] = session.scalars(select(CallLink).where(CallLink.call_id == call.id)).all()
    assert link.ref == ref and link.incident_id == resp.json["incident"]["id"]
    pop = events_named(session, "call.ringing")[-1].payload["data"]
    assert pop["linked_refs"] == [ref]
    assert [i["ref"] for i in pop["open_incidents"]] == [ref]
    assert pop["protected_because"] == ["open_incident"]
    # An unknown number is said so, and the call still queues.
    twilio.call("CA41", "voice")
    twilio.call("CA41", "menu", Digits="3")
    root = twiml(twilio.call("CA41", "case", Digits="999"))
    assert root.find("Say") is not None and root.find("Enqueue").text == "65"


def test_accept_refusals(twilio, session, login_as):
    twilio.call("CA50", "voice", to="+6653123456")
    twilio.call("CA50", "menu", to="+6653123456", Digits="1")
    cm_call = call_of(session, "CA50")
    calltaker = login_as("calltaker")
    before = counts(session)
    assert calltaker.post(f"/api/calls/{cm_call.id}/accept", json={}).status_code == 404
    assert calltaker.post("/api/calls/999999/accept", json={}).status_code == 404
    assert calltaker.post(f"/api/calls/{cm_call.id}/accept",
                          json={"x": 1}).status_code in (404, 422)
    assert login_as("dispatcher").post(f"/api/calls/{cm_call.id}/accept",
                                       json={}).status_code == 403
    twilio.call("CA51", "voice")
    twilio.call("CA51", "status", CallStatus="canceled")
    ended = call_of(session, "CA51")
    assert counts(session)["realtime_event"] == before["realtime_event"] + 1
    before = counts(session)
    resp = calltaker.post(f"/api/calls/{ended.id}/accept", json={})
    assert resp.status_code == 409 and resp.json["error"]
    twilio.call("CA52", "voice")
    fresh = call_of(session, "CA52")
    before = counts(session)
    resp = calltaker.post(f"/api/calls/{fresh.id}/accept", json={"unexpected": True})
    assert resp.status_code == 422 and "unexpected" in resp.json["fields"]
    # A call not yet accepted cannot be completed through the form.
    resp = calltaker.post("/api/calls", json=incident_body(call_id=fresh.id))
    assert resp.status_code == 409
    resp = calltaker.post("/api/calls", json=incident_body(call_id="x"))
    assert resp.status_code == 422 and "call_id" in resp.json["fields"]
    assert counts(session) == before


def test_the_nena_answer_time_figure_counts_offered_calls(app, twilio, session, login_as):
    from datetime import timedelta

    supervisor, calltaker = login_as("supervisor"), login_as("calltaker")
    assert supervisor.get("/api/calls/answer-times").json["offered"] == 0
    assert calltaker.get("/api/calls/answer-times").status_code == 403
    for sid in ("CA301", "CA302", "CA303"):
        twilio.call(sid, "voice", to="055-123-456")
    quick, slow = call_of(session, "CA301"), call_of(session, "CA302")
    assert calltaker.post(f"/api/calls/{quick.id}/accept", json={}).status_code == 200
    assert calltaker.post(f"/api/calls/{slow.id}/accept", json={}).status_code == 200
    slow = call_of(session, "CA302")
    slow.answered_at = slow.ring_at + timedelta(seconds=18)  # answered, but after 15 s
    session.commit()
    stats = supervisor.get("/api/calls/answer-times").json
    assert stats == {"offered": 3, "within_15": 1, "within_20": 2, "pct_15": 33.3,
                     "pct_20": 66.7}  # CA303 was never answered: it counts against the target
    assert login_as("cm.dispatcher").get("/api/calls/answer-times").status_code == 403
