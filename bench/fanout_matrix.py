"""Issue 6: intake -> console fan-out matrix, ours against a bare reference server (prints tables).

python bench/fanout_matrix.py [--modes threading,eventlet,gevent] [--procs 1,2]
                              [--consoles 50,200,500,1000] [--rates 1,10,50] [--seconds 2]
                              [--quick] [--out bench/results/fanout_matrix.json]

For each async mode x process count (1, or 2 sharing events through Redis) x server (ours =
run.py on the demo data; ref = bench/reference_server.py, POST -> emit to one room, nothing
else) it starts the server process(es) on free loopback ports, logs in over HTTP like a browser
(ours), and runs ONE Node process (bench/loadgen/loadgen.mjs, npm socket.io-client) that
opens N consoles (spread round-robin over the processes; 50 -> 200 -> 500 -> 1000, added
without reconnecting the earlier ones) and, per N and rate, POSTs incidents through the real
create path (call-taker cookie + CSRF; ours) or /emit (ref) while team members post positions
at 2/s, and times POST start -> `incident.created` received on every console with one clock.
Per cell it samples the servers' CPU seconds (/proc/<pid>/stat) and RSS; at the end their peak
RSS (VmHWM). Prints markdown tables with ours/ref ratios and writes the raw results as JSON.

Database for ours: a dedicated PostgreSQL database `bench_fanout` (dropped and created each
run, migrated and loaded with the demo data like `make run`) on BENCH_PG_URL (default
postgresql://postgres@127.0.0.1:5432/), else a temporary SQLite file (1 process only).
Message queue for 2 processes: REDIS_URL (default redis://127.0.0.1:6379/0), a fresh channel
per run. Loopback only; every step has a timeout and the whole run a hard cap (--cap, 570 s).
"""

from __future__ import annotations

import argparse
import json
import os
import queue
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from contextlib import ExitStack, contextmanager
from pathlib import Path

BASE = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE))

import requests  # noqa: E402

from tests.conftest import incident_body  # noqa: E402
from tests.e2e.server import free_port, prepare, stop  # noqa: E402

LOADGEN = BASE / "bench" / "loadgen"
USER_AGENT = "fanout-bench/1"  # Flask-Login "strong" sessions are bound to address + agent
PG_DEFAULT = "postgresql://postgres@127.0.0.1:5432/"
DB_NAME = "bench_fanout"
POSITION_RATE = 2.0  # team position updates per second (team1 and team2 alternately)
CLK = os.sysconf("SC_CLK_TCK")


# --- processes ------------------------------------------------------------------------------

def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU seconds of processes (all their threads), from /proc."""
    total = 0.0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += (int(fields[11]) + int(fields[12])) / CLK
    return total


def machine_busy() -> tuple[int, int]:
    """Busy and total jiffies of the whole machine (all cores), from /proc/stat."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    return sum(fields) - idle, sum(fields)


def memory_kib(pids: list[int], field: str) -> int:
    """Sum of a /proc/<pid>/status memory field (VmRSS, VmHWM) in KiB."""
    total = 0
    for pid in pids:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                total += int(line.split()[1])
    return total


@contextmanager
def servers(kind: str, count: int, env_extra: dict[str, str], log_dir: Path):
    """Start `count` server processes (ours: run.py, ref: reference_server.py); yield URLs, pids."""
    script = "run.py" if kind == "ours" else "bench/reference_server.py"
    probe = "/login" if kind == "ours" else "/health"
    procs: list[subprocess.Popen] = []
    logs = []
    try:
        urls = []
        for i in range(count):
            port = free_port()
            env = {**os.environ, "HOST": "127.0.0.1", "PORT": str(port), **env_extra}
            log = open(log_dir / f"{kind}-{i}.log", "wb")
            logs.append(log)
            procs.append(subprocess.Popen([sys.executable, script], cwd=BASE, env=env,
                                          stdout=log, stderr=subprocess.STDOUT))
            urls.append(f"http://127.0.0.1:{port}")
        for proc, url in zip(procs, urls, strict=True):
            deadline = time.monotonic() + 40
            while True:
                if proc.poll() is not None:
                    raise RuntimeError(f"{kind} server exited with {proc.returncode} "
                                       f"(log in {log_dir})")
                try:
                    if requests.get(url + probe, timeout=1).status_code == 200:
                        break
                except requests.RequestException:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{kind} server did not start within 40 s")
                time.sleep(0.2)
        yield urls, [p.pid for p in procs]
    finally:
        for proc in procs:
            stop(proc)
        for log in logs:
            log.close()


