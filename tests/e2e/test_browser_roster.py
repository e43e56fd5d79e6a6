"""In Chromium: a supervisor puts a call-taker on tonight's shift from the roster page, sets a
staffing minimum and sees the shift short of a dispatcher; the call-taker sees the duty on
'My duties' and asks for a swap, which the roster page then shows. No CSP violation."""

from __future__ import annotations

import pytest

from tests.e2e.test_browser_path import browser, live_server, open_desk  # noqa: F401

pytestmark = pytest.mark.browser


def test_supervisor_rosters_a_call_taker_and_the_call_taker_asks_for_a_swap(
    browser, live_server  # noqa: F811
):
    errors: list[str] = []
    page = open_desk(browser, live_server, "supervisor", "/desk/supervisor")
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.click("[data-testid=nav-roster]")
    page.wait_for_selector("[data-testid=roster-week]")
    assert "08.30–16.30 น." in page.inner_text("[data-testid=roster-week]")
    day = page.locator("[data-testid=field-day] option").nth(6).get_attribute("value")
    page.select_option("[data-testid=field-day]", day)
    page.select_option("[data-testid=field-shift]", "16.30-08.30")
    page.select_option("[data-testid=field-role]", "call_taker")
    page.select_option("[data-testid=field-user]", label="สมศรี รับสาย (ผู้รับแจ้ง)")
    page.click("[data-testid=roster-add-submit]")
    page.wait_for_selector("[data-testid=saved]")
    row = page.locator(f"tr[data-day='{day}'][data-shift='16.30–08.30']")
    assert "สมศรี รับสาย" in row.inner_text()
    page.fill("[data-testid=min-dispatcher]", "1")
    page.locator("[data-testid=roster-staffing] button[type=submit]").click()
    page.wait_for_selector(f"[data-testid=short-{day}-dispatcher]")
    page.screenshot(path="/tmp/roster_page.png", full_page=True)

    taker = open_desk(browser, live_server, "calltaker", "/desk/calls")
    taker.click("[data-testid=nav-my-duties]")
    taker.wait_for_selector("[data-testid=roster-mine] tr[data-testid^=duty-]")
    form = taker.locator("[data-testid=roster-mine] form").first
    form.locator("select[name=substitute_id]").select_option(label="อรุณี หัวหน้าเวร")
    form.locator("button[type=submit]").click()
    taker.wait_for_selector("[data-testid^=requested-]")
    page.reload()
    assert page.locator("[data-testid^=swap-asked-]").count() == 1
    assert not [e for e in errors if "Content Security Policy" in e or "CSP" in e], errors


def test_a_second_wave_pop_says_why_it_reached_this_desk(browser, live_server):  # noqa: F811
    """The pop of the roster's second wave (nobody on duty took the call: telephony/events.py)
    tells the call-taker so, with how long the caller waited, in Thai; a first-wave pop does
    not."""
    calls = open_desk(browser, live_server, "calltaker", "/desk/calls")
    calls.wait_for_selector("body[data-live='1']")
    base = {"reason": "danger", "times_called_before": 0, "linked_refs": [], "open_incidents": [],
            "open_cases": [], "flags": [], "protected_because": [], "last_contacts": [],
            "number_display": "089-555-0101", "ring_at": "2026-12-02T01:00:00+00:00"}
    calls.evaluate("(p) => showPop(p)", {**base, "id": 990001,
                                         "roster": {"wave": "others", "waited_seconds": 35}})
    calls.evaluate("(p) => showPop(p)", {**base, "id": 990002, "number_display": "089-555-0102",
                                         "roster": {"wave": "on_duty"}})
    notice = calls.wait_for_selector("[data-testid=pop-second-wave]")
    assert notice.inner_text() == "ผู้รับแจ้งที่อยู่เวรยังไม่รับสายนี้ จึงส่งถึงท่านหลังผู้โทรรอ 35 วินาที"
    assert calls.locator("[data-testid=pop-second-wave]").count() == 1


def test_the_alarm_banner_writes_a_short_shift_from_its_facts(browser, live_server):  # noqa: F811
    """A roster alarm keeps its facts, not a sentence (dispatch/roster_alarms.py): the banner
    writes it in the page's language, and says when it went to every supervisor because nobody
    was on duty as supervisor."""
    page = open_desk(browser, live_server, "supervisor", "/desk/supervisor")
    page.wait_for_selector("body[data-live='1']")
    alarm = {"id": 990001, "kind": "roster_short", "province_code": "65", "team_id": None,
             "incident_id": None, "incident_ref": None, "raised_at": "2026-12-03T09:00:00+00:00",
             "lat": None, "lon": None, "note": "", "handled_at": None, "contact_name": "",
             "contact_phone": None, "case_id": None, "team_name": None, "handled_by_name": None,
             "facts": {"shift_id": 1, "starts_at": "2026-12-03T09:30:00+00:00",
                       "ends_at": "2026-12-04T01:30:00+00:00",
                       "short": {"call_taker": 1, "dispatcher": 2},
                       "sent_to_all": "nobody_on_duty"}}
    page.evaluate("(a) => window.dispatchEvent(new CustomEvent('live:alarm.changed', "
                  "{ detail: a }))", alarm)
    banner = page.wait_for_selector("[data-testid=alarm-990001]")
    assert "เวร 3 ธ.ค. 2569 16.30–08.30 น. ขาดผู้รับแจ้ง 1 คน ผู้สั่งการ 2 คน" in banner.inner_text()
    assert page.inner_text("[data-testid=alarm-to-all-990001]") == (
        "ขณะนี้ไม่มีหัวหน้าเวรที่อยู่เวรตามตารางเวร จึงแจ้งหัวหน้าเวรทุกคนของจังหวัด")
