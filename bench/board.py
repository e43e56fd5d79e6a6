"""Issue 14: the dispatcher board and the supervisor desk on a bad day (prints figures; not a test).

python bench/board.py [--incidents 1000] [--teams 1000] [--samples 30] [--loads 5]
                      [--compare OTHER_TREE] [--out bench/results/board.json]

For each tree measured (this one; with --compare DIR first the code in DIR, e.g.
`git archive <commit-before> | tar -x -C /tmp/board_before`, so before and after run on the
same machine minutes apart): a fresh PostgreSQL database (BENCH_PG_URL, default
postgresql://postgres@127.0.0.1:5432) migrated and loaded with the demo data by that tree's
code; one call saved through POST /api/calls as the template, then `--incidents` open
incidents (70 % new, the rest assigned to a team, P1-P4, spread over ~25 km around
Phitsanulok and the last eight hours) and `--teams` teams (80 % available, the rest en route)
in province 65, copied from it and from a demo team with bulk SQL. One console process
(run.py, gevent like production, in-process Socket.IO) on a loopback port. Debian Chromium
(CHROMIUM_PATH or `command -v chromium`) through Playwright opens:

- the dispatcher desk as `dispatcher`: desk load = navigation start to the board holding all
  its rows (performance.now() in a MutationObserver) and the next frame painted (a task posted
  from a requestAnimationFrame callback: the style, layout and paint of 1,000 rows count),
  `--loads` times;
- then `--samples` times, a call-taker's save: the `calltaker` page sends POST /api/calls
  with an incident (fetch from its own page, with its CSRF token and an Idempotency-Key); the
  dispatcher page's MutationObserver stamps the new row's arrival in #incident-rows, and the
  next frame painted after it (the figure; the DOM-only one is kept as *_dom_ms). Both
  stamps are `performance.timeOrigin + performance.now()` of pages of the same browser (one
  clock; the bench checks that a stamp taken in one page falls between two taken in the other);
- the same for the supervisor desk as `supervisor`: load = the map's markers all drawn (the
  desk's first write of #map-box data-markers, after its whole board), and save -> the
  marker count showing the new incident.

Prints p50 / p95 / max in milliseconds, with the machine's load average before each tree; the
JSON (--out) also holds every sample in order.
Desk load is also given to the desk saying it is live (its replay done: it follows events).
Loopback only; bounded by the counts (a 15 s wait per sample, --live-wait per load).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import text  # noqa: E402

from bench.intake_setup import engine_for, fresh_db, load_average, log  # noqa: E402
from tests.e2e.server import free_port, stop, wait_started  # noqa: E402
from tests.e2e.test_two_processes import login  # noqa: E402

START_SECONDS = 180
SAMPLE_WAIT = 15  # seconds a save may take to show before it counts as missed
PSL = (16.8211, 100.2659)
CATEGORIES = ("children", "elderly", "disability", "homeless")

# Stamps every row added to the dispatcher board and every change of the map's marker count,
# and the moment the board first holds `want` rows / markers (the desk is loaded).
OBSERVER = """
(() => {
  const want = %(want)d;
  const clock = () => performance.timeOrigin + performance.now();
  // After the next frame is painted: a task posted from a requestAnimationFrame callback runs
  // once that frame's style, layout and paint are done (what the dispatcher sees, not only
  // what the DOM holds).
  // A row on screen whose content the browser still skips (content-visibility: auto decides
  // at a frame) counts once a frame has drawn its content.
  const shown = (n) => {
    if (!n || !n.firstElementChild || !n.firstElementChild.checkVisibility) return true;
    const r = n.getBoundingClientRect();
    const onScreen = r.bottom > 0 && r.top < window.innerHeight;
    return !onScreen || n.firstElementChild.checkVisibility({ contentVisibilityAuto: true });
  };
  const painted = (done, node, frames = 0) => requestAnimationFrame(() => {
    const ch = new MessageChannel();
    ch.port1.onmessage = () => {
      if (frames < 10 && !shown(node)) painted(done, node, frames + 1);
      else done(clock());
    };
    ch.port2.postMessage(0);
  });
  window.__rows = {}; window.__rowsPainted = {};
  window.__markers = []; window.__markersPainted = [];
  window.__loaded = null; window.__loadedDom = null; window.__liveAt = null;
  const loaded = (first) => {  // first: the board's top row (drawn, not skipped)
    window.__loadedDom = performance.now();
    painted(() => { window.__loaded = performance.now(); }, first);
  };
  const watch = () => {
    new MutationObserver(() => {
      if (window.__liveAt === null && document.body.dataset.live === "1") {
        window.__liveAt = performance.now();
      }
    }).observe(document.body, { attributes: true, attributeFilter: ["data-live"] });
    const rows = document.getElementById("incident-rows");
    const box = document.getElementById("map-box");
    if (rows) new MutationObserver((list) => {
      const t = clock();
      for (const m of list) for (const n of m.addedNodes) {
        const id = n.dataset && n.dataset.id;
        if (id && !(id in window.__rows)) {
          window.__rows[id] = t;
          painted((p) => { window.__rowsPainted[id] = p; }, n);
        }
      }
      if (window.__loadedDom === null && rows.children.length >= want) {
        loaded(rows.firstElementChild);
      }
    }).observe(rows, { childList: true });
    if (box) new MutationObserver(() => {
      const n = Number(box.dataset.markers || 0);
      window.__markers.push([clock(), n]);
      painted((p) => window.__markersPainted.push([p, n]));
      // The desk sets the count once its whole board is drawn: the first change is the load.
      if (window.__loadedDom === null) loaded();
    }).observe(box, { attributes: true, attributeFilter: ["data-markers"] });
  };
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", watch);
  else watch();
})();
"""

SAVE = """
async ([body, key]) => {
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  const t0 = performance.timeOrigin + performance.now();
  const r = await fetch("/api/calls", { method: "POST", credentials: "same-origin",
    headers: { "Content-Type": "application/json", Accept: "application/json",
               "X-CSRFToken": csrf, "Idempotency-Key": key },
    body: JSON.stringify(body) });
  const t1 = performance.timeOrigin + performance.now();
  const data = await r.json();
  return { t0, t1, status: r.status, id: data.incident ? data.incident.id : null };
}
"""


def call_body(rng: random.Random, n: int) -> dict:
    """A call-taker's save with a new incident at a place near Phitsanulok."""
    lat, lon = PSL[0] + rng.uniform(-0.1, 0.1), PSL[1] + rng.uniform(-0.1, 0.1)
    return {
        "action": "incident", "number": f"08{rng.randrange(10**8):08d}", "caller_name": "ผู้แจ้ง",
        "summary": f"bench {n}: เด็กร้องไห้ในบ้านร้าง", "advice": "",
        "incident": {
            "category": rng.choice(CATEGORIES), "priority": rng.choice(["P1", "P2", "P3"]),
            "notes": "", "people": [{"age_group": "child", "sex": "female",
                                     "vulnerable_group": "child"}],
            "location": {"province_code": "65", "district_code": "6501", "subdistrict_code": None,
                         "address_text": "หมู่ 4", "lat": round(lat, 6), "lon": round(lon, 6)},
        },
    }


