"""Enqueue, claim, run, retry and give up: the job queue's rules.

Enqueueing writes a row in the caller's transaction, so a rolled-back change never sends
anything and a committed one always does. A worker claims due rows with SKIP LOCKED
(PostgreSQL) or a conditional UPDATE (SQLite), under a lease: a worker that dies mid-job leaves
the row to be claimed again once the lease has passed.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, delete, event, insert, or_, select, update
from sqlalchemy.orm import Session

from console.db import utcnow
from console.errors import N_
from jobs.config import JobSettings
from jobs.enums import FINISHED, JobState
from jobs.models import OutboundJob

log = logging.getLogger(__name__)

ENQUEUED_KEY = "jobs_enqueued"

# Why a job failed, as the desks say it (never the provider's own words or status codes).
REASONS: dict[str, str] = {
    "timeout": N_("The service did not answer in time"),
    "unreachable": N_("The service could not be reached"),
    "refused": N_("The service refused the message"),
    "bad_number": N_("The phone number was refused"),
    "service_error": N_("The service had a fault"),
    "interrupted": N_("The sending stopped half-way (server restart)"),
    "error": N_("An unexpected fault while sending"),
}
RETRYABLE_REASONS = frozenset({"timeout", "unreachable", "service_error", "interrupted", "error"})


class JobFailed(Exception):
    """A try that did not work: `reason` is one of REASONS; `retry` False gives up at once
    (the number is invalid: trying again cannot help). What the handler wrote is kept."""

    def __init__(self, reason: str, detail: str = "", *, retry: bool | None = None) -> None:
        super().__init__(detail or reason)
        self.reason = reason if reason in REASONS else "error"
        self.detail = detail
        self.retry = self.reason in RETRYABLE_REASONS if retry is None else retry


class Skip(Exception):
    """Nothing to do any more when the job's turn came (e.g. the offer was withdrawn)."""


@dataclass
class JobContext:
    """What a handler gets: its session (committed with the job's outcome), the app, the job."""

    session: Session
    app: Any
    job: OutboundJob
    settings: JobSettings
    on_rollback: list[Callable[[], None]] = field(default_factory=list)


Handler = Callable[[JobContext, dict[str, Any]], None]


@dataclass(frozen=True)
class TaskSpec:
    """A registered kind of job."""

    kind: str
    handler: Handler
    label: str
    max_attempts: int | None = None  # None: JOBS_MAX_ATTEMPTS
    backoff_seconds: float | None = None  # None: JOBS_BACKOFF_SECONDS


TASKS: dict[str, TaskSpec] = {}


def task(kind: str, *, label: str, max_attempts: int | None = None,
         backoff_seconds: float | None = None) -> Callable[[Handler], Handler]:
    """Register the handler of a kind of job (`label`: what the desks call it, N_ marked)."""

    def register(handler: Handler) -> Handler:
        TASKS[kind] = TaskSpec(kind, handler, label, max_attempts, backoff_seconds)
        return handler

    return register


def _row(kind: str, payload: dict[str, Any], *, province_code: str | None,
         incident_id: int | None, recipient: str, run_at: datetime | None,
         max_attempts: int | None) -> dict[str, Any]:
    if kind not in TASKS:
        raise ValueError(f"unknown job kind {kind!r}: register it with jobs.service.task")
    now = utcnow()
    spec = TASKS[kind]
    return {"kind": kind, "payload": payload, "state": JobState.PENDING, "attempts": 0,
            "max_attempts": max_attempts or spec.max_attempts or 0, "run_at": run_at or now,
            "created_at": now, "reason": "", "error": "", "province_code": province_code,
            "incident_id": incident_id, "recipient": recipient[:160]}


def enqueue(session: Session, kind: str, payload: dict[str, Any], *,
            province_code: str | None = None, incident_id: int | None = None,
            recipient: str = "", run_at: datetime | None = None,
            max_attempts: int | None = None) -> None:
    """Queue a job in the session's transaction: it runs only if that transaction commits.

    Works inside a flush hook too (it writes through the session's connection)."""
    row = _row(kind, payload, province_code=province_code, incident_id=incident_id,
               recipient=recipient, run_at=run_at, max_attempts=max_attempts)
    # NOTE: a core INSERT on the session's own connection: same transaction, and allowed in
    # after_flush hooks where Session.add is not. max_attempts 0 = the configured default.
    session.connection().execute(insert(OutboundJob), [row])
    session.info[ENQUEUED_KEY] = True


# --- waking the local worker ---------------------------------------------------------------

_wakers: list[Callable[[], None]] = []


