"""PDPA gaps of issue 12: a person's data by LINE user id, Socket.IO read summaries written
while the connection stays open, the access-log search between two dates, flag audit rows
without the phone number, and call recordings deleted at Twilio (retention and erasure)."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select, text

from console.extensions import socketio
from console.models import AuditLog
from console.privacy import ERASED
from dispatch.models import Incident
from ess.models import Attachment, IdempotencyRecord, LineFollower, Report
from jobs.enums import JobState
from jobs.models import OutboundJob
from telephony.models import Call
from tests.conftest import incident_body
from tests.integration import test_migrations, test_pdpa
from tests.integration.test_migrations import _alembic
from tests.integration.test_pdpa import NUMBER, World, reads, user_id
from tests.jobs_helpers import run_jobs
from tests.telephony_fakes import ACCOUNT, Recorder, make_app

# The fixtures of the PDPA tests: the phone line app with a Chiang Mai supervisor, the test's
# session, Phitsanulok's objects made on demand; and a brand-new database for migrations.
app, session, world = test_pdpa.app, test_pdpa.session, test_pdpa.world
empty_url = test_migrations.empty_url

# Logic that does not depend on the database runs on SQLite only (CI time).
ONE_BACKEND = pytest.mark.parametrize("backend", ["sqlite"])
LINE_ID = "U" + "4f" * 16
OTHER_LINE_ID = "U" + "0a" * 16


def _line_report(session, *, incident_id: int | None, line_id: str = LINE_ID,
                 text_: str = "ช่วยด้วย มีเด็กถูกทิ้ง") -> Report:
    row = Report(source="line", line_user_id=line_id, lat=16.815, lon=100.26, category="children",
                 description=text_, incident_id=incident_id, status="linked",
                 created_at=datetime.now(UTC), last_message_at=datetime.now(UTC))
    session.add(row)
    session.flush()
    return row


def _own_incident(session) -> Incident:
    """An incident a LINE report opened (nobody else reported it), already resolved."""
    now = datetime.now(UTC)
    row = Incident(source="line", category="children", priority="P2", status="resolved",
                   summary=f"แจ้งทาง LINE {LINE_ID}", notes="บ้านสีฟ้า", province_code="65",
                   district_code="6501", address_text="หมู่ 4", lat=16.815, lon=100.26,
                   precision="point", created_at=now, updated_at=now, resolved_at=now)
    session.add(row)
    session.flush()
    return row


def _job(session, payload: dict, state: JobState = JobState.DONE) -> int:
    from ess.flows import LINE_PUSH
    from jobs.service import enqueue

    enqueue(session, LINE_PUSH, payload, province_code="65", recipient="LINE")
    job = session.scalar(select(OutboundJob).order_by(OutboundJob.id.desc()).limit(1))
    job.state = state
    session.flush()
    return job.id


# --- 1. a person's data by LINE user id --------------------------------------------------------

def test_export_and_erase_by_line_user_id(world: World, session, login_as, tmp_path):
    joined_id = world.incident  # the call-taker's open incident; the LINE report joins it
    own = _own_incident(session)
    mine = _line_report(session, incident_id=own.id)
    joined = _line_report(session, incident_id=joined_id, text_=f"ผมเห็นด้วย ติดต่อ {LINE_ID}")
    other = _line_report(session, incident_id=None, line_id=OTHER_LINE_ID)
    photo_dir = tmp_path / "attachments"
    photo_dir.mkdir(exist_ok=True)
    (photo_dir / "line-photo.png").write_bytes(b"x")
    session.add(Attachment(report_id=mine.id, stored_name="line-photo.png",
                           content_type="image/png", size=1, sha256="0" * 64))
    session.add_all([LineFollower(line_user_id=LINE_ID, following=True),
                     LineFollower(line_user_id=OTHER_LINE_ID, following=True)])
    push = _job(session, {"to": LINE_ID, "status": "resolved", "report_id": mine.id})
    kept_job = _job(session, {"to": OTHER_LINE_ID, "status": "resolved", "report_id": other.id})
    session.add(IdempotencyRecord(client_id=_api_client(session), key="k-line", body_hash="h",
                                  response_status=201, response_body={"id": mine.id},
                                  created_at=datetime.now(UTC)))
    session.commit()

    supervisor = login_as("supervisor")
    resp = supervisor.get("/desk/pdpa/export", query_string={"line_user_id": LINE_ID})
    assert resp.status_code == 200
    data = json.loads(resp.get_data(as_text=True))
    assert sorted(r["id"] for r in data["reports"]) == [mine.id, joined.id]
    assert all(r["line_user_id"] == LINE_ID for r in data["reports"])
    assert [i["id"] for i in data["incidents"]] == [own.id]
    assert [i["id"] for i in data["incidents_joined"]] == [joined_id]
    assert "summary" not in data["incidents_joined"][0]  # another person's text stays out
    assert data["line_follows_us"] == [True]
    assert [j["id"] for j in data["outbound_jobs"]] == [push]
    [export_row] = reads(session, "read.export")
    assert f" report:{mine.id} " in export_row.subjects
    assert LINE_ID not in json.dumps(export_row.detail)

    # The incident their report joined is still open: nothing is erased yet.
    body = {"line_user_id": LINE_ID, "reason": "หนังสือขอลบ", "confirm": True}
    refused = supervisor.post("/desk/pdpa/erase", json=body)
    assert refused.status_code == 409
    session.expire_all()
    assert session.get(Report, mine.id).line_user_id == LINE_ID
    assert login_as("dispatcher").post(f"/api/incidents/{joined_id}/cancel",
                                       json={"reason": "ซ้ำ"}).status_code == 200
    summary_before = session.get(Incident, joined_id).summary

    done = supervisor.post("/desk/pdpa/erase", json=body)
    assert done.status_code == 200, done.json
    assert done.json["erased"]["report"] == 2 and done.json["erased"]["incident"] == 1
    assert done.json["erased"]["outbound_job"] == 1
    assert done.json["erased"]["idempotency"] == 1
    assert done.json["erased"]["line_follower"] == 1
    session.expire_all()
    for report_id in (mine.id, joined.id):
        row = session.get(Report, report_id)
        assert (row.line_user_id, row.lat, row.description) == (None, None, ERASED)
        assert row.category.value == "children"  # statistics kept
    assert session.get(Report, other.id).line_user_id == OTHER_LINE_ID  # someone else
    mine_incident = session.get(Incident, own.id)
    assert (mine_incident.summary, mine_incident.address_text, mine_incident.lat) == (
        ERASED, "", None)
    assert (mine_incident.category.value, mine_incident.province_code) == ("children", "65")
    # The joined incident keeps its own text (it is the call-taker's caller's).
    assert session.get(Incident, joined_id).summary == summary_before
    assert session.scalar(select(func.count()).select_from(Attachment).where(
        Attachment.report_id == mine.id)) == 0
    assert not (photo_dir / "line-photo.png").exists()
    assert [f.line_user_id for f in session.scalars(select(LineFollower))] == [OTHER_LINE_ID]
    assert session.get(OutboundJob, push) is None and session.get(OutboundJob, kept_job)
    assert session.scalar(select(func.count()).select_from(IdempotencyRecord)) == 0
    [erased] = reads(session, "pdpa.erased")
    assert LINE_ID not in json.dumps(erased.detail) and erased.detail["kind"] == "line"
    again = json.loads(supervisor.get("/desk/pdpa/export", query_string={
        "line_user_id": LINE_ID}).get_data(as_text=True))
    assert again["reports"] == [] and again["incidents"] == []


def _api_client(session) -> int:
    from ess.models import ApiClient

    client = ApiClient(name="pdpa app", key_hash="f" * 64)
    session.add(client)
    session.flush()
    return client.id


@ONE_BACKEND
def test_line_user_id_requests_are_checked_and_scoped(world: World, session, login_as):
    own = _own_incident(session)
    _line_report(session, incident_id=own.id)
    session.commit()
    supervisor = login_as("supervisor")
    bad = supervisor.post("/desk/pdpa/erase", json={"line_user_id": "U123", "reason": "x",
                                                    "confirm": True})
    assert bad.status_code == 422 and "คัดลอก" in bad.json["fields"]["line_user_id"]
    both = supervisor.post("/desk/pdpa/erase", json={
        "line_user_id": LINE_ID, "phone": "0812345678", "reason": "x", "confirm": True})
    assert both.status_code == 422
    session.expire_all()
    assert session.scalar(select(Report.line_user_id)) == LINE_ID  # nothing changed
    # Chiang Mai sees none of it: counted, not shown.
    cm = json.loads(login_as("cm.supervisor").get("/desk/pdpa/export", query_string={
        "line_user_id": LINE_ID}).get_data(as_text=True))
    assert cm["reports"] == [] and cm["records_in_other_provinces"] == 1
    # The access log can be searched by the LINE id too.
    supervisor.get("/desk/pdpa/export", query_string={"line_user_id": LINE_ID})
    page = supervisor.get("/desk/access-log", query_string={"by": "line", "q": LINE_ID})
    assert page.status_code == 200 and 'data-action="read.export"' in page.get_data(as_text=True)
    page = supervisor.get("/desk/access-log", query_string={"by": "line", "q": "nonsense"})
    assert 'data-field="q"' in page.get_data(as_text=True)
    assert "LINE ID ของผู้ใช้นี้ไม่ถูกต้อง" in page.get_data(as_text=True)


# --- 2. Socket.IO read summaries written while the connection stays open ----------------------

@ONE_BACKEND
def test_socket_summaries_are_written_without_a_disconnect(app, session, login_as):
    from console import pdpa

    manager = socketio.server.manager
    sock = socketio.test_client(app, flask_test_client=login_as("dispatcher").http)
    assert sock.is_connected()
    calltaker = login_as("calltaker")
    app.config.update(ACCESS_LOG_SOCKET_EVENTS=2, RETENTION_ENABLED=False)
    assert calltaker.post("/api/calls", json=incident_body()).status_code == 201
    marks: dict = {}

    def relay_pass(now: float) -> None:
        """The relay loop's housekeeping; its flush runs in a task of its own: wait for it."""
        pdpa.housekeeping(app, manager, marks, now)
        deadline = time.monotonic() + 10
        while marks.get("reads_running") and time.monotonic() < deadline:
            time.sleep(0.02)
        assert not marks.get("reads_running")

    relay_pass(time.monotonic())
    assert reads(session, "read.socket") == []  # 1 event: under both limits
    assert calltaker.post("/api/calls", json=incident_body()).status_code == 201
    relay_pass(time.monotonic())
    assert reads(session, "read.socket") == []  # the flush interval has not passed
    relay_pass(time.monotonic() + 11)
    [first] = reads(session, "read.socket")
    assert first.detail["ended"] is False and first.detail["events"]["incident.created"] == 2
    assert first.actor_id == user_id(session, "dispatcher")

    # The time limit: one more event, written once its summary is old enough.
    app.config.update(ACCESS_LOG_SOCKET_EVENTS=0, ACCESS_LOG_SOCKET_MINUTES=0.0001)
    assert calltaker.post("/api/calls", json=incident_body()).status_code == 201
    time.sleep(0.05)
    assert pdpa.flush_reads(app, manager) == 1
    rows = reads(session, "read.socket")
    assert len(rows) == 2 and rows[1].detail["events"] == {"incident.created": 1}
    # Disconnecting writes only what was not written yet: every event counted once.
    heard = [e for e in sock.get_received() if e["name"] == "incident.created"]
    sock.disconnect()
    pdpa.flush_reads(app, manager)
    rows = reads(session, "read.socket")
    assert sum(r.detail["total"] for r in rows) == len(heard) == 3