def load_bad_day(url: str, base: str, incidents: int, teams: int) -> int:
    """Save one call as the template, then copy it into `incidents` open incidents and a demo
    team of province 65 into `teams` teams (bulk SQL); the number of open incidents."""
    http, token = login(base, "calltaker")
    resp = http.post(f"{base}/api/calls", json=call_body(random.Random(1), 0),
                     headers={"X-CSRFToken": token, "Idempotency-Key": uuid.uuid4().hex})
    resp.raise_for_status()
    template = resp.json()["incident"]["id"]
    engine = engine_for(url)
    with engine.begin() as conn:
        def columns(table: str) -> list[str]:
            return [r[0] for r in conn.execute(text(
                "SELECT column_name FROM information_schema.columns WHERE table_name = :t "
                "ORDER BY ordinal_position"), {"t": table})]

        team_id = conn.execute(text("SELECT min(id) FROM team WHERE province_code = '65'")).scalar()
        tcols = [c for c in columns("team") if c != "id"]
        over = {"code": "'BENCH-' || g", "name": "'ทีมทดสอบ ' || lpad(g::text, 4, '0')",
                "status": "CASE WHEN g % 5 = 0 THEN 'en_route' ELSE 'available' END",
                "lat": f"{PSL[0]} + (random() - 0.5) * 0.25",
                "lon": f"{PSL[1]} + (random() - 0.5) * 0.25",
                "position_at": "now() - (random() * interval '20 minutes')"}
        select = ", ".join(over.get(c, c) for c in tcols)
        conn.execute(text(f"INSERT INTO team ({', '.join(tcols)}) SELECT {select} "
                          f"FROM team, generate_series(1, :n) AS g WHERE team.id = :t"),
                     {"n": teams, "t": team_id})
        first_bench_team = conn.execute(text(
            "SELECT min(id) FROM team WHERE code LIKE 'BENCH-%'")).scalar()
        icols = [c for c in columns("incident") if c != "id"]
        prios = "(ARRAY['P1','P2','P3','P4'])[1 + g % 4]"
        over = {"ref": "'65-2569-9' || lpad(g::text, 5, '0')", "call_id": "NULL",
                "priority": prios,
                "category": "(ARRAY['children','elderly','disability','homeless'])[1 + g % 4]",
                "status": "CASE WHEN g % 10 < 7 THEN 'new' ELSE 'assigned' END",
                "team_id": f"CASE WHEN g % 10 < 7 THEN NULL "
                           f"ELSE {first_bench_team} + g % {min(200, teams)} END",
                "dispatched_at": "CASE WHEN g % 10 < 7 THEN NULL ELSE now() END",
                "summary": "'น้ำท่วม ' || g",
                "lat": f"{PSL[0]} + (random() - 0.5) * 0.25",
                "lon": f"{PSL[1]} + (random() - 0.5) * 0.25",
                "created_at": "now() - (random() * interval '8 hours')",
                "updated_at": "now() - (random() * interval '1 minute')"}
        select = ", ".join(over.get(c, c) for c in icols)
        conn.execute(text(f"INSERT INTO incident ({', '.join(icols)}) SELECT {select} "
                          f"FROM incident, generate_series(1, :n) AS g WHERE incident.id = :t"),
                     {"n": incidents - 1, "t": template})
        open_count = conn.execute(text(
            "SELECT count(*) FROM incident WHERE province_code = '65' AND status IN "
            "('new','assigned','acknowledged','en_route','on_scene')")).scalar()
    engine.dispose()
    return open_count


