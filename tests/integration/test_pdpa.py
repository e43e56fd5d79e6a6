"""PDPA (issue 12.7): every read of personal data is in the access log with who, what, when and
from which address; lists are one row; what Socket.IO sends is summarised per connection; the
supervisors' search by person, phone number or user within their province; retention by data
type; a person's export and erasure; national IDs masked on the desks that do not need them;
ESS idempotency rows without the reporter's token, pruned."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cached_property
from pathlib import Path

import pytest
from sqlalchemy import delete, func, select

from cases.models import Case, CasePerson
from console.enums import Role
from console.extensions import socketio
from console.models import AuditLog, DeskIdempotency, RealtimeEvent, User
from dispatch.models import Incident, Team, TeamPosition
from ess.models import Attachment, IdempotencyRecord, Report
from telephony.models import Call, CallEvent
from tests.conftest import incident_body
from tests.ess_helpers import PSL, make_api_key, png_bytes, report_body
from tests.telephony_fakes import Twilio

ADDRESS = "198.51.100.23"  # a documentation address, sent as the client's REMOTE_ADDR
NUMBER = "+66812345678"  # incident_body()'s 081-234-5678


def thai_id(first12: str) -> str:
    """A 13-digit national ID with a valid check digit."""
    total = sum(int(first12[i]) * (13 - i) for i in range(12))
    return first12 + str((11 - total % 11) % 10)


NID = thai_id("110370207183")
NID_DASHED = f"{NID[0]}-{NID[1:5]}-{NID[5:10]}-{NID[10:12]}-{NID[12]}"
NOT_NID = NID[:12] + str((int(NID[12]) + 1) % 10)  # 13 digits, wrong check digit
MASKED = f"x-xxxx-xxxxx-{NID[10:12]}-{NID[12]}"


@pytest.fixture
def app(phone_app, tmp_path, session, demo_hash):
    """The phone line app, photos in a temporary folder, and a Chiang Mai supervisor."""
    phone_app.config["ESS_ATTACHMENT_DIR"] = str(tmp_path / "attachments")
    for username, role, province in (("cm.supervisor", Role.SUPERVISOR, "50"),
                                     ("cm.calltaker", Role.CALL_TAKER, "50")):
        session.add(User(username=username, display_name=username, password_hash=demo_hash,
                         role=role, province_code=province, demo=True))
    session.commit()
    return phone_app


@pytest.fixture
def session(phone_app):
    s = phone_app.extensions["db_factory"]()
    yield s
    s.rollback()
    s.close()


@dataclass
class World:
    """Phitsanulok's objects, each made only when a test asks for it."""

    app: object
    session: object
    login_as: object

    @cached_property
    def incident(self) -> int:
        body = incident_body(summary=f"เด็กถูกทำร้าย บัตร {NID_DASHED} เลขอ้างอิง {NOT_NID}")
        resp = self.login_as("calltaker").post("/api/calls", json=body)
        assert resp.status_code == 201, resp.json
        return resp.json["incident"]["id"]

    @cached_property
    def call(self) -> int:
        self.incident  # noqa: B018  (the call-taker's call that opened it)
        return self.session.scalar(select(Call.id).where(Call.number == NUMBER))

    @cached_property
    def report(self) -> dict:
        from tests.integration.test_ess_api import _multipart

        key = {"X-Api-Key": make_api_key(self.app)}
        resp = self.app.test_client().post(
            "/api/v1/reports", data=_multipart(report_body(PSL, contact="089-999-0001"),
                                               [(png_bytes(), "a.png")]),
            content_type="multipart/form-data", headers=key)
        assert resp.status_code == 201, resp.json
        self.session.expire_all()
        row = self.session.get(Report, resp.json["id"])
        return {"id": row.id, "incident": row.incident_id,
                "photo": self.session.scalar(select(Attachment.id).where(
                    Attachment.report_id == row.id))}

    @cached_property
    def case(self) -> int:
        body = {"source": "walk_in", "summary": f"ครอบครัวขอความช่วยเหลือ {NID}",
                "province_code": "65",
                "client": {"full_name": "สมหญิง ใจดี", "national_id": NID,
                           "phone": "0867770001", "role": "client"}}
        resp = self.login_as("caseworker").post("/api/cases", json=body)
        assert resp.status_code == 201, resp.json
        return resp.json["id"]

    @cached_property
    def waiting(self) -> int:
        tw = Twilio(self.app)
        tw.call("CAPD1", "voice", frm="+66819990065", to="+6655123456")
        tw.call("CAPD1", "menu", frm="+66819990065", to="+6655123456", Digits="1")
        return self.session.scalar(select(Call.id).where(Call.call_sid == "CAPD1"))

    @cached_property
    def missed(self) -> int:
        tw = Twilio(self.app)
        tw.call("CAPD2", "voice", frm="+66819990066", to="+6655123456")
        tw.call("CAPD2", "menu", frm="+66819990066", to="+6655123456", Digits="1")
        tw.call("CAPD2", "status", frm="+66819990066", to="+6655123456",
                CallStatus="no-answer")
        return self.session.scalar(select(Call.id).where(Call.call_sid == "CAPD2"))

    @cached_property
    def flag(self) -> int:
        resp = self.login_as("calltaker").post("/api/flags", json={
            "number": "0819990067", "level": "warn", "reason": "โทรซ้ำ"})
        assert resp.status_code == 201, resp.json
        return resp.json["id"]

    @cached_property
    def alarm(self) -> int:
        assert self.login_as("team2").post("/api/teams/me/sos",
                                           json={"note": "SOS"}).status_code == 201
        return self.login_as("dispatcher").get("/api/alarms").json[0]["id"]

    @cached_property
    def team(self) -> int:
        return self.session.scalar(select(Team.id).where(Team.code == "PSL-1"))

    @cached_property
    def user(self) -> int:
        return self.session.scalar(select(User.id).where(User.username == "dispatcher"))


