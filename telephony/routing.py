"""Who gets a screen pop first: with a duty roster, the province's call-takers (and the
supervisor) on duty now, each in their own pop room; the province's other call-takers and
supervisors only after ROSTER_POP_FALLBACK_SECONDS if nobody took the call, with a notice.
A province with nobody rostered as call-taker now pops as it always did (everyone at once).

The wait is a job on the outbound queue (run_at = ring + wait): it survives a restart and runs
on whichever process is free, like every other timer-driven send."""

from __future__ import annotations

import os
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from console.errors import N_
from console.rooms import pop_room
from jobs.service import JobContext, Skip, enqueue, task
from roster.enums import DutyRole
from roster.service import on_duty
from telephony.models import Call

POP_FALLBACK = "telephony.pop_fallback"
DEFAULT_FALLBACK_SECONDS = 30


def fallback_seconds() -> int:
    """How long on-duty call-takers have the pop to themselves (ROSTER_POP_FALLBACK_SECONDS)."""
    from flask import current_app, has_app_context

    value = None
    if has_app_context():
        value = current_app.config.get("ROSTER_POP_FALLBACK_SECONDS")
    if value is None:
        value = os.environ.get("ROSTER_POP_FALLBACK_SECONDS", DEFAULT_FALLBACK_SECONDS)
    try:
        return max(int(value), 0)
    except (TypeError, ValueError):
        return DEFAULT_FALLBACK_SECONDS


def first_wave(session: Session, call: Call, now: datetime) -> list[str] | None:
    """The pop rooms of the call-takers and supervisors on duty in the call's province now;
    None when nobody is rostered as call-taker (then everyone gets the pop, as before)."""
    if not call.province_code:
        return None
    duty = on_duty(session, call.province_code, now)
    takers = {d.user_id for d in duty if d.role is DutyRole.CALL_TAKER and d.user_id}
    if not takers:
        return None
    sups = {d.user_id for d in duty if d.role is DutyRole.SUPERVISOR and d.user_id}
    return sorted(pop_room(uid) for uid in takers | sups)


def held_for_on_duty(session: Session, call: Call, user_id: int, now: datetime) -> bool:
    """Whether a waiting call is still the on-duty call-takers' alone and this user is not
    one of them (their desk's waiting list leaves it out until the wait is over, as the pop)."""
    from telephony.service import is_supervisor_queue

    ring = call.ring_at or call.created_at
    if (ring is None or is_supervisor_queue(call.queue)
            or now >= ring + timedelta(seconds=fallback_seconds())):
        return False
    wave = first_wave(session, call, ring)
    return wave is not None and pop_room(user_id) not in wave


def schedule_fallback(session: Session, call: Call, now: datetime) -> datetime:
    """Queue the pop to the province's others for when the wait is over; returns that time."""
    due = now + timedelta(seconds=fallback_seconds())
    enqueue(session, POP_FALLBACK, {"call_id": call.id}, province_code=call.province_code,
            run_at=due, max_attempts=3)
    return due


def still_unanswered(call: Call | None) -> bool:
    """Nobody has taken the call and it is still waiting."""
    from telephony.enums import FINAL_STATUSES

    return (call is not None and call.taken_by_id is None and call.answered_at is None
            and call.closed_at is None and call.status not in FINAL_STATUSES)


@task(POP_FALLBACK, label=N_("Screen pop to the province's other call-takers"),
      max_attempts=3, backoff_seconds=1)
def pop_fallback_job(ctx: JobContext, payload: dict) -> None:
    """The wait is over and nobody on duty took the call: pop it to everyone of the province."""
    from telephony import events

    call = ctx.session.get(Call, payload["call_id"])
    if not still_unanswered(call):
        raise Skip
    events.call_ringing_others(session=ctx.session, call=call)
