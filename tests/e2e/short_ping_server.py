"""run.py with engine.io's ping interval and timeout cut to 1 s, so a console that stops
answering is given up on within seconds. Used by test_silent_console.py."""

import os
import runpy
import sys

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, ROOT)

# NOTE: patch as run.py does before anything imports the standard library's networking.
if os.environ.get("SOCKETIO_ASYNC_MODE") == "gevent":
    from gevent import monkey

    monkey.patch_all()
elif os.environ.get("SOCKETIO_ASYNC_MODE") == "eventlet":
    import eventlet

    eventlet.monkey_patch()

from console.extensions import socketio  # noqa: E402

# NOTE: init_app adds its own options to these; it sets neither ping option.
socketio.server_options.update(ping_interval=1, ping_timeout=1)
runpy.run_path(os.path.join(ROOT, "run.py"), run_name="__main__")