@pytest.fixture
def world(app, session, login_as) -> World:
    return World(app, session, login_as)


def reads(session, action: str) -> list[AuditLog]:
    session.expire_all()
    return list(session.scalars(select(AuditLog).where(AuditLog.action == action)
                                .order_by(AuditLog.id)))


def user_id(session, username: str) -> int:
    return session.scalar(select(User.id).where(User.username == username))


# --- every read path writes a read row: who, what, when, from which address -----------------

# (name, user, url, action, what the row must name: ("id", attr) entity_id, ("in", kind, attr)
# the object among its subjects, or None when the read has no object, e.g. a heat map)
PATHS = [
    ("board", "dispatcher", "/api/state", "read.board", ("in", "incident", "incident")),
    ("team board", "team1", "/api/state", "read.board", ("in", "team", "team")),
    ("recent calls", "calltaker", "/desk/calls", "read.call_list", ("in", "call", "call")),
    ("case desk", "caseworker", "/desk/cases", "read.case_list", ("in", "case", "case")),
    ("case api", "caseworker", "/api/cases", "read.case_list", ("in", "case", "case")),
    ("screen pop", "calltaker", "/api/calls/waiting", "read.screen_pop",
     ("in", "call", "waiting")),
    ("call-backs", "calltaker", "/api/callbacks", "read.callbacks", ("in", "call", "missed")),
    ("flags", "calltaker", "/api/flags", "read.flags", ("in", "caller_flag", "flag")),
    ("reporter contact and LINE", "dispatcher", "/api/incidents/{report[incident]}/reports",
     "read.reports", ("in", "report", "report.id")),
    ("incident SMS", "dispatcher", "/api/incidents/{incident}/messages", "read.messages",
     ("id", "incident")),
    ("incident map", "dispatcher", "/desk/incidents/{incident}/map", "read.map",
     ("id", "incident")),
    ("shift map", "supervisor", "/desk/reports/shift-map", "read.map",
     ("in", "incident", "incident")),
    ("heat map", "supervisor", "/desk/supervisor", "read.map", None),
    ("alarms", "dispatcher", "/api/alarms", "read.alarms", ("in", "alarm", "alarm")),
    ("team positions", "dispatcher", "/api/teams", "read.teams", ("in", "team", "team")),
    ("recommendations", "dispatcher", "/api/incidents/{incident}/recommendations",
     "read.teams", ("id", "incident")),
    ("users", "admin", "/desk/users", "read.users", ("in", "user", "user")),
    ("user", "admin", "/desk/users/{user}", "read.user", ("id", "user")),
    ("export", "supervisor", "/desk/pdpa/export?phone=081-234-5678", "read.export",
     ("in", "call", "call")),
    ("access log", "supervisor", "/desk/access-log?by=phone&q=0812345678", "read.access_log",
     ("in", "call", "call")),
    ("incident api", "dispatcher", "/api/incidents/{incident}", "incident.viewed",
     ("id", "incident")),
    ("incident page", "dispatcher", "/desk/incidents/{incident}", "incident.viewed",
     ("id", "incident")),
    ("case page", "caseworker", "/desk/cases/{case}", "case.viewed", ("id", "case")),
    ("photo", "dispatcher", "/api/ess/attachments/{report[photo]}", "attachment.viewed",
     ("id", "report.photo")),
]


