"""Issue 13: possible duplicates of a person among 100,000 persons on PostgreSQL (prints
figures).

python bench/person_duplicates.py [--persons 100000] [--queries 60]
                                  [--out bench/results/person_duplicates.json]

Creates a fresh database `bench_persons` on BENCH_PG_URL (default
postgresql://postgres@127.0.0.1:5432/), migrates it, loads the demo data, then generates
`--persons` cases in Phitsanulok, each with its client: a Thai name built from common given
names and surnames with spelling variants (so that names sound alike), a birth date, a
district, a national ID for half of them, a person and the name's phonetic key
(cases/phonetic.py). It then asks the case desk's real endpoint
POST /api/cases/<id>/people/duplicates (Flask test client, logged in as the provincial case
worker) `--queries` times per kind (a national ID on record; a name that sounds like one on
record with its birth date; a name nobody has) and prints p50 / p95 / max in milliseconds, and
PostgreSQL's plan of the look-up (an index scan, not a scan of every person).
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

FIRST = ["สมชาย", "สมหญิง", "บัวผัน", "มาลี", "มาลีย์", "ประยุทธ", "ประยุทธ์", "วิไล", "สุดา",
         "บุญมี", "คำแก้ว", "ทองใบ", "ศรีสุข", "สีสุก", "สมศักดิ์", "อรุณี", "จันทร์เพ็ญ", "นิภา",
         "สุนทร", "วันเพ็ญ", "ประเสริฐ", "สมพร", "บุญเรือน", "ทองดี", "สายสุนีย์"]
LAST = ["ใจดี", "ศรีสุข", "แก้วมณี", "บุญยืน", "ทองคำ", "สายสุวรรณ", "พรหมมา", "จันทร์หอม",
        "รักไทย", "มีสุข", "ปัญญาดี", "อินทร์แก้ว", "คำภีร์", "บุญมา", "สุขสวัสดิ์", "ชัยมงคล",
        "เพชรรัตน์", "ทองสุข", "ศรีวงศ์", "วงศ์ใหญ่"]
TITLES = ["นาย", "นาง", "นางสาว", ""]


def thai_id(rng: random.Random) -> str:
    """A random 13-digit ID with a valid check digit."""
    body = str(rng.randint(1, 8)) + "".join(str(rng.randint(0, 9)) for _ in range(11))
    total = sum(int(body[i]) * (13 - i) for i in range(12))
    return body + str((11 - total % 11) % 10)


def generate(db_url: str, count: int, seed: int = 1300) -> list[dict]:
    """The cases and their clients; returns a sample of the persons made (for the probes)."""
    from cases.phonetic import name_key
    from geo import gazetteer

    rng = random.Random(seed)
    districts = [d.code for d in gazetteer.districts("65")]
    engine = create_engine(db_url.replace("postgresql://", "postgresql+psycopg://", 1))
    now = datetime.now(UTC)
    sample: list[dict] = []
    with engine.begin() as conn:
        batch = 2000
        for start in range(0, count, batch):
            cases, persons, people = [], [], []
            for i in range(start, min(start + batch, count)):
                name = f"{rng.choice(TITLES)}{rng.choice(FIRST)} {rng.choice(LAST)}"
                born = date(1940, 1, 1) + timedelta(days=rng.randint(0, 365 * 80))
                district = rng.choice(districts)
                nid = thai_id(rng) if rng.random() < 0.5 else None
                cases.append({"id": i + 1, "ref": f"C65-P-{i + 1:07d}", "opened_at": now,
                              "district_code": district})
                persons.append({"id": i + 1, "created_at": now})
                people.append({"case_id": i + 1, "person_id": i + 1, "full_name": name,
                               "national_id": nid, "birth_date": born,
                               "district_code": district, "name_key": name_key(name),
                               "no_id_reason": None if nid else "not_given"})
                if rng.random() < 0.001:
                    sample.append(people[-1])
            conn.execute(text(
                "INSERT INTO welfare_case (id, ref, status, source, category, priority, summary, "
                "notes, province_code, district_code, address_text, precision, opened_at, "
                "status_changed_at, close_reason, version, client_feedback, lessons_learned) "
                "VALUES (:id, :ref, 'intake', 'walk_in', 'other', 'P4', 'x', '', '65', "
                ":district_code, '', 'none', :opened_at, :opened_at, '', 1, '', '')"), cases)
            conn.execute(text("INSERT INTO person (id, created_at, merge_reason, merged_rows) "
                              "VALUES (:id, :created_at, '', CAST('[]' AS JSON))"), persons)
            conn.execute(text(
                "INSERT INTO case_person (case_id, person_id, role, full_name, national_id, "
                "no_id_reason, birth_date, district_code, name_key, age_group, sex, "
                "vulnerable_group, target_groups, relationship_to_client, address_text) VALUES "
                "(:case_id, :person_id, 'client', :full_name, :national_id, :no_id_reason, "
                ":birth_date, :district_code, :name_key, 'adult', 'unknown', 'none', "
                "CAST('[]' AS JSON), '', '')"), people)
        for table in ("welfare_case", "person"):
            conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                              f"(SELECT max(id) FROM {table}))"))
        conn.execute(text("ANALYZE"))
    engine.dispose()
    return sample


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--persons", type=int, default=100_000)
    ap.add_argument("--queries", type=int, default=60)
    ap.add_argument("--out", default=str(ROOT / "bench" / "results" / "person_duplicates.json"))
    args = ap.parse_args()
    pg = os.environ.get("BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/").rstrip("/")
    admin = create_engine(pg.replace("postgresql://", "postgresql+psycopg://", 1) + "/postgres",
                          isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text("DROP DATABASE IF EXISTS bench_persons WITH (FORCE)"))
        conn.execute(text("CREATE DATABASE bench_persons"))
    admin.dispose()
    db_url = pg + "/bench_persons"
    prepare(db_url)
    started = time.perf_counter()
    sample = generate(db_url, args.persons)
    print(f"generated {args.persons} persons in {time.perf_counter() - started:.1f} s",
          flush=True)

    from console import create_app

    app = create_app({"TESTING": True, "DATABASE_URL": db_url, "SOCKETIO_MESSAGE_QUEUE": None,
                      "SECRET_KEY": "bench", "RATELIMIT_STORAGE_URI": "memory://",
                      "POSITIONS_REDIS_URL": None})
    http = app.test_client()
    page = http.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    http.post("/login", data={"username": "caseworker", "password": "demo1300",
                              "csrf_token": token})
    token = re.search(r'name="csrf-token" content="([^"]+)"',
                      http.get("/desk/cases").get_data(as_text=True)).group(1)
    with_id = [p for p in sample if p["national_id"]]
    probes = {
        "same national ID": lambda i: {"full_name": "x", "national_id":
                                       with_id[i % len(with_id)]["national_id"]},
        "name sounding alike + birth date": lambda i: {
            "full_name": sample[i % len(sample)]["full_name"].replace("นางสาว", "น.ส."),
            "birth_date": sample[i % len(sample)]["birth_date"].strftime("%d/%m/%Y")},
        "a name nobody has": lambda i: {"full_name": f"ทดสอบ{i} ไม่มีใคร"},
    }
    results = {}
    for kind, body in probes.items():
        times, found = [], 0
        for i in range(args.queries):
            t0 = time.perf_counter()
            resp = http.post("/api/cases/1/people/duplicates", json=body(i),
                             headers={"X-CSRFToken": token})
            times.append((time.perf_counter() - t0) * 1000)
            assert resp.status_code == 200, resp.get_data(as_text=True)[:200]
            found += len(resp.get_json()["candidates"])
        times.sort()
        results[kind] = {"p50_ms": round(statistics.median(times), 1),
                         "p95_ms": round(times[int(len(times) * 0.95) - 1], 1),
                         "max_ms": round(times[-1], 1),
                         "candidates_per_query": round(found / args.queries, 1)}
    # The look-up alone (cases/persons.find_duplicates, in process: no HTTP, no access log).
    from cases import persons
    from console.models import User

    with app.app_context():
        session = app.extensions["db_factory"]()
        user = session.query(User).filter_by(username="caseworker").one()
        for kind, body in probes.items():
            times = []
            for i in range(args.queries):
                data = body(i)
                born = data.get("birth_date")
                probe = persons.Probe(full_name=data["full_name"],
                                      national_id=data.get("national_id"),
                                      birth_date=datetime.strptime(born, "%d/%m/%Y").date()
                                      if born else None, province_code="65")
                t0 = time.perf_counter()
                persons.find_duplicates(session=session, user=user, probe=probe)
                times.append((time.perf_counter() - t0) * 1000)
            times.sort()
            results[kind].update(lookup_p50_ms=round(statistics.median(times), 1),
                                 lookup_p95_ms=round(times[int(len(times) * 0.95) - 1], 1))
        session.close()
    engine = create_engine(db_url.replace("postgresql://", "postgresql+psycopg://", 1))
    with engine.connect() as conn:
        # The plan a prepared statement gets once PostgreSQL switches to its generic plan.
        conn.execute(text("SET plan_cache_mode = force_generic_plan"))
        conn.exec_driver_sql(
            "PREPARE dup(text, text) AS SELECT case_person.id FROM case_person JOIN welfare_case"
            " ON welfare_case.id = case_person.case_id WHERE (case_person.national_id = $1 OR "
            "case_person.name_key = $2) AND case_person.person_id IS NOT NULL AND "
            "welfare_case.province_code = '65' ORDER BY case_person.id + 0 DESC LIMIT 200")
        nid, key = (v.replace("'", "''") for v in (with_id[0]["national_id"],
                                                   sample[0]["name_key"]))
        plan = [r[0] for r in conn.exec_driver_sql(
            f"EXPLAIN ANALYZE EXECUTE dup('{nid}', '{key}')")]
    engine.dispose()
    print(f"| duplicate check ({args.persons} persons) | request p50 ms | p95 ms | max ms | "
          "look-up alone p50 ms | p95 ms | candidates |")
    print("|---|---|---|---|---|---|---|")
    for name, r in results.items():
        print(f"| {name} | {r['p50_ms']} | {r['p95_ms']} | {r['max_ms']} | "
              f"{r['lookup_p50_ms']} | {r['lookup_p95_ms']} | {r['candidates_per_query']} |")
    print("plan:\n  " + "\n  ".join(plan))
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps({"persons": args.persons,
                                          "at": date.today().isoformat(),
                                          "results": results, "plan": plan}, indent=2,
                                         ensure_ascii=False))
    app.extensions["db_engine"].dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
