"""Telephony providers: Twilio through its own client, and the embedded simulator (default).

Chosen once in create_app() from config (`make_provider`) and kept at
app.extensions["telephony"]. Services take the provider as an argument; tests never reach
the internet (the simulator keeps messages in memory; Twilio can be pointed at a local server).
"""

from __future__ import annotations

import re
import secrets
import threading
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import urlsplit, urlunsplit


@dataclass(frozen=True)
class ProviderResult:
    """What the provider answered: its id for the message/call, a status, an error if any."""

    sid: str | None
    status: str
    error: str | None = None
    # Why it failed, as the job queue names it: timeout, unreachable, refused, bad_number,
    # service_error (jobs/service.py REASONS); None when it worked.
    reason: str | None = None

    @property
    def ok(self) -> bool:
        """True when the provider accepted the request."""
        return self.error is None and self.status != "failed"


class TelephonyProvider(Protocol):
    """What the console needs from a telephony carrier."""

    name: str
    number: str | None  # the hotline's own number (sender of SMS, caller id of call-backs)
    webhook_token: str  # the secret inbound webhooks are signed with

    def send_sms(self, to: str, body: str) -> ProviderResult:
        """Send one SMS."""
        ...

    def call_back(self, to: str, from_: str | None = None, *, twiml_url: str | None = None,
                  twiml: str | None = None) -> ProviderResult:
        """Place an outbound call that runs `twiml` (or fetches it from `twiml_url`)."""
        ...

    def connect(self, call_sid: str, *, twiml: str) -> ProviderResult:
        """Redirect a live call (a caller waiting in the queue) to new TwiML."""
        ...

    def delete_recording(self, recording_sid: str, *,
                         account_sid: str | None = None) -> ProviderResult:
        """Delete a call recording kept by the carrier (one already gone counts as deleted)."""
        ...


@dataclass
class SimulatorProvider:
    """Never touches a network: keeps what it 'sent' in memory; webhooks use a random token."""

    number: str | None = "1300"
    webhook_token: str = field(default_factory=lambda: secrets.token_hex(16), repr=False)
    name: str = "simulator"
    sent: list[dict[str, Any]] = field(default_factory=list)
    fail_numbers: set[str] = field(default_factory=set)  # numbers the simulator refuses
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @staticmethod
    def line_for(province_code: str) -> str:
        """The simulated hotline number of a province (+66 2 1300 0XX style, never dialled)."""
        return f"+66213000{province_code}"

    @staticmethod
    def province_of(number: str | None) -> str | None:
        """The province of a simulated line, if it is one."""
        match = re.fullmatch(r"\+66213000(\d\d)", number or "")
        return match.group(1) if match else None

    def _record(self, kind: str, **data: Any) -> ProviderResult:
        with self._lock:
            sid = f"SIM{kind[0].upper()}{len(self.sent) + 1:032d}"
            if data.get("to") in self.fail_numbers:
                result = ProviderResult(None, "failed", "simulated failure", "bad_number")
            else:
                result = ProviderResult(sid, "queued")
            self.sent.append({"kind": kind, "sid": result.sid, "status": result.status, **data})
            return result

    def send_sms(self, to: str, body: str) -> ProviderResult:
        """Record an SMS."""
        return self._record("sms", to=to, body=body, from_=self.number)

    def call_back(self, to: str, from_: str | None = None, *, twiml_url: str | None = None,
                  twiml: str | None = None) -> ProviderResult:
        """Record an outbound call."""
        return self._record("call", to=to, from_=from_ or self.number, url=twiml_url,
                            twiml=twiml)

    def connect(self, call_sid: str, *, twiml: str) -> ProviderResult:
        """Record the redirect of a live call."""
        return self._record("connect", call_sid=call_sid, twiml=twiml)

    def delete_recording(self, recording_sid: str, *,
                         account_sid: str | None = None) -> ProviderResult:
        """Record the deletion of a recording."""
        return self._record("delete_recording", recording_sid=recording_sid,
                            account_sid=account_sid)


def _rewriting_http_client(base_url: str, timeout: float = 10):
    """A TwilioHttpClient that sends every request to `base_url` instead of *.twilio.com."""
    from twilio.http.http_client import TwilioHttpClient

    target = urlsplit(base_url)

    class RewritingHttpClient(TwilioHttpClient):
        def request(self, method, url, *args, **kwargs):
            parts = urlsplit(url)
            url = urlunsplit((target.scheme, target.netloc, parts.path, parts.query, ""))
            return super().request(method, url, *args, **kwargs)

    return RewritingHttpClient(timeout=timeout)


