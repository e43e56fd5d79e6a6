"""Serve the console: python run.py (make run does this after migrating and loading demo data)."""
import os

from console import create_app
from console.extensions import socketio

app = create_app()

if __name__ == "__main__":
    host, port = os.environ.get("HOST", "127.0.0.1"), int(os.environ.get("PORT", "5000"))
    socketio.run(app, host=host, port=port, allow_unsafe_werkzeug=True)
