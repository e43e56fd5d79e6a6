"""End-to-end tests run on SQLite and, when available, on PostgreSQL.

The slowest ones (a browser, or real server processes killed and restarted) run on one backend:
PostgreSQL when it is there (CI, production), else SQLite; what they test does not depend on
the database, and the rest of the suite covers both. This keeps CI well under 30 minutes.
"""

import pytest

from tests.conftest import PG_URL, REDIS_URL, need
from tests.e2e.server import prepare

# Modules that run on one backend only (see above).
ONE_BACKEND_MODULES = ("test_browser_", "test_faults", "test_jobs_process", "test_nginx")


def pytest_collection_modifyitems(config, items):
    """Deselect the other backend's variant of the slow modules."""
    keep_backend = "postgresql" if PG_URL.startswith("postgresql") else "sqlite"
    dropped, kept = [], []
    for item in items:
        module = item.module.__name__.rsplit(".", 1)[-1] if item.module else ""
        backend = getattr(item, "callspec", None) and item.callspec.params.get("backend")
        if module.startswith(ONE_BACKEND_MODULES) and backend and backend != keep_backend:
            dropped.append(item)
        else:
            kept.append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request) -> str:
    """Both database backends."""
    return request.param


@pytest.fixture
def redis_url():
    """Redis for the message queue (skips, or fails under REQUIRE_SERVICES=1, without it)."""
    need("Redis", bool(REDIS_URL), "REDIS_URL is not set")
    import redis

    try:
        redis.Redis.from_url(REDIS_URL).ping()
    except redis.RedisError as exc:
        need("Redis", False, f"cannot reach {REDIS_URL}: {exc}")
    return REDIS_URL


@pytest.fixture
def served_db(backend, tmp_path, request) -> str:
    """A database for real server processes: migrated, with the demo data (as `make run`)."""
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path / 'served.db'}"
    else:
        url = request.getfixturevalue("pg_database")
        request.getfixturevalue("db_url")  # empties the shared PostgreSQL database first
    prepare(url)
    return url
