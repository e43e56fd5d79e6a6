"""Flask extensions, created once and bound to the app in create_app()."""

from __future__ import annotations

from flask import request
from flask_babel import Babel
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_socketio import SocketIO
from flask_wtf import CSRFProtect

socketio = SocketIO()
login_manager = LoginManager()
babel = Babel()
csrf = CSRFProtect()
limiter = Limiter(key_func=get_remote_address, default_limits=[])


def login_key() -> str:
    """Failed logins are counted per address and username together."""
    return f"{get_remote_address()}:{(request.form.get('username') or '').strip().lower()}"