def _value(world: World, attr: str):
    obj, _, key = attr.partition(".")
    value = getattr(world, obj)
    return value[key] if key else value


@pytest.mark.parametrize("name,username,url,action,names", PATHS, ids=[p[0] for p in PATHS])
def test_every_personal_data_read_is_logged_with_user_object_and_address(
        world, session, login_as, name, username, url, action, names):
    needed = {}
    for attr in ("incident", "report", "case", "user"):
        if "{" + attr in url:
            needed[attr] = getattr(world, attr)
    if names is not None:
        _value(world, names[-1])  # NOTE: make the object before the read.
    client = login_as(username)
    before = len(reads(session, action))
    resp = client.get(url.format(**needed), environ_base={"REMOTE_ADDR": ADDRESS})
    assert resp.status_code == 200, (name, resp.status_code)
    rows = reads(session, action)[before:]
    assert len(rows) == 1, f"{name}: one row per read, got {len(rows)}"
    [row] = rows
    assert row.actor_id == user_id(session, username)
    assert row.ip == ADDRESS
    assert row.at is not None and datetime.now(UTC) - row.at < timedelta(minutes=1)
    if names is not None and names[0] == "id":
        assert row.entity_id == _value(world, names[1])
    elif names is not None:
        assert f" {names[1]}:{_value(world, names[2])} " in (row.subjects or ""), row.subjects


def test_a_list_is_one_row_naming_every_object_with_counts(world, session, login_as):
    first = world.incident
    second = login_as("calltaker").post("/api/calls", json=incident_body()).json["incident"]["id"]
    cm_body = incident_body()
    cm_body["incident"]["location"].update(province_code="50", district_code="5001")
    other = login_as("cm.calltaker").post("/api/calls", json=cm_body).json["incident"]["id"]
    dispatcher = login_as("dispatcher")
    session.expire_all()
    before = session.scalar(select(func.count()).select_from(AuditLog))
    assert dispatcher.get("/api/state").status_code == 200
    session.expire_all()
    after = session.scalar(select(func.count()).select_from(AuditLog))
    assert after - before == 1  # one row for the whole board
    [row] = reads(session, "read.board")
    assert f" incident:{first} " in row.subjects and f" incident:{second} " in row.subjects
    assert f" incident:{other} " not in row.subjects  # Chiang Mai's: not shown, not named
    assert row.detail["count"]["incident"] == 2


# --- Socket.IO: one summary row per connection -------------------------------------------------

def test_what_socketio_sends_is_summarised_per_connection(app, session, login_as):
    from console import pdpa

    psl, cm = login_as("dispatcher"), login_as("cm.dispatcher")
    socks = {name: socketio.test_client(app, flask_test_client=c.http)
             for name, c in (("psl", psl), ("cm", cm))}
    for sock in socks.values():
        assert sock.is_connected()
    calltaker = login_as("calltaker")
    for _ in range(2):
        assert calltaker.post("/api/calls", json=incident_body()).status_code == 201
    manager = socketio.server.manager
    assert pdpa.flush_reads(app, manager) == 0  # connections still open: nothing due yet
    heard = [e for e in socks["psl"].get_received() if e["name"] == "incident.created"]
    assert len(heard) == 2
    for sock in socks.values():
        sock.disconnect()
    assert pdpa.flush_reads(app, manager) == 1  # cm heard nothing: no row for it
    [row] = reads(session, "read.socket")
    assert row.actor_id == user_id(session, "dispatcher")
    assert row.ip == "127.0.0.1"
    assert row.detail["events"]["incident.created"] == 2
    assert row.detail["ended"] is True and "province:65" in row.detail["rooms"]
    assert row.detail["total"] == sum(row.detail["events"].values())
    assert pdpa.flush_reads(app, manager) == 0  # written once


def test_a_long_connection_is_summarised_every_few_minutes(app, session, login_as):
    from console.access_log import flush_socket_reads, reads_of
    from console.db import utcnow

    sock = socketio.test_client(app, flask_test_client=login_as("dispatcher").http)
    assert login_as("calltaker").post("/api/calls", json=incident_body()).status_code == 201
    reads_log = reads_of(socketio.server.manager)
    later = utcnow() + timedelta(minutes=20)
    written = flush_socket_reads(session=session, reads=reads_log, now=later,
                                 every=timedelta(minutes=15))
    session.commit()
    assert len(written) == 1 and written[0]["ended"] is False
    assert written[0]["events"]["incident.created"] == 1
    # The counts start again: nothing new, nothing written.
    assert flush_socket_reads(session=session, reads=reads_log,
                              now=later + timedelta(minutes=20),
                              every=timedelta(minutes=15)) == []
    sock.disconnect()


