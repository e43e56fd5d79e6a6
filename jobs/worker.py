"""The job worker: in every server process (a background task, like the timers), or alone as
`python -m console.cli worker`. Each of JOBS_CONCURRENCY loops claims one due job at a time,
so a hanging service holds at most the loops waiting on it, never a request."""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from datetime import timedelta

from sqlalchemy import inspect
from sqlalchemy.exc import SQLAlchemyError

from console.db import utcnow
from jobs import service
from jobs.config import JobsConfigError, JobSettings, settings_from

log = logging.getLogger("console.jobs")

EXTENSION = "jobs"
PRUNE_EVERY_SECONDS = 600.0
_wake = threading.Event()
service.on_enqueue(_wake.set)


def configure(app) -> JobSettings:
    """Check the queue's settings (a clear JobsConfigError when one cannot work) and keep them
    on the app; the HTTP clients of LINE and Twilio read the same timeout."""
    settings = settings_from(app.config)
    app.extensions[EXTENSION] = settings
    app.config["OUTBOUND_TIMEOUT_SECONDS"] = settings.timeout_seconds
    return settings


def settings_of(app) -> JobSettings:
    """The app's checked queue settings."""
    return app.extensions.get(EXTENSION) or configure(app)


def worker_id(index: int = 0) -> str:
    """A name unique to this process and loop (shown on claimed rows)."""
    return f"{socket.gethostname()[:40]}:{os.getpid()}:{index}"


def check_ready(app) -> None:
    """Refuse to start on a database without the job table (not migrated), clearly."""
    engine = app.extensions["db_engine"]
    try:
        present = inspect(engine).has_table("outbound_job")
    except SQLAlchemyError as exc:
        raise JobsConfigError(f"the job worker cannot reach the database: {exc}") from exc
    if not present:
        raise JobsConfigError("the database has no outbound_job table: run "
                              "`python -m console.cli upgrade` first")


def work_once(app, *, name: str | None = None, limit: int = 1) -> int:
    """Claim up to `limit` due jobs and run them here; returns how many ran."""
    settings = settings_of(app)
    me = name or worker_id()
    factory = app.extensions["db_factory"]
    session = factory()
    try:
        ids = service.claim(session=session, now=utcnow(), worker_id=me, settings=settings,
                            limit=limit)
    except Exception:
        session.rollback()
        raise
    finally:
        session.close()
    for job_id in ids:
        service.run(factory=factory, app=app, job_id=job_id, worker_id=me, settings=settings)
    return len(ids)


def drain(app, *, name: str | None = None, max_jobs: int = 1000) -> int:
    """Run every job due now, one after another (tests and the CLI's --once); returns the
    count. Retries scheduled for later are left for later."""
    done = 0
    while done < max_jobs:
        ran = work_once(app, name=name)
        if not ran:
            break
        done += ran
    return done


def prune(app) -> int:
    """Delete finished jobs older than JOBS_RETENTION_DAYS."""
    settings = settings_of(app)
    session = app.extensions["db_factory"]()
    try:
        count = service.prune(session=session,
                              older_than=utcnow() - timedelta(days=settings.retention_days))
        session.commit()
        return count
    finally:
        session.close()


def _loop(app, index: int, sleep) -> None:
    settings = settings_of(app)
    me = worker_id(index)
    failing = False
    last_prune = 0.0
    while True:
        try:
            ran = work_once(app, name=me)
            if failing:
                log.info("job worker %s works again", me)
            failing = False
        except Exception:  # noqa: BLE001
            ran = 0
            if not failing:
                log.exception("job worker %s: claiming failed (database down?); retrying", me)
            failing = True
        if index == 0 and time.monotonic() - last_prune >= PRUNE_EVERY_SECONDS:
            last_prune = time.monotonic()
            try:
                prune(app)
            except Exception:  # noqa: BLE001
                log.warning("pruning finished jobs failed; retrying later")
        if ran:
            sleep(0)  # NOTE: let other green threads run between jobs, then look again.
            continue
        # NOTE: a commit that queued jobs in this process wakes the loops at once; jobs queued
        # by other processes are found within JOBS_POLL_SECONDS.
        _wake.wait(settings.poll_seconds)
        _wake.clear()


def run_forever(app) -> None:
    """Start JOBS_CONCURRENCY worker loops as background tasks of this server process."""
    from console.extensions import socketio

    settings = settings_of(app)
    for index in range(1, settings.concurrency):
        socketio.start_background_task(_loop, app, index, socketio.sleep)
    log.info("job worker started: %s loops, kinds %s", settings.concurrency,
             ", ".join(sorted(service.TASKS)))
    _loop(app, 0, socketio.sleep)


def main(app, *, once: bool = False) -> int:
    """`python -m console.cli worker`: run jobs in this process until stopped (or, with
    --once, those due now)."""
    try:
        settings_of(app)
        check_ready(app)
    except JobsConfigError as exc:
        print(f"job worker not started: {exc}", flush=True)
        return 2
    if once:
        print(f"ran {drain(app)} jobs", flush=True)
        return 0
    settings = settings_of(app)
    threads = [threading.Thread(target=_loop, args=(app, i, time.sleep), daemon=True)
               for i in range(settings.concurrency)]
    for thread in threads:
        thread.start()
    print(f"job worker running: {settings.concurrency} loops, kinds "
          f"{', '.join(sorted(service.TASKS))}", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        return 0
