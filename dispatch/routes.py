"""Incident and team endpoints for the dispatcher desk and the team page."""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify
from flask_login import current_user, login_required

from console.errors import NotFound
from console.validation import parse
from console.web import db, desk_required, json_body
from dispatch import events, service
from dispatch.enums import IncidentStatus
from dispatch.schemas import AssignIn, AvailabilityIn, CancelIn, PositionIn, StepIn
from geo.service import TravelSettings

bp = Blueprint("dispatch", __name__, url_prefix="/api")

STEPS = {
    "acknowledge": IncidentStatus.ACKNOWLEDGED,
    "en-route": IncidentStatus.EN_ROUTE,
    "on-scene": IncidentStatus.ON_SCENE,
    "resolve": IncidentStatus.RESOLVED,
}


@bp.get("/incidents/<int(max=2147483647):incident_id>")
@login_required
def get_incident(incident_id: int):
    """One incident the user may see, with its timeline."""
    session = db()
    incident = service.read_incident(session=session, incident_id=incident_id, user=current_user)
    session.commit()
    body = events.incident_payload(incident)
    body["timeline"] = [
        {"at": e.at.isoformat(), "kind": e.kind, "from": e.from_status, "to": e.to_status,
         "note": e.note, "actor_id": e.actor_id, "team_id": e.team_id}
        for e in incident.timeline
    ]
    return jsonify(body)


@bp.post("/incidents/<int(max=2147483647):incident_id>/assign")
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


@bp.post("/incidents/<int(max=2147483647):incident_id>/steps/<step>")
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


@bp.post("/teams/me/position")
@desk_required("team")
def report_position():
    """The team page reports where the team is (phone geolocation)."""
    data = parse(PositionIn, json_body())
    session = db()
    team = service.report_position(session=session, user=current_user, lat=data.lat,
                                   lon=data.lon, accuracy_m=data.accuracy)
    session.commit()
    service.index_position(index=current_app.extensions["positions"], team=team)
    return jsonify(events.team_payload(team))


@bp.get("/incidents/<int(max=2147483647):incident_id>/recommendations")
@desk_required("dispatch")
def recommendations(incident_id: int):
    """The nearest suitable available teams for an incident, each with the reasons."""
    cfg = current_app.config
    suggestions = service.recommend_teams(
        session=db(), incident_id=incident_id, user=current_user,
        index=current_app.extensions["positions"],
        travel=TravelSettings(road_factor=cfg["ROAD_FACTOR"], urban_kmh=cfg["SPEED_URBAN_KMH"],
                              rural_kmh=cfg["SPEED_RURAL_KMH"]),
        max_age_minutes=cfg["POSITION_MAX_AGE_MINUTES"],
    )
    return jsonify([
        {"team": events.team_payload(s.team), "distance_km": round(s.distance_km, 2),
         "eta_minutes": round(s.eta_minutes, 1), "skill": s.skill,
         "last_seen": s.last_seen.isoformat()}
        for s in suggestions
    ])


@bp.post("/incidents/<int(max=2147483647):incident_id>/cancel")
@desk_required("dispatch")
def cancel(incident_id: int):
    """Close an open incident that needs no team, with the reason."""
    data = parse(CancelIn, json_body())
    session = db()
    incident = service.cancel_incident(session=session, incident_id=incident_id,
                                       reason=data.reason, by=current_user)
    session.commit()
    return jsonify(events.incident_payload(incident))


@bp.post("/teams/<int(max=2147483647):team_id>/availability")
@login_required
def availability(team_id: int):
    """Put a team on duty (available) or off duty."""
    data = parse(AvailabilityIn, json_body())
    session = db()
    team = service.set_availability(session=session, team_id=team_id,
                                    available=data.available, by=current_user)
    session.commit()
    return jsonify(events.team_payload(team))
