"""Subsidies (เงินสงเคราะห์): a request on a case climbs the province's approval chain, one level
at a time by a holder of that level, never by the one who asked; a rejection ends it; payment
with date and reference; two approvers at once: one wins. Documents, totals, the 2-page PDF."""

from __future__ import annotations

import io
import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from cases.models import Case, Subsidy, SubsidyApproval, SubsidyApprover, SubsidyDocument
from console.db import utcnow
from console.models import AuditLog, RealtimeEvent, User
from tests.ess_helpers import png_bytes
from tests.integration.test_case_workflow import full_assessment


def count(session, model, *where) -> int:
    session.expire_all()
    return session.scalar(select(func.count()).select_from(model).where(*where))


def planned_case(login_as, session, *, summary="ยายอยู่ลำพัง บ้านถูกน้ำท่วม"):
    """A walk-in case of Phitsanulok in planning, with an urgent action of the plan."""
    worker = login_as("caseworker")
    case = worker.post("/api/cases", json={"source": "walk_in", "category": "elderly",
                                           "summary": summary}).json
    base = f"/api/cases/{case['id']}"
    assert worker.post(f"{base}/move", json={"to": "fact_finding"}).status_code == 200
    assert worker.put(f"{base}/assessment", json=full_assessment()).status_code == 200
    me = session.scalar(select(User.id).where(User.username == "caseworker"))
    for domain in ("food_income", "shelter"):
        assert worker.post(f"{base}/actions", json={
            "phase": "urgent", "domain": domain, "title": "เงินสงเคราะห์กรณีเร่งด่วน",
            "due_on": "31/12/2599", "owner_user_id": me}).status_code == 201
    assert worker.post(f"{base}/move", json={"to": "planning"}).status_code == 200
    return session.get(Case, case["id"]), worker


def extra_approver(session, demo_hash, username: str, *levels: str) -> User:
    """A supervisor of Phitsanulok holding these levels there."""
    user = User(username=username, display_name=username, password_hash=demo_hash,
                role=session.scalar(select(User.role).where(User.username == "supervisor")),
                province_code="65", demo=True)
    session.add(user)
    session.flush()
    for level in levels:
        session.add(SubsidyApprover(user_id=user.id, province_code="65", level_code=level,
                                    granted_at=utcnow()))
    session.commit()
    return user


GOOD = {"amount": "1,500.50", "reason": "ค่าอาหารและยาระหว่างรอเบี้ยยังชีพ",
        "budget_line": "emergency_relief"}


def test_bad_amounts_and_fields_get_a_clear_message_and_change_nothing(app, login_as, session):
    worker = login_as("caseworker")
    intake = worker.post("/api/cases", json={"source": "walk_in", "category": "elderly",
                                             "summary": "x"}).json
    early = worker.post(f"/api/cases/{intake['id']}/subsidies", json=GOOD)
    assert early.status_code == 409  # fact-finding first
    case, worker = planned_case(login_as, session)
    url = f"/api/cases/{case.id}/subsidies"
    for amount, words in ((-500, "มากกว่า 0"), (0, "มากกว่า 0"), ("abc", "ตัวเลข"),
                          ("1e12", "ตัวเลข"), ("100.555", "2"), (True, "ตัวเลข"),
                          ("9999999999", "ตรวจสอบ"), ("60000", "50,000")):
        resp = worker.post(url, json=GOOD | {"amount": amount})
        assert resp.status_code == 422, (amount, resp.json)
        assert set(resp.json["fields"]) == {"amount"} and words in resp.json["fields"]["amount"], \
            (amount, resp.json)
    unknown = worker.post(url, json=GOOD | {"budget_line": "casino", "reason": ""})
    assert unknown.status_code == 422 and "reason" in unknown.json["fields"]
    wrong_line = worker.post(url, json=GOOD | {"budget_line": "casino"})
    assert wrong_line.status_code == 422 and set(wrong_line.json["fields"]) == {"budget_line"}
    assert count(session, Subsidy) == 0
    worker.http.set_cookie("lang", "en")
    english = worker.post(url, json=GOOD | {"amount": "-1"})
    assert english.status_code == 422
    assert english.json["fields"]["amount"] == "The amount must be more than 0 baht."
    assert count(session, Subsidy) == 0


