"""Outbound realtime events of the dispatch domain (one payload builder per event name)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, object_session

from console import realtime
from console.models import User
from console.privacy import mask_national_ids
from console.rooms import desk_rooms, team_room
from dispatch.models import Alarm, Incident, Team
from geo import gazetteer

INCIDENT_CREATED = "incident.created"
INCIDENT_UPDATED = "incident.updated"
TEAM_UPDATED = "team.updated"
ALARM_CHANGED = "alarm.changed"
# Two incidents marked not a duplicate (or separated by splitting a merge): the desks stop
# suggesting them together.
NOT_DUPLICATE = "incident.not_duplicate"

_TIMES = (
    "created_at", "triaged_at", "dispatched_at", "acknowledged_at", "en_route_at",
    "on_scene_at", "resolved_at", "handed_over_at", "cancelled_at", "updated_at",
    "offer_due_at", "checkin_due_at",
)


def _iso(value) -> str | None:
    return value.isoformat() if value is not None else None


def place_names(province_code: str | None, district_code: str | None, sub_code: str | None) -> dict:
    """Thai and English names of an incident's province, district and subdistrict."""
    names: dict[str, str] = {}
    for key, code in (("province", province_code), ("district", district_code),
                      ("subdistrict", sub_code)):
        place = gazetteer.get(code) if code else None
        names[f"{key}_th"] = place.name_th if place else ""
        names[f"{key}_en"] = place.name_en if place else ""
    return names


def incident_payload(incident: Incident) -> dict[str, Any]:
    """Everything a board, map or team page shows about an incident. National IDs typed into
    its text are masked: these desks never need them (case management reads the case)."""
    team = incident.team
    data: dict[str, Any] = {
        "id": incident.id,
        "ref": incident.ref,
        "status": incident.status.value,
        "category": incident.category.value,
        "priority": incident.priority.value,
        "source": incident.source.value,
        "source_link": incident.source_link,
        "source_org": incident.source_org,
        "summary": mask_national_ids(incident.summary),
        "notes": mask_national_ids(incident.notes),
        "province_code": incident.province_code,
        "district_code": incident.district_code,
        "subdistrict_code": incident.subdistrict_code,
        "place": place_names(
            incident.province_code, incident.district_code, incident.subdistrict_code
        ),
        "address_text": mask_national_ids(incident.address_text),
        "lat": incident.lat,
        "lon": incident.lon,
        "precision": incident.precision.value,
        "place_unknown": bool(incident.place_unknown),
        "team_id": incident.team_id,
        "team_name": team.name if team else None,
        "people": [
            {
                "age_group": p.age_group.value,
                "sex": p.sex.value,
                "vulnerable_group": p.vulnerable_group.value,
            }
            for p in incident.people
        ],
        "same_reporter": same_reporter_payload(incident),
    }
    for name in _TIMES:
        data[name] = _iso(getattr(incident, name))
    return data


def same_reporter_payload(incident: Incident, user=None) -> dict[str, Any] | None:
    """The reporter's other open incident when this one was opened beside it (None: none).

    Its number is given only to those who may see it: in a realtime payload (heard by everyone
    who sees this incident) only when it is of the same province; for one `user`, when their
    scope covers it. Otherwise the desk is told "same reporter" without the number.
    """
    if incident.same_reporter_id is None:
        return None
    other = incident.same_reporter
    visible = other is not None and (
        user.can_see_province(other.province_code) if user is not None
        else other.province_code == incident.province_code)
    if not visible:
        return {"incident_id": None, "ref": None}
    return {"incident_id": other.id, "ref": other.ref}


def team_payload(team: Team) -> dict[str, Any]:
    """What consoles show about a team."""
    return {
        "id": team.id,
        "code": team.code,
        "name": team.name,
        "province_code": team.province_code,
        "status": team.status.value,
        "skills": list(team.skills or []),
        "lat": team.lat,
        "lon": team.lon,
        "position_at": _iso(team.position_at),
        "position_accuracy_m": team.position_accuracy_m,
        "status_changed_at": _iso(team.status_changed_at),
    }


