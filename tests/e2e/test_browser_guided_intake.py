"""In Chromium, in Thai: the call-taker chooses a category and the guided-intake panel shows its
script (questions as a checklist, rights and benefits to explain) and the agencies serving the
caller's area with their phones and hours; one click refers the caller to an agency, and the
saved call keeps the agency, the script version and the questions asked with their short
answers, and opens a case for follow-up with the referral in it, shown on the case desk. The
administrator's script page saves a new version that the desk then shows."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from admin.models import IntakeScript
from cases.models import Agency, Case
from console.db import make_engine, make_sessionmaker
from telephony.models import Call
from tests.e2e.test_browser_path import browser, live_server, open_desk  # noqa: F401

pytestmark = pytest.mark.browser


def test_guided_intake_with_a_referral(browser, live_server, served_db):  # noqa: F811
    engine = make_engine(served_db)
    session = make_sessionmaker(engine)()
    try:
        office = session.scalar(select(Agency).where(
            Agency.name_en == "Phitsanulok MSDHS office"))
        script = session.scalar(select(IntakeScript).where(
            IntakeScript.category == "welfare_request"))
        office_id, office_name, script_id = office.id, office.name_th, script.id
    finally:
        session.close()

    calls = open_desk(browser, live_server, "calltaker", "/desk/calls")
    calls.fill("[data-testid=number]", "089-111-2233")
    calls.fill("[data-testid=summary]", "ผู้โทรตกงาน ขอรับเงินสงเคราะห์สำหรับบุตร")
    # The district of the caller (the province is the call-taker's, preselected).
    calls.wait_for_selector("[data-testid=district] option[value='6501']", state="attached")
    calls.select_option("[data-testid=district]", "6501")
    calls.select_option("[data-testid=category]", "welfare_request")

    calls.wait_for_selector("[data-testid=gi-questions] li")
    assert calls.input_value("[data-testid=gi-category]") == "welfare_request"
    questions = calls.locator("[data-testid=gi-questions] li")
    assert questions.count() == 5 and "กรุณาสอบถามชื่อ" in questions.first.inner_text()
    assert "เงินสงเคราะห์" in calls.inner_text("[data-testid=gi-rights]")
    assert "1" in calls.inner_text("[data-testid=gi-version]")
    calls.check("[data-testid=gi-question-0]")
    # A short answer to the second question ticks it too.
    calls.fill("[data-testid=gi-answer-1]", "ลูก 2 คน อายุ 3 และ 6 ขวบ")
    assert calls.is_checked("[data-testid=gi-question-1]")
    # The caller's district is also on the panel (the place fields hide when closing at intake).
    calls.wait_for_function("() => document.querySelector('[data-testid=gi-district]').value "
                            "=== '6501'")

    agency = calls.locator(f"[data-testid=gi-agency-{office_id}]")
    agency.wait_for()
    text = agency.inner_text()
    assert office_name in text and "08.30–16.30 น." in text and "055-245-054" in text
    assert agency.locator("a[href='tel:+6655245054']").count() == 1
    # Only agencies serving this problem in this area: not the police, not Chiang Mai's.
    listed = calls.inner_text("[data-testid=gi-agencies]")
    assert "สถานีตำรวจ" not in listed and "เชียงใหม่" not in listed

    calls.click(f"[data-testid=gi-refer-{office_id}]")
    assert calls.is_checked("[data-testid=action-close]")
    assert calls.input_value("[data-testid=outcome]") == "referred_elsewhere"
    assert calls.input_value("select[name=agency_id]") == str(office_id)
    assert office_name in calls.inner_text("[data-testid=gi-referral]")
    calls.select_option("[data-testid=gi-district]", "6502")
    assert calls.input_value("[data-testid=district]") == "6502"
    calls.wait_for_selector(f"[data-testid=gi-agency-{office_id}].gi-chosen")

    calls.click("[data-testid=submit-call]")
    calls.wait_for_selector("#form-message.ok")
    # The panel starts again for the next call.
    calls.wait_for_selector("[data-testid=gi-referral]", state="hidden")
    assert calls.input_value("[data-testid=gi-category]") == ""

    session = make_sessionmaker(engine)()
    try:
        call = session.scalar(select(Call).where(Call.number == "+66891112233"))
        assert (call.outcome.value, call.agency_id, call.script_version_id) == (
            "referred_elsewhere", office_id, script_id)
        asked = [(a.script_version_id, a.question_index, a.answer) for a in call.script_answers]
        assert asked == [(script_id, 0, ""), (script_id, 1, "ลูก 2 คน อายุ 3 และ 6 ขวบ")]
        case = session.scalar(select(Case).where(Case.call_id == call.id))
        assert case is not None and [r.agency_id for r in case.referrals] == [office_id]
        case_id, case_ref = case.id, case.ref
    finally:
        session.close()

    # The case is opened for follow-up: on the case desk, with the referral to the agency.
    desk = open_desk(browser, live_server, "caseworker", "/desk/cases")
    row = desk.locator(f"tr[data-case-id='{case_id}']")
    row.wait_for()
    assert case_ref in row.inner_text()
    row.locator("a").click()
    desk.wait_for_selector("[data-testid=referrals]")
    referrals = desk.inner_text("[data-testid=referrals]")
    assert office_name in referrals

    # The administrator saves a new version; the desk shows it for the next call.
    admin = open_desk(browser, live_server, "admin", "/desk/calls")
    admin.goto(f"{live_server}/admin/intake-scripts/welfare_request")
    admin.wait_for_selector("[data-testid=script-form]")
    admin.fill("[data-testid=field-questions_th]",
               "กรุณาสอบถามจำนวนสมาชิกในครอบครัว\nกรุณาสอบถามรายได้ของครอบครัว")
    admin.fill("[data-testid=field-note]", "ปรับคำถามตามระเบียบใหม่")
    admin.click("[data-testid=save]")
    admin.wait_for_selector("[data-testid=saved]")
    assert re.search(r"2", admin.inner_text("[data-testid=shown-version]"))
    admin.click("[data-testid=version-1]")
    admin.wait_for_selector("text=กรุณาสอบถามชื่อ")

    calls.select_option("[data-testid=gi-category]", "welfare_request")
    calls.wait_for_function("() => document.querySelector('[data-testid=gi-questions]')"
                            ".textContent.includes('จำนวนสมาชิกในครอบครัว')")
    assert calls.input_value("[data-testid=category]") == "welfare_request"
    engine.dispose()