# --- the supervisors' search -----------------------------------------------------------------

def _search(client, by: str, q: str) -> str:
    resp = client.get("/desk/access-log", query_string={"by": by, "q": q})
    assert resp.status_code == 200
    return resp.get_data(as_text=True)


def test_search_by_person_phone_and_user_within_the_province(world, session, login_as):
    case_id = world.case
    worker = login_as("caseworker")
    assert worker.get(f"/desk/cases/{case_id}", environ_base={
        "REMOTE_ADDR": ADDRESS}).status_code == 200
    world.incident  # noqa: B018
    assert login_as("calltaker").get("/desk/calls").status_code == 200
    assert login_as("dispatcher").get(f"/api/incidents/{world.incident}").status_code == 200

    supervisor, national, cm = (login_as("supervisor"), login_as("national"),
                                login_as("cm.supervisor"))
    for query in ("สมหญิง", NID, NID_DASHED):
        page = _search(supervisor, "person", query)
        assert 'data-action="case.viewed"' in page and ADDRESS in page, query
        assert "caseworker" in page
    page = _search(supervisor, "phone", "081-234-5678")
    assert 'data-action="incident.viewed"' in page and "(dispatcher)" in page
    assert 'data-action="read.call_list"' in page  # the call-taker's own list named it
    page = _search(supervisor, "user", "dispatcher")
    assert 'data-action="incident.viewed"' in page
    assert 'data-action="case.viewed"' not in page  # the case worker's read is not theirs
    # Another province sees nothing of Phitsanulok's people or users; national sees all.
    assert 'data-action="case.viewed"' not in _search(cm, "person", "สมหญิง")
    assert 'data-action="incident.viewed"' not in _search(cm, "phone", "081-234-5678")
    assert 'data-action="incident.viewed"' not in _search(cm, "user", "dispatcher")
    assert 'data-action="case.viewed"' in _search(national, "person", NID)
    # Every search is itself in the log, with what it matched, never the term.
    searches = reads(session, "read.access_log")
    assert len(searches) >= 9
    assert all(NID not in json.dumps(r.detail) and "สมหญิง" not in json.dumps(r.detail)
               for r in searches)
    assert f" case:{case_id} " in searches[0].subjects
    # A bad phone number is a clear message on its field, not an error page.
    page = _search(supervisor, "phone", "12")
    assert 'data-field="q"' in page
    # Only supervisors and administrators.
    assert login_as("dispatcher").get("/desk/access-log").status_code == 403


def test_search_pages_through_many_reads(world, session, login_as):
    from console import access_log

    incident = world.incident
    session.add_all([AuditLog(actor_id=user_id(session, "dispatcher"), action="incident.viewed",
                              entity="incident", entity_id=incident, detail={},
                              at=datetime.now(UTC) - timedelta(minutes=i))
                     for i in range(access_log.PAGE_SIZE + 5)])
    session.commit()
    supervisor = login_as("supervisor")
    first = _search(supervisor, "phone", "0812345678")
    assert first.count('data-action="incident.viewed"') == access_log.PAGE_SIZE
    assert 'data-testid="access-next"' in first
    resp = supervisor.get("/desk/access-log", query_string={"by": "phone", "q": "0812345678",
                                                            "page": 2})
    # The first search's own row now heads page 1, so page 2 holds the last 6 of the 55.
    assert resp.get_data(as_text=True).count('data-action="incident.viewed"') == 6


# --- retention ---------------------------------------------------------------------------------

NOW = datetime(2031, 6, 1, 3, 0, tzinfo=UTC)


def _incident(session, *, status: str, age_days: int, **over) -> Incident:
    at = NOW - timedelta(days=age_days)
    row = Incident(category="children", priority="P2", status=status, summary="ชื่อ นามสกุล",
                   notes="บ้านเลขที่ 9", province_code="65", district_code="6501",
                   address_text="หมู่ 4", lat=16.8, lon=100.2, precision="subdistrict",
                   created_at=at, updated_at=at,
                   resolved_at=at if status == "resolved" else None, **over)
    session.add(row)
    session.flush()
    return row


def _case(session, *, closed_days: int | None, age_days: int = 4000) -> Case:
    at = NOW - timedelta(days=age_days)
    case = Case(category="elderly", priority="P3", summary="ยายอยู่ลำพัง", notes="โทร 0811111111",
                province_code="65", district_code="6501", address_text="หมู่ 2",
                precision="district", opened_at=at, status="closed" if closed_days else "intake",
                closed_at=NOW - timedelta(days=closed_days) if closed_days else None,
                client_feedback="ขอบคุณ")
    session.add(case)
    session.flush()
    session.add(CasePerson(case_id=case.id, age_group="elder", sex="female",
                           vulnerable_group="elderly", full_name="ยาย ใจดี", national_id=NID,
                           phone="+66811111111", age_years=81, address_text="หมู่ 2"))
    session.flush()
    return case


