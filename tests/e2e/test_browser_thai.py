"""In Chromium, every desk in Thai (issue 15): no English word on the screen outside the proper
nouns and codes of the allow-list, no time written "09:26", and the page's own formatters write
dates, times, durations and "N นาทีที่แล้ว" the Thai way (and the English way in English)."""

from __future__ import annotations

import re

import pytest

from tests.conftest import incident_body
from tests.e2e.test_browser_path import browser, live_server, open_desk  # noqa: F401
from tests.integration.test_case_workflow import full_assessment

pytestmark = pytest.mark.browser

# Proper nouns and codes that stay as they are in Thai text.
ALLOWED = {
    "LINE", "SMS", "OSCC", "ESS", "Help", "Me", "SOS", "PDPA", "JPEG", "PNG", "WebP", "QR",
    "Google", "Microsoft", "Authenticator", "FreeOTP",  # the authenticator apps by name
    "English",  # the language switch
    "ID", "IP", "JSON", "PDF",  # as Thai writes them: LINE ID, ที่อยู่ IP, ไฟล์ JSON, PDF
}
CASE_REF = re.compile(r"C\d{2}")  # the letter of a case number (C65-2569-000001)
TOKEN = re.compile(r"[A-Za-z][A-Za-z0-9]*")
COLON_TIME = re.compile(r"(?<![\d:])\d{1,2}:\d{2}(?![\d:])")
THAI_TIME = re.compile(r"\d{2}\.\d{2} น\.")

# What a person reads: the page's text with every <details> open, plus every option of every
# list (only the chosen one shows until it is opened); map credits (Leaflet, OpenStreetMap) and
# the cells holding login names are not the console's words.
VISIBLE_TEXT = """(hide) => {
  document.querySelectorAll("details").forEach((d) => { d.open = true; });
  const hidden = [...document.querySelectorAll(
    [".leaflet-control-attribution", ...hide].join(","))];
  hidden.forEach((n) => { n.dataset.wasDisplay = n.style.display; n.style.display = "none"; });
  const text = document.body.innerText + "\\n" +
    [...document.querySelectorAll("option, optgroup")].map((o) => o.label || o.textContent)
      .join("\\n");
  hidden.forEach((n) => { n.style.display = n.dataset.wasDisplay; });
  return text;
}"""


def english_words(text: str, usernames: tuple[str, ...] = ()) -> list[str]:
    for name in usernames:  # login names are data, not the console's words
        text = re.sub(rf"(?<![\w.]){re.escape(name)}(?![\w.])", " ", text)
    text = re.sub(r"`[^`]*`", " ", text)  # a command to type, quoted as code
    return sorted({t for t in TOKEN.findall(text)
                   if t not in ALLOWED and not CASE_REF.fullmatch(t)})


def check_thai(page, where: str, hide: tuple[str, ...] = (), usernames: tuple[str, ...] = ()):
    page.wait_for_load_state("networkidle")
    assert page.evaluate("document.documentElement.lang") == "th", where
    text = page.evaluate(VISIBLE_TEXT, list(hide))
    lines = [ln for ln in text.splitlines() if english_words(ln, usernames)]
    assert english_words(text, usernames) == [], (where, lines)
    assert COLON_TIME.findall(text) == [], (where, [ln for ln in text.splitlines()
                                                    if COLON_TIME.search(ln)])
    return text


def api(page, method: str, url: str, body=None):
    answer = page.evaluate(
        "async ([m, u, b]) => { const r = await api(m, u, b === null ? undefined : b);"
        " return { ok: r.ok, status: r.status, data: r.data }; }", [method, url, body])
    assert answer["ok"], (url, answer)
    return answer["data"]