def pct(values: list[float]) -> dict:
    """p50 / p95 / max in ms."""
    if not values:
        return {"n": 0}
    v = sorted(values)
    p95 = v[min(len(v) - 1, max(0, round(0.95 * len(v)) - 1))]
    return {"n": len(v), "p50": round(statistics.median(v), 1), "p95": round(p95, 1),
            "max": round(v[-1], 1)}


def desk(browser, base: str, user: str, path: str, want: int):
    """A browser context logged in as `user`, its page stamping rows/markers (OBSERVER)."""
    import re

    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="th-TH",
                                  timezone_id="Asia/Bangkok")
    context.route(re.compile(r"^https?://(?!127\.0\.0\.1)"), lambda route: route.abort())
    context.add_init_script(OBSERVER % {"want": want})
    page = context.new_page()
    page.goto(f"{base}/login")
    page.fill("input[name=username]", user)
    page.fill("input[name=password]", "demo1300")
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r"/desk/"))
    return page


def measure_loads(page, url: str, loads: int, live_wait: float) -> dict:
    """Navigation start to the board holding all its rows / markers (in the DOM, and the next
    frame painted), and to the desk saying it is live (replayed, following events), `loads`
    times; how many loads were not live within `live_wait` seconds."""
    dom, shown, live, late = [], [], [], 0
    for _ in range(loads):
        page.goto(url)
        page.wait_for_function("() => window.__loaded !== null", timeout=60000)
        dom.append(page.evaluate("window.__loadedDom"))
        shown.append(page.evaluate("window.__loaded"))
        try:
            page.wait_for_function("() => window.__liveAt !== null", timeout=live_wait * 1000)
            live.append(page.evaluate("window.__liveAt"))
        except Exception:  # noqa: BLE001 - a desk that never says live is a figure too
            late += 1
    return {"dom": dom, "painted": shown, "live": live, "late": late}


