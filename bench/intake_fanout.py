"""Intake -> dispatcher fan-out latency on a real server over loopback (prints figures).

python bench/intake_fanout.py [--consoles 50] [--incidents 50] [--rate 5]

One call-taker logs incidents through the real create path (login session, CSRF, validation,
commit, outbox); N dispatcher consoles (python-socketio clients, websocket transport) record when
`incident.created` reaches them. Reports p50/p95/p99/max from POST start to receipt, lost
events, the POST round trip itself, and the server's CPU time and peak RSS. Loopback only,
bounded in count and time. Uses DATABASE_URL when set, else a temporary SQLite file.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import socketio  # noqa: E402

from tests.conftest import incident_body  # noqa: E402
from tests.e2e.server import prepare, server  # noqa: E402
from tests.e2e.test_two_processes import login  # noqa: E402


def pct(values: list[float], p: float) -> float:
    """The p-th percentile (nearest rank)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))]


def proc_stats(pid: int) -> tuple[float, int]:
    """CPU seconds used and peak RSS (KiB) of a process, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    cpu = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    peak = next(int(line.split()[1]) for line in Path(f"/proc/{pid}/status").read_text()
                .splitlines() if line.startswith("VmHWM"))
    return cpu, peak


def main() -> None:
    """Run the benchmark and print its figures."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--consoles", type=int, default=50)
    parser.add_argument("--incidents", type=int, default=50)
    parser.add_argument("--rate", type=float, default=5.0)
    args = parser.parse_args()
    assert args.consoles <= 500 and args.incidents <= 1000, "bounded benchmark"

    with tempfile.TemporaryDirectory() as tmp:
        url = os.environ.get("DATABASE_URL") or f"sqlite:///{tmp}/bench.db"
        prepare(url)
        with server(url, extra_env={"SOCKETIO_MESSAGE_QUEUE": ""}) as (base, proc):
            received: dict[int, list[float]] = {}
            lock = threading.Lock()
            clients = []
            http, _ = login(base, "dispatcher")
            cookie = "; ".join(f"{c.name}={c.value}" for c in http.cookies)
            for _ in range(args.consoles):
                client = socketio.Client(reconnection=False)

                def on_created(env, _c=client):
                    now = time.perf_counter()
                    with lock:
                        received.setdefault(env["data"]["id"], []).append(now)

                client.on("incident.created", on_created)
                client.connect(base, headers={"Cookie": cookie}, transports=["websocket"])
                clients.append(client)
            calltaker, token = login(base, "calltaker")
            cpu_before, _ = proc_stats(proc.pid)
            sent: dict[int, float] = {}
            posts: list[float] = []
            interval = 1.0 / args.rate
            start = time.perf_counter()
            for i in range(args.incidents):
                target = start + i * interval
                time.sleep(max(0.0, target - time.perf_counter()))
                t0 = time.perf_counter()
                resp = calltaker.post(f"{base}/api/calls", json=incident_body(summary=f"b{i}"),
                                      headers={"X-CSRFToken": token})
                posts.append(time.perf_counter() - t0)
                assert resp.status_code == 201, resp.text
                sent[resp.json()["incident"]["id"]] = t0
            deadline = time.perf_counter() + 10
            while time.perf_counter() < deadline:
                with lock:
                    if sum(len(v) for v in received.values()) >= len(sent) * args.consoles:
                        break
                time.sleep(0.05)
            cpu_after, peak_kib = proc_stats(proc.pid)
            for client in clients:
                client.disconnect()

    latencies = [(t - sent[i]) * 1000 for i, times in received.items() if i in sent
                 for t in times]
    expected = len(sent) * args.consoles
    print(f"consoles={args.consoles} incidents={args.incidents} rate={args.rate}/s "
          f"db={'postgresql' if os.environ.get('DATABASE_URL') else 'sqlite'} mode=threading")
    print(f"POST /api/calls round trip ms: p50={pct([p * 1000 for p in posts], 50):.1f} "
          f"p99={pct([p * 1000 for p in posts], 99):.1f}")
    print(f"created->received ms: p50={pct(latencies, 50):.1f} p95={pct(latencies, 95):.1f} "
          f"p99={pct(latencies, 99):.1f} max={max(latencies):.1f} "
          f"mean={statistics.mean(latencies):.1f}")
    print(f"events expected={expected} received={len(latencies)} lost={expected - len(latencies)}")
    print(f"server cpu={cpu_after - cpu_before:.2f}s peak_rss={peak_kib / 1024:.0f} MiB")


if __name__ == "__main__":
    main()
