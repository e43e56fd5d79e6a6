"""Guided intake (issue 14): each intake category's script (questions, rights and benefits to
explain) is kept by national administrators and versioned (saving makes a new version, earlier
ones stay read-only, each change audited); a call keeps the version it was taken with (an
unknown version is refused on its field, nothing written); the call-taker desk's panel shows
the current script and the directory's agencies serving the caller's area, for the
call-takers and supervisors of that province only; a referral recorded at intake opens a case."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from admin.models import IntakeScript
from cases.enums import AgencyKind
from cases.models import Agency, Case
from console.models import AuditLog
from telephony.models import Call
from tests.conftest import incident_body

pytestmark = pytest.mark.usefixtures("backend")

SCRIPT = {"questions_th": "1. ผู้ประสบปัญหาอายุเท่าใด\n\n- อยู่กับผู้ใด",
          "questions_en": "How old is the person?\nWho are they with?",
          "rights_th": "ขอรับเงินสงเคราะห์ได้ที่ สนง.พมจ.", "rights_en": "", "note": "ฉบับทดลอง"}


def count(session, model, *where) -> int:
    session.expire_all()
    return session.scalar(select(func.count()).select_from(model).where(*where))


def current(session, category: str) -> IntakeScript:
    session.expire_all()
    return session.scalar(select(IntakeScript).where(IntakeScript.category == category)
                          .order_by(IntakeScript.version.desc()).limit(1))


JSON = {"Accept": "application/json"}


def guide(client, query: str):
    """The call-taker desk panel's request (as its script sends it: JSON)."""
    return client.get(f"/admin/api/intake-guide?{query}", headers=JSON)


def test_saving_a_script_makes_a_new_version_and_keeps_the_old_one(app, session, login_as):
    admin = login_as("admin")
    before = current(session, "children")  # the demo's version 1
    assert before is not None and before.version == 1
    old_questions = list(before.questions_th)

    resp = admin.post("/admin/intake-scripts/children", json=SCRIPT, headers=JSON)
    assert resp.status_code == 201, resp.json
    made = resp.json["script"]
    assert made["version"] == 2 and made["questions_th"] == ["ผู้ประสบปัญหาอายุเท่าใด",
                                                             "อยู่กับผู้ใด"]
    assert made["created_by"] and made["note"] == "ฉบับทดลอง"
    # The first version is untouched, still readable on its own (read-only) page.
    session.expire_all()
    assert session.get(IntakeScript, before.id).questions_th == old_questions
    page = admin.get("/admin/intake-scripts/children?version=1").get_data(as_text=True)
    assert old_questions[0] in page and 'data-testid="shown-version"' in page
    listing = admin.get("/admin/intake-scripts/children", headers=JSON).json
    assert [v["version"] for v in listing["versions"]] == [2, 1]
    audit = session.scalar(select(AuditLog).where(AuditLog.action == "intake_script.created"))
    assert audit.entity_id == made["id"] and audit.detail["version"] == 2
    assert set(audit.detail["changed"]) == {"questions_th", "questions_en", "rights_th",
                                           "rights_en"}

    # The same text again makes no version; the form (page) saves one and redirects.
    again = admin.post("/admin/intake-scripts/children", json=SCRIPT, headers=JSON)
    assert again.status_code == 200 and again.json["created"] is False
    resp = admin.post("/admin/intake-scripts/children",
                      data={**SCRIPT, "rights_en": "Relief subsidy at the provincial office.",
                            "base_version": "2", "csrf_token": admin.token})
    assert resp.status_code == 302 and "saved=1" in resp.headers["Location"]
    assert current(session, "children").version == 3
    assert count(session, IntakeScript, IntakeScript.category == "children") == 3
    # A category without a script gets its first version.
    assert admin.post("/admin/intake-scripts/labour", json=SCRIPT,
                      headers=JSON).json["script"]["version"] == 1
    overview = admin.get("/admin/intake-scripts").get_data(as_text=True)
    assert 'data-testid="script-labour"' in overview
    # The categories page links to the scripts.
    assert "/admin/intake-scripts" in admin.get("/admin/categories").get_data(as_text=True)


