"""Slow third-party work of the phone line, run as jobs: putting an accepted caller through to
the officer's phone (a Twilio call update) and calling a missed caller back. A request only
queues them; the job worker places the call and records each try."""

from __future__ import annotations

from sqlalchemy.orm import Session

from console.errors import N_
from console.models import User
from jobs.service import JobContext, JobFailed, Skip, enqueue, task
from telephony import service
from telephony.models import Call
from telephony.schemas import format_thai_phone

CONNECT = "telephony.connect"
CALL_BACK = "telephony.callback"


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
