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

    # With an incident: the version and the agency referred to alongside are kept.
    body = incident_body(script_version_id=script.id, referral_agency_id=office.id)
    resp = taker.post("/api/calls", json=body)
    assert resp.status_code == 201, resp.json
    session.expire_all()
    call = session.get(Call, resp.json["call_id"])
    assert (call.script_version_id, call.agency_id) == (script.id, office.id)


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
