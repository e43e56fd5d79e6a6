"""Integration tests run on SQLite and, when available, on PostgreSQL."""

import pytest


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request) -> str:
    """Both database backends."""
    return request.param
