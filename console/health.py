"""Probes for the load balancer and the process supervisor, and this process's metrics.

- `/healthz`: the process is up and serving (no dependency is touched), for restarts.
- `/readyz`: the database, Redis (when configured) and the job queue answer; 503 naming the
  ones that do not, for taking a process out of rotation. Neither says more than ok/unreachable:
  no personal data, no addresses, no error text (that goes to the log).
- `/metrics`: Prometheus text (console/metrics.py). With METRICS_TOKEN set, only a request with
  `Authorization: Bearer <token>`; without it, only a direct loopback request (not through the
  reverse proxy, which adds X-Forwarded-For). Everyone else gets 404.
"""

from __future__ import annotations

import hmac
import logging
from ipaddress import ip_address

from flask import Blueprint, Flask, Response, current_app, jsonify, request
from sqlalchemy import text

from console import metrics
from console.extensions import csrf

log = logging.getLogger(__name__)

bp = Blueprint("health", __name__)
csrf.exempt(bp)

CHECK_TIMEOUT_SECONDS = 2.0


def _no_store(resp: Response) -> Response:
    resp.headers["Cache-Control"] = "no-store"
    return resp


@bp.get("/healthz")
def healthz():
    """The process is up: answered without touching the database or Redis."""
    return _no_store(jsonify({"status": "ok"}))


def _check_database(app: Flask) -> None:
    with app.extensions["db_engine"].connect() as conn:
        conn.execute(text("SELECT 1"))


def _check_jobs(app: Flask) -> None:
    # NOTE: the queue is a table in the same database: reachable means the table answers (a
    # database that was never migrated has none and the workers could not claim anything).
    with app.extensions["db_engine"].connect() as conn:
        conn.execute(text("SELECT 1 FROM outbound_job LIMIT 1"))


def _redis_urls(app: Flask) -> list[str]:
    urls = {app.config.get(k) for k in ("SOCKETIO_MESSAGE_QUEUE", "POSITIONS_REDIS_URL")}
    storage = app.config.get("RATELIMIT_STORAGE_URI") or ""
    if storage.startswith(("redis://", "rediss://")):
        urls.add(storage)
    return sorted(u for u in urls if u and u.startswith(("redis://", "rediss://", "unix://")))


def _check_redis(app: Flask) -> None:
    import redis

    for url in _redis_urls(app):
        client = redis.Redis.from_url(url, socket_timeout=CHECK_TIMEOUT_SECONDS,
                                      socket_connect_timeout=CHECK_TIMEOUT_SECONDS)
        try:
            client.ping()
        finally:
            client.close()


def readiness(app: Flask) -> dict[str, str]:
    """Each dependency: "ok", "unreachable" or "not configured"."""
    checks = {"database": _check_database, "redis": _check_redis, "jobs": _check_jobs}
    result: dict[str, str] = {}
    for name, check in checks.items():
        if name == "redis" and not _redis_urls(app):
            result[name] = "not configured"
            continue
        try:
            check(app)
            result[name] = "ok"
        except Exception as exc:  # noqa: BLE001
            log.warning("readiness: %s unreachable: %s", name, type(exc).__name__)
            result[name] = "unreachable"
    return result


@bp.get("/readyz")
def readyz():
    """Database, Redis and job queue reachable: 200; else 503 naming what failed."""
    checks = readiness(current_app._get_current_object())
    failed = sorted(name for name, state in checks.items() if state == "unreachable")
    body = {"status": "not ready" if failed else "ready", "checks": checks}
    if failed:
        body["failed"] = failed
    return _no_store(jsonify(body)), 503 if failed else 200


def metrics_allowed() -> bool:
    """Only the configured token, or a direct loopback request when no token is configured."""
    token = current_app.config.get("METRICS_TOKEN") or ""
    if token:
        given = request.headers.get("Authorization", "")
        return hmac.compare_digest(given.encode(), f"Bearer {token}".encode())
    if "HTTP_X_FORWARDED_FOR" in request.environ:
        return False  # NOTE: came through the reverse proxy: not for the outside world.
    try:
        return ip_address(request.environ.get("REMOTE_ADDR", "")).is_loopback
    except ValueError:
        return False


@bp.get("/metrics")
def metrics_page():
    """This process's Prometheus metrics (each process answers for itself)."""
    if not metrics_allowed():
        return Response("Not found.\n", status=404, mimetype="text/plain")
    app = current_app._get_current_object()
    session = app.extensions["db_factory"]()
    try:
        metrics.refresh_queue(session)
    except Exception:  # noqa: BLE001
        log.warning("metrics: the job queue could not be read")
    finally:
        session.rollback()
        session.close()
    body, content_type = metrics.exposition()
    return _no_store(Response(body, content_type=content_type))


def register(app: Flask) -> None:
    """Attach the probes and start counting requests."""
    metrics.install(app)
    app.register_blueprint(bp)
