"""Serve the console: python run.py (make run does this after migrating and loading demo data)."""
import os

MODE = os.environ.get("SOCKETIO_ASYNC_MODE", "threading")
# NOTE: the green async modes must patch the standard library before anything else imports it.
if MODE == "eventlet":
    import eventlet

    eventlet.monkey_patch()
    # NOTE: psycopg 3 waits for PostgreSQL in C unless it sees gevent's patching, which under
    # eventlet blocks every console of the process for each round trip, and for good while a
    # query waits on a row lock (held by a greenlet that then cannot run to release it).
    # Its select()-based wait goes through eventlet's green select and yields.
    os.environ.setdefault("PSYCOPG_WAIT_FUNC", "wait_select")
elif MODE == "gevent":
    from gevent import monkey

    monkey.patch_all()

from console import create_app  # noqa: E402
from console.extensions import socketio  # noqa: E402
from console.serving import freeze_startup_objects, server_options  # noqa: E402

app = create_app()

if __name__ == "__main__":
    freeze_startup_objects()
    host, port = os.environ.get("HOST", "127.0.0.1"), int(os.environ.get("PORT", "5000"))
    socketio.run(app, host=host, port=port, allow_unsafe_werkzeug=True, **server_options(MODE))
