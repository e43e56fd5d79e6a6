"""Case deadlines on durable timers (the clock in hand): a late referral step or plan action
reminds its owner, then alarms the supervisors, then the provincial office, each once, and
nothing once the step is done. Referral links go out as jobs by SMS, e-mail (a fake SMTP
server on loopback) or LINE (a stand-in), or as a printed letter with a QR code. The desk's
referral views and the agencies' times; revoking; bad input changes nothing."""

from __future__ import annotations

import re
import socketserver
import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from cases import reminders
from cases.models import Agency, Case, CaseTimer, PlanAction, Referral
from console.db import utcnow
from console.models import AuditLog, RealtimeEvent, User
from dispatch.models import Alarm
from jobs.enums import JobState
from jobs.models import OutboundJob
from tests.integration.test_case_referrals import agency_page, planned_case
from tests.jobs_helpers import run_jobs

ONE_BACKEND = pytest.mark.parametrize("backend", ["sqlite"])


def _fire(app, session, now) -> list[str]:
    fired = reminders.fire_due(session=session, now=now,
                               settings=reminders.ReminderSettings.from_config(app.config),
                               link_base="https://1300.example")
    session.commit()
    return fired


def _agency(session, **contact) -> Agency:
    agency = session.scalar(select(Agency).where(Agency.province_code == "65"))
    for key, value in contact.items():
        setattr(agency, key, value)
    session.commit()
    return agency


def _refer(worker, case, agency, items=("story",)) -> dict:
    consent = worker.post(f"/api/cases/{case.id}/consents", json={
        "agency_id": agency.id, "items": list(items), "given_on": "01/11/2569"})
    assert consent.status_code == 201, consent.json
    sent = worker.post(f"/api/cases/{case.id}/referrals", json={
        "agency_id": agency.id, "service": "รับเข้าบ้านพักฉุกเฉิน", "items": list(items)})
    assert sent.status_code == 201, sent.json
    return sent.json


def _path(sent: dict) -> str:
    return "/r/" + sent["link"].rsplit("/r/", 1)[1]


def _sms(app) -> list[dict]:
    return [m for m in app.extensions["telephony"].sent if m["kind"] == "sms"]


def test_a_late_acknowledgement_reminds_then_alarms_the_supervisor_then_the_office_once(
        app, login_as, session):
    case, worker = planned_case(login_as, session)  # risk level 3 (urgent)
    agency = _agency(session, phone="081-999-0001", email=None, line_user_id=None)
    sent = _refer(worker, case, agency)
    assert sent["channel"] == "sms"
    # The link went out as a job queued with the referral; the request did not wait on it.
    assert session.scalar(select(func.count()).select_from(OutboundJob).where(
        OutboundJob.kind == "referral.link")) == 1
    run_jobs(app)
    first = _sms(app)[-1]
    assert first["to"] == "+66819990001" and "/r/" in first["body"] and case.ref in first["body"]
    referral = session.get(Referral, sent["id"])
    hours = (referral.ack_due_at - referral.sent_at).total_seconds() / 3600
    assert hours == pytest.approx(4)  # risk 3: within hours (config REFERRAL_ACK_HOURS)

    due = referral.ack_due_at
    assert _fire(app, session, due - timedelta(seconds=1)) == []
    assert _fire(app, session, due + timedelta(seconds=1)) == [f"ack:owner:{case.id}"]
    assert _fire(app, session, due + timedelta(seconds=2)) == []  # once
    run_jobs(app)
    again = _sms(app)[-1]
    assert again is not first and "/r/" in again["body"]  # the link sent again, still valid
    path = re.search(r"(/r/\S+)", again["body"]).group(1)
    assert app.test_client().get(path).status_code == 200
    assert session.scalar(select(func.count()).select_from(Alarm)) == 0  # grace first

    grace = due + timedelta(hours=2, seconds=2)  # CASE_SUPERVISOR_GRACE_HOURS 3=2
    assert _fire(app, session, grace) == [f"ack:supervisor:{case.id}"]
    assert _fire(app, session, grace) == []
    alarm = session.scalar(select(Alarm))
    assert alarm.kind.value == "case_overdue" and alarm.case_id == case.id
    assert alarm.province_code == "65" and alarm.note == "ack"
    supervisor = login_as("supervisor")
    shown = supervisor.get("/api/alarms").json
    assert [a["case_id"] for a in shown if a["kind"] == "case_overdue"] == [case.id]
    office = grace + timedelta(hours=4, seconds=1)  # CASE_OFFICE_GRACE_HOURS 3=4
    assert _fire(app, session, office) == [f"ack:office:{case.id}"]
    assert _fire(app, session, office + timedelta(days=30)) == []  # the last rung
    kinds = [a.kind.value for a in session.scalars(select(Alarm).order_by(Alarm.id))]
    assert kinds == ["case_overdue", "case_office"]
    session.expire_all()
    timeline = [e.kind for e in session.get(Case, case.id).timeline]
    assert [k for k in timeline if k.startswith("overdue_")] == [
        "overdue_owner", "overdue_supervisor", "overdue_office"]
    assert session.scalar(select(func.count()).select_from(AuditLog).where(
        AuditLog.action.like("case.overdue_%"))) == 3
    # The supervisors' alarm SMS went out through the same queue as dispatch's alarms.
    assert session.scalar(select(func.count()).select_from(OutboundJob).where(
        OutboundJob.kind == "sms.alarm")) >= 2


