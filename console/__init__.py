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


def _timer_loop(app: Flask) -> None:
    """Fire due timers (offer lapses, check-ins) every TIMER_POLL_SECONDS, forever."""
    import logging

    from console.db import utcnow
    from dispatch import flows as dispatch_flows
    from dispatch import service as dispatch_service

    log = logging.getLogger("console.timers")
    while True:
        socketio.sleep(app.config["TIMER_POLL_SECONDS"])
        with app.app_context():
            session = app.extensions["db_factory"]()
            try:
                fired = dispatch_service.fire_due_timers(
                    session=session, now=utcnow(), policy=escalation_policy(app.config),
                    choose=dispatch_service.choose_next_team(
                        app.extensions["positions"], travel_settings(app.config),
                        app.config["POSITION_MAX_AGE_MINUTES"]),
                )
                session.commit()
                if fired:
                    dispatch_flows.after_timers(
                        session=session, fired=fired, provider=app.extensions["telephony"],
                        link_base=app.config["PUBLIC_BASE_URL"] or "http://localhost",
                        map_link_template=app.config["MAP_LINK_TEMPLATE"])
            except Exception:  # noqa: BLE001
                session.rollback()
                log.exception("timer pass failed; retrying next tick")
            finally:
                session.close()


def escalation_policy(config) -> Any:
    """The dispatch engine's policy from configuration."""
    from dispatch.service import EscalationPolicy

    pairs = []
    for item in config["ACK_TIMEOUTS"].split(","):
        key, _, value = item.partition("=")
        if key.strip() and value.strip().isdigit():
            pairs.append((key.strip(), int(value)))
    return EscalationPolicy(ack_by_priority=tuple(pairs), checkin_minutes=config["CHECKIN_MINUTES"],
                            auto_escalate=config["AUTO_ESCALATE"])


def travel_settings(config) -> Any:
    """Distance-to-time settings from configuration."""
    from geo.service import TravelSettings

    return TravelSettings(road_factor=config["ROAD_FACTOR"], urban_kmh=config["SPEED_URBAN_KMH"],
                          rural_kmh=config["SPEED_RURAL_KMH"])


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
    from console.serving import Utf8Json, without_websocket_compression
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

    if app.config.get("TRUST_PROXY_HOPS"):
        from werkzeug.middleware.proxy_fix import ProxyFix

        hops = app.config["TRUST_PROXY_HOPS"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops,
                                x_port=hops, x_prefix=hops)

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
        json=Utf8Json,
    )
    if not app.config["SOCKETIO_WS_COMPRESSION"]:
        app.wsgi_app = without_websocket_compression(app.wsgi_app)

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
    if app.config["TIMERS_ENABLED"] and not app.config.get("TESTING"):
        socketio.start_background_task(_timer_loop, app)
    from geo.geocoders import make_geocoder

    app.extensions["geocoder"] = make_geocoder(app.config)
    from telephony.providers import make_provider

    app.extensions["telephony"] = make_provider(app.config)
    from console.limits import install as install_body_limits

    install_body_limits(app)  # NOTE: outermost WSGI layer: every body is capped.
    from console import security

    security.install(app)
    web.register_error_handlers(app)
    routes.register(app)
    sockets.register()
    return app