def clocks_agree(a, b) -> bool:
    """A stamp of page b falls between two of page a (the pages share one clock)."""
    now = "performance.timeOrigin + performance.now()"
    t1 = a.evaluate(now)
    t2 = b.evaluate(now)
    t3 = a.evaluate(now)
    return t1 <= t2 <= t3


def measure_saves(calls, watcher, kind: str, samples: int, rng: random.Random,
                  start: int) -> dict:
    """Save -> the row (kind 'rows') or the marker count (kind 'markers') showing it: in the
    DOM, and the next frame painted; each sample in order (None: not seen within the wait)."""
    dom, painted, post = [], [], []
    for i in range(samples):
        before = watcher.evaluate("Number(document.getElementById('map-box')?.dataset.markers"
                                  " || 0)") if kind == "markers" else 0
        sent = calls.evaluate(SAVE, [call_body(rng, start + i), uuid.uuid4().hex])
        if sent["status"] != 201 and sent["status"] != 200:
            raise RuntimeError(f"save answered {sent}")
        post.append(sent["t1"] - sent["t0"])
        if kind == "rows":
            probe = (f"[window.__rows[{sent['id']!r}] ?? null, "
                     f"window.__rowsPainted[{sent['id']!r}] ?? null]")
        else:
            find = f"(([t, n]) => t >= {sent['t0']} && n > {before})"
            probe = (f"[(window.__markers.find({find}) || [null])[0], "
                     f"(window.__markersPainted.find({find}) || [null])[0]]")
        deadline = time.monotonic() + SAMPLE_WAIT
        seen = [None, None]
        while time.monotonic() < deadline:
            seen = watcher.evaluate(probe)
            if seen[1] is not None:
                break
            time.sleep(0.02)
        dom.append(None if seen[0] is None else seen[0] - sent["t0"])
        painted.append(None if seen[1] is None else seen[1] - sent["t0"])
        time.sleep(0.3)  # a dispatcher's pace, and the desks' debounced reads settle
    return {"dom": dom, "painted": painted, "post": post}


def figures(loads: dict, saves: dict, shown: str) -> dict:
    """The percentiles of one desk's loads and saves, and every sample in order (ms)."""
    seen = [v for v in saves["painted"] if v is not None]
    r1 = lambda v: None if v is None else round(v, 1)  # noqa: E731
    return {"load_ms": pct(loads["painted"]), "load_dom_ms": pct(loads["dom"]),
            "live_ms": pct(loads["live"]), "not_live_loads": loads["late"],
            f"save_to_{shown}_ms": pct(seen),
            f"save_to_{shown}_dom_ms": pct([v for v in saves["dom"] if v is not None]),
            "post_ms": pct(saves["post"]), "missed": len(saves["painted"]) - len(seen),
            "samples": {"load_ms": [r1(v) for v in loads["painted"]],
                        "live_ms": [r1(v) for v in loads["live"]],
                        f"save_to_{shown}_ms": [r1(v) for v in saves["painted"]]}}


