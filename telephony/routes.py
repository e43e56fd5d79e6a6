"""Call log endpoints for the call-taker desk."""

from __future__ import annotations

from flask import Blueprint, jsonify
from flask_login import current_user

from console.errors import N_, DomainError
from console.validation import parse
from console.web import db, desk_required, json_body
from dispatch.events import incident_payload
from dispatch.schemas import CallWithIncidentIn
from telephony import service
from telephony.schemas import CloseCallIn

bp = Blueprint("telephony", __name__, url_prefix="/api/calls")


@bp.post("")
@desk_required("calls")
def log_call():
    """Log a call: `action` 'close' (with an outcome) or 'incident' (with the incident)."""
    body = json_body()
    action = body.pop("action", None) if isinstance(body, dict) else None
    session = db()
    if action == "close":
        call = service.close_at_intake(session=session, data=parse(CloseCallIn, body),
                                       by=current_user)
        session.commit()
        return jsonify({"call_id": call.id, "outcome": call.outcome.value}), 201
    if action == "incident":
        call, incident = service.log_call_with_incident(
            session=session, data=parse(CallWithIncidentIn, body), by=current_user
        )
        session.commit()
        return jsonify({"call_id": call.id, "incident": incident_payload(incident)}), 201
    raise DomainError(N_("Choose whether to close the call or create an incident."))
