"""In Chromium: every desk works under the Content-Security-Policy and none reports a violation.

A refused script or style fails silently (the page just stops doing something), so each page
records every `securitypolicyviolation` event and Chromium's own "Refused to ..." console
lines from the first document on, while the desks are used: the live map draws an incident,
the print maps draw theirs (their script runs with the response's nonce), the simulator's form
answers, the escalation page's province picker reloads it, the team's phone reports its
position (Permissions-Policy geolocation=(self)), and map tiles come from the configured host.
"""

from __future__ import annotations

import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.conftest import incident_body
from tests.e2e.server import server
from tests.e2e.test_browser_path import browser, open_desk  # noqa: F401
from tests.e2e.test_two_processes import login
from tests.ess_helpers import png_bytes

pytestmark = pytest.mark.browser

RECORD = """
document.addEventListener("securitypolicyviolation", (e) => {
  console.error(`CSP violation: ${e.violatedDirective} blocked ${e.blockedURI || "inline"} `
                + `at ${e.sourceFile}:${e.lineNumber}`);
});
"""


class TileServer:
    """Map tiles from another origin (another port), recording the Referer each request sent."""

    def __init__(self):
        tile = png_bytes()
        referers = self.referers = []

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802
                referers.append(self.headers.get("Referer", ""))
                self.send_response(200)
                self.send_header("Content-Type", "image/png")
                self.send_header("Content-Length", str(len(tile)))
                self.end_headers()
                self.wfile.write(tile)

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/{{z}}/{{x}}/{{y}}.png"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


class Watched:
    """A browser whose every context reports CSP violations (and its requests) from the start."""

    def __init__(self, chromium):
        self.chromium = chromium
        self.violations: list[str] = []
        self.requests: list[str] = []

    def new_context(self, **options):
        if options.get("is_mobile"):  # the team's phone has a position to report
            options.update(permissions=["geolocation"],
                           geolocation={"latitude": 16.82, "longitude": 100.26})
        context = self.chromium.new_context(**options)
        context.add_init_script(RECORD)
        context.on("console", self._console)
        context.on("request", lambda request: self.requests.append(request.url))
        return context

    def _console(self, message):
        text = message.text
        if "CSP violation" in text or "Content Security Policy" in text:
            self.violations.append(f"{message.page.url if message.page else '?'}: {text}")


@pytest.fixture
def tiles():
    source = TileServer()
    yield source
    source.close()


@pytest.fixture
def tiled_server(served_db, tmp_path, tiles):
    """A real server whose maps take their tiles from the tile server."""
    with server(served_db, extra_env={"MAP_TILE_URL": tiles.url},
                log_path=tmp_path / "server.log") as (base, _proc):
        yield base


def test_every_desk_works_under_the_policy_without_a_violation(browser, tiled_server,  # noqa: F811
                                                                tiles):
    base = tiled_server
    watched = Watched(browser)
    calls = open_desk(watched, base, "calltaker", "/desk/calls")
    dispatch = open_desk(watched, base, "dispatcher", "/desk/dispatch")
    team = open_desk(watched, base, "team1", "/desk/team", mobile=True)
    supervisor = open_desk(watched, base, "supervisor", "/desk/supervisor")
    cases = open_desk(watched, base, "caseworker", "/desk/cases")
    admin = open_desk(watched, base, "admin", "/desk/escalation")

    # The live map is folium's nonced script: it ran, and the map holds tiles from their host.
    assert supervisor.evaluate("typeof L") == "object"
    supervisor.wait_for_selector("#map-box .leaflet-tile-loaded")
    # The team's phone reported its position (geolocation is allowed to this origin).
    for _ in range(100):
        if any(url.endswith("/api/teams/me/position") for url in watched.requests):
            break
        team.wait_for_timeout(100)
    assert any(url.endswith("/api/teams/me/position") for url in watched.requests)

    # An incident reaches the live map; its ref is then drawn by the print maps.
    http, token = login(base, "calltaker")
    made = http.post(f"{base}/api/calls", json=incident_body(),
                     headers={"X-CSRFToken": token}).json()["incident"]
    supervisor.wait_for_function("() => document.getElementById('map-box').dataset.markers === '1'")
    dispatch.locator("tr[data-status=new]", has_text=made["ref"]).wait_for()
    dispatch.goto(f"{base}/desk/incidents/{made['id']}")
    dispatch.goto(f"{base}/desk/incidents/{made['id']}/map")
    dispatch.wait_for_selector(f".leaflet-tooltip:has-text('{made['ref']}')")
    dispatch.wait_for_selector(".leaflet-tile-loaded")
    supervisor.goto(f"{base}/desk/reports/shift-map")
    supervisor.wait_for_selector(f".leaflet-tooltip:has-text('{made['ref']}')")
    supervisor.go_back()
    supervisor.wait_for_selector("body[data-live='1']")

    # The simulator's form (moved out of the page into supervisor.js) still answers.
    supervisor.click("#simulate-call button[type=submit]")
    supervisor.wait_for_selector("#simulate-call .message.ok")
    assert supervisor.inner_text("#simulate-call .message").strip()
    calls.wait_for_selector("[data-testid=pop]")

    # The escalation page's province picker (its onchange moved into escalation.js) reloads it.
    admin.select_option("[data-testid=esc-province]", "50")
    admin.wait_for_url(re.compile(r"province=50"))
    assert admin.locator("[data-testid=escalation]").get_attribute("data-province") == "50"

    for page in (calls, cases):
        page.reload()
    assert watched.violations == []
    # Tiles got this console's origin as referrer (their host asks for one), never a page path.
    assert tiles.referers and set(tiles.referers) <= {"", f"{base}/"}, tiles.referers
    assert f"{base}/" in tiles.referers