def login(base: str, username: str) -> tuple[str, str]:
    """Log in over HTTP like a browser; return the Cookie header value and the CSRF token."""
    http = requests.Session()
    http.headers["User-Agent"] = USER_AGENT
    page = http.get(f"{base}/login", timeout=10).text
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    resp = http.post(f"{base}/login", data={"username": username, "password": "demo1300",
                                            "csrf_token": token},
                     allow_redirects=False, timeout=10)
    if resp.status_code != 302:
        raise RuntimeError(f"login of {username} failed: {resp.status_code}")
    desk = {"calltaker": "calls", "dispatcher": "dispatch"}.get(username, "team")
    page = http.get(f"{base}/desk/{desk}", timeout=10).text
    csrf = re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)
    return "; ".join(f"{c.name}={c.value}" for c in http.cookies), csrf


# --- services -------------------------------------------------------------------------------

def postgres_database(admin_url: str) -> str | None:
    """Drop and create the benchmark database; its URL, or None when PostgreSQL is away."""
    try:
        import psycopg

        with psycopg.connect(admin_url + "postgres" if admin_url.endswith("/") else admin_url,
                             autocommit=True, connect_timeout=3) as conn:
            conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                         "WHERE datname = %s", (DB_NAME,))
            conn.execute(f'DROP DATABASE IF EXISTS "{DB_NAME}"')
            conn.execute(f'CREATE DATABASE "{DB_NAME}"')
    except Exception as exc:  # noqa: BLE001
        print(f"# PostgreSQL unavailable ({exc.__class__.__name__}: {exc}); using SQLite",
              file=sys.stderr)
        return None
    return re.sub(r"/[^/]*$", f"/{DB_NAME}", admin_url)


def drop_postgres_database(admin_url: str) -> None:
    """Drop the benchmark database again."""
    import psycopg

    with psycopg.connect(admin_url + "postgres" if admin_url.endswith("/") else admin_url,
                         autocommit=True, connect_timeout=3) as conn:
        conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s",
                     (DB_NAME,))
        conn.execute(f'DROP DATABASE IF EXISTS "{DB_NAME}"')


def redis_ok(url: str) -> bool:
    """Whether Redis answers."""
    try:
        import redis

        return bool(redis.Redis.from_url(url, socket_timeout=2).ping())
    except Exception:  # noqa: BLE001
        return False


def mode_available(mode: str) -> bool:
    """Whether the async mode's library imports in this interpreter."""
    if mode == "threading":
        return True
    return subprocess.run([sys.executable, "-c", f"import {mode}"], capture_output=True,
                          timeout=60).returncode == 0


def ensure_loadgen() -> None:
    """Install the pinned socket.io-client (npm ci) when node_modules is missing."""
    if (LOADGEN / "node_modules" / "socket.io-client").exists():
        return
    npm = shutil.which("npm")
    if not npm:
        raise SystemExit("npm not found: install Node.js 20 (Debian: nodejs npm)")
    subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=LOADGEN, check=True, timeout=300)


def pump(stream, lines: queue.Queue) -> None:
    """Copy a child's output lines into a queue (so reading it can time out)."""
    for line in stream:
        lines.put(line)


def bench_incident() -> dict:
    """The incident every POST sends: the desk's body, as a P4.

    NOTE: nobody dispatches the bench's incidents. As P1s (first rung 60 s) each would raise
    an "offered to no team" alarm a minute later, a burst of alarm events (and SMS rows) that
    the reference has no counterpart for; a P4's first rung (600 s) outlasts a run.
    """
    body = incident_body()
    body["incident"]["priority"] = "P4"
    return body


# --- one run --------------------------------------------------------------------------------

