"""Issue 11: soak under faults. Prints sent / stored / delivered / lost / duplicated and the
recovery time of each fault (a benchmark that prints figures, not a pass/fail test).

python bench/soak.py [--minutes 30] [--rate 5] [--consoles 20] [--fault-every 120]
                     [--mode gevent] [--out bench/results/soak.json]

Two server processes (run.py, `--mode`) on a fresh PostgreSQL database `bench_soak`
(BENCH_PG_URL, default postgresql://postgres@127.0.0.1:5432/) share events through a private
Redis started on a free loopback port. `--consoles` dispatcher consoles (python-socketio,
websocket) run the browser's algorithm (console.js): a cursor, replay pages from it on every
(re)connect, `sync` moves the cursor, each incident applied once; a console whose process dies
reconnects to the other one. A call-taker creates incidents at `--rate`/s through the real
create path with an Idempotency-Key, retrying a lost answer with the same key. Every
`--fault-every` seconds one fault, in turn: Redis killed and restarted 5 s later, one server
process killed (kill -9) and restarted, PostgreSQL backends terminated (pg_terminate_backend).
At the end it waits up to 60 s for every console to converge and reports. Loopback only; every
loop is bounded by the run's duration.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import requests
import socketio
from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.conftest import incident_body  # noqa: E402
from tests.e2e.server import free_port, prepare, stop  # noqa: E402


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def login(base: str, username: str) -> tuple[requests.Session, str]:
    http = requests.Session()
    page = http.get(f"{base}/login", timeout=10).text
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    resp = http.post(f"{base}/login", data={"username": username, "password": "demo1300",
                                            "csrf_token": token},
                     allow_redirects=False, timeout=10)
    assert resp.status_code == 302, resp.status_code
    desk = "/desk/calls" if username == "calltaker" else "/desk/dispatch"
    page = http.get(f"{base}{desk}", timeout=10).text
    return http, re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)


class Server:
    """One run.py process that can be killed and started again on the same port."""

    def __init__(self, db_url: str, env: dict[str, str], name: str, logdir: Path):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.env = {**os.environ, **env, "DATABASE_URL": db_url, "HOST": "127.0.0.1",
                    "PORT": str(self.port), "SECRET_KEY": "soak-secret",
                    "RATELIMIT_STORAGE_URI": "memory://", "POSITIONS_REDIS_URL": ""}
        self.name, self.logdir, self.proc = name, logdir, None

    def start(self) -> None:
        out = open(self.logdir / f"{self.name}.log", "ab")
        self.proc = subprocess.Popen([sys.executable, "run.py"], cwd=ROOT, env=self.env,
                                     stdout=out, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if requests.get(f"{self.base}/login", timeout=1).status_code == 200:
                    return
            except requests.RequestException:
                time.sleep(0.2)
        raise RuntimeError(f"{self.name} did not start")

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)


class Console:
    """console.js in Python: cursor, replay pages on connect, sync, apply once."""

    def __init__(self, bases: list[str], index: int):
        self.bases, self.index = bases, index
        self.applied: dict[int, float] = {}  # incident id -> when applied
        self.cursor = 0
        self.replaying = True
        self.buffer: list[dict] = []
        self.lock = threading.RLock()
        self.client: socketio.Client | None = None
        self.http = None
        self.behind_since: float | None = None
        self.behind_total = 0.0
        self.reconnects = 0

    def _apply(self, env: dict) -> None:
        if env["seq"] <= self.cursor:
            return
        if env.get("name") == "incident.created":
            self.applied.setdefault(env["data"]["id"], time.monotonic())

    def on_event(self, env: dict) -> None:
        with self.lock:
            if self.replaying:
                self.buffer.append(env)
            else:
                self._apply(env)

    def on_sync(self, msg: dict) -> None:
        with self.lock:
            if not self.replaying and msg.get("upto", 0) > self.cursor:
                self.cursor = msg["upto"]
            ok = msg.get("queue") == "ok" and msg.get("db") == "ok"
            self._behind(not ok)

    def _behind(self, behind: bool) -> None:
        now = time.monotonic()
        if behind and self.behind_since is None:
            self.behind_since = now
        elif not behind and self.behind_since is not None:
            self.behind_total += now - self.behind_since
            self.behind_since = None

    def load_board(self, base: str) -> None:
        board = self.http.get(f"{base}/api/state", timeout=10).json()
        with self.lock:
            self.cursor = board["head"]
            for inc in board["incidents"]:
                self.applied.setdefault(inc["id"], time.monotonic())

    def catch_up(self) -> None:
        while True:
            reply = self.client.call("replay", {"since": self.cursor}, timeout=10)
            if not isinstance(reply, dict) or reply.get("error"):
                raise RuntimeError(f"replay: {reply}")
            if reply["gone"]:
                self.load_board(self.client.connection_url)
                break
            with self.lock:
                for env in reply["events"]:
                    self._apply(env)
                self.cursor = max(self.cursor, reply["upto"])
            if reply["complete"]:
                break
        with self.lock:
            for env in sorted(self.buffer, key=lambda e: e["seq"]):
                self._apply(env)
            self.buffer.clear()
            self.replaying = False
            self._behind(False)

    def connect(self, deadline: float) -> None:
        """Connect to a living process (this one's first), replay, and stay."""
        while time.monotonic() < deadline:
            base = self.bases[(self.index + self.reconnects) % len(self.bases)]
            try:
                if self.http is None:
                    self.http, _ = login(base, "dispatcher")
                    self.load_board(base)
                client = socketio.Client(reconnection=False)
                client.on("incident.created", self.on_event)
                client.on("sync", self.on_sync)
                client.on("disconnect", self.on_drop)
                cookie = "; ".join(f"{c.name}={c.value}" for c in self.http.cookies)
                with self.lock:
                    self.replaying = True
                    self._behind(True)
                client.connect(base, headers={"Cookie": cookie}, transports=["websocket"],
                               wait_timeout=5)
                self.client = client
                self.catch_up()
                return
            except Exception:  # noqa: BLE001
                self.reconnects += 1
                time.sleep(0.5)

    def on_drop(self, *_args) -> None:
        with self.lock:
            self.replaying = True
            self._behind(True)
        self.reconnects += 1
        threading.Thread(target=self.connect, args=(time.monotonic() + 120,),
                         daemon=True).start()


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--minutes", type=float, default=30)
    ap.add_argument("--rate", type=float, default=5)
    ap.add_argument("--consoles", type=int, default=20)
    ap.add_argument("--fault-every", type=float, default=120)
    ap.add_argument("--mode", default="gevent")
    ap.add_argument("--out", default=str(ROOT / "bench" / "results" / "soak.json"))
    args = ap.parse_args()

    pg = os.environ.get("BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/").rstrip("/")
    admin = create_engine(pg.replace("postgresql://", "postgresql+psycopg://", 1) + "/postgres",
                          isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text("DROP DATABASE IF EXISTS bench_soak WITH (FORCE)"))
        conn.execute(text("CREATE DATABASE bench_soak"))
    db_url = pg + "/bench_soak"
    prepare(db_url)
    logdir = Path(ROOT / "bench" / "results" / "soak-logs")
    logdir.mkdir(parents=True, exist_ok=True)

    redis_port = free_port()
    redis_bin = shutil.which("redis-server") or "redis-server"

    def start_redis() -> subprocess.Popen:
        proc = subprocess.Popen([redis_bin, "--port", str(redis_port), "--bind", "127.0.0.1",
                                 "--save", "", "--appendonly", "no"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(0.3)
        return proc

    redis_proc = start_redis()
    env = {"SOCKETIO_ASYNC_MODE": args.mode,
           "SOCKETIO_MESSAGE_QUEUE": f"redis://127.0.0.1:{redis_port}/0",
           "SOCKETIO_CHANNEL": f"soak-{uuid.uuid4().hex[:6]}"}
    servers = [Server(db_url, env, "a", logdir), Server(db_url, env, "b", logdir)]
    for s in servers:
        s.start()
    bases = [s.base for s in servers]
    end = time.monotonic() + args.minutes * 60
    consoles = [Console(bases, i) for i in range(args.consoles)]
    for c in consoles:
        c.connect(time.monotonic() + 60)
    log(f"{len(consoles)} consoles on {bases}")

    sent = {"ok": 0, "retried": 0, "failed": 0}
    created: dict[int, float] = {}
    desk_http, desk_token = login(bases[0], "calltaker")

    def create(i: int) -> None:
        key = uuid.uuid4().hex
        body = incident_body(summary=f"soak {i}")
        for attempt in range(60):
            base = bases[attempt % 2]
            try:
                resp = desk_http.post(f"{base}/api/calls", json=body, timeout=10,
                                      headers={"X-CSRFToken": desk_token,
                                               "Idempotency-Key": key})
                if resp.status_code == 201:
                    created.setdefault(resp.json()["incident"]["id"], time.monotonic())
                    sent["ok"] += 1
                    sent["retried"] += attempt > 0
                    return
            except requests.RequestException:
                pass
            time.sleep(0.5)
        sent["failed"] += 1

    faults: list[dict] = []

    def inject(n: int) -> None:
        nonlocal redis_proc
        kind = ("redis", "process", "postgres")[n % 3]
        at = time.monotonic()
        before = set(created)
        if kind == "redis":
            redis_proc.kill()
            redis_proc.wait(5)
            time.sleep(5)
            redis_proc = start_redis()
        elif kind == "process":
            victim = servers[n % 2]
            victim.kill()
            time.sleep(2)
            victim.start()
        else:
            with admin.connect() as conn:
                conn.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                  "WHERE datname = 'bench_soak' AND pid <> pg_backend_pid()"))
        faults.append({"kind": kind, "at": at, "created_before": len(before)})
        log(f"fault {n}: {kind}")

    i, n_fault = 0, 0
    next_fault = time.monotonic() + args.fault_every
    start = time.monotonic()
    while time.monotonic() < end:
        tick = start + i / args.rate
        delay = tick - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        threading.Thread(target=create, args=(i,), daemon=True).start()
        i += 1
        if time.monotonic() >= next_fault:
            threading.Thread(target=inject, args=(n_fault,), daemon=True).start()
            n_fault += 1
            next_fault += args.fault_every
    time.sleep(12)  # the last creates' retries
    expected = set(created)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not all(expected <= set(c.applied) for c in consoles):
        time.sleep(0.5)
    engine = create_engine(db_url.replace("postgresql://", "postgresql+psycopg://", 1))
    with engine.connect() as conn:
        stored = {r[0] for r in conn.execute(text("SELECT id FROM incident"))}
    engine.dispose()
    lost = [len(expected - set(c.applied)) for c in consoles]
    delays = sorted(c.applied[k] - created[k] for c in consoles for k in expected
                    if k in c.applied and c.applied[k] >= created[k])
    for f in faults:
        # Recovery: the worst delay from create to applied on any console, for incidents
        # created in the 30 s after the fault began.
        window = [k for k, at in created.items() if f["at"] <= at <= f["at"] + 30]
        worst = [c.applied[k] - created[k] for c in consoles for k in window if k in c.applied]
        f["worst_delay_s"] = round(max(worst), 2) if worst else None
        f["in_window"] = len(window)
    result = {
        "minutes": args.minutes, "rate": args.rate, "consoles": args.consoles,
        "mode": args.mode, "sent_ok": sent["ok"], "retried": sent["retried"],
        "failed": sent["failed"], "stored": len(stored), "created": len(expected),
        "stored_not_answered": len(stored - expected), "lost_pairs": sum(lost),
        "consoles_missing_any": sum(1 for x in lost if x),
        "delivery_p50_s": round(statistics.median(delays), 3) if delays else None,
        "delivery_p99_s": round(delays[int(len(delays) * 0.99) - 1], 3) if delays else None,
        "delivery_max_s": round(delays[-1], 3) if delays else None,
        "behind_seconds_mean": round(statistics.mean(c.behind_total for c in consoles), 1),
        "reconnects": sum(c.reconnects for c in consoles),
        "faults": [{"kind": f["kind"], "incidents_in_30s": f["in_window"],
                    "worst_delay_s": f["worst_delay_s"]} for f in faults],
    }
    print(json.dumps(result, indent=2))
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2))
    for c in consoles:
        try:
            c.client.disconnect()
        except Exception:  # noqa: BLE001
            pass
    for s in servers:
        stop(s.proc)
    stop(redis_proc)
    admin.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
