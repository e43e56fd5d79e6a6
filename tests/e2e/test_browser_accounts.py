"""In Chromium: a supervisor sets up and uses two-step login (TOTP, a refused reused code, a
recovery code), and an administrator adds a user on the users desk, who then has to choose
their own password at the first login. No page may break the Content-Security-Policy."""

from __future__ import annotations

import re

import pyotp
import pytest

from tests.e2e.test_browser_path import browser, live_server  # noqa: F401

pytestmark = pytest.mark.browser

STRONG = "ช้างเผือก กินกล้วย 7 ลูก"


def new_page(browser, violations: list[str]):  # noqa: F811
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="th-TH",
                                  timezone_id="Asia/Bangkok")
    context.route(re.compile(r"^https?://(?!127\.0\.0\.1)"), lambda route: route.abort())
    page = context.new_page()
    page.on("console", lambda m: violations.append(m.text)
            if "Content Security Policy" in m.text or "Refused to" in m.text else None)
    return page


def log_in(page, base: str, username: str, password: str) -> None:
    page.goto(f"{base}/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")


def add_supervisor(db_url: str) -> None:
    """A real (non-demo) supervisor with a known password, straight into the served database."""
    from console import all_models  # noqa: F401
    from console import service as console_service
    from console.db import make_engine, make_sessionmaker, session_scope
    from console.enums import Role

    engine = make_engine(db_url)
    with session_scope(make_sessionmaker(engine)) as session:
        console_service.create_user(session=session, username="sup.e2e", password=STRONG,
                                    display_name="หัวหน้าเวร ทดสอบ", role=Role.SUPERVISOR,
                                    province_code="65")
    engine.dispose()


def test_a_supervisor_sets_up_and_uses_two_step_login(browser, live_server,  # noqa: F811
                                                       served_db):
    add_supervisor(served_db)
    violations: list[str] = []
    page = new_page(browser, violations)
    log_in(page, live_server, "sup.e2e", STRONG)
    page.wait_for_url(re.compile(r"/login/setup$"))
    assert page.locator("[data-testid=qr]").evaluate("img => img.naturalWidth") > 0
    secret = page.inner_text("[data-testid=secret]").replace(" ", "")
    totp = pyotp.TOTP(secret)
    page.fill("[data-testid=code]", "000000" if totp.now() != "000000" else "111111")
    page.click("[data-testid=code-submit]")
    page.wait_for_selector("[data-testid=code-error]")
    used = totp.now()
    page.fill("[data-testid=code]", used)
    page.click("[data-testid=code-submit]")
    page.wait_for_selector("[data-testid=recovery-codes]")
    codes = page.locator("[data-testid=recovery-code]").all_inner_texts()
    assert len(codes) == 10
    page.click("[data-testid=continue]")
    page.wait_for_url(re.compile(r"/desk/supervisor"))
    page.wait_for_function("() => document.body.dataset.live === '1'")
    page.click("form.logout button")
    page.wait_for_url(re.compile(r"/login"))

    # The code that set the app up is refused the second time; a recovery code works once.
    log_in(page, live_server, "sup.e2e", STRONG)
    page.wait_for_url(re.compile(r"/login/code$"))
    page.fill("[data-testid=code]", used)
    page.click("[data-testid=code-submit]")
    page.wait_for_selector("[data-testid=code-error]")
    assert "/login/code" in page.url
    page.fill("[data-testid=code]", codes[0])
    page.click("[data-testid=code-submit]")
    page.wait_for_url(re.compile(r"/desk/supervisor"))
    page.goto(f"{live_server}/account")
    assert "9" in page.inner_text("[data-testid=twofactor-on]")
    assert violations == []


def test_an_admin_adds_a_user_who_then_chooses_a_password(browser, live_server):  # noqa: F811
    violations: list[str] = []
    page = new_page(browser, violations)
    log_in(page, live_server, "admin", "demo1300")  # the demo's admin: no second factor
    page.wait_for_url(re.compile(r"/desk/"))
    page.click("[data-testid=nav-users]")
    page.wait_for_url(re.compile(r"/desk/users$"))
    assert page.is_visible("[data-testid=demo-warning]")

    # The team picker offers only the chosen province's teams, and only for field members.
    page.select_option("[data-testid=new-role]", "field_member")
    page.select_option("[data-testid=new-province]", "65")
    teams = page.locator("[data-testid=new-team] option").all_inner_texts()
    assert any("พิษณุโลก" in t for t in teams) and not any("เชียงใหม่" in t for t in teams)
    page.select_option("[data-testid=new-role]", "dispatcher")
    assert page.is_disabled("[data-testid=new-team]")

    page.fill("[data-testid=new-username]", "A")
    page.fill("[data-testid=new-display-name]", "วีระ สั่งการ")
    page.fill("[data-testid=new-phone]", "081-555-0102")
    page.click("[data-testid=create-user]")
    page.wait_for_selector(".field-error[data-field=username]")
    assert page.locator("tr[data-username='e2e.dispatcher']").count() == 0
    page.fill("[data-testid=new-username]", "e2e.dispatcher")
    page.click("[data-testid=create-user]")
    page.wait_for_selector("[data-testid=new-user] [data-testid=temp-password]")
    temporary = page.inner_text("[data-testid=new-user] [data-testid=temp-password]")
    assert re.fullmatch(r"[a-z2-9]{4}(-[a-z2-9]{4}){3}", temporary)
    page.wait_for_selector("tr[data-username='e2e.dispatcher']")
    assert page.locator(".field-error").count() == 0

    # The new user logs in with it and must choose their own password first.
    other = new_page(browser, violations)
    log_in(other, live_server, "e2e.dispatcher", temporary)
    other.wait_for_url(re.compile(r"/account/password$"))
    assert other.is_visible("[data-testid=forced]")
    other.goto(f"{live_server}/desk/dispatch")
    other.wait_for_url(re.compile(r"/account/password$"))
    other.fill("[data-testid=current-password]", temporary)
    other.fill("[data-testid=new-password]", "password1234")
    other.fill("[data-testid=confirm-password]", "password1234")
    other.click("[data-testid=save-password]")
    other.wait_for_selector(".field-error[data-field=new_password]")
    other.fill("[data-testid=current-password]", temporary)
    other.fill("[data-testid=new-password]", STRONG)
    other.fill("[data-testid=confirm-password]", STRONG)
    other.click("[data-testid=save-password]")
    other.wait_for_selector("[data-testid=password-changed]")
    other.goto(f"{live_server}/desk/dispatch")
    other.wait_for_url(re.compile(r"/desk/dispatch$"))

    # The administrator sees the change in the user's history.
    page.click("tr[data-username='e2e.dispatcher'] a")
    page.wait_for_url(re.compile(r"/desk/users/\d+$"))
    assert "เปลี่ยนรหัสผ่าน" in page.inner_text("table.history")
    assert violations == []