def run_one(*, kind: str, mode: str, procs: int, db_url: str, redis_url: str, args,
            cap_seconds: float, tmp: Path) -> dict:
    """One server kind under one mode and process count: every N x rate cell."""
    channel = f"bench-fanout-{uuid.uuid4().hex[:12]}"
    env = {"SOCKETIO_ASYNC_MODE": mode,
           "SOCKETIO_MESSAGE_QUEUE": redis_url if procs > 1 else "",
           "SOCKETIO_CHANNEL": channel}
    if kind == "ours":
        env.update({"DATABASE_URL": db_url, "SECRET_KEY": "bench-fanout-secret", "REDIS_URL": "",
                    # NOTE: the only Flask-Limiter limit (failed logins) is kept in memory; the
                    # create and position endpoints have none.
                    "RATELIMIT_STORAGE_URI": "memory://", "POSITIONS_REDIS_URL": ""})
    else:
        env["REF_WS_COMPRESSION"] = "0" if args.ref_compression == "off" else "1"
    log_dir = tmp / f"{mode}-{procs}-{kind}"
    log_dir.mkdir()
    run: dict = {"kind": kind, "mode": mode, "procs": procs, "cells": [], "connects": []}
    started = time.monotonic()
    with servers(kind, procs, env, log_dir) as (urls, pids):
        run["startup_s"] = round(time.monotonic() - started, 2)
        config = {
            "kind": kind, "urls": urls, "consoles": args.consoles, "rates": args.rates,
            "seconds": args.seconds, "minIncidents": 3, "drainSeconds": args.drain,
            "settleSeconds": 3, "saturatedMs": 1000, "positionRate": POSITION_RATE, "batch": 50,
            "userAgent": USER_AGENT, "incidentBody": bench_incident(),
            "hardCapSeconds": max(10, int(cap_seconds)),
        }
        if kind == "ours":
            config["consoleCookie"], _ = login(urls[0], "dispatcher")
            cookie, csrf = login(urls[0], "calltaker")
            config["poster"] = {"cookie": cookie, "csrf": csrf}
            config["teams"] = [dict(zip(("cookie", "csrf"), login(urls[0], t), strict=True))
                               for t in ("team1", "team2")]
        config_path = log_dir / "loadgen.json"
        config_path.write_text(json.dumps(config))
        node = subprocess.Popen([shutil.which("node") or "node", str(LOADGEN / "loadgen.mjs"),
                                 str(config_path)], cwd=LOADGEN, stdout=subprocess.PIPE,
                                stderr=open(log_dir / "loadgen.err", "wb"), text=True)
        lines: queue.Queue = queue.Queue()
        threading.Thread(target=pump, args=(node.stdout, lines), daemon=True).start()
        try:
            deadline = time.monotonic() + cap_seconds + 90
            mark = None
            while True:
                try:
                    line = lines.get(timeout=max(0.1, deadline - time.monotonic()))
                except queue.Empty:
                    run["aborted"] = "load generator timed out"
                    break
                event = json.loads(line)
                if event["type"] == "cell_start":
                    mark = (time.monotonic(), cpu_seconds(pids), machine_busy())
                elif event["type"] == "cell":
                    wall = time.monotonic() - mark[0]
                    event["server_cpu_s"] = round(cpu_seconds(pids) - mark[1], 3)
                    event["server_cpu_pct"] = round(100 * event["server_cpu_s"] / wall, 1)
                    busy, total = machine_busy()
                    event["machine_busy_pct"] = round(
                        100 * (busy - mark[2][0]) / max(1, total - mark[2][1]), 1)
                    event["loadgen_cpu_pct"] = round(100 * event["loadgen_cpu_s"]
                                                     / event["wall_s"], 1)
                    event["server_rss_mib"] = round(memory_kib(pids, "VmRSS") / 1024, 1)
                    run["cells"].append(event)
                    print(f"  {kind:4} {mode:9} procs={procs} N={event['n']:4} "
                          f"rate={event['rate']:>2}/s p50={event['p50']} p99={event['p99']} "
                          f"max={event['max']} lost={event['lost']}/{event['expected']} "
                          f"late={event['late']} cpu={event['server_cpu_pct']}% "
                          f"machine={event['machine_busy_pct']}% "
                          f"loadgen={event['loadgen_cpu_pct']}% "
                          f"post_err={event['post_errors']}", flush=True)
                elif event["type"] == "skipped":
                    run["cells"].append(event)
                elif event["type"] == "connected":
                    run["connects"].append(event)
                elif event["type"] == "error":
                    run["aborted"] = event["error"]
                    break
                elif event["type"] == "done":
                    run["aborted"] = event["aborted"]
                    run["loadgen_s"] = event["seconds"]
                    break
            run["server_peak_rss_mib"] = round(memory_kib(pids, "VmHWM") / 1024, 1)
        finally:
            stop(node)
    run["wall_s"] = round(time.monotonic() - started, 1)
    return run


# --- report ---------------------------------------------------------------------------------

def fmt(value, digits: int = 1) -> str:
    """A number for a table cell."""
    return "-" if value is None else f"{value:,.{digits}f}"


def ratio(a, b) -> str:
    """ours / ref as 1.23x."""
    return "-" if a is None or not b else f"{a / b:.2f}x"


