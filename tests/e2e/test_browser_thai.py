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
    "ID", "IP", "JSON", "PDF", "CSV",  # as Thai writes them: LINE ID, ที่อยู่ IP, ไฟล์ JSON
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


def add_users(db_url: str, agency_id: int) -> dict[str, int]:
    """An agency user of that agency, an อพม. volunteer and a second case worker of Phitsanulok,
    straight into the served database with the demo password; their ids by username."""
    from sqlalchemy import select

    from console import all_models  # noqa: F401
    from console.db import make_engine, make_sessionmaker, session_scope
    from console.enums import Role
    from console.models import User

    engine = make_engine(db_url)
    with session_scope(make_sessionmaker(engine)) as session:
        demo = session.scalar(select(User).where(User.username == "caseworker"))
        made = [User(username=name, display_name=display, role=role, province_code="65",
                     agency_id=agency, password_hash=demo.password_hash, demo=True)
                for name, display, role, agency in (
                    ("agency.e2e", "ศูนย์พึ่งได้ ผู้ประสาน", Role.AGENCY, agency_id),
                    ("vol.e2e", "สมหญิง อพม.", Role.VOLUNTEER, None),
                    ("worker2.e2e", "ปรีดา นักสังคมสงเคราะห์", Role.CASE_WORKER, None))]
        session.add_all(made)
        session.flush()
        ids = {u.username: u.id for u in made}
    engine.dispose()
    return ids


def test_every_desk_reads_thai(browser, live_server, served_db):  # noqa: F811
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
    assert supervisor.inner_text("#alarms [data-testid^=alarm-ref-]") == offered["ref"]
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
    # A subsidy, two follow-ups: one given to a volunteer with an account, one through a link.
    made = add_users(served_db, agency_id)
    api(cases, "POST", f"{case_api}/subsidies", {
        "amount": "1,500", "reason": "ค่าอาหาร 1 เดือน", "budget_line": "emergency_relief"})
    follow_ups = [api(cases, "POST", f"{case_api}/follow-ups", {
        "kind": kind, "due_on": "31/12/2599", "purpose": purpose})["id"]
        for kind, purpose in (("visit", "ดูสภาพบ้าน"), ("call", "โทรถามอาการ"))]
    api(cases, "POST", f"{case_api}/follow-ups/{follow_ups[0]}/volunteer",
        {"user_id": made["vol.e2e"]})
    task_link = api(cases, "POST", f"{case_api}/follow-ups/{follow_ups[1]}/volunteer", {
        "name": "นางสมศรี ใจงาม", "phone": "089-111-2222", "share_phone": True})["link"]
    cases.reload()
    cases.wait_for_selector(f"tr[data-referral-id='{referral['id']}']")
    cases.wait_for_selector("#subsidy-rows tr[data-subsidy]")
    assert cases.locator("[data-testid=handover-form] option").count() == 2  # —, worker2
    check_thai(cases, "case page: referral, subsidy, follow-ups, hand-over and transfer forms")
    cases.goto(f"{base}/desk/cases/referrals")
    cases.wait_for_selector("#referral-rows tr")
    check_thai(cases, "referral views")

    # Without an account, on a phone: the agency's referral page and the volunteer's task page.
    outside = browser.new_context(viewport={"width": 390, "height": 800}, is_mobile=True,
                                  locale="th-TH", timezone_id="Asia/Bangkok")
    outside.route(re.compile(r"^https?://(?!127\.0\.0\.1)"), lambda route: route.abort())
    link_page = outside.new_page()
    link_page.goto(base + "/r/" + referral["link"].rsplit("/r/", 1)[1])
    check_thai(link_page, "the agency's referral page")
    link_page.goto(base + "/v/" + task_link.rsplit("/v/", 1)[1])
    text = check_thai(link_page, "the volunteer's task page")
    assert "โทรถามอาการ" in text
    outside.close()
    # The agency user's list (one referral opened) and the volunteer's tasks.
    agency = open_desk(browser, base, "agency.e2e", "/desk/agency")
    agency.click(f"[data-testid=agency-open-{referral['id']}]")
    agency.wait_for_selector("[data-testid=agency-shared]")
    check_thai(agency, "the agency user's referrals")
    # The agency user acknowledges from the list: the list and the worker's referral views
    # follow live.
    agency.click(f"[data-testid=agency-step-acknowledged-{referral['id']}]")
    agency.wait_for_selector(f"[data-testid=agency-referral-{referral['id']}]"
                             "[data-status=acknowledged]")
    cases.wait_for_selector(f"#referral-rows tr[data-referral-id='{referral['id']}']"
                            "[data-status=acknowledged]")
    check_thai(agency, "the agency user's referrals, one acknowledged")
    agency.context.close()
    volunteer = open_desk(browser, base, "vol.e2e", "/desk/tasks", mobile=True)
    text = check_thai(volunteer, "the volunteer's tasks")
    assert "ดูสภาพบ้าน" in text
    volunteer.context.close()

    # A hand-over: offered to another worker, whose desk shows it live; they accept it there.
    worker2 = open_desk(browser, base, "worker2.e2e", "/desk/cases")
    api(cases, "POST", f"{case_api}/handover", {"to_user_id": made["worker2.e2e"],
                                                "note": "รับดูแลต่อเนื่องจากอยู่ใกล้บ้าน"})
    worker2.wait_for_selector("#handover-rows tr[data-handover-id]")
    check_thai(worker2, "cases offered to me")
    cases.goto(f"{base}/desk/cases/{case['id']}")
    cases.wait_for_selector("[data-testid=handover-pending]")
    check_thai(cases, "case page, hand-over pending")
    worker2.click("#handover-rows button[data-answer=accept]")
    worker2.wait_for_selector("[data-testid=handover-message].ok")
    check_thai(worker2, "hand-over accepted")
    worker2.context.close()
    api(cases, "POST", f"{case_api}/transfer", {"to_province": "50",
                                                "reason": "ย้ายไปอยู่กับลูกที่เชียงใหม่"})
    cases.reload()
    cases.wait_for_selector("[data-testid=transfer-pending]")
    check_thai(cases, "case page, transfer pending")
    cases.goto(f"{base}/desk/cases/status")
    check_thai(cases, "case status by area")
    # The supervisor's subsidy desk (waiting for their approval) and referral views with times.
    supervisor.goto(f"{base}/desk/subsidies")
    supervisor.wait_for_selector("tr[data-subsidy]")
    check_thai(supervisor, "subsidies desk")
    supervisor.goto(f"{base}/desk/cases/referrals?view=team")
    supervisor.wait_for_selector("#referral-rows tr")
    check_thai(supervisor, "referral views, the agencies' times")

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
    for who in ("agency.e2e", "vol.e2e", "caseworker", "supervisor"):  # every kind of read
        supervisor.goto(f"{base}/desk/access-log?by=user&q={who}")
        supervisor.wait_for_selector("[data-testid=access-rows] tr[data-action]")
        check_thai(supervisor, f"access log, reads by {who}", usernames=users)
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
