"""End-to-end tests run on SQLite and, when available, on PostgreSQL."""

import pytest

from tests.conftest import REDIS_URL, need
from tests.e2e.server import prepare


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
