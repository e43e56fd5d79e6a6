"""Incidents opened by citizen reports at volume (issue 11.6): the same rows and event as
`service._new_incident`, written without the ORM's unit of work.

A flood brings hundreds of reports a second, each opening or joining an incident; every SQL
statement costs ~0.4 ms of a server process's CPU (SQLAlchemy and psycopg, client side), and
the ORM's flushes more. So a new incident is one statement on PostgreSQL (the incident with its
ref, its "created" timeline row and its audit row, through data-modifying CTEs), a few Core
statements elsewhere (SQLite), and the answer is a persistent Incident built from the values
written, never read back. Its incident.created event carries the report count, so the desks
need no second event for the report that opened it.
"""

from __future__ import annotations

from datetime import datetime
from functools import cache

from sqlalchemy import bindparam, insert, text, update
from sqlalchemy.orm import Session, make_transient_to_detached

from console import realtime
from console.db import BANGKOK, utcnow
from console.errors import ValidationFailed, prefixed
from console.models import AuditLog
from console.rooms import desk_rooms
from console.service import CLIENT_IP, audit_values
from dispatch import events
from dispatch.enums import IncidentStatus, Precision, Source
from dispatch.models import Incident, TimelineEntry
from dispatch.schemas import IncidentIn, LocationIn
from geo import service as geo_service

_INCIDENT = Incident.__table__
_TIMELINE = TimelineEntry.__table__
_AUDIT = AuditLog.__table__
# Every column of a new incident but id and ref (in the statement's order).
_COLUMNS = (
    "source", "source_link", "source_org", "call_id", "category", "priority", "status",
    "summary", "notes", "province_code", "district_code", "subdistrict_code", "address_text",
    "lat", "lon", "precision", "place_unknown", "team_id", "created_by_id", "created_at",
    "triaged_at", "dispatched_at", "acknowledged_at", "en_route_at", "on_scene_at",
    "resolved_at", "handed_over_at", "cancelled_at", "updated_at", "offer_due_at",
    "checkin_due_at", "escalation_step", "same_reporter_id", "version",
)


def ref_prefix(province_code: str, at: datetime) -> str:
    """The ref of an incident without its number: province and Buddhist-era year in Bangkok
    (as service._new_incident writes it: f"{prefix}{id:06d}")."""
    return f"{province_code}-{at.astimezone(BANGKOK).year + 543}-"


def timeline_rows(session: Session, incident_id: int, *, kind: str, at: datetime,
                  to_status: str | None = None, detail: dict | None = None) -> None:
    """`service._timeline` for a citizen report (no user, no team): the timeline row and its
    audit row as two Core INSERTs on the session's connection (same transaction)."""
    conn = session.connection()
    conn.execute(insert(_TIMELINE), {
        "incident_id": incident_id, "at": at, "actor_id": None, "kind": kind,
        "from_status": None, "to_status": to_status, "team_id": None, "note": "",
        "detail": detail or {}})
    conn.execute(insert(_AUDIT), audit_values(
        session=session, actor_id=None, action=f"incident.{kind}", entity="incident",
        entity_id=incident_id, detail={"from": None, "to": to_status, "team_id": None}, at=at))