def _cell_text(c: dict | None) -> list[str]:
    """p50, p95, p99, max, lost and server CPU of one cell (or why it did not run)."""
    if not c:
        return ["-"] * 6
    if c["type"] == "skipped":
        return [f"({c['why']})"] + [""] * 5
    return [fmt(c["p50"]), fmt(c["p95"]), fmt(c["p99"]), fmt(c["max"]),
            f"{c['lost']:,}/{c['expected']:,}", f"{fmt(c['server_cpu_pct'], 0)}%"]


def _measured(c: dict | None, key: str):
    return c.get(key) if c and c["type"] == "cell" else None


def tables(runs: list[dict], headline: tuple[int, int] = (500, 10)) -> str:
    """Markdown: a headline table, then one per mode and process count (ours beside ref)."""
    out = []
    keyed = {(r["mode"], r["procs"], r["kind"]): r for r in runs}
    groups = list(dict.fromkeys((r["mode"], r["procs"]) for r in runs))
    n0, rate0 = headline
    out.append(f"\n**{n0} consoles at {rate0} incidents/s** (ms from POST start to receipt)\n")
    out.append("| mode | processes | ours p50 | ours p99 | ref p50 | ref p99 | p50 ratio "
               "| p99 ratio | lost ours / ref |")
    out.append("|" + "---|" * 9)
    for mode, procs in groups:
        cells = [{(c["n"], c["rate"]): c for c in keyed.get((mode, procs, k), {"cells": []})
                  ["cells"]}.get(headline) for k in ("ours", "ref")]
        o, r = cells
        lost = " / ".join(f"{c['lost']:,}/{c['expected']:,}" if c and c["type"] == "cell"
                          else "-" for c in cells)
        out.append(f"| {mode} | {procs} | {fmt(_measured(o, 'p50'))} | "
                   f"{fmt(_measured(o, 'p99'))} | {fmt(_measured(r, 'p50'))} | "
                   f"{fmt(_measured(r, 'p99'))} | "
                   f"{ratio(_measured(o, 'p50'), _measured(r, 'p50'))} | "
                   f"{ratio(_measured(o, 'p99'), _measured(r, 'p99'))} | {lost} |")
    for mode, procs in groups:
        ours_run = keyed.get((mode, procs, "ours"), {"cells": []})
        ref_run = keyed.get((mode, procs, "ref"), {"cells": []})
        ours = {(c["n"], c["rate"]): c for c in ours_run["cells"]}
        ref = {(c["n"], c["rate"]): c for c in ref_run["cells"]}
        out.append(f"\n**{mode}, {procs} process{'es' if procs > 1 else ''}"
                   f"{' through Redis' if procs > 1 else ''}** — peak RSS (all processes) ours "
                   f"{fmt(ours_run.get('server_peak_rss_mib'), 0)} MiB, ref "
                   f"{fmt(ref_run.get('server_peak_rss_mib'), 0)} MiB\n")
        out.append("| N | rate | ours p50 | p95 | p99 | max | lost | CPU | ref p50 | p95 | p99 "
                   "| max | lost | CPU | p50 ratio | p99 ratio | machine busy ours / ref "
                   "| loadgen CPU ours / ref |")
        out.append("|" + "---|" * 18)
        for key in sorted(set(ours) | set(ref)):
            o, r = ours.get(key), ref.get(key)
            out.append("| " + " | ".join([
                str(key[0]), f"{key[1]}/s", *_cell_text(o), *_cell_text(r),
                ratio(_measured(o, "p50"), _measured(r, "p50")),
                ratio(_measured(o, "p99"), _measured(r, "p99")),
                f"{fmt(_measured(o, 'machine_busy_pct'), 0)}% / "
                f"{fmt(_measured(r, 'machine_busy_pct'), 0)}%",
                f"{fmt(_measured(o, 'loadgen_cpu_pct'), 0)}% / "
                f"{fmt(_measured(r, 'loadgen_cpu_pct'), 0)}%"]) + " |")
        for run in (ours_run, ref_run):
            if run.get("aborted"):
                out.append(f"\n{run['kind']}: stopped early: {run['aborted']}")
            if run.get("error"):
                out.append(f"\n{run['kind']}: failed: {run['error']}")
    return "\n".join(out)


def ints(text: str) -> list[int]:
    """'50,200' -> [50, 200]."""
    return [int(x) for x in text.split(",") if x.strip()]


