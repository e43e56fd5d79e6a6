"""Issue 11.6: intake at scale (a benchmark that prints figures, not a pass/fail test).

python bench/intake.py [--processes 2] [--seconds 10] [--compare OTHER_TREE]
                       [--cells app:closed:16:0,app:open:100:0,line:closed:16:0,app:open:50:500]
                       [--out bench/results/intake.json]

N gevent server processes (run.py) of this tree on a fresh PostgreSQL database (BENCH_PG_URL,
default postgresql://postgres@127.0.0.1:5432), sharing the machine's Redis (REDIS_URL) as their
message queue, rate-limit store and position index, with the API rate limits raised out of the
way (the limiter itself still runs). LINE replies are queued as jobs and sent to a local
stand-in of the LINE API. The load generator is bench/loadgen/intake.mjs (Node, one process):
M dispatcher consoles connected over websocket, and citizens POSTing app reports (with an
Idempotency-Key) or signed LINE location messages, each from a new place near Phitsanulok.

A cell is kind:mode:N:consoles: `closed` keeps N requests in flight (the most it can take);
`open` sends N requests/s whatever the answers (latency at that rate). Every cell is bounded
by --seconds and --max-requests. With --compare DIR the same cells run, in the same run,
against the code in DIR (e.g. an export of the commit before a change): before/after ratios
measured on the same machine minutes apart. Loopback only.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import text  # noqa: E402

from bench.intake_setup import (  # noqa: E402
    LINE_SECRET,
    UNLIMITED,
    engine_for,
    fresh_db,
    load_average,
    log,
)
from tests.e2e.server import free_port, stop, wait_started  # noqa: E402
from tests.e2e.test_two_processes import login  # noqa: E402
from tests.ess_helpers import LineServer  # noqa: E402

LOADGEN = ROOT / "bench" / "loadgen"
# A process of a loaded machine can take long to migrate nothing and import everything.
START_SECONDS = 180


def api_key(tree: Path, url: str) -> str:
    out = subprocess.run([sys.executable, "-m", "console.cli", "api-key", "bench"], cwd=tree,
                         env={**os.environ, "DATABASE_URL": url}, check=True,
                         capture_output=True, text=True).stdout
    return out.strip().rsplit(" ", 1)[1]


def start_processes(tree: Path, url: str, n: int, line_api: str, logdir: Path) -> list:
    redis_url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
    channel = f"bench-intake-{uuid.uuid4().hex[:8]}"
    procs = []
    for i in range(n):
        port = free_port()
        env = {**os.environ, "DATABASE_URL": url, "HOST": "127.0.0.1", "PORT": str(port),
               "SOCKETIO_ASYNC_MODE": "gevent", "SOCKETIO_MESSAGE_QUEUE": redis_url,
               "SOCKETIO_CHANNEL": channel, "REDIS_URL": redis_url,
               "RATELIMIT_STORAGE_URI": redis_url, "POSITIONS_REDIS_URL": redis_url,
               "POSITIONS_PREFIX": f"{channel}:positions", "SECRET_KEY": "bench-intake",
               **UNLIMITED,
               "LINE_CHANNEL_SECRET": LINE_SECRET, "LINE_CHANNEL_ACCESS_TOKEN": "bench",
               "LINE_API_BASE": line_api, "LINE_DATA_API_BASE": line_api,
               "ESS_ATTACHMENT_DIR": str(logdir / "attachments")}
        logf = open(logdir / f"{tree.name}-{i}.log", "wb")  # noqa: SIM115
        proc = subprocess.Popen([sys.executable, "run.py"], cwd=tree, env=env, stdout=logf,
                                stderr=subprocess.STDOUT)
        procs.append((f"http://127.0.0.1:{port}", proc, logf))
    for base, proc, _ in procs:
        wait_started(base, proc, START_SECONDS)
    return procs


def run_cell(cell: str, *, urls: list[str], key: str, cookies, seconds: float,
             max_requests: int, tmp: Path) -> dict:
    kind, mode, n, consoles, *who = cell.split(":")
    cookie = cookies(who[0] if who else "dispatcher")
    cfg = {"urls": urls, "kind": kind, "mode": mode, "apiKey": key, "lineSecret": LINE_SECRET,
           "consoles": int(consoles), "consoleCookie": cookie, "seconds": seconds,
           "maxRequests": max_requests, "hardCapSeconds": seconds + 120}
    cfg["rate" if mode == "open" else "concurrency"] = int(n)
    path = tmp / "intake-cell.json"
    path.write_text(json.dumps(cfg))
    out = subprocess.run(["node", str(LOADGEN / "intake.mjs"), str(path)], capture_output=True,
                         text=True, timeout=seconds + 180)
    lines = [line for line in out.stdout.splitlines() if line.startswith("{")]
    if not lines:
        raise RuntimeError(f"loadgen failed: {out.stderr[-2000:]}")
    return {"cell": cell, **json.loads(lines[-1])}


def process_cpu(pid: int) -> float:
    """CPU seconds (user + system) of one process so far."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except FileNotFoundError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def sql_per_report(url: str) -> dict:
    """Reports and incidents stored (fusion: fewer incidents than reports)."""
    engine = engine_for(url)
    with engine.connect() as conn:
        reports = conn.execute(text("SELECT count(*) FROM ess_report")).scalar()
        joined = conn.execute(text(
            "SELECT count(*) FROM incident_timeline WHERE kind = 'report_joined'")).scalar()
        events = conn.execute(text("SELECT count(*) FROM realtime_event")).scalar()
    engine.dispose()
    return {"reports_stored": reports, "reports_joined": joined, "outbox_events": events}