@cache
def _postgresql_statement():
    """The incident (its id taken from the sequence first, so its ref is written with it, not
    updated after), its timeline row and its audit row: one statement, one round trip."""
    columns = ", ".join(_COLUMNS)
    binds = ", ".join(f":{name}" for name in _COLUMNS)
    sql = f"""
        WITH n AS (SELECT nextval(pg_get_serial_sequence('incident', 'id')) AS id),
        inc AS (
            INSERT INTO incident (id, ref, {columns})
            SELECT n.id, :ref_prefix || lpad(n.id::text, greatest(6, length(n.id::text)), '0'),
                   {binds}
            FROM n RETURNING id, ref),
        tl AS (
            INSERT INTO incident_timeline (incident_id, at, actor_id, kind, from_status,
                                           to_status, team_id, note, detail)
            SELECT inc.id, :at, NULL, 'created', NULL, :to_status, NULL, '', :tl_detail
            FROM inc)
        INSERT INTO audit_log (actor_id, action, entity, entity_id, detail, at, ip, subjects)
        SELECT NULL, 'incident.created', 'incident', inc.id, :au_detail, :at, :ip, NULL
        FROM inc
        RETURNING entity_id, (SELECT ref FROM inc)"""
    types = [bindparam(name, type_=_INCIDENT.c[name].type) for name in _COLUMNS]
    types += [bindparam("at", type_=_TIMELINE.c.at.type),
              bindparam("tl_detail", type_=_TIMELINE.c.detail.type),
              bindparam("au_detail", type_=_AUDIT.c.detail.type)]
    return text(sql).bindparams(*types)


def resolve_place(loc: LocationIn):
    """An incident's place from its location input (the gazetteer: codes, centre, precision);
    a bad place is a field error under 'location.'. Shared by every way an incident opens."""
    try:
        return geo_service.resolve_location(
            lat=loc.lat, lon=loc.lon, province_code=loc.province_code,
            district_code=loc.district_code, subdistrict_code=loc.subdistrict_code,
        )
    except ValidationFailed as exc:
        raise prefixed(exc, "location.") from None


def open_incident(*, session: Session, data: IncidentIn, source: Source, summary: str,
                  same_reporter: Incident | None = None, report_count: int = 1) -> Incident:
    """A new incident for a citizen report (no call, no user): the place resolved, the incident,
    its "created" timeline and audit rows written, and incident.created (with `report_count`)
    queued for its province's desks after the commit."""
    loc = data.location
    place = resolve_place(loc)
    now = utcnow()
    values = dict.fromkeys(_COLUMNS)
    values.update(
        source=source, category=data.category, priority=data.priority,
        status=IncidentStatus.NEW, summary=summary, notes=data.notes,
        province_code=place.province_code, district_code=place.district_code,
        subdistrict_code=place.subdistrict_code, address_text=loc.address_text, lat=place.lat,
        lon=place.lon, precision=Precision(place.precision), place_unknown=loc.place_unknown,
        created_at=now, triaged_at=now, updated_at=now, version=1,
        same_reporter_id=same_reporter.id if same_reporter is not None else None)
    created = IncidentStatus.NEW.value
    detail = {"priority": data.priority.value, "category": data.category.value,
              "source": source.value}
    prefix = ref_prefix(place.province_code, now)
    conn = session.connection()
    if conn.dialect.name == "postgresql":
        incident_id, ref = conn.execute(_postgresql_statement(), {
            **values, "ref_prefix": prefix, "at": now, "to_status": created,
            "tl_detail": detail, "au_detail": {"from": None, "to": created, "team_id": None},
            "ip": session.info.get(CLIENT_IP)}).one()
    else:
        incident_id = conn.execute(insert(_INCIDENT).returning(_INCIDENT.c.id),
                                   values).scalar_one()
        ref = f"{prefix}{incident_id:06d}"
        # NOTE: the ref is part of the creation: the version stays 1 (as on PostgreSQL).
        conn.execute(update(_INCIDENT).where(_INCIDENT.c.id == incident_id).values(ref=ref))
        timeline_rows(session, incident_id, kind="created", at=now, to_status=created,
                      detail=detail)
    incident = Incident(id=incident_id, ref=ref, people=[], team=None,
                        same_reporter=same_reporter, **values)
    # NOTE: persistent as if just loaded: nothing for the session to flush, nothing re-read.
    make_transient_to_detached(incident)
    session.add(incident)
    realtime.publish(session, events.INCIDENT_CREATED,
                     {**events.incident_payload(incident), "report_count": report_count},
                     desk_rooms(incident.province_code))
    return incident