def test_a_bad_script_is_refused_per_field_and_nothing_is_written(app, session, login_as):
    admin = login_as("admin")
    admin.http.set_cookie("lang", "th")
    n = count(session, IntakeScript)
    resp = admin.post("/admin/intake-scripts/elderly",
                      json={**SCRIPT, "questions_th": "  \n ", "rights_th": ["x" * 401]},
                      headers=JSON)
    assert resp.status_code == 422
    fields = resp.json["fields"]
    assert "กรุณา" in fields["questions_th"] or "คำถาม" in fields["questions_th"]
    assert "rights_th" in fields
    # The form shows the messages beside the fields and keeps what was typed.
    page = admin.post("/admin/intake-scripts/elderly",
                      data={**SCRIPT, "questions_th": "", "csrf_token": admin.token})
    assert page.status_code == 422
    text = page.get_data(as_text=True)
    assert 'data-testid="error-questions_th"' in text and "ขอรับเงินสงเคราะห์ได้ที่" in text
    # A stale form (someone saved meanwhile) and a field the script does not have.
    stale = admin.post("/admin/intake-scripts/elderly", json={**SCRIPT, "base_version": 0},
                       headers=JSON)
    assert stale.status_code == 409
    extra = admin.post("/admin/intake-scripts/elderly", json={**SCRIPT, "province": "65"},
                       headers=JSON)
    assert extra.status_code == 422 and "province" in extra.json["fields"]
    assert admin.post("/admin/intake-scripts/nonsense", json=SCRIPT,
                      headers=JSON).status_code == 404
    # Only national administrators change scripts.
    sup = login_as("supervisor")
    assert sup.post("/admin/intake-scripts/elderly", json=SCRIPT,
                    headers=JSON).status_code == 403
    assert count(session, IntakeScript) == n
    assert count(session, AuditLog, AuditLog.action == "intake_script.created") == 0


def test_the_call_keeps_the_script_version_used_and_a_referral_opens_a_case(
        app, session, login_as):
    taker = login_as("calltaker")
    script = current(session, "welfare_request")
    office = session.scalar(select(Agency).where(Agency.name_en == "Phitsanulok MSDHS office"))
    resp = taker.post("/api/calls", json={
        "action": "close", "number": "081-234-5678", "summary": "ขอรับเงินสงเคราะห์",
        "outcome": "referred_elsewhere", "agency_id": office.id,
        "script_version_id": script.id})
    assert resp.status_code == 201, resp.json
    session.expire_all()
    call = session.get(Call, resp.json["call_id"])
    assert (call.script_version_id, call.agency_id, call.outcome.value) == (
        script.id, office.id, "referred_elsewhere")
    case = session.scalar(select(Case).where(Case.call_id == call.id))
    # The case workflow follows the referral up, under the problem of the script followed.
    assert case is not None and case.category == "welfare_request"

    # A new version later does not change what the call was taken with.
    login_as("admin").post("/admin/intake-scripts/welfare_request", json=SCRIPT, headers=JSON)
    session.expire_all()
    assert session.get(Call, call.id).script_version_id == script.id

    # With an incident: the version (of the incident's category) and the agency referred to
    # alongside are kept.
    children = current(session, "children")
    body = incident_body(script_version_id=children.id, referral_agency_id=office.id)
    resp = taker.post("/api/calls", json=body)
    assert resp.status_code == 201, resp.json
    session.expire_all()
    call = session.get(Call, resp.json["call_id"])
    assert (call.script_version_id, call.agency_id) == (children.id, office.id)


def test_an_unknown_script_version_is_a_field_error_and_nothing_is_written(
        app, session, login_as):
    taker = login_as("calltaker")
    taker.http.set_cookie("lang", "th")
    calls, cases = count(session, Call), count(session, Case)
    for bad, status in ((999999, 422), ("12", 422), (0, 422)):
        resp = taker.post("/api/calls", json={
            "action": "close", "summary": "ถามสิทธิ", "outcome": "needs_follow_up",
            "script_version_id": bad})
        assert resp.status_code == status, (bad, resp.json)
        assert "script_version_id" in resp.json["fields"], resp.json
    resp = taker.post("/api/calls", json=incident_body(script_version_id=999999))
    assert resp.status_code == 422 and "กรุณา" in resp.json["fields"]["script_version_id"]
    assert (count(session, Call), count(session, Case)) == (calls, cases)


def _agency(session, code, name, province=None, districts=(), services=("children",),
            **kw) -> Agency:
    agency = Agency(code=code, name_th=name, name_en=f"{name} (en)", kind=AgencyKind.OTHER,
                    province_code=province, districts=list(districts), services=list(services),
                    phone="+6655111222", hours="จ.–ศ. 08.30–16.30 น.", **kw)
    session.add(agency)
    session.commit()
    return agency


