"""Security headers (issue 12): a CSP without inline script on every page, no framing, a
same-origin referrer, nosniff; HSTS and Secure cookies only behind an https PUBLIC_BASE_URL."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
from sqlalchemy import select

from cases.models import Case
from tests.conftest import incident_body, login
from tests.integration.test_path_http import team_id

pytestmark = pytest.mark.parametrize("backend", ["sqlite"])  # headers do not touch the database


def policy(response) -> dict[str, list[str]]:
    """The response's Content-Security-Policy as {directive: [sources]}."""
    header = response.headers.get("Content-Security-Policy")
    assert header, f"{response.request.path} has no Content-Security-Policy"
    directives = {}
    for part in header.split(";"):
        name, *sources = part.split()
        assert name not in directives, f"{name} twice"
        directives[name] = sources
    return directives


class InlineCode(HTMLParser):
    """Every piece of code in a page that a CSP without 'unsafe-inline' would refuse."""

    def __init__(self, nonce: str | None):
        super().__init__()
        self.nonce = nonce
        self.refused: list[str] = []
        self.nonced = 0
        self.external: list[str] = []

    def handle_starttag(self, tag, attrs):
        found = dict(attrs)
        for name, value in attrs:
            if name.startswith("on"):
                self.refused.append(f"<{tag} {name}=...> event handler")
            if name == "style":
                self.refused.append(f"<{tag} style=...> attribute")
            if name in ("href", "src", "action", "formaction") and (value or "").strip().lower(
            ).startswith("javascript:"):
                self.refused.append(f"<{tag} {name}=javascript:...>")
        if tag in ("script", "style") and "src" in found:
            self.external.append(found["src"])
        elif tag == "script" and (found.get("type") or "").lower() == "application/json":
            pass  # a data block, never executed
        elif tag in ("script", "style"):
            if self.nonce and found.get("nonce") == self.nonce:
                self.nonced += 1
            else:
                self.refused.append(f"inline <{tag}> without this response's nonce")


def scan(response) -> InlineCode:
    """Parse an HTML page against the nonce its own policy carries."""
    sources = policy(response)["script-src"]
    nonces = [s[len("'nonce-"):-1] for s in sources if s.startswith("'nonce-")]
    parser = InlineCode(nonces[0] if nonces else None)
    parser.feed(response.get_data(as_text=True))
    return parser


@pytest.fixture
def pages(app, login_as, session):
    """Every desk page (and the login, error and print-map pages) with the user who opens it."""
    calltaker = login_as("calltaker")
    dispatcher = login_as("dispatcher")
    member = login_as("team1")
    made = calltaker.post("/api/calls", json=incident_body()).json["incident"]
    dispatcher.post(f"/api/incidents/{made['id']}/assign",
                    json={"team_id": team_id(session, "PSL-1")})
    for step in ("acknowledge", "en-route", "on-scene", "resolve"):
        assert member.post(f"/api/incidents/{made['id']}/steps/{step}",
                           json={"note": step}).status_code == 200
    case_id = session.scalar(select(Case.id).where(Case.incident_id == made["id"]))
    still_open = calltaker.post("/api/calls", json=incident_body()).json["incident"]
    supervisor, caseworker, admin = (login_as(u) for u in ("supervisor", "caseworker", "admin"))
    return [
        (app.test_client(), "/login", 200),
        (calltaker, "/desk/calls", 200),
        (calltaker, "/desk/dispatch", 403),  # the error page
        (app.test_client(), "/no-such-page", 404),
        (dispatcher, "/desk/dispatch", 200),
        (dispatcher, f"/desk/incidents/{made['id']}", 200),
        (dispatcher, f"/desk/incidents/{made['id']}/map", 200),
        (dispatcher, f"/desk/incidents/{still_open['id']}/map", 200),
        (member, "/desk/team", 200),
        (supervisor, "/desk/supervisor", 200),
        (supervisor, "/desk/reports/shift-map", 200),
        (caseworker, "/desk/cases", 200),
        (caseworker, f"/desk/cases/{case_id}", 200),
        (admin, "/desk/escalation", 200),
    ]


def test_no_page_runs_code_the_policy_would_refuse(pages):
    nonced_pages = []
    for client, url, status in pages:
        response = client.get(url)
        assert response.status_code == status, url
        assert response.mimetype == "text/html", url
        csp = policy(response)
        for directive in ("script-src", "style-src"):
            assert "'unsafe-inline'" not in csp[directive], (url, directive)
            assert "'unsafe-eval'" not in csp[directive], (url, directive)
            assert csp[directive][0] == "'self'", (url, directive)
        page = scan(response)
        assert page.refused == [], (url, page.refused)
        assert all(src.startswith("/static/") for src in page.external), (url, page.external)
        if page.nonced:
            nonced_pages.append(url)
        else:  # a page that needs no nonce gets a policy without one
            assert not any(s.startswith("'nonce-") for s in csp["script-src"]), url
    # Only the folium maps carry generated code, each in one nonced script.
    assert sorted(nonced_pages) == sorted(
        url for _client, url, _status in pages if url.endswith(("map", "/desk/supervisor")))