def test_a_step_done_in_time_cancels_its_reminders_and_the_next_step_waits(
        app, login_as, session):
    case, worker = planned_case(login_as, session)
    agency = _agency(session, phone=None, email=None, line_user_id=None)
    sent = _refer(worker, case, agency)
    assert sent["channel"] == "letter"  # no contact: nothing queued, the worker prints it
    assert session.scalar(select(func.count()).select_from(OutboundJob).where(
        OutboundJob.kind == "referral.link")) == 0
    http = app.test_client()
    assert agency_page(http, _path(sent), to="acknowledged", name="นาง ก").status_code == 200
    referral = session.get(Referral, sent["id"])
    assert _fire(app, session, referral.ack_due_at + timedelta(seconds=1)) == []
    pending = session.scalars(select(CaseTimer).where(CaseTimer.fired_at.is_(None))).all()
    assert [(t.step.value, t.stage.value) for t in pending] == [("accept", "owner")]
    assert agency_page(http, _path(sent), to="accepted", name="นาง ก").status_code == 200
    session.expire_all()
    referral = session.get(Referral, sent["id"])
    assert referral.outcome_due_at is not None  # risk 3: a week (REFERRAL_OUTCOME_HOURS)
    # The printed letter: the link and its QR code, for hand delivery; the read is logged.
    letter = f"/desk/cases/{case.id}/referrals/{sent['id']}/letter"
    text = worker.get(letter).get_data(as_text=True)
    assert 'data-testid="letter-qr"' in text and "data:image/svg+xml" in text
    printed = re.search(r'data-testid="letter-url">([^<]+)<', text).group(1)
    assert http.get("/r/" + printed.rsplit("/r/", 1)[1]).status_code == 200
    assert session.scalar(select(func.count()).select_from(AuditLog).where(
        AuditLog.action == "read.referral_letter")) == 1
    # A supervisor withdraws it: no reminder of any step is left, no letter either.
    supervisor = login_as("supervisor")
    assert supervisor.post(f"/api/cases/{case.id}/referrals/{sent['id']}/revoke",
                           json={"reason": "ส่งผิดหน่วยงาน"}).status_code == 200
    assert _fire(app, session, utcnow() + timedelta(days=60)) == []
    assert session.scalar(select(func.count()).select_from(Alarm)) == 0
    revoked = http.get(_path(sent))
    assert revoked.status_code == 410 and "ยกเลิก" in revoked.get_data(as_text=True)
    gone = worker.get(letter)
    assert gone.status_code == 409 and "ยกเลิก" in gone.get_data(as_text=True)
    session.expire_all()
    case_row = session.get(Case, case.id)
    assert case_row.timeline[-1].kind == "referral_revoked"
    assert case_row.timeline[-1].note == "ส่งผิดหน่วยงาน"
    audit = session.scalar(select(AuditLog).where(AuditLog.action == "referral.revoked"))
    assert audit.detail["reason"] == "ส่งผิดหน่วยงาน"
    # Withdrawing again, or answering on the dead link, changes nothing.
    assert supervisor.post(f"/api/cases/{case.id}/referrals/{sent['id']}/revoke",
                           json={"reason": "อีกครั้ง"}).status_code == 409
    assert agency_page(http, _path(sent), to="completed", name="ก",
                       note="x").status_code == 410
    assert session.get(Referral, sent["id"]).outcome == ""