def test_the_panel_shows_the_script_and_the_agencies_of_the_callers_area(
        app, session, login_as):
    here = _agency(session, "T-HERE", "ก หน่วยอำเภอเมือง", "65", ["6501"])
    _agency(session, "T-OTHER", "ข หน่วยอำเภออื่น", "65", ["6502"])
    national = _agency(session, "T-NAT", "ค หน่วยทั่วประเทศ")
    _agency(session, "T-CM", "ง หน่วยเชียงใหม่", "50")
    _agency(session, "T-OFF", "จ หน่วยที่เลิกแล้ว", "65", active=False)
    _agency(session, "T-ELD", "ฉ หน่วยผู้สูงอายุ", "65", services=("elderly",))
    office = session.scalar(select(Agency).where(Agency.name_en == "Phitsanulok MSDHS office"))

    taker = login_as("calltaker")
    taker.http.set_cookie("lang", "th")
    got = guide(taker, "category=children&province_code=65&district_code=6501").json
    assert got["script"]["version"] == 1 and got["script"]["questions"]
    assert got["script"]["id"] == current(session, "children").id
    names = [a["name"] for a in got["agencies"]]
    # The district's own first, then the province's, national ones last.
    assert names[0] == here.name_th and names[-1] == national.name_th
    assert office.name_th in names
    assert not {"ข หน่วยอำเภออื่น", "ง หน่วยเชียงใหม่", "จ หน่วยที่เลิกแล้ว",
                "ฉ หน่วยผู้สูงอายุ"} & set(names)
    first = got["agencies"][0]
    assert first["phones"][0] == {"tel": "+6655111222", "display": "055-111-222"}
    assert first["hours"] == "จ.–ศ. 08.30–16.30 น." and first["reach"] == "district"

    # Without a district: the province's and national ones (no district-only agency); the
    # user's province when none is given; English names and script in English.
    taker.http.set_cookie("lang", "en")
    got = guide(taker, "category=children").json
    names = [a["name"] for a in got["agencies"]]
    assert "Phitsanulok MSDHS office" in names and f"{here.name_th} (en)" not in names
    assert got["script"]["questions"][0].startswith("How old")
    # A category without a script: agencies only.
    assert guide(taker, "category=labour").json["script"] is None

    # Bad input: per field; another province: refused (a national call-taker may ask).
    bad = guide(taker, "category=nope&province_code=65")
    assert bad.status_code == 422 and "category" in bad.json["fields"]
    bad = guide(taker, "category=children&province_code=65&district_code=5001")
    assert bad.status_code == 422 and "district_code" in bad.json["fields"]
    assert guide(taker, "category=children&province_code=50").status_code == 403
    assert guide(login_as("admin"), "category=children&province_code=50").status_code == 200
    assert guide(login_as("dispatcher"), "category=children").status_code == 403


def test_the_demo_scripts_use_the_glossary_and_say_each_line_in_both_languages():
    from console.demo import INTAKE_SCRIPTS
    from tests.unit.test_glossary import glossary_breaches

    for category, content in INTAKE_SCRIPTS.items():
        for part in ("questions", "rights"):
            th, en = content[f"{part}_th"], content[f"{part}_en"]
            assert th and len(th) == len(en), (category, part)
            assert [glossary_breaches(line) for line in th if glossary_breaches(line)] == []


# --- categories switched off (issue 14 follow-up) -------------------------------------------

def _switch(admin, code: str, active: bool) -> None:
    from admin.models import CATEGORY_DEFAULTS

    th, en, prio = CATEGORY_DEFAULTS[code]
    resp = admin.post(f"/admin/categories/{code}", json={
        "code": code, "name_th": th, "name_en": en, "default_priority": prio,
        "active": active, "position": 7})
    assert resp.status_code == 200, resp.json