def test_socket_summary_limits_come_from_the_environment(monkeypatch):
    from console.config import load_config

    config = load_config()
    assert (config["ACCESS_LOG_SOCKET_MINUTES"], config["ACCESS_LOG_SOCKET_EVENTS"]) == (2, 500)
    monkeypatch.setenv("ACCESS_LOG_SOCKET_EVENTS", "50")
    assert load_config()["ACCESS_LOG_SOCKET_EVENTS"] == 50


# --- 3. the access-log search between two dates ------------------------------------------------

def _bangkok(day: int, hour: int, minute: int) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=UTC) - timedelta(hours=7)


def test_access_log_search_between_two_thai_dates(world: World, session, login_as):
    from console import access_log

    incident = world.incident
    dispatcher = user_id(session, "dispatcher")
    moments = {"a": _bangkok(20, 23, 59), "b": _bangkok(21, 0, 1), "c": _bangkok(21, 23, 59),
               "d": _bangkok(22, 0, 1)}
    rows = {}
    for key, at in moments.items():
        rows[key] = AuditLog(actor_id=dispatcher, action="incident.viewed", entity="incident",
                             entity_id=incident, detail={}, at=at)
        session.add(rows[key])
    session.commit()
    supervisor = login_as("supervisor")

    def found(**dates) -> set[str]:
        resp = supervisor.get("/desk/access-log", query_string={
            "by": "phone", "q": "081-234-5678", **dates})
        assert resp.status_code == 200
        page = resp.get_data(as_text=True)
        return {k for k, r in rows.items() if f'data-id="{r.id}"' in page}

    assert found(**{"from": "21/11/2569", "to": "21/11/2569"}) == {"b", "c"}  # Bangkok days
    assert found(**{"from": "21/11/2026", "to": "21/11/2026"}) == {"b", "c"}  # ค.ศ. too
    assert found(**{"from": "22/11/2569"}) == {"d"}
    assert found(to="20/11/2569") == {"a"}
    assert found() == {"a", "b", "c", "d"}
    searches = len(reads(session, "read.access_log"))

    def refused(field: str, **dates) -> str:
        resp = supervisor.get("/desk/access-log", query_string={
            "by": "phone", "q": "081-234-5678", **dates})
        assert resp.status_code == 200
        page = resp.get_data(as_text=True)
        assert f'data-field="{field}"' in page and 'data-testid="access-rows"' not in page
        return page

    assert "วันที่สิ้นสุด" in refused("to", **{"from": "22/11/2569", "to": "21/11/2569"})
    assert "วัน/เดือน/ปี" in refused("from", **{"from": "เมื่อวาน"})
    assert "ไม่มีวันที่นี้" in refused("to", to="31/02/2569")
    assert "พ.ศ." in refused("from", **{"from": "01/01/0001"})
    assert 'value="เมื่อวาน"' in refused("from", **{"from": "เมื่อวาน"})  # kept to correct
    assert len(reads(session, "read.access_log")) == searches  # a refused search logs nothing
    english = supervisor.get("/desk/access-log", query_string={
        "by": "phone", "q": "081-234-5678", "from": "x", "lang": "en"},
        headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert 'data-field="from"' in english

    # Paging keeps the dates.
    session.add_all([AuditLog(actor_id=dispatcher, action="incident.viewed", entity="incident",
                              entity_id=incident, detail={},
                              at=_bangkok(21, 12, 0) + timedelta(seconds=i))
                     for i in range(access_log.PAGE_SIZE)])
    session.commit()
    dates = {"from": "21/11/2569", "to": "21/11/2569"}
    first = supervisor.get("/desk/access-log", query_string={
        "by": "phone", "q": "0812345678", **dates}).get_data(as_text=True)
    assert first.count('data-action="incident.viewed"') == access_log.PAGE_SIZE
    link = first.split('data-testid="access-next"')[0].rsplit('href="', 1)[1].split('"')[0]
    link = link.replace("&amp;", "&")
    assert "from=21/11/2569" in link and "to=21/11/2569" in link and "page=2" in link
    second = supervisor.get(link).get_data(as_text=True)
    assert second.count('data-action="incident.viewed"') == 2  # b and c
    assert 'data-testid="access-previous"' in second


# --- 4. flag audit rows without the phone number ----------------------------------------------

@ONE_BACKEND
def test_flag_audit_rows_keep_only_the_last_digits(app, session, login_as):
    calltaker = login_as("calltaker")
    made = calltaker.post("/api/flags", json={"number": "0819990067", "level": "warn",
                                              "reason": "โทรซ้ำ"})
    assert made.status_code == 201
    lifted = login_as("supervisor").post(f"/api/flags/{made.json['id']}/lift",
                                         json={"reason": "ผู้โทรเป็นผู้เสียหายจริง"})
    assert lifted.status_code == 200
    session.expire_all()
    rows = list(session.scalars(select(AuditLog).where(AuditLog.action.like("flag.%"))
                                .order_by(AuditLog.id)))
    assert [(r.action, r.detail["number"]) for r in rows] == [
        ("flag.created", "…0067"), ("flag.lifted", "…0067")]
    text_ = json.dumps([r.detail for r in rows])
    assert "819990067" not in text_ and "0819990067" not in text_


def test_the_migration_masks_numbers_of_older_flag_audit_rows(empty_url):
    from console.db import make_engine

    _alembic(empty_url, "upgrade", "c2e5a7b9d1f3")
    engine = make_engine(empty_url)
    insert = text("INSERT INTO audit_log (at, action, entity, entity_id, detail) "
                  "VALUES (CURRENT_TIMESTAMP, :action, 'caller_flag', 1, :detail)")
    with engine.begin() as conn:
        for action, detail in (
                ("flag.created", {"number": "+66819990067", "level": "warn", "reason": "ซ้ำ"}),
                ("flag.lifted", {"number": "+66819990067", "reason": "จริง"}),
                ("call.logged", {"number": "+66819990067"})):
            conn.execute(insert, {"action": action,
                                  "detail": json.dumps(detail, ensure_ascii=False)})
    _alembic(empty_url, "upgrade", "e1a2b3c4d5f6")
    with engine.connect() as conn:
        details = [json.loads(d) if isinstance(d, str) else d for d in conn.execute(text(
            "SELECT detail FROM audit_log ORDER BY id")).scalars()]
    assert [d["number"] for d in details] == ["…0067", "…0067", "+66819990067"]
    assert details[0]["reason"] == "ซ้ำ" and details[0]["level"] == "warn"
    # The audit log is append-only again.
    with pytest.raises(Exception, match="append-only"):
        with engine.begin() as conn:
            conn.execute(text("UPDATE audit_log SET action = 'changed'"))
    engine.dispose()


# --- 5. call recordings deleted at Twilio -----------------------------------------------------

RECORDING = "RE" + "ab" * 16
RECORDING_URL = f"https://api.twilio.com/2010-04-01/Accounts/{ACCOUNT}/Recordings/{RECORDING}"
NOW = datetime(2031, 6, 1, 3, 0, tzinfo=UTC)


@pytest.fixture
def recorder():
    rec = Recorder()
    yield rec
    rec.close()


@pytest.fixture
def twilio_app(db_url, recorder):
    app = make_app(db_url, TELEPHONY_PROVIDER="twilio", TWILIO_ACCOUNT_SID=ACCOUNT,
                   TWILIO_AUTH_TOKEN="twilio-auth-token-for-tests", TWILIO_NUMBER="+6621234567",
                   TWILIO_API_BASE_URL=recorder.url, OUTBOUND_TIMEOUT_SECONDS=0.3,
                   JOBS_MAX_ATTEMPTS=2, JOBS_BACKOFF_SECONDS=0)
    yield app
    app.extensions["db_engine"].dispose()


def _recorded_call(session, *, days: int, sid: str = RECORDING) -> Call:
    url = RECORDING_URL.replace(RECORDING, sid)
    call = Call(number="+66812223333", caller_name="นาย ก", summary="เล่าเรื่อง", province_code="65",
                outcome="advice_given", created_at=NOW - timedelta(days=days),
                call_sid=f"CA{sid[2:]}", recording_url=url, recording_seconds=30)
    session.add(call)
    session.commit()
    return call


def _retention(session):
    from console.retention import RetentionSettings, enforce_retention

    done = enforce_retention(session=session, now=NOW, settings=RetentionSettings())
    session.commit()
    return done


def test_retention_deletes_the_recording_at_twilio(twilio_app, recorder, login_as):
    session = twilio_app.extensions["db_factory"]()
    old = _recorded_call(session, days=400)
    young = _recorded_call(session, days=300, sid="RE" + "cd" * 16)
    assert _retention(session)["recordings"] == 1
    assert recorder.requests == []  # the retention pass never waits on Twilio
    session.expire_all()
    assert session.get(Call, old.id).recording_url is None
    assert session.get(Call, young.id).recording_url is not None
    [job] = session.scalars(select(OutboundJob))
    assert job.kind == "telephony.delete_recording" and job.province_code == "65"
    assert RECORDING_URL not in json.dumps(job.payload)  # ids only, never the address
    assert run_jobs(twilio_app) == 1
    [sent] = recorder.requests
    assert sent["method"] == "DELETE"
    assert sent["path"] == f"/2010-04-01/Accounts/{ACCOUNT}/Recordings/{RECORDING}.json"
    session.expire_all()
    assert session.get(OutboundJob, job.id).state is JobState.DONE
    # One Twilio no longer has counts as deleted.
    recorder.delete_status = 404
    _recorded_call(session, days=500, sid="RE" + "ef" * 16)
    _retention(session)
    assert run_jobs(twilio_app) == 1
    assert {j.state for j in session.scalars(select(OutboundJob))} == {JobState.DONE}
    session.close()


@ONE_BACKEND
@pytest.mark.parametrize("trouble", ["hangs", "fails"])
def test_a_hanging_or_failing_twilio_ends_on_the_dead_list(twilio_app, recorder, login_as,
                                                           trouble):
    session = twilio_app.extensions["db_factory"]()
    if trouble == "hangs":
        recorder.hang_seconds = 5  # longer than OUTBOUND_TIMEOUT_SECONDS (0.3 s)
    else:
        recorder.delete_status = 500
    _recorded_call(session, days=400)
    _retention(session)
    run_jobs(twilio_app)  # two tries, no wait between them (JOBS_BACKOFF_SECONDS 0)
    session.expire_all()
    [job] = session.scalars(select(OutboundJob))
    assert job.state is JobState.DEAD and job.attempts == 2
    assert job.reason == ("timeout" if trouble == "hangs" else "service_error")
    assert len(recorder.requests) == 2
    failed = login_as("supervisor").get("/api/outbound/failed").json
    assert [f["id"] for f in failed] == [job.id]
    assert "ลบ" in failed[0]["what"] and failed[0]["state"] == "dead"
    assert login_as("cm.supervisor").get("/api/outbound/failed").json == []  # province
    session.close()


def test_erasure_deletes_the_callers_recordings_at_twilio(world: World, session, login_as):
    call_id = world.call
    call = session.get(Call, call_id)
    call.recording_url = RECORDING_URL
    session.commit()
    assert login_as("dispatcher").post(f"/api/incidents/{world.incident}/cancel",
                                       json={"reason": "ซ้ำ"}).status_code == 200
    done = login_as("supervisor").post("/desk/pdpa/erase", json={
        "phone": NUMBER, "reason": "หนังสือขอลบ", "confirm": True})
    assert done.status_code == 200, done.json
    session.expire_all()
    assert session.get(Call, call_id).recording_url is None
    [job] = session.scalars(select(OutboundJob).where(
        OutboundJob.kind == "telephony.delete_recording"))
    assert job.payload == {"call_id": call_id, "account_sid": ACCOUNT,
                           "recording_sid": RECORDING}
    assert run_jobs(world.app) >= 1
    sent = world.app.extensions["telephony"].sent
    assert [s["recording_sid"] for s in sent if s["kind"] == "delete_recording"] == [RECORDING]


@ONE_BACKEND
def test_a_recording_address_without_its_id_goes_to_the_dead_list(world: World, session):
    from console.retention import forget_recordings

    forget_recordings(session, [(world.call, "https://api.twilio.com/rec/1", "65")])
    session.commit()
    run_jobs(world.app)
    session.expire_all()
    [job] = session.scalars(select(OutboundJob).where(
        OutboundJob.kind == "telephony.delete_recording"))
    assert job.state is JobState.DEAD and job.attempts == 1 and job.reason == "refused"
