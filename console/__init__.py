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
    try:
        if current_user and current_user.is_authenticated and current_user.locale in langs:
            return current_user.locale
    except Exception:  # noqa: BLE001
        pass  # NOTE: the database is down (the user is loaded from it): the default language.
    return current_app.config["BABEL_DEFAULT_LOCALE"]


def _start_positions(app: Flask) -> None:
    """The spatial index of team positions: Redis GEO when configured, else in-process."""
    from geo.spatial import make_index

    index = make_index(app.config["POSITIONS_REDIS_URL"], prefix=app.config["POSITIONS_PREFIX"])
    app.extensions["positions"] = index
    _ensure_positions(app)


def _ensure_positions(app: Flask) -> None:
    """Load the position index from the database when it is new or Redis lost it."""
    import logging

    from sqlalchemy.exc import SQLAlchemyError

    from dispatch import service as dispatch_service

    session = app.extensions["db_factory"]()
    try:
        count = dispatch_service.ensure_positions_index(session=session,
                                                        index=app.extensions["positions"])
        if count is not None:
            logging.getLogger("console.positions").info("position index loaded: %s teams", count)
    except SQLAlchemyError:
        pass  # NOTE: a database not migrated yet (or down) has no teams to load; retried later.
    except Exception:  # noqa: BLE001
        logging.getLogger("console.positions").warning(
            "position index unreachable; loading it again when it answers")
    finally:
        session.close()


def _close_dead_sessions(app: Flask) -> None:
    """Close this process's sockets whose login ended (logout elsewhere, expiry, disabled)."""
    import logging

    from console import sessions, sockets

    live = sockets.local_sessions()
    if not live:
        return
    db_session = app.extensions["db_factory"]()
    try:
        dead = sessions.ended_among(session=db_session, session_ids=set(live),
                                    life=session_lifetimes(app.config))
        db_session.commit()
    except Exception:  # noqa: BLE001
        db_session.rollback()
        logging.getLogger("console.sessions").warning("session check failed; retrying")
        return
    finally:
        db_session.close()
    for session_id in dead:
        sockets.close_session_sockets(session_id, local_only=True)


def _relay_loop(app: Flask) -> None:
    """Every RELAY_SECONDS: deliver committed events that never reached this process's sockets,
    tell the consoles how far they are complete (`sync`), and reload the position index when
    Redis lost it."""
    import logging
    import time

    from console import metrics, pdpa, relay
    from console.db import utcnow

    log = logging.getLogger("console.relay")
    manager = socketio.server.manager
    state = relay.RelayState()
    grace = timedelta(seconds=app.config["RELAY_GRACE_SECONDS"])
    heartbeat = app.config["SYNC_HEARTBEAT_SECONDS"]
    last_positions_check = last_sessions_check = 0.0

    def send_local(name: str, envelope: dict, rooms: list[str]) -> None:
        manager.emit(name, envelope, namespace="/", room=rooms, ignore_queue=True)
        metrics.RELAYED.inc()

    while True:
        socketio.sleep(app.config["RELAY_SECONDS"])
        with app.app_context():
            session = app.extensions["db_factory"]()
            try:
                relay.relay_pass(session=session, state=state, delivery=manager.delivery,
                                 now=utcnow(), grace=grace, send_local=send_local)
                session.rollback()
                state.db_ok = True
            except Exception:  # noqa: BLE001
                session.rollback()
                if state.db_ok:
                    log.exception("relay pass failed; consoles are told delivery is degraded")
                state.db_ok = False
            finally:
                session.close()
            now = time.monotonic()
            health = (manager.queue_ok, state.db_ok)
            if state.cursor is not None and (
                    (state.cursor != state.last_sync_upto and now - state.last_sync_sent >= 1.0)
                    or now - state.last_sync_sent >= heartbeat
                    or health != state.extra.get("health")):
                payload = relay.sync_payload(upto=state.cursor, queue_ok=manager.queue_ok,
                                             db_ok=state.db_ok)
                manager.emit(relay.SYNC_EVENT, payload, namespace="/", room=None,
                             ignore_queue=True)
                state.last_sync_sent, state.last_sync_upto = now, state.cursor
                state.extra["health"] = health
            if now - last_positions_check >= app.config["POSITIONS_CHECK_SECONDS"]:
                last_positions_check = now
                _ensure_positions(app)
            if now - last_sessions_check >= app.config["SESSION_CHECK_SECONDS"]:
                last_sessions_check = now
                _close_dead_sessions(app)
            # PDPA: the access log's Socket.IO summaries, and the retention job (console/pdpa).
            pdpa.housekeeping(app, manager, state.extra, now)