def brief(desk: dict) -> str:
    """One desk's figures without the samples (for the log)."""
    return json.dumps({k: v for k, v in desk.items() if k != "samples"})


def bench_tree(label: str, tree: Path, args) -> dict:
    from playwright.sync_api import sync_playwright

    load = load_average()
    log(f"{label}: fresh database with {tree}'s code (load average {load})")
    url = fresh_db(f"bench_board_{label}", tree)
    port = free_port()
    env = {**os.environ, "DATABASE_URL": url, "HOST": "127.0.0.1", "PORT": str(port),
           "SECRET_KEY": "bench-board", "SOCKETIO_ASYNC_MODE": "gevent",
           "SOCKETIO_MESSAGE_QUEUE": "", "RATELIMIT_STORAGE_URI": "memory://",
           "POSITIONS_REDIS_URL": ""}
    logf = open(Path(args.tmp) / f"board-{label}.log", "wb")  # noqa: SIM115
    proc = subprocess.Popen([sys.executable, "run.py"], cwd=tree, env=env, stdout=logf,
                            stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    result: dict = {"code": label, "tree": str(tree), "load_average_before": load}
    try:
        wait_started(base, proc, START_SECONDS)
        open_count = load_bad_day(url, base, args.incidents, args.teams)
        result["open_incidents"] = open_count
        log(f"{label}: {open_count} open incidents, {args.teams} bench teams")
        chromium = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or \
            "/usr/bin/chromium"
        rng = random.Random(14)
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
            try:
                calls = desk(browser, base, "calltaker", "/desk/calls", 0)
                calls.goto(f"{base}/desk/calls")
                # Dispatcher desk.
                dispatch = desk(browser, base, "dispatcher", "/desk/dispatch", open_count)
                loads = measure_loads(dispatch, f"{base}/desk/dispatch", args.loads,
                                      args.live_wait)
                result["clocks_agree"] = clocks_agree(dispatch, calls)
                saves = measure_saves(calls, dispatch, "rows", args.samples, rng, 1)
                result["dispatch"] = figures(loads, saves, "row")
                log(f"{label}: dispatch {brief(result['dispatch'])}")
                dispatch.context.close()
                # Supervisor desk (every incident has a place: each is a marker).
                markers = open_count + args.samples
                sup = desk(browser, base, "supervisor", "/desk/supervisor", markers)
                loads = measure_loads(sup, f"{base}/desk/supervisor", args.loads,
                                      args.live_wait)
                saves = measure_saves(calls, sup, "markers", args.samples, rng, 1000)
                result["supervisor"] = figures(loads, saves, "marker")
                log(f"{label}: supervisor {brief(result['supervisor'])}")
            finally:
                browser.close()
    finally:
        stop(proc)
        logf.close()
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--incidents", type=int, default=1000)
    parser.add_argument("--teams", type=int, default=1000)
    parser.add_argument("--samples", type=int, default=30)
    parser.add_argument("--loads", type=int, default=5)
    parser.add_argument("--live-wait", type=float, default=30,
                        help="seconds a loaded desk may take to say it is live")
    parser.add_argument("--compare", help="another tree measured first, in the same run")
    parser.add_argument("--tree", default=str(ROOT), help="the code measured (default: this)")
    parser.add_argument("--out", default=str(ROOT / "bench" / "results" / "board.json"))
    parser.add_argument("--tmp", default=os.environ.get("TMPDIR", "/tmp"))
    args = parser.parse_args()
    args.samples = max(1, min(args.samples, 200))
    args.loads = max(1, min(args.loads, 20))
    trees = [("after", Path(args.tree).resolve())]
    if args.compare:
        trees.insert(0, ("before", Path(args.compare).resolve()))
    results = [bench_tree(label, tree, args) for label, tree in trees]
    for r in results:
        print(json.dumps(r, ensure_ascii=False))
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps({"incidents": args.incidents, "teams": args.teams,
                                          "samples": args.samples, "results": results},
                                         ensure_ascii=False, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
