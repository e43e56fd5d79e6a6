"""A real server under each async mode, driven over loopback with python-socketio clients."""

from __future__ import annotations

import base64
import os
import socket
import threading

import pytest
from sqlalchemy import text

from console.db import make_engine
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
        member, token = login(base, "team1", desk="/desk/team")
        dispatcher, _token = login(base, "dispatcher")
        engine = make_engine(served_db)
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


def websocket_extensions(base: str) -> str | None:
    """Open a websocket as a browser does, offering deflate; the extensions the server accepted."""
    host, port = base.removeprefix("http://").split(":")
    key = base64.b64encode(os.urandom(16)).decode()
    request = (f"GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: {host}:{port}\r\n"
               "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
               f"Sec-WebSocket-Key: {key}\r\n"
               "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n\r\n")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(request.encode())
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = sock.recv(4096)
            if not chunk:
                break
            head += chunk
    lines = head.split(b"\r\n\r\n")[0].decode("latin-1").split("\r\n")
    assert " 101 " in lines[0], lines[0]
    headers = dict(line.split(": ", 1) for line in lines[1:] if ": " in line)
    return {k.lower(): v for k, v in headers.items()}.get("sec-websocket-extensions")


@pytest.mark.parametrize("backend", ["sqlite"])
@pytest.mark.parametrize(("mode", "setting"), [
    ("threading", None), ("eventlet", None), ("gevent", None), ("threading", "1")])
def test_consoles_websockets_are_not_deflated_unless_configured(served_db, tmp_path, mode,
                                                                setting, backend):
    env = {"SOCKETIO_ASYNC_MODE": mode}
    if setting is not None:
        env["SOCKETIO_WS_COMPRESSION"] = setting
    with server(served_db, extra_env=env, log_path=tmp_path / f"{mode}.log") as (base, _):
        accepted = websocket_extensions(base)
    if setting == "1":
        assert accepted and accepted.startswith("permessage-deflate")
    else:
        assert accepted is None, (mode, accepted)
