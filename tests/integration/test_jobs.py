"""The outbound job queue on SQLite and PostgreSQL: enqueued with the change, run by workers
exactly once, retried with back-off, ended dead and shown to supervisors; requests never wait
on LINE or Twilio (fakes on loopback: tests/ess_helpers.py, tests/telephony_fakes.py)."""

from __future__ import annotations

import json
import threading
import time
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from console.db import utcnow
from console.models import RealtimeEvent
from dispatch.models import Team
from ess.models import Attachment, Report
from jobs import service as jobs_service
from jobs import worker as jobs_worker
from jobs.config import JobsConfigError
from jobs.enums import JobState
from jobs.models import OutboundJob
from tests.ess_helpers import LineServer, line_event, line_signature, png_bytes
from tests.jobs_helpers import run_jobs

SECRET = "line-channel-secret"
USER = "U1234567890abcdef"

# A kind of job only these tests queue: it records each run (which job, which worker).
RUNS: list[tuple[int, str]] = []
_RUNS_LOCK = threading.Lock()


@jobs_service.task("test.record", label="test")
def _record_job(ctx, payload) -> None:
    with _RUNS_LOCK:
        RUNS.append((ctx.job.id, ctx.job.locked_by))
    if payload.get("sleep"):
        time.sleep(payload["sleep"])


@pytest.fixture
def line(app, tmp_path):
    """The app on a local LINE stand-in, answers bounded at 0.3 s; returns (send, server)."""
    server = LineServer(content=png_bytes())
    app.config.update(LINE_CHANNEL_SECRET=SECRET, LINE_CHANNEL_ACCESS_TOKEN="token",
                      LINE_API_BASE=server.url, LINE_DATA_API_BASE=server.url,
                      ESS_ATTACHMENT_DIR=str(tmp_path / "att"), OUTBOUND_TIMEOUT_SECONDS=0.3,
                      JOBS_LEASE_SECONDS=30)
    jobs_worker.configure(app)
    http = app.test_client()

    def send(*events):
        body = json.dumps({"destination": "Ubot", "events": list(events)},
                          ensure_ascii=False).encode()
        return http.post("/line/webhook", data=body, content_type="application/json",
                         headers={"X-Line-Signature": line_signature(SECRET, body)})

    yield send, server
    server.delay = 0
    server.close()


def now_ms() -> int:
    return int(time.time() * 1000)


def jobs(session, kind: str | None = None) -> list[OutboundJob]:
    session.expire_all()
    stmt = select(OutboundJob).order_by(OutboundJob.id)
    if kind:
        stmt = stmt.where(OutboundJob.kind == kind)
    return list(session.scalars(stmt))


def make_due(session) -> None:
    """Bring every waiting retry forward to now (instead of sleeping through the back-off)."""
    session.execute(update(OutboundJob).where(OutboundJob.state == JobState.PENDING)
                    .values(run_at=utcnow() - timedelta(seconds=1)))
    session.commit()


def located_line_incident(send, session):
    """A LINE report with a place in Phitsanulok: it becomes an incident; answers sent."""
    assert send(line_event("location", event_id="l1", at_ms=now_ms(), latitude=16.815,
                           longitude=100.26)).status_code == 200
    return session.scalar(select(Report))