def test_the_nonce_is_new_for_every_response(login_as):
    supervisor = login_as("supervisor")
    nonces = set()
    for _ in range(3):
        response = supervisor.get("/desk/supervisor")
        nonce = re.search(r'<script nonce="([^"]+)">', response.get_data(as_text=True))[1]
        assert f"'nonce-{nonce}'" in policy(response)["script-src"]
        nonces.add(nonce)
    assert len(nonces) == 3
    assert all(len(n) >= 22 for n in nonces)  # 128 bits or more


def test_policy_framing_referrer_and_sniffing_on_every_kind_of_response(login_as):
    dispatcher = login_as("dispatcher")
    for url in ("/desk/dispatch", "/api/state", "/static/js/console.js", "/login",
                "/api/no-such-thing"):
        response = dispatcher.get(url)
        csp = policy(response)
        assert csp["default-src"] == ["'self'"], url
        assert csp["object-src"] == ["'none'"], url
        assert csp["base-uri"] == ["'self'"] and csp["form-action"] == ["'self'"], url
        assert csp["frame-ancestors"] == ["'none'"], url
        assert response.headers["X-Frame-Options"] == "DENY", url
        assert response.headers["Referrer-Policy"] == "same-origin", url
        assert response.headers["X-Content-Type-Options"] == "nosniff", url
        # The team's phone reports its position; nothing else is granted.
        permissions = response.headers["Permissions-Policy"]
        assert "geolocation=(self)" in permissions and "camera=()" in permissions, url
        # Socket.IO's websocket to this same host is named (plain http here: ws and wss).
        assert {"'self'", "ws://localhost", "wss://localhost"} == set(csp["connect-src"]), url
        # Without a tile source the maps load images from this origin only.
        assert csp["img-src"] == ["'self'", "data:", "blob:"], url
        assert "Strict-Transport-Security" not in response.headers, url


def test_the_configured_tile_host_and_only_it_may_serve_images(app, login_as):
    supervisor = login_as("supervisor")
    app.config["MAP_TILE_URL"] = "https://{s}.tile.example.org/{z}/{x}/{y}.png"
    csp = policy(supervisor.get("/desk/supervisor"))
    assert csp["img-src"] == ["'self'", "data:", "blob:", "https://*.tile.example.org"]
    assert csp["connect-src"] == ["'self'", "ws://localhost", "wss://localhost"]
    app.config["MAP_TILE_URL"] = "https://tiles.example.org:8443/osm/{z}/{x}/{y}.png"
    csp = policy(supervisor.get("/desk/calls"))
    assert csp["img-src"][-1] == "https://tiles.example.org:8443"
    app.config["MAP_TILE_URL"] = "https://evil.example.org; script-src *"  # never widens it
    csp = policy(supervisor.get("/desk/calls"))
    assert csp["img-src"] == ["'self'", "data:", "blob:"]
    assert csp["script-src"] == ["'self'"]


@pytest.fixture
def https_app(db_url):
    """The console behind an https public address."""
    from console import create_app

    app = create_app({
        "TESTING": True, "DATABASE_URL": db_url, "SOCKETIO_MESSAGE_QUEUE": None,
        "SECRET_KEY": "test-secret", "RATELIMIT_STORAGE_URI": "memory://",
        "POSITIONS_REDIS_URL": None, "PUBLIC_BASE_URL": "https://hotline.example.org",
    })
    yield app
    app.extensions["db_engine"].dispose()


def set_cookies(response) -> dict[str, str]:
    return {c.split("=", 1)[0]: c for c in response.headers.getlist("Set-Cookie")}


def switch_language(client) -> dict[str, str]:
    response = client.post("/language", data={"lang": "en", "next": "/desk/dispatch",
                                              "csrf_token": client.token})
    assert response.status_code == 302
    return set_cookies(response)


def test_hsts_and_secure_cookies_behind_https(https_app):
    anonymous = https_app.test_client()
    page = anonymous.get("/login")
    assert page.headers["Strict-Transport-Security"] == "max-age=31536000"
    assert "; Secure" in set_cookies(page)["session"]
    # Served over https the websocket is wss only.
    assert policy(page)["connect-src"] == ["'self'", "wss://localhost"]
    dispatcher = login(https_app, "dispatcher")
    assert "Strict-Transport-Security" in dispatcher.get("/api/state").headers
    cookies = switch_language(dispatcher)
    assert re.search(r";\s*Secure", cookies["lang"]), cookies["lang"]
    assert cookies["lang"].count("Secure") == 1
    assert "HttpOnly" in cookies["lang"] and "SameSite=Lax" in cookies["lang"]
    assert https_app.config["SESSION_COOKIE_SECURE"] is True
    assert https_app.config["REMEMBER_COOKIE_SECURE"] is True


def test_no_hsts_and_no_secure_cookies_over_plain_http(app):
    anonymous = app.test_client()
    page = anonymous.get("/login")
    assert "Strict-Transport-Security" not in page.headers
    assert "Secure" not in set_cookies(page)["session"]
    cookies = switch_language(login(app, "dispatcher"))
    assert "Secure" not in cookies["lang"]