def test_an_overdue_plan_action_reminds_its_worker_and_stops_when_done(app, login_as, session):
    case, worker = planned_case(login_as, session)
    me = session.scalar(select(User).where(User.username == "caseworker"))
    me.phone = "+66800001320"
    session.commit()
    made = worker.post(f"/api/cases/{case.id}/actions", json={
        "phase": "urgent", "domain": "food_income", "title": "ยื่นขอเงินสงเคราะห์",
        "due_on": "31/12/2599", "owner_user_id": me.id})
    assert made.status_code == 201, made.json
    action = session.get(PlanAction, made.json["id"])
    due = reminders.action_due_at(action)
    assert _fire(app, session, due - timedelta(seconds=1)) == []
    assert _fire(app, session, due + timedelta(seconds=1)) == [f"action:owner:{case.id}"]
    run_jobs(app)
    sms = _sms(app)[-1]
    assert sms["to"] == "+66800001320" and "ยื่นขอเงินสงเคราะห์" in sms["body"]
    done = worker.post(f"/api/cases/{case.id}/actions/{action.id}", json={"status": "done"})
    assert done.status_code == 200, done.json
    assert _fire(app, session, due + timedelta(days=10)) == []  # done: no alarm
    assert session.scalar(select(func.count()).select_from(Alarm)) == 0


def test_case_timers_fire_once_when_several_processes_race(app, login_as, session):
    case, worker = planned_case(login_as, session)
    sent = _refer(worker, case, _agency(session, phone=None, email=None, line_user_id=None))
    later = session.get(Referral, sent["id"]).ack_due_at + timedelta(seconds=1)
    factory = app.extensions["db_factory"]
    settings = reminders.ReminderSettings.from_config(app.config)
    barrier = threading.Barrier(3)
    results: list[str] = []

    def process():
        s = factory()
        barrier.wait()
        try:
            results.extend(reminders.fire_due(session=s, now=later, settings=settings,
                                              link_base="https://1300.example"))
            s.commit()
        except Exception as exc:  # noqa: BLE001 - a loser may be refused by the database
            s.rollback()
            results.append(f"error:{type(exc).__name__}")
        finally:
            s.close()

    threads = [threading.Thread(target=process) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert [r for r in results if not r.startswith("error")] == [f"ack:owner:{case.id}"]
    assert session.scalar(select(func.count()).select_from(CaseTimer).where(
        CaseTimer.stage == "supervisor")) == 1


class _SMTP(socketserver.StreamRequestHandler):
    """Just enough SMTP to take a message (or refuse its recipient)."""

    def handle(self):
        server = self.server
        self.wfile.write(b"220 fake\r\n")
        while line := self.rfile.readline():
            cmd = line.decode("latin-1").strip()
            verb = cmd.split(" ", 1)[0].split(":", 1)[0].upper()
            if verb in ("EHLO", "HELO"):
                self.wfile.write(b"250 fake\r\n")
            elif verb == "RCPT" and server.refuse:
                self.wfile.write(b"550 no such user\r\n")
            elif verb == "DATA":
                self.wfile.write(b"354 go\r\n")
                body = []
                while (chunk := self.rfile.readline()) not in (b".\r\n", b""):
                    body.append(chunk)
                server.messages.append(b"".join(body))
                self.wfile.write(b"250 queued\r\n")
            elif verb == "QUIT":
                self.wfile.write(b"221 bye\r\n")
                return
            else:
                self.wfile.write(b"250 ok\r\n")


@pytest.fixture
def smtp(app):
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _SMTP)
    server.daemon_threads = True
    server.messages, server.refuse = [], False
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    app.config.update(MAIL_URL=f"smtp://127.0.0.1:{server.server_address[1]}",
                      OUTBOUND_TIMEOUT_SECONDS=2)
    yield server
    server.shutdown()
    server.server_close()