def test_a_hanging_line_api_holds_up_no_request_and_its_push_is_retried(
        app, line, login_as, session):
    send, server = line
    report = located_line_incident(send, session)
    run_jobs(app)
    team = session.scalar(select(Team.id).where(Team.code == "PSL-1"))
    dispatcher, member = login_as("dispatcher"), login_as("team1")
    assert dispatcher.post(f"/api/incidents/{report.incident_id}/assign",
                           json={"team_id": team}).status_code == 200
    server.delay = 2.0  # LINE now hangs past the 0.3 s timeout
    calls_before = len(server.calls)
    for step, status in (("acknowledge", "acknowledged"), ("en-route", "en_route")):
        resp = member.post(f"/api/incidents/{report.incident_id}/steps/{step}",
                           json={"note": ""})
        assert resp.status_code == 200 and resp.json["status"] == status
    # The request only queued the push: nothing was sent to LINE while it ran.
    assert len(server.calls) == calls_before
    [push] = jobs(session, "line.push")
    assert push.state is JobState.PENDING and push.attempts == 0
    assert push.payload == {"to": USER, "report_id": report.id, "status": "en_route"}
    assert (push.province_code, push.incident_id) == ("65", report.incident_id)

    # The worker's try times out: the job waits for its retry, with the reason kept.
    run_jobs(app)
    [push] = jobs(session, "line.push")
    assert (push.state, push.attempts, push.reason) == (JobState.PENDING, 1, "timeout")
    assert push.run_at > utcnow()  # back-off: not before its time
    assert run_jobs(app) == 0

    # LINE answers again: the retry goes through.
    server.delay = 0
    make_due(session)
    run_jobs(app)
    [push] = jobs(session, "line.push")
    assert (push.state, push.attempts) == (JobState.DONE, 2)
    # The timed-out try may have reached LINE: both tries carry one retry key, so LINE
    # sends the message once and answers the second 409, which counts as sent.
    tries = server.posted("/v2/bot/message/push")
    assert len(tries) == 2 and tries[0]["_retry_key"] == tries[1]["_retry_key"]
    assert len(server.retry_keys) == 1 and "กำลังเดินทาง" in tries[0]["messages"][0]["text"]


def test_a_line_photo_is_never_lost_while_line_hangs(app, line, session):
    send, server = line
    server.delay = 2.0
    resp = send(line_event("image", event_id="i1", at_ms=now_ms()))
    assert resp.status_code == 200  # answered at once: the download is a job
    assert server.calls == []
    [image] = jobs(session, "line.image")
    assert image.payload["message_id"] == "m-i1" and image.payload["user_id"] == USER
    assert image.state is JobState.PENDING

    run_jobs(app)  # the download times out: kept, tried again later from its message id
    [image] = jobs(session, "line.image")
    assert (image.state, image.reason, image.attempts) == (JobState.PENDING, "timeout", 1)
    assert session.scalar(select(func.count()).select_from(Attachment)) == 0

    server.delay = 0
    make_due(session)
    run_jobs(app)
    [image] = jobs(session, "line.image")
    assert image.state is JobState.DONE
    report = session.scalar(select(Report))
    row = session.scalar(select(Attachment))
    assert row.report_id == report.id and row.content_type == "image/png"
    # The user is answered (the reply token, as LINE accepted it here).
    [reply] = jobs(session, "line.reply")
    assert reply.state is JobState.DONE
    assert f"ESS-{report.id:06d}" in server.posted("/v2/bot/message/reply")[0][
        "messages"][0]["text"]


def test_an_expired_reply_token_becomes_a_push(app, line, session, monkeypatch):
    from linebot.v3.messaging.exceptions import ApiException

    from ess import flows as ess_flows

    send, server = line

    def expired(self, token, text, ask_location=None):
        raise ApiException(status=400, reason="Invalid reply token")

    monkeypatch.setattr(ess_flows.LineMessenger, "reply", expired)
    send(line_event("text", event_id="t1", at_ms=now_ms(), text="ช่วยด้วย"))
    run_jobs(app)
    [reply] = jobs(session, "line.reply")
    assert reply.state is JobState.DONE
    [push] = server.posted("/v2/bot/message/push")
    assert push["to"] == USER and "ESS-" in push["messages"][0]["text"]
    # LINE refusing the push too (the user blocked the account): given up at once.
    server.fail_status = 400
    send(line_event("text", event_id="t2", at_ms=now_ms(), text="อีกครั้ง"))
    run_jobs(app)
    last = jobs(session, "line.reply")[-1]
    assert (last.state, last.reason, last.attempts) == (JobState.DEAD, "refused", 1)