def test_a_subsidy_climbs_the_chain_never_approved_by_its_requester_and_is_paid(
        app, login_as, session, demo_hash):
    case, worker = planned_case(login_as, session)
    extra_approver(session, demo_hash, "head2", "team_head", "provincial_office")
    supervisor, pmj, head2 = login_as("supervisor"), login_as("pmj"), login_as("head2")
    # The supervisor (who holds the team head level) asks: another person must approve.
    made = supervisor.post(f"/api/cases/{case.id}/subsidies", json=GOOD)
    assert made.status_code == 201, made.json
    sub = made.json
    assert sub["amount_satang"] == 150050 and sub["status"] == "pending"
    assert sub["levels"] == ["team_head", "provincial_office"] and sub["level"] == "team_head"
    assert sub["plan_action_id"] is not None  # linked to the urgent phase of the plan
    base = f"/api/cases/{case.id}/subsidies/{sub['id']}"
    own = supervisor.post(f"{base}/approve", json={"version": sub["version"]})
    assert own.status_code == 403 and "ท่านเป็นผู้ขอ" in own.json["error"]
    assert pmj.post(f"{base}/approve", json={}).status_code == 403  # not their level yet
    assert worker.post(f"{base}/approve", json={}).status_code == 403  # holds no level
    assert count(session, SubsidyApproval) == 0
    first = head2.post(f"{base}/approve", json={"version": sub["version"], "note": "เห็นควร"})
    assert first.status_code == 200 and first.json["status"] == "pending"
    assert first.json["level"] == "provincial_office" and first.json["step"] == 2
    # head2 holds the provincial level too, but one person decides one level only.
    twice = head2.post(f"{base}/approve", json={})
    assert twice.status_code == 403 and "อีกระดับ" in twice.json["error"]
    stale = pmj.post(f"{base}/approve", json={"version": sub["version"]})
    assert stale.status_code == 409  # the screen saw the request before the first level
    waiting = pmj.get("/desk/subsidies")
    assert waiting.status_code == 200 and f'data-subsidy="{sub["id"]}"' in waiting.get_data(
        as_text=True)
    assert f'data-subsidy="{sub["id"]}"' not in supervisor.get("/desk/subsidies").get_data(
        as_text=True)  # their own request never waits for them
    final = pmj.post(f"{base}/approve", json={"version": first.json["version"]})
    assert final.status_code == 200 and final.json["status"] == "approved"
    # Payment: the date is checked, a case worker cannot record it, the supervisor does.
    future = supervisor.post(f"{base}/paid", json={"paid_on": "01/01/2600",
                                                   "payment_ref": "PV-1"})
    assert future.status_code == 422 and "paid_on" in future.json["fields"]
    assert worker.post(f"{base}/paid", json={"paid_on": "01/01/2500",
                                             "payment_ref": "x"}).status_code in (403, 422)
    today = utcnow().astimezone().strftime("%d/%m/") + str(utcnow().year + 543)
    paid = supervisor.post(f"{base}/paid", json={"paid_on": today, "payment_ref": "PV69-0012"})
    assert paid.status_code == 200 and paid.json["status"] == "paid", paid.json
    assert paid.json["payment_ref"] == "PV69-0012"
    assert supervisor.post(f"{base}/reject", json={"note": "x"}).status_code == 409
    # Every step: on the timeline, audited, live to the province's case desks (no reason).
    session.expire_all()
    kinds = [e.kind for e in session.get(Case, case.id).timeline]
    assert kinds.count("subsidy_approved") == 2
    assert {"subsidy_requested", "subsidy_paid"} <= set(kinds)
    actions = set(session.scalars(select(AuditLog.action).where(
        AuditLog.action.like("subsidy.%"))))
    assert {"subsidy.requested", "subsidy.approved", "subsidy.paid"} <= actions
    live = session.scalars(select(RealtimeEvent).where(
        RealtimeEvent.name == "subsidy.updated")).all()
    assert live[-1].payload["data"]["status"] == "paid"
    assert all(set(e.rooms) == {"cases:65", "cases:national"} for e in live)
    assert "ค่าอาหาร" not in str([e.payload for e in live])
    listed = worker.get(f"/api/cases/{case.id}/subsidies")
    assert listed.status_code == 200 and listed.json["items"][0]["reason"] == GOOD["reason"]
    assert [a["level"] for a in listed.json["items"][0]["approvals"]] == [
        "team_head", "provincial_office"]


