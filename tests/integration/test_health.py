"""Probes and metrics (issue 11.5): /healthz, /readyz naming what failed, /metrics kept to
the token or loopback, and the counters that move when requests, sockets and jobs do."""

from __future__ import annotations

import json
import re

import pytest
from sqlalchemy import create_engine

from console.extensions import socketio
from tests.conftest import incident_body


def metric(text: str, name: str, **labels) -> float:
    """The value of one sample in Prometheus' text format (0 when absent)."""
    want = ",".join(f'{k}="{v}"' for k, v in labels.items())
    head = f"{name}{{{want}}} " if labels else f"{name} "
    for line in text.splitlines():
        if line.startswith(head):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def test_healthz_answers_without_the_database(app):
    http = app.test_client()
    broken = create_engine("postgresql+psycopg://nobody@127.0.0.1:1/none?connect_timeout=1")
    good, app.extensions["db_engine"] = app.extensions["db_engine"], broken
    try:
        resp = http.get("/healthz")
        assert resp.status_code == 200 and resp.json == {"status": "ok"}
        ready = http.get("/readyz")
        assert ready.status_code == 503
        assert ready.json["failed"] == ["database", "jobs"]
        assert ready.json["checks"]["redis"] == "not configured"
    finally:
        app.extensions["db_engine"] = good
    ready = http.get("/readyz")
    assert ready.status_code == 200, ready.json
    assert ready.json == {"status": "ready", "checks": {
        "database": "ok", "redis": "not configured", "jobs": "ok"}}
    assert ready.headers["Cache-Control"] == "no-store"


def test_readyz_names_redis_when_it_does_not_answer(app):
    app.config["SOCKETIO_MESSAGE_QUEUE"] = "redis://127.0.0.1:1/0"
    resp = app.test_client().get("/readyz")
    assert resp.status_code == 503
    assert resp.json["failed"] == ["redis"]
    assert resp.json["checks"]["database"] == "ok"
    assert "127.0.0.1" not in resp.get_data(as_text=True)  # no addresses or error text


def test_metrics_only_for_the_token_or_a_direct_loopback_request(app):
    http = app.test_client()
    local = {"REMOTE_ADDR": "127.0.0.1"}
    assert http.get("/metrics", environ_base=local).status_code == 200
    assert http.get("/metrics", environ_base={"REMOTE_ADDR": "10.1.2.3"}).status_code == 404
    proxied = http.get("/metrics", environ_base=local, headers={"X-Forwarded-For": "1.2.3.4"})
    assert proxied.status_code == 404
    app.config["TRUST_PROXY_HOPS"] = 1  # behind nginx: a direct scrape still works
    from werkzeug.middleware.proxy_fix import ProxyFix

    app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1, x_proto=1, x_host=1)
    assert http.get("/metrics", environ_base=local).status_code == 200
    proxied = http.get("/metrics", environ_base=local, headers={"X-Forwarded-For": "127.0.0.1"})
    assert proxied.status_code == 404  # a proxied request, even one claiming loopback
    app.config["METRICS_TOKEN"] = "s3cret-token"
    assert http.get("/metrics", environ_base=local).status_code == 404
    assert http.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 404
    resp = http.get("/metrics", environ_base={"REMOTE_ADDR": "10.1.2.3"},
                    headers={"Authorization": "Bearer s3cret-token"})
    assert resp.status_code == 200
    assert resp.content_type.startswith("text/plain")


def test_metrics_count_requests_sockets_events_and_the_job_queue(app, login_as):
    http = app.test_client()

    def scrape() -> str:
        resp = http.get("/metrics", environ_base={"REMOTE_ADDR": "127.0.0.1"})
        assert resp.status_code == 200
        return resp.get_data(as_text=True)

    before = scrape()
    calltaker = login_as("calltaker")
    dispatcher = login_as("dispatcher")
    sock = socketio.test_client(app, flask_test_client=dispatcher.http)
    assert sock.is_connected()
    during = scrape()
    assert metric(during, "hotline_socket_connections") == \
        metric(before, "hotline_socket_connections") + 1
    resp = calltaker.post("/api/calls", json=incident_body())
    assert resp.status_code == 201
    refused = calltaker.post("/api/calls", json={"action": 1}).status_code
    assert 400 <= refused < 500  # refused: counted under its own status
    page = sock.emit("replay", {"since": 0}, callback=True)
    assert page["events"]
    sock.disconnect()
    after = scrape()
    created = {"endpoint": "telephony.log_call", "method": "POST"}
    assert metric(after, "hotline_http_requests_total", **created, status="201") == \
        metric(before, "hotline_http_requests_total", **created, status="201") + 1
    assert metric(after, "hotline_http_requests_total", **created, status=str(refused)) == \
        metric(before, "hotline_http_requests_total", **created, status=str(refused)) + 1
    assert metric(after, "hotline_realtime_events_emitted_total", event="incident.created") == \
        metric(before, "hotline_realtime_events_emitted_total", event="incident.created") + 1
    assert metric(after, "hotline_replay_events_count") == \
        metric(before, "hotline_replay_events_count") + 1
    assert metric(after, "hotline_socket_connections") == \
        metric(before, "hotline_socket_connections")
    for state in ("pending", "running", "dead"):
        assert f'hotline_jobs{{state="{state}"}}' in after
    assert "hotline_timer_lag_seconds_bucket" in after


def test_the_desks_use_the_configured_socket_transports(app, login_as):
    app.config["SOCKETIO_TRANSPORTS"] = ["websocket"]
    page = login_as("dispatcher").get("/desk/dispatch").get_data(as_text=True)
    data = json.loads(re.search(r'<script id="page-data" type="application/json">(.*?)</script>',
                                page, re.S).group(1))
    assert data["transports"] == ["websocket"]


def test_a_transport_that_does_not_exist_stops_the_start(monkeypatch):
    from console.config import load_config

    monkeypatch.setenv("SOCKETIO_TRANSPORTS", "websocket,long-polling")
    with pytest.raises(ValueError, match="SOCKETIO_TRANSPORTS"):
        load_config()
    monkeypatch.setenv("SOCKETIO_TRANSPORTS", " WebSocket ")
    assert load_config()["SOCKETIO_TRANSPORTS"] == ["websocket"]
