"""The case-referral workflow, first slice: where cases come from, the moves, the people."""

from __future__ import annotations

from datetime import date

from sqlalchemy import func, select

from cases.models import Case, CasePerson
from console.models import AuditLog, RealtimeEvent
from dispatch.models import Team
from tests.conftest import incident_body
from tests.unit.test_case_rules import with_check_digit

NID = with_check_digit("310050012345")


def count(session, model, *where) -> int:
    session.expire_all()
    return session.scalar(select(func.count()).select_from(model).where(*where))


def resolved_case(login_as, session) -> Case:
    calltaker, dispatcher, member = login_as("calltaker"), login_as("dispatcher"), login_as("team1")
    incident = calltaker.post("/api/calls", json=incident_body()).json["incident"]
    team = session.scalar(select(Team.id).where(Team.code == "PSL-1"))
    assert dispatcher.post(f"/api/incidents/{incident['id']}/assign",
                           json={"team_id": team}).status_code == 200
    for step in ("acknowledge", "en-route", "on-scene", "resolve"):
        assert member.post(f"/api/incidents/{incident['id']}/steps/{step}",
                           json={"note": ""}).status_code == 200
    session.expire_all()
    return session.scalar(select(Case).where(Case.incident_id == incident["id"]))


def test_a_call_closed_for_follow_up_or_referred_opens_a_case(login_as, session):
    calltaker = login_as("calltaker")
    base = {"action": "close", "number": "081-234-5678", "caller_name": "ป้าแดง",
            "summary": "ขอคำปรึกษาเรื่องเงินสงเคราะห์", "advice": "แนะนำสิทธิ"}
    assert calltaker.post("/api/calls", json=base | {"outcome": "advice_given"}).status_code == 201
    assert count(session, Case) == 0  # advice only: closed at intake, no case
    resp = calltaker.post("/api/calls", json=base | {"outcome": "needs_follow_up"})
    assert resp.status_code == 201, resp.json
    case = session.scalar(select(Case))
    assert case.source.value == "call" and case.call_id == resp.json["call_id"]
    assert case.status.value == "intake" and case.province_code == "65"
    assert case.summary == "ขอคำปรึกษาเรื่องเงินสงเคราะห์" and case.ref.startswith("C65-25")
    assert case.timeline[-1].kind == "opened" and case.timeline[-1].detail["caller_name"] == "ป้าแดง"
    events = [e.name for e in session.scalars(select(RealtimeEvent))]
    assert "case.opened" in events


def test_the_desk_opens_a_case_and_refuses_bad_input(login_as, session):
    caseworker = login_as("caseworker")
    before = count(session, Case)
    bad = caseworker.post("/api/cases", json={"source": "incident", "summary": ""})
    assert bad.status_code == 422 and {"source", "summary"} <= set(bad.json["fields"])
    assert count(session, Case) == before
    assert login_as("dispatcher").post("/api/cases", json={
        "source": "walk_in", "summary": "x"}).status_code == 403
    resp = caseworker.post("/api/cases", json={"source": "walk_in", "category": "elderly",
                                               "summary": "ยายอยู่ลำพัง ไม่มีรายได้"})
    assert resp.status_code == 201, resp.json
    assert resp.json["status"] == "intake" and resp.json["moves"] == ["fact_finding", "closed"]
    case = session.get(Case, resp.json["id"])
    assert case.source.value == "walk_in" and case.province_code == "65"
    assert case.assigned_to_id is not None