def test_a_job_that_keeps_failing_ends_dead_and_the_supervisor_sees_why(
        app, line, login_as, session):
    send, server = line
    app.config.update(JOBS_MAX_ATTEMPTS=3, JOBS_BACKOFF_SECONDS=0)
    jobs_worker.configure(app)
    report = located_line_incident(send, session)
    server.fail_status = 503  # LINE keeps failing
    run_jobs(app)  # NOTE: no back-off here: every try is due at once, and it must stop
    [reply] = jobs(session, "line.reply")
    assert (reply.state, reply.attempts, reply.reason) == (JobState.DEAD, 3, "service_error")
    assert reply.finished_at is not None
    assert run_jobs(app) == 0  # dead: never runs again

    # Realtime: the desks of its province hear that it gave up (codes, no provider words).
    event = session.scalars(select(RealtimeEvent).where(
        RealtimeEvent.name == "outbound.failed")).one()
    assert set(event.rooms) == {"national", "province:65"}
    assert event.payload["data"] == {
        "id": reply.id, "kind": "line.reply", "state": "dead", "reason": "service_error",
        "incident_id": report.incident_id, "call_id": None, "attempts": 3,
        "at": reply.finished_at.isoformat()}

    supervisor = login_as("supervisor")
    listed = supervisor.get("/api/outbound/failed").json
    [item] = [i for i in listed if i["id"] == reply.id]
    assert item["state"] == "dead" and item["reason"] == "service_error"
    assert item["attempts"] == 3 and item["max_attempts"] == 3
    assert item["incident_ref"] and item["incident_id"] == report.incident_id
    assert item["reason_label"] == "ระบบปลายทางขัดข้อง" and "503" not in json.dumps(listed)
    supervisor.http.set_cookie("lang", "en")
    english = supervisor.get("/api/outbound/failed").json
    assert [i["reason_label"] for i in english if i["id"] == reply.id] == [
        "The service had a fault"]
    assert "LINE" in [i["what"] for i in english if i["id"] == reply.id][0]
    # Another province's dispatcher does not see it; a field team cannot ask.
    assert reply.id not in [i["id"] for i in login_as("cm.dispatcher").get(
        "/api/outbound/failed").json]
    assert login_as("team1").get("/api/outbound/failed").status_code == 403
    # The desks carry the list.
    for desk in ("/desk/supervisor", "/desk/dispatch"):
        page = supervisor.get(desk).get_data(as_text=True)
        assert 'data-testid="outbound-failed"' in page and "js/outbound.js" in page


def test_a_job_in_a_rolled_back_transaction_never_runs(app, login_as, session):
    from dispatch import flows

    team = session.scalar(select(Team).where(Team.code == "PSL-1"))
    from tests.integration.test_dispatch_more import new_incident

    incident = new_incident(login_as)
    dispatcher = login_as("dispatcher")
    assert dispatcher.post(f"/api/incidents/{incident['id']}/assign",
                           json={"team_id": team.id}).status_code == 200
    before = len(jobs(session))
    assert before >= 1  # the offer SMS, queued with the assignment
    # The same queueing inside a transaction that rolls back leaves nothing behind.
    assert flows.notify_assignment(session=session, incident_id=incident["id"],
                                   link_base="http://x") >= 1
    jobs_service.enqueue(session, "test.record", {"n": 1})
    session.rollback()
    assert len(jobs(session)) == before
    RUNS.clear()
    run_jobs(app)
    assert RUNS == []
    # A refused request (another province's team) queues nothing either.
    cm_team = session.scalar(select(Team.id).where(Team.province_code == "50"))
    assert dispatcher.post(f"/api/incidents/{incident['id']}/assign",
                           json={"team_id": cm_team}).status_code in (403, 404, 409, 422)
    assert len(jobs(session)) == before


def test_two_workers_racing_run_each_job_exactly_once(app, session):
    for n in range(40):
        jobs_service.enqueue(session, "test.record", {"n": n})
    session.commit()
    RUNS.clear()
    errors: list[BaseException] = []

    def worker(name: str) -> None:
        try:
            run_jobs(app, name=name)
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(f"racer-{i}",)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors
    ids = [job_id for job_id, _ in RUNS]
    assert sorted(ids) == sorted(set(ids)) and len(ids) == 40  # each once, none twice
    assert {state for (state,) in session.execute(
        select(OutboundJob.state).where(OutboundJob.kind == "test.record"))} == {JobState.DONE}
    assert {who for _, who in RUNS} <= {"racer-0", "racer-1"}


