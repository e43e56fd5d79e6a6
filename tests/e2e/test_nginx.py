"""Production path (issue 11.5): real nginx with the shipped proxy configuration
(deploy/nginx/hotline-proxy.conf) in front of two gevent server processes sharing Redis,
websocket-only Socket.IO, no sticky sessions. nginx runs as this test's own process on a free
loopback port with a temporary configuration (never the system service)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
import uuid
from pathlib import Path

import pytest
import requests

from console.config import BASE_DIR
from tests.conftest import incident_body, need
from tests.e2e.server import free_port, server, stop
from tests.e2e.test_two_processes import connect, login
from tests.integration.test_health import metric

pytestmark = pytest.mark.redis

DEPLOY = BASE_DIR / "deploy" / "nginx"


def nginx_binary() -> str | None:
    return shutil.which("nginx") or next(
        (p for p in ("/usr/sbin/nginx", "/usr/local/sbin/nginx") if os.access(p, os.X_OK)), None)


def nginx_conf(tmp: Path, port: int, upstreams: list[str]) -> Path:
    """An nginx.conf around the shipped snippet: the site file's websocket map, an upstream of
    the test's processes, one plain-HTTP server on loopback."""
    site = (DEPLOY / "hotline.conf").read_text()
    upgrade_map = re.search(r"^map \$http_upgrade .*?^\}", site, re.S | re.M).group(0)
    servers = "\n".join(f"    server {u} max_fails=1 fail_timeout=5s;" for u in upstreams)
    temp = "\n".join(f"  {kind}_temp_path {tmp / kind};"
                     for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    user = "user root root;\n" if os.geteuid() == 0 else ""
    conf = tmp / "nginx.conf"
    conf.write_text(f"""{user}worker_processes 1;
pid {tmp / 'nginx.pid'};
error_log {tmp / 'error.log'} warn;
daemon off;
events {{ worker_connections 256; }}
http {{
  access_log {tmp / 'access.log'};
{temp}
  {upgrade_map}
  upstream hotline_app {{
{servers}
    keepalive 8;
  }}
  server {{
    listen 127.0.0.1:{port};
    include {DEPLOY / 'hotline-proxy.conf'};
  }}
}}
""")
    return conf


def start_nginx(tmp: Path, upstreams: list[str]) -> tuple[subprocess.Popen, str]:
    binary = nginx_binary()
    need("nginx", binary is not None, "the nginx binary is not installed (Debian: nginx)")
    port = free_port()
    conf = nginx_conf(tmp, port, upstreams)
    check = subprocess.run([binary, "-t", "-e", str(tmp / "error.log"), "-c", str(conf)],
                           capture_output=True, text=True)
    assert check.returncode == 0, check.stderr
    proc = subprocess.Popen([binary, "-e", str(tmp / "error.log"), "-c", str(conf)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 10
    while True:
        assert proc.poll() is None, (tmp / "error.log").read_text()
        try:
            requests.get(f"{base}/healthz", timeout=1)
            return proc, base
        except requests.RequestException:
            assert time.monotonic() < deadline, "nginx did not start within 10 s"
            time.sleep(0.1)


def created_on(base: str) -> float:
    """incident creates (201) this process answered, from its own /metrics (direct loopback)."""
    text = requests.get(f"{base}/metrics", timeout=5).text
    return metric(text, "hotline_http_requests_total", endpoint="telephony.log_call",
                  method="POST", status="201")


def sockets_on(base: str) -> float:
    return metric(requests.get(f"{base}/metrics", timeout=5).text, "hotline_socket_connections")


def test_consoles_and_call_takers_through_nginx_to_two_processes(served_db, tmp_path, redis_url):
    env = {"SOCKETIO_MESSAGE_QUEUE": redis_url, "SOCKETIO_CHANNEL": f"test-{uuid.uuid4().hex}",
           "SOCKETIO_ASYNC_MODE": "gevent", "SOCKETIO_TRANSPORTS": "websocket",
           "TRUST_PROXY_HOPS": "1"}
    with server(served_db, extra_env=env, log_path=tmp_path / "a.log") as (base_a, _), \
            server(served_db, extra_env=env, log_path=tmp_path / "b.log") as (base_b, _):
        proc, edge = start_nginx(tmp_path, [base_a[len("http://"):], base_b[len("http://"):]])
        try:
            assert requests.get(f"{edge}/healthz", timeout=5).json() == {"status": "ok"}
            ready = requests.get(f"{edge}/readyz", timeout=5)
            assert ready.status_code == 200, ready.text
            assert ready.json()["checks"] == {"database": "ok", "redis": "ok", "jobs": "ok"}
            # Metrics never leave through the proxy; each process answers loopback directly.
            assert requests.get(f"{edge}/metrics", timeout=5).status_code == 404
            # Long polling would need sticky sessions: refused, only the websocket is offered.
            polling = requests.get(f"{edge}/socket.io/?EIO=4&transport=polling", timeout=5)
            assert polling.status_code == 400

            before = created_on(base_a) + created_on(base_b)
            dispatcher_http, _ = login(edge, "dispatcher")
            console, got, _ = connect(edge, dispatcher_http, ["incident.created"])
            assert console.transport() == "websocket"
            deadline = time.monotonic() + 5
            while sockets_on(base_a) + sockets_on(base_b) != 1:
                assert time.monotonic() < deadline, requests.get(f"{base_a}/metrics").text
                time.sleep(0.1)
            calltaker_http, token = login(edge, "calltaker")
            made = []
            for i in range(4):
                resp = calltaker_http.post(f"{edge}/api/calls",
                                           json=incident_body(summary=f"via nginx {i}"),
                                           headers={"X-CSRFToken": token})
                assert resp.status_code == 201, resp.text
                made.append(resp.json()["incident"]["id"])
            deadline = time.monotonic() + 10
            while len(got) < len(made) and time.monotonic() < deadline:
                time.sleep(0.05)
            assert sorted(e["data"]["id"] for e in got) == sorted(made)
            # Round robin: both processes took creates, and the console heard every one of
            # them on its own process through Redis.
            on_a, on_b = created_on(base_a), created_on(base_b)
            assert on_a + on_b - before == len(made)
            assert on_a >= 1 and on_b >= 1, (on_a, on_b)
            console.disconnect()
            # The websocket upgrade went through nginx (logged once the connection closed).
            deadline = time.monotonic() + 10
            while " 101 " not in (tmp_path / "access.log").read_text():
                assert time.monotonic() < deadline, (tmp_path / "access.log").read_text()
                time.sleep(0.1)
        finally:
            stop(proc)