def _timer_loop(app: Flask) -> None:
    """Fire due timers (offer lapses, check-ins) every TIMER_POLL_SECONDS, forever."""
    import logging

    from console import metrics
    from console.db import utcnow
    from dispatch import flows as dispatch_flows
    from dispatch import service as dispatch_service
    from roster import flows as roster_flows

    log = logging.getLogger("console.timers")
    while True:
        socketio.sleep(app.config["TIMER_POLL_SECONDS"])
        with app.app_context():
            session = app.extensions["db_factory"]()
            try:
                now = utcnow()
                fired = dispatch_service.fire_due_timers(
                    session=session, now=now, policy=escalation_policy(app.config),
                    choose=dispatch_service.choose_next_team(
                        app.extensions["positions"], travel_settings(app.config),
                        app.config["POSITION_MAX_AGE_MINUTES"]),
                )
                if fired:
                    metrics.timers_fired(metrics.fired_timer_lags(session, now))
                # NOTE: the SMS are queued in the timer pass's own transaction (jobs/).
                dispatch_flows.after_timers(
                    session=session, fired=fired,
                    link_base=app.config["PUBLIC_BASE_URL"] or "http://localhost")
                session.commit()
            except Exception:  # noqa: BLE001
                session.rollback()
                log.exception("timer pass failed; retrying next tick")
            finally:
                session.close()
            _case_timer_pass(app, log)
            _simulated_hold_pass(app, log)
            roster_flows.timer_pass(app, log)  # duty rosters: short shifts, teams on call


def _simulated_hold_pass(app: Flask, log) -> None:
    """With the embedded simulator, do the carrier's part: callers held past
    TELEPHONY_HOLD_SECONDS go to the voice message and the call-back list (issue 14)."""
    from console.db import utcnow
    from telephony import simulator
    from telephony.providers import SimulatorProvider

    if not isinstance(app.extensions.get("telephony"), SimulatorProvider):
        return
    session = app.extensions["db_factory"]()
    try:
        simulator.expire_holds(session=session, now=utcnow(),
                               hold_seconds=app.config["TELEPHONY_HOLD_SECONDS"])
        session.commit()
    except Exception:  # noqa: BLE001
        session.rollback()
        log.exception("simulated hold pass failed; retrying next tick")
    finally:
        session.close()


def _case_timer_pass(app: Flask, log) -> None:
    """Fire due case reminders (late referral steps and plan actions), in their own
    transaction: a fault here never undoes dispatch's timers."""
    from cases import reminders
    from console.db import utcnow

    session = app.extensions["db_factory"]()
    try:
        reminders.fire_due(session=session, now=utcnow(),
                           settings=reminders.ReminderSettings.from_config(app.config),
                           link_base=app.config["PUBLIC_BASE_URL"] or "http://localhost")
        session.commit()
    except Exception:  # noqa: BLE001
        session.rollback()
        log.exception("case timer pass failed; retrying next tick")
    finally:
        session.close()


def _subscribe_domain_events() -> None:
    """Which package reacts to which other package's facts (the only place they meet)."""
    from cases import service as case_service
    from console import domain_events

    domain_events.subscribe(domain_events.INCIDENT_RESOLVED, case_service.on_incident_resolved)
    domain_events.subscribe(domain_events.CALL_CLOSED, case_service.on_call_closed)
    from cases import referrals as case_referrals

    domain_events.subscribe(domain_events.CALL_REFERRED, case_referrals.on_call_referred)
    from dispatch import case_alarms

    domain_events.subscribe(domain_events.CASE_OVERDUE, case_alarms.on_case_overdue)
    from dispatch import roster_alarms

    domain_events.subscribe(domain_events.ROSTER_SHORT, roster_alarms.on_roster_short)
    domain_events.subscribe(domain_events.SHIFT_STARTED, roster_alarms.on_shift_started)
    domain_events.subscribe(domain_events.SHIFT_ENDING, roster_alarms.on_shift_ending)
    # Who is on duty now: dispatch asks console.duty (alarms to the supervisor on duty, teams
    # on call first), the roster answers; wired here, where the packages meet.
    from console import duty
    from roster import service as roster_service

    duty.provide(roster_service.on_duty, roster_service.has_roster)


