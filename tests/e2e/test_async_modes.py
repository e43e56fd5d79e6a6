"""A real server under each async mode, driven over loopback with python-socketio clients."""

from __future__ import annotations

import threading

import pytest

from tests.conftest import incident_body
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
