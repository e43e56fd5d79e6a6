"""A console that stops reading loses its connection once engine.io gives up on it (issue 11).

The client is a raw TCP socket: it opens the websocket, joins Socket.IO as a logged-in
dispatcher, then never reads nor answers a ping again. Before the fix the server marked it gone
after the ping timeout but kept the connection open for good under gevent (fd and buffers held).
"""

from __future__ import annotations

import base64
import os
import socket
import time

import pytest

from tests.e2e.server import server
from tests.e2e.test_two_processes import login


def _frame(text: str) -> bytes:
    """A masked websocket text frame (clients must mask), short payloads only."""
    data = text.encode()
    mask = os.urandom(4)
    return (bytes([0x81, 0x80 | len(data)]) + mask
            + bytes(b ^ mask[i % 4] for i, b in enumerate(data)))


def _open_silent_console(base: str, cookie: str) -> socket.socket:
    host, port = base.removeprefix("http://").split(":")
    sock = socket.create_connection((host, int(port)), timeout=10)
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall((f"GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: {host}\r\n"
                  "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                  f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
                  f"Cookie: {cookie}\r\n\r\n").encode())
    seen = b""
    while b"0{" not in seen:  # the 101 answer, then engine.io's OPEN packet
        chunk = sock.recv(4096)
        assert chunk, seen
        seen += chunk
    assert seen.startswith(b"HTTP/1.1 101"), seen[:200]
    sock.sendall(_frame("40"))  # Socket.IO CONNECT; from here on: silence
    return sock


def _closed_by_server(sock: socket.socket, within: float) -> bool:
    """Drain what the server sent; True once it closed the connection (EOF or reset)."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        sock.settimeout(max(deadline - time.monotonic(), 0.01))
        try:
            if sock.recv(65536) == b"":
                return True
        except TimeoutError:
            return False
        except ConnectionResetError:
            return True
    return False


@pytest.mark.parametrize("backend", ["postgresql"])
@pytest.mark.parametrize("mode", ["gevent", "eventlet"])
def test_a_console_that_stops_reading_is_disconnected(served_db, tmp_path, mode, backend):
    env = {"SOCKETIO_ASYNC_MODE": mode}
    with server(served_db, extra_env=env, log_path=tmp_path / f"{mode}.log",
                script="tests/e2e/short_ping_server.py") as (base, _):
        http, _token = login(base, "dispatcher")
        cookie = "; ".join(f"{c.name}={c.value}" for c in http.cookies)
        sock = _open_silent_console(base, cookie)
        try:
            time.sleep(4)  # ping every 1 s, timeout 1 s: given up on by now, not yet closed
            # NOTE: only now does the client read again: the server must have closed its end
            # (ping interval + timeout + the 1 s it leaves the handler, with a margin).
            assert _closed_by_server(sock, within=8), (
                f"{mode}: the server kept the silent console's connection open")
        finally:
            sock.close()
