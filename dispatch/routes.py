"""Incident and team endpoints for the dispatcher desk and the team page."""

from __future__ import annotations

import logging

from flask import Blueprint, current_app, jsonify, request
from flask_login import current_user, login_required

from console import escalation_policy, travel_settings
from console.access_log import log_read
from console.errors import N_, Forbidden, NotFound
from console.idempotency import idempotent
from console.privacy import mask_national_ids
from console.validation import parse
from console.web import db, desk_required, json_body
from dispatch import events, flows, service
from dispatch.enums import OPEN_STATUSES, IncidentStatus
from dispatch.schemas import (
    AssignIn,
    AvailabilityIn,
    CancelIn,
    LadderIn,
    NotDuplicateIn,
    PositionIn,
    SosIn,
    StepIn,
)

log = logging.getLogger(__name__)

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
    # NOTE: a dispatcher's own read also names the reporter's other incident when it is in
    # their scope (the realtime payload names it only within the same province).
    body["same_reporter"] = events.same_reporter_payload(
        incident, current_user if current_user.role in service.DISPATCH_ROLES else None)
    body["timeline"] = [
        {"at": e.at.isoformat(), "kind": e.kind, "from": e.from_status, "to": e.to_status,
         "note": mask_national_ids(e.note), "actor_id": e.actor_id, "team_id": e.team_id}
        for e in incident.timeline
    ]
    # The incidents merged into this one that a dispatcher may split off again (issue 14).
    from dispatch.fusion import open_merges

    body["merges"] = [
        {"incident_id": e.detail["merged_from"], "ref": e.detail.get("ref"),
         "at": e.at.isoformat()}
        for e in (open_merges(incident) if current_user.role in service.DISPATCH_ROLES
                  and incident.status in OPEN_STATUSES else [])
    ]
    return jsonify(body)


@bp.get("/incidents/<int(max=2147483647):incident_id>/contact")
@login_required
def reporter_contact(incident_id: int):
    """The caller's number and name, the citizen reports' contacts: for the province's desks,
    the team holding the job and the case worker of its case (each read in the access log)."""
    from dispatch import contact

    incident, contacts = contact.reporter_contacts(session=db(), incident_id=incident_id,
                                                   user=current_user)
    log_read("caller_contact", entity="incident", entity_id=incident.id,
             subjects={"call": [c["call_id"] for c in contacts if c["call_id"]],
                       "report": [c["report_id"] for c in contacts if c["report_id"]]})
    return jsonify({"incident_id": incident.id, "contacts": contacts})


def _fusion_settings():
    from dispatch.fusion import FusionSettings

    cfg = current_app.config
    return FusionSettings(meters=cfg["ESS_DEDUPE_METERS"], minutes=cfg["ESS_DEDUPE_MINUTES"])


@bp.get("/incidents/<int(max=2147483647):incident_id>/duplicates")
@login_required
def duplicates(incident_id: int):
    """Open incidents of the same province likely to be the same matter, with the reasons
    (the call-taker after saving, the dispatcher desk and the incident page)."""
    from dispatch import fusion

    found = fusion.likely_duplicates(session=db(), incident_id=incident_id, user=current_user,
                                     settings=_fusion_settings())
    log_read("incident_duplicates", entity="incident", entity_id=incident_id,
             subjects={"incident": [d.incident_id for d in found]})
    return jsonify({"incident_id": incident_id,
                    "duplicates": [fusion.duplicate_payload(d) for d in found]})


@bp.get("/incidents/duplicates")
@desk_required("dispatch")
def board_duplicates():
    """For each open incident of the board, its likely duplicates (ids and reasons; the board
    already shows their rows)."""
    from dispatch import fusion

    found = fusion.board_duplicates(session=db(), user=current_user,
                                    settings=_fusion_settings())
    return jsonify({str(incident_id): [fusion.duplicate_payload(d) for d in items]
                    for incident_id, items in found.items()})


@bp.post("/incidents/<int(max=2147483647):incident_id>/not-duplicate")
@desk_required("dispatch")
def not_duplicate(incident_id: int):
    """Mark a suggested pair as not the same matter: never suggested together again."""
    from dispatch import fusion

    data = parse(NotDuplicateIn, json_body())
    session = db()
    row = fusion.dismiss(session=session, incident_id=incident_id, other_id=data.other_id,
                         by=current_user, reason=data.reason)
    session.commit()
    return jsonify(fusion.dismissal_payload(row))


@bp.post("/incidents/<int(max=2147483647):incident_id>/assign")
@desk_required("dispatch")
@idempotent
def assign(incident_id: int):
    """Assign an available team of the incident's province."""
    data = parse(AssignIn, json_body())
    session = db()
    service.assign_team(session=session, incident_id=incident_id, team_id=data.team_id,
                        by=current_user, policy=escalation_policy(current_app.config))
    flows.notify_assignment(session=session, incident_id=incident_id, link_base=_link_base())
    session.commit()
    incident = service.get_incident(session=session, incident_id=incident_id, user=current_user)
    return jsonify(events.incident_payload(incident))


@bp.post("/incidents/<int(max=2147483647):incident_id>/steps/<step>")
@login_required
@idempotent
def step(incident_id: int, step: str):
    """A team step: acknowledge, en-route, on-scene, resolve (each with an optional note)."""
    if step not in STEPS:
        raise NotFound("step")
    data = parse(StepIn, json_body())
    session = db()
    incident = service.advance(session=session, incident_id=incident_id, to=STEPS[step],
                               by=current_user, note=data.note,
                               policy=escalation_policy(current_app.config))
    session.commit()
    return jsonify(events.incident_payload(incident))


