"""How run.py (and the benchmark's reference server) serve Flask-SocketIO in each async mode."""

from __future__ import annotations

import socket


def _nodelay(sock) -> None:
    try:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    except (OSError, AttributeError):
        pass


def server_options(mode: str) -> dict:
    """socketio.run() options that switch Nagle's algorithm off on every accepted connection.

    gevent's pywsgi writes a response's headers and body in two sends and never sets
    TCP_NODELAY, so on a keep-alive connection the body waited for the client's delayed ACK
    (~40 ms on Linux); back-to-back Socket.IO pushes to one console waited the same way.
    """
    if mode == "gevent":
        from gevent.pywsgi import WSGIHandler

        class Handler(WSGIHandler):
            def handle(self):
                _nodelay(self.socket)
                return super().handle()

        return {"handler_class": Handler}
    if mode == "eventlet":
        from eventlet.wsgi import HttpProtocol

        class Protocol(HttpProtocol):
            def setup(self):
                _nodelay(self.request)
                super().setup()

        return {"protocol": Protocol}
    from werkzeug.serving import WSGIRequestHandler

    class RequestHandler(WSGIRequestHandler):
        disable_nagle_algorithm = True

    return {"request_handler": RequestHandler}