def test_retention_removes_exactly_what_is_past_its_time_and_keeps_statistics(
        app, session, tmp_path):
    from console.retention import RetentionSettings, enforce_retention

    settings = RetentionSettings(attachment_dir=str(tmp_path / "files"))
    (tmp_path / "files").mkdir()
    team = session.scalar(select(Team).where(Team.code == "PSL-1"))
    for days in (91, 89):
        session.add(TeamPosition(team_id=team.id, at=NOW - timedelta(days=days), lat=16.8,
                                 lon=100.2))
    calls = {}
    for key, days in (("old", 1826), ("young", 1824), ("old_recording", 400), ("fresh", 300)):
        calls[key] = Call(number="+66812223333", caller_name="นาย ก", summary="เล่าเรื่อง",
                          advice="แนะนำ", province_code="65", outcome="advice_given",
                          created_at=NOW - timedelta(days=days), call_sid=f"CAR{key}",
                          recording_url="https://api.twilio.com/rec/1", recording_seconds=30)
        session.add(calls[key])
        session.add(CallEvent(call_sid=f"CAR{key}", kind="status",
                              received_at=NOW - timedelta(days=days),
                              params={"From": "+66812223333"}))
    old_closed = _incident(session, status="resolved", age_days=3651)
    young_closed = _incident(session, status="resolved", age_days=3649)
    old_open = _incident(session, status="new", age_days=4000)
    reports = {}
    for key, incident in (("old", old_closed), ("young", young_closed)):
        reports[key] = Report(source="app", contact="0812223333", line_user_id="U123", lat=16.8,
                              lon=100.2, category="children", description="ช่วยด้วย",
                              incident_id=incident.id, created_at=incident.created_at)
        session.add(reports[key])
    session.flush()
    for key, days in (("old", 731), ("young", 729)):
        name = f"photo-{key}.png"
        (tmp_path / "files" / name).write_bytes(png_bytes())
        session.add(Attachment(report_id=reports["young"].id, stored_name=name,
                               content_type="image/png", size=10, sha256="0" * 64,
                               created_at=NOW - timedelta(days=days)))
    case_old, case_young, case_open = (_case(session, closed_days=3651),
                                       _case(session, closed_days=3649),
                                       _case(session, closed_days=None))
    session.add_all([
        AuditLog(action="x.old", entity="test", entity_id=None, detail={},
                 at=NOW - timedelta(days=3651)),
        AuditLog(action="x.young", entity="test", entity_id=None, detail={},
                 at=NOW - timedelta(days=3649)),
        DeskIdempotency(user_id=user_id(session, "calltaker"), key="k" * 10, request_hash="h",
                        created_at=NOW - timedelta(hours=25)),
        DeskIdempotency(user_id=user_id(session, "calltaker"), key="j" * 10, request_hash="h",
                        created_at=NOW - timedelta(hours=23)),
    ])
    session.commit()
    counts_before = {m: session.scalar(select(func.count()).select_from(m))
                     for m in (Call, Incident, Case, CasePerson, Report)}

    done = enforce_retention(session=session, now=NOW, settings=settings)
    files = session.info.pop("retention_files", [])
    session.commit()
    from console.retention import delete_attachment_files

    delete_attachment_files(files, settings.attachment_dir)
    session.expire_all()

    assert [p.at for p in session.scalars(select(TeamPosition))] == [NOW - timedelta(days=89)]
    old, young, rec, fresh = (session.get(Call, calls[k].id)
                              for k in ("old", "young", "old_recording", "fresh"))
    assert (old.number, old.caller_name, old.summary, old.recording_url) == (None, "", "", None)
    assert (old.outcome.value, old.province_code, old.recording_seconds) == (
        "advice_given", "65", 30)  # statistics kept
    assert young.number == "+66812223333" and young.recording_url is None
    assert rec.number == "+66812223333" and rec.recording_url is None  # recording only
    assert fresh.recording_url is not None
    assert {e.call_sid for e in session.scalars(select(CallEvent))} == {
        "CARyoung", "CARold_recording", "CARfresh"}
    o, y, op = (session.get(Incident, i.id) for i in (old_closed, young_closed, old_open))
    assert (o.summary, o.notes, o.address_text, o.lat) == ("", "", "", None)
    assert (o.category.value, o.priority.value, o.province_code, o.district_code,
            o.created_at) == ("children", "P2", "65", "6501", NOW - timedelta(days=3651))
    assert y.summary == "ชื่อ นามสกุล" and op.summary == "ชื่อ นามสกุล"  # young, or open
    r, ry = session.get(Report, reports["old"].id), session.get(Report, reports["young"].id)
    assert (r.contact, r.line_user_id, r.description, r.lat) == (None, None, "", None)
    assert (ry.contact, ry.line_user_id) == ("0812223333", "U123")
    assert [a.stored_name for a in session.scalars(select(Attachment))] == ["photo-young.png"]
    assert not (tmp_path / "files" / "photo-old.png").exists()
    assert (tmp_path / "files" / "photo-young.png").exists()
    co, cy, cop = (session.get(Case, c.id) for c in (case_old, case_young, case_open))
    assert (co.summary, co.notes, co.client_feedback) == ("", "", "")
    [person] = co.people
    assert (person.full_name, person.national_id, person.phone) == ("", None, None)
    assert (person.age_years, person.sex, co.category, co.province_code) == (
        81, "female", "elderly", "65")
    assert cy.summary == cop.summary == "ยายอยู่ลำพัง" and cop.people[0].national_id == NID
    assert [a.action for a in session.scalars(select(AuditLog).where(
        AuditLog.action.like("x.%")))] == ["x.young"]
    assert [d.key for d in session.scalars(select(DeskIdempotency))] == ["j" * 10]
    assert (done["positions"], done["photos"], done["audit"], done["cases"],
            done["incidents"]) == (1, 1, 1, 1, 1)
    counts_after = {m: session.scalar(select(func.count()).select_from(m))
                    for m in (Call, Incident, Case, CasePerson, Report)}
    assert counts_after == counts_before  # rows stay: the statistics still add up
    # A second pass finds nothing more; the audit log still refuses a delete of its own.
    assert not any(enforce_retention(session=session, now=NOW, settings=settings).values())
    session.commit()
    with pytest.raises(Exception, match="append-only"):
        session.execute(delete(AuditLog))
        session.flush()
    session.rollback()


