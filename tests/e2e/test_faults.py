"""Faults with real processes: Redis killed and restarted, a process killed right after a commit,
PostgreSQL connections terminated. Every console must converge to what is stored: 0 lost,
0 shown twice, and it must be told while delivery is degraded."""

from __future__ import annotations

import shutil
import subprocess
import threading
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass, field

import pytest
import requests
import socketio
from sqlalchemy import create_engine, text

from tests.conftest import incident_body, need
from tests.e2e.server import free_port, server, stop
from tests.e2e.test_two_processes import login

FAST = {"RELAY_SECONDS": "0.3", "RELAY_GRACE_SECONDS": "1", "SYNC_HEARTBEAT_SECONDS": "2"}


@contextmanager
def private_redis():
    """A Redis of our own on a free port, so the test can kill it; yields (url, start, kill)."""
    import redis

    binary = shutil.which("redis-server")
    need("redis-server", binary is not None, "redis-server is not installed")
    port = free_port()
    procs: list[subprocess.Popen] = []

    def start() -> None:
        procs.append(subprocess.Popen(
            [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly",
             "no"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                redis.Redis(port=port).ping()
                return
            except redis.RedisError:
                time.sleep(0.05)
        raise RuntimeError("private redis did not start")

    def kill() -> None:
        procs[-1].kill()
        procs[-1].wait(5)

    start()
    try:
        yield f"redis://127.0.0.1:{port}/0", start, kill
    finally:
        for proc in procs:
            stop(proc)


@dataclass
class Console:
    """A dispatcher console as the browser runs it: applies each incident once, hears sync."""

    client: socketio.Client
    applied: dict[int, int] = field(default_factory=dict)  # incident id -> seq
    syncs: list[dict] = field(default_factory=list)

    def on_incident(self, env: dict) -> None:
        self.applied.setdefault(env["data"]["id"], env["seq"])


def console(base: str, username: str = "dispatcher") -> Console:
    """A logged-in dispatcher console connected by websocket."""
    http, _ = login(base, username)
    client = socketio.Client(reconnection=False)
    watcher = Console(client)
    client.on("incident.created", watcher.on_incident)
    client.on("sync", watcher.syncs.append)
    cookie = "; ".join(f"{c.name}={c.value}" for c in http.cookies)
    client.connect(base, headers={"Cookie": cookie}, transports=["websocket"])
    return watcher


class Desk:
    """A call-taker creating incidents, retrying a lost answer with the same Idempotency-Key."""

    def __init__(self, base: str):
        self.base = base
        self.http, self.token = login(base, "calltaker")
        self.created: list[int] = []

    def create(self, summary: str) -> int:
        key = uuid.uuid4().hex
        body = incident_body(summary=summary)
        for _attempt in range(40):
            try:
                resp = self.http.post(f"{self.base}/api/calls", json=body, timeout=10,
                                      headers={"X-CSRFToken": self.token,
                                               "Idempotency-Key": key})
            except requests.RequestException:
                time.sleep(0.25)
                continue
            if resp.status_code == 201:
                incident_id = resp.json()["incident"]["id"]
                if incident_id not in self.created:
                    self.created.append(incident_id)
                return incident_id
            assert resp.status_code >= 500, resp.text  # a dependency is down: retry
            time.sleep(0.25)
        raise AssertionError(f"create {summary!r} never succeeded")


def stored_ids(db_url: str) -> list[int]:
    """Incidents in the database."""
    from console.db import make_engine

    engine = make_engine(db_url)
    with engine.connect() as conn:
        ids = [r[0] for r in conn.execute(text("SELECT id FROM incident ORDER BY id"))]
    engine.dispose()
    return ids


def wait_until(predicate, seconds: float) -> bool:
    """Poll until true or the time is up."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return predicate()


def converged(consoles: list[Console], expected: set[int]) -> bool:
    """Every console applied exactly the expected incidents."""
    return all(set(c.applied) == expected for c in consoles)


def report(consoles: list[Console], expected: set[int]) -> str:
    """What each console misses or has in excess."""
    return "; ".join(f"console {i}: missing {sorted(expected - set(c.applied))}, "
                     f"extra {sorted(set(c.applied) - expected)}" for i, c in enumerate(consoles))


def test_redis_killed_and_restarted_mid_flow_loses_nothing(served_db, tmp_path):
    with private_redis() as (queue, restart, kill_redis):
        env = {**FAST, "SOCKETIO_MESSAGE_QUEUE": queue, "SOCKETIO_CHANNEL": "faults"}
        with server(served_db, extra_env=env, log_path=tmp_path / "a.log") as (base_a, _), \
                server(served_db, extra_env=env, log_path=tmp_path / "b.log") as (base_b, _):
            consoles = [console(base_a), console(base_b), console(base_b)]
            desk_a, desk_b = Desk(base_a), Desk(base_b)
            for i in range(3):
                desk_a.create(f"before {i}")
            kill_redis()
            # Created while the queue is down: the other process's consoles get them from
            # that process's outbox relay.
            outage = [desk_a.create(f"during A {i}") for i in range(4)]
            outage += [desk_b.create(f"during B {i}") for i in range(2)]
            assert wait_until(lambda: all(set(outage) <= set(c.applied) for c in consoles), 15), \
                report(consoles, set(outage))
            # ... and the consoles were told delivery is degraded (they show "not live").
            assert wait_until(lambda: all(any(s["queue"] == "down" for s in c.syncs)
                                          for c in consoles), 10)
            restart()
            for i in range(3):
                desk_a.create(f"after {i}")
            expected = set(desk_a.created + desk_b.created)
            assert set(stored_ids(served_db)) == expected  # nothing twice, nothing unstored
            assert wait_until(lambda: converged(consoles, expected), 20), \
                report(consoles, expected)
            assert wait_until(lambda: all(c.syncs[-1]["queue"] == "ok" for c in consoles), 10), \
                "the queue never came back"
            for c in consoles:
                c.client.disconnect()


def test_process_killed_right_after_commit_loses_nothing_and_the_retry_is_no_duplicate(
        served_db, tmp_path, redis_url):
    env = {**FAST, "SOCKETIO_MESSAGE_QUEUE": redis_url,
           "SOCKETIO_CHANNEL": f"faults-{uuid.uuid4().hex}"}
    with server(served_db, extra_env=env, log_path=tmp_path / "b.log") as (base_b, _):
        watchers = [console(base_b), console(base_b)]
        with server(served_db, extra_env=env, log_path=tmp_path / "a.log",
                    script="tests/e2e/fault_server.py") as (base_a, proc_a):
            desk = Desk(base_a)
            key = uuid.uuid4().hex
            body = incident_body(summary="the answer is lost")
            with pytest.raises(requests.RequestException):
                desk.http.post(f"{base_a}/api/calls", json=body, timeout=10,
                               headers={"X-CSRFToken": desk.token, "Idempotency-Key": key})
            assert proc_a.wait(10) == 9  # died right after the commit
        # The call-taker presses Save again; the desk now reaches the other process.
        resp = desk.http.post(f"{base_b}/api/calls", json=body, timeout=10,
                              headers={"X-CSRFToken": desk.token, "Idempotency-Key": key})
        assert resp.status_code == 201, resp.text
        assert resp.headers.get("Idempotent-Replayed") == "true"
        incident_id = resp.json()["incident"]["id"]
        assert stored_ids(served_db) == [incident_id]  # stored once
        # Never sent by the dead process: the survivor's relay delivers it, once per console.
        assert wait_until(lambda: converged(watchers, {incident_id}), 10), \
            report(watchers, {incident_id})
        for w in watchers:
            w.client.disconnect()


def test_postgresql_connections_terminated_mid_flow_lose_nothing(served_db, tmp_path, backend):
    if backend != "postgresql":
        pytest.skip("PostgreSQL connection loss needs PostgreSQL")
    name = served_db.rsplit("/", 1)[1]
    admin = create_engine(served_db.replace("postgresql://", "postgresql+psycopg://", 1)
                          .rsplit("/", 1)[0] + "/postgres", isolation_level="AUTOCOMMIT")
    with server(served_db, extra_env=FAST, log_path=tmp_path / "a.log") as (base, _):
        watchers = [console(base), console(base)]
        desk = Desk(base)
        stop_killing = threading.Event()
        killed = []

        def killer() -> None:
            while not stop_killing.is_set():
                with admin.connect() as conn:
                    killed.extend(conn.execute(text(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                        "WHERE datname = :n AND pid <> pg_backend_pid()"), {"n": name}).all())
                time.sleep(0.7)

        thread = threading.Thread(target=killer)
        thread.start()
        try:
            for i in range(8):
                desk.create(f"under fire {i}")
        finally:
            stop_killing.set()
            thread.join(10)
        assert killed, "no connection was terminated"
        expected = set(desk.created)
        assert set(stored_ids(served_db)) == expected
        assert wait_until(lambda: converged(watchers, expected), 20), report(watchers, expected)
        for w in watchers:
            w.client.disconnect()
    admin.dispose()
