"""Issue 11.6: what one intake request costs, in process (a benchmark that prints figures).

python bench/intake_profile.py [--requests 200] [--out bench/results/intake_profile.json]

On a fresh PostgreSQL database `bench_intake_profile` (BENCH_PG_URL, default
postgresql://postgres@127.0.0.1:5432), through the Flask test client: for the app API
(POST /api/v1/reports with an Idempotency-Key) and the LINE webhook (a signed text message,
then a location message: the report is linked), it counts the SQL statements each request
sends (SQLAlchemy's before_cursor_execute) and their kinds, and splits each request's CPU
(time.process_time: one thread) and wall time by part: authentication, validation, reverse
geocoding (geo), the dedupe query, the new incident, the realtime outbox, the commit, the SQL
statements' client side, and the PostgreSQL backend's own CPU (/proc, same machine). Parts are
inclusive (geo is also inside dedupe and new incident). Reports are spread over Phitsanulok so
some join an open incident (fusion) and most open one. Loopback only; bounded by --requests.
"""

from __future__ import annotations

import argparse
import collections
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

from sqlalchemy import event, text  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from bench.intake_setup import (  # noqa: E402
    LINE_SECRET,
    PSL,
    UNLIMITED,
    backend_cpu_seconds,
    fresh_db,
    line_body,
    line_signature,
    load_average,
    report_body,
    spot,
)


class Counter:
    """SQL statements sent, grouped by their first words, and the time spent sending them."""

    def __init__(self, engine) -> None:
        self.kinds: collections.Counter[str] = collections.Counter()
        self.total = 0
        self.cpu = self.wall = 0.0
        self._at = (0.0, 0.0)
        event.listen(engine, "before_cursor_execute", self._seen)
        event.listen(engine, "after_cursor_execute", self._done)

    def clear(self) -> None:
        self.kinds.clear()
        self.total = 0
        self.cpu = self.wall = 0.0

    def _seen(self, _conn, _cursor, statement, *_args) -> None:
        words = statement.split()
        kind = " ".join(words[:3]) if words[:1] != ["SELECT"] else "SELECT " + _table(statement)
        self.kinds[kind] += 1
        self.total += 1
        self._at = (time.process_time(), time.perf_counter())

    def _done(self, *_args) -> None:
        self.cpu += time.process_time() - self._at[0]
        self.wall += time.perf_counter() - self._at[1]


def _table(statement: str) -> str:
    lowered = statement.replace("\n", " ")
    marker = " FROM "
    if marker not in lowered:
        return lowered[7:40]
    return lowered.split(marker, 1)[1].split()[0]


class Part:
    """CPU and wall time spent inside one function (inclusive; re-entrant calls counted once)."""

    parts: list[Part] = []

    def __init__(self, name: str, module, attr: str) -> None:
        self.name, self.calls, self.cpu, self.wall, self._depth = name, 0, 0.0, 0.0, 0
        fn = getattr(module, attr)

        def wrapper(*args, **kwargs):
            self.calls += 1
            self._depth += 1
            started = (time.process_time(), time.perf_counter())
            try:
                return fn(*args, **kwargs)
            finally:
                self._depth -= 1
                if self._depth == 0:
                    self.cpu += time.process_time() - started[0]
                    self.wall += time.perf_counter() - started[1]

        setattr(module, attr, wrapper)
        Part.parts.append(self)

    def clear(self) -> None:
        self.calls, self.cpu, self.wall = 0, 0.0, 0.0


class CommitPart(Part):
    """Session.commit from its before_commit event to after_commit: the last flush, the
    realtime outbox (sequence numbers, rows) and COMMIT itself."""

    def __init__(self) -> None:
        self.name, self.calls, self.cpu, self.wall = "commit", 0, 0.0, 0.0
        self._at = (0.0, 0.0)
        # NOTE: insert=True: before console.realtime's own hook, so the outbox is counted.
        event.listen(Session, "before_commit", self._begin, insert=True)
        event.listen(Session, "after_commit", self._end)
        Part.parts.append(self)

    def _begin(self, _session) -> None:
        self._at = (time.process_time(), time.perf_counter())

    def _end(self, _session) -> None:
        self.calls += 1
        self.cpu += time.process_time() - self._at[0]
        self.wall += time.perf_counter() - self._at[1]


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
    os.environ.update(UNLIMITED)
    from console import create_app
    from ess import routes as ess_routes
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
    from console import realtime
    from dispatch import service as dispatch_service

    # What a request is made of (inclusive: geo is also inside dedupe and new incident).
    Part("authenticate", ess_service, "authenticate_client")
    Part("validation", ess_routes, "parse")
    geo = Part("geo", geo_service, "resolve_location")
    dedupe = Part("dedupe", ess_service, "find_open_incident")
    Part("new_incident", dispatch_service, "_new_incident")
    Part("outbox", realtime, "take_seqs")
    CommitPart()
    engine = app.extensions["db_engine"]
    counter = Counter(engine)
    with engine.connect() as conn:  # NOTE: one process, one pooled connection: its backend.
        backends = list(conn.scalars(text(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database()")))
    http = app.test_client()
    rng = random.Random(11)
    results: dict[str, dict] = {}

    def run(name: str, send) -> None:
        for i in range(5):  # warm up (statement compilation, prepared statements)
            send(-1 - i)
        counter.clear()
        for part in Part.parts:
            part.clear()
        times = []
        cpu0, db0 = time.process_time(), backend_cpu_seconds(backends)
        for i in range(args.requests):
            started = time.perf_counter()
            send(i + 1)
            times.append((time.perf_counter() - started) * 1000)
        n = args.requests
        cpu = (time.process_time() - cpu0) * 1000 / n
        results[name] = {
            "requests": n, "seeded_open_incidents": args.seed_incidents,
            "load_average": load_average(),
            "sql_per_request": round(counter.total / n, 2),
            "sql_kinds_per_request": {k: round(v / n, 2)
                                      for k, v in counter.kinds.most_common()},
            "ms_mean": round(statistics.fmean(times), 2),
            "ms_p50": round(statistics.median(times), 2),
            "cpu_ms_per_request": {
                "python_total": round(cpu, 3),
                "postgresql_backend": round(
                    (backend_cpu_seconds(backends) - db0) * 1000 / n, 3),
                "sql_client_side": round(counter.cpu * 1000 / n, 3),
                **{p.name: round(p.cpu * 1000 / n, 3) for p in Part.parts}},
            "wall_ms_per_request": {"sql": round(counter.wall * 1000 / n, 3),
                                    **{p.name: round(p.wall * 1000 / n, 3)
                                       for p in Part.parts}},
            "geo_calls_per_request": round(geo.calls / n, 2),
            "geo_ms_per_request": round(geo.wall * 1000 / n, 3),
            "dedupe_ms_per_request": round(dedupe.wall * 1000 / n, 3),
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
    engine.dispose()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
