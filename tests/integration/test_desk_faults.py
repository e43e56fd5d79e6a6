"""Desk writes retried after a lost answer, and clear answers while a dependency is down."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import sessionmaker

from console.db import make_engine
from console.models import DeskIdempotency
from dispatch.models import Incident
from telephony.models import Call
from tests.conftest import REDIS_URL, incident_body, need


def count(session, model) -> int:
    session.rollback()
    return session.scalar(select(func.count()).select_from(model))


def test_a_retried_create_returns_the_first_incident(app, login_as, session):
    calltaker = login_as("calltaker")
    key = {"Idempotency-Key": "a1b2c3d4e5f6a7b8"}
    first = calltaker.post("/api/calls", json=incident_body(), headers=key)
    assert first.status_code == 201
    again = calltaker.post("/api/calls", json=incident_body(), headers=key)
    assert again.status_code == 201 and again.headers["Idempotent-Replayed"] == "true"
    assert again.json == first.json
    assert count(session, Incident) == 1 and count(session, Call) == 1
    # The same key with other content is refused and changes nothing.
    other = calltaker.post("/api/calls", json=incident_body(summary="อื่น"), headers=key)
    assert other.status_code == 409 and other.json["error"]
    assert count(session, Incident) == 1
    # Without a key (or with a new one) a second create is a second incident.
    assert calltaker.post("/api/calls", json=incident_body()).status_code == 201
    assert calltaker.post("/api/calls", json=incident_body(),
                          headers={"Idempotency-Key": "ffffeeeeddddcccc"}).status_code == 201
    assert count(session, Incident) == 3


def test_keys_belong_to_one_user_and_bad_keys_are_refused(app, login_as, session):
    calltaker, supervisor = login_as("calltaker"), login_as("supervisor")
    key = {"Idempotency-Key": "shared-key-0001"}
    assert calltaker.post("/api/calls", json=incident_body(), headers=key).status_code == 201
    theirs = supervisor.post("/api/calls", json=incident_body(), headers=key)
    assert theirs.status_code == 201 and "Idempotent-Replayed" not in theirs.headers
    assert count(session, Incident) == 2
    bad = calltaker.post("/api/calls", json=incident_body(), headers={"Idempotency-Key": "x y"})
    assert bad.status_code == 422 and "Idempotency-Key" in bad.json["fields"]
    assert count(session, Incident) == 2


def test_a_refused_write_keeps_its_key_free(app, login_as, session):
    calltaker = login_as("calltaker")
    key = {"Idempotency-Key": "retry-after-fix-1"}
    body = incident_body()
    body["incident"]["priority"] = "P9"
    assert calltaker.post("/api/calls", json=body, headers=key).status_code == 422
    assert count(session, DeskIdempotency) == 0
    fixed = calltaker.post("/api/calls", json=body | {"incident": incident_body()["incident"]},
                           headers={"Idempotency-Key": "retry-after-fix-2"})
    assert fixed.status_code == 201


def test_twin_requests_with_one_key_make_one_incident(app, login_as, session, backend):
    if backend != "postgresql":
        pytest.skip("concurrent writers need PostgreSQL (SQLite serialises them)")
    calltaker = login_as("calltaker")
    key = {"Idempotency-Key": "twin-twin-twin-01"}
    answers = []
    barrier = threading.Barrier(2)

    def send():
        http = app.test_client()
        http.set_cookie("session", calltaker.http.get_cookie("session").value)
        barrier.wait()
        answers.append(http.post("/api/calls", json=incident_body(),
                                 headers={**key, "X-CSRFToken": calltaker.token}))

    threads = [threading.Thread(target=send) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(a.status_code for a in answers) == [201, 201]
    assert answers[0].json == answers[1].json
    assert count(session, Incident) == 1


@pytest.fixture
def database_down(app):
    """The app's database stops answering (connection refused), as in a PostgreSQL outage."""
    dead = make_engine("postgresql://postgres@127.0.0.1:1/none")
    factory = app.extensions["db_factory"]
    app.extensions["db_factory"] = sessionmaker(bind=dead, expire_on_commit=False,
                                                info=factory.kw["info"])
    yield
    app.extensions["db_factory"] = factory
    dead.dispose()


def test_login_answers_503_in_the_users_language_when_the_database_is_down(
        app, database_down):
    from tests.conftest import csrf_token

    for lang, word in (("th", "ฐานข้อมูล"), ("en", "database")):
        anonymous = app.test_client()
        anonymous.set_cookie("lang", lang)
        token = csrf_token(anonymous)  # the login page itself needs no database
        resp = anonymous.post("/login", data={"username": "calltaker", "password": "demo1300",
                                              "csrf_token": token})
        text = resp.get_data(as_text=True)
        assert resp.status_code == 503, text[:300]
        assert word in text and "Internal Server Error" not in text


@pytest.fixture
def logged_in_then_down(app, login_as):
    """A call-taker logged in while the database was up; then it goes down."""
    calltaker = login_as("calltaker")
    return calltaker


def test_a_logged_in_desk_gets_json_503_and_saves_nothing(app, logged_in_then_down, session,
                                                          database_down):
    calltaker = logged_in_then_down
    resp = calltaker.post("/api/calls", json=incident_body())
    assert resp.status_code == 503 and resp.is_json and resp.json["error"]
    page = calltaker.get("/desk/calls")
    assert page.status_code == 503 and "<html" in page.get_data(as_text=True)
    assert count(session, Incident) == 0  # `session` is bound to the real database


def test_position_index_is_rebuilt_after_redis_loses_it(db_url):
    need("Redis", bool(REDIS_URL), "REDIS_URL is not set")
    import uuid

    from console import create_app
    from dispatch import service as dispatch_service
    from dispatch.models import Team
    from geo.spatial import RedisGeoIndex

    prefix = f"test:positions:{uuid.uuid4().hex[:8]}"
    app = create_app({"TESTING": True, "DATABASE_URL": db_url, "SOCKETIO_MESSAGE_QUEUE": None,
                      "SECRET_KEY": "t", "RATELIMIT_STORAGE_URI": "memory://",
                      "POSITIONS_REDIS_URL": REDIS_URL, "POSITIONS_PREFIX": prefix})
    index = app.extensions["positions"]
    assert isinstance(index, RedisGeoIndex)
    try:
        session = app.extensions["db_factory"]()
        placed = session.scalars(select(Team).where(Team.lat.is_not(None))).all()
        assert placed, "the demo has teams with positions"
        assert len(index) == len(placed) and not index.needs_load()
        # What a Redis restart leaves: no positions, no marker.
        index.client.delete(index.geo_key, index.pos_key, index.loaded_key)
        assert index.needs_load() and len(index) == 0
        assert dispatch_service.ensure_positions_index(session=session, index=index) == len(
            placed)
        assert len(index) == len(placed) and not index.needs_load()
        assert dispatch_service.ensure_positions_index(session=session, index=index) is None
        session.close()
    finally:
        index.clear()
        app.extensions["db_engine"].dispose()