def on_enqueue(waker: Callable[[], None]) -> None:
    """Call `waker` after every commit that queued jobs (the worker of this process)."""
    _wakers.append(waker)


@event.listens_for(Session, "after_commit")
def _wake_after_commit(session: Session) -> None:
    if session.in_nested_transaction() or not session.info.pop(ENQUEUED_KEY, False):
        return
    for waker in list(_wakers):
        waker()


@event.listens_for(Session, "after_rollback")
def _forget_after_rollback(session: Session) -> None:
    if not session.in_nested_transaction():
        session.info.pop(ENQUEUED_KEY, None)


# --- claiming -------------------------------------------------------------------------------

def _due(now: datetime):
    return or_(and_(OutboundJob.state == JobState.PENDING, OutboundJob.run_at <= now),
               and_(OutboundJob.state == JobState.RUNNING, OutboundJob.locked_until < now))


def claim(*, session: Session, now: datetime, worker_id: str, settings: JobSettings,
          limit: int = 1, kinds: set[str] | None = None) -> list[int]:
    """Take due jobs for this worker (exactly once across processes); commits the claim.

    A job whose lease ran out (its worker died) is taken again, its interrupted try counted;
    one that already had its last try ends dead instead. Returns the ids to run."""
    kinds = set(TASKS) if kinds is None else kinds
    if not kinds:
        return []
    stmt = (select(OutboundJob).where(_due(now), OutboundJob.kind.in_(sorted(kinds)))
            .order_by(OutboundJob.run_at, OutboundJob.id).limit(limit))
    lease_until = now + timedelta(seconds=settings.lease_seconds)
    taken: list[int] = []
    if session.get_bind().dialect.name == "postgresql":
        # NOTE: SKIP LOCKED: a job another worker is claiming right now is passed over.
        candidates = list(session.scalars(stmt.with_for_update(skip_locked=True)))
    else:
        candidates = list(session.scalars(stmt))
    for job in candidates:
        interrupted = job.state is JobState.RUNNING
        limit_reached = job.attempts >= _max_attempts(job, settings)
        values: dict[str, Any]
        if interrupted and limit_reached:
            values = {"state": JobState.DEAD, "locked_by": None, "locked_until": None,
                      "finished_at": now, "reason": "interrupted",
                      "error": f"lease of {job.locked_by} ran out"}
        else:
            values = {"state": JobState.RUNNING, "attempts": OutboundJob.attempts + 1,
                      "locked_by": worker_id, "locked_until": lease_until}
            if interrupted:
                values.update(reason="interrupted", error=f"lease of {job.locked_by} ran out")
        # NOTE: SQLite: the conditional UPDATE under the database write lock is the claim; on
        # PostgreSQL the row lock already is, and the same WHERE changes nothing.
        won = session.execute(
            update(OutboundJob).where(OutboundJob.id == job.id, _due(now)).values(**values)
            .execution_options(synchronize_session=False)).rowcount
        if not won:
            continue
        if values["state"] is JobState.DEAD:
            session.refresh(job)
            _announce_dead(session, job)
            log.warning("job %s (%s) ended dead: interrupted on its last try", job.id, job.kind)
        else:
            taken.append(job.id)
    session.commit()
    return taken


def _max_attempts(job: OutboundJob, settings: JobSettings) -> int:
    return job.max_attempts or settings.max_attempts


def backoff(attempts: int, spec: TaskSpec | None, settings: JobSettings) -> float:
    """Seconds before the next try: base x 2^(tries-1), capped, with +-20% jitter."""
    base = spec.backoff_seconds if spec and spec.backoff_seconds is not None else (
        settings.backoff_seconds)
    delay = min(base * 2 ** max(attempts - 1, 0), settings.backoff_max_seconds)
    return delay * random.uniform(0.8, 1.2)


# --- running ----------------------------------------------------------------------------------

def run(*, factory, app, job_id: int, worker_id: str, settings: JobSettings) -> JobState | None:
    """Run one claimed job in its own transaction and record how it went; returns its state."""
    session: Session = factory()
    try:
        with app.app_context():
            return _run(session, app, job_id, worker_id, settings)
    finally:
        session.close()


