"""Serve the console: python run.py (make run does this after migrating and loading demo data)."""
import os

MODE = os.environ.get("SOCKETIO_ASYNC_MODE", "threading")
# NOTE: the green async modes must patch the standard library before anything else imports it.
if MODE == "eventlet":
    import eventlet

    eventlet.monkey_patch()
elif MODE == "gevent":
    from gevent import monkey

    monkey.patch_all()

import socket  # noqa: E402

from console import create_app  # noqa: E402
from console.extensions import socketio  # noqa: E402


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


app = create_app()

if __name__ == "__main__":
    host, port = os.environ.get("HOST", "127.0.0.1"), int(os.environ.get("PORT", "5000"))
    socketio.run(app, host=host, port=port, allow_unsafe_werkzeug=True, **server_options(MODE))
