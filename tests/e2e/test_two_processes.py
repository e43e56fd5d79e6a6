"""Two real server processes share realtime events through Redis (Flask-SocketIO queue)."""

from __future__ import annotations

import re
import threading
import uuid

import pytest
import requests
import socketio

from tests.conftest import incident_body
from tests.e2e.server import server

pytestmark = pytest.mark.redis


def login(base: str, username: str, desk: str | None = None) -> tuple[requests.Session, str]:
    """Log in over HTTP like a browser; return the session and its CSRF token (from `desk`)."""
    http = requests.Session()
    page = http.get(f"{base}/login").text
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    resp = http.post(f"{base}/login", data={"username": username, "password": "demo1300",
                                            "csrf_token": token}, allow_redirects=False)
    assert resp.status_code == 302
    desk = desk or ("/desk/calls" if username == "calltaker" else "/desk/dispatch")
    page = http.get(f"{base}{desk}")
    token = re.search(r'name="csrf-token" content="([^"]+)"', page.text).group(1)
    return http, token


def connect(base: str, http: requests.Session, names: list[str]):
    """A python-socketio client with the browser's cookie, recording events by name."""
    got: list[dict] = []
    ready = threading.Event()
    client = socketio.Client(reconnection=False)
    for name in names:
        client.on(name, lambda env, _n=name: (got.append(env), ready.set()))
    cookie = "; ".join(f"{c.name}={c.value}" for c in http.cookies)
    client.connect(base, headers={"Cookie": cookie}, transports=["websocket"])
    return client, got, ready


def test_an_incident_created_on_one_process_reaches_a_console_on_the_other(
    served_db, tmp_path, redis_url
):
    url = served_db
    env = {"SOCKETIO_MESSAGE_QUEUE": redis_url, "SOCKETIO_CHANNEL": f"test-{uuid.uuid4().hex}"}
    with server(url, extra_env=env, log_path=tmp_path / "a.log") as (base_a, _), \
            server(url, extra_env=env, log_path=tmp_path / "b.log") as (base_b, _):
        dispatcher_http, _ = login(base_b, "dispatcher")
        cm_http, _ = login(base_b, "cm.dispatcher")
        watcher, got, ready = connect(base_b, dispatcher_http, ["incident.created"])
        outsider, cm_got, _ = connect(base_b, cm_http, ["incident.created"])
        calltaker_http, token = login(base_a, "calltaker")
        resp = calltaker_http.post(f"{base_a}/api/calls", json=incident_body(),
                                   headers={"X-CSRFToken": token})
        assert resp.status_code == 201, resp.text
        assert ready.wait(10), "event did not cross processes"
        assert [e["data"]["id"] for e in got] == [resp.json()["incident"]["id"]]
        assert got[0]["seq"] >= 1
        watcher.sleep(0.5)
        assert cm_got == []  # Chiang Mai hears nothing of Phitsanulok, on any process
        watcher.disconnect()
        outsider.disconnect()


def test_a_console_that_reconnects_to_the_other_process_gets_what_it_missed(
    served_db, tmp_path, redis_url
):
    env = {"SOCKETIO_MESSAGE_QUEUE": redis_url, "SOCKETIO_CHANNEL": f"test-{uuid.uuid4().hex}"}
    with server(served_db, extra_env=env, log_path=tmp_path / "a.log") as (base_a, _), \
            server(served_db, extra_env=env, log_path=tmp_path / "b.log") as (base_b, _):
        dispatcher_http, _ = login(base_a, "dispatcher")
        first, got, ready = connect(base_a, dispatcher_http, ["incident.created"])
        calltaker_http, token = login(base_a, "calltaker")

        def create(summary: str) -> int:
            resp = calltaker_http.post(f"{base_a}/api/calls", json=incident_body(summary=summary),
                                       headers={"X-CSRFToken": token})
            assert resp.status_code == 201
            return resp.json()["incident"]["id"]

        seen = [create("before the drop")]
        assert ready.wait(10)
        last = got[-1]["seq"]
        first.disconnect()  # the laptop sleeps; the console comes back on the other process
        missed = [create(f"while away {i}") for i in range(3)]
        again, _, _ = connect(base_b, dispatcher_http, ["incident.created"])
        reply = again.call("replay", {"since": last}, timeout=10)
        assert reply["complete"] is True
        replayed = [e["data"]["id"] for e in reply["events"] if e["name"] == "incident.created"]
        assert replayed == missed
        board = dispatcher_http.get(f"{base_b}/api/state").json()
        assert sorted(i["id"] for i in board["incidents"]) == sorted(seen + missed)
        again.disconnect()
