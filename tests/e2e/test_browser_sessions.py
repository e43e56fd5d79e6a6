"""In Chromium: a call-taker's session ends (logged out in another tab) while a call is half
typed; the desk says so at once, keeps the form, and resumes after logging in again."""

from __future__ import annotations

import re

import pytest

from tests.e2e.test_browser_path import browser, live_server, open_desk  # noqa: F401

pytestmark = pytest.mark.browser


def test_logout_in_another_tab_keeps_the_half_typed_call(browser, live_server):  # noqa: F811
    page = open_desk(browser, live_server, "calltaker", "/desk/calls")
    page.wait_for_selector("body[data-live='1']")
    page.fill("[data-testid=number]", "081-234-5678")
    page.fill("[data-testid=summary]", "ยายถูกทิ้งไว้คนเดียว กำลังพิมพ์อยู่")
    page.fill("[data-testid=notes]", "บ้านหลังวัด")

    other = page.context.new_page()  # the same browser, another tab: log out there
    other.goto(f"{live_server}/desk/calls")
    other.click("form.logout button")
    other.wait_for_url(re.compile(r"/login"))

    page.wait_for_selector("[data-testid=session-ended]", timeout=10000)
    assert page.get_attribute("#conn", "data-state") == "ended"
    assert page.evaluate("document.body.dataset.live") == "0"
    assert page.evaluate("window.__sameDocument") is True  # no reload, no navigation
    assert page.input_value("[data-testid=summary]") == "ยายถูกทิ้งไว้คนเดียว กำลังพิมพ์อยู่"

    # Log in again in the other tab: this desk resumes by itself, the form still there.
    other.fill("input[name=username]", "calltaker")
    other.fill("input[name=password]", "demo1300")
    other.click("button[type=submit]")
    other.wait_for_url(re.compile(r"/desk/"))
    page.wait_for_selector("[data-testid=session-ended]", state="detached", timeout=15000)
    page.wait_for_selector("body[data-live='1']", timeout=15000)
    assert page.input_value("[data-testid=notes]") == "บ้านหลังวัด"
    page.check("[data-testid=action-incident]")
    page.select_option("[data-testid=category]", "elderly")
    page.check("[data-testid=priority-P2]")
    page.select_option("[data-testid=province]", "65")
    page.wait_for_function(
        "() => document.querySelectorAll('[data-testid=district] option').length > 1")
    page.select_option("[data-testid=district]", "6501")
    page.click("[data-testid=submit-call]")
    page.wait_for_selector("#form-message.ok[data-ref]", timeout=10000)  # the new CSRF token
    assert re.fullmatch(r"65-25\d\d-\d{6}", page.get_attribute("#form-message", "data-ref"))


def test_a_reload_restores_the_half_typed_call(browser, live_server):  # noqa: F811
    page = open_desk(browser, live_server, "calltaker", "/desk/calls")
    page.fill("[data-testid=summary]", "พิมพ์ค้างไว้ก่อนโหลดหน้าใหม่")
    page.wait_for_timeout(500)  # the draft is saved 0.3 s after the last key
    page.reload()
    assert page.input_value("[data-testid=summary]") == "พิมพ์ค้างไว้ก่อนโหลดหน้าใหม่"
    assert page.locator("#form-message").inner_text().strip() != ""


def test_idle_expiry_shows_at_once_and_keeps_the_form(browser, live_server, served_db):  # noqa: F811
    from datetime import timedelta

    from sqlalchemy import update

    from console.db import make_engine, utcnow
    from console.models import UserSession

    page = open_desk(browser, live_server, "calltaker", "/desk/calls")
    page.wait_for_selector("body[data-live='1']")
    page.fill("[data-testid=summary]", "กำลังพิมพ์ตอนหมดเวลา")
    engine = make_engine(served_db)
    with engine.begin() as conn:  # the officer went quiet for longer than SESSION_IDLE_MINUTES
        conn.execute(update(UserSession).values(last_seen_at=utcnow() - timedelta(hours=3)))
    engine.dispose()
    # Every process checks its sockets' sessions every SESSION_CHECK_SECONDS (5 s).
    page.wait_for_selector("[data-testid=session-ended]", timeout=20000)
    assert page.get_attribute("#conn", "data-state") == "ended"
    assert page.evaluate("window.__sameDocument") is True
    assert page.input_value("[data-testid=summary]") == "กำลังพิมพ์ตอนหมดเวลา"