def test_run_retention_works_in_batches_and_reports_what_it_did(app, session):
    from console.retention import RetentionSettings, run_retention

    team = session.scalar(select(Team).where(Team.code == "PSL-1"))
    session.add_all([TeamPosition(team_id=team.id, at=NOW - timedelta(days=100 + i), lat=16.8,
                                  lon=100.2) for i in range(5)])
    session.commit()
    totals = run_retention(factory=app.extensions["db_factory"], now=NOW,
                           settings=RetentionSettings(batch=2))
    assert totals["positions"] == 5
    session.expire_all()
    assert session.scalar(select(func.count()).select_from(TeamPosition)) == 0
    [row] = reads(session, "retention.enforced")
    assert row.detail["positions"] == 5 and row.actor_id is None


def test_retention_settings_come_from_the_environment(monkeypatch):
    from console.config import load_config
    from console.retention import settings_from

    monkeypatch.setenv("RETENTION_CALLS_DAYS", "30")
    monkeypatch.setenv("RETENTION_AUDIT_DAYS", "0")
    s = settings_from(load_config())
    assert (s.calls_days, s.audit_days, s.positions_days, s.cases_days) == (30, 0, 90, 3650)


# --- a person's export and erasure -------------------------------------------------------------

def test_export_then_erase_a_callers_data_keeping_the_statistics(world, session, login_as):
    incident_id = world.incident
    supervisor = login_as("supervisor")
    resp = supervisor.get("/desk/pdpa/export", query_string={"phone": "081-234-5678"})
    assert resp.status_code == 200 and "attachment" in resp.headers["Content-Disposition"]
    data = json.loads(resp.get_data(as_text=True))
    assert [c["number"] for c in data["calls"]] == [NUMBER]
    assert data["calls"][0]["caller_name"] == "ผู้แจ้ง"
    assert [i["id"] for i in data["incidents"]] == [incident_id]
    assert NID_DASHED in data["incidents"][0]["summary"]  # the export is complete
    [export_row] = reads(session, "read.export")
    assert export_row.actor_id == user_id(session, "supervisor")
    assert f" incident:{incident_id} " in export_row.subjects

    # The incident is still open: erasure waits, with a clear message, and changes nothing.
    refused = supervisor.post("/desk/pdpa/erase", json={"phone": "0812345678",
                                                        "reason": "หนังสือขอลบ", "confirm": True})
    ref = session.get(Incident, incident_id).ref
    assert refused.status_code == 409 and ref in refused.json["error"]
    assert "ยุติเรื่อง" in refused.json["error"]
    session.expire_all()
    assert session.get(Call, world.call).number == NUMBER
    missing = supervisor.post("/desk/pdpa/erase", json={"phone": "0812345678"})
    assert missing.status_code == 422 and set(missing.json["fields"]) == {"reason", "confirm"}

    assert login_as("dispatcher").post(f"/api/incidents/{incident_id}/cancel",
                                       json={"reason": "ซ้ำ"}).status_code == 200
    done = supervisor.post("/desk/pdpa/erase", json={"phone": "0812345678",
                                                     "reason": "หนังสือขอลบ", "confirm": True})
    assert done.status_code == 200, done.json
    assert done.json["erased"]["call"] == 1 and done.json["erased"]["incident"] == 1
    session.expire_all()
    call, incident = session.get(Call, world.call), session.get(Incident, incident_id)
    assert (call.number, call.caller_name) == (None, "")
    assert NID not in incident.summary and "หมู่ 4" not in incident.address_text
    assert (incident.category.value, incident.priority.value, incident.province_code,
            incident.district_code) == ("children", "P1", "65", "6501")
    assert len(incident.people) == 1  # age group, sex: statistics
    [erased] = reads(session, "pdpa.erased")
    text = json.dumps(erased.detail, ensure_ascii=False)
    assert "0812345678" not in text and NUMBER not in text and erased.detail["request"]
    assert f" call:{world.call} " in erased.subjects
    # Exported again: nothing personal is left.
    again = json.loads(supervisor.get("/desk/pdpa/export",
                                      query_string={"phone": "0812345678"}).get_data(
                                          as_text=True))
    assert again["calls"] == []


