"""Prometheus metrics of one server process (prometheus-client, its default registry).

Each process counts for itself and answers its own `/metrics` (console/health.py); Prometheus
scrapes every process on its own loopback port (docs/deploy.md), so nothing is shared between
processes and no multiprocess directory is needed (that mode is for pre-forking servers whose
workers share one port). Labels are bounded: Flask endpoint names, event names, job kinds.
"""

from __future__ import annotations

import time

from flask import Flask, g, request
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Gauge, Histogram, generate_latest

REQUESTS = Counter("hotline_http_requests_total", "HTTP requests answered, by Flask endpoint, "
                   "method and status.", ["endpoint", "method", "status"])
REQUEST_SECONDS = Histogram(
    "hotline_http_request_duration_seconds", "Time to answer an HTTP request, by endpoint.",
    ["endpoint"], buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10))
SOCKETS = Gauge("hotline_socket_connections", "Socket.IO consoles connected to this process.")
EVENTS = Counter("hotline_realtime_events_emitted_total",
                 "Realtime events this process handed to Socket.IO after a commit, by name.",
                 ["event"])
RELAYED = Counter("hotline_realtime_events_relayed_total",
                  "Committed events the outbox relay sent because they never arrived.")
REPLAY_SIZE = Histogram("hotline_replay_events", "Events in one replay page sent to a console.",
                        buckets=(0, 1, 5, 20, 50, 100, 250, 500, 1000))
TIMER_LAG = Histogram("hotline_timer_lag_seconds",
                      "How late a durable timer (offer lapse, escalation, check-in) fired.",
                      buckets=(0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300))
JOBS = Gauge("hotline_jobs", "Outbound jobs in the queue (PostgreSQL/SQLite table), by state; "
             "read at scrape time.", ["state"])
JOBS_RETRYING = Gauge("hotline_jobs_retrying",
                      "Pending jobs that failed at least once and wait for their next try.")
JOB_FAILURES = Counter("hotline_job_failures_total",
                       "Failed job attempts in this process, by kind and outcome (retry, dead).",
                       ["kind", "outcome"])


def socket_connected() -> None:
    SOCKETS.inc()


def socket_disconnected() -> None:
    SOCKETS.dec()


def event_emitted(name: str) -> None:
    EVENTS.labels(name).inc()


def replay_sent(count: int) -> None:
    REPLAY_SIZE.observe(count)


def fired_timer_lags(session, now) -> list[float]:
    """Seconds between due and fired for the timers a pass fired at `now` (flushed)."""
    from sqlalchemy import select

    from dispatch.models import Timer

    due = session.scalars(select(Timer.due_at).where(Timer.fired_at == now)).all()
    return [(now - at).total_seconds() for at in due]


def timers_fired(lags: list[float]) -> None:
    for lag in lags:
        TIMER_LAG.observe(max(lag, 0.0))


def job_failed(kind: str, dead: bool) -> None:
    JOB_FAILURES.labels(kind, "dead" if dead else "retry").inc()


def install(app: Flask) -> None:
    """Count every request by endpoint and status, and time it."""

    @app.before_request
    def _start_clock():
        g._metrics_started = time.perf_counter()

    @app.after_request
    def _count(response):
        started = g.pop("_metrics_started", None)
        endpoint = request.endpoint or "unmatched"
        REQUESTS.labels(endpoint, request.method, str(response.status_code)).inc()
        if started is not None:
            REQUEST_SECONDS.labels(endpoint).observe(time.perf_counter() - started)
        return response


def refresh_queue(session) -> None:
    """Read the job queue's depth from its table (at scrape time)."""
    from sqlalchemy import func, select

    from jobs.enums import JobState
    from jobs.models import OutboundJob

    counts = dict(session.execute(
        select(OutboundJob.state, func.count()).where(OutboundJob.state.in_(
            (JobState.PENDING, JobState.RUNNING, JobState.DEAD)))
        .group_by(OutboundJob.state)).all())
    for state in (JobState.PENDING, JobState.RUNNING, JobState.DEAD):
        JOBS.labels(state.value).set(counts.get(state, 0))
    JOBS_RETRYING.set(session.scalar(select(func.count()).where(
        OutboundJob.state == JobState.PENDING, OutboundJob.attempts > 0)) or 0)


def exposition() -> tuple[bytes, str]:
    """This process's metrics in Prometheus' text format."""
    return generate_latest(), CONTENT_TYPE_LATEST
