"""Slow third-party work of the phone line, run as jobs: putting an accepted caller through to
the officer's phone (a Twilio call update), calling a missed caller back, and deleting a call
recording at Twilio once we no longer keep it (retention, erasure). A request only queues them;
the job worker places the call and records each try."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from sqlalchemy.orm import Session

from console.errors import N_
from console.models import User
from jobs.service import JobContext, JobFailed, Skip, enqueue, task
from telephony import service
from telephony.models import Call
from telephony.schemas import format_thai_phone

CONNECT = "telephony.connect"
CALL_BACK = "telephony.callback"
DELETE_RECORDING = "telephony.delete_recording"
# A recording's address at Twilio: .../Accounts/AC.../Recordings/RE...(.mp3|.wav|.json)
_RECORDING_RE = re.compile(r"/Accounts/(AC[0-9a-fA-F]{32})/Recordings/(RE[0-9a-fA-F]{32})"
                           r"(?:\.[a-z0-9]+)?/?$")


def request_connect(*, session: Session, call: Call, by: User, twiml: str) -> bool:
    """Queue putting the accepted caller through; False when the officer has no phone."""
    to = service.connect_target(call=call, by=by)
    if to is None:
        return False
    enqueue(session, CONNECT, {"call_id": call.id, "user_id": by.id, "to": to, "twiml": twiml},
            province_code=call.province_code, recipient=by.display_name)
    return True


def request_call_back(*, session: Session, call: Call, by: User, twiml: str) -> None:
    """Queue a call-back of a missed caller (placed by the job worker, each try kept)."""
    # NOTE: the desks' list names the caller by the last digits only.
    enqueue(session, CALL_BACK, {"call_id": call.id, "user_id": by.id, "twiml": twiml},
            province_code=call.province_code,
            recipient="…" + format_thai_phone(call.number)[-4:])


# NOTE: a caller waiting in the queue cannot wait for minutes of back-off: 3 quick tries.
@task(CONNECT, label=N_("Putting the caller through"), max_attempts=3, backoff_seconds=1)
def connect_job(ctx: JobContext, payload: dict) -> None:
    """Redirect the live call to the officer's phone (Twilio call update)."""
    call = ctx.session.get(Call, payload["call_id"])
    if not service.call_still_waiting(call, payload["user_id"]):
        raise Skip
    provider = ctx.app.extensions["telephony"]
    result = provider.connect(call.call_sid, twiml=payload["twiml"])
    service.record_connect(session=ctx.session, call=call, by_id=payload["user_id"],
                           to=payload["to"], result=result)
    if not result.ok:
        raise JobFailed(result.reason or "error", result.error or "")


@task(CALL_BACK, label=N_("Call-back"))
def call_back_job(ctx: JobContext, payload: dict) -> None:
    """Place the call-back; a placed call leaves the call-back list."""
    call = ctx.session.get(Call, payload["call_id"])
    if call is None or not call.number or not call.needs_callback:
        raise Skip  # NOTE: someone already reached the caller.
    provider = ctx.app.extensions["telephony"]
    result = provider.call_back(call.number, provider.number, twiml=payload["twiml"])
    service.record_call_back(session=ctx.session, call=call, by_id=payload["user_id"],
                             provider=provider, twiml=payload["twiml"], result=result)
    if not result.ok:
        raise JobFailed(result.reason or "error", result.error or "")


def recording_ids(url: str | None) -> tuple[str | None, str | None]:
    """The account and recording ids in a Twilio recording address ((None, None): not one)."""
    try:
        match = _RECORDING_RE.search(urlsplit(url or "").path)
    except ValueError:
        return None, None
    return (match.group(1), match.group(2)) if match else (None, None)


def request_recording_deletion(session: Session, *, url: str | None, call_id: int,
                               province_code: str | None) -> None:
    """Queue deleting a call's recording at Twilio, in the transaction that forgets its address
    (retention or an erasure): the audio must not outlive our record of it."""
    if not url:
        return
    account_sid, recording_sid = recording_ids(url)
    # NOTE: the payload keeps the ids only, never the address; an address without them still
    # queues a job, which ends on the dead list for a person to delete it by hand.
    enqueue(session, DELETE_RECORDING, {"call_id": call_id, "account_sid": account_sid,
                                        "recording_sid": recording_sid},
            province_code=province_code)


@task(DELETE_RECORDING, label=N_("Deleting a call recording at the phone service"))
def delete_recording_job(ctx: JobContext, payload: dict) -> None:
    """Delete the recording at Twilio; a hanging or failing Twilio is retried, then dead."""
    if not payload.get("recording_sid"):
        raise JobFailed("refused", "the recording address held no recording id", retry=False)
    provider = ctx.app.extensions["telephony"]
    result = provider.delete_recording(payload["recording_sid"],
                                       account_sid=payload.get("account_sid"))
    if not result.ok:
        raise JobFailed(result.reason or "error", result.error or "")
