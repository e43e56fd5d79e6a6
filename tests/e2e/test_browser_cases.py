"""In Chromium: a case worker opens a case at the desk, does the fact-finding on a phone-sized
screen, plans, refers (the agency answers on its phone), follows up (one visit by an อพม.
volunteer on a link) and closes the case; the supervisor's case desk follows live."""

from __future__ import annotations

import re

import pytest

from tests.e2e.test_browser_path import browser, label, live_server, open_desk  # noqa: F401

pytestmark = pytest.mark.browser
# Drafts kept on the phone (static/js/offline_draft.js).
DRAFTS = "() => Object.keys(localStorage).filter((k) => k.startsWith('draft:')).length"


def watch_status(watcher, case_id: str, text: str) -> None:
    """The other desk's row of the case shows `text`, live."""
    # NOTE: interval polling: requestAnimationFrame may not run in a page of a window in the
    # background, and the watcher's page is not the one in front any more.
    watcher.wait_for_function(
        "([id, text]) => (document.querySelector(`tr[data-case-id='${id}']`) || {})"
        ".textContent?.includes(text)", arg=[case_id, text], polling=200, timeout=20000)


def test_case_from_the_desk_to_closure(browser, live_server):  # noqa: F811
    desk = open_desk(browser, live_server, "caseworker", "/desk/cases")
    watcher = open_desk(browser, live_server, "supervisor", "/desk/cases")
    desk.click("[data-testid=new-case]")
    desk.click("[data-testid=new-case-submit]")  # empty: refused on its field
    desk.wait_for_selector(".field-error[data-field=summary]")
    desk.select_option("[data-testid=new-case-source]", "walk_in")
    desk.fill("[data-testid=new-case-summary]", "ยายอยู่ลำพัง ไม่มีรายได้ บ้านผุพัง")
    desk.click("[data-testid=new-case-submit]")
    desk.wait_for_url(re.compile(r"/desk/cases/\d+$"))
    case_id = desk.url.rsplit("/", 1)[1]
    watcher.wait_for_selector(f"tr[data-case-id='{case_id}']")  # live on the other desk

    phone = desk.context.browser.new_context(viewport={"width": 390, "height": 800},
                                             is_mobile=True, locale="th-TH",
                                             timezone_id="Asia/Bangkok",
                                             storage_state=desk.context.storage_state())
    page = phone.new_page()
    page.goto(f"{live_server}/desk/cases/{case_id}")
    page.click("[data-testid=move-fact_finding]")
    page.wait_for_selector("[data-testid=move-planning]")
    page.fill("[data-testid=assessment-problem]", "ผู้สูงอายุอยู่ลำพัง")
    # The network drops at the home visit: the draft stays on this phone only, and is sent by
    # itself when the network is back (then nothing is left on the phone).
    phone.set_offline(True)
    page.fill("[data-testid=assessment-living_conditions]", "บ้านไม้ชั้นเดียว")
    page.click("[data-testid=assessment-draft]")
    page.wait_for_selector("[data-testid=assessment-draft-state][data-state=local]")
    assert page.evaluate(DRAFTS) == 1
    phone.set_offline(False)
    page.wait_for_selector("[data-testid=assessment-draft-state][data-state=saved]",
                           timeout=20000)
    assert page.evaluate(DRAFTS) == 0
    for domain in ("safety", "health", "family_care", "education_work"):
        page.select_option(f"[data-testid=score-{domain}]", "4")
        page.fill(f"[data-testid=reason-{domain}]", "ปกติ")
    page.select_option("[data-testid=score-food_income]", "1")
    page.fill("[data-testid=reason-food_income]", "ไม่มีรายได้")
    page.select_option("[data-testid=score-shelter]", "2")  # no reason yet: refused
    page.select_option("[data-testid=risk-level]", "3")
    page.click("[data-testid=assessment-complete]")
    page.wait_for_selector(".field-error[data-field='scores.shelter.reason']")
    page.fill("[data-testid=reason-shelter]", "หลังคารั่ว")
    page.click("[data-testid=assessment-complete]")
    page.wait_for_selector("[data-testid=assessment-done]")
    page.click("[data-testid=move-planning]")
    page.wait_for_function("() => document.getElementById('case').dataset.status === 'planning'",
                           polling=200, timeout=20000)
    page.wait_for_selector("[data-testid=action-domain]", state="visible")
    assert page.locator("[data-testid=plan-gaps]").count() == 1
    for domain, title in (("food_income", "เงินสงเคราะห์"), ("shelter", "ประสาน อบต. ซ่อมบ้าน")):
        page.select_option("[data-testid=action-domain]", domain)
        page.fill("[data-testid=action-title]", title)
        page.fill("[data-testid=action-due]", "31/12/2599")
        page.click("[data-testid=action-submit]")
        page.wait_for_selector(f"#action-rows td:has-text('{title}')")
    assert page.locator("[data-testid=plan-gaps]").count() == 0
    page.click("[data-testid=move-in_assistance]")
    page.wait_for_function(
        "() => document.getElementById('case').dataset.status === 'in_assistance'",
        polling=200, timeout=20000)
    watch_status(watcher, case_id, "อยู่ระหว่างให้ความช่วยเหลือ")

    # Consent, then a referral; the agency answers on its phone without an account.
    page.wait_for_function("() => document.getElementById('case').dataset.status === "
                           "'in_assistance'", polling=200, timeout=20000)
    page.click("details.add-consent > summary")
    page.check("[data-testid=consent-story]")
    page.fill("[data-testid=consent-date]", "01/11/2569")
    page.click("[data-testid=consent-submit]")
    page.wait_for_selector("[data-testid=consents] li:not(.muted)")
    page.fill("[data-testid=referral-service]", "ซ่อมแซมบ้าน")
    page.check("[data-testid=share-story]")
    page.click("[data-testid=referral-submit]")
    page.wait_for_selector("[data-testid=referral-link]:not([hidden])")
    link = page.input_value("[data-testid=referral-url]")
    assert "/r/" in link
    agency = browser.new_context(viewport={"width": 390, "height": 800}, is_mobile=True,
                                 locale="th-TH")
    agency.route(re.compile(r"^https?://(?!127\.0\.0\.1)"), lambda route: route.abort())
    on_phone = agency.new_page()
    on_phone.goto(link)
    assert "ยายอยู่ลำพัง" in on_phone.content()  # the story is shared (consented)
    for step, note in (("acknowledged", ""), ("accepted", ""), ("completed", "ซ่อมหลังคาแล้ว")):
        on_phone.fill("[data-testid=responder-name]", "นายช่าง อบต.")
        if note:
            on_phone.fill("[data-testid=responder-note]", note)
        on_phone.click(f"[data-testid=step-{step}]")
        on_phone.wait_for_selector("[data-testid=referral-message]")
    assert on_phone.get_attribute("[data-testid=referral-page]", "data-status") == "completed"
    # The agency's outcome reaches the worker's open case page live (no reload).
    page.wait_for_selector("[data-testid=case-timeline] li[data-kind=referral_completed]")

    # Follow-up: a visit given to an อพม. volunteer without an account (a link, on their phone)
    # and a call the worker makes; both outcomes, then the closure with the client's feedback.
    page.click("[data-testid=move-follow_up]")
    page.wait_for_function("() => document.getElementById('case').dataset.status === "
                           "'follow_up'", polling=200, timeout=20000)
    watch_status(watcher, case_id, label(watcher, "case_status", "follow_up"))
    page.wait_for_selector("body[data-live='1']")
    for kind, purpose in (("visit", "ดูหลังคาที่ซ่อม"), ("call", "ถามความพึงพอใจ")):
        page.click("details.add-follow-up > summary")
        page.select_option("#follow-up-form select[name=kind]", kind)
        page.fill("[data-testid=follow-up-due]", "31/12/2599")
        page.fill("#follow-up-form input[name=purpose]", purpose)
        page.click("[data-testid=follow-up-submit]")
        page.wait_for_selector(f"#follow-up-rows td:has-text('{purpose}')")
    visit, call = page.eval_on_selector_all("#follow-up-rows tr[data-follow-up-id]",
                                            "rows => rows.map(r => r.dataset.followUpId)")
    page.click("[data-testid=volunteer-open]")
    page.select_option("[data-testid=volunteer-follow-up]", visit)
    page.fill("[data-testid=volunteer-name]", "นางสมศรี ใจงาม")
    page.fill("[data-testid=volunteer-phone]", "089-111-2222")
    page.click("[data-testid=volunteer-submit]")
    page.wait_for_selector("[data-testid=volunteer-link]:not([hidden])")
    on_phone.goto(page.input_value("[data-testid=volunteer-url]"))
    assert on_phone.inner_text("[data-testid=task-purpose]") == "ดูหลังคาที่ซ่อม"
    on_phone.click("[data-testid=task-submit]")  # nothing written: refused on its field
    on_phone.wait_for_selector(".field-error[data-field=outcome]")
    on_phone.fill("[data-testid=task-outcome]", "หลังคาไม่รั่วแล้ว ยายสบายดี")
    on_phone.click("[data-testid=task-submit]")
    on_phone.wait_for_selector("[data-testid=task-message]")
    done = page.wait_for_selector("[data-testid=case-timeline] li[data-kind=follow_up_done]")
    assert "หลังคาไม่รั่วแล้ว" in done.inner_text()  # live on the worker's page
    agency.close()
    # Back at the office (the follow-up table is wider than a phone): the call, then closure.
    desk.goto(f"{live_server}/desk/cases/{case_id}")
    answers = iter(["โทรคุยกับยายแล้ว", "ขอบคุณที่ช่วยซ่อมบ้านให้"])  # outcome, feedback

    def answer(dialog):
        dialog.accept(next(answers))

    desk.on("dialog", answer)
    desk.click(f"[data-testid=follow-up-done-{call}]")
    desk.wait_for_selector(f"#follow-up-rows tr[data-follow-up-id='{call}'] "
                           "td:has-text('ขอบคุณที่ช่วยซ่อมบ้านให้')")
    desk.remove_listener("dialog", answer)
    desk.fill("[data-testid=move-reason]", "ช่วยเหลือครบตามแผน")
    desk.click("details.closing > summary")
    desk.fill("[data-testid=client-feedback]", "ยายพอใจ บ้านอยู่ได้แล้ว")
    desk.fill("[data-testid=lessons]", "ประสาน อบต. ตั้งแต่วันแรก งานเร็วขึ้น")
    desk.click("[data-testid=move-closed]")  # the plan's two actions are still open: refused
    desk.wait_for_selector("#move-message.error")
    assert desk.get_attribute("#case", "data-status") == "follow_up"
    desk.check("[data-testid=with-open-actions]")
    desk.click("[data-testid=move-closed]")
    closure = desk.wait_for_selector("[data-testid=closure]")
    assert "ยายพอใจ" in closure.inner_text() and "ประสาน อบต." in closure.inner_text()
    watch_status(watcher, case_id, label(watcher, "case_status", "closed"))  # live, no reload
    # Logging out removes any draft left on the phone.
    page.evaluate("() => localStorage.setItem('draft:assessment:0:0', '{}')")
    page.click("form.logout button")
    page.wait_for_url(re.compile(r"/login"))
    assert page.evaluate(DRAFTS) == 0
    phone.close()
    watcher.context.close()
    desk.context.close()


