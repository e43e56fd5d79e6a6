"""The call log: calls closed at intake with an outcome, or turned into incidents."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from cases.models import Agency
from console.db import utcnow
from console.errors import N_, ValidationFailed, prefixed
from console.models import User
from console.service import record_audit
from dispatch import service as dispatch_service
from dispatch.enums import Source
from dispatch.models import Incident
from dispatch.schemas import CallWithIncidentIn
from telephony import events
from telephony.enums import CallOutcome
from telephony.models import Call
from telephony.schemas import CloseCallIn


def _new_call(data, by: User) -> Call:
    now = utcnow()
    return Call(
        number=data.number,
        caller_name=data.caller_name,
        summary=data.summary,
        advice=data.advice,
        taken_by_id=by.id,
        answered_at=data.answered_at or now,
        created_at=now,
    )


def close_at_intake(*, session: Session, data: CloseCallIn, by: User) -> Call:
    """Log a call that needs no team (advice, referral elsewhere, hoax...) and close it."""
    if data.agency_id is not None and session.get(Agency, data.agency_id) is None:
        raise ValidationFailed({"agency_id": (N_("Unknown agency."), {})})
    call = _new_call(data, by)
    call.outcome = data.outcome
    call.agency_id = data.agency_id
    call.province_code = data.province_code or by.province_code
    call.closed_at = call.created_at
    session.add(call)
    session.flush()
    record_audit(session=session, actor_id=by.id, action="call.closed", entity="call",
                 entity_id=call.id, detail={"outcome": call.outcome.value})
    events.call_logged(session=session, call=call)
    return call


def log_call_with_incident(
    *, session: Session, data: CallWithIncidentIn, by: User
) -> tuple[Call, Incident]:
    """Log a call and open its incident in one transaction."""
    call = _new_call(data, by)
    call.outcome = CallOutcome.INCIDENT_CREATED
    session.add(call)
    session.flush()
    try:
        incident = dispatch_service.create_incident(
            session=session, data=data.incident, by=by, call_id=call.id, source=Source.HOTLINE,
            summary=data.summary,
        )
    except ValidationFailed as exc:
        raise prefixed(exc, "incident.") from None
    call.province_code = incident.province_code
    call.closed_at = utcnow()
    record_audit(session=session, actor_id=by.id, action="call.incident", entity="call",
                 entity_id=call.id, detail={"incident_id": incident.id})
    session.flush()
    events.call_logged(session=session, call=call)
    return call, incident


def recent_calls(*, session: Session, user: User, limit: int = 20) -> list[Call]:
    """The user's own most recent calls."""
    return list(session.scalars(
        select(Call).where(Call.taken_by_id == user.id).order_by(Call.id.desc()).limit(limit)
    ))


def call_ids_since(*, session: Session, user: User, since) -> list[int]:
    """Ids of calls logged since a time in the user's scope (the board counts them once)."""
    stmt = select(Call.id).where(Call.created_at >= since)
    if not user.is_national:
        stmt = stmt.where(Call.province_code == user.province_code)
    return list(session.scalars(stmt))