@ONE_BACKEND  # the transports do not depend on the database; the queue is tested on both
def test_links_go_by_e_mail_or_line_and_a_refused_one_reaches_the_failed_list(
        app, login_as, session, smtp):
    import email
    from email.policy import default

    from tests.ess_helpers import LineServer

    case, worker = planned_case(login_as, session)
    agency = _agency(session, email="oscc@hospital.example", phone=None, line_user_id=None)
    sent = _refer(worker, case, agency)
    assert sent["channel"] == "email"
    run_jobs(app)
    message = email.message_from_bytes(smtp.messages[-1], policy=default)
    assert message["To"] == "oscc@hospital.example" and case.ref in message["Subject"]
    assert "/r/" in message.get_content()

    line = LineServer()
    try:
        app.config.update(LINE_CHANNEL_ACCESS_TOKEN="token", LINE_API_BASE=line.url)
        _agency(session, line_user_id="Uagency0001", contact_channel="line")
        sent2 = worker.post(f"/api/cases/{case.id}/referrals", json={
            "agency_id": agency.id, "service": "ตรวจร่างกาย", "items": ["story"]}).json
        assert sent2["channel"] == "line"
        run_jobs(app)
        pushed = line.posted("/v2/bot/message/push")
        assert pushed[-1]["to"] == "Uagency0001" and "/r/" in pushed[-1]["messages"][0]["text"]
    finally:
        line.close()

    smtp.refuse = True
    _agency(session, contact_channel="email")
    third = worker.post(f"/api/cases/{case.id}/referrals", json={
        "agency_id": agency.id, "service": "อีกครั้ง", "items": ["story"]})
    assert third.status_code == 201  # the request never waits on the mail server
    run_jobs(app)
    job = session.scalar(select(OutboundJob).order_by(OutboundJob.id.desc()))
    assert job.kind == "referral.link" and job.state is JobState.DEAD and job.reason == "refused"
    failed = login_as("supervisor").get("/api/outbound/failed").json
    assert [f["id"] for f in failed if f["kind"] == "referral.link"] == [job.id]
    # Withdrawn before its turn: a queued link is never sent.
    smtp.refuse = False
    fourth = worker.post(f"/api/cases/{case.id}/referrals", json={
        "agency_id": agency.id, "service": "ครั้งที่สี่", "items": ["story"]}).json
    login_as("supervisor").post(f"/api/cases/{case.id}/referrals/{fourth['id']}/revoke",
                                json={"reason": "ยกเลิก"})
    count = len(smtp.messages)
    run_jobs(app)
    assert len(smtp.messages) == count


@ONE_BACKEND
def test_referral_views_live_the_agencies_times_and_two_answering_at_once(
        app, login_as, session):
    case, worker = planned_case(login_as, session)
    agency = _agency(session, phone=None, email=None, line_user_id=None)
    sent = _refer(worker, case, agency)
    mine = worker.get("/api/cases/referrals?view=sent_by_me").json
    assert [r["id"] for r in mine["items"]] == [sent["id"]]
    supervisor = login_as("supervisor")
    assert supervisor.get("/api/cases/referrals?view=sent_by_me").json["items"] == []
    assert [r["id"] for r in supervisor.get("/api/cases/referrals?view=team").json["items"]] \
        == [sent["id"]]
    assert worker.get("/api/cases/referrals?view=waiting").json["items"] == []
    # Two answer at once from the same page: one wins, the other is told; nothing else moves.
    first, second = app.test_client(), app.test_client()
    page_a, page_b = first.get(_path(sent)), second.get(_path(sent))
    token = re.compile(r'name="csrf_token" value="([^"]+)"')
    version = re.search(r'name="version" value="(\d+)"', page_a.get_data(as_text=True)).group(1)
    won = first.post(_path(sent), data={"csrf_token": token.search(page_a.get_data(
        as_text=True)).group(1), "to": "declined", "name": "นาง ข", "note": "เตียงเต็ม",
        "version": version})
    lost = second.post(_path(sent), data={"csrf_token": token.search(page_b.get_data(
        as_text=True)).group(1), "to": "accepted", "name": "คนที่สอง", "version": version})
    assert won.status_code == 200 and lost.status_code == 409
    assert "หน้านี้แสดงสถานะล่าสุด" in lost.get_data(as_text=True)  # told, in Thai
    again = agency_page(first, _path(sent), to="acknowledged", name="นาง ข")
    assert again.status_code == 409  # a step already passed: told, nothing changes
    session.expire_all()
    referral = session.get(Referral, sent["id"])
    assert referral.status.value == "declined" and referral.responder_name == "นาง ข"
    # Declined: now the worker must act (refer elsewhere or close).
    waiting = worker.get("/api/cases/referrals?view=waiting").json["items"]
    assert [r["id"] for r in waiting] == [sent["id"]] and waiting[0]["waiting_for_id"]
    event = session.scalars(select(RealtimeEvent).where(
        RealtimeEvent.name == "referral.changed").order_by(RealtimeEvent.seq.desc())).first()
    data = event.payload["data"]
    assert data["id"] == sent["id"] and data["status"] == "declined"
    assert data["waiting_for_id"] == data["sent_by_id"] and data["case_ref"] == case.ref
    assert sorted(event.rooms) == ["cases:65", "cases:national"]  # the province's case desks
    assert "นางบัวผัน" not in str(event.payload)  # no personal data live
    # Another province's user sees none of it.
    other = User(username="cm.caseworker", display_name="x", role="case_worker",
                 province_code="50", password_hash=session.scalar(
                     select(User.password_hash).where(User.username == "caseworker")))
    session.add(other)
    session.commit()
    assert login_as("cm.caseworker").get("/api/cases/referrals?view=team").json["items"] == []

    # A second referral answered: median and p90 per agency, for supervisors only.
    second = _refer(worker, case, agency)
    http = app.test_client()
    agency_page(http, _path(second), to="acknowledged", name="ก")
    session.execute(update(Referral).where(Referral.id == second["id"]).values(
        sent_at=utcnow() - timedelta(hours=10)))
    session.commit()
    times = supervisor.get("/api/cases/referral-times?days=30").json
    row = next(a for a in times["agencies"] if a["agency_id"] == agency.id)
    assert row["count"] == 2 and row["ack"]["n"] == 1
    assert row["ack"]["median_hours"] == pytest.approx(10, abs=0.1)
    assert supervisor.get("/api/cases/referral-times?days=0").status_code == 422
    assert supervisor.get("/api/cases/referral-times?days=x").status_code == 422
    assert worker.get("/api/cases/referral-times").status_code == 403
    page = supervisor.get("/desk/cases/referrals?view=team")
    assert page.status_code == 200 and 'data-testid="referral-times"' in page.get_data(
        as_text=True)
    assert 'data-testid="referral-times"' not in worker.get("/desk/cases/referrals").get_data(
        as_text=True)


