"""Input limits (issue 12): every body is capped by its path, chunked bodies too; JSON nested too
deeply is a 400; numbers are strict; a recording link must be a Twilio https address."""

from __future__ import annotations

import json
import socket
import threading
import time

import pytest
from sqlalchemy import func, select
from werkzeug.test import EnvironBuilder, run_wsgi_app

from console.models import AuditLog, RealtimeEvent
from dispatch.models import Incident
from ess.models import Attachment, LineEvent, Report
from telephony.models import Call, CallerFlag, CallEvent
from tests.conftest import incident_body
from tests.ess_helpers import line_event, line_signature, make_api_key, report_body
from tests.telephony_fakes import ACCOUNT, TOKEN, Twilio

SECRET = "line-channel-secret"
MB = 1024 * 1024


@pytest.fixture
def app(phone_app, tmp_path):
    """The app with the phone line and LINE configured; photos go to a temporary directory."""
    phone_app.config.update(LINE_CHANNEL_SECRET=SECRET, LINE_CHANNEL_ACCESS_TOKEN="",
                            ESS_ATTACHMENT_DIR=str(tmp_path / "att"))
    return phone_app


def counts(session) -> dict[str, int]:
    """Rows of everything a refused request must not touch."""
    session.expire_all()
    return {m.__tablename__: session.scalar(select(func.count()).select_from(m))
            for m in (Report, Attachment, LineEvent, Incident, Call, CallEvent, CallerFlag,
                      AuditLog, RealtimeEvent)}