def incident_created(*, session: Session, incident: Incident) -> dict:
    """A new incident, for the desks of its province."""
    return realtime.publish(
        session, INCIDENT_CREATED, incident_payload(incident), desk_rooms(incident.province_code)
    )


def incident_updated(
    *, session: Session, incident: Incident, previous_team_id: int | None = None
) -> dict:
    """An incident changed: its province's desks and the teams holding (or losing) it hear."""
    rooms = desk_rooms(incident.province_code)
    for team_id in {incident.team_id, previous_team_id} - {None}:
        rooms.append(team_room(team_id))
    return realtime.publish(session, INCIDENT_UPDATED, incident_payload(incident), rooms)


def not_duplicate(*, session: Session, dismissal, incidents: tuple[Incident, Incident]) -> dict:
    """A pair of incidents is not the same matter: their province's desks hear it."""
    refs = {i.id: i.ref for i in incidents}
    ids = [dismissal.incident_a_id, dismissal.incident_b_id]
    data = {"incident_ids": ids, "refs": [refs.get(i) for i in ids], "via": dismissal.via,
            "province_code": incidents[0].province_code,
            "at": _iso(dismissal.dismissed_at)}
    provinces = {i.province_code for i in incidents}
    # NOTE: a pair across provinces (merged by a national user) is heard by national desks only.
    rooms = desk_rooms(incidents[0].province_code if len(provinces) == 1 else None)
    return realtime.publish(session, NOT_DUPLICATE, data, rooms)


def team_updated(*, session: Session, team: Team) -> dict:
    """A team's status or position changed."""
    rooms = desk_rooms(team.province_code) + [team_room(team.id)]
    return realtime.publish(session, TEAM_UPDATED, team_payload(team), rooms)


def alarm_payload(alarm: Alarm) -> dict[str, Any]:
    """What the alarm banner shows (the incident by its reference number, as everywhere)."""
    incident = team = handler = None
    session = object_session(alarm)
    if session is not None:
        if alarm.incident_id is not None:
            incident = session.get(Incident, alarm.incident_id)
        if alarm.team_id is not None:
            team = session.get(Team, alarm.team_id)
        if alarm.handled_by_id is not None:
            handler = session.get(User, alarm.handled_by_id)
    return {
        "id": alarm.id, "kind": alarm.kind.value, "province_code": alarm.province_code,
        "team_id": alarm.team_id, "incident_id": alarm.incident_id,
        "incident_ref": incident.ref if incident is not None else None,
        "raised_at": _iso(alarm.raised_at), "lat": alarm.lat, "lon": alarm.lon,
        "note": mask_national_ids(alarm.note), "handled_at": _iso(alarm.handled_at),
        "contact_name": alarm.contact_name or "", "contact_phone": alarm.contact_phone,
        "case_id": alarm.case_id,
        # What the banner writes in the reader's language (a short shift; sent to everyone).
        "facts": alarm.facts or {},
        # The banner names the team; the team's phone names who took charge.
        "team_name": team.name if team is not None else None,
        "handled_by_name": handler.display_name if handler is not None else None,
    }


def alarm_payloads(alarms: list[Alarm]) -> list[dict[str, Any]]:
    """alarm_payload of many alarms, their incidents, teams and handlers read in one statement
    each (a bad day's banner holds hundreds of alarms: not one read per alarm)."""
    session = object_session(alarms[0]) if alarms else None
    # NOTE: held here while the payloads are made: the session's identity map, where
    # alarm_payload's session.get finds them, keeps only weak references.
    loaded: list = []
    if session is not None:
        for model, ids in ((Incident, {a.incident_id for a in alarms}),
                           (Team, {a.team_id for a in alarms}),
                           (User, {a.handled_by_id for a in alarms})):
            ids.discard(None)
            if ids:
                loaded += session.scalars(select(model).where(model.id.in_(sorted(ids)))).all()
    return [alarm_payload(a) for a in alarms]


def alarm_changed(*, session: Session, alarm: Alarm) -> dict:
    """An alarm was raised or handled: its province's desks hear, and the team concerned."""
    rooms = desk_rooms(alarm.province_code)
    if alarm.team_id is not None:
        rooms.append(team_room(alarm.team_id))
    return realtime.publish(session, ALARM_CHANGED, alarm_payload(alarm), rooms)
