"""The case workflow's partners (issue 13): agency users answer the referrals sent to their
agency from a list, with the link page's rules; อพม. volunteers see only a task's minimum and
record its outcome (with an account, or on a signed link); the caseload's search columns."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import select

from cases import search
from cases.models import Agency, Case, FollowUp, Referral, ReferralEvent
from console.enums import Role
from console.models import AuditLog, RealtimeEvent, User
from tests.integration.test_case_referrals import planned_case


def _user(session, demo_hash, username, role, province, agency_id=None) -> User:
    user = User(username=username, display_name=f"คุณ {username}", password_hash=demo_hash,
                role=role, province_code=province, agency_id=agency_id, demo=True)
    session.add(user)
    session.commit()
    return user


def _agencies(session) -> tuple[Agency, Agency]:
    found = session.scalars(select(Agency).where(Agency.province_code == "65")
                            .order_by(Agency.id)).all()
    return found[0], found[1]


def test_an_agency_user_answers_its_own_referrals_with_the_link_pages_rules(
        app, login_as, session, demo_hash):
    oscc, police = _agencies(session)
    mine = _user(session, demo_hash, "oscc.user", Role.AGENCY, "65", oscc.id)
    _user(session, demo_hash, "police.user", Role.AGENCY, "65", police.id)
    case, worker = planned_case(login_as, session)
    assert worker.post(f"/api/cases/{case.id}/consents", json={
        "agency_id": oscc.id, "items": ["story", "identity"],
        "given_on": "01/11/2569"}).status_code == 201
    sent = worker.post(f"/api/cases/{case.id}/referrals", json={
        "agency_id": oscc.id, "service": "รับเข้าบ้านพักฉุกเฉิน", "items": ["story", "identity"]})
    assert sent.status_code == 201, sent.json
    rid = sent.json["id"]

    agency, other = login_as("oscc.user"), login_as("police.user")
    page = agency.get("/desk/agency")
    assert page.status_code == 200 and case.ref in page.get_data(as_text=True)
    [row] = agency.get("/api/agency/referrals").json
    assert row["id"] == rid and row["next_steps"] == ["acknowledged", "accepted", "declined"]
    assert "shared" not in row and "บัวผัน" not in str(row)  # the list has no personal data
    assert other.get("/api/agency/referrals").json == []
    assert other.get(f"/api/agency/referrals/{rid}").status_code == 404
    assert agency.get("/api/cases").status_code == 403
    assert agency.get(f"/desk/cases/{case.id}").status_code == 403

    detail = agency.get(f"/api/agency/referrals/{rid}", environ_base={"REMOTE_ADDR": "10.9.8.7"})
    assert detail.status_code == 200
    assert detail.json["shared"]["client_name"] == "นางบัวผัน ศรีสุข"
    assert "phone" not in detail.json["shared"]  # contact was not consented
    session.expire_all()
    [opened] = session.scalars(select(ReferralEvent).where(ReferralEvent.kind == "opened")).all()
    assert opened.ip == "10.9.8.7"
    assert session.scalar(select(AuditLog).where(AuditLog.action == "read.agency_referral",
                                                 AuditLog.actor_id == mine.id)) is not None

    step = f"/api/agency/referrals/{rid}/step"
    no_reason = agency.post(step, json={"to": "declined", "note": ""})
    assert no_reason.status_code == 422 and "note" in no_reason.json["fields"]
    assert agency.post(step, json={"to": "revoked"}).status_code == 422  # not an agency step
    assert other.post(step, json={"to": "acknowledged"}).status_code == 404
    session.expire_all()
    assert session.get(Referral, rid).status.value == "sent"  # nothing changed
    ack = agency.post(step, json={"to": "acknowledged", "version": row["version"]})
    assert ack.status_code == 200 and ack.json["status"] == "acknowledged"
    stale = agency.post(step, json={"to": "accepted", "version": row["version"]})
    assert stale.status_code == 409  # the version its list had before
    assert agency.post(step, json={"to": "accepted"}).status_code == 200
    done = agency.post(step, json={"to": "completed", "note": "รับเข้าบ้านพักแล้ว"})
    assert done.status_code == 200 and done.json["next_steps"] == []
    session.expire_all()
    referral = session.get(Referral, rid)
    assert referral.outcome == "รับเข้าบ้านพักแล้ว" and referral.responder_name == "คุณ oscc.user"
    steps = [e for e in session.get(Case, case.id).timeline if e.kind.startswith("referral_")]
    assert [e.kind for e in steps][-3:] == ["referral_acknowledged", "referral_accepted",
                                            "referral_completed"]
    assert {e.actor_id for e in steps[-3:]} == {mine.id}
    live = session.scalars(select(RealtimeEvent).where(
        RealtimeEvent.name == "agency.referral")).all()
    assert live and all(e.rooms == [f"agency:{oscc.id}"] for e in live)
    assert "บัวผัน" not in str([e.payload for e in live])
    timeline = session.scalars(select(RealtimeEvent).where(
        RealtimeEvent.name == "case.timeline")).all()
    assert [e.payload["data"]["kind"] for e in timeline][-1] == "referral_completed"
    assert timeline[-1].rooms == ["cases:65", "cases:national"]


def test_the_admin_desk_ties_an_agency_user_to_one_agency(app, login_as, session):
    oscc, _police = _agencies(session)
    cm = session.scalar(select(Agency).where(Agency.province_code == "50"))
    admin = login_as("admin")
    body = {"username": "oscc.new", "display_name": "OSCC", "role": "agency",
            "province_code": "65"}
    missing = admin.post("/api/users", json=body)
    assert missing.status_code == 422 and "agency_id" in missing.json["fields"]
    elsewhere = admin.post("/api/users", json={**body, "agency_id": cm.id})
    assert elsewhere.status_code == 422 and "agency_id" in elsewhere.json["fields"]
    not_agency = admin.post("/api/users", json={**body, "role": "case_worker",
                                                 "agency_id": oscc.id})
    assert not_agency.status_code == 422 and "agency_id" in not_agency.json["fields"]
    volunteer = admin.post("/api/users", json={**body, "role": "volunteer", "province_code": None})
    assert volunteer.status_code == 422 and "province_code" in volunteer.json["fields"]
    assert session.scalar(select(User).where(User.username == "oscc.new")) is None
    made = admin.post("/api/users", json={**body, "agency_id": oscc.id})
    assert made.status_code == 201 and made.json["user"]["agency_id"] == oscc.id


def test_a_volunteer_sees_a_tasks_minimum_and_records_its_outcome(
        app, login_as, session, demo_hash):
    case, worker = planned_case(login_as, session)
    volunteer = _user(session, demo_hash, "psl.vol", Role.VOLUNTEER, "65")
    cm_volunteer = _user(session, demo_hash, "cm.vol", Role.VOLUNTEER, "50")
    plan = f"/api/cases/{case.id}/follow-ups"
    first = worker.post(plan, json={"kind": "visit", "due_on": "01/01/2600",
                                    "purpose": "ดูสภาพบ้านและอาหาร"})
    second = worker.post(plan, json={"kind": "call", "due_on": "01/01/2600",
                                     "purpose": "โทรถามอาการ"})
    assert first.status_code == second.status_code == 201, first.json
    give = f"{plan}/{first.json['id']}/volunteer"
    assert worker.post(give, json={"user_id": cm_volunteer.id}).status_code == 422
    both = worker.post(give, json={"user_id": volunteer.id, "name": "สมศรี"})
    assert both.status_code == 422 and "name" in both.json["fields"]
    no_phone = worker.post(give, json={"name": "สมศรี"})
    assert no_phone.status_code == 422 and "phone" in no_phone.json["fields"]
    assert worker.post(give, json={"name": "สมศรี", "phone": "12"}).status_code == 422
    session.expire_all()
    assert session.get(FollowUp, first.json["id"]).volunteer_name == ""  # nothing changed
    assert worker.post(give, json={"user_id": volunteer.id}).status_code == 200

    vol = login_as("psl.vol")
    [task] = vol.get("/api/tasks").json
    assert task["first_name"] == "บัวผัน" and task["purpose"] == "ดูสภาพบ้านและอาหาร"
    assert task["phone"] is None  # not shared
    page = vol.get("/desk/tasks").get_data(as_text=True)
    assert "บัวผัน" in page and "ศรีสุข" not in page and case.ref not in page
    assert login_as("cm.vol").get("/api/tasks").json == []
    assert vol.get("/api/cases").status_code == 403
    assert vol.get(f"/api/incidents/{case.incident_id}").status_code == 404
    empty = vol.post(f"/api/tasks/{task['id']}/done", json={"outcome": ""})
    assert empty.status_code == 422 and "outcome" in empty.json["fields"]
    assert vol.post(f"/api/tasks/{second.json['id']}/done",
                    json={"outcome": "x"}).status_code == 404  # not theirs
    done = vol.post(f"/api/tasks/{task['id']}/done",
                    json={"outcome": "บ้านสะอาด มีอาหารพอ", "client_feedback": "ขอบคุณ"})
    assert done.status_code == 200
    again = worker.post(f"{plan}/{task['id']}/done", json={"outcome": "ซ้ำ"})
    assert again.status_code == 409  # recorded once
    session.expire_all()
    [entry] = [e for e in session.get(Case, case.id).timeline if e.kind == "follow_up_done"]
    assert entry.actor_id == volunteer.id and entry.note == "บ้านสะอาด มีอาหารพอ"
    assert session.scalar(select(AuditLog).where(AuditLog.action == "read.volunteer_tasks",
                                                 AuditLog.actor_id == volunteer.id))

    # A volunteer without an account: a link opening this task only, the phone shared.
    linked = worker.post(f"{plan}/{second.json['id']}/volunteer",
                         json={"name": "นางสมศรี ใจงาม", "phone": "089-111-2222",
                               "share_phone": True})
    assert linked.status_code == 200 and linked.json["qr"].startswith("data:image/svg+xml")
    path = "/v/" + linked.json["link"].rsplit("/v/", 1)[1]
    http = app.test_client()
    shown = http.get(path, environ_base={"REMOTE_ADDR": "10.4.4.4"})
    text = shown.get_data(as_text=True)
    assert shown.status_code == 200 and "บัวผัน" in text and "โทรถามอาการ" in text
    assert "081-234-5678" in text and "ศรีสุข" not in text and case.ref not in text
    read = session.scalar(select(AuditLog).where(AuditLog.action == "read.volunteer_task"))
    assert read.ip == "10.4.4.4" and read.actor_id is None
    assert http.get(path[:-3] + ("AAA" if not path.endswith("AAA") else "BBB")).status_code == 410
    token = re.search(r'name="csrf_token" value="([^"]+)"', text).group(1)
    blank = http.post(path, data={"csrf_token": token, "outcome": ""})
    assert blank.status_code == 422 and 'data-field="outcome"' in blank.get_data(as_text=True)
    ok = http.post(path, data={"csrf_token": token, "outcome": "โทรแล้ว อาการดีขึ้น"})
    assert ok.status_code == 200 and 'data-testid="task-message"' in ok.get_data(as_text=True)
    after = http.get(path).get_data(as_text=True)
    assert "บัวผัน" not in after and "081-234-5678" not in after  # done: nothing personal
    session.expire_all()
    row = session.get(FollowUp, second.json["id"])
    assert row.done_by == "นางสมศรี ใจงาม" and row.outcome == "โทรแล้ว อาการดีขึ้น"
    live = session.scalars(select(RealtimeEvent).where(RealtimeEvent.name == "case.timeline"))
    assert [e.payload["data"]["note"] for e in live][-1] == "โทรแล้ว อาการดีขึ้น"


def test_the_caseload_filters_read_search_columns_kept_by_every_change(login_as, session):
    from cases.enums import Domain, PlanPhase
    from cases.models import PlanAction
    from console.db import BANGKOK, utcnow

    case, worker = planned_case(login_as, session)
    worker.post(f"/api/cases/{case.id}/people", json={
        "role": "household", "full_name": "เด็กชายก้อง ศรีสุข", "no_id_reason": "child",
        "target_groups": ["children_youth"]})

    def ids(query: str) -> list[int]:
        resp = worker.get(f"/api/cases?{query}")
        assert resp.status_code == 200, resp.json
        return [c["id"] for c in resp.json["items"]]

    assert ids("q=ก้อง") == [case.id] and ids("q=BUAPHAN") == []
    assert ids("target_group=children_youth") == [case.id]
    assert ids("risk=3") == [case.id] and ids("overdue=1") == []
    session.add(PlanAction(case_id=case.id, phase=PlanPhase.URGENT, domain=Domain.SHELTER,
                           title="late", due_on=utcnow().astimezone(BANGKOK).date()
                           - timedelta(days=1)))
    session.commit()
    assert ids("risk=3&overdue=1") == [case.id]
    session.expire_all()
    action = session.scalar(select(PlanAction).where(PlanAction.title == "late"))
    before = session.get(Case, case.id).version
    assert worker.post(f"/api/cases/{case.id}/actions/{action.id}",
                       json={"status": "done"}).status_code == 200
    assert ids("overdue=1") == []
    session.expire_all()
    assert session.get(Case, case.id).version == before  # search columns move no version
    assert search.stale_ids(session) == []


def test_the_demo_has_a_user_for_every_role_and_the_partners_land_on_their_desks(
        login_as, session):
    """`make run` promises users for every role: the agency officer answers for a real agency
    of the directory and lands on the referral list; the อพม. volunteer on their tasks."""
    roles = set(session.scalars(select(User.role).where(User.demo.is_(True))))
    assert roles == set(Role)
    oscc = session.scalar(select(User).where(User.username == "oscc"))
    agency = session.get(Agency, oscc.agency_id)
    assert agency.name_en == "OSCC Buddhachinaraj Hospital" and agency.province_code == "65"
    for username, desk in (("oscc", "/desk/agency"), ("volunteer", "/desk/tasks")):
        client = login_as(username)
        home = client.get("/")
        assert home.status_code == 302 and home.headers["Location"].endswith(desk), username
        assert client.get(desk).status_code == 200
        assert client.get("/api/cases").status_code == 403  # the minimum, nothing more