class Source:
    """A wsgi.input that yields `head` then endless filler, counting every byte read."""

    def __init__(self, head: bytes, filler: bytes = b"x", total: int = 300 * MB) -> None:
        self.head, self.filler, self.total = head, filler, total
        self.consumed = 0

    def _take(self, size: int) -> bytes:
        size = min(size, self.total - self.consumed)
        out = bytearray()
        if self.consumed < len(self.head):
            out += self.head[self.consumed:self.consumed + size]
        rest = size - len(out)
        if rest > 0:
            out += (self.filler * (rest // len(self.filler) + 1))[:rest]
        self.consumed += len(out)
        return bytes(out)

    def read(self, size: int = -1) -> bytes:
        if size is None or size < 0:
            raise AssertionError("the whole body was asked for at once")
        return self._take(size)

    def readline(self, size: int = -1) -> bytes:
        return self.read(size if size and size > 0 else 65536)


def send_raw(app, path: str, source: Source, *, content_type: str, headers=None,
             declared: int | None = None, terminated: bool = True):
    """POST `source` to the app at WSGI level: chunked (no Content-Length) unless `declared`."""
    environ = EnvironBuilder(path=path, method="POST", content_type=content_type,
                             headers=headers or {}, base_url="http://localhost").get_environ()
    environ.pop("CONTENT_LENGTH", None)
    environ["wsgi.input"] = source
    if declared is None:
        environ["HTTP_TRANSFER_ENCODING"] = "chunked"
        if terminated:  # werkzeug's and gevent's servers say they end chunked streams
            environ["wsgi.input_terminated"] = True
    else:
        environ["CONTENT_LENGTH"] = str(declared)
    body_iter, status, resp_headers = run_wsgi_app(app, environ, buffered=True)
    body = b"".join(body_iter)
    return int(status.split()[0]), resp_headers, body


def twilio_form(**extra) -> bytes:
    from urllib.parse import urlencode

    return urlencode({"CallSid": "CA900", "AccountSid": ACCOUNT, "From": "+66812345678",
                      "To": "+6655123456", "Direction": "inbound", **extra}).encode()


@pytest.mark.parametrize("terminated", [True, False], ids=["server-terminated", "eventlet-like"])
def test_chunked_bodies_over_the_cap_are_refused_without_reading_them(app, session, terminated):
    before = counts(session)
    key = make_api_key(app)
    config = app.config
    cases = [
        ("/api/v1/reports", "application/json", {"X-Api-Key": key, "Accept-Language": "en"},
         b'{"category": "children", "description": "', config["MAX_CONTENT_LENGTH"]),
        ("/line/webhook", "application/json", {"X-Line-Signature": "AAAA"},
         b'{"destination": "U", "events": [{"type": "message", "x": "',
         config["LINE_WEBHOOK_MAX_BYTES"]),
        ("/telephony/twilio/voice", "application/x-www-form-urlencoded",
         {"X-Twilio-Signature": "AAAA"}, twilio_form(Body=""), config["TWILIO_WEBHOOK_MAX_BYTES"]),
    ]
    for path, kind, headers, head, cap in cases:
        source = Source(head)
        status, resp_headers, body = send_raw(app, path, source, content_type=kind,
                                              headers=headers, terminated=terminated)
        assert status == 413, (path, body[:300])
        # Read no further than the cap (plus one byte to know it was passed): 300 MB never.
        assert cap < source.consumed <= cap + 1, (path, source.consumed, cap)
        if path.startswith("/api/") or path.startswith("/line/"):
            answer = json.loads(body)
            assert answer["error"] and "fields" not in answer
        else:
            assert "ข้อมูลที่ท่านส่งมามีขนาดใหญ่เกินไป" in body.decode()
    # An Upgrade header does not take a POST around the count.
    source = Source(twilio_form(Body=""))
    status, _, _ = send_raw(app, "/telephony/twilio/voice", source,
                            content_type="application/x-www-form-urlencoded",
                            headers={"X-Twilio-Signature": "AAAA", "Upgrade": "websocket"},
                            terminated=terminated)
    assert status == 413 and source.consumed <= config["TWILIO_WEBHOOK_MAX_BYTES"] + 1
    api_answer = send_raw(app, "/api/v1/reports", Source(b'{"x": "'),
                          content_type="application/json",
                          headers={"X-Api-Key": key, "Accept-Language": "en"},
                          terminated=terminated)
    assert json.loads(api_answer[2])["error"].startswith("Too much data was sent: at most 16 MB")
    assert counts(session) == before


def test_a_declared_oversize_body_is_refused_before_a_byte_is_read(app, session):
    before = counts(session)
    key = make_api_key(app)
    for path, kind, headers in [
        ("/api/v1/reports", "multipart/form-data; boundary=b", {"X-Api-Key": key}),
        ("/line/webhook", "application/json", {"X-Line-Signature": "AAAA"}),
        ("/telephony/twilio/voice", "application/x-www-form-urlencoded", {}),
        ("/api/calls", "application/json", {}),
        ("/login", "application/x-www-form-urlencoded", {}),
    ]:
        source = Source(b"")
        status, _, body = send_raw(app, path, source, content_type=kind, headers=headers,
                                   declared=200 * MB)
        assert status == 413, (path, body[:300])
        assert source.consumed == 0, path
    assert counts(session) == before


def test_each_path_has_its_own_cap(app, session, login_as):
    calltaker = login_as("calltaker")
    before = counts(session)
    # Under the 1 MB desk cap: read, and refused for what it says (a message on its field).
    long = calltaker.post("/api/calls", json=incident_body(summary="ก" * 100_000))
    assert long.status_code == 422 and "summary" in long.json["fields"]
    # Over it: 413 with the cap in the message, in the user's language.
    big = calltaker.post("/api/calls", json=incident_body(summary="ก" * 400_000))
    assert big.status_code == 413
    assert "1 MB" in big.json["error"] and "ข้อมูลที่ท่านส่งมามีขนาดใหญ่เกินไป" in big.json["error"]
    # A Twilio webhook over 64 KB is refused, even correctly signed: nothing stored.
    twilio = Twilio(app)
    params = {"CallSid": "CA901", "AccountSid": ACCOUNT, "From": "+66812345678",
              "To": "+6655123456", "Direction": "inbound", "Pad": "x" * 70_000}
    assert twilio.post("voice", params).status_code == 413
    small = {**params, "Pad": "x" * 30_000}
    assert twilio.post("voice", small).status_code == 200
    # A LINE delivery over 256 KB is refused before its signature is even checked.
    body = json.dumps({"destination": "U", "events": [line_event(
        "text", event_id=f"big{i}", at_ms=int(time.time() * 1000), text="ข" * 4000)
        for i in range(30)]}, ensure_ascii=False).encode()
    assert len(body) > 256 * 1024
    resp = app.test_client().post("/line/webhook", data=body, content_type="application/json",
                                  headers={"X-Line-Signature": line_signature(SECRET, body)})
    assert resp.status_code == 413 and resp.json["error"]
    after = counts(session)
    assert after["call"] == before["call"] + 1  # only the small, signed call
    assert after["ess_report"] == before["ess_report"] == 0
    assert after["ess_line_event"] == 0 and after["incident"] == before["incident"]


def test_a_real_server_refuses_a_chunked_upload_at_the_cap(app, session):
    """werkzeug's own server decoding Transfer-Encoding: chunked, over a socket."""
    from werkzeug.serving import make_server

    app.config["MAX_CONTENT_LENGTH"] = 256 * 1024
    key = make_api_key(app)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    sent = 0
    try:
        sock = socket.create_connection(("127.0.0.1", server.server_port), timeout=10)
        sock.sendall((f"POST /api/v1/reports HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                      f"X-Api-Key: {key}\r\nAccept-Language: en\r\n"
                      "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
                      ).encode())
        chunk = b"x" * 16384
        head = b'{"category": "children", "description": "'
        sock.sendall(b"%x\r\n%s\r\n" % (len(head), head))
        answer = b""
        sock.settimeout(0.05)
        while sent < 20 * MB and b"\r\n\r\n" not in answer:
            try:
                sock.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                sent += len(chunk)
            except OSError:
                break
            try:
                answer += sock.recv(65536)
            except TimeoutError:
                pass
        sock.settimeout(10)
        try:
            while b"}" not in answer:
                piece = sock.recv(65536)
                if not piece:
                    break
                answer += piece
        except OSError:
            pass
        sock.close()
    finally:
        server.shutdown()
        server.server_close()
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    assert b"Too much data was sent" in answer
    assert sent < 20 * MB  # answered long before the client was done
    assert counts(session)["ess_report"] == 0


DEEP = "[" * 100_000 + "]" * 100_000
NESTED = json.dumps(json.loads("{}"))
for _ in range(40):
    NESTED = '{"a": ' + NESTED + "}"


@pytest.mark.parametrize("raw", [DEEP, NESTED], ids=["100000-deep", "40-deep"])
def test_deeply_nested_json_is_a_400_on_every_endpoint(app, session, login_as, raw):
    key = {"X-Api-Key": make_api_key(app), "Accept-Language": "en"}
    http = app.test_client()
    calltaker = login_as("calltaker")
    before = counts(session)
    answers = [
        http.post("/api/v1/reports", data=raw, content_type="application/json", headers=key),
        http.post("/api/v1/reports", data={"report": raw}, content_type="multipart/form-data",
                  headers=key),
        calltaker.post("/api/calls", data=raw, content_type="application/json"),
        calltaker.post("/api/flags", data=raw, content_type="application/json"),
    ]
    for resp in answers:
        assert resp.status_code == 400, resp.get_data(as_text=True)[:300]
        assert resp.json["error"]
    assert answers[0].json["error"] == ("The data sent is nested too deeply. Send it in the "
                                        "documented form.")
    assert "ซ้อนกันหลายชั้นเกินไป" in answers[2].json["error"]
    assert counts(session) == before


def test_json_as_deep_as_real_requests_is_read(app, login_as):
    calltaker = login_as("calltaker")
    resp = calltaker.post("/api/calls", json=incident_body())
    assert resp.status_code == 201, resp.json


@pytest.mark.parametrize("path,body,field", [
    ("/api/v1/reports", report_body(position={"lat": "15.0", "lon": 100.26}), "position.lat"),
    ("/api/v1/reports", report_body(position={"lat": 16.815, "lon": 100.26, "accuracy_m": "5"}),
     "position.accuracy_m"),
    ("/api/v1/reports", report_body(position={"lat": True, "lon": 100.26}), "position.lat"),
])
def test_app_numbers_sent_as_text_are_refused_per_field(app, session, path, body, field):
    before = counts(session)
    resp = app.test_client().post(path, json=body, headers={"X-Api-Key": make_api_key(app),
                                                            "Accept-Language": "en"})
    assert resp.status_code == 422, resp.json
    assert resp.json["fields"] == {field: "Enter a number."}
    assert counts(session) == before


def test_desk_numbers_and_yes_no_sent_as_text_are_refused_per_field(app, session, login_as):
    from dispatch.models import Team

    calltaker, dispatcher, member = login_as("calltaker"), login_as("dispatcher"), \
        login_as("team1")
    incident = calltaker.post("/api/calls", json=incident_body()).json["incident"]
    psl1 = session.scalar(select(Team.id).where(Team.code == "PSL-1"))
    before = counts(session)
    located = incident_body()
    located["incident"]["location"].update(lat="16.815", lon=100.26)
    refused = [
        (calltaker.post("/api/calls", json=located), "incident.location.lat"),
        (calltaker.post("/api/flags", json={"number": "0812345678", "level": "warn",
                                            "reason": "ก่อกวน", "hours": "24"}), "hours"),
        (dispatcher.post(f"/api/incidents/{incident['id']}/assign",
                         json={"team_id": str(psl1)}), "team_id"),
        (member.post(f"/api/teams/{psl1}/availability", json={"available": "true"}),
         "available"),
        (member.post("/api/teams/me/position", json={"lat": "16.8", "lon": 100.26}), "lat"),
    ]
    for resp, field in refused:
        assert resp.status_code == 422, (field, resp.json)
        assert field in resp.json["fields"] and resp.json["fields"][field], resp.json
    assert counts(session) == before
    # What the desk's pages send (numbers, booleans, "" for an empty box) is still accepted.
    located["incident"]["location"].update(lat=16.815, lon=100.26, province_code="")
    assert calltaker.post("/api/calls", json=located).status_code == 201
    assert dispatcher.post(f"/api/incidents/{incident['id']}/assign",
                           json={"team_id": psl1}).status_code == 200
    assert member.post("/api/teams/me/position",
                       json={"lat": 16.8, "lon": 100, "accuracy": 12}).status_code in (200, 204)


BAD_RECORDINGS = ["javascript:alert(1)", "http://evil.example/x.mp3",
                  "http://api.twilio.com/2010-04-01/Accounts/AC1/Recordings/RE1",
                  "https://api.twilio.com.evil.example/x.mp3",
                  "https://user:pw@api.twilio.com/x.mp3",
                  "https://evil.example/?https://api.twilio.com/x",
                  "https://api.twilio.com:8443/x.mp3",
                  " javascript:alert(1)", "data:text/html,<script>alert(1)</script>"]


@pytest.mark.parametrize("url", BAD_RECORDINGS)
def test_a_recording_link_must_be_a_twilio_https_address(app, session, url):
    twilio = Twilio(app, token=TOKEN)
    twilio.call("CA77", "voice")
    twilio.call("CA77", "queue-result", QueueResult="leave")
    before = counts(session)
    twilio.call("CA77", "recorded", RecordingUrl=url, RecordingDuration="14")
    twilio.call("CA77", "recording", RecordingUrl=url, RecordingDuration="15",
                RecordingStatus="completed", RecordingSid="RE1")
    session.expire_all()
    call = session.scalar(select(Call).where(Call.call_sid == "CA77"))
    assert call.recording_url is None and call.recording_seconds is None
    assert counts(session) == before  # no callback row keeps the address either
    good = "https://api.twilio.com/2010-04-01/Accounts/AC1/Recordings/RE1"
    twilio.call("CA77", "recording", RecordingUrl=good, RecordingDuration="15",
                RecordingStatus="completed", RecordingSid="RE1")
    session.expire_all()
    assert session.get(Call, call.id).recording_url == good