def test_a_switched_off_category_is_not_offered_and_a_save_with_it_is_refused(
        app, session, login_as):
    from telephony.models import CallScriptAnswer

    labour = current(session, "labour")
    admin = login_as("admin")
    if labour is None:
        admin.post("/admin/intake-scripts/labour", json=SCRIPT, headers=JSON)
        labour = current(session, "labour")
    _switch(admin, "labour", False)

    taker = login_as("calltaker")
    taker.http.set_cookie("lang", "th")
    page = taker.get("/desk/calls").get_data(as_text=True)
    panel = page[page.index('id="gi-category"'):]
    panel = panel[:panel.index("</select>")]
    assert 'value="children"' in panel and 'value="labour"' not in panel
    form = page[page.index('name="category"'):]
    assert 'value="labour"' not in form[:form.index("</select>")]

    counts = lambda: (count(session, Call), count(session, Case),  # noqa: E731
                      count(session, CallScriptAnswer))
    before = counts()
    resp = taker.post("/api/calls", json={
        "action": "close", "summary": "ถูกนายจ้างยึดบัตร", "outcome": "needs_follow_up",
        "script_version_id": labour.id, "script_answers": [{"question": 0}]})
    assert resp.status_code == 422, resp.json
    assert "ประเภทเรื่องนี้ยกเลิกการใช้งานแล้ว" in resp.json["fields"]["script_version_id"]
    body = incident_body()
    body["incident"]["category"] = "labour"
    resp = taker.post("/api/calls", json=body)
    assert resp.status_code == 422 and "incident.category" in resp.json["fields"], resp.json
    assert counts() == before
    # Switched on again: the same save goes through.
    _switch(admin, "labour", True)
    assert taker.post("/api/calls", json=body).status_code == 201


# --- the questions asked, kept with the call -------------------------------------------------

def test_the_questions_asked_are_kept_shown_on_the_incident_and_exported(
        app, session, login_as):
    from console.models import AuditLog as Log
    from dispatch.models import Incident
    from telephony.models import CallScriptAnswer

    script = current(session, "children")
    taker = login_as("calltaker")
    body = incident_body(number="086-555-0101", script_version_id=script.id, script_answers=[
        {"question": 2, "answer": "  อยู่กับยาย  "}, {"question": 0}])
    resp = taker.post("/api/calls", json=body)
    assert resp.status_code == 201, resp.json
    session.expire_all()
    call = session.get(Call, resp.json["call_id"])
    rows = [(a.script_version_id, a.question_index, a.answer) for a in call.script_answers]
    assert rows == [(script.id, 0, ""), (script.id, 2, "อยู่กับยาย")]
    incident_id = resp.json["incident"]["id"]
    assert session.get(Incident, incident_id).call_id == call.id

    # The incident page shows them (Thai) to the province's dispatcher, read logged.
    dispatcher = login_as("dispatcher")
    dispatcher.http.set_cookie("lang", "th")
    page = dispatcher.get(f"/desk/incidents/{incident_id}").get_data(as_text=True)
    shown = page[page.index('data-testid="intake-answers"'):]
    shown = shown[:shown.index("</ol>")]
    assert script.questions_th[0] in shown and script.questions_th[2] in shown
    assert "อยู่กับยาย" in shown and script.questions_th[1] not in shown
    assert "ถามแล้ว ไม่ได้บันทึกคำตอบ" in shown
    assert 'data-testid="intake-script"' in page
    log = session.scalar(select(Log).where(Log.action == "read.intake_answers",
                                           Log.entity_id == incident_id))
    assert log is not None
    # Another province's desk does not see the incident at all.
    assert login_as("cm.dispatcher").get(f"/desk/incidents/{incident_id}").status_code in (
        403, 404)
    # An incident whose call recorded no questions shows no such section.
    plain = taker.post("/api/calls", json=incident_body(number="086-555-0102")).json
    page = dispatcher.get(f"/desk/incidents/{plain['incident']['id']}").get_data(as_text=True)
    assert 'data-testid="intake-answers"' not in page

    # The PDPA export of the number carries them with the call.
    import json

    resp = login_as("supervisor").get("/desk/pdpa/export",
                                      query_string={"phone": "0865550101"})
    assert resp.status_code == 200
    exported = json.loads(resp.data)["calls"]
    answers = next(c for c in exported if c["id"] == call.id)["intake_answers"]
    assert [(a["question_index"], a["answer"], a["version"]) for a in answers] == [
        (0, "", script.version), (2, "อยู่กับยาย", script.version)]
    assert answers[1]["question"] == script.questions_th[2]
    assert count(session, CallScriptAnswer) == 2


