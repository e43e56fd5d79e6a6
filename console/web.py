"""Request plumbing: the per-request DB session, access checks, errors mapped to clear 4xx."""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import current_app, g, has_request_context, jsonify, render_template, request
from flask_babel import gettext
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from redis.exceptions import RedisError
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.exceptions import HTTPException

from console.enums import DESK_ROLES
from console.errors import N_, DomainError, ImportFailed, ValidationFailed

log = logging.getLogger(__name__)


def db() -> Session:
    """The session of this request (or socket event), opened on first use."""
    if "db_session" not in g:
        from console.service import CLIENT_IP

        g.db_session = current_app.extensions["db_factory"]()
        if has_request_context():
            # NOTE: every audit row this session writes carries the client's address
            # (request.remote_addr, after TRUST_PROXY_HOPS proxies): the PDPA access log.
            g.db_session.info[CLIENT_IP] = request.remote_addr
    return g.db_session


def close_db(_exc: BaseException | None = None) -> None:
    """Roll back anything uncommitted and close the request's session."""
    session = g.pop("db_session", None)
    if session is not None:
        session.rollback()
        session.close()


def wants_json() -> bool:
    """API paths and JSON clients get JSON errors; pages get HTML."""
    return request.path.startswith("/api/") or request.is_json or (
        request.accept_mimetypes.best == "application/json"
    )


def translate(message: str, params: dict[str, Any] | None = None) -> str:
    """Translate a domain message and fill its parameters."""
    text = gettext(message)
    return text % params if params else text


def json_body() -> Any:
    """The request's JSON body, or a clear refusal when it is not JSON (400: nested too deep)."""
    from console.limits import request_json

    data = request_json()
    if data is None:
        raise DomainError(N_("Send the data as JSON."))
    return data


def safe_next(target: str | None, fallback: str) -> str:
    """A redirect target on this site only: a plain absolute path, no scheme, host or tricks."""
    from urllib.parse import urlsplit

    if not target or not target.startswith("/") or "\\" in target:
        return fallback
    if any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in target):
        return fallback
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or target.startswith("//"):
        return fallback
    return target


def desk_required(desk: str) -> Callable:
    """Only logged-in users whose role may use this desk (403 otherwise)."""

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def wrapper(*args, **kwargs):
            if not current_user.is_authenticated:
                return current_app.login_manager.unauthorized()
            if current_user.role not in DESK_ROLES[desk]:
                return error_response(403, N_("Your role cannot use this desk."))
            return view(*args, **kwargs)

        return wrapper

    return decorator


MAX_UPLOAD = 2 * 1024 * 1024  # a CSV import: far above a province's teams or a month's roster


def csv_import(run: Callable[[bytes], Any], field_names: dict[str, Any],
               page: Callable[..., Any]):
    """The body of every CSV import route: read the upload (a `file` field, or a text/csv body),
    refuse an empty or too large one, run the import (all lines or none) and commit; the bad
    lines come back with their line, field and message in the user's language. JSON for API
    callers, else the import page (`page(problems=..., status=...)` or `page(result=...)`)."""
    upload = request.files.get("file")
    data = upload.read(MAX_UPLOAD + 1) if upload is not None else (
        request.get_data(cache=False)[:MAX_UPLOAD + 1] if request.mimetype == "text/csv"
        else b"")
    if not data:
        return error_response(422, N_("Please choose a CSV file to import."))
    if len(data) > MAX_UPLOAD:
        return error_response(413, N_("The upload is too large."))
    try:
        result = run(data)
    except ImportFailed as exc:
        db().rollback()
        problems = [{"line": line, "field": column,
                     "field_label": str(field_names.get(column, column)),
                     "message": translate(message, params)}
                    for line, column, message, params in exc.problems]
        if wants_json():
            return jsonify({"error": translate(exc.message), "lines": problems}), 422
        return page(problems=problems, status=422)
    except DomainError:
        db().rollback()
        raise
    db().commit()
    body = {"created": result.created, "updated": result.updated,
            "unchanged": result.unchanged}
    if wants_json():
        return jsonify(body)
    return page(result=body)


def error_response(status: int, message: str, params: dict | None = None,
                   fields: dict[str, str] | None = None):
    """One shape for every refusal: JSON {error, fields} or an HTML page with the message."""
    session = g.get("db_session")
    if session is not None:
        try:
            session.rollback()  # NOTE: a refusal changes nothing, and the page can still read.
        except Exception:  # noqa: BLE001
            log.warning("rollback failed while answering an error (database unreachable)")
    text = translate(message, params)
    if wants_json():
        body: dict[str, Any] = {"error": text}
        if fields:
            body["fields"] = fields
        return jsonify(body), status
    if status < 500:
        try:
            return render_template("error.html", message=text, status=status,
                                   fields=fields), status
        except Exception:  # noqa: BLE001
            log.warning("error page needs the database; answering the plain page")
    # NOTE: the plain page reads neither the database nor the logged-in user: it works while
    # PostgreSQL is down (the full page loads the user to draw the menu). Flask-Login's
    # template context would load the user: give it an anonymous one for this page.
    if "_login_user" not in g:
        g._login_user = current_app.login_manager.anonymous_user()
    return render_template("error_plain.html", message=text, status=status,
                           lang=_locale_or_default()), status


def _locale_or_default() -> str:
    """The user's language without touching the database."""
    lang = request.cookies.get("lang")
    return lang if lang in current_app.config["LANGUAGES"] else \
        current_app.config["BABEL_DEFAULT_LOCALE"]


def _is_outage(exc: DBAPIError) -> bool:
    """A lost or refused database connection (not a bad statement)."""
    return isinstance(exc, OperationalError | InterfaceError) or exc.connection_invalidated


def register_error_handlers(app) -> None:
    """Map domain errors, CSRF failures and HTTP errors to clear answers in the user's language."""

    @app.errorhandler(ValidationFailed)
    def _validation(exc: ValidationFailed):
        fields = {k: translate(m, p) for k, (m, p) in exc.errors.items()}
        return error_response(exc.status, exc.message, fields=fields)

    @app.errorhandler(StaleDataError)
    def _stale(_exc: StaleDataError):
        return error_response(409, N_("Someone else changed this at the same moment. Your "
                                      "screen has the latest state; check it and try again."))

    @app.errorhandler(DomainError)
    def _domain(exc: DomainError):
        return error_response(exc.status, exc.message, exc.params)

    @app.errorhandler(CSRFError)
    def _csrf(_exc: CSRFError):
        return error_response(
            400, N_("Your form expired or came from another site. Reload the page and try again.")
        )

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException):
        messages = {
            404: N_("Not found."),
            405: N_("This action is not allowed here."),
            413: N_("The upload is too large."),
            429: N_("Too many failed attempts. Wait a few minutes and try again."),
            400: N_("The request could not be read."),
        }
        return error_response(exc.code or 500, messages.get(exc.code, N_("Request refused.")))

    @app.errorhandler(DBAPIError)
    def _database_down(exc: DBAPIError):
        if not _is_outage(exc):
            return _unexpected(exc)
        log.error("database unreachable: %s", exc.__class__.__name__)
        return error_response(503, N_("The system cannot reach its database right now, so "
                                      "nothing was saved. Please try again in a moment."))

    @app.errorhandler(RedisError)
    def _redis_down(exc: RedisError):
        log.error("Redis unreachable: %s", exc.__class__.__name__)
        return error_response(503, N_("A part of the system is restarting, so nothing was "
                                      "saved. Please try again in a moment."))

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception):
        log.exception("unexpected error")
        return error_response(500, N_("Something went wrong; nothing was saved. Try again."))
