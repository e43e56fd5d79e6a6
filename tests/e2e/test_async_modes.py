"""A real server under each async mode, driven over loopback with python-socketio clients."""

from __future__ import annotations

import re
import threading

import pytest
import requests
from sqlalchemy import create_engine, text

from tests.conftest import incident_body, need
from tests.e2e.server import server
from tests.e2e.test_two_processes import connect, login


@pytest.mark.parametrize("mode", ["threading", "eventlet", "gevent"])
def test_incident_reaches_a_console_under_each_async_mode(served_db, tmp_path, mode):
    url = served_db
    env = {"SOCKETIO_ASYNC_MODE": mode}
    with server(url, extra_env=env, log_path=tmp_path / f"{mode}.log") as (base, _):
        dispatcher_http, _ = login(base, "dispatcher")
        consoles = [connect(base, dispatcher_http, ["incident.created"]) for _ in range(5)]
        calltaker_http, token = login(base, "calltaker")
        ids = []
        for i in range(3):
            resp = calltaker_http.post(f"{base}/api/calls", json=incident_body(summary=f"m{i}"),
                                       headers={"X-CSRFToken": token})
            assert resp.status_code == 201, resp.text
            ids.append(resp.json()["incident"]["id"])
        done = threading.Event()
        for client, got, _ready in consoles:
            for _ in range(100):
                if len(got) == 3:
                    break
                done.wait(0.1)
            assert [e["data"]["id"] for e in got] == ids, mode
            seqs = [e["seq"] for e in got]
            assert seqs == sorted(seqs)
            client.disconnect()


@pytest.mark.parametrize("backend", ["postgresql"])
@pytest.mark.parametrize("mode", ["threading", "eventlet", "gevent"])
def test_a_request_waiting_on_a_row_lock_leaves_the_other_consoles_served(
        served_db, tmp_path, mode, backend):
    """One request stuck behind a PostgreSQL row lock must not stop the process serving others.

    Under eventlet psycopg 3 would wait in C (it only recognises gevent's patching) and the
    whole process would stand still until the lock went.
    """
    need("PostgreSQL", served_db.startswith("postgresql"), "needs row locks")
    with server(served_db, extra_env={"SOCKETIO_ASYNC_MODE": mode},
                log_path=tmp_path / f"{mode}.log") as (base, _):
        member = requests.Session()
        page = member.get(f"{base}/login").text
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
        member.post(f"{base}/login", data={"username": "team1", "password": "demo1300",
                                           "csrf_token": token}, allow_redirects=False)
        token = re.search(r'name="csrf-token" content="([^"]+)"',
                          member.get(f"{base}/desk/team").text).group(1)
        dispatcher, _token = login(base, "dispatcher")
        engine = create_engine(served_db.replace("postgresql://", "postgresql+psycopg://"))
        holder = engine.connect()
        holder.begin()
        holder.execute(text("SELECT id FROM team WHERE code = 'PSL-1' FOR UPDATE"))
        answers: list[int] = []
        stuck = threading.Thread(target=lambda: answers.append(member.post(
            f"{base}/api/teams/me/position", json={"lat": 16.82, "lon": 100.26},
            headers={"X-CSRFToken": token}, timeout=60).status_code))
        stuck.start()
        try:
            waiting = 0
            for _ in range(100):  # until the position update waits on the lock in PostgreSQL
                waiting = holder.execute(text(
                    "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                    "AND datname = current_database()")).scalar()
                if waiting:
                    break
                threading.Event().wait(0.1)
            assert waiting == 1, "the position update never reached the lock"
            # Another console's board, which reads the database too, is still served.
            state = dispatcher.get(f"{base}/api/state", timeout=20)
            assert state.status_code == 200 and state.json()["teams"]
            assert stuck.is_alive() and answers == [], "the lock was released too early"
        finally:
            holder.rollback()
            holder.close()
            engine.dispose()
        stuck.join(30)
        assert answers == [200], mode