def test_bad_questions_or_a_script_of_another_category_change_nothing(app, session, login_as):
    from telephony.models import CallScriptAnswer

    children, elderly = current(session, "children"), current(session, "elderly")
    taker = login_as("calltaker")
    taker.http.set_cookie("lang", "th")
    before = (count(session, Call), count(session, Case), count(session, CallScriptAnswer))
    n = max(len(children.questions_th), len(children.questions_en))
    cases = [
        (incident_body(script_version_id=children.id, script_answers=[{"question": n}]),
         "script_answers", "ไม่พบคำถามนี้"),
        (incident_body(script_version_id=children.id,
                       script_answers=[{"question": 0}, {"question": 0, "answer": "x"}]),
         "script_answers", "เพียงครั้งเดียว"),
        (incident_body(script_answers=[{"question": 0}]), "script_answers", "แนวคำถาม"),
        (incident_body(script_version_id=children.id,
                       script_answers=[{"question": "0"}]), "script_answers.0.question", ""),
        (incident_body(script_version_id=children.id,
                       script_answers=[{"question": 0, "answer": "ก" * 301}]),
         "script_answers.0.answer", ""),
        (incident_body(script_version_id=elderly.id, script_answers=[{"question": 0}]),
         "script_version_id", "ไม่ตรงกับประเภท"),
        ({"action": "close", "summary": "ถามสิทธิ", "outcome": "needs_follow_up",
          "script_version_id": children.id, "script_answers": [{"question": -1}]},
         "script_answers.0.question", ""),
        ({"action": "close", "summary": "ถามสิทธิ", "outcome": "needs_follow_up",
          "script_version_id": children.id, "script_answers": [{"question": 99}]},
         "script_answers", "ไม่พบคำถามนี้"),
    ]
    for body, field, words in cases:
        resp = taker.post("/api/calls", json=body)
        assert resp.status_code == 422, (body, resp.json)
        assert field in resp.json["fields"], (field, resp.json)
        assert words in resp.json["fields"][field], resp.json
    assert (count(session, Call), count(session, Case),
            count(session, CallScriptAnswer)) == before


# --- a referral at intake opens a case -------------------------------------------------------

def test_a_referral_at_intake_opens_a_case_with_the_referral_through_a_domain_event(
        app, session, login_as):
    from cases import referrals
    from cases.models import CaseTimelineEntry, Referral
    from console import domain_events

    assert referrals.on_call_referred in domain_events.subscribers(domain_events.CALL_REFERRED)
    oscc = session.scalar(select(Agency).where(Agency.name_en == "OSCC Buddhachinaraj Hospital"))
    office = session.scalar(select(Agency).where(Agency.name_en == "Phitsanulok MSDHS office"))
    script = current(session, "welfare_request")
    taker = login_as("calltaker")
    resp = taker.post("/api/calls", json={
        "action": "close", "number": "087-777-1212", "summary": "ขอรับเงินสงเคราะห์บุตร",
        "outcome": "referred_elsewhere", "agency_id": oscc.id, "script_version_id": script.id,
        "script_answers": [{"question": 1, "answer": "ลูก 2 คน"}]})
    assert resp.status_code == 201, resp.json
    session.expire_all()
    case = session.scalar(select(Case).where(Case.call_id == resp.json["call_id"]))
    assert case is not None and (case.category, case.province_code) == ("welfare_request", "65")
    [referral] = case.referrals
    assert (referral.agency_id, referral.status.value) == (oscc.id, "sent")
    assert referral.shared["case_ref"] == case.ref and referral.shared["at_intake"] is True
    assert "client_name" not in referral.shared and "phone" not in referral.shared
    kinds = [e.kind for e in case.timeline]
    assert kinds[:2] == ["opened", "referral_sent"]
    audit = session.scalar(select(AuditLog).where(AuditLog.action == "referral.sent",
                                                  AuditLog.entity_id == case.id))
    assert audit.detail["at_intake"] is True and audit.detail["call_id"] == case.call_id

    # The case desk lists the case; the agency's user sees the referral in their list.
    listed = login_as("caseworker").get("/api/cases?view=all").json
    rows = listed["items"]
    assert case.id in [c["id"] for c in rows]
    mine = login_as("oscc").get("/api/agency/referrals").json
    assert referral.id in [r["id"] for r in mine]

    # The case page shows the case worker what the caller was asked and said (read logged).
    page = login_as("caseworker").get(f"/desk/cases/{case.id}").get_data(as_text=True)
    shown = page[page.index('data-testid="intake-answers"'):]
    assert "ลูก 2 คน" in shown[:shown.index("</ol>")]
    assert session.scalar(select(AuditLog).where(AuditLog.action == "read.case_intake_answers",
                                                 AuditLog.entity_id == case.id)) is not None

    # Their next call's screen pop shows that case as the caller's open case (a case opened
    # by a call has no incident: it is theirs through the call).
    from telephony.service import caller_context

    ctx = caller_context(session=session, number="+66877771212")
    assert [c.id for c in ctx.open_cases] == [case.id]

    # The same person calls again and is referred elsewhere: the referral joins their open
    # case (no second case), with a line about the call.
    resp = taker.post("/api/calls", json={
        "action": "close", "number": "0877771212", "summary": "ขอรับเงินสงเคราะห์อีกครั้ง",
        "outcome": "referred_elsewhere", "agency_id": office.id})
    assert resp.status_code == 201, resp.json
    session.expire_all()
    assert session.scalar(select(Case).where(Case.call_id == resp.json["call_id"])) is None
    case = session.get(Case, case.id)
    assert sorted(r.agency_id for r in case.referrals) == sorted([oscc.id, office.id])
    joined = session.scalar(select(CaseTimelineEntry).where(
        CaseTimelineEntry.case_id == case.id, CaseTimelineEntry.kind == "intake_call"))
    assert joined.detail["call_id"] == resp.json["call_id"]

    # A call that also opened an incident, from a new number: a case for follow-up with the
    # incident; when the incident is resolved, its record joins that case (not a second one).
    resp = taker.post("/api/calls", json=incident_body(
        number="088-123-4545", referral_agency_id=oscc.id))
    assert resp.status_code == 201, resp.json
    incident_id = resp.json["incident"]["id"]
    session.expire_all()
    case2 = session.scalar(select(Case).where(Case.incident_id == incident_id))
    assert case2 is not None and case2.call_id == resp.json["call_id"]
    assert case2.category == "children" and [r.agency_id for r in case2.referrals] == [oscc.id]
    n_cases = count(session, Case)
    _resolve(login_as, session, incident_id)
    session.expire_all()
    assert count(session, Case) == n_cases
    case2 = session.get(Case, case2.id)
    assert "incident_joined" in [e.kind for e in case2.timeline]
    assert any(e.source == "incident" for e in case2.timeline) and case2.people
    assert count(session, Referral, Referral.case_id == case2.id) == 1


