"""Citizen reports at volume (issue 11.6) write the same rows as the desk's path, on SQLite and
PostgreSQL: an incident opened by dispatch/intake.py (Core statements; one statement on
PostgreSQL) against one opened by dispatch/service._new_incident (the ORM), the report written
once already linked, and one realtime event per report."""

from __future__ import annotations

import json
import time

import pytest
from sqlalchemy import event, select, text

from console.models import AuditLog, RealtimeEvent
from dispatch import events as dispatch_events
from dispatch import intake as dispatch_intake
from dispatch import service as dispatch_service
from dispatch.enums import Category, Priority, Source
from dispatch.models import Incident, TimelineEntry
from dispatch.schemas import IncidentIn, LocationIn
from ess.models import Report
from tests.ess_helpers import LineServer, line_event, line_signature, make_api_key, report_body
from tests.jobs_helpers import run_jobs

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


def test_an_app_report_is_one_event_and_its_incident_answers_without_a_reread(app, session):
    http, key = app.test_client(), {"X-Api-Key": make_api_key(app)}
    statements: list[str] = []
    engine = app.extensions["db_engine"]

    def seen(_conn, _cursor, statement, *_args):
        statements.append(" ".join(statement.split()[:3]))

    event.listen(engine, "before_cursor_execute", seen)
    try:
        first = http.post("/api/v1/reports", json=report_body(), headers=key)
        opened = list(statements)
        statements.clear()
        second = http.post("/api/v1/reports", json=report_body(), headers=key)
        joined = list(statements)
    finally:
        event.remove(engine, "before_cursor_execute", seen)
    assert first.status_code == 201 and second.status_code == 201
    assert first.json["number"] == second.json["number"]
    # NOTE: the report written once, already linked; the new incident never read back (the
    # one read of incidents is the dedupe query's).
    assert opened.count("INSERT INTO ess_report") == 1
    assert not [s for s in opened if s.startswith("UPDATE ess_report")]
    assert [s for s in opened if s.startswith("SELECT incident.")] == \
        ["SELECT incident.id, incident.lat,"]
    names = [e.name for e in _events(session)]
    assert names == ["incident.created", "incident.reports"]
    assert [e.payload["data"]["report_count"] for e in _events(session)] == [1, 2]
    assert joined.count("INSERT INTO ess_report") == 1
    incident = session.scalar(select(Incident).where(Incident.ref == first.json["number"]))
    kinds = [t.kind for t in incident.timeline]
    assert kinds == ["created", "report_joined"]
    assert incident.timeline[1].detail == {"report_id": second.json["id"]}
    audit = session.scalars(select(AuditLog.action).where(
        AuditLog.entity == "incident", AuditLog.entity_id == incident.id)
        .order_by(AuditLog.id)).all()
    assert audit == ["incident.created", "incident.report_joined"]
    reports = session.scalars(select(Report).where(Report.incident_id == incident.id)).all()
    assert {r.status.value for r in reports} == {"linked"} and len(reports) == 2


@pytest.fixture
def line(app, tmp_path):
    server = LineServer()
    app.config.update(LINE_CHANNEL_SECRET="s", LINE_CHANNEL_ACCESS_TOKEN="t",
                      LINE_API_BASE=server.url, LINE_DATA_API_BASE=server.url,
                      ESS_ATTACHMENT_DIR=str(tmp_path / "att"))
    http = app.test_client()

    def send(ev):
        raw = json.dumps({"destination": "U", "events": [ev]}, ensure_ascii=False).encode()
        return http.post("/line/webhook", data=raw, content_type="application/json",
                         headers={"X-Line-Signature": line_signature("s", raw)})

    yield send, server
    server.close()


def test_a_line_users_first_message_writes_its_report_once(app, line, session):
    send, server = line
    statements: list[str] = []
    engine = app.extensions["db_engine"]

    def seen(_conn, _cursor, statement, *_args):
        statements.append(" ".join(statement.split()[:3]))

    at = int(time.time() * 1000)
    event.listen(engine, "before_cursor_execute", seen)
    try:
        # A new user's location: the report inserted once, located and linked.
        assert send(line_event("location", "Unew1", event_id="l1", at_ms=at, title="",
                               address="", latitude=PSL[0], longitude=PSL[1])).status_code == 200
        located = list(statements)
        statements.clear()
        # Another new user's text: inserted once with its text; their location: updated once.
        assert send(line_event("text", "Unew2", event_id="t2", at_ms=at,
                               text="มีเด็กถูกทิ้ง")).status_code == 200
        texted = list(statements)
        statements.clear()
        assert send(line_event("location", "Unew2", event_id="l2", at_ms=at + 1000, title="",
                               address="", latitude=16.9, longitude=100.4)).status_code == 200
        linked = list(statements)
    finally:
        event.remove(engine, "before_cursor_execute", seen)
    assert located.count("INSERT INTO ess_report") == 1
    assert not [s for s in located if s.startswith("UPDATE ess_report")]
    assert texted.count("INSERT INTO ess_report") == 1
    assert not [s for s in texted if s.startswith("UPDATE ess_report")]
    assert linked.count("UPDATE ess_report SET") == 1
    assert "INSERT INTO ess_report" not in linked
    session.expire_all()
    one, two = (session.scalar(select(Report).where(Report.line_user_id == u))
                for u in ("Unew1", "Unew2"))
    assert one.incident_id is not None and one.status.value == "linked"
    assert one.last_message_at is not None and (one.lat, one.lon) == PSL
    assert two.description == "มีเด็กถูกทิ้ง" and two.incident_id is not None
    assert two.incident_id != one.incident_id
    names = [e.name for e in _events(session)]
    assert names == ["incident.created", "incident.created"]
    run_jobs(app)
    texts = [b["messages"][0]["text"] for b in server.posted("/v2/bot/message/reply")]
    assert len(texts) == 3 and f"ESS-{one.id:06d}" in texts[0]
