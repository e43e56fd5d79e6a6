"""What the carrier does on its own, played for the embedded simulator (issue 14): a caller left
waiting past TELEPHONY_HOLD_SECONDS is taken out of the queue to the voice message and joins the
call-back list (Twilio's /wait does this for real calls), and a caller can hang up while waiting.
Both go through the same service function as a carrier's status callback, once per call."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from console.errors import N_, Conflict
from console.models import User
from telephony import service
from telephony.enums import CallStatus
from telephony.models import Call


def _leave_queue(session: Session, call: Call, kind: str) -> bool:
    """The caller leaves the queue unanswered: the call ends and waits for a call-back."""
    if not service.callback_once(session=session, call_sid=call.call_sid, kind=kind,
                                 params={"simulated": "1"}):
        return False
    service.apply_status(session=session, call=call, status=CallStatus.COMPLETED)
    return True


def expire_holds(*, session: Session, now: datetime, hold_seconds: int,
                 limit: int = 50) -> list[int]:
    """Calls waiting longer than the hold limit go to the voice message and the call-back
    list; returns their ids. Run by the timer loop when the simulator is the provider."""
    since = func.coalesce(Call.ring_at, Call.created_at)
    stmt = (select(Call).where(Call.status == CallStatus.QUEUED, Call.taken_by_id.is_(None),
                               Call.call_sid.is_not(None),
                               since <= now - timedelta(seconds=hold_seconds))
            .order_by(Call.id).limit(limit))
    done = []
    for call in session.scalars(stmt):
        if _leave_queue(session, call, "simulated-hold-timeout"):
            done.append(call.id)
    session.flush()
    return done


def hang_up(*, session: Session, call_id: int, by: User) -> Call:
    """The simulated caller hangs up while waiting in the queue (a supervisor plays it)."""
    call = service.get_call(session=session, call_id=call_id, user=by)
    if call.call_sid is None or call.status is not CallStatus.QUEUED or call.taken_by_id:
        raise Conflict(N_("This call is no longer waiting in the queue."))
    _leave_queue(session, call, "simulated-hangup")
    session.flush()
    return call