def test_moves_follow_the_workflow_with_reasons_timeline_audit_and_live_events(
        login_as, session):
    case = resolved_case(login_as, session)
    worker = login_as("caseworker")
    url = f"/api/cases/{case.id}/move"
    assert worker.post(url, json={"to": "follow_up"}).status_code == 409  # not from intake
    ok = worker.post(url, json={"to": "fact_finding", "version": case.version})
    assert ok.status_code == 200 and ok.json["status"] == "fact_finding"
    stale = worker.post(url, json={"to": "planning", "version": case.version})
    assert stale.status_code == 409  # the version this screen saw is gone
    no_reason = worker.post(url, json={"to": "closed"})
    assert no_reason.status_code == 422 and "reason" in no_reason.json["fields"]
    session.expire_all()
    assert session.get(Case, case.id).status.value == "fact_finding"  # nothing changed
    closed = worker.post(url, json={"to": "closed", "reason": "ย้ายไปต่างจังหวัด"})
    assert closed.status_code == 200 and closed.json["moves"] == [
        "fact_finding", "planning", "in_assistance", "follow_up"]
    assert worker.post(url, json={"to": "planning"}).status_code == 422  # reopen: reason
    assert worker.post(f"/api/cases/{case.id}/people", json={
        "full_name": "x", "no_id_reason": "not_given"}).status_code == 409  # closed
    reopened = worker.post(url, json={"to": "planning", "reason": "กลับมาอยู่ที่เดิม"})
    assert reopened.status_code == 200
    session.expire_all()
    row = session.get(Case, case.id)
    assert row.status.value == "planning" and row.closed_at is None
    steps = [(e.kind, e.from_status, e.to_status, e.note) for e in row.timeline
             if e.source == "case"][1:]
    assert steps == [("status", "intake", "fact_finding", ""),
                     ("status", "fact_finding", "closed", "ย้ายไปต่างจังหวัด"),
                     ("reopened", "closed", "planning", "กลับมาอยู่ที่เดิม")]
    audit = [a.action for a in session.scalars(select(AuditLog).where(
        AuditLog.entity == "case", AuditLog.entity_id == case.id).order_by(AuditLog.id))]
    assert audit.count("case.status") == 2 and "case.reopened" in audit
    updates = session.scalars(select(RealtimeEvent).where(
        RealtimeEvent.name == "case.updated")).all()
    assert len(updates) == 3
    assert all(set(e.rooms) == {"cases:65", "cases:national"} for e in updates)
    assert "people" not in updates[0].payload["data"]  # no personal data on the wire
    # Other provinces and other desks cannot move it.
    assert login_as("dispatcher").post(url, json={"to": "in_assistance"}).status_code == 403


def test_people_are_identified_with_checked_ids_masked_and_each_reveal_logged(
        login_as, session):
    case = resolved_case(login_as, session)
    worker = login_as("caseworker")
    url = f"/api/cases/{case.id}/people"
    people = count(session, CasePerson)
    wrong = worker.post(url, json={"full_name": "นายสมชาย ใจดี",
                                   "national_id": NID[:-1] + str((int(NID[-1]) + 1) % 10)})
    assert wrong.status_code == 422 and "national_id" in wrong.json["fields"]
    future = worker.post(url, json={"full_name": "เด็กหญิง ก", "no_id_reason": "child",
                                    "birth_date": "01/01/2599"})
    assert future.status_code == 422 and "birth_date" in future.json["fields"]
    neither = worker.post(url, json={"full_name": "ไม่ทราบ"})
    assert neither.status_code == 422
    text_age = worker.post(url, json={"full_name": "ก", "no_id_reason": "not_given",
                                      "age_years": "40"})
    assert text_age.status_code == 422 and "age_years" in text_age.json["fields"]
    assert count(session, CasePerson) == people  # nothing half-written
    dashed = f"{NID[0]}-{NID[1:5]}-{NID[5:10]}-{NID[10:12]}-{NID[12]}"
    ok = worker.post(url, json={"role": "client", "full_name": "นางสาวมาลี ใจงาม",
                                "national_id": dashed,
                                "birth_date": "12/05/2530", "sex": "female",
                                "phone": "081-234-5678", "target_groups": ["elderly", "elderly",
                                                                           "poor_household"]})
    assert ok.status_code == 201, ok.json
    assert ok.json["national_id_masked"].endswith(NID[-1]) and NID not in str(ok.json)
    assert ok.json["birth_date"] == "1987-05-12" and ok.json["target_groups"] == [
        "elderly", "poor_household"]
    second_client = worker.post(url, json={"role": "client", "full_name": "อีกคน",
                                           "no_id_reason": "not_given"})
    assert second_client.status_code == 422
    person = ok.json["id"]
    page = worker.get(f"/desk/cases/{case.id}").get_data(as_text=True)
    assert NID not in page and ok.json["national_id_masked"] in page
    revealed = worker.post(f"/api/cases/{case.id}/people/{person}/national-id")
    assert revealed.json == {"national_id": NID} and revealed.headers["Cache-Control"] == "no-store"
    reveals = session.scalars(select(AuditLog).where(
        AuditLog.action == "case.national_id_revealed")).all()
    assert [(r.entity_id, r.detail["person_id"]) for r in reveals] == [(case.id, person)]
    assert login_as("dispatcher").post(
        f"/api/cases/{case.id}/people/{person}/national-id").status_code == 403
    session.expire_all()
    stored = session.get(CasePerson, person)
    assert stored.birth_date == date(1987, 5, 12) and stored.age_years >= 39
    assert stored.phone == "+66812345678" and stored.age_group == "adult"


