"""Regenerate the README screenshots: python docs/make_screenshots.py (needs Debian chromium)."""

from __future__ import annotations

import re
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from playwright.sync_api import sync_playwright  # noqa: E402

from tests.e2e.server import prepare, server  # noqa: E402

OUT = Path(__file__).resolve().parent


def main() -> None:
    """Log a few incidents, assign one, and photograph the dispatcher and supervisor desks."""
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/shots.db"
        prepare(url)
        with server(url) as (base, _), sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium",
                                        args=["--no-sandbox", "--disable-gpu",
                                              "--disable-background-networking"])

            def desk(user: str, path: str):
                page = browser.new_page(viewport={"width": 1280, "height": 760})
                page.goto(f"{base}/login")
                page.fill("input[name=username]", user)
                page.fill("input[name=password]", "demo1300")
                page.click("button[type=submit]")
                page.wait_for_url(re.compile("/desk/"))
                page.goto(base + path)
                return page

            calls = desk("calltaker", "/desk/calls")
            examples = [("children", "P1", "6501", "เด็กถูกทำร้ายในบ้าน เพื่อนบ้านได้ยินเสียงร้อง"),
                        ("elderly", "P2", "6502", "ผู้สูงอายุอยู่ลำพัง ไม่มีอาหาร 2 วัน"),
                        ("homeless", "P3", "6501", "คนไร้บ้านนอนหน้าสถานีรถไฟ ป่วย")]
            for category, prio, district, text in examples:
                calls.fill("[data-testid=summary]", text)
                calls.select_option("[data-testid=category]", category)
                calls.check(f"[data-testid=priority-{prio}]")
                calls.wait_for_selector(f"[data-testid=district] option[value='{district}']",
                                        state="attached")
                calls.select_option("[data-testid=district]", district)
                calls.click("[data-testid=submit-call]")
                calls.wait_for_selector("#form-message.ok")
                calls.evaluate("document.getElementById('form-message').className = ''")
            calls.evaluate("window.scrollTo(0, 0)")
            calls.screenshot(path=str(OUT / "calls.png"))
            dispatch = desk("dispatcher", "/desk/dispatch")
            dispatch.wait_for_selector("body[data-live='1']")
            dispatch.wait_for_timeout(1500)
            dispatch.screenshot(path=str(OUT / "dispatch.png"))
            supervisor = desk("supervisor", "/desk/supervisor")
            supervisor.wait_for_selector("body[data-live='1']")
            supervisor.screenshot(path=str(OUT / "supervisor.png"))
            browser.close()


if __name__ == "__main__":
    main()
