"""A real server under each async mode names no software or version in its Server header, on
pages, files, Socket.IO, errors and a request it refuses; the security headers are there."""

from __future__ import annotations

import re
import socket

import pytest
import requests

from console.serving import SERVER_BANNER
from tests.e2e.server import server

REVEALING = re.compile(r"werkzeug|python|gevent|eventlet|basehttp|wsgi|\d", re.IGNORECASE)
# Refused before the app sees it: werkzeug and eventlet answer from http.server's send_error(),
# whose Server header was "Werkzeug/3.1.x Python/3.11.x" / "BaseHTTP/0.6 Python/3.11.x".
TOO_MANY_HEADERS = (b"GET /login HTTP/1.1\r\nHost: x\r\n"
                    + b"".join(b"X-%d: y\r\n" % i for i in range(120)) + b"\r\n")


def raw_response_head(base: str, request: bytes) -> dict[str, str]:
    """Send raw bytes; the status line and headers of what comes back."""
    host, port = base.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(request)
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = sock.recv(4096)
            if not chunk:
                break
            head += chunk
    lines = head.split(b"\r\n\r\n")[0].decode("latin-1").split("\r\n")
    headers = {k.lower(): v for k, v in (line.split(": ", 1) for line in lines[1:] if ": " in line)}
    return {"status": lines[0], **headers}


@pytest.mark.parametrize("backend", ["sqlite"])
@pytest.mark.parametrize("mode", ["threading", "eventlet", "gevent"])
def test_no_server_version_in_any_async_mode(served_db, tmp_path, mode, backend):
    with server(served_db, extra_env={"SOCKETIO_ASYNC_MODE": mode},
                log_path=tmp_path / f"{mode}.log") as (base, _):
        answers = {
            "page": requests.get(f"{base}/login", timeout=10),
            "file": requests.get(f"{base}/static/css/console.css", timeout=10),
            "missing": requests.get(f"{base}/no-such-page", timeout=10),
            "socket.io": requests.get(f"{base}/socket.io/?EIO=4&transport=polling", timeout=10),
        }
        assert answers["page"].status_code == 200 and answers["missing"].status_code == 404
        assert answers["socket.io"].status_code == 200
        servers = {name: r.headers.get("Server") for name, r in answers.items()}
        refused = raw_response_head(base, TOO_MANY_HEADERS)
        assert re.match(r"HTTP/1\.[01] 4\d\d ", refused["status"]), (mode, refused)
        servers["refused"] = refused.get("server")
        for name, value in servers.items():
            assert value in (None, SERVER_BANNER), (mode, name, value)
            assert value is None or not REVEALING.search(value), (mode, name, value)
        # The app's own answers carry the security headers under every server.
        page = answers["page"].headers
        assert "script-src 'self'" in page["Content-Security-Policy"], mode
        assert page["X-Frame-Options"] == "DENY" and page["X-Content-Type-Options"] == "nosniff"