def full_assessment(**over) -> dict:
    scores = {d: {"score": 4, "reason": "ปกติ"} for d in (
        "safety", "health", "food_income", "shelter", "family_care", "education_work")}
    scores["food_income"] = {"score": 1, "reason": "ไม่มีรายได้ มีหนี้นอกระบบ"}
    scores["shelter"] = {"score": 2, "reason": "บ้านผุพัง"}
    body = {"visited_at": "01/11/2569", "problem": "ผู้สูงอายุอยู่ลำพัง", "scores": scores,
            "risk_level": "3", "complete": True}
    body.update(over)
    return body


def test_fact_finding_then_a_plan_that_covers_every_concern(login_as, session):
    case = resolved_case(login_as, session)
    worker = login_as("caseworker")
    move = f"/api/cases/{case.id}/move"
    assert worker.post(move, json={"to": "fact_finding"}).status_code == 200
    # Planning needs a completed fact-finding.
    assert worker.post(move, json={"to": "planning"}).status_code == 409
    draft = worker.put(f"/api/cases/{case.id}/assessment",
                       json={"problem": "ร่าง", "scores": {"safety": {"score": 2}}})
    assert draft.status_code == 200 and draft.json["assessment"]["completed_at"] is None
    incomplete = worker.put(f"/api/cases/{case.id}/assessment",
                            json=full_assessment(risk_level="", scores={
                                "safety": {"score": 2, "reason": ""}}))
    assert incomplete.status_code == 422
    fields = set(incomplete.json["fields"])
    assert {"risk_level", "scores.health", "scores.safety.reason"} <= fields
    bad_score = worker.put(f"/api/cases/{case.id}/assessment", json=full_assessment(
        scores={"safety": {"score": 7, "reason": "x"}}))
    assert bad_score.status_code == 422
    future = worker.put(f"/api/cases/{case.id}/assessment",
                        json=full_assessment(visited_at="01/01/2600"))
    assert future.status_code == 422 and "visited_at" in future.json["fields"]
    session.expire_all()
    assert session.get(Case, case.id).assessment.problem == "ร่าง"  # refusals changed nothing
    done = worker.put(f"/api/cases/{case.id}/assessment", json=full_assessment())
    assert done.status_code == 200 and done.json["assessment"]["risk_level"] == "3"
    assert worker.post(move, json={"to": "planning"}).status_code == 200

    actions = f"/api/cases/{case.id}/actions"
    from cases.models import Agency

    agency_id = session.scalar(select(Agency.id).where(Agency.province_code == "65"))
    assert worker.post(actions, json={"phase": "urgent", "domain": "food_income",
                                      "title": "เงินสงเคราะห์", "due_on": "01/01/2560",
                                      "owner_agency_id": agency_id}).status_code == 422
    neither = worker.post(actions, json={"phase": "urgent", "domain": "food_income",
                                         "title": "x", "due_on": "31/12/2599"})
    assert neither.status_code == 422
    first = worker.post(actions, json={"phase": "urgent", "domain": "food_income",
                                       "title": "เงินสงเคราะห์ 3,000 บาท", "due_on": "31/12/2599",
                                       "owner_agency_id": agency_id})
    assert first.status_code == 201, first.json
    # Shelter is still a concern without an action: the plan is not complete.
    gap = worker.post(move, json={"to": "in_assistance"})
    assert gap.status_code == 409 and "ที่อยู่อาศัย" in gap.json["error"]  # by its Thai label
    from console.models import User

    worker_id = session.scalar(select(User.id).where(User.username == "caseworker"))
    second = worker.post(actions, json={"phase": "long", "domain": "shelter",
                                        "title": "ประสาน อบต. ซ่อมบ้าน", "due_on": "31/12/2599",
                                        "owner_user_id": worker_id})
    assert second.status_code == 201
    assert worker.post(move, json={"to": "in_assistance"}).status_code == 200
    progress = worker.post(f"{actions}/{first.json['id']}", json={"status": "done",
                                                                  "note": "โอนแล้ว"})
    assert progress.status_code == 200 and progress.json["status"] == "done"
    session.expire_all()
    row = session.get(Case, case.id)
    kinds = [e.kind for e in row.timeline if e.source == "case"]
    assert {"assessment_saved", "assessment_completed", "action_added", "action_status"} <= set(
        kinds)
    assert row.actions[0].done_at is not None
    page = worker.get(f"/desk/cases/{case.id}")
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "เงินสงเคราะห์ 3,000 บาท" in text and "ประสาน อบต. ซ่อมบ้าน" in text
    assert 'data-testid="assessment-done"' in text and 'data-testid="plan-gaps"' not in text
    assert 'value="01/11/2569"' in text  # the visit date comes back in the box as typed


