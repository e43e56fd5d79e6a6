"""Pages: login, language switch, and one desk per role. Thin: validate, call service, answer."""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import (
    Blueprint,
    current_app,
    jsonify,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext
from flask_login import current_user, login_required, login_user, logout_user
from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, Length

from console import realtime
from console import service as console_service
from console.db import utcnow
from console.enums import DESK_ROLES, Role
from console.labels import BANGKOK, labels_json
from console.web import db, desk_required

bp = Blueprint("console", __name__)

HOME_DESK = {
    Role.CALL_TAKER: "console.calls_desk",
    Role.DISPATCHER: "console.dispatch_desk",
    Role.SUPERVISOR: "console.supervisor_desk",
    Role.FIELD_MEMBER: "console.team_desk",
    Role.CASE_WORKER: "console.cases_desk",
    Role.ADMIN: "console.supervisor_desk",
}


class LoginForm(FlaskForm):
    """Username and password."""

    username = StringField(validators=[DataRequired(), Length(max=64)])
    password = PasswordField(validators=[DataRequired(), Length(max=256)])


def shift_start(now: datetime) -> datetime:
    """Start of the current duty round (08:30-16:30 or 16:30-08:30, Bangkok time)."""
    local = now.astimezone(BANGKOK)
    day = local.replace(hour=8, minute=30, second=0, microsecond=0)
    evening = local.replace(hour=16, minute=30, second=0, microsecond=0)
    if local >= evening:
        return evening
    if local >= day:
        return day
    return evening - timedelta(days=1)


def page_context() -> dict:
    """What every desk page passes to its JS."""
    return {"labels": labels_json(), "rooms": None}


@bp.get("/")
def home():
    """Send each user to their desk."""
    if not current_user.is_authenticated:
        return redirect(url_for("console.login"))
    return redirect(url_for(HOME_DESK[current_user.role]))


@bp.route("/login", methods=["GET", "POST"])
def login():
    """Log in with username and password."""
    form = LoginForm()
    error = None
    if form.validate_on_submit():
        user = console_service.authenticate(
            session=db(), username=form.username.data, password=form.password.data
        )
        db().commit()
        if user is not None:
            session.clear()
            session.permanent = True
            session["login_at"] = utcnow().timestamp()
            login_user(user)
            target = request.args.get("next", "")
            if not target.startswith("/") or target.startswith("//"):
                target = url_for("console.home")
            return redirect(target)
        error = gettext("Wrong username or password.")
    elif request.method == "POST":
        error = gettext("Enter your username and password.")
    return render_template("login.html", form=form, error=error), 401 if error else 200


@bp.post("/logout")
@login_required
def logout():
    """End the session."""
    console_service.record_audit(session=db(), actor_id=current_user.id, action="logout",
                                 entity="user", entity_id=current_user.id)
    db().commit()
    logout_user()
    session.clear()
    return redirect(url_for("console.login"))


@bp.post("/language")
def set_language():
    """Switch between Thai and English; the choice sticks (cookie, and the user's profile)."""
    lang = request.form.get("lang", "th")
    if lang not in current_app.config["LANGUAGES"]:
        lang = "th"
    if current_user.is_authenticated:
        current_user.locale = lang
        db().commit()
    target = request.form.get("next", "")
    if not target.startswith("/") or target.startswith("//"):
        target = url_for("console.home")
    response = redirect(target)
    response.set_cookie("lang", lang, max_age=365 * 24 * 3600, samesite="Lax", httponly=True)
    return response


@bp.get("/desk/calls")
@desk_required("calls")
def calls_desk():
    """Call-taker desk: log a call, close it or turn it into an incident."""
    from cases import service as case_service
    from geo import gazetteer
    from telephony import service as call_service

    return render_template(
        "calls.html",
        provinces=gazetteer.provinces(),
        agencies=case_service.list_agencies(session=db(), province_code=current_user.province_code),
        recent=call_service.recent_calls(session=db(), user=current_user),
        ctx=page_context(),
    )


@bp.get("/desk/dispatch")
@desk_required("dispatch")
def dispatch_desk():
    """Dispatcher desk: the live queue of open incidents and the teams."""
    return render_template("dispatch.html", ctx=page_context())


@bp.get("/desk/team")
@desk_required("team")
def team_desk():
    """Phone-sized team page: the current job and its steps."""
    return render_template("team.html", ctx=page_context())


@bp.get("/desk/supervisor")
@desk_required("supervisor")
def supervisor_desk():
    """Supervisor desk: live map and counts."""
    from geo import map as geo_map

    live_map = geo_map.live_map(
        tile_url=current_app.config["MAP_TILE_URL"],
        attribution=current_app.config["MAP_TILE_ATTRIBUTION"],
        province_code=current_user.province_code,
        static_url=url_for("static", filename="vendor/"),
    )
    return render_template("supervisor.html", live_map=live_map, ctx=page_context())


@bp.get("/desk/cases")
@desk_required("cases")
def cases_desk():
    """Case worker desk: cases handed over from incidents."""
    from cases import service as case_service

    cases = case_service.list_cases(session=db(), user=current_user)
    return render_template("cases.html", cases=cases, ctx=page_context())


@bp.get("/desk/cases/<int:case_id>")
@desk_required("cases")
def case_detail(case_id: int):
    """One case, with its people, location and timeline; the read is audited."""
    from cases import service as case_service

    case = case_service.read_case(session=db(), case_id=case_id, user=current_user)
    db().commit()
    return render_template("case_detail.html", case=case, ctx=page_context())


@bp.get("/api/state")
@login_required
def state():
    """A snapshot of the user's board with the sequence number it is current to."""
    from dispatch import events as dispatch_events
    from dispatch import service as dispatch_service
    from telephony import service as call_service

    session = db()
    head = realtime.head(session)  # NOTE: read first, so replay from here misses nothing.
    body: dict = {"head": head, "incidents": [], "teams": [], "counts": None}
    if current_user.role is Role.FIELD_MEMBER:
        job = dispatch_service.current_job(session=session, user=current_user)
        body["incidents"] = [dispatch_events.incident_payload(job)] if job else []
        teams = [t for t in dispatch_service.list_teams(session=session, user=current_user)
                 if t.id == current_user.team_id]
        body["teams"] = [dispatch_events.team_payload(t) for t in teams]
        return jsonify(body)
    if current_user.role not in DESK_ROLES["dispatch"] | DESK_ROLES["calls"]:
        return jsonify(body)
    body["incidents"] = [
        dispatch_events.incident_payload(i)
        for i in dispatch_service.list_open_incidents(session=session, user=current_user)
    ]
    body["teams"] = [
        dispatch_events.team_payload(t)
        for t in dispatch_service.list_teams(session=session, user=current_user)
    ]
    since = shift_start(utcnow())
    body["counts"] = dispatch_service.board_counts(session=session, user=current_user, since=since)
    body["counts"]["calls"] = call_service.calls_since(session=session, user=current_user,
                                                       since=since)
    body["counts"]["since"] = since.isoformat()
    return jsonify(body)


def register(app) -> None:
    """Attach every blueprint."""
    from cases.routes import bp as cases_bp
    from dispatch.routes import bp as dispatch_bp
    from geo.routes import bp as geo_bp
    from telephony.routes import bp as telephony_bp

    app.register_blueprint(bp)
    for blueprint in (telephony_bp, dispatch_bp, geo_bp, cases_bp):
        app.register_blueprint(blueprint)