def test_a_worker_killed_mid_job_leaves_it_to_be_retried_after_its_lease(app, session):
    settings = jobs_worker.settings_of(app)
    jobs_service.enqueue(session, "test.record", {"n": 1})
    jobs_service.enqueue(session, "test.record", {"n": 2}, max_attempts=1)
    session.commit()
    # A worker claims both and dies before running them (nothing records their end).
    taken = jobs_service.claim(session=session, now=utcnow(), worker_id="killed",
                               settings=settings, limit=5)
    assert len(taken) == 2
    RUNS.clear()
    assert run_jobs(app) == 0  # still leased to the dead worker: nobody else takes them
    later = utcnow() + timedelta(seconds=settings.lease_seconds + 1)
    again = jobs_service.claim(session=session, now=later, worker_id="heir", settings=settings,
                               limit=5)
    first, second = jobs(session, "test.record")
    assert again == [first.id]  # taken again, its interrupted try counted
    assert (first.attempts, first.reason, first.locked_by) == (2, "interrupted", "heir")
    # The one whose only try was interrupted gives up, visibly, instead of looping.
    assert (second.state, second.reason) == (JobState.DEAD, "interrupted")
    jobs_service.run(factory=app.extensions["db_factory"], app=app, job_id=first.id,
                     worker_id="heir", settings=settings)
    assert jobs(session, "test.record")[0].state is JobState.DONE
    assert RUNS == [(first.id, "heir")]


def test_a_misconfigured_queue_stops_the_start_with_a_clear_message(app, db_url):
    from console import create_app

    base = {"TESTING": True, "DATABASE_URL": db_url, "SOCKETIO_MESSAGE_QUEUE": None,
            "SECRET_KEY": "x", "RATELIMIT_STORAGE_URI": "memory://", "POSITIONS_REDIS_URL": None}
    for bad, words in (
            ({"JOBS_MAX_ATTEMPTS": "many"}, "JOBS_MAX_ATTEMPTS must be a whole number"),
            ({"JOBS_MAX_ATTEMPTS": "0"}, "from 1 to 50"),
            ({"JOBS_ENABLED": "maybe"}, "JOBS_ENABLED must be 1 or 0"),
            ({"JOBS_LEASE_SECONDS": "5"}, "at least 3 x OUTBOUND_TIMEOUT_SECONDS"),
            ({"JOBS_BACKOFF_SECONDS": "60", "JOBS_BACKOFF_MAX_SECONDS": "10"},
             "must not be below JOBS_BACKOFF_SECONDS"),
            ({"OUTBOUND_TIMEOUT_SECONDS": "-1"}, "OUTBOUND_TIMEOUT_SECONDS must be")):
        with pytest.raises(JobsConfigError, match=words):
            create_app({**base, **bad})


def test_the_worker_command_refuses_a_database_without_the_job_table(
        tmp_path, monkeypatch, capsys):
    from console import cli

    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'empty.db'}")
    monkeypatch.setenv("POSITIONS_REDIS_URL", "")
    monkeypatch.setenv("REDIS_URL", "")
    assert cli.main(["worker", "--once"]) == 2
    assert "no outbound_job table" in capsys.readouterr().out
    monkeypatch.setenv("JOBS_LEASE_SECONDS", "1")
    assert cli.main(["worker", "--once"]) == 2
    assert "JOBS_LEASE_SECONDS" in capsys.readouterr().err


def test_the_worker_command_runs_due_jobs(app, db_url, session, monkeypatch, capsys):
    from console import cli

    jobs_service.enqueue(session, "test.record", {"n": 1})
    session.commit()
    RUNS.clear()
    monkeypatch.setenv("DATABASE_URL", db_url)
    monkeypatch.setenv("POSITIONS_REDIS_URL", "")
    monkeypatch.setenv("REDIS_URL", "")
    monkeypatch.setenv("SOCKETIO_MESSAGE_QUEUE", "")
    assert cli.main(["worker", "--once"]) == 0
    assert "ran 1 jobs" in capsys.readouterr().out
    assert len(RUNS) == 1 and jobs(session, "test.record")[0].state is JobState.DONE