def test_erasure_waits_for_an_open_case_and_is_scoped_to_the_province(
        world, session, login_as):
    case_id = world.case
    supervisor, cm = login_as("supervisor"), login_as("cm.supervisor")
    body = {"national_id": NID_DASHED, "reason": "หนังสือขอลบ", "confirm": True}
    refused = supervisor.post("/desk/pdpa/erase", json=body)
    assert refused.status_code == 409
    assert session.get(Case, case_id).ref in refused.json["error"]
    assert cm.post("/desk/pdpa/erase", json=body).status_code == 404  # not their province
    cm_export = json.loads(cm.get("/desk/pdpa/export", query_string={
        "phone": "0867770001"}).get_data(as_text=True))
    assert cm_export["case_persons"] == [] and cm_export["records_in_other_provinces"] == 1

    worker = login_as("caseworker")
    url = f"/api/cases/{case_id}/move"
    assert worker.post(url, json={"to": "fact_finding"}).status_code == 200
    assert worker.post(url, json={"to": "closed", "reason": "ย้ายที่อยู่"}).status_code == 200
    done = supervisor.post("/desk/pdpa/erase", json=body)
    assert done.status_code == 200, done.json
    session.expire_all()
    case = session.get(Case, case_id)
    [person] = case.people
    assert (person.national_id, person.phone) == (None, None)
    assert "สมหญิง" not in person.full_name
    assert NID not in case.summary  # scrubbed from the case's own text
    assert "ครอบครัวขอความช่วยเหลือ" in case.summary  # the rest of the record stays
    assert (case.category, case.province_code, person.role.value) == ("other", "65", "client")


