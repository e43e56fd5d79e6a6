"""One incident travels the whole path in Debian Chromium, four people watching live."""

from __future__ import annotations

import re

import pytest

from tests.conftest import need
from tests.e2e.server import server

pytestmark = pytest.mark.browser

LAUNCH_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
               "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.fixture
def live_server(served_db, tmp_path):
    """A real server process on the test database, with the demo data."""
    url = served_db
    with server(url, log_path=tmp_path / "server.log") as (base, _proc):
        yield base


@pytest.fixture
def browser(chromium_path):
    """Playwright driving Debian Chromium (never a downloaded browser)."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:  # pragma: no cover
        need("Playwright", False, "the playwright package is not installed")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_path, args=LAUNCH_ARGS)
        yield browser
        browser.close()


def open_desk(browser, base: str, username: str, path: str, *, mobile: bool = False):
    """A fresh browser context logged in as `username`, on its desk, connected live."""
    opts = {"viewport": {"width": 390, "height": 800}, "is_mobile": True,
            "has_touch": True} if mobile else {"viewport": {"width": 1280, "height": 900}}
    context = browser.new_context(**opts, locale="th-TH", timezone_id="Asia/Bangkok")
    context.route(re.compile(r"^https?://(?!127\.0\.0\.1)"), lambda route: route.abort())
    page = context.new_page()
    page.goto(f"{base}/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", "demo1300")
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r"/desk/"))
    if not page.url.endswith(path):
        page.goto(base + path)
    if path not in ("/desk/calls", "/desk/escalation"):  # pages without a live feed
        page.wait_for_selector("body[data-live='1']")
    page.evaluate("window.__sameDocument = true")
    return page


def label(page, group: str, key: str) -> str:
    return page.evaluate(f"L10N[{group!r}][{key!r}]")


def test_call_to_case_live_on_every_screen(browser, live_server, tmp_path):
    base = live_server
    calls = open_desk(browser, base, "calltaker", "/desk/calls")
    dispatch = open_desk(browser, base, "dispatcher", "/desk/dispatch")
    team = open_desk(browser, base, "team1", "/desk/team", mobile=True)
    supervisor = open_desk(browser, base, "supervisor", "/desk/supervisor")
    cases = open_desk(browser, base, "caseworker", "/desk/cases")
    assert supervisor.get_attribute("#map-box", "data-markers") == "0"
    assert team.is_visible("[data-testid=no-job]")

    # 1. Call-taker: bad input first (nothing saved, messages per field), then a real incident.
    calls.click("[data-testid=submit-call]")
    calls.wait_for_selector(".field-error[data-field=summary]")
    assert calls.locator(".field-error").count() >= 3
    # The preselected province alone is no place: say where, or tick "place unknown".
    assert calls.locator(".field-error[data-field='incident.location']").count() == 1
    calls.fill("[data-testid=number]", "081-234-5678")
    calls.fill("[data-testid=summary]", "เด็กหญิงถูกทำร้ายในบ้าน เพื่อนบ้านได้ยินเสียงร้อง")
    calls.select_option("[data-testid=category]", "children")
    calls.check("[data-testid=priority-P1]")
    calls.click("[data-testid=add-person]")
    calls.select_option("#people-rows .person select[name=age_group]", "child")
    calls.select_option("#people-rows .person select[name=sex]", "female")
    # The age group reads whole ("เด็กและเยาวชน (0-17 ปี)" was cut to "เด็ก (0-17").
    assert calls.evaluate("""() => {
      const s = document.querySelector('#people-rows .person select[name=age_group]');
      const ctx = document.createElement('canvas').getContext('2d');
      ctx.font = getComputedStyle(s).font;
      return ctx.measureText(s.options[s.selectedIndex].text).width + 12 <= s.clientWidth; }""")
    # The place as the caller says it: the offline geocoder fills the pickers.
    calls.fill("[data-testid=place-query]", "หมู่ 4 ต.ท่าทอง อ.เมือง จ.พิษณุโลก")
    calls.click("[data-testid=find-place]")
    calls.locator("[data-testid=place-candidates] button").first.click()
    calls.wait_for_function(
        "() => document.querySelector('[data-testid=subdistrict]').value === '650105'")
    assert calls.input_value("[data-testid=district]") == "6501"
    assert label(calls, "precision", "subdistrict") in calls.inner_text(
        "[data-testid=place-precision]")
    # ... and the pickers can still be changed by hand.
    calls.select_option("[data-testid=subdistrict]", "650101")
    calls.fill("textarea[name=address_text]", "บ้านเลขที่ 12 หมู่ 4 หลังวัด")
    calls.fill("[data-testid=notes]", "ประตูสีฟ้า ระวังสุนัข")
    calls.click("[data-testid=submit-call]")
    calls.wait_for_selector("#form-message.ok[data-ref]")
    ref = calls.get_attribute("#form-message", "data-ref")
    assert re.fullmatch(r"65-25\d\d-\d{6}", ref)

    # 2. Dispatcher: the incident appears live, waiting time ticks; assign PSL-1.
    row = dispatch.locator("tr[data-status=new]", has_text=ref)
    row.wait_for()
    incident_id = row.get_attribute("data-id")
    first_wait = dispatch.text_content(f"tr[data-id='{incident_id}'] td.wait")
    dispatch.wait_for_function(
        f"() => document.querySelector(\"tr[data-id='{incident_id}'] td.wait\").textContent !== "
        f"{first_wait!r}")
    supervisor.wait_for_function("() => document.getElementById('map-box').dataset.markers === '1'")
    assert supervisor.inner_text("[data-testid=count-P1]") == "1"
    assert supervisor.inner_text("[data-testid=count-new]") == "1"
    # The suggestion is the nearest team with child-protection skills, with its reasons.
    suggested = dispatch.locator(f"[data-testid=team-select-{incident_id}] option[data-suggested]")
    suggested.first.wait_for(state="attached")
    assert suggested.count() == 1
    text = suggested.first.inner_text()
    assert text.startswith("ทีม พม. หนึ่งเดียว พิษณุโลก 1") and "กม." in text and "km" not in text
    assert re.search(r"พบตำแหน่งล่าสุด \d+ นาทีที่แล้ว", text)  # one string with its number
    psl1 = suggested.first.get_attribute("value")
    # Assign and Cancel do not overlap.
    a = dispatch.locator(f"[data-testid=assign-{incident_id}]").bounding_box()
    c = dispatch.locator(f"[data-testid=cancel-{incident_id}]").bounding_box()
    assert not (a["x"] < c["x"] + c["width"] and c["x"] < a["x"] + a["width"]
                and a["y"] < c["y"] + c["height"] and c["y"] < a["y"] + a["height"]), (a, c)
    dispatch.select_option(f"[data-testid=team-select-{incident_id}]", value=psl1)
    calls.wait_for_selector(f"[data-testid=team-list] [data-testid=team-{psl1}].team-available")
    dispatch.click(f"[data-testid=assign-{incident_id}]")
    dispatch.wait_for_selector(f"tr[data-id='{incident_id}'][data-status=assigned]")
    # Every desk shows the team's status live, the call-taker's too (callers ask).
    for page in (calls, dispatch, supervisor):
        page.wait_for_selector(f"[data-testid=team-{psl1}].team-offered")
    assert label(calls, "team_status", "offered") in calls.inner_text(
        f"[data-testid=team-{psl1}]")

    # 3. Team page: the job arrives live with location, category and notes; walk the steps.
    team.wait_for_selector("[data-testid=job]:not([hidden])")
    assert ref in team.inner_text("#job-ref")
    assert "ประตูสีฟ้า" in team.inner_text("#job-notes")
    assert "เมืองพิษณุโลก" in team.inner_text("#job-place")
    assert team.inner_text("#job-category") == label(team, "category", "children")
    assert team.is_visible("[data-testid=offer-countdown]")  # acknowledge before it lapses
    # The team can phone the reporter (the read is in the access log).
    tel = team.wait_for_selector("[data-testid=job-tel]")
    assert tel.inner_text() == "081-234-5678" and tel.get_attribute("href") == "tel:+66812345678"
    for step, status in [("acknowledge", "acknowledged"), ("en-route", "en_route"),
                         ("on-scene", "on_scene")]:
        team.fill("[data-testid=step-note]", f"note {step}")
        team.click(f"[data-testid=step-{step}]")
        team.wait_for_function(
            f"() => document.querySelector('[data-testid=job-status]').textContent === "
            f"{label(team, 'status', status)!r}")
        dispatch.wait_for_selector(f"tr[data-id='{incident_id}'][data-status={status}]")
        supervisor.wait_for_function(
            f"() => document.querySelector('[data-testid=count-{status}]').textContent === '1'")
    for page in (calls, dispatch, supervisor):
        page.wait_for_selector(f"[data-testid=team-{psl1}].team-on_scene")
    team.screenshot(path=str(tmp_path / "team.png"))
    supervisor.screenshot(path=str(tmp_path / "supervisor.png"))
    # "We are safe" comes before "resolved", and resolving asks first.
    assert team.evaluate("document.querySelector('[data-testid=checkin]').compareDocumentPosition("
                         "document.querySelector('[data-testid=step-resolve]')) & 4") == 4
    asked: list[str] = []
    team.once("dialog", lambda d: (asked.append(d.message), d.dismiss()))
    team.click("[data-testid=step-resolve]")
    assert len(asked) == 1 and ref in asked[0]
    assert team.inner_text("[data-testid=job-status]") == label(team, "status", "on_scene")
    team.once("dialog", lambda d: d.accept())
    team.click("[data-testid=step-resolve]")
    team.wait_for_selector("[data-testid=no-job]:visible")
    assert team.is_hidden("[data-testid=job-gone]")  # resolved: nothing to explain
    # The team is clearing, on its phone and on the desk, until it says it is free again.
    clearing = label(team, "team_status", "clearing")
    team.wait_for_function(
        f"() => document.querySelector('[data-testid=team-status]').textContent === {clearing!r}")
    dispatch.wait_for_selector(f"[data-testid=team-{psl1}].team-clearing")
    calls.wait_for_selector(f"[data-testid=team-{psl1}].team-clearing")
    # The dispatcher makes the clearing team available (it phoned in).
    dispatch.click(f"[data-testid=make-available-{psl1}]")
    dispatch.wait_for_selector(f"[data-testid=team-{psl1}].team-available")
    available = label(team, "team_status", "available")
    team.wait_for_function(
        f"() => document.querySelector('[data-testid=team-status]').textContent === {available!r}")
    calls.wait_for_selector(f"[data-testid=team-{psl1}].team-available")
    assert team.is_hidden("[data-testid=clear]")

    # 4. Everyone sees the end: gone from the queue and the map, counted, and a case opened.
    dispatch.wait_for_selector(f"tr[data-id='{incident_id}']", state="detached")
    supervisor.wait_for_function("() => document.getElementById('map-box').dataset.markers === '0'")
    supervisor.wait_for_function(
        "() => document.querySelector('[data-testid=handed-count]').textContent === '1'")
    assert supervisor.inner_text("[data-testid=count-P1]") == "0"
    cases.wait_for_selector("#case-rows tr")
    assert re.search(r"C65-25\d\d-\d{6}", cases.inner_text("#case-rows"))
    # On a phone the case list scrolls inside itself; the page does not overflow.
    cases.set_viewport_size({"width": 390, "height": 800})
    assert cases.evaluate("document.documentElement.scrollWidth <= window.innerWidth")

    # Nobody reloaded: the documents that started the test are the ones that saw it all.
    for page in (calls, dispatch, team, supervisor, cases):
        assert page.evaluate("window.__sameDocument") is True


def test_supervisor_map_loads_nothing_from_the_internet(browser, live_server):
    page = open_desk(browser, live_server, "supervisor", "/desk/supervisor")
    requested: list[str] = []
    page.on("request", lambda r: requested.append(r.url))
    page.reload()
    page.wait_for_selector("body[data-live='1']")
    assert page.evaluate("typeof L") == "object"
    assert requested and all(u.startswith(live_server) or u.startswith("data:")
                             for u in requested), requested


def test_sos_sounds_on_the_desks_until_someone_takes_charge(browser, live_server):
    from tests.conftest import incident_body

    base = live_server
    dispatch = open_desk(browser, base, "dispatcher", "/desk/dispatch")
    supervisor = open_desk(browser, base, "supervisor", "/desk/supervisor")
    team = open_desk(browser, base, "team1", "/desk/team", mobile=True)
    team.on("dialog", lambda dialog: dialog.accept())
    team_name = team.inner_text("#team-name")
    # No network: the SOS is kept on the phone, the phone offers a call to the centre...
    team.context.set_offline(True)
    team.click("[data-testid=sos]")
    team.wait_for_selector("[data-testid=sos-call]:not([hidden])")
    assert team.get_attribute("[data-testid=sos-tel]", "href") == "tel:1300"
    assert team.evaluate("Object.keys(localStorage).some((k) => k.startsWith('sos:'))")
    # ... and sends it when the network is back, once.
    team.context.set_offline(False)
    for page in (dispatch, supervisor):
        page.wait_for_selector("[data-testid=alarms] .alarm-sos")
        # The banner names the team.
        assert team_name in page.inner_text("[data-testid=alarms] .alarm-sos")
    team.wait_for_selector("[data-testid=sos-call]", state="hidden")
    assert not team.evaluate("Object.keys(localStorage).some((k) => k.startsWith('sos:'))")
    assert dispatch.locator("[data-testid=alarms] .alarm-sos").count() == 1
    assert label(dispatch, "alarm", "sos") in dispatch.inner_text("[data-testid=alarms]")
    dispatch.click("[data-testid=alarms] .alarm-sos button")
    supervisor.wait_for_selector("[data-testid=alarms]", state="hidden")
    dispatch.wait_for_selector("[data-testid=alarms]", state="hidden")
    # The phone says who took charge instead of "SOS sent".
    team.wait_for_selector("[data-testid=sos-state][data-handled='1']")
    assert "วิชัย สั่งการ" in team.inner_text("[data-testid=sos-state]")

    # A job the centre cancels does not vanish silently: the phone says why.
    created = supervisor.evaluate("async (b) => (await api('POST', '/api/calls', b)).data",
                                  incident_body())
    incident = created["incident"]
    assigned = dispatch.evaluate(
        "async ([i, t]) => (await api('POST', `/api/incidents/${i}/assign`, {team_id: t})).status",
        [incident["id"], team.evaluate("PAGE.user.team_id")])
    assert assigned == 200
    team.wait_for_selector("[data-testid=job]:not([hidden])")
    cancelled = dispatch.evaluate(
        "async (i) => (await api('POST', `/api/incidents/${i}/cancel`, {reason: 'ซ้ำ'})).status",
        incident["id"])
    assert cancelled == 200
    gone = team.wait_for_selector("[data-testid=job-gone][data-reason=cancelled]")
    assert incident["ref"] in gone.inner_text()
    assert team.is_visible("[data-testid=no-job]")
    assert team.inner_text("#team-message") != team.evaluate("T.new_job")
    for page in (dispatch, supervisor, team):
        assert page.evaluate("window.__sameDocument") is True


def test_citizen_reports_gather_on_one_incident_live(browser, live_server, served_db):
    import requests

    from console.db import make_engine, make_sessionmaker, session_scope
    from ess import service as ess_service
    from tests.ess_helpers import report_body

    with session_scope(make_sessionmaker(make_engine(served_db))) as session:
        _, key = ess_service.create_api_client(session=session, name="ESS Help Me app")
    dispatch = open_desk(browser, live_server, "dispatcher", "/desk/dispatch")
    headers = {"X-Api-Key": key}
    first = requests.post(f"{live_server}/api/v1/reports", json=report_body(), headers=headers,
                          timeout=10)
    assert first.status_code == 201, first.text
    row = dispatch.locator("tr[data-status=new]").first
    row.wait_for()
    incident_id = row.get_attribute("data-id")
    for _ in range(2):  # two more people report the same child from next door
        again = requests.post(f"{live_server}/api/v1/reports", json=report_body(),
                              headers=headers, timeout=10)
        assert again.status_code == 201, again.text
    # NOTE: the row is drawn again with each report, and the board draws a row's content only
    # once a frame shows it on screen (content-visibility): read its text, not its rendering.
    dispatch.wait_for_function(
        "(id) => (document.querySelector(`[data-testid=reports-${id}]`)?.textContent || '')"
        ".trim().startsWith('3')", arg=incident_id)
    assert dispatch.locator("tr[data-status=new]").count() == 1  # one incident, not three
    assert dispatch.evaluate("window.__sameDocument") is True