def test_a_rejection_with_its_reason_ends_the_request(app, login_as, session):
    case, worker = planned_case(login_as, session)
    sub = worker.post(f"/api/cases/{case.id}/subsidies", json=GOOD).json
    base = f"/api/cases/{case.id}/subsidies/{sub['id']}"
    supervisor = login_as("supervisor")
    no_reason = supervisor.post(f"{base}/reject", json={"note": " "})
    assert no_reason.status_code == 422 and "note" in no_reason.json["fields"]
    assert count(session, SubsidyApproval) == 0
    rejected = supervisor.post(f"{base}/reject", json={"note": "มีสิทธิ์เบี้ยยังชีพแล้ว"})
    assert rejected.status_code == 200 and rejected.json["status"] == "rejected"
    assert rejected.json["reject_reason"] == "มีสิทธิ์เบี้ยยังชีพแล้ว"
    assert login_as("pmj").post(f"{base}/approve", json={}).status_code == 409
    assert supervisor.post(f"{base}/paid", json={"paid_on": "01/11/2569",
                                                 "payment_ref": "x"}).status_code == 409
    # Another province's supervisor does not see the request at all.
    assert login_as("cm.dispatcher").get(f"/api/cases/{case.id}/subsidies").status_code == 403


def test_two_approvers_at_once_one_wins_the_other_is_told(app, login_as, session, demo_hash):
    from cases import subsidies
    from cases.schemas import SubsidyDecisionIn
    from console.errors import Conflict

    case, worker = planned_case(login_as, session)
    sub = worker.post(f"/api/cases/{case.id}/subsidies", json=GOOD).json
    extra_approver(session, demo_hash, "head2", "team_head")
    factory = app.extensions["db_factory"]
    barrier = threading.Barrier(2, timeout=20)
    results: list[str] = []

    def decide(username: str) -> None:
        s = factory()
        try:
            user = s.scalar(select(User).where(User.username == username))
            s.get(Subsidy, sub["id"]).approvals  # noqa: B018 - both read version 1 first
            barrier.wait()
            try:
                subsidies.approve(session=s, case_id=case.id, subsidy_id=sub["id"],
                                  data=SubsidyDecisionIn(version=sub["version"]), by=user)
                s.commit()
                results.append("won")
            except Conflict:
                s.rollback()
                results.append("told")
        finally:
            s.close()

    threads = [threading.Thread(target=decide, args=(n,)) for n in ("supervisor", "head2")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sorted(results) == ["told", "won"]
    assert count(session, SubsidyApproval) == 1
    subsidy = session.get(Subsidy, sub["id"])
    assert subsidy.step == 2 and subsidy.status.value == "pending"


def test_documents_are_checked_stored_privately_logged_and_go_with_the_case(
        app, login_as, session, tmp_path):
    from console.retention import RetentionSettings, enforce_retention

    app.config["ESS_ATTACHMENT_DIR"] = str(tmp_path / "files")
    case, worker = planned_case(login_as, session)
    sub = worker.post(f"/api/cases/{case.id}/subsidies", json=GOOD).json
    url = f"/api/cases/{case.id}/subsidies/{sub['id']}/documents"

    def upload(data: bytes, name: str = "doc.png"):
        return worker.post(url, data={"file": (io.BytesIO(data), name), "title": "สำเนาบัตร"},
                           content_type="multipart/form-data")

    fake = upload(b"MZ\x90\x00 not a document", "virus.pdf")
    assert fake.status_code == 422 and "file" in fake.json["fields"]
    app.config["SUBSIDY_DOC_MAX_BYTES"] = 2048
    big = upload(b"%PDF-1.4\n" + b"0" * 3000, "big.pdf")
    assert big.status_code in (413, 422)
    assert count(session, SubsidyDocument) == 0
    ok = upload(png_bytes())
    assert ok.status_code == 201, ok.json
    pdf = upload(b"%PDF-1.4\n%%EOF\n", "letter.pdf")
    assert pdf.status_code == 201 and pdf.json["content_type"] == "application/pdf"
    doc = session.get(SubsidyDocument, ok.json["id"])
    assert (tmp_path / "files" / doc.stored_name).is_file() and "." not in doc.stored_name
    got = worker.get(f"{url}/{doc.id}")
    assert got.status_code == 200 and got.data.startswith(b"\x89PNG")
    assert got.headers["Cache-Control"] == "no-store"
    assert count(session, AuditLog, AuditLog.action == "read.subsidy_document") == 1
    assert login_as("dispatcher").get(f"{url}/{doc.id}").status_code == 403
    # Retention: the closed case's subsidy keeps its amount; reason and documents go.
    assert worker.post(f"/api/cases/{case.id}/move", json={
        "to": "closed", "reason": "ย้ายออก", "with_open_actions": True}).status_code == 200
    later = utcnow() + timedelta(days=3651)
    enforce_retention(session=session, now=later, settings=RetentionSettings(cases_days=3650))
    files = session.info.pop("retention_files", [])
    session.commit()
    assert doc.stored_name in files
    session.expire_all()
    subsidy = session.get(Subsidy, sub["id"])
    assert subsidy.reason == "" and subsidy.amount_satang == 150050 and subsidy.documents == []


def test_totals_per_month_province_and_budget_line_with_csv(app, login_as, session):
    case, worker = planned_case(login_as, session)
    for amount, line in (("1000", "emergency_relief"), ("2500", "emergency_relief"),
                         ("700", "elderly")):
        assert worker.post(f"/api/cases/{case.id}/subsidies", json=GOOD | {
            "amount": amount, "budget_line": line}).status_code == 201
    case_page = worker.get(f"/desk/cases/{case.id}").get_data(as_text=True)
    assert 'data-testid="subsidies"' in case_page and "fact-finding.pdf" in case_page
    supervisor = login_as("supervisor")
    page = supervisor.get("/desk/subsidies")
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and "3,500.00" in text and "700.00" in text
    csv = supervisor.get("/desk/subsidies/totals.csv")
    body = csv.get_data(as_text=True)
    assert csv.status_code == 200 and csv.mimetype == "text/csv"
    lines = body.lstrip("\ufeff").strip().splitlines()
    assert len(lines) == 3 and any("3500.00" in line and "พิษณุโลก" in line for line in lines)
    assert worker.get("/desk/subsidies").status_code == 403  # supervisors' desk
    assert 'data-testid="subsidies-link"' in supervisor.get("/desk/cases").get_data(as_text=True)
    assert 'data-testid="subsidies-link"' not in worker.get("/desk/cases").get_data(as_text=True)
    # Chiang Mai's view has none of Phitsanulok's money.
    cm = login_as("cm.dispatcher").get("/desk/subsidies/totals.csv")
    assert cm.status_code == 403


@pytest.fixture
def filled_case(login_as, session):
    """A case with every field of the fact-finding filled, far past what the form holds."""
    long = "ครอบครัวมีรายได้ไม่แน่นอน ผู้สูงอายุป่วยติดเตียง ต้องการผ้าอ้อมผู้ใหญ่ " * 40
    case, worker = planned_case(login_as, session, summary=long[:3000])
    scores = {d: {"score": 2, "reason": long[:1000]} for d in (
        "safety", "health", "food_income", "shelter", "family_care", "education_work")}
    body = full_assessment(problem="ปัญหาหลัก: " + long[:3900], living_conditions=long[:3900],
                           income_debts=long[:3900], health=long[:3900],
                           education=long[:3900], safety_risks=long[:3900],
                           needs=long[:3900], scores=scores)
    assert worker.put(f"/api/cases/{case.id}/assessment", json=body).status_code == 200
    assert worker.post(f"/api/cases/{case.id}/people", json={
        "role": "client", "full_name": "นางบัวผัน ศรีสุข", "no_id_reason": "not_given",
        "phone": "081-234-5678"}).status_code == 201
    return case, worker


@pytest.mark.parametrize("backend", ["sqlite"])  # the PDF does not depend on the database
def test_the_fact_finding_prints_as_two_thai_a4_pages(app, login_as, session, filled_case):
    from pypdf import PdfReader

    case, worker = filled_case
    resp = worker.get(f"/api/cases/{case.id}/fact-finding.pdf")
    assert resp.status_code == 200 and resp.mimetype == "application/pdf"
    reader = PdfReader(io.BytesIO(resp.data))
    assert len(reader.pages) == 2
    width, height = (float(v) for v in reader.pages[0].mediabox.upper_right)
    assert (round(width), round(height)) == (595, 842)  # A4 in points
    # NOTE: HarfBuzz splits สระอำ into two glyphs; the second maps to a control character in
    # the text layer, which a reader strips like any other invisible character.
    text = "".join(ch for page in reader.pages for ch in page.extract_text()
                   if ch.isprintable() or ch == "\n")
    for words in ("แบบสอบข้อเท็จจริง", "นางบัวผัน ศรีสุข", "ปัญหาหลัก: ครอบครัวมีรายได้ไม่แน่นอน",
                  "ผู้สูงอายุป่วยติดเตียง", "ดูฉบับเต็มในระบบ", "ระดับความเสี่ยง",
                  case.ref):
        assert words in text, words
    assert count(session, AuditLog, AuditLog.action == "read.fact_finding_pdf") == 1
    assert login_as("dispatcher").get(
        f"/api/cases/{case.id}/fact-finding.pdf").status_code == 403


@pytest.mark.parametrize("backend", ["sqlite"])  # the chain itself runs on both above
def test_a_province_sets_its_own_chain_and_budget_lines(app, login_as, session, db_url,
                                                        monkeypatch, capsys):
    from console.cli import main

    monkeypatch.setenv("DATABASE_URL", db_url)
    assert main(["subsidy-levels", "65", "head:หัวหน้ากลุ่มงาน:Group head"]) == 0
    assert main(["subsidy-budget-lines", "65", "orphans:เงินอุดหนุนเด็กกำพร้า:Orphans"]) == 0
    assert main(["subsidy-approver", "grant", "pmj", "65", "nobody_level"]) == 1
    assert main(["subsidy-approver", "grant", "pmj", "65", "head"]) == 0
    assert main(["subsidy-levels", "65", "Bad Code!"]) == 1
    assert "65: head" in capsys.readouterr().out
    case, worker = planned_case(login_as, session)
    url = f"/api/cases/{case.id}/subsidies"
    assert worker.post(url, json=GOOD).status_code == 422  # not a line of this province now
    made = worker.post(url, json=GOOD | {"budget_line": "orphans"})
    assert made.status_code == 201 and made.json["levels"] == ["head"]
    pmj = login_as("pmj")
    assert "หัวหน้ากลุ่มงาน" in pmj.get("/desk/subsidies").get_data(as_text=True)
    done = pmj.post(f"{url}/{made.json['id']}/approve", json={"version": made.json["version"]})
    assert done.status_code == 200 and done.json["status"] == "approved"  # one level only
    assert "เงินอุดหนุนเด็กกำพร้า" in pmj.get("/desk/subsidies").get_data(as_text=True)
    assert main(["subsidy-approver", "revoke", "pmj", "65", "head"]) == 0
    assert count(session, SubsidyApprover, SubsidyApprover.level_code == "head") == 0
    assert count(session, AuditLog, AuditLog.action.in_(
        ("subsidy.levels_set", "subsidy.budget_lines_set", "subsidy.level_granted",
         "subsidy.level_revoked"))) == 4


def test_the_settings_desk_edits_chain_holders_and_lines_at_once(app, login_as, session):
    """The desk (supervisor of the province, admin) sees and sets the chain in order, who
    approves at each level and the budget lines; a wrong field is named and nothing is saved;
    a stale screen is refused; every change is audited; the chain is then followed."""
    supervisor, worker, admin = login_as("supervisor"), login_as("caseworker"), login_as("admin")
    url = "/api/cases/subsidy-settings/65"
    assert worker.get(url).status_code == 403
    assert supervisor.get("/api/cases/subsidy-settings/50").status_code == 403
    assert "subsidy-settings" in supervisor.get("/desk/subsidies/settings").get_data(as_text=True)
    seen = supervisor.get(url).json
    assert [lv["code"] for lv in seen["levels"]] == ["team_head", "provincial_office"]
    ids = {c["name"]: c["id"] for c in seen["candidates"]}
    me = session.scalar(select(User.id).where(User.username == "supervisor"))
    pmj = session.scalar(select(User.id).where(User.username == "pmj"))
    wid = session.scalar(select(User.id).where(User.username == "caseworker"))
    assert {me, pmj, wid} <= set(ids.values())
    assert seen["approvers"] == {"team_head": [me], "provincial_office": [pmj]}
    audits = count(session, AuditLog, AuditLog.action.like("subsidy.%"))
    bad = supervisor.put(url, json={
        "version": seen["version"],
        "levels": [{"code": "Head!", "name_th": "", "name_en": ""},
                   {"code": "provincial_office", "name_th": "", "name_en": ""},
                   {"code": "provincial_office", "name_th": "x", "name_en": ""},
                   {"code": "director", "name_th": "", "name_en": ""}],
        "budget_lines": [],
        "approvers": {"provincial_office": [pmj], "director": [999999]}})
    assert bad.status_code == 422
    fields = bad.json["fields"]
    assert {"levels.0.code", "levels.2.code", "levels.3.name_th", "budget_lines",
            "approvers.0", "approvers.3"} <= set(fields), fields
    assert "ภาษาไทย" in fields["levels.3.name_th"] or "ชื่อ" in fields["levels.3.name_th"]
    assert count(session, AuditLog, AuditLog.action.like("subsidy.%")) == audits  # nothing saved
    body = {"version": seen["version"],
            "levels": [{"code": "provincial_office", "name_th": "", "name_en": ""},
                       {"code": "director", "name_th": "ผู้อำนวยการ", "name_en": "Director"}],
            "budget_lines": [{"code": "orphans", "name_th": "เงินอุดหนุนเด็กกำพร้า",
                              "name_en": "Orphans"}],
            "approvers": {"provincial_office": [pmj, wid], "director": [me]}}
    saved = admin.put(url, json=body)
    assert saved.status_code == 200, saved.json
    assert [lv["code"] for lv in saved.json["levels"]] == ["provincial_office", "director"]
    assert saved.json["approvers"] == {"provincial_office": sorted([pmj, wid]),
                                       "director": [me]}
    stale = supervisor.put(url, json=body)  # the screen still shows the old version
    assert stale.status_code == 409
    actions = list(session.scalars(select(AuditLog.action).where(
        AuditLog.action.like("subsidy.%")).order_by(AuditLog.id)))[audits:]
    assert sorted(actions) == sorted(["subsidy.levels_set", "subsidy.budget_lines_set",
                                      "subsidy.level_revoked", "subsidy.level_granted",
                                      "subsidy.level_granted"])
    # The chain is followed: the worker asks, so the other holder of the first level decides.
    case, worker = planned_case(login_as, session)
    made = worker.post(f"/api/cases/{case.id}/subsidies",
                       json=GOOD | {"budget_line": "orphans"})
    assert made.status_code == 201 and made.json["levels"] == ["provincial_office", "director"]
    # A level requests still wait on cannot be removed.
    now = supervisor.get(url).json
    gone = supervisor.put(url, json=body | {"version": now["version"], "levels": body["levels"][:1],
                                            "approvers": {"provincial_office": [pmj]}})
    assert gone.status_code == 422 and "levels" in gone.json["fields"]
    first = login_as("pmj").post(f"/api/cases/{case.id}/subsidies/{made.json['id']}/approve",
                                 json={"version": made.json["version"]})
    assert first.status_code == 200 and first.json["level"] == "director"
