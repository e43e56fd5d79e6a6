"""Real server processes (gevent, as in production) with LINE hanging: the webhook answers at
once, the server's own job worker calls LINE in the background, and a process killed while its
worker waits on LINE leaves the job to another process once the lease has run out."""

from __future__ import annotations

import json
import signal
import time

import requests
from sqlalchemy import text

from console.db import make_engine
from tests.e2e.server import server
from tests.ess_helpers import LineServer, line_event, line_signature

SECRET = "e2e-line-secret"


def _job(url: str) -> dict | None:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            row = conn.execute(text(
                "SELECT state, attempts, reason, locked_by FROM outbound_job "
                "WHERE kind = 'line.reply' ORDER BY id LIMIT 1")).mappings().first()
            return dict(row) if row else None
    finally:
        engine.dispose()


def _wait(url: str, check, seconds: float = 30) -> dict | None:
    deadline = time.monotonic() + seconds
    job = None
    while time.monotonic() < deadline:
        job = _job(url)
        if job and check(job):
            return job
        time.sleep(0.05)
    return job


def test_a_process_killed_while_line_hangs_leaves_its_job_to_another(served_db, tmp_path):
    url = served_db
    line = LineServer()
    line.delay = 30.0  # LINE hangs far past the timeout
    env = {"SOCKETIO_ASYNC_MODE": "gevent", "LINE_CHANNEL_SECRET": SECRET,
           "LINE_CHANNEL_ACCESS_TOKEN": "token", "LINE_API_BASE": line.url,
           "LINE_DATA_API_BASE": line.url, "OUTBOUND_TIMEOUT_SECONDS": "1.5",
           "JOBS_LEASE_SECONDS": "4.5", "JOBS_BACKOFF_SECONDS": "0.2", "JOBS_POLL_SECONDS": "0.2",
           "ESS_ATTACHMENT_DIR": str(tmp_path / "att")}
    try:
        with server(url, extra_env=env, log_path=tmp_path / "a.log") as (base, proc):
            body = json.dumps({"destination": "Ubot", "events": [line_event(
                "text", event_id="e2e-1", at_ms=int(time.time() * 1000), text="ช่วยด้วย")]},
                ensure_ascii=False).encode()
            resp = requests.post(f"{base}/line/webhook", data=body, timeout=30, headers={
                "Content-Type": "application/json",
                "X-Line-Signature": line_signature(SECRET, body)})
            assert resp.status_code == 200  # answered while LINE hangs: the reply is a job
            running = _wait(url, lambda j: j["state"] == "running")
            assert running and running["attempts"] == 1, running
            proc.send_signal(signal.SIGKILL)  # dies mid-job, waiting on LINE
            proc.wait(10)
        assert _job(url)["state"] == "running"  # nobody finished it

        line.delay = 0  # LINE is back; another process takes the job once the lease ran out
        with server(url, extra_env=env, log_path=tmp_path / "b.log"):
            done = _wait(url, lambda j: j["state"] == "done")
        assert done and done["state"] == "done", done
        assert done["attempts"] == 2 and done["reason"] == "interrupted"
        replies = line.posted("/v2/bot/message/reply")
        assert replies and "ESS-" in replies[-1]["messages"][0]["text"]
    finally:
        line.delay = 0
        line.close()
