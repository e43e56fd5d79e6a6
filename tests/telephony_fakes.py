"""Test helpers for the phone line: webhooks signed as Twilio signs them, a loopback API."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs
from xml.etree import ElementTree

import pytest
from twilio.request_validator import RequestValidator

TOKEN = "test-webhook-token-0123456789"
ACCOUNT = "AC" + "1" * 32
PHONE_OVERRIDES = {
    "SIMULATOR_AUTH_TOKEN": TOKEN,
    "TWILIO_NUMBERS": "055-123-456=65,053-123-456=50",
    "TELEPHONY_DEFAULT_PROVINCE": "",
    "TELEPHONY_HOLD_SECONDS": 60,
}


def make_app(db_url: str, **over):
    """The test app with the phone line configured (simulator unless told otherwise)."""
    from console import create_app

    return create_app({
        "TESTING": True, "DATABASE_URL": db_url, "SOCKETIO_MESSAGE_QUEUE": None,
        "SECRET_KEY": "test-secret", "RATELIMIT_STORAGE_URI": "memory://",
        "POSITIONS_REDIS_URL": None, **PHONE_OVERRIDES, **over,
    })


@pytest.fixture
def phone_app(db_url):
    """The test app with the phone line configured (import it as `app` where it is needed)."""
    app = make_app(db_url)
    yield app
    app.extensions["db_engine"].dispose()


@pytest.fixture
def twilio(app):
    """Webhooks posted to the test app as Twilio posts them."""
    return Twilio(app)


class Twilio:
    """Posts webhooks to the app exactly as Twilio does: form body + X-Twilio-Signature."""

    def __init__(self, app, token: str = TOKEN, base: str = "http://localhost") -> None:
        self.http = app.test_client()
        self.validator = RequestValidator(token)
        self.base = base

    def sign(self, url: str, params: dict) -> str:
        return self.validator.compute_signature(url, params)

    def post(self, path: str, params: dict, *, sign_url: str | None = None,
             signature: str | None = None, headers: dict | None = None, sent: dict | None = None):
        """Sign `params` for `sign_url` (default: the URL posted to); send `sent` if given."""
        url = f"{self.base}/telephony/twilio/{path}"
        sig = signature if signature is not None else self.sign(sign_url or url, params)
        all_headers = {**({"X-Twilio-Signature": sig} if sig else {}), **(headers or {})}
        return self.http.post(f"/telephony/twilio/{path}", data=sent or params,
                              headers=all_headers, base_url=self.base)

    def call(self, sid: str, path: str, *, frm: str = "+66812345678", to: str = "+6655123456",
             **extra):
        """One webhook of call `sid`."""
        params = {"CallSid": sid, "AccountSid": ACCOUNT, "From": frm, "To": to,
                  "Direction": "inbound", **extra}
        resp = self.post(path, params)
        assert resp.status_code == 200, resp.get_data(as_text=True)[:300]
        return resp


def twiml(resp) -> ElementTree.Element:
    """The TwiML <Response> of a webhook answer."""
    assert resp.mimetype == "text/xml"
    root = ElementTree.fromstring(resp.get_data())
    assert root.tag == "Response"
    return root


class Recorder:
    """A local HTTP server standing in for api.twilio.com; it records every request."""

    def __init__(self) -> None:
        self.requests: list[dict] = []
        self.fail_to: set[str] = set()
        # DELETE (a recording): the status to answer (204 deleted, 404 gone, 500 Twilio's
        # fault), or hang for `hang_seconds` first (a Twilio that does not answer).
        self.delete_status = 204
        self.hang_seconds = 0.0
        self.released = threading.Event()
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # quiet
                pass

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
                recorder.requests.append({"path": self.path, "form": form,
                                          "auth": self.headers.get("Authorization", "")})
                if form.get("To") in recorder.fail_to:
                    status, body = 400, {"code": 21211, "message": "Invalid 'To' Phone Number",
                                         "status": 400, "more_info": ""}
                else:
                    kind = "SM" if self.path.endswith("/Messages.json") else "CA"
                    status, body = 201, {"sid": f"{kind}{len(recorder.requests):032d}",
                                         "status": "queued", "to": form.get("To")}
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_DELETE(self):
                recorder.requests.append({"path": self.path, "method": "DELETE",
                                          "auth": self.headers.get("Authorization", "")})
                if recorder.hang_seconds:
                    recorder.released.wait(recorder.hang_seconds)
                status = recorder.delete_status
                data = b"" if status == 204 else json.dumps(
                    {"code": 20404 if status == 404 else 20500, "message": "x",
                     "status": status, "more_info": ""}).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except OSError:
                    pass  # the client gave up waiting

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.released.set()
        self.server.shutdown()
        self.server.server_close()
