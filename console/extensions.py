"""Flask extensions, created once and bound to the app in create_app()."""

from __future__ import annotations

import math
import time

from flask_babel import Babel
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_socketio import SocketIO
from flask_wtf import CSRFProtect
from limits import parse
from limits.strategies import MovingWindowRateLimiter

socketio = SocketIO()
login_manager = LoginManager()
babel = Babel()
csrf = CSRFProtect()
limiter = Limiter(key_func=get_remote_address, default_limits=[])

# Failed logins (wrong password or wrong second-factor code) per address, across usernames.
LOGIN_FAILURES = "login-failures"


def _login_window(config) -> tuple[MovingWindowRateLimiter, object]:
    return MovingWindowRateLimiter(limiter.storage), parse(config["LOGIN_ADDRESS_LIMIT"])


def login_address_wait(address: str | None, config) -> float:
    """Seconds before this address may try to log in again (0: now), after LOGIN_ADDRESS_LIMIT
    failures whatever usernames they were for."""
    window, item = _login_window(config)
    if window.test(item, LOGIN_FAILURES, address or "-"):
        return 0.0
    reset_at = window.get_window_stats(item, LOGIN_FAILURES, address or "-").reset_time
    return max(1.0, math.ceil(reset_at - time.time()))


def login_address_failed(address: str | None, config) -> None:
    """Count one failed login for the address."""
    window, item = _login_window(config)
    window.hit(item, LOGIN_FAILURES, address or "-")