def test_every_desk_reads_thai(browser, live_server):  # noqa: F811
    base = live_server
    calls = open_desk(browser, base, "calltaker", "/desk/calls")
    dispatch = open_desk(browser, base, "dispatcher", "/desk/dispatch")
    team = open_desk(browser, base, "team1", "/desk/team", mobile=True)
    cases = open_desk(browser, base, "caseworker", "/desk/cases")

    # Something on every board: an incident offered to team1, one still waiting for a team
    # (with the suggestions and their distances), a call closed at intake, a case.
    offered = api(calls, "POST", "/api/calls", incident_body())["incident"]
    near = incident_body(summary="ผู้สูงอายุถูกทิ้งไว้ลำพัง")
    near["incident"]["location"].update(lat=16.8211, lon=100.2659)  # a point: teams suggested
    waiting = api(calls, "POST", "/api/calls", near)["incident"]
    api(calls, "POST", "/api/calls", {
        "action": "close", "number": "081-234-5678", "caller_name": "", "advice": "แนะนำสิทธิ",
        "summary": "สอบถามเงินสงเคราะห์", "outcome": "advice_given", "agency_id": None})
    dispatch.wait_for_selector(f"[data-testid=team-select-{waiting['id']}] option[data-suggested]",
                               state="attached")
    text = check_thai(dispatch, "dispatch")
    assert re.search(r"ห่าง [\d.]+ กม\. · เดินทางราว \d+ นาที", text)
    assert re.search(r"พบตำแหน่งล่าสุด \d+ นาทีที่แล้ว", text)
    team_id = team.evaluate("PAGE.user.team_id")
    api(dispatch, "POST", f"/api/incidents/{offered['id']}/assign", {"team_id": team_id})
    case = api(cases, "POST", "/api/cases", {
        "source": "walk_in", "category": "elderly", "summary": "ยายอยู่ลำพัง ไม่มีรายได้",
        "address_text": "หมู่ 4"})

    team.wait_for_selector("[data-testid=job]:not([hidden])")
    team.wait_for_selector("[data-testid=offer-countdown]:not([hidden])")
    countdown = team.inner_text("[data-testid=offer-countdown]")
    assert re.search(r"\d+ นาที( \d+ วินาที)?$|\d+ วินาที$", countdown), countdown
    assert not re.search(r"(?<!\d)0\d", countdown), countdown  # no leading zero
    check_thai(team, "team")

    dispatch.wait_for_selector(f"tr[data-id='{offered['id']}'][data-status=assigned]")
    text = check_thai(dispatch, "dispatch, a team offered")
    assert "ด่วนที่สุด" in text  # the priority badge in words, not "P1"

    # The alarm banner: the team declines, the desk names the incident by its reference.
    api(team, "POST", f"/api/incidents/{offered['id']}/decline", {"reason": "รถเสีย"})
    dispatch.wait_for_selector("#alarms [data-testid^=alarm-ref-]")
    assert dispatch.inner_text("#alarms [data-testid^=alarm-ref-]") == offered["ref"]
    check_thai(dispatch, "alarm banner")

    calls.reload()
    text = check_thai(calls, "calls")
    assert THAI_TIME.search(text)  # the recent calls, with their time

    supervisor = open_desk(browser, base, "supervisor", "/desk/supervisor")
    supervisor.wait_for_function("() => document.getElementById('map-box').dataset.markers !== '0'")
    text = check_thai(supervisor, "supervisor")
    assert re.search(r"เวรนี้ \((08\.30–16\.30|16\.30–08\.30) น\.\)", text)

    check_thai(cases, "cases")
    cases.goto(f"{base}/desk/cases/{case['id']}")
    cases.wait_for_selector("body[data-live='1']")
    text = check_thai(cases, "case page")
    assert THAI_TIME.search(text)
    # A referral: the case's referral section, then the agency's page behind its link.
    case_api = f"/api/cases/{case['id']}"
    api(cases, "POST", f"{case_api}/move", {"to": "fact_finding"})
    api(cases, "PUT", f"{case_api}/assessment", full_assessment())
    api(cases, "POST", f"{case_api}/move", {"to": "planning"})
    api(cases, "POST", f"{case_api}/consents", {"items": ["story"], "given_on": "01/11/2569"})
    agency_id = int(cases.eval_on_selector("[data-testid=referral-agency] option", "o => o.value"))
    referral = api(cases, "POST", f"{case_api}/referrals", {
        "agency_id": agency_id, "service": "ซ่อมแซมบ้าน", "items": ["story"]})
    cases.reload()
    cases.wait_for_selector(f"tr[data-referral-id='{referral['id']}']")
    check_thai(cases, "case page, its referral")
    cases.goto(base + "/r/" + referral["link"].rsplit("/r/", 1)[1])
    check_thai(cases, "the agency's referral page")
    cases.goto(f"{base}/desk/cases/status")
    check_thai(cases, "case status by area")

    dispatch.goto(f"{base}/desk/incidents/{offered['id']}")
    text = check_thai(dispatch, "incident page")
    assert THAI_TIME.search(text) and "รับแจ้งเหตุ" in text
    dispatch.goto(f"{base}/desk/incidents/2147483647")
    check_thai(dispatch, "error page")

    admin = open_desk(browser, base, "admin", "/desk/escalation")
    check_thai(admin, "escalation")
    admin.goto(f"{base}/desk/users")
    users = tuple(admin.eval_on_selector_all("#user-rows tr[data-username]",
                                             "rows => rows.map(r => r.dataset.username)"))
    calltaker_id = admin.eval_on_selector("#user-rows tr[data-username=calltaker]",
                                          "r => r.dataset.id")
    check_thai(admin, "users", hide=("#user-rows tr > td:first-child",))
    admin.goto(f"{base}/desk/users/{admin.evaluate('PAGE.user.id')}")
    check_thai(admin, "user page", usernames=users)
    admin.goto(f"{base}/desk/users/{calltaker_id}")  # a user with a history of logins
    check_thai(admin, "a call-taker's page", usernames=users)

    # The access log and a person's request (PDPA): a search, an erasure, one refused.
    supervisor.goto(f"{base}/desk/access-log?by=phone&q=081-234-5678")
    text = check_thai(supervisor, "access log", usernames=users)
    assert THAI_TIME.search(text)
    form = "[data-testid=erase-form]"
    for number, where in (("089-999-0000", "erasure done"), ("081-234-5678", "erasure refused")):
        supervisor.fill(f"{form} input[name=phone]", number)
        supervisor.fill(f"{form} input[name=reason]", "หนังสือขอลบข้อมูล ลงวันที่ 1 ธ.ค. 2569")
        supervisor.check(f"{form} input[name=confirm]")
        supervisor.click("[data-testid=erase-go]")
        check_thai(supervisor, where, usernames=users)
    calls.goto(f"{base}/account")
    check_thai(calls, "account", usernames=users)


