"""Minimal reference Flask-SocketIO server for the fan-out benchmark (issue 6).

python bench/reference_server.py      (HOST, PORT, SOCKETIO_ASYNC_MODE, SOCKETIO_MESSAGE_QUEUE,
                                       SOCKETIO_CHANNEL from the environment)

POST /emit {"event": name, "seq": n, "data": {...}} -> socketio.emit(event, body, to="bench"),
nothing else: no login, no database, no validation. Every client joins the room "bench" on
connect. Same async mode and monkey patching as run.py, the same socketio.run server and
options (TCP_NODELAY; BENCH_NAGLE=1 leaves Nagle's algorithm on, as socketio.run does), and with
a message queue (Redis) two processes share the room like the console's processes do.
Bare Flask-SocketIO accepts the websocket per-message deflate a client offers; with
REF_WS_COMPRESSION=0 it refuses it the way the console does by default (like for like).
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

import sys  # noqa: E402
from pathlib import Path  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from flask import Flask, jsonify, request  # noqa: E402
from flask_socketio import SocketIO, join_room  # noqa: E402

from console.serving import (  # noqa: E402  (the same options as run.py)
    server_options,
    without_websocket_compression,
)

ROOM = "bench"

app = Flask(__name__)
socketio = SocketIO(
    app,
    async_mode=MODE,
    message_queue=os.environ.get("SOCKETIO_MESSAGE_QUEUE") or None,
    channel=os.environ.get("SOCKETIO_CHANNEL", "flask-socketio"),
)
if os.environ.get("REF_WS_COMPRESSION", "1") == "0":
    app.wsgi_app = without_websocket_compression(app.wsgi_app)


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


if __name__ == "__main__":
    host, port = os.environ.get("HOST", "127.0.0.1"), int(os.environ.get("PORT", "5000"))
    options = {} if os.environ.get("BENCH_NAGLE") == "1" else server_options(MODE)
    socketio.run(app, host=host, port=port, allow_unsafe_werkzeug=True, **options)