def _run(session: Session, app, job_id: int, worker_id: str,
         settings: JobSettings) -> JobState | None:
    job = session.get(OutboundJob, job_id)
    if job is None or job.state is not JobState.RUNNING or job.locked_by != worker_id:
        return None
    spec = TASKS.get(job.kind)
    ctx = JobContext(session=session, app=app, job=job, settings=settings)
    failure: JobFailed | None = None
    try:
        spec.handler(ctx, dict(job.payload or {}))
    except Skip:
        return _finish(session, ctx, worker_id, JobState.CANCELLED)
    except JobFailed as exc:
        failure = exc
    except Exception as exc:  # noqa: BLE001
        log.exception("job %s (%s) raised", job_id, job.kind)
        session.rollback()
        _run_rollbacks(ctx)
        failure = JobFailed("error", f"{exc.__class__.__name__}: {exc}"[:2000])
    if failure is None:
        return _finish(session, ctx, worker_id, JobState.DONE)
    return _fail(session, ctx, worker_id, failure, spec)


def _run_rollbacks(ctx: JobContext) -> None:
    for undo in ctx.on_rollback:
        try:
            undo()
        except Exception:  # noqa: BLE001
            log.exception("job cleanup failed")
    ctx.on_rollback.clear()


def _mine(job_id: int, worker_id: str):
    return and_(OutboundJob.id == job_id, OutboundJob.state == JobState.RUNNING,
                OutboundJob.locked_by == worker_id)


def _finish(session: Session, ctx: JobContext, worker_id: str, state: JobState) -> JobState:
    now = utcnow()
    won = session.execute(
        update(OutboundJob).where(_mine(ctx.job.id, worker_id))
        .values(state=state, finished_at=now, locked_by=None, locked_until=None)
        .execution_options(synchronize_session=False)).rowcount
    if not won:
        # NOTE: the lease ran out while the call was under way and another worker took the
        # job; what this try did (and recorded) happened all the same, so it is kept.
        log.warning("job %s finished after its lease had run out", ctx.job.id)
    try:
        session.commit()
    except Exception:
        session.rollback()
        _run_rollbacks(ctx)
        raise
    return state


def _fail(session: Session, ctx: JobContext, worker_id: str, failure: JobFailed,
          spec: TaskSpec | None) -> JobState:
    job = ctx.job
    now = utcnow()
    last = job.attempts >= _max_attempts(job, ctx.settings)
    values: dict[str, Any] = {"reason": failure.reason, "error": failure.detail[:2000],
                              "locked_by": None, "locked_until": None}
    if failure.retry and not last:
        state = JobState.PENDING
        values.update(state=state, run_at=now + timedelta(
            seconds=backoff(job.attempts, spec, ctx.settings)))
        log.info("job %s (%s) try %s failed (%s); trying again", job.id, job.kind,
                 job.attempts, failure.reason)
    else:
        state = JobState.DEAD
        values.update(state=state, finished_at=now)
        log.warning("job %s (%s) gave up after %s tries: %s %s", job.id, job.kind,
                    job.attempts, failure.reason, failure.detail)
    won = session.execute(
        update(OutboundJob).where(_mine(job.id, worker_id)).values(**values)
        .execution_options(synchronize_session=False)).rowcount
    if won:
        from console import metrics

        metrics.job_failed(job.kind, state is JobState.DEAD)
    if won and state is JobState.DEAD:
        session.refresh(job)
        _announce_dead(session, job)
    try:
        session.commit()
    except Exception:
        session.rollback()
        _run_rollbacks(ctx)
        raise
    return state


def _announce_dead(session: Session, job: OutboundJob) -> None:
    from jobs import events

    events.outbound_failed(session=session, job=job)


# --- what the desks see ---------------------------------------------------------------------

def failed_jobs(*, session: Session, province_code: str | None, national: bool,
                since: datetime, limit: int = 100) -> list[OutboundJob]:
    """Jobs that gave up since a time, and those failing now and still trying, newest first;
    only the user's province (national users: all)."""
    stmt = select(OutboundJob).where(or_(
        and_(OutboundJob.state == JobState.DEAD, OutboundJob.finished_at >= since),
        and_(OutboundJob.state.in_([JobState.PENDING, JobState.RUNNING]),
             OutboundJob.attempts > 0, OutboundJob.reason != "")))
    if not national:
        stmt = stmt.where(OutboundJob.province_code == province_code)
    return list(session.scalars(stmt.order_by(OutboundJob.id.desc()).limit(limit)))


def kind_label(kind: str) -> str:
    """What the desks call a kind of job (N_ marked; translate it)."""
    spec = TASKS.get(kind)
    return spec.label if spec else N_("Outbound message")


def prune(*, session: Session, older_than: datetime) -> int:
    """Forget finished jobs (they hold numbers and LINE ids: keep them no longer)."""
    result = session.execute(delete(OutboundJob).where(
        OutboundJob.state.in_(sorted(FINISHED)), OutboundJob.created_at < older_than))
    return result.rowcount or 0