def main() -> None:
    """Run the matrix, print the tables and write the raw results."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--modes", default="threading,eventlet,gevent")
    parser.add_argument("--procs", default="1,2")
    parser.add_argument("--consoles", default="50,200,500,1000")
    parser.add_argument("--rates", default="1,10,50")
    parser.add_argument("--seconds", type=float, default=2.0, help="load time per cell")
    parser.add_argument("--drain", type=float, default=3.0, help="bounded drain per cell (s)")
    parser.add_argument("--cap", type=float, default=570.0, help="hard cap of the whole run (s)")
    parser.add_argument("--quick", action="store_true",
                        help="smoke run: 1 process, 50 and 200 consoles, 1 and 10/s, 1 s")
    parser.add_argument("--ref-compression", choices=("default", "off"), default="default",
                        help="default: the bare reference accepts websocket deflate (Flask-SocketIO"
                             " default); off: it refuses it like the console does")
    parser.add_argument("--out", default=str(BASE / "bench" / "results" / "fanout_matrix.json"))
    args = parser.parse_args()
    if args.quick:
        args.procs, args.consoles, args.rates, args.seconds = "1", "50,200", "1,10", 1.0
    args.modes = [m for m in args.modes.split(",") if m]
    args.procs, args.consoles, args.rates = ints(args.procs), ints(args.consoles), ints(args.rates)
    if max(args.consoles) > 1000 or max(args.rates) > 50 or args.seconds > 10:
        raise SystemExit("bounded benchmark: at most 1000 consoles, 50/s, 10 s per cell")
    args.consoles.sort()

    t0 = time.monotonic()
    ensure_loadgen()
    pg_admin = os.environ.get("BENCH_PG_URL", PG_DEFAULT)
    redis_url = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0"
    skipped: list[str] = []
    with ExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="fanout-")))
        db_url = postgres_database(pg_admin)
        if db_url:
            stack.callback(drop_postgres_database, pg_admin)
        else:
            db_url = f"sqlite:///{tmp / 'bench.db'}"
            if 2 in args.procs:
                skipped.append("2 processes (needs PostgreSQL)")
                args.procs = [p for p in args.procs if p != 2]
        if 2 in args.procs and not redis_ok(redis_url):
            skipped.append(f"2 processes (Redis at {redis_url} does not answer)")
            args.procs = [p for p in args.procs if p != 2]
        for mode in list(args.modes):
            if not mode_available(mode):
                skipped.append(f"{mode} (not installed)")
                args.modes.remove(mode)
        prepare(db_url)
        print(f"# database {db_url.split('://')[0]}, modes {args.modes}, procs {args.procs}, "
              f"consoles {args.consoles}, rates {args.rates}, {args.seconds} s per cell, "
              f"reference websocket deflate {args.ref_compression}; "
              f"prepared in {time.monotonic() - t0:.1f} s", flush=True)
        plan = [(m, p, k) for m in args.modes for p in args.procs for k in ("ours", "ref")]
        runs = []
        for i, (mode, procs, kind) in enumerate(plan):
            left = args.cap - (time.monotonic() - t0)
            share = left / (len(plan) - i)  # NOTE: what is left, shared by the runs to come
            if left < 30:
                skipped.append(f"{kind} {mode} {procs} proc (hard cap reached)")
                continue
            try:
                run = run_one(kind=kind, mode=mode, procs=procs, db_url=db_url,
                              redis_url=redis_url, args=args,
                              cap_seconds=min(left - 20, share * 1.5), tmp=tmp)
            except Exception as exc:  # noqa: BLE001
                run = {"kind": kind, "mode": mode, "procs": procs, "cells": [],
                       "error": f"{exc.__class__.__name__}: {exc}"}
                print(f"  {kind} {mode} procs={procs} FAILED: {run['error']}", flush=True)
            runs.append(run)
    total = time.monotonic() - t0
    report = tables(runs)
    print(report)
    if skipped:
        print("\nskipped: " + "; ".join(skipped))
    print(f"\ntotal wall time {total:.0f} s ({os.cpu_count()} cores)")
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({
        "when": time.strftime("%Y-%m-%d %H:%M:%S %z"), "cores": os.cpu_count(),
        "database": db_url.split("://")[0], "seconds_per_cell": args.seconds,
        "drain_s": args.drain, "position_rate": POSITION_RATE, "skipped": skipped,
        "ref_ws_compression": args.ref_compression,
        "total_wall_s": round(total, 1), "runs": runs,
    }, indent=1) + "\n")
    print(f"raw results: {out}")


if __name__ == "__main__":
    main()