def test_closing_with_open_actions_needs_confirmation_and_keeps_feedback(login_as, session):
    case = resolved_case(login_as, session)
    worker = login_as("caseworker")
    move = f"/api/cases/{case.id}/move"
    worker.post(move, json={"to": "fact_finding"})
    worker.put(f"/api/cases/{case.id}/assessment", json=full_assessment())
    worker.post(move, json={"to": "planning"})
    from console.models import User

    me = session.scalar(select(User.id).where(User.username == "caseworker"))
    for domain in ("food_income", "shelter"):
        worker.post(f"/api/cases/{case.id}/actions", json={
            "phase": "urgent", "domain": domain, "title": domain, "due_on": "31/12/2599",
            "owner_user_id": me})
    refused = worker.post(move, json={"to": "closed", "reason": "ย้ายออกนอกพื้นที่"})
    assert refused.status_code == 409 and "2" in refused.json["error"]
    session.expire_all()
    assert session.get(Case, case.id).status.value == "planning"
    closed = worker.post(move, json={"to": "closed", "reason": "ย้ายออกนอกพื้นที่",
                                     "client_feedback": "พอใจ", "lessons_learned": "ประสานเร็ว",
                                     "with_open_actions": True})
    assert closed.status_code == 200
    session.expire_all()
    row = session.get(Case, case.id)
    assert (row.close_reason, row.client_feedback, row.lessons_learned) == (
        "ย้ายออกนอกพื้นที่", "พอใจ", "ประสานเร็ว")


def test_caseload_take_give_and_views(login_as, session):
    first = resolved_case(login_as, session)
    worker, supervisor = login_as("caseworker"), login_as("supervisor")
    from console.models import User

    ids = dict(session.execute(select(User.username, User.id)).all())
    assert worker.get("/api/cases?view=unassigned").json["items"][0]["id"] == first.id
    assert worker.get("/api/cases?view=mine").json["items"] == []
    # A worker takes an unassigned case, but cannot give it to someone else.
    assert worker.post(f"/api/cases/{first.id}/assign",
                       json={"user_id": ids["supervisor"]}).status_code == 403
    taken = worker.post(f"/api/cases/{first.id}/assign", json={"user_id": ids["caseworker"]})
    assert taken.status_code == 200 and taken.json["assigned_to_id"] == ids["caseworker"]
    assert [c["id"] for c in worker.get("/api/cases?view=mine").json["items"]] == [first.id]
    assert worker.get("/api/cases?view=unassigned").json["items"] == []
    # A supervisor gives it to another worker of the province; not to a dispatcher.
    assert supervisor.post(f"/api/cases/{first.id}/assign",
                           json={"user_id": ids["dispatcher"]}).status_code == 422
    assert supervisor.post(f"/api/cases/{first.id}/assign",
                           json={"user_id": ids["supervisor"]}).status_code == 200
    # ... and now the worker can no longer take it back by themselves.
    assert worker.post(f"/api/cases/{first.id}/assign",
                       json={"user_id": ids["caseworker"]}).status_code == 403
    session.expire_all()
    kinds = [e.kind for e in session.get(Case, first.id).timeline]
    assert kinds.count("assigned") == 2
    page = worker.get("/desk/cases?view=mine").get_data(as_text=True)
    assert first.ref not in page  # given away: not in "my cases" any more


