"""Issue 11.6: what one intake request costs, in process (a benchmark that prints figures).

python bench/intake_profile.py [--requests 200] [--out bench/results/intake_profile.json]

On a fresh PostgreSQL database `bench_intake_profile` (BENCH_PG_URL, default
postgresql://postgres@127.0.0.1:5432), through the Flask test client: for the app API
(POST /api/v1/reports with an Idempotency-Key) and the LINE webhook (a signed text message,
then a location message: the report is linked), it counts the SQL statements each request
sends (SQLAlchemy's before_cursor_execute) and their kinds, and times the parts of the create
path: reverse geocoding of the position (geo), the dedupe query, the whole request. Reports
are spread over Phitsanulok so some join an open incident (fusion) and most open one.
Loopback only; bounded by --requests.
"""

from __future__ import annotations

import argparse
import base64
import collections
import hashlib
import hmac
import json
import os
import random
import statistics
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, event, text  # noqa: E402

from tests.e2e.server import prepare  # noqa: E402

PSL = (16.8211, 100.2659)
LINE_SECRET = "bench-line-secret"


def fresh_db(name: str) -> str:
    pg = os.environ.get("BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432")
    admin = create_engine(pg.replace("postgresql://", "postgresql+psycopg://", 1) + "/postgres",
                          isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        conn.execute(text(f"CREATE DATABASE {name}"))
    admin.dispose()
    url = f"{pg}/{name}"
    prepare(url)
    return url


def spot(rng: random.Random) -> tuple[float, float]:
    """A point within ~15 km of Phitsanulok city: some reports land near an earlier one."""
    return (PSL[0] + rng.uniform(-0.12, 0.12), PSL[1] + rng.uniform(-0.12, 0.12))


def report_body(rng: random.Random) -> dict:
    lat, lon = spot(rng)
    return {"category": rng.choice(["children", "elderly", "disability", "homeless"]),
            "description": "เด็กร้องไห้ในบ้านร้าง", "contact": None,
            "position": {"lat": round(lat, 6), "lon": round(lon, 6), "accuracy_m": 15}}


def line_body(user: str, message: dict) -> dict:
    return {"destination": "Ubench", "events": [{
        "type": "message", "mode": "active", "timestamp": int(time.time() * 1000),
        "webhookEventId": uuid.uuid4().hex, "deliveryContext": {"isRedelivery": False},
        "source": {"type": "user", "userId": user}, "replyToken": uuid.uuid4().hex,
        "message": message}]}


def line_signature(raw: bytes) -> str:
    return base64.b64encode(hmac.new(LINE_SECRET.encode(), raw, hashlib.sha256).digest()).decode()


class Counter:
    """SQL statements sent, grouped by their first words."""

    def __init__(self, engine) -> None:
        self.kinds: collections.Counter[str] = collections.Counter()
        self.total = 0
        event.listen(engine, "before_cursor_execute", self._seen)

    def _seen(self, _conn, _cursor, statement, *_args) -> None:
        words = statement.split()
        kind = " ".join(words[:3]) if words[:1] != ["SELECT"] else "SELECT " + _table(statement)
        self.kinds[kind] += 1
        self.total += 1


def _table(statement: str) -> str:
    lowered = statement.replace("\n", " ")
    marker = " FROM "
    if marker not in lowered:
        return lowered[7:40]
    return lowered.split(marker, 1)[1].split()[0]


def timed(fn):
    """Wrap a function to add its wall time to fn.__bench_seconds."""
    total = [0.0, 0]

    def wrapper(*args, **kwargs):
        started = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            total[0] += time.perf_counter() - started
            total[1] += 1

    wrapper.totals = total
    return wrapper


def seed(app, count: int) -> None:
    """`count` open incidents created in the last 20 minutes all over Phitsanulok."""
    from datetime import timedelta

    from console.db import utcnow
    from dispatch.enums import Category, IncidentStatus, Precision, Priority, Source
    from dispatch.models import Incident

    rng = random.Random(3)
    session = app.extensions["db_factory"]()
    now = utcnow()
    for i in range(count):
        lat, lon = PSL[0] + rng.uniform(-0.5, 0.5), PSL[1] + rng.uniform(-0.5, 0.5)
        at = now - timedelta(seconds=rng.uniform(0, 1200))
        session.add(Incident(
            ref=f"65-SEED-{i:06d}", source=Source.APP, category=Category.CHILDREN,
            priority=Priority.P2, status=IncidentStatus.NEW, summary="seed", notes="",
            province_code="65", lat=lat, lon=lon, precision=Precision.POINT,
            created_at=at, triaged_at=at, updated_at=at))
        if i % 1000 == 999:
            session.commit()
    session.commit()
    session.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--seed-incidents", type=int, default=0,
                        help="open incidents of the last 30 minutes in Phitsanulok first "
                             "(a flood: what the dedupe query has to look through)")
    parser.add_argument("--out", default=str(ROOT / "bench" / "results" / "intake_profile.json"))
    args = parser.parse_args()
    url = fresh_db("bench_intake_profile")
    os.environ.update({"ESS_API_KEY_LIMIT": "1000000 per minute",
                       "ESS_API_IP_LIMIT": "1000000 per minute"})
    from console import create_app
    from ess import service as ess_service
    from geo import service as geo_service

    app = create_app({"TESTING": True, "DATABASE_URL": url, "SOCKETIO_MESSAGE_QUEUE": None,
                      "SECRET_KEY": "bench", "RATELIMIT_STORAGE_URI": "memory://",
                      "POSITIONS_REDIS_URL": None, "LINE_CHANNEL_SECRET": LINE_SECRET,
                      "LINE_CHANNEL_ACCESS_TOKEN": "bench-token",
                      "ESS_ATTACHMENT_DIR": "/tmp/bench-intake-attachments"})
    session = app.extensions["db_factory"]()
    _, key = ess_service.create_api_client(session=session, name="bench")
    session.commit()
    session.close()
    if args.seed_incidents:
        seed(app, args.seed_incidents)
    geo = timed(geo_service.resolve_location)
    geo_service.resolve_location = geo
    dedupe = timed(ess_service.find_open_incident)
    ess_service.find_open_incident = dedupe
    counter = Counter(app.extensions["db_engine"])
    http = app.test_client()
    rng = random.Random(11)
    results: dict[str, dict] = {}

    def run(name: str, send) -> None:
        send(0)  # warm up (first statement compilations)
        counter.kinds.clear()
        counter.total = 0
        geo.totals[:] = [0.0, 0]
        dedupe.totals[:] = [0.0, 0]
        times = []
        for i in range(args.requests):
            started = time.perf_counter()
            send(i + 1)
            times.append((time.perf_counter() - started) * 1000)
        n = args.requests
        results[name] = {
            "requests": n, "seeded_open_incidents": args.seed_incidents,
            "sql_per_request": round(counter.total / n, 2),
            "sql_kinds_per_request": {k: round(v / n, 2)
                                      for k, v in counter.kinds.most_common()},
            "ms_mean": round(statistics.fmean(times), 2),
            "ms_p50": round(statistics.median(times), 2),
            "geo_calls_per_request": round(geo.totals[1] / n, 2),
            "geo_ms_per_request": round(geo.totals[0] * 1000 / n, 3),
            "dedupe_ms_per_request": round(dedupe.totals[0] * 1000 / n, 3),
        }
        print(json.dumps({name: results[name]}, ensure_ascii=False, indent=1), flush=True)

    def app_report(_i: int) -> None:
        resp = http.post("/api/v1/reports", json=report_body(rng),
                         headers={"X-Api-Key": key, "Idempotency-Key": uuid.uuid4().hex})
        assert resp.status_code == 201, resp.get_data(as_text=True)

    def line_pair(i: int) -> None:
        user = f"U{uuid.uuid4().hex}"
        lat, lon = spot(rng)
        for message in ({"type": "text", "id": f"t{i}", "text": "มีเด็กถูกทิ้งไว้",
                         "quoteToken": "q"},
                        {"type": "location", "id": f"l{i}", "title": "", "address": "",
                         "latitude": lat, "longitude": lon}):
            raw = json.dumps(line_body(user, message), ensure_ascii=False).encode()
            resp = http.post("/line/webhook", data=raw, content_type="application/json",
                             headers={"X-Line-Signature": line_signature(raw)})
            assert resp.status_code == 200, resp.get_data(as_text=True)

    run("app_api_report", app_report)
    run("line_text_then_location", line_pair)
    Path(args.out).write_text(json.dumps(results, ensure_ascii=False, indent=1) + "\n")
    app.extensions["db_engine"].dispose()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