def _backfill_migration():
    """The migration f1a2b3c4d5e6 (its backfill, run here on the test database)."""
    import importlib.util

    from console.config import BASE_DIR

    path = BASE_DIR / "migrations" / "versions" / "20261202_f1a2b3c4d5e6_case_desk_gaps.py"
    spec = importlib.util.spec_from_file_location("case_desk_gaps", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_migration_gives_open_referrals_and_actions_their_timers_once(
        app, login_as, session):
    from sqlalchemy import delete

    from cases.enums import CaseStatus, ReferralStatus

    migration = _backfill_migration()
    case, worker = planned_case(login_as, session)  # risk level 3
    sent = _refer(worker, case, _agency(session, phone="081-999-0001", email=None,
                                        line_user_id=None))
    me = session.scalar(select(User.id).where(User.username == "caseworker"))
    action = worker.post(f"/api/cases/{case.id}/actions", json={
        "phase": "medium", "domain": "shelter", "title": "ประชุมทีมสหวิชาชีพ",
        "due_on": "31/12/2599", "owner_user_id": me})
    assert action.status_code == 201

    def timers():
        session.expire_all()
        return {(t.referral_id, t.action_id, t.step.value, t.stage.value, t.due_at)
                for t in session.scalars(select(CaseTimer).where(CaseTimer.fired_at.is_(None)))}

    by_service = timers()
    assert by_service  # the service gave the referral and the actions theirs
    # As before the timers existed: none. The backfill gives the same ones (future deadlines).
    session.execute(delete(CaseTimer))
    session.commit()
    now = utcnow()
    made = migration.backfill(session.connection(), now)
    session.commit()
    actions = session.scalars(select(PlanAction).where(PlanAction.case_id == case.id,
                                                       PlanAction.status.in_(
                                                           ("planned", "in_progress")))).all()
    assert made == {"referrals": 1, "actions": len(actions)} and actions
    assert timers() == {(r, a, s, st, max(due, now)) for r, a, s, st, due in by_service}
    assert migration.backfill(session.connection(), now) == {"referrals": 0, "actions": 0}
    # An accepted referral without an outcome deadline gets one by the risk level, as the
    # service would (a timer of another step does not count as its own); an action already
    # late is due now.
    session.execute(update(Referral).where(Referral.id == sent["id"]).values(
        status=ReferralStatus.ACCEPTED, outcome_due_at=None))
    session.execute(delete(CaseTimer).where(CaseTimer.action_id == action.json["id"]))
    session.execute(update(PlanAction).where(PlanAction.id == action.json["id"]).values(
        due_on=(now - timedelta(days=3)).date()))
    session.commit()
    made = migration.backfill(session.connection(), now, {"3": 168.0, "2": 336.0, "1": 720.0})
    session.commit()
    assert made == {"referrals": 1, "actions": 1}
    referral = session.get(Referral, sent["id"])
    assert referral.outcome_due_at == now + timedelta(hours=168)
    assert {(sent["id"], None, "outcome", "owner", now + timedelta(hours=168)),
            (None, action.json["id"], "action", "owner", now)} <= timers()
    # A closed case reminds nobody: nothing is added for it.
    session.execute(delete(CaseTimer))
    session.execute(update(Case).where(Case.id == case.id).values(status=CaseStatus.CLOSED))
    session.commit()
    assert migration.backfill(session.connection(), now) == {"referrals": 0, "actions": 0}
