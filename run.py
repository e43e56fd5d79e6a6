"""Serve the console: python run.py (make run does this after migrating and loading demo data)."""
import os

from console import create_app
from console.extensions import socketio

app = create_app()

if __name__ == "__main__":
    socketio.run(app, host=os.environ.get("HOST", "127.0.0.1"), port=int(os.environ.get("PORT", "5000")),
                 allow_unsafe_werkzeug=True)