def test_a_person_typed_twice_is_merged_and_the_case_moves_province_live(
        browser, live_server):  # noqa: F811
    """Typing a client already on record shows them with the reason; the worker merges the two
    records; the case is transferred to Chiang Mai and accepted on the national desk, both desks
    following live."""
    desk = open_desk(browser, live_server, "caseworker", "/desk/cases")
    national = open_desk(browser, live_server, "national", "/desk/cases")
    for summary in ("ยายอยู่ลำพัง", "หลานไม่ไปโรงเรียน"):  # two cases; the first has the client
        made = desk.evaluate("""async (summary) => (await api("POST", "/api/cases",
            { source: "walk_in", summary })).data""", summary)
    first, second = made["id"] - 1, made["id"]
    assert desk.evaluate("""async (id) => (await api("POST", `/api/cases/${id}/people`,
        { role: "client", full_name: "นางสาวมาลี ใจงาม", no_id_reason: "not_given",
          birth_date: "12/05/2530" })).ok""", first)
    desk.goto(f"{live_server}/desk/cases/{second}")
    desk.fill("[data-testid=person-name]", "มาลีย์ ใจงาม")  # spelled otherwise, sounds the same
    desk.fill("[data-testid=person-birth]", "01/01/2530")
    found = desk.wait_for_selector("[data-testid=person-duplicate]")
    assert "ชื่อออกเสียงเหมือนกัน" in found.inner_text() and "ปีเกิดเดียวกัน" in found.inner_text()
    desk.select_option("select[name=no_id_reason]", "not_given")
    desk.click("[data-testid=person-submit]")
    desk.wait_for_selector("[data-testid=duplicates] button.merge")
    desk.once("dialog", lambda dialog: dialog.accept("ตรวจบัตรประชาชนแล้ว"))
    desk.click("[data-testid=duplicates] button.merge")
    desk.wait_for_selector("li[data-kind=person_merged]")
    assert desk.locator("[data-testid=duplicates]").count() == 0

    desk.click("[data-testid=transfer-open]")
    desk.select_option("[data-testid=transfer-province]", "50")
    desk.fill("[data-testid=transfer-reason]", "ย้ายไปอยู่กับลูกที่เชียงใหม่")
    desk.click("[data-testid=transfer-submit]")
    desk.wait_for_selector("[data-testid=transfer-pending]")
    national.wait_for_selector("#transfer-rows tr[data-transfer-id]")  # live
    watcher = open_desk(browser, live_server, "caseworker", "/desk/cases")
    watcher.wait_for_selector(f"tr[data-case-id='{second}'] small.alarm")  # transfer pending
    national.click("#transfer-rows button[data-answer=accept]")
    national.wait_for_selector("[data-testid=transfer-message].ok")
    # The worker still on the case page in Phitsanulok is told, live, that the case has left.
    left = desk.wait_for_selector("[data-testid=case-left-province]:not([hidden])",
                                  timeout=20000)
    assert "เชียงใหม่" in left.inner_text() and "ไม่อยู่ในจังหวัดของท่าน" in left.inner_text()
    watcher.wait_for_function(  # the case left Phitsanulok's desk, live
        f"() => !document.querySelector(\"tr[data-case-id='{second}']\")", polling=200,
        timeout=20000)
    for page in (desk, national, watcher):
        page.context.close()
