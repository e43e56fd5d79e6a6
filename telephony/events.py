"""Outbound realtime events of the call log and the phone line."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from console import realtime
from console.db import utcnow
from console.privacy import mask_national_ids
from console.rooms import (
    CALLTAKERS_NATIONAL,
    SUPERVISORS_NATIONAL,
    calltaker_rooms,
    supervisor_rooms,
)
from telephony import routing
from telephony.models import Call


def is_supervisor_queue(queue: str | None) -> bool:
    """Whether only supervisors answer calls of this queue (telephony.service's rule)."""
    from telephony.service import is_supervisor_queue as rule

    return rule(queue)


if TYPE_CHECKING:
    from telephony.models import CallLink
    from telephony.service import CallerContext

CALL_LOGGED = "call.logged"
CALL_RINGING = "call.ringing"
CALL_UPDATED = "call.updated"


def _iso(value) -> str | None:
    return value.isoformat() if value is not None else None


def call_payload(call: Call) -> dict[str, Any]:
    """What the supervisor board counts about a call (no caller details: PDPA)."""
    return {
        "id": call.id,
        "outcome": call.outcome.value if call.outcome else None,
        "province_code": call.province_code,
        "created_at": call.created_at.isoformat(),
        "closed_at": call.closed_at.isoformat() if call.closed_at else None,
    }


def call_logged(*, session: Session, call: Call) -> dict:
    """A call was logged: its province's supervisors hear (the supervisor board counts calls).

    Only the supervisor board reads it: dispatch and call-taker consoles, the many, are not
    sent an event they would drop (each event costs the server one send per console).
    """
    return realtime.publish(session, CALL_LOGGED, call_payload(call),
                            supervisor_rooms(call.province_code))


def pop_rooms(call: Call) -> list[str]:
    """Who answers this call: the province's call-takers and supervisors (a supervisor on the
    calls desk takes calls too, issue 14), or only its supervisors' queue."""
    if is_supervisor_queue(call.queue):
        return supervisor_rooms(call.province_code)
    return calltaker_rooms(call.province_code) + supervisor_rooms(call.province_code)


def screen_pop_payload(call: Call, context: CallerContext, links: list[CallLink]
                       ) -> dict[str, Any]:
    """Everything a call-taker needs before picking up: history, open work, flags."""
    from telephony.schemas import format_thai_phone

    return {
        "id": call.id,
        "number": call.number,
        "number_display": format_thai_phone(call.number),
        "province_code": call.province_code,
        "queue": call.queue,
        "reason": call.reason.value if call.reason else None,
        "ring_at": _iso(call.ring_at),
        "times_called_before": context.times_called_before,
        "last_contacts": [
            {"id": c.id, "at": _iso(c.created_at),
             "outcome": c.outcome.value if c.outcome else None,
             "reason": c.reason.value if c.reason else None,
             "status": c.status.value if c.status else None}
            for c in context.last_contacts
        ],
        "open_incidents": [
            {"id": i.id, "ref": i.ref, "status": i.status.value, "category": i.category.value,
             "priority": i.priority.value}
            for i in context.open_incidents
        ],
        "open_cases": [{"id": c.id, "ref": c.ref, "status": c.status.value}
                       for c in context.open_cases],
        "flags": [
            {"id": f.id, "level": f.level.value, "reason": mask_national_ids(f.reason),
             "expires_at": _iso(f.expires_at)}
            for f in context.flags
        ],
        "protected_because": context.protected_because,
        "nuisance_level": context.nuisance_level.value if context.nuisance_level else None,
        "applied_level": context.applied_level.value if context.applied_level else None,
        "linked_refs": [link.ref for link in links],
    }


def call_state_payload(call: Call) -> dict[str, Any]:
    """A voice call's state, so screen pops update or disappear everywhere."""
    return {
        "id": call.id,
        "province_code": call.province_code,
        "queue": call.queue,
        "status": call.status.value if call.status else None,
        "taken_by_id": call.taken_by_id,
        "answered_at": _iso(call.answered_at),
        "ended_at": _iso(call.ended_at),
        "needs_callback": call.needs_callback,
        "has_recording": bool(call.recording_url),
    }


def call_ringing(*, session: Session, call: Call, context: CallerContext,
                 links: list[CallLink],
                 provincial: tuple[CallerContext, list[CallLink]] | None = None) -> dict:
    """A call is waiting: the screen pop, to the call-takers of its province only.

    National call-takers (or supervisors) get the caller's whole history (`context`); the
    province's room gets `provincial`, the part of it that province may see. A call of the
    national queue pops in the national room only. One event when both are the same.
    """
    rooms = pop_rooms(call)
    national = [r for r in rooms if r in (CALLTAKERS_NATIONAL, SUPERVISORS_NATIONAL)]
    local = [r for r in rooms if r not in national]
    payload = screen_pop_payload(call, context, links)
    if not local or provincial is None:
        return realtime.publish(session, CALL_RINGING, payload, national)
    local_payload = screen_pop_payload(call, *provincial)
    wave = None if is_supervisor_queue(call.queue) else routing.first_wave(session, call,
                                                                           utcnow())
    if wave is not None:
        # NOTE: a roster: the province's on-duty call-takers first, the others after the wait
        # (telephony/routing); national rooms as ever.
        due = routing.schedule_fallback(session, call, utcnow())
        realtime.publish(session, CALL_RINGING, payload, national)
        return realtime.publish(session, CALL_RINGING, {
            **local_payload, "roster": {"wave": "on_duty", "others_at": _iso(due)}}, wave)
    if local_payload == payload:
        return realtime.publish(session, CALL_RINGING, payload, rooms)
    realtime.publish(session, CALL_RINGING, payload, national)
    return realtime.publish(session, CALL_RINGING, local_payload, local)


def call_ringing_others(*, session: Session, call: Call) -> dict:
    """Nobody on duty took the call within the wait: the screen pop reaches the province's
    other call-takers and supervisors, saying how long the caller has waited for the roster."""
    from telephony.service import call_links, caller_context, visible_context, visible_links

    ctx = caller_context(session=session, number=call.number, exclude_call_id=call.id,
                         call_province=call.province_code)
    links = call_links(session=session, call=call)
    payload = screen_pop_payload(
        call, visible_context(session=session, ctx=ctx, scope=call.province_code),
        visible_links(session=session, links=links, scope=call.province_code))
    waited = int((utcnow() - call.ring_at).total_seconds()) if call.ring_at else None
    payload["roster"] = {"wave": "others", "waited_seconds": waited}
    rooms = [r for r in pop_rooms(call) if r not in (CALLTAKERS_NATIONAL, SUPERVISORS_NATIONAL)]
    return realtime.publish(session, CALL_RINGING, payload, rooms)


def call_updated(*, session: Session, call: Call) -> dict:
    """A voice call was answered, ended, left a message or was called back."""
    if call.queue is None and call.call_sid is None:
        return {}
    return realtime.publish(session, CALL_UPDATED, call_state_payload(call), pop_rooms(call))