def test_the_cli_exports_and_erases(world, session, login_as, monkeypatch, capsys, db_url):
    from console import cli

    world.incident  # noqa: B018
    monkeypatch.setenv("DATABASE_URL", db_url)
    assert cli.main(["export", "--phone", "081-234-5678"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert [c["number"] for c in out["calls"]] == [NUMBER]
    assert cli.main(["erase", "--phone", "081-234-5678", "--reason", "x"]) == 1  # still open
    assert "still open" in capsys.readouterr().err
    assert cli.main(["retention"]) == 0
    assert "retention:" in capsys.readouterr().out


# --- national IDs typed into free text -------------------------------------------------------

def test_national_ids_are_masked_only_when_their_check_digit_is_valid():
    from console.privacy import mask_national_ids

    thai_digits = NID.translate(str.maketrans("0123456789", "๐๑๒๓๔๕๖๗๘๙"))
    text = (f"บัตร {NID_DASHED} / {NID} / {thai_digits} / {NID_DASHED.replace('-', ' ')} "
            f"ผิด {NOT_NID} โทร 081-234-5678 ยาว {NID}9")
    masked = mask_national_ids(text)
    assert masked.count(MASKED) == 4
    assert NOT_NID in masked and "081-234-5678" in masked and f"{NID}9" in masked
    assert NID not in masked.replace(f"{NID}9", "")
    assert mask_national_ids(None) is None and mask_national_ids("") == ""


def test_desks_that_do_not_need_national_ids_see_them_masked(world, session, login_as):
    incident_id = world.incident
    board = login_as("dispatcher").get("/api/state").get_data(as_text=True)
    assert MASKED in board and NID not in board and NID_DASHED not in board
    assert NOT_NID in board  # not an ID: left alone
    page = login_as("dispatcher").get(f"/desk/incidents/{incident_id}").get_data(as_text=True)
    assert MASKED in page and NID_DASHED not in page
    outbox = json.dumps([e.payload for e in session.scalars(select(RealtimeEvent))],
                        ensure_ascii=False)
    assert NID_DASHED not in outbox and MASKED in outbox
    # The team holding the job sees it masked too.
    team2 = session.scalar(select(Team.id).where(Team.code == "PSL-2"))
    assert login_as("dispatcher").post(f"/api/incidents/{incident_id}/assign",
                                       json={"team_id": team2}).status_code == 200
    job = login_as("team2").get("/api/state").get_data(as_text=True)
    assert MASKED in job and NID_DASHED not in job
    # A citizen's report as the dispatcher reads it.
    key = {"X-Api-Key": make_api_key(world.app)}
    made = world.app.test_client().post("/api/v1/reports", headers=key, json=report_body(
        PSL, description=f"ผู้ป่วยติดเตียง บัตร {NID}")).json
    session.expire_all()
    report_incident = session.get(Report, made["id"]).incident_id
    listed = login_as("dispatcher").get(f"/api/incidents/{report_incident}/reports")
    assert MASKED in listed.get_data(as_text=True) and NID not in listed.get_data(as_text=True)
    # Case management: its lists mask it too; the case's own page (a read written to the access
    # log, for case roles only) keeps the text as typed.
    case_id, caseworker = world.case, login_as("caseworker")
    cases = caseworker.get("/api/cases").get_data(as_text=True)
    assert MASKED in cases and NID not in cases
    page = caseworker.get(f"/desk/cases/{case_id}").get_data(as_text=True)
    assert f"ครอบครัวขอความช่วยเหลือ {NID}" in page


# --- ESS idempotency rows --------------------------------------------------------------------

def test_ess_idempotency_rows_keep_no_plain_token_and_are_pruned(app, session):
    from console.retention import RetentionSettings, enforce_retention

    http, key = app.test_client(), {"X-Api-Key": make_api_key(app)}
    headers = {**key, "Idempotency-Key": "pdpa-1"}
    first = http.post("/api/v1/reports", json=report_body(), headers=headers)
    assert first.status_code == 201
    token = first.json["token"]
    session.expire_all()
    [row] = session.scalars(select(IdempotencyRecord))
    stored = json.dumps({"body": row.response_body, "sealed": row.token_sealed})
    assert token not in stored and "token" not in row.response_body and row.token_sealed
    again = http.post("/api/v1/reports", json=report_body(), headers=headers)
    assert again.status_code == 201 and again.json == first.json  # the same answer, token too
    status = http.get(f"/api/v1/reports/{first.json['id']}",
                      headers={**key, "X-Report-Token": again.json["token"]})
    assert status.status_code == 200
    # Pruned once older than ESS_IDEMPOTENCY_HOURS.
    enforce_retention(session=session, now=datetime.now(UTC) + timedelta(hours=23),
                      settings=RetentionSettings())
    session.commit()
    assert session.scalar(select(func.count()).select_from(IdempotencyRecord)) == 1
    enforce_retention(session=session, now=datetime.now(UTC) + timedelta(hours=25),
                      settings=RetentionSettings())
    session.commit()
    assert session.scalar(select(func.count()).select_from(IdempotencyRecord)) == 0


def test_the_access_log_page_reads_in_thai(world, session, login_as):
    world.incident  # noqa: B018
    supervisor = login_as("supervisor")
    assert supervisor.get(f"/api/incidents/{world.incident}").status_code == 200
    page = _search(supervisor, "user", "supervisor")
    assert "บันทึกการเข้าถึงข้อมูลส่วนบุคคล" in page and "เปิดดูเรื่องแจ้งเหตุ" in page
    assert " น.</td>" in page  # Thai official time: 09.26 น.
    year_be = datetime.now(UTC).year + 543
    assert str(year_be) in page


def test_attachment_dir_cleanup_ignores_missing_files(tmp_path):
    from console.retention import delete_attachment_files

    (tmp_path / "a.png").write_bytes(b"x")
    delete_attachment_files(["a.png", "missing.png"], str(tmp_path))
    assert not Path(tmp_path / "a.png").exists()
