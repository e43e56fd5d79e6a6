"""Alembic migrations build, from zero, exactly the schema the models describe."""

from __future__ import annotations

import re
import uuid

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect, text

from console.all_models import metadata
from console.db import make_engine
from console.errors import DomainError
from console.models import AuditLog
from tests.conftest import PG_URL, migrate, need, pg_admin_url


@pytest.fixture
def empty_url(backend, tmp_path):
    """A brand-new empty database."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.db'}"
        return
    need("PostgreSQL", PG_URL.startswith("postgresql"), "DATABASE_URL is not a PostgreSQL URL")
    name = f"console_mig_{uuid.uuid4().hex[:10]}"
    admin = create_engine(pg_admin_url(), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    yield re.sub(r"/[^/]*$", f"/{name}", PG_URL)
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def test_upgrade_from_zero_matches_the_models(empty_url):
    engine = make_engine(empty_url)
    assert inspect(engine).get_table_names() == []
    migrate(empty_url)
    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(ctx, metadata)
        assert diff == [], diff
        tables = set(inspect(conn).get_table_names())
        assert set(metadata.tables) | {"alembic_version"} == tables
        assert conn.execute(text("SELECT value FROM realtime_counter WHERE id = 1")).scalar() == 0
    engine.dispose()


def test_the_audit_log_is_append_only_in_the_database(empty_url):
    migrate(empty_url)
    engine = make_engine(empty_url)
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO audit_log (at, action, entity, detail) "
                          "VALUES (CURRENT_TIMESTAMP, 'x', 'test', '{}')"))
    for statement in ("UPDATE audit_log SET action = 'changed'", "DELETE FROM audit_log"):
        with pytest.raises(Exception, match="append-only"):
            with engine.begin() as conn:
                conn.execute(text(statement))
    with engine.connect() as conn:
        assert conn.execute(text("SELECT action FROM audit_log")).scalars().all() == ["x"]
    engine.dispose()


def test_the_orm_refuses_to_change_audit_rows(session):
    from console.service import record_audit

    row = record_audit(session=session, actor_id=None, action="x", entity="test", entity_id=None)
    session.commit()
    row.action = "changed"
    with pytest.raises(DomainError):
        session.flush()
    session.rollback()
    session.delete(session.get(AuditLog, row.id))
    with pytest.raises(DomainError):
        session.flush()


def _alembic(url: str, verb: str, revision: str) -> None:
    from alembic import command
    from alembic.config import Config

    from console.config import BASE_DIR

    cfg = Config(str(BASE_DIR / "alembic.ini"))
    cfg.set_main_option("script_location", str(BASE_DIR / "migrations"))
    cfg.attributes["database_url"] = url
    getattr(command, verb)(cfg, revision)


def test_assigned_teams_become_offered_or_en_route_and_back(empty_url):
    # Before the team statuses were split, a team holding a job was just 'assigned'.
    _alembic(empty_url, "upgrade", "d21303a69438")
    engine = make_engine(empty_url)
    team_sql = ("INSERT INTO team (id, code, name, province_code, status, skills, "
                "status_changed_at, version) VALUES (:id, :code, :code, '65', 'assigned', '[]', "
                "CURRENT_TIMESTAMP, 1)")
    incident_sql = (
        "INSERT INTO incident (id, source, category, priority, status, summary, notes, "
        "province_code, address_text, precision, team_id, created_at, updated_at, version) "
        "VALUES (:id, 'hotline', 'children', 'P1', :status, 's', '', '65', '', 'province', "
        ":team, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP, 1)")
    with engine.begin() as conn:
        for i, code in ((1, "T-1"), (2, "T-2")):
            conn.execute(text(team_sql), {"id": i, "code": code})
        conn.execute(text(incident_sql), {"id": 1, "status": "acknowledged", "team": 1})
        conn.execute(text(incident_sql), {"id": 2, "status": "assigned", "team": 2})
    _alembic(empty_url, "upgrade", "heads")
    status = "SELECT status FROM team ORDER BY id"
    with engine.connect() as conn:
        assert conn.execute(text(status)).scalars().all() == ["en_route", "offered"]
    with pytest.raises(Exception, match="(?i)check|constraint"):
        with engine.begin() as conn:
            conn.execute(text("UPDATE team SET status = 'assigned' WHERE id = 1"))
    _alembic(empty_url, "downgrade", "d21303a69438")
    with engine.connect() as conn:
        assert conn.execute(text(status)).scalars().all() == ["en_route", "assigned"]
    engine.dispose()
