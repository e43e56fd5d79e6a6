"""What bench/intake.py and bench/intake_profile.py share: the database, the places, LINE signing.

Not a benchmark itself. Loopback only (PostgreSQL from BENCH_PG_URL, default
postgresql://postgres@127.0.0.1:5432).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import random
import subprocess
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, text  # noqa: E402

from tests.e2e.server import prepare  # noqa: E402

# Phitsanulok city: every report of the benchmarks falls within ~15 km of it.
PSL = (16.8211, 100.2659)
LINE_SECRET = "bench-line-secret"
CATEGORIES = ("children", "elderly", "disability", "homeless")
# The API's rate limits raised out of the way (the limiter itself still runs).
UNLIMITED = {"ESS_API_KEY_LIMIT": "1000000 per minute", "ESS_API_IP_LIMIT": "1000000 per minute"}


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def pg_url() -> str:
    return os.environ.get("BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432")


def engine_for(url: str, **kwargs):
    """A SQLAlchemy engine on a postgresql:// URL (psycopg 3)."""
    return create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1), **kwargs)


def fresh_db(name: str, tree: Path = ROOT) -> str:
    """Drop and create database `name`, migrate it and load the demo data with the code in
    `tree` (its own migrations); its URL."""
    admin = engine_for(pg_url() + "/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        conn.execute(text(f"CREATE DATABASE {name}"))
    admin.dispose()
    url = f"{pg_url()}/{name}"
    if tree == ROOT:
        prepare(url)
    else:
        for command in ("upgrade", "demo"):
            subprocess.run([sys.executable, "-m", "console.cli", command], cwd=tree,
                           env={**os.environ, "DATABASE_URL": url}, check=True,
                           capture_output=True)
    return url


def spot(rng: random.Random) -> tuple[float, float]:
    """A point within ~15 km of Phitsanulok city: some reports land near an earlier one."""
    return (PSL[0] + rng.uniform(-0.12, 0.12), PSL[1] + rng.uniform(-0.12, 0.12))


def report_body(rng: random.Random) -> dict:
    """An app report (POST /api/v1/reports) at a new place."""
    lat, lon = spot(rng)
    return {"category": rng.choice(CATEGORIES), "description": "เด็กร้องไห้ในบ้านร้าง",
            "contact": None,
            "position": {"lat": round(lat, 6), "lon": round(lon, 6), "accuracy_m": 15}}


def line_body(user: str, message: dict) -> dict:
    """A LINE webhook body holding one message event of `user`."""
    return {"destination": "Ubench", "events": [{
        "type": "message", "mode": "active", "timestamp": int(time.time() * 1000),
        "webhookEventId": uuid.uuid4().hex, "deliveryContext": {"isRedelivery": False},
        "source": {"type": "user", "userId": user}, "replyToken": uuid.uuid4().hex,
        "message": message}]}


def line_signature(raw: bytes) -> str:
    return base64.b64encode(hmac.new(LINE_SECRET.encode(), raw, hashlib.sha256).digest()).decode()


def backend_cpu_seconds(pids: list[int]) -> float:
    """CPU seconds (user + system) PostgreSQL backends `pids` have used (same machine)."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except (FileNotFoundError, PermissionError):
            continue
        total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def load_average() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())