def _resolve(login_as, session, incident_id: int) -> None:
    """The team resolves the incident through the desks (dispatch announces incident.resolved)."""
    from dispatch.models import Team

    team = session.scalar(select(Team.id).where(Team.code == "PSL-1"))
    assert login_as("dispatcher").post(f"/api/incidents/{incident_id}/assign",
                                       json={"team_id": team}).status_code == 200
    member = login_as("team1")
    for step in ("acknowledge", "en-route", "on-scene", "resolve"):
        resp = member.post(f"/api/incidents/{incident_id}/steps/{step}", json={"note": ""})
        assert resp.status_code == 200, (step, resp.json)


def test_a_bad_referral_at_intake_opens_no_case(app, session, login_as):
    from cases.models import Referral

    taker = login_as("calltaker")
    before = (count(session, Call), count(session, Case), count(session, Referral))
    for body, field in (
            ({"action": "close", "number": "087-000-1111", "summary": "ส่งต่อ",
              "outcome": "referred_elsewhere", "agency_id": 999999}, "agency_id"),
            ({"action": "close", "number": "087-000-1111", "summary": "ส่งต่อ",
              "outcome": "referred_elsewhere"}, "agency_id"),
            (incident_body(referral_agency_id=999999), "referral_agency_id")):
        resp = taker.post("/api/calls", json=body)
        assert resp.status_code == 422 and field in resp.json["fields"], resp.json
    assert (count(session, Call), count(session, Case), count(session, Referral)) == before


def test_erasing_the_person_erases_their_answers_and_keeps_which_questions(
        app, session, login_as):
    from telephony.models import CallScriptAnswer

    script = current(session, "welfare_request")
    resp = login_as("calltaker").post("/api/calls", json={
        "action": "close", "number": "086-444-3131", "summary": "ถามสิทธิเบี้ยยังชีพ",
        "outcome": "advice_given", "script_version_id": script.id,
        "script_answers": [{"question": 0, "answer": "นายสมชาย อายุ 61 ปี"}]})
    assert resp.status_code == 201, resp.json
    done = login_as("supervisor").post("/desk/pdpa/erase", json={
        "phone": "0864443131", "reason": "หนังสือขอลบ", "confirm": True})
    assert done.status_code == 200, done.json
    session.expire_all()
    row = session.scalar(select(CallScriptAnswer).where(
        CallScriptAnswer.call_id == resp.json["call_id"]))
    assert (row.question_index, row.answer) == (0, "")
