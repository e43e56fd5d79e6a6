"""Minimal reference Flask-SocketIO server for the fan-out benchmark (issue 6).

python bench/reference_server.py      (HOST, PORT, SOCKETIO_ASYNC_MODE, SOCKETIO_MESSAGE_QUEUE,
                                       SOCKETIO_CHANNEL from the environment)

POST /emit {"event": name, "seq": n, "data": {...}} -> socketio.emit(event, body, to="bench"),
nothing else: no login, no database, no validation. Every client joins the room "bench" on
connect. Same async mode and monkey patching as run.py, the same socketio.run server and
options (TCP_NODELAY; BENCH_NAGLE=1 leaves Nagle's algorithm on, as socketio.run does), and with
a message queue (Redis) two processes share the room like the console's processes do.
"""

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

from flask import Flask, jsonify, request  # noqa: E402
from flask_socketio import SocketIO, join_room  # noqa: E402

ROOM = "bench"

app = Flask(__name__)
socketio = SocketIO(
    app,
    async_mode=MODE,
    message_queue=os.environ.get("SOCKETIO_MESSAGE_QUEUE") or None,
    channel=os.environ.get("SOCKETIO_CHANNEL", "flask-socketio"),
)


@app.get("/health")
def health():
    """Readiness probe for the benchmark driver."""
    return jsonify(ok=True, mode=MODE)


@app.post("/emit")
def emit():
    """Emit the posted body to the room, as is."""
    body = request.get_json(force=True)
    socketio.emit(body.get("event", "bench.event"), body, to=ROOM)
    return jsonify(ok=True)


@socketio.on("connect")
def on_connect(auth=None):
    """Every client joins the one room."""
    join_room(ROOM)


def _nodelay(sock) -> None:
    try:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    except (OSError, AttributeError):
        pass


def server_options(mode: str) -> dict:
    """The same socketio.run() options as run.py: Nagle's algorithm off on every connection."""
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


if __name__ == "__main__":
    host, port = os.environ.get("HOST", "127.0.0.1"), int(os.environ.get("PORT", "5000"))
    options = {} if os.environ.get("BENCH_NAGLE") == "1" else server_options(MODE)
    socketio.run(app, host=host, port=port, allow_unsafe_werkzeug=True, **options)
