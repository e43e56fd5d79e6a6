"""Incident and team endpoints for the dispatcher desk and the team page."""

from __future__ import annotations

from flask import Blueprint, jsonify
from flask_login import current_user, login_required

from console.errors import NotFound
from console.validation import parse
from console.web import db, desk_required, json_body
from dispatch import events, service
from dispatch.enums import IncidentStatus
from dispatch.schemas import AssignIn, StepIn

bp = Blueprint("dispatch", __name__, url_prefix="/api")

STEPS = {
    "acknowledge": IncidentStatus.ACKNOWLEDGED,
    "en-route": IncidentStatus.EN_ROUTE,
    "on-scene": IncidentStatus.ON_SCENE,
    "resolve": IncidentStatus.RESOLVED,
}


@bp.get("/incidents/<int:incident_id>")
@login_required
def get_incident(incident_id: int):
    """One incident the user may see, with its timeline."""
    incident = service.get_incident(session=db(), incident_id=incident_id, user=current_user)
    body = events.incident_payload(incident)
    body["timeline"] = [
        {"at": e.at.isoformat(), "kind": e.kind, "from": e.from_status, "to": e.to_status,
         "note": e.note, "actor_id": e.actor_id, "team_id": e.team_id}
        for e in incident.timeline
    ]
    return jsonify(body)


@bp.post("/incidents/<int:incident_id>/assign")
@desk_required("dispatch")
def assign(incident_id: int):
    """Assign an available team of the incident's province."""
    data = parse(AssignIn, json_body())
    session = db()
    service.assign_team(session=session, incident_id=incident_id, team_id=data.team_id,
                        by=current_user)
    session.commit()
    incident = service.get_incident(session=session, incident_id=incident_id, user=current_user)
    return jsonify(events.incident_payload(incident))


@bp.post("/incidents/<int:incident_id>/steps/<step>")
@login_required
def step(incident_id: int, step: str):
    """A team step: acknowledge, en-route, on-scene, resolve (each with an optional note)."""
    if step not in STEPS:
        raise NotFound("step")
    data = parse(StepIn, json_body())
    session = db()
    incident = service.advance(session=session, incident_id=incident_id, to=STEPS[step],
                               by=current_user, note=data.note)
    session.commit()
    return jsonify(events.incident_payload(incident))


@bp.get("/teams")
@login_required
def teams():
    """Teams in the user's scope."""
    return jsonify([events.team_payload(t)
                    for t in service.list_teams(session=db(), user=current_user)])