def session_lifetimes(config) -> Any:
    """How long login sessions live, from configuration."""
    from console.sessions import Lifetimes

    return Lifetimes(idle=timedelta(minutes=config["SESSION_IDLE_MINUTES"]),
                     absolute=timedelta(hours=config["SESSION_MAX_HOURS"]))


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
        health,
        metrics,
        realtime,
        routes,
        sockets,
        web,
    )
    from console.db import make_engine, make_sessionmaker
    from console.labels import (
        be_input,
        date_formats,
        error_title,
        field_label,
        format_be,
        format_be_date,
        format_clock,
        format_duration,
        label,
        place_names,
        province_name,
    )
    from console.models import User
    from console.relay import make_client_manager
    from console.serving import Utf8Json, without_websocket_compression
    from telephony.schemas import format_thai_phone

    app = Flask(
        __name__,
        static_folder=str(BASE_DIR / "static"),
        template_folder=str(BASE_DIR / "console" / "templates"),
    )
    # NOTE: JSON answers carry Thai as UTF-8, not \uXXXX escapes (6 bytes a character against
    # 3): the board's /api/state on a bad day is about half the size; the sockets do the same.
    app.json.ensure_ascii = False
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
        # NOTE: the login is valid only while its server-side session is (console/sessions.py):
        # logout, expiry, disabling the user or "sign out everywhere" end it for good.
        from flask import g

        from console import sessions

        found = sessions.resume(session=web.db(), writer=app.extensions["db_factory"],
                                user_id=int(user_id), token=session.get("sid"),
                                life=session_lifetimes(app.config))
        if found is None:
            return None
        user, row = found
        g.user_session_id = row.id
        return user

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
        # NOTE: our own client manager (Redis queue or in-process) records which events reached
        # this process's sockets, so the relay can send what never did (console/relay.py).
        client_manager=make_client_manager(app.config["SOCKETIO_MESSAGE_QUEUE"],
                                           app.config["SOCKETIO_CHANNEL"]),
        cors_allowed_origins=app.config.get("SOCKETIO_CORS_ORIGINS"),
        json=Utf8Json,
        # NOTE: websocket only (SOCKETIO_TRANSPORTS=websocket) needs no sticky sessions behind
        # a load balancer: a long-polling client's requests must all reach one process.
        transports=app.config["SOCKETIO_TRANSPORTS"],
    )
    if not app.config["SOCKETIO_WS_COMPRESSION"]:
        app.wsgi_app = without_websocket_compression(app.wsgi_app)

    def _send(name: str, envelope: dict, rooms: list[str]) -> None:
        socketio.emit(name, envelope, to=rooms)
        metrics.event_emitted(name)

    factory.configure(info={realtime.SENDER_KEY: _send})

    app.jinja_env.filters["be"] = format_be
    app.jinja_env.filters["be_date"] = format_be_date
    app.jinja_env.filters["be_input"] = be_input
    app.jinja_env.filters["clock"] = format_clock
    app.jinja_env.filters["duration"] = format_duration
    app.jinja_env.filters["phone"] = format_thai_phone
    app.jinja_env.globals["label"] = label
    app.jinja_env.globals["get_locale"] = get_locale
    app.jinja_env.globals["province_name"] = province_name
    app.jinja_env.globals["place_names"] = place_names
    app.jinja_env.globals["field_label"] = field_label
    app.jinja_env.globals["date_formats"] = date_formats
    app.jinja_env.globals["error_title"] = error_title
    from cases.schemas import mask_thai_id

    app.jinja_env.globals["mask_thai_id"] = mask_thai_id

    _start_positions(app)
    if app.config["TIMERS_ENABLED"] and not app.config.get("TESTING"):
        socketio.start_background_task(_timer_loop, app)
    if app.config["RELAY_ENABLED"] and not app.config.get("TESTING"):
        socketio.start_background_task(_relay_loop, app)
    from jobs import worker as jobs_worker

    # NOTE: a job queue setting that cannot work stops the start here, with a clear message
    # (before the telephony provider, which reads the checked OUTBOUND_TIMEOUT_SECONDS).
    jobs_enabled = jobs_worker.configure(app).enabled
    from geo.geocoders import make_geocoder

    app.extensions["geocoder"] = make_geocoder(app.config)
    from telephony.providers import make_provider

    app.extensions["telephony"] = make_provider(app.config)
    from console import security

    security.install(app)
    from console.limits import install as install_body_limits

    install_body_limits(app)  # NOTE: outermost WSGI layer: every body is capped.
    _subscribe_domain_events()
    web.register_error_handlers(app)
    routes.register(app)
    from admin.routes import bp as admin_bp  # the centre's data (issue 14)

    app.register_blueprint(admin_bp)
    from roster.routes import bp as roster_bp  # duty rosters (issue 14)

    app.register_blueprint(roster_bp)
    health.register(app)
    sockets.register()
    if jobs_enabled and not app.config.get("TESTING"):
        socketio.start_background_task(jobs_worker.run_forever, app)  # NOTE: kinds registered
    return app