def bench_tree(label: str, tree: Path, args, line_api: str, tmp: Path) -> list[dict]:
    log(f"{label}: fresh database, {args.processes} processes of {tree}")
    url = fresh_db(f"bench_intake_{label}", tree)
    key = api_key(tree, url)
    procs = start_processes(tree, url, args.processes, line_api, tmp)
    results = []
    try:
        urls = [base for base, _, _ in procs]
        logged_in: dict[str, str] = {}

        def cookies(user: str) -> str:
            if user not in logged_in:
                http, _ = login(urls[0], user)
                logged_in[user] = "; ".join(f"{c.name}={c.value}" for c in http.cookies)
            return logged_in[user]

        for warm in ("app:closed:4:0", "line:closed:4:0"):  # compiled statements, pools
            run_cell(warm, urls=urls, key=key, cookies=cookies, seconds=2, max_requests=200,
                     tmp=tmp)
        for cell in args.cells.split(","):
            load = load_average()
            cpu0 = sum(process_cpu(proc.pid) for _, proc, _ in procs)
            result = run_cell(cell, urls=urls, key=key, cookies=cookies, seconds=args.seconds,
                              max_requests=args.max_requests, tmp=tmp)
            result["server_cpu_s"] = round(
                sum(process_cpu(proc.pid) for _, proc, _ in procs) - cpu0, 2)
            result["load_average_before"] = load
            result["code"] = label
            log(json.dumps(result, ensure_ascii=False))
            results.append(result)
        stored = sql_per_report(url)
        log(f"{label}: {stored}")
        for r in results:
            r["db_after_all_cells"] = stored
    finally:
        for _, proc, logf in procs:
            stop(proc)
            logf.close()
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--max-requests", type=int, default=20000)
    parser.add_argument("--cells", default="app:closed:16:0,app:open:100:0,line:closed:16:0,"
                                            "app:open:50:500")
    parser.add_argument("--compare", help="another tree to run the same cells against first")
    parser.add_argument("--tree", default=str(ROOT), help="the code measured (default: this)")
    parser.add_argument("--after-first", action="store_true",
                        help="with --compare: measure this tree first (to see drift)")
    parser.add_argument("--out", default=str(ROOT / "bench" / "results" / "intake.json"))
    args = parser.parse_args()
    if not (LOADGEN / "node_modules" / "socket.io-client").exists():
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=LOADGEN, check=True)
    tmp = Path(os.environ.get("TMPDIR", "/tmp")) / "bench-intake"
    tmp.mkdir(parents=True, exist_ok=True)
    line_api = LineServer()
    trees = [("after", Path(args.tree).resolve())]
    if args.compare:
        before = ("before", Path(args.compare).resolve())
        trees = trees + [before] if args.after_first else [before] + trees
    results = []
    for label, tree in trees:
        results.extend(bench_tree(label, tree, args, line_api.url, tmp))
    line_api.httpd.shutdown()
    summary = [{k: r.get(k) for k in ("code", "cell", "processes", "consoles", "connected",
                                      "reports_per_s", "p50", "p95", "p99", "statuses")}
               for r in results]
    for row in summary:
        print(json.dumps(row, ensure_ascii=False))
    Path(args.out).write_text(json.dumps({"processes": args.processes, "seconds": args.seconds,
                                          "results": results}, ensure_ascii=False, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
