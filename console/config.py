"""Configuration from environment variables, each with an embedded default that just works."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent


def _bool(name: str, default: bool) -> bool:
    """Read a boolean environment variable."""
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _secret_key() -> str:
    """Use SECRET_KEY, else a per-install key kept in instance/ so sessions survive restarts."""
    if os.environ.get("SECRET_KEY"):
        return os.environ["SECRET_KEY"]
    path = BASE_DIR / "instance" / "secret_key"
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return path.read_text().strip()


def _max_content_length() -> int:
    """The largest request body (bytes): the ESS app's photos plus 1 MiB for the report."""
    photos = int(os.environ.get("ESS_MAX_TOTAL_BYTES", str(15 * 1024 * 1024)))
    return int(os.environ.get("MAX_CONTENT_LENGTH") or photos + 1024 * 1024)


def _transports(value: str) -> list[str]:
    """SOCKETIO_TRANSPORTS as a list; anything but websocket and polling stops the start."""
    items = [t.strip().lower() for t in value.split(",") if t.strip()]
    if not items or any(t not in ("websocket", "polling") for t in items):
        raise ValueError(f"SOCKETIO_TRANSPORTS must list websocket and/or polling, not {value!r}")
    return items


def load_config() -> dict:
    """Build the Flask config mapping from the environment."""
    default_db = f"sqlite:///{BASE_DIR / 'instance' / 'console.db'}"
    redis_url = os.environ.get("REDIS_URL") or None
    return {
        "SECRET_KEY": _secret_key(),
        "DATABASE_URL": os.environ.get("DATABASE_URL") or default_db,
        "REDIS_URL": redis_url,
        # NOTE: several server processes share realtime events only through a message queue.
        "SOCKETIO_MESSAGE_QUEUE": os.environ.get("SOCKETIO_MESSAGE_QUEUE", redis_url or "") or None,
        "SOCKETIO_CHANNEL": os.environ.get("SOCKETIO_CHANNEL", "console-1300"),
        "SOCKETIO_ASYNC_MODE": os.environ.get("SOCKETIO_ASYNC_MODE", "threading"),
        # Per-message deflate on the consoles' websockets (off: it cost half the server's CPU
        # at 500 consoles for ~1 KB events; see docs/benchmarks.md).
        "SOCKETIO_WS_COMPRESSION": _bool("SOCKETIO_WS_COMPRESSION", False),
        # Transports the consoles may use, in order: "websocket" alone behind a load balancer
        # with several processes (no sticky sessions needed; docs/deploy.md).
        "SOCKETIO_TRANSPORTS": _transports(os.environ.get("SOCKETIO_TRANSPORTS",
                                                          "websocket,polling")),
        # /metrics (console/health.py): with a token, only `Authorization: Bearer <token>`;
        # without, only direct loopback requests (never through the reverse proxy).
        "METRICS_TOKEN": os.environ.get("METRICS_TOKEN", ""),
        "SESSION_IDLE_MINUTES": int(os.environ.get("SESSION_IDLE_MINUTES", "120")),
        "SESSION_MAX_HOURS": int(os.environ.get("SESSION_MAX_HOURS", "16")),
        # How often each process closes the sockets of sessions that ended elsewhere.
        "SESSION_CHECK_SECONDS": float(os.environ.get("SESSION_CHECK_SECONDS", "5")),
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": _bool("SESSION_COOKIE_SECURE", False),
        "WTF_CSRF_TIME_LIMIT": None,  # the token lives as long as the login session
        "BABEL_DEFAULT_LOCALE": "th",
        "BABEL_DEFAULT_TIMEZONE": "Asia/Bangkok",
        "LANGUAGES": ("th", "en"),
        # Tile URL template for the live map; empty = air-gapped plain background.
        "MAP_TILE_URL": os.environ.get("MAP_TILE_URL", ""),
        "MAP_TILE_ATTRIBUTION": os.environ.get("MAP_TILE_ATTRIBUTION", ""),
        # Twilio only when account, token and hotline number are all set; else the simulator.
        "TELEPHONY_PROVIDER": "twilio" if all(os.environ.get(k) for k in (
            "TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "TWILIO_NUMBER")) else "simulator",
        "TWILIO_ACCOUNT_SID": os.environ.get("TWILIO_ACCOUNT_SID", ""),
        "TWILIO_AUTH_TOKEN": os.environ.get("TWILIO_AUTH_TOKEN", ""),
        "TWILIO_NUMBER": os.environ.get("TWILIO_NUMBER", ""),
        # Called number -> province queue: "0551234567=65,053123456=50"; others go to
        # TELEPHONY_DEFAULT_PROVINCE (empty = the national queue).
        "TWILIO_NUMBERS": os.environ.get("TWILIO_NUMBERS", ""),
        # The number a field team phones when its SOS cannot reach the server (tel: link).
        "CENTRE_PHONE": os.environ.get("CENTRE_PHONE", "1300"),
        "TELEPHONY_DEFAULT_PROVINCE": os.environ.get("TELEPHONY_DEFAULT_PROVINCE", ""),
        # Seconds a caller waits in the queue before being offered a voice message.
        "TELEPHONY_HOLD_SECONDS": int(os.environ.get("TELEPHONY_HOLD_SECONDS", "120")),
        # The public address Twilio calls (webhook signatures are checked against it); empty =
        # the request's own URL, after TRUST_PROXY_HOPS proxies' X-Forwarded-* headers.
        "PUBLIC_BASE_URL": os.environ.get("PUBLIC_BASE_URL", "").rstrip("/"),
        "TRUST_PROXY_HOPS": int(os.environ.get("TRUST_PROXY_HOPS", "0")),
        # SMS location links, a template such as
        # "https://www.openstreetmap.org/?mlat={lat}&mlon={lon}"; empty = a geo:lat,lon URI
        # (opens the phone's own map app, no third party).
        "MAP_LINK_TEMPLATE": os.environ.get("MAP_LINK_TEMPLATE", ""),
        # A self-hosted Nominatim (geopy, rate-limited, cached); empty = the offline gazetteer.
        "NOMINATIM_URL": os.environ.get("NOMINATIM_URL", ""),
        # Nearest-team recommendation (geo): positions older than this are ignored.
        "POSITION_MAX_AGE_MINUTES": float(os.environ.get("POSITION_MAX_AGE_MINUTES", "30")),
        "ROAD_FACTOR": float(os.environ.get("ROAD_FACTOR", "1.4")),
        "SPEED_URBAN_KMH": float(os.environ.get("SPEED_URBAN_KMH", "25")),
        "SPEED_RURAL_KMH": float(os.environ.get("SPEED_RURAL_KMH", "50")),
        "POSITIONS_REDIS_URL": os.environ.get("POSITIONS_REDIS_URL", redis_url or "") or None,
        "POSITIONS_PREFIX": os.environ.get("POSITIONS_PREFIX", "console:positions"),
        # Failed logins per address: counted in Redis when set (shared by all processes), else
        # in memory. Every address may fail LOGIN_ADDRESS_LIMIT times across all usernames.
        "RATELIMIT_STORAGE_URI": os.environ.get("RATELIMIT_STORAGE_URI", redis_url or "memory://"),
        "LOGIN_ADDRESS_LIMIT": os.environ.get("LOGIN_ADDRESS_LIMIT", "20 per 10 minutes"),
        # Per username (in the database): LOGIN_FREE_FAILURES wrong attempts, then each further
        # one makes the next wait LOGIN_DELAY_BASE_SECONDS doubled per failure, at most
        # LOGIN_DELAY_MAX_SECONDS; the right password after the wait works (nobody is locked out).
        "LOGIN_FREE_FAILURES": int(os.environ.get("LOGIN_FREE_FAILURES", "5")),
        "LOGIN_DELAY_BASE_SECONDS": float(os.environ.get("LOGIN_DELAY_BASE_SECONDS", "2")),
        "LOGIN_DELAY_MAX_SECONDS": float(os.environ.get("LOGIN_DELAY_MAX_SECONDS", "300")),
        # Accounts (console/accounts.py): password length, the time allowed between password and
        # second factor, and the key the TOTP secrets are encrypted with (default: SECRET_KEY).
        "PASSWORD_MIN_LENGTH": max(8, int(os.environ.get("PASSWORD_MIN_LENGTH", "12"))),
        "LOGIN_SECOND_STEP_MINUTES": float(os.environ.get("LOGIN_SECOND_STEP_MINUTES", "5")),
        "TOTP_ISSUER": os.environ.get("TOTP_ISSUER", "1300 Hotline"),
        "TOTP_ENCRYPTION_KEY": os.environ.get("TOTP_ENCRYPTION_KEY", ""),
        # Dispatch engine: seconds to acknowledge an offer per priority, safety check-ins on
        # scene, automatic offer to the next team, and the durable timer worker.
        "ACK_TIMEOUTS": os.environ.get("ACK_TIMEOUTS", "P1=60,P2=120,P3=300,P4=600"),
        "CHECKIN_MINUTES": int(os.environ.get("CHECKIN_MINUTES", "20")),
        "AUTO_ESCALATE": _bool("AUTO_ESCALATE", True),
        "TIMERS_ENABLED": _bool("TIMERS_ENABLED", True),
        "TIMER_POLL_SECONDS": float(os.environ.get("TIMER_POLL_SECONDS", "1")),
        "REPLAY_LIMIT": int(os.environ.get("REPLAY_LIMIT", "500")),
        # How long an agency's referral link works (days); it can be withdrawn before.
        "REFERRAL_LINK_DAYS": int(os.environ.get("REFERRAL_LINK_DAYS", "14")),
        # Case reminders (cases/reminders.py): hours an agency has for each step of a referral,
        # by the case's risk level (3 urgent .. 1), then the grace after the owner's reminder
        # before the province's supervisors are alarmed, and again before the provincial office.
        "REFERRAL_ACK_HOURS": os.environ.get("REFERRAL_ACK_HOURS", "3=4,2=24,1=72"),
        "REFERRAL_ACCEPT_HOURS": os.environ.get("REFERRAL_ACCEPT_HOURS", "3=24,2=72,1=168"),
        "REFERRAL_OUTCOME_HOURS": os.environ.get("REFERRAL_OUTCOME_HOURS", "3=168,2=336,1=720"),
        "CASE_SUPERVISOR_GRACE_HOURS": os.environ.get("CASE_SUPERVISOR_GRACE_HOURS",
                                                      "3=2,2=12,1=24"),
        "CASE_OFFICE_GRACE_HOURS": os.environ.get("CASE_OFFICE_GRACE_HOURS", "3=4,2=24,1=48"),
        # Referral links by e-mail: smtp://user:password@host:port (smtps:// for TLS from the
        # start, ?starttls=1 to upgrade); empty: no e-mail (SMS, LINE or the letter instead).
        "MAIL_URL": os.environ.get("MAIL_URL", ""),
        "MAIL_FROM": os.environ.get("MAIL_FROM", "1300@localhost"),
        # The outbox relay (console/relay.py): every RELAY_SECONDS each process sends its
        # consoles any committed event older than RELAY_GRACE_SECONDS that never reached it,
        # and tells them how far they are complete (at least every SYNC_HEARTBEAT_SECONDS).
        "RELAY_ENABLED": _bool("RELAY_ENABLED", True),
        "RELAY_SECONDS": float(os.environ.get("RELAY_SECONDS", "1")),
        "RELAY_GRACE_SECONDS": float(os.environ.get("RELAY_GRACE_SECONDS", "2")),
        "SYNC_HEARTBEAT_SECONDS": float(os.environ.get("SYNC_HEARTBEAT_SECONDS", "10")),
        # The outbound job queue (jobs/): SMS, LINE and Twilio calls run by a worker in each
        # process (JOBS_ENABLED) or `python -m console.cli worker`; kept as text here and
        # checked by jobs/config.py, which stops the start with a clear message when wrong.
        "JOBS_ENABLED": os.environ.get("JOBS_ENABLED", "1"),
        "JOBS_CONCURRENCY": os.environ.get("JOBS_CONCURRENCY", "4"),
        "JOBS_POLL_SECONDS": os.environ.get("JOBS_POLL_SECONDS", "1"),
        "JOBS_MAX_ATTEMPTS": os.environ.get("JOBS_MAX_ATTEMPTS", "5"),
        "JOBS_BACKOFF_SECONDS": os.environ.get("JOBS_BACKOFF_SECONDS", "5"),
        "JOBS_BACKOFF_MAX_SECONDS": os.environ.get("JOBS_BACKOFF_MAX_SECONDS", "300"),
        "JOBS_LEASE_SECONDS": os.environ.get("JOBS_LEASE_SECONDS", "120"),
        "JOBS_RETENTION_DAYS": os.environ.get("JOBS_RETENTION_DAYS", "7"),
        # Every call to LINE or Twilio gives up after this many seconds (then retried).
        "OUTBOUND_TIMEOUT_SECONDS": os.environ.get("OUTBOUND_TIMEOUT_SECONDS", "10"),
        # How often each process checks that the position index still holds every team
        # (Redis restarted empty) and reloads it from the database.
        "POSITIONS_CHECK_SECONDS": float(os.environ.get("POSITIONS_CHECK_SECONDS", "5")),
        # ESS Help Me (issue 4): the LINE Official Account channel and the mobile-app API.
        "LINE_CHANNEL_SECRET": os.environ.get("LINE_CHANNEL_SECRET", ""),
        "LINE_CHANNEL_ACCESS_TOKEN": os.environ.get("LINE_CHANNEL_ACCESS_TOKEN", ""),
        "LINE_API_BASE": os.environ.get("LINE_API_BASE", "https://api.line.me"),
        "LINE_DATA_API_BASE": os.environ.get("LINE_DATA_API_BASE", "https://api-data.line.me"),
        # A report this close (metres) and this recent (minutes) to an open incident of the
        # same category joins it instead of opening a duplicate.
        "ESS_DEDUPE_METERS": float(os.environ.get("ESS_DEDUPE_METERS", "300")),
        "ESS_DEDUPE_MINUTES": float(os.environ.get("ESS_DEDUPE_MINUTES", "30")),
        "ESS_API_KEY_LIMIT": os.environ.get("ESS_API_KEY_LIMIT", "60 per minute"),
        "ESS_API_IP_LIMIT": os.environ.get("ESS_API_IP_LIMIT", "120 per minute"),
        "ESS_MAX_PHOTOS": int(os.environ.get("ESS_MAX_PHOTOS", "5")),
        "ESS_MAX_PHOTO_BYTES": int(os.environ.get("ESS_MAX_PHOTO_BYTES", str(5 * 1024 * 1024))),
        "ESS_MAX_TOTAL_BYTES": int(os.environ.get("ESS_MAX_TOTAL_BYTES", str(15 * 1024 * 1024))),
        # LINE messages from one user within this many minutes build one report.
        "ESS_LINE_WINDOW_MINUTES": float(os.environ.get("ESS_LINE_WINDOW_MINUTES", "10")),
        "ESS_ATTACHMENT_DIR": os.environ.get(
            "ESS_ATTACHMENT_DIR", str(BASE_DIR / "instance" / "attachments")),
        # A photo with more pixels is refused before it is decoded (decompression bombs).
        "ESS_MAX_PHOTO_PIXELS": int(os.environ.get("ESS_MAX_PHOTO_PIXELS", "40000000")),
        # Subsidies (cases/subsidies.py): the most one request may ask for (baht), and the
        # documents attached to it (PDF, JPEG or PNG; each at most this many bytes).
        "SUBSIDY_MAX_BAHT": int(os.environ.get("SUBSIDY_MAX_BAHT", "50000")),
        "SUBSIDY_DOC_MAX_BYTES": int(os.environ.get("SUBSIDY_DOC_MAX_BYTES",
                                                    str(5 * 1024 * 1024))),
        "SUBSIDY_DOC_MAX_COUNT": int(os.environ.get("SUBSIDY_DOC_MAX_COUNT", "10")),
        # Request bodies (console/limits.py): the largest of all (Flask's own setting, the ESS
        # photo uploads), every other path, and the webhooks, which need only a few KB.
        "MAX_CONTENT_LENGTH": _max_content_length(),
        "MAX_BODY_BYTES": int(os.environ.get("MAX_BODY_BYTES", str(1024 * 1024))),
        "TWILIO_WEBHOOK_MAX_BYTES": int(os.environ.get("TWILIO_WEBHOOK_MAX_BYTES", "65536")),
        "LINE_WEBHOOK_MAX_BYTES": int(os.environ.get("LINE_WEBHOOK_MAX_BYTES", "262144")),
        # PDPA (console/retention.py, README "Personal data"): days each kind of personal data
        # is kept before it is deleted or anonymised (0 = for ever), checked every
        # RETENTION_CHECK_MINUTES by each server process (or `python -m console.cli retention`).
        "RETENTION_ENABLED": _bool("RETENTION_ENABLED", True),
        "RETENTION_CHECK_MINUTES": float(os.environ.get("RETENTION_CHECK_MINUTES", "60")),
        "RETENTION_BATCH": int(os.environ.get("RETENTION_BATCH", "500")),
        "RETENTION_POSITIONS_DAYS": int(os.environ.get("RETENTION_POSITIONS_DAYS", "90")),
        "RETENTION_RECORDINGS_DAYS": int(os.environ.get("RETENTION_RECORDINGS_DAYS", "365")),
        "RETENTION_PHOTOS_DAYS": int(os.environ.get("RETENTION_PHOTOS_DAYS", "730")),
        "RETENTION_CALLS_DAYS": int(os.environ.get("RETENTION_CALLS_DAYS", "1825")),
        "RETENTION_INCIDENTS_DAYS": int(os.environ.get("RETENTION_INCIDENTS_DAYS", "3650")),
        "RETENTION_CASES_DAYS": int(os.environ.get("RETENTION_CASES_DAYS", "3650")),
        "RETENTION_AUDIT_DAYS": int(os.environ.get("RETENTION_AUDIT_DAYS", "3650")),
        # Ended login sessions (staff addresses and browsers).
        "RETENTION_SESSIONS_DAYS": int(os.environ.get("RETENTION_SESSIONS_DAYS", "90")),
        "DESK_IDEMPOTENCY_HOURS": float(os.environ.get("DESK_IDEMPOTENCY_HOURS", "24")),
        "ESS_IDEMPOTENCY_HOURS": float(os.environ.get("ESS_IDEMPOTENCY_HOURS", "24")),
        # What Socket.IO sends each console is summarised in the access log when it
        # disconnects, and while it stays connected once its summary covers
        # ACCESS_LOG_SOCKET_MINUTES or ACCESS_LOG_SOCKET_EVENTS events (checked every
        # ACCESS_LOG_FLUSH_SECONDS): a killed process loses at most that much of each summary.
        "ACCESS_LOG_SOCKET_MINUTES": float(os.environ.get("ACCESS_LOG_SOCKET_MINUTES", "2")),
        "ACCESS_LOG_SOCKET_EVENTS": int(os.environ.get("ACCESS_LOG_SOCKET_EVENTS", "500")),
        "ACCESS_LOG_FLUSH_SECONDS": float(os.environ.get("ACCESS_LOG_FLUSH_SECONDS", "10")),
    }
