"""The 1300 hotline and dispatch console: create_app() wires config, extensions and desks."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import Flask, request, session
from flask_babel import get_locale
from flask_login import current_user

from console.config import BASE_DIR, load_config
from console.extensions import babel, csrf, limiter, login_manager, socketio


def _select_locale() -> str:
    from flask import current_app

    langs = current_app.config["LANGUAGES"]
    chosen = request.cookies.get("lang") if request else None
    if chosen in langs:
        return chosen
    if current_user and current_user.is_authenticated and current_user.locale in langs:
        return current_user.locale
    return current_app.config["BABEL_DEFAULT_LOCALE"]


def _start_positions(app: Flask) -> None:
    """The spatial index of team positions: Redis GEO when configured, else in-process."""
    from sqlalchemy.exc import SQLAlchemyError

    from dispatch import service as dispatch_service
    from geo.spatial import make_index

    index = make_index(app.config["POSITIONS_REDIS_URL"], prefix=app.config["POSITIONS_PREFIX"])
    app.extensions["positions"] = index
    session = app.extensions["db_factory"]()
    try:
        dispatch_service.load_positions(session=session, index=index)
    except SQLAlchemyError:
        pass  # NOTE: a database not migrated yet has no teams to load.
    finally:
        session.close()


def create_app(overrides: dict[str, Any] | None = None) -> Flask:
    """Build the console application."""
    from console import (
        all_models,  # noqa: F401  (every table registered)
        realtime,
        routes,
        sockets,
        web,
    )
    from console.db import make_engine, make_sessionmaker
    from console.labels import format_be, label, place_names, province_name
    from console.models import User
    from telephony.schemas import format_thai_phone

    app = Flask(
        __name__,
        static_folder=str(BASE_DIR / "static"),
        template_folder=str(BASE_DIR / "console" / "templates"),
    )
    app.config.update(load_config())
    if overrides:
        app.config.update(overrides)
    app.config["PERMANENT_SESSION_LIFETIME"] = timedelta(
        minutes=app.config["SESSION_IDLE_MINUTES"]
    )
    app.config.setdefault(
        "BABEL_TRANSLATION_DIRECTORIES", str(BASE_DIR / "console" / "translations")
    )

    engine = make_engine(app.config["DATABASE_URL"])
    factory = make_sessionmaker(engine)
    app.extensions["db_engine"] = engine
    app.extensions["db_factory"] = factory
    app.teardown_appcontext(web.close_db)

    csrf.init_app(app)
    limiter.init_app(app)
    babel.init_app(app, locale_selector=_select_locale, timezone_selector=lambda: "Asia/Bangkok")
    login_manager.init_app(app)
    login_manager.login_view = "console.login"
    login_manager.session_protection = "strong"

    @login_manager.user_loader
    def _load_user(user_id: str) -> User | None:
        user = web.db().get(User, int(user_id))
        return user if user is not None and user.active else None

    @login_manager.unauthorized_handler
    def _unauthorized():
        from flask import redirect, url_for

        from console.errors import N_

        if web.wants_json():
            return web.error_response(401, N_("Please log in."))
        return redirect(url_for("console.login", next=request.full_path))

    socketio.init_app(
        app,
        async_mode=app.config["SOCKETIO_ASYNC_MODE"],
        message_queue=app.config["SOCKETIO_MESSAGE_QUEUE"],
        channel=app.config["SOCKETIO_CHANNEL"],
        cors_allowed_origins=app.config.get("SOCKETIO_CORS_ORIGINS"),
    )

    def _send(name: str, envelope: dict, rooms: list[str]) -> None:
        socketio.emit(name, envelope, to=rooms)

    factory.configure(info={realtime.SENDER_KEY: _send})

    @app.before_request
    def _expire_long_sessions():
        if current_user.is_authenticated and not web.session_is_fresh():
            from flask_login import logout_user

            logout_user()
            session.clear()

    app.jinja_env.filters["be"] = format_be
    app.jinja_env.filters["phone"] = format_thai_phone
    app.jinja_env.globals["label"] = label
    app.jinja_env.globals["get_locale"] = get_locale
    app.jinja_env.globals["province_name"] = province_name
    app.jinja_env.globals["place_names"] = place_names

    _start_positions(app)
    from geo.geocoders import make_geocoder

    app.extensions["geocoder"] = make_geocoder(app.config)
    web.register_error_handlers(app)
    routes.register(app)
    sockets.register()
    return app
