"""Issue 13: the caseload list and search with 100,000 cases on PostgreSQL (prints figures).

python bench/caseload.py [--cases 100000] [--queries 40] [--out bench/results/caseload.json]

Creates a fresh database `bench_caseload` on BENCH_PG_URL (default
postgresql://postgres@127.0.0.1:5432/), migrates it, loads the demo data, then generates
`--cases` cases over Phitsanulok's districts and subdistricts (statuses, risk levels, target
groups, persons with Thai names, plan actions some of them overdue) with multi-row INSERTs.
It then asks GET /api/cases (the desk's real endpoint, through the Flask test client, logged in
as the provincial case worker and as the national supervisor) `--queries` times per query kind
and prints p50 / p95 / max in milliseconds per kind. Loopback only, bounded by the counts.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import statistics
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.e2e.server import prepare  # noqa: E402

STATUSES = ["intake", "fact_finding", "planning", "in_assistance", "follow_up", "closed"]
GROUPS = ["children_youth", "women_family_violence", "elderly", "disabled", "homeless",
          "beggars", "trafficking_labour", "poor_household", "bedridden", "psychiatric",
          "stateless"]
FIRST = ["สมชาย", "สมหญิง", "บัวผัน", "มาลี", "ประยุทธ", "วิไล", "สุดา", "บุญมี", "คำแก้ว", "ทองใบ"]
LAST = ["ใจดี", "ศรีสุข", "แก้วมณี", "บุญยืน", "ทองคำ", "สายสุวรรณ", "พรหมมา", "จันทร์หอม"]


def generate(db_url: str, count: int, seed: int = 1300) -> None:
    from geo import gazetteer

    rng = random.Random(seed)
    districts = [d.code for d in gazetteer.districts("65")]
    subs = {d: [s.code for s in gazetteer.subdistricts(d)] for d in districts}
    engine = create_engine(db_url.replace("postgresql://", "postgresql+psycopg://", 1))
    now = datetime.now(UTC)
    with engine.begin() as conn:
        workers = [r[0] for r in conn.execute(text(
            "SELECT id FROM user_account WHERE role IN ('case_worker','supervisor') "
            "AND province_code = '65'"))]
        batch = 2000
        for start in range(0, count, batch):
            rows, people, assess, actions = [], [], [], []
            n = min(batch, count - start)
            for i in range(start, start + n):
                district = rng.choice(districts)
                status = rng.choices(STATUSES, weights=[10, 10, 8, 15, 10, 47])[0]
                opened = now - timedelta(minutes=rng.randint(0, 60 * 24 * 700))
                name = f"{rng.choice(FIRST)} {rng.choice(LAST)}"
                groups = rng.sample(GROUPS, 2)
                summary = f"เรื่องที่ {i} " + rng.choice(FIRST)
                people.append({"case_id": i + 1, "role": "client", "full_name": name,
                               "no_id_reason": "not_given", "age_group": "adult",
                               "sex": rng.choice(["female", "male"]), "vulnerable_group": "none",
                               "target_groups": json.dumps(groups)})
                risk = due = None
                if status not in ("intake", "fact_finding"):
                    risk = rng.choice("123")
                    assess.append({"case_id": i + 1, "risk_level": risk,
                                   "completed_at": opened, "updated_at": opened})
                    action_status = rng.choice(["planned", "in_progress", "done"])
                    action_due = (opened + timedelta(days=rng.randint(1, 90))).date()
                    actions.append({"case_id": i + 1, "phase": "urgent", "domain": "shelter",
                                    "title": "ซ่อมบ้าน", "status": action_status,
                                    "due_on": action_due, "created_at": opened})
                    due = action_due if action_status != "done" else None
                ref = f"C65-B-{i + 1:07d}"
                rows.append({
                    "id": i + 1, "ref": ref, "status": status,
                    "source": rng.choice(["incident", "call", "walk_in", "letter"]),
                    "category": rng.choice(["children", "elderly", "homeless", "other"]),
                    "priority": "P4", "summary": summary,
                    "notes": "", "province_code": "65", "district_code": district,
                    "subdistrict_code": rng.choice(subs[district] or [None]),
                    "address_text": "", "precision": "none", "opened_at": opened,
                    "status_changed_at": opened,
                    "assigned_to_id": rng.choice(workers + [None, None]),
                    "closed_at": opened if status == "closed" else None,
                    # The search columns cases/search.py keeps (the same rules).
                    "search_text": "\n".join([ref, summary, name]).lower(),
                    "target_group_tags": " " + " ".join(sorted(groups)) + " ",
                    "risk_level": risk, "next_due_on": due})
            conn.execute(text(
                "INSERT INTO welfare_case (id, ref, status, source, category, priority, summary, "
                "notes, province_code, district_code, subdistrict_code, address_text, precision,"
                " opened_at, status_changed_at, assigned_to_id, closed_at, close_reason, version,"
                " client_feedback, lessons_learned, search_text, target_group_tags, risk_level,"
                " next_due_on) VALUES (:id, :ref, :status, :source, "
                ":category, :priority, :summary, :notes, :province_code, :district_code, "
                ":subdistrict_code, :address_text, :precision, :opened_at, :status_changed_at, "
                ":assigned_to_id, :closed_at, '', 1, '', '', :search_text, :target_group_tags, "
                ":risk_level, :next_due_on)"), rows)
            conn.execute(text(
                "INSERT INTO case_person (case_id, role, full_name, no_id_reason, age_group, sex,"
                " vulnerable_group, target_groups, relationship_to_client, address_text) VALUES "
                "(:case_id, :role, :full_name, :no_id_reason, :age_group, :sex, "
                ":vulnerable_group, CAST(:target_groups AS JSON), '', '')"), people)
            if assess:
                conn.execute(text(
                    "INSERT INTO case_assessment (case_id, problem, living_conditions, "
                    "income_debts, health, education, safety_risks, needs, scores, risk_level, "
                    "completed_at, updated_at) VALUES (:case_id, '', '', '', '', '', '', '', "
                    "CAST('{}' AS JSON), :risk_level, :completed_at, :updated_at)"), assess)
                conn.execute(text(
                    "INSERT INTO plan_action (case_id, phase, domain, title, due_on, status, "
                    "note, created_at) VALUES (:case_id, :phase, :domain, :title, :due_on, "
                    ":status, '', :created_at)"), actions)
        conn.execute(text("SELECT setval(pg_get_serial_sequence('welfare_case', 'id'), "
                          "(SELECT max(id) FROM welfare_case))"))
        conn.execute(text("ANALYZE"))
    engine.dispose()


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--cases", type=int, default=100_000)
    ap.add_argument("--queries", type=int, default=40)
    ap.add_argument("--out", default=str(ROOT / "bench" / "results" / "caseload.json"))
    args = ap.parse_args()
    pg = os.environ.get("BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/").rstrip("/")
    admin = create_engine(pg.replace("postgresql://", "postgresql+psycopg://", 1) + "/postgres",
                          isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text("DROP DATABASE IF EXISTS bench_caseload WITH (FORCE)"))
        conn.execute(text("CREATE DATABASE bench_caseload"))
    admin.dispose()
    db_url = pg + "/bench_caseload"
    prepare(db_url)
    started = time.perf_counter()
    generate(db_url, args.cases)
    print(f"generated {args.cases} cases in {time.perf_counter() - started:.1f} s", flush=True)

    from console import create_app

    app = create_app({"TESTING": True, "DATABASE_URL": db_url, "SOCKETIO_MESSAGE_QUEUE": None,
                      "SECRET_KEY": "bench", "RATELIMIT_STORAGE_URI": "memory://",
                      "POSITIONS_REDIS_URL": None})

    def login(username: str):
        http = app.test_client()
        page = http.get("/login").get_data(as_text=True)
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
        http.post("/login", data={"username": username, "password": "demo1300",
                                  "csrf_token": token})
        return http

    kinds = {
        "newest page": "",
        "my cases": "view=mine",
        "waiting for a worker": "view=unassigned",
        "status": "status=in_assistance",
        "risk 3 overdue": "risk=3&overdue=1",
        "district + target group": "district_code=6501&target_group=bedridden",
        "text (name)": "q=บัวผัน",
        "page 50": "page=50",
    }
    results = {}
    for username in ("caseworker", "national"):
        http = login(username)
        for kind, query in kinds.items():
            times = []
            for _ in range(args.queries):
                t0 = time.perf_counter()
                resp = http.get(f"/api/cases?{query}")
                times.append((time.perf_counter() - t0) * 1000)
                assert resp.status_code == 200, resp.get_data(as_text=True)[:200]
            times.sort()
            results[f"{username}: {kind}"] = {
                "p50_ms": round(statistics.median(times), 1),
                "p95_ms": round(times[int(len(times) * 0.95) - 1], 1),
                "max_ms": round(times[-1], 1), "total": resp.get_json()["total"]}
    print(f"| query ({args.cases} cases) | p50 ms | p95 ms | max ms | matches |")
    print("|---|---|---|---|---|")
    for name, r in results.items():
        print(f"| {name} | {r['p50_ms']} | {r['p95_ms']} | {r['max_ms']} | {r['total']} |")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps({"cases": args.cases, "at": date.today().isoformat(),
                                          "results": results}, indent=2))
    app.extensions["db_engine"].dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