@bp.get("/teams")
@login_required
def teams():
    """Teams the user may see: a field member their own team, desk staff their province's."""
    if not service.may_list_teams(current_user):
        raise Forbidden(N_("Your role cannot use this desk."))
    items = [events.team_payload(t) for t in service.list_teams(session=db(), user=current_user)]
    log_read("teams", entity="team", subjects={"team": [t["id"] for t in items]})
    return jsonify(items)


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
    """The nearest suitable available teams for an incident (teams on call for the shift under
    way first), each with the reasons."""
    cfg = current_app.config
    suggestions = service.recommend_teams(
        session=db(), incident_id=incident_id, user=current_user,
        index=current_app.extensions["positions"], travel=travel_settings(cfg),
        max_age_minutes=cfg["POSITION_MAX_AGE_MINUTES"],
    )
    log_read("teams", entity="incident", entity_id=incident_id, view="recommendations",
             subjects={"team": [s.team.id for s in suggestions]})
    return jsonify([
        {"team": events.team_payload(s.team), "distance_km": round(s.distance_km, 2),
         "eta_minutes": round(s.eta_minutes, 1), "skill": s.skill,
         "last_seen": s.last_seen.isoformat(), "on_call": s.on_call}
        for s in suggestions
    ])


@bp.post("/incidents/<int(max=2147483647):incident_id>/cancel")
@desk_required("dispatch")
@idempotent
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


def _link_base() -> str:
    """The console's address for links in SMS."""
    return current_app.config["PUBLIC_BASE_URL"] or request.host_url


def _chooser():
    cfg = current_app.config
    return service.choose_next_team(current_app.extensions["positions"], travel_settings(cfg),
                                    cfg["POSITION_MAX_AGE_MINUTES"])


@bp.post("/incidents/<int(max=2147483647):incident_id>/decline")
@desk_required("team")
@idempotent
def decline(incident_id: int):
    """The offered team declines with a reason; the next team is offered when allowed."""
    data = parse(CancelIn, json_body())
    session = db()
    incident = service.decline(session=session, incident_id=incident_id, by=current_user,
                               reason=data.reason, policy=escalation_policy(current_app.config),
                               choose=_chooser())
    flows.after_offer_change(session=session, incident_id=incident_id, link_base=_link_base())
    session.commit()
    return jsonify(events.incident_payload(incident))


@bp.post("/incidents/<int(max=2147483647):incident_id>/checkin")
@desk_required("team")
@idempotent
def checkin(incident_id: int):
    """One tap from the scene: we are safe."""
    session = db()
    incident = service.check_in(session=session, incident_id=incident_id, by=current_user,
                                policy=escalation_policy(current_app.config))
    session.commit()
    return jsonify(events.incident_payload(incident))


@bp.post("/teams/me/sos")
@desk_required("team")
@idempotent
def sos():
    """The SOS button: the highest alarm, with the last known position."""
    data = parse(SosIn, json_body())
    session = db()
    alarm = service.raise_sos(session=session, by=current_user, lat=data.lat, lon=data.lon,
                              note=data.note)
    flows.notify_alarm(session=session, alarm_id=alarm.id, link_base=_link_base())
    session.commit()
    return jsonify(events.alarm_payload(alarm)), 201


@bp.get("/alarms")
@desk_required("dispatch")
def alarms():
    """Alarms nobody has handled yet, SOS first."""
    items = events.alarm_payloads(service.open_alarms(session=db(), user=current_user))
    log_read("alarms", entity="alarm", subjects={"alarm": [a["id"] for a in items]})
    return jsonify(items)


@bp.post("/alarms/<int(max=2147483647):alarm_id>/handle")
@desk_required("dispatch")
def handle_alarm(alarm_id: int):
    """Take charge of an alarm."""
    session = db()
    alarm = service.handle_alarm(session=session, alarm_id=alarm_id, by=current_user)
    session.commit()
    return jsonify(events.alarm_payload(alarm))


def _ladder_payload(rungs, configured: bool) -> dict:
    return {"configured": configured,
            "rungs": [{"action": r.action.value, "wait_seconds": r.wait_seconds,
                       "contact_name": r.contact_name, "contact_phone": r.contact_phone}
                      for r in rungs]}


@bp.get("/escalation/<string(length=2):province_code>")
@login_required
def get_ladders(province_code: str):
    """A province's escalation ladders, one per priority (administrators)."""
    found = service.ladders(session=db(), province_code=province_code, user=current_user,
                            policy=escalation_policy(current_app.config))
    return jsonify({p: _ladder_payload(rungs, configured)
                    for p, (rungs, configured) in found.items()})


@bp.put("/escalation/<string(length=2):province_code>/<string(length=2):priority>")
@login_required
def put_ladder(province_code: str, priority: str):
    """Replace one priority's escalation ladder of a province (administrators)."""
    data = parse(LadderIn, json_body())
    session = db()
    rungs = service.save_ladder(session=session, province_code=province_code, priority=priority,
                                data=data, by=current_user)
    session.commit()
    return jsonify(_ladder_payload(rungs, True))
