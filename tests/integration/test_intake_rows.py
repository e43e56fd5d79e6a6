"""Citizen reports at volume (issue 11.6) write the same rows as the desk's path, on SQLite and
PostgreSQL: an incident opened by dispatch/intake.py (Core statements; one statement on
PostgreSQL) against one opened by dispatch/service._new_incident (the ORM)."""

from __future__ import annotations

from sqlalchemy import select, text

from console.models import AuditLog, RealtimeEvent
from dispatch import events as dispatch_events
from dispatch import intake as dispatch_intake
from dispatch import service as dispatch_service
from dispatch.enums import Category, Priority, Source
from dispatch.models import Incident, TimelineEntry
from dispatch.schemas import IncidentIn, LocationIn

PSL = (16.8211, 100.2659)
# Columns that differ between two incidents opened one after the other.
# (The desk's path writes its ref by an UPDATE after the INSERT: its version is 2.)
_OWN = {"id", "ref", "created_at", "triaged_at", "updated_at", "version"}


def _columns(obj, skip=frozenset()) -> dict:
    return {c.key: getattr(obj, c.key) for c in obj.__table__.columns if c.key not in skip}


def _data() -> IncidentIn:
    return IncidentIn(category=Category.CHILDREN, priority=Priority.P2,
                      location=LocationIn(lat=PSL[0], lon=PSL[1]), notes="เด็กร้องไห้")


def _events(session, name=None) -> list[RealtimeEvent]:
    session.expire_all()
    stmt = select(RealtimeEvent).order_by(RealtimeEvent.seq)
    if name:
        stmt = stmt.where(RealtimeEvent.name == name)
    return list(session.scalars(stmt))


def test_an_incident_opened_by_the_intake_path_has_the_rows_of_the_desk_path(app, session):
    session.info["client_ip"] = "203.0.113.9"
    orm = dispatch_service.create_incident_from_report(
        session=session, data=_data(), source=Source.APP, summary="เด็กร้องไห้")
    session.commit()
    session.info["client_ip"] = "203.0.113.9"
    core = dispatch_intake.open_incident(session=session, data=_data(), source=Source.APP,
                                         summary="เด็กร้องไห้", report_count=1)
    returned = _columns(core)
    session.commit()
    session.expire_all()
    a, b = session.get(Incident, orm.id), session.get(Incident, core.id)
    assert _columns(b, _OWN) == _columns(a, _OWN)
    assert b.version == 1 and returned == _columns(b)  # the object answered is what is stored
    for incident in (a, b):
        prefix = dispatch_intake.ref_prefix("65", incident.created_at)
        assert incident.ref == f"{prefix}{incident.id:06d}"
    ta, tb = (session.scalars(select(TimelineEntry).where(TimelineEntry.incident_id == i.id))
              .all() for i in (a, b))
    assert [_columns(t, {"id", "incident_id", "at"}) for t in tb] == \
        [_columns(t, {"id", "incident_id", "at"}) for t in ta]
    assert tb[0].at == b.created_at
    aa, ab = (session.scalars(select(AuditLog).where(AuditLog.entity == "incident",
                                                     AuditLog.entity_id == i.id)).all()
              for i in (a, b))
    assert [_columns(r, {"id", "entity_id", "at"}) for r in ab] == \
        [_columns(r, {"id", "entity_id", "at"}) for r in aa]
    assert ab[0].ip == "203.0.113.9" and ab[0].at == b.created_at
    # NOTE: the same payload as the desk's incident.created, plus the count of its reports.
    created = _events(session, "incident.created")
    assert [e.payload["data"]["id"] for e in created] == [a.id, b.id]
    assert created[1].payload["data"] == {**dispatch_events.incident_payload(b), "report_count": 1}
    assert "report_count" not in created[0].payload["data"]
    assert sorted(created[1].rooms) == sorted(created[0].rooms)


def test_the_same_reporter_link_and_a_long_ref(app, session, backend):
    first = dispatch_intake.open_incident(session=session, data=_data(), source=Source.LINE,
                                          summary="x")
    if backend == "postgresql":  # NOTE: the ref is made by the database there
        session.execute(text("SELECT setval(pg_get_serial_sequence('incident', 'id'), 1234566)"))
    second = dispatch_intake.open_incident(session=session, data=_data(), source=Source.LINE,
                                           summary="y", same_reporter=first)
    session.commit()
    session.expire_all()
    stored = session.get(Incident, second.id)
    assert stored.ref == f"{dispatch_intake.ref_prefix('65', stored.created_at)}{stored.id:06d}"
    if backend == "postgresql":
        assert stored.id == 1234567 and stored.ref.endswith("-1234567")
    assert stored.same_reporter_id == first.id
    payload = _events(session, "incident.created")[-1].payload["data"]
    assert payload["same_reporter"] == {"incident_id": first.id, "ref": first.ref}