def test_status_by_area_counts_open_urgent_and_overdue_with_drill_down(login_as, session):
    case = resolved_case(login_as, session)
    worker = login_as("caseworker")
    worker.post("/api/cases", json={"source": "walk_in", "summary": "อีกเคส"})
    move = f"/api/cases/{case.id}/move"
    worker.post(move, json={"to": "fact_finding"})
    worker.put(f"/api/cases/{case.id}/assessment", json=full_assessment())
    # An overdue action: due yesterday (written straight to the database: the API refuses it).
    from datetime import timedelta

    from cases.enums import Domain, PlanPhase
    from cases.models import PlanAction
    from console.db import BANGKOK, utcnow

    session.add(PlanAction(case_id=case.id, phase=PlanPhase.URGENT, domain=Domain.SHELTER,
                           title="late", due_on=utcnow().astimezone(BANGKOK).date()
                           - timedelta(days=1), owner_agency_id=None, owner_user_id=None))
    session.commit()
    from cases import service
    from console.models import User

    national = session.scalar(select(User).where(User.username == "national"))
    rows = service.status_summary(session=session, user=national, level="province",
                                  parent=None)
    assert [(r["code"], r["open"], r["urgent"], r["overdue"]) for r in rows] == [("65", 2, 1, 1)]
    assert rows[0]["statuses"] == {"fact_finding": 1, "intake": 1}
    districts = service.status_summary(session=session, user=national, level="district",
                                       parent="65")
    assert ("6501", 1, 1, 1) in [(r["code"], r["open"], r["urgent"], r["overdue"])
                                 for r in districts]
    cm = session.scalar(select(User).where(User.username == "cm.dispatcher"))
    cm.province_code = "50"
    assert service.status_summary(session=session, user=cm, level="province", parent=None) == []
    session.rollback()
    page = login_as("supervisor").get("/desk/cases/status")
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and 'data-code="6501"' in text
    assert "?level=subdistrict&parent=6501" in text


def test_caseload_search_filters_and_pages(login_as, session):
    case = resolved_case(login_as, session)
    worker = login_as("caseworker")
    for i in range(4):
        worker.post("/api/cases", json={"source": "letter", "summary": f"หนังสือร้องเรียน {i}"})
    worker.post(f"/api/cases/{case.id}/people", json={
        "role": "client", "full_name": "นางบัวผัน 100%_จริง", "no_id_reason": "not_given",
        "target_groups": ["bedridden"]})
    worker.post(f"/api/cases/{case.id}/move", json={"to": "fact_finding"})
    worker.put(f"/api/cases/{case.id}/assessment", json=full_assessment())

    def ids(query: str) -> list[int]:
        resp = worker.get(f"/api/cases?{query}")
        assert resp.status_code == 200, resp.json
        return [c["id"] for c in resp.json["items"]]

    page1 = worker.get("/api/cases?per_page=2&page=1").json
    page3 = worker.get("/api/cases?per_page=2&page=3").json
    assert page1["total"] == 5 and len(page1["items"]) == 2 and len(page3["items"]) == 1
    assert ids("risk=3") == [case.id] and ids("status=fact_finding") == [case.id]
    assert ids("target_group=bedridden") == [case.id] and ids("target_group=elderly") == []
    assert ids("q=" + "บัวผัน") == [case.id]  # a person's name
    assert ids("q=100%25_") == [case.id]  # % and _ are literal characters, not wildcards
    assert len(ids("q=หนังสือร้องเรียน")) == 4 and ids("q=" + case.ref) == [case.id]
    assert ids("district_code=6501") == [case.id]
    bad = worker.get("/api/cases?per_page=1000&status=x")
    assert bad.status_code == 422 and {"per_page", "status"} <= set(bad.json["fields"])
    assert login_as("cm.dispatcher").get("/api/cases").status_code == 403
