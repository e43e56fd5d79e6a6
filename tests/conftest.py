"""Shared fixtures: a migrated database per backend, the demo data, logged-in clients.

SQLite always runs. PostgreSQL and Redis run when DATABASE_URL / REDIS_URL are set; without them
their tests skip with a reason, except under REQUIRE_SERVICES=1 (CI), where absence fails.
"""

from __future__ import annotations

import os
import re
import shutil
import uuid
from dataclasses import dataclass

import pytest
from sqlalchemy import create_engine, text

from console.config import BASE_DIR

# The phone line's fixtures (phone_app, twilio) for every telephony test.
pytest_plugins = ["tests.telephony_fakes"]

REQUIRE_SERVICES = os.environ.get("REQUIRE_SERVICES") == "1"
PG_URL = os.environ.get("DATABASE_URL", "")
REDIS_URL = os.environ.get("REDIS_URL", "")


def need(service: str, available: bool, why: str) -> None:
    """Skip (or, under REQUIRE_SERVICES=1, fail) when a service is missing."""
    if available:
        return
    if REQUIRE_SERVICES:
        pytest.fail(f"{service} is required (REQUIRE_SERVICES=1) but {why}")
    pytest.skip(f"{service} not available: {why}")


def pg_admin_url() -> str:
    """The PostgreSQL server URL given by DATABASE_URL, with the psycopg driver."""
    return PG_URL.replace("postgresql://", "postgresql+psycopg://", 1)


def migrate(url: str) -> None:
    """Run the real Alembic migrations on a database."""
    from console.cli import upgrade

    upgrade(url)


@pytest.fixture(scope="session")
def demo_hash() -> str:
    """One argon2 hash of the demo password for the whole run."""
    from console.demo import DEMO_PASSWORD
    from console.service import hash_password

    return hash_password(DEMO_PASSWORD)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory) -> str:
    """A migrated SQLite file, copied for each test."""
    path = tmp_path_factory.mktemp("db") / "template.db"
    migrate(f"sqlite:///{path}")
    return str(path)


@pytest.fixture(scope="session")
def pg_database() -> str:
    """A migrated PostgreSQL database of our own on the server DATABASE_URL points at."""
    need("PostgreSQL", PG_URL.startswith("postgresql"), "DATABASE_URL is not a PostgreSQL URL")
    name = f"console_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(pg_admin_url(), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # noqa: BLE001
        need("PostgreSQL", False, f"cannot create a database: {exc}")
    url = re.sub(r"/[^/]*$", f"/{name}", PG_URL)
    migrate(url)
    yield url
    with admin.connect() as conn:
        conn.execute(text(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :n"
        ), {"n": name})
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
    admin.dispose()


@pytest.fixture
def backend() -> str:
    """The database backend of a test; integration tests override it to run on both."""
    return "sqlite"


@pytest.fixture
def db_url(request, backend, tmp_path, demo_hash) -> str:
    """A database in the demo state: migrated, demo data loaded, nothing else."""
    from console import all_models  # noqa: F401
    from console.db import make_engine, make_sessionmaker, session_scope
    from console.demo import load_demo

    if backend == "sqlite":
        path = tmp_path / "console.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        url = f"sqlite:///{path}"
    else:
        url = request.getfixturevalue("pg_database")
        engine = make_engine(url)
        with engine.begin() as conn:
            tables = [r[0] for r in conn.execute(text(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
                "AND tablename <> 'alembic_version'"))]
            conn.execute(text(
                "TRUNCATE " + ", ".join(f'"{t}"' for t in tables) + " RESTART IDENTITY CASCADE"))
            conn.execute(text("INSERT INTO realtime_counter (id, value) VALUES (1, 0)"))
        engine.dispose()
    engine = make_engine(url)
    with session_scope(make_sessionmaker(engine)) as session:
        load_demo(session, password_hash=demo_hash)
    engine.dispose()
    return url


@pytest.fixture
def app(db_url):
    """The console app on the test database; realtime stays in-process (no message queue)."""
    from console import create_app

    app = create_app({
        "TESTING": True,
        "DATABASE_URL": db_url,
        "SOCKETIO_MESSAGE_QUEUE": None,
        "SECRET_KEY": "test-secret",
        "RATELIMIT_STORAGE_URI": "memory://",
        "POSITIONS_REDIS_URL": None,
    })
    yield app
    app.extensions["db_engine"].dispose()


@pytest.fixture
def session(app):
    """A database session of the test app."""
    s = app.extensions["db_factory"]()
    yield s
    s.rollback()
    s.close()


@dataclass
class Client:
    """A logged-in Flask test client that sends the CSRF token like the pages do."""

    http: object
    token: str
    username: str

    def get(self, url: str, **kw):
        return self.http.get(url, **kw)

    def post(self, url: str, json=None, **kw):
        headers = {"X-CSRFToken": self.token, **kw.pop("headers", {})}
        return self.http.post(url, json=json, headers=headers, **kw)

    def put(self, url: str, json=None, **kw):
        headers = {"X-CSRFToken": self.token, **kw.pop("headers", {})}
        return self.http.put(url, json=json, headers=headers, **kw)


def csrf_token(http, url: str = "/login") -> str:
    """Read the CSRF token a page carries."""
    page = http.get(url).get_data(as_text=True)
    match = re.search(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"', page) or re.search(
        r'name="csrf-token" content="([^"]+)"', page)
    assert match, "page has no CSRF token"
    return match.group(1)


def login(app, username: str, password: str | None = None) -> Client:
    """Log in through the real login form (with its CSRF token)."""
    from console.demo import DEMO_PASSWORD

    http = app.test_client()
    token = csrf_token(http)
    resp = http.post("/login", data={"username": username, "password": password or DEMO_PASSWORD,
                                      "csrf_token": token})
    assert resp.status_code == 302, resp.get_data(as_text=True)[:500]
    return Client(http=http, token=csrf_token(http, "/login"), username=username)


@pytest.fixture
def login_as(app):
    """Factory: login_as('dispatcher') -> Client."""
    return lambda username, password=None: login(app, username, password)


def incident_body(**over) -> dict:
    """A valid call-with-incident submission, as the call-taker desk sends it."""
    body = {
        "action": "incident",
        "number": "081-234-5678",
        "caller_name": "ผู้แจ้ง",
        "summary": "เด็กถูกทำร้ายในบ้าน",
        "advice": "",
        "incident": {
            "category": "children",
            "priority": "P1",
            "notes": "ประตูสีฟ้า",
            "people": [{"age_group": "child", "sex": "female", "vulnerable_group": "child"}],
            "location": {"province_code": "65", "district_code": "6501",
                         "subdistrict_code": None, "address_text": "หมู่ 4", "lat": None,
                         "lon": None},
        },
    }
    for key, value in over.items():
        body[key] = value
    return body


@pytest.fixture
def chromium_path() -> str:
    """Debian Chromium for Playwright."""
    path = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or "/usr/bin/chromium"
    need("Chromium", os.path.exists(path), f"{path} not found (apt-get install chromium)")
    return path




def pytest_sessionstart(session) -> None:
    """Compile the translation catalogs when `make` has not (a bare `pytest` run)."""
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    for po in (BASE_DIR / "console" / "translations").glob("*/LC_MESSAGES/messages.po"):
        mo = po.with_suffix(".mo")
        if not mo.exists() or mo.stat().st_mtime < po.stat().st_mtime:
            with po.open("rb") as src:
                catalog = read_po(src)
            with mo.open("wb") as dst:
                write_mo(dst, catalog, use_fuzzy=True)