FORMATTERS = """() => ({
  be: fmtBE("2026-11-22T02:26:05Z"),
  range: fmtRange("2026-11-22T01:30:00Z", "2026-11-22T09:30:00Z"),
  wait: fmtWait(125), hour: fmtDuration(3900),
  ago: fmtAgo(new Date(Date.now() - 5 * 60000).toISOString()),
  one: fmtAgo(new Date(Date.now() - 60000).toISOString()) })"""


def test_the_page_writes_times_the_thai_way_and_the_english_way(browser, live_server):  # noqa: F811
    page = open_desk(browser, live_server, "dispatcher", "/desk/dispatch")
    assert page.evaluate(FORMATTERS) == {
        "be": "22 พ.ย. 2569 09.26 น.", "range": "08.30–16.30 น.", "wait": "2 นาที 5 วินาที",
        "hour": "1 ชั่วโมง 5 นาที", "ago": "5 นาทีที่แล้ว", "one": "1 นาทีที่แล้ว"}
    page.click("[data-testid=lang-en]")
    page.wait_for_selector("[data-testid=lang-th]")
    page.wait_for_selector("body[data-live='1']")
    assert page.evaluate(FORMATTERS) == {
        "be": "22 Nov 2569 BE 09:26", "range": "08:30–16:30", "wait": "2 min 5 s",
        "hour": "1 h 5 min", "ago": "5 minutes ago", "one": "1 minute ago"}
    page.click("[data-testid=lang-th]")  # the choice sticks to the user: leave it Thai
    page.wait_for_selector("[data-testid=lang-en]")