class TwilioProvider:
    """Twilio through twilio.rest.Client; `base_url` points it elsewhere (a test server)."""

    name = "twilio"

    def __init__(self, *, account_sid: str, auth_token: str, number: str | None,
                 base_url: str | None = None, http_client=None, timeout: float = 10) -> None:
        from twilio.http.http_client import TwilioHttpClient
        from twilio.rest import Client

        # NOTE: every call is bounded by `timeout` (OUTBOUND_TIMEOUT_SECONDS); the job queue
        # retries, so the client itself does not.
        if http_client is None:
            http_client = (_rewriting_http_client(base_url, timeout) if base_url
                           else TwilioHttpClient(timeout=timeout))
        self.client = Client(account_sid, auth_token, http_client=http_client)
        self.number = number
        self.webhook_token = auth_token

    def _send(self, make) -> ProviderResult:
        from requests import ConnectionError as RequestsConnectionError
        from requests import RequestException, Timeout
        from twilio.base.exceptions import TwilioException, TwilioRestException

        try:
            resource = make()
        except TwilioRestException as exc:
            return ProviderResult(None, "failed", f"{exc.status} {exc.code or ''} {exc.msg}"
                                  .strip(), _twilio_reason(exc.status, exc.code))
        except Timeout as exc:
            return ProviderResult(None, "failed", str(exc) or "timeout", "timeout")
        except RequestsConnectionError as exc:
            return ProviderResult(None, "failed", str(exc) or "unreachable", "unreachable")
        except (TwilioException, RequestException) as exc:
            return ProviderResult(None, "failed", str(exc) or exc.__class__.__name__,
                                  "service_error")
        return ProviderResult(resource.sid, str(resource.status or "queued"))

    def send_sms(self, to: str, body: str) -> ProviderResult:
        """Send one SMS from the hotline number."""
        return self._send(lambda: self.client.messages.create(to=to, from_=self.number,
                                                              body=body))

    def call_back(self, to: str, from_: str | None = None, *, twiml_url: str | None = None,
                  twiml: str | None = None) -> ProviderResult:
        """Place an outbound call running `twiml` or the TwiML at `twiml_url`."""
        kwargs: dict[str, Any] = {"to": to, "from_": from_ or self.number}
        if twiml_url:
            kwargs["url"] = twiml_url
        else:
            kwargs["twiml"] = twiml
        return self._send(lambda: self.client.calls.create(**kwargs))

    def connect(self, call_sid: str, *, twiml: str) -> ProviderResult:
        """Redirect a live call to new TwiML (Twilio's call update)."""
        return self._send(lambda: self.client.calls(call_sid).update(twiml=twiml))

    def delete_recording(self, recording_sid: str, *,
                         account_sid: str | None = None) -> ProviderResult:
        """Delete a recording (Twilio's Recording resource delete), in the account whose
        address it had; a recording Twilio no longer has (404) counts as deleted."""
        from twilio.base.exceptions import TwilioRestException

        api = self.client.api.v2010
        account = api.accounts(account_sid) if account_sid else api.account

        def make():
            try:
                account.recordings(recording_sid).delete()
            except TwilioRestException as exc:
                if exc.status != 404:
                    raise
            return _Deleted(recording_sid)

        return self._send(make)


@dataclass(frozen=True)
class _Deleted:
    sid: str
    status: str = "deleted"


# Twilio error codes that mean the number itself cannot be reached this way.
_BAD_NUMBER_CODES = {21211, 21214, 21217, 21401, 21407, 21408, 21421, 21610, 21612, 21614}


def _twilio_reason(status: int | None, code: int | None) -> str:
    """A refusal's reason for the job queue: a bad number, throttled, Twilio's own fault."""
    if code in _BAD_NUMBER_CODES:
        return "bad_number"
    if status == 429 or (status or 0) >= 500:
        return "service_error"
    return "refused"


def make_provider(config: dict[str, Any]) -> TelephonyProvider:
    """Twilio when its account, token and number are configured, else the simulator."""
    if config.get("TELEPHONY_PROVIDER") == "twilio":
        return TwilioProvider(
            account_sid=config["TWILIO_ACCOUNT_SID"], auth_token=config["TWILIO_AUTH_TOKEN"],
            number=config["TWILIO_NUMBER"], base_url=config.get("TWILIO_API_BASE_URL") or None,
            timeout=float(config.get("OUTBOUND_TIMEOUT_SECONDS") or 10),
        )
    return SimulatorProvider(
        number=config.get("TWILIO_NUMBER") or "1300",
        webhook_token=config.get("SIMULATOR_AUTH_TOKEN") or secrets.token_hex(16),
    )
