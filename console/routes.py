"""Pages: login, language switch, and one desk per role. Thin: validate, call service, answer."""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import (
    Blueprint,
    current_app,
    g,
    jsonify,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import get_locale, gettext
from flask_login import current_user, login_required, login_user, logout_user
from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, Length

from console import realtime, sessions
from console import service as console_service
from console.access_log import log_read
from console.db import BANGKOK, utcnow
from console.enums import DESK_ROLES, Role
from console.labels import label, labels_json, shift_name
from console.sockets import close_session_sockets
from console.web import db, desk_required, safe_next

bp = Blueprint("console", __name__)

HOME_DESK = {
    Role.CALL_TAKER: "console.calls_desk",
    Role.DISPATCHER: "console.dispatch_desk",
    Role.SUPERVISOR: "console.supervisor_desk",
    Role.FIELD_MEMBER: "console.team_desk",
    Role.CASE_WORKER: "console.cases_desk",
    Role.ADMIN: "console.supervisor_desk",
    Role.AGENCY: "partners.agency_desk",
    Role.VOLUNTEER: "partners.tasks_desk",
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


def next_shift(start: datetime) -> datetime:
    """When the duty round that began at `start` ends."""
    local = start.astimezone(BANGKOK)
    return start + (timedelta(hours=8) if local.hour == 8 else timedelta(hours=16))


def page_context() -> dict:
    """What every desk page passes to its JS."""
    return {"labels": labels_json(), "rooms": None}


@bp.get("/favicon.ico")
def favicon():
    """The console's icon, where browsers ask for it (no 404 in every page's log)."""
    from flask import send_from_directory

    return send_from_directory(current_app.static_folder, "favicon.ico",
                               mimetype="image/vnd.microsoft.icon", max_age=86400)


@bp.get("/")
def home():
    """Send each user to their desk."""
    if not current_user.is_authenticated:
        return redirect(url_for("console.login"))
    return redirect(url_for(HOME_DESK[current_user.role]))


@bp.route("/login", methods=["GET", "POST"])
def login():
    """Log in with username and password; supervisors, administrators and national users (and
    anyone who set up an authenticator app) then give a code (console/accounts.py). Failures
    slow down that username step by step and are limited per address (429 with the wait)."""
    from console import accounts

    form = LoginForm()
    error = None
    if form.validate_on_submit():
        refused = accounts.refuse_if_throttled(form.username.data)
        if refused is not None:
            return refused
        user = console_service.authenticate(
            session=db(), username=form.username.data, password=form.password.data,
            record_login=False)
        if user is None:
            accounts.count_failure(form.username.data)
        db().commit()
        if user is not None:
            second = accounts.second_step(user, request.args.get("next"))
            if second is not None:
                return second
            return establish_session(user, request.args.get("next"))
        error = gettext("Wrong username or password.")
    elif request.method == "POST":
        error = gettext("Enter your username and password.")
    elif request.args.get("again"):
        error = gettext("The time for the second step ran out. Please log in again.")
    status = 401 if error and request.method == "POST" else 200
    return render_template("login.html", form=form, error=error), status


def establish_session(user, next_url: str | None, *, second_factor: str | None = None,
                      record_login: bool = True):
    """Start the server-side session of a user who passed every step of the login (or who
    just changed their password: every older session ended)."""
    from console import account_service, sessions, throttle

    if record_login:
        from roster import service as roster_service

        throttle.record_success(session=db(), username=user.username)
        account_service.record_login(session=db(), user=user, second_factor=second_factor)
        roster_service.check_in_at_login(session=db(), user=user, now=utcnow())
    _row, token = sessions.start(session=db(), user=user, ip=request.remote_addr,
                                 user_agent=request.user_agent.string)
    db().commit()
    session.clear()
    session.permanent = True
    session["sid"] = token
    login_user(user)
    return redirect(safe_next(next_url, url_for("console.home")))


@bp.post("/logout")
@login_required
def logout():
    """End the session."""
    session_id = g.get("user_session_id")
    console_service.record_audit(session=db(), actor_id=current_user.id, action="logout",
                                 entity="user", entity_id=current_user.id)
    if session_id is not None:
        sessions.end(session=db(), session_id=session_id, reason="logout")
    db().commit()
    logout_user()
    session.clear()
    if session_id is not None:
        close_session_sockets(session_id)
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
    response = redirect(safe_next(request.form.get("next"), url_for("console.home")))
    response.set_cookie("lang", lang, max_age=365 * 24 * 3600, samesite="Lax", httponly=True,
                        secure=current_app.config["SESSION_COOKIE_SECURE"])
    return response


@bp.get("/desk/calls")
@desk_required("calls")
def calls_desk():
    """Call-taker desk: log a call, close it or turn it into an incident."""
    from admin.models import category_settings
    from cases import service as case_service
    from geo import gazetteer
    from telephony import service as call_service

    recent = call_service.recent_calls(session=db(), user=current_user)
    log_read("call_list", entity="call", subjects={"call": [c.id for c in recent]})
    thai = str(get_locale() or "th").startswith("th")
    return render_template(
        "calls.html",
        # The categories the administrators keep switched on, in their order.
        categories=[(s.code.value, s.name_th if thai else s.name_en)
                    for s in category_settings(db()) if s.active],
        provinces=gazetteer.provinces(),
        agencies=case_service.list_agencies(session=db(), province_code=current_user.province_code),
        recent=recent,
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


@bp.get("/desk/escalation")
@desk_required("admin")
def escalation_desk():
    """Administrator: each province's escalation ladder per priority."""
    from console import escalation_policy
    from dispatch import service as dispatch_service
    from geo import gazetteer

    provinces = gazetteer.provinces() if current_user.is_national else []
    code = (request.args.get("province") if current_user.is_national else None) \
        or current_user.province_code or "65"
    found = dispatch_service.ladders(session=db(), province_code=code, user=current_user,
                                     policy=escalation_policy(current_app.config))
    return render_template("escalation.html", ladders=found, province_code=code,
                           provinces=provinces, spare=2, max_rungs=8, ctx=page_context())


@bp.get("/desk/supervisor")
@desk_required("supervisor")
def supervisor_desk():
    """Supervisor desk: live map and counts."""
    from dispatch import service as dispatch_service
    from geo import gazetteer
    from geo import map as geo_map

    heat = dispatch_service.heat_points(session=db(), user=current_user,
                                        since=utcnow() - timedelta(days=30))
    log_read("map", entity="incident", map="heat", days=30, points=len(heat))
    live_map = geo_map.live_map(
        tile_url=current_app.config["MAP_TILE_URL"],
        attribution=current_app.config["MAP_TILE_ATTRIBUTION"],
        province_code=current_user.province_code,
        static_url=url_for("static", filename="vendor/"),
        heat=heat,
    )
    provinces = gazetteer.provinces() if current_user.is_national else []
    shift = shift_start(utcnow())
    return render_template("supervisor.html", live_map=live_map, provinces=provinces,
                           heat_count=len(heat), ctx=page_context(),
                           shift=shift_name(shift, next_shift(shift)), duty=_duty_report())


def _duty_report() -> dict | None:
    """The roster's part of the shift report (a provincial supervisor's province): who is on
    duty now with attendance, and roles below the minimum; None without a roster now."""
    from sqlalchemy import select

    from console.models import User
    from dispatch.models import Team
    from roster import service as roster_service
    from roster.routes import ATTENDANCE_NAMES, ROLE_NAMES

    if current_user.is_national:
        return None
    session = db()
    summary = roster_service.shift_summary(session, current_user.province_code, utcnow())
    if summary.shift is None:
        return None
    ids = {p[1] for p in summary.people if p[1]}
    names = dict(session.execute(select(User.id, User.display_name)
                                 .where(User.id.in_(ids))).all()) if ids else {}
    teams = dict(session.execute(select(Team.id, Team.name).where(
        Team.id.in_({p[2] for p in summary.people if p[2]}))).all())
    if ids:
        log_read("users", entity="roster", subjects={"user": sorted(ids)})
    return {"summary": summary, "role_names": ROLE_NAMES, "attendance_names": ATTENDANCE_NAMES,
            "names": names, "teams": teams}


@bp.get("/desk/incidents/<int(max=2147483647):incident_id>")
@desk_required("dispatch")
def incident_detail(incident_id: int):
    """One incident with its people, location, precision and timeline."""
    from dispatch import service as dispatch_service
    from telephony import service as call_service

    incident = dispatch_service.read_incident(session=db(), incident_id=incident_id,
                                              user=current_user)
    db().commit()
    messages = call_service.messages_for_incident(session=db(), incident_id=incident_id,
                                                  user=current_user)
    team_names = {t.id: t.name for t in dispatch_service.list_teams(session=db(),
                                                                      user=current_user)}
    contacts, reports = _incident_reporters(incident)
    intake = None
    if any(c["kind"] == "caller" for c in contacts):  # NOTE: who may read the call, as above.
        intake = call_service.script_answers(session=db(), call_id=incident.call_id,
                                             thai=str(get_locale() or "th").startswith("th"))
        if intake is not None:
            log_read("intake_answers", entity="incident", entity_id=incident.id,
                     subjects={"call": [intake["call_id"]]})
    return render_template("incident_detail.html", incident=incident, messages=messages,
                           team_names=team_names, contacts=contacts, reports=reports,
                           intake=intake, ctx=page_context())


def _incident_reporters(incident) -> tuple[list[dict], list]:
    """Who reported it and how to reach them, and every citizen report gathered (text, photos,
    contact): both reads go to the access log (issue 14)."""
    from dispatch import contact
    from ess import service as ess_service

    _, contacts = contact.reporter_contacts(session=db(), incident_id=incident.id,
                                            user=current_user)
    reports = ess_service.list_reports(session=db(), incident_id=incident.id, user=current_user)
    if contacts:
        log_read("caller_contact", entity="incident", entity_id=incident.id,
                 subjects={"call": [c["call_id"] for c in contacts if c["call_id"]],
                           "report": [c["report_id"] for c in contacts if c["report_id"]]})
    if reports:
        log_read("reports", entity="incident", entity_id=incident.id,
                 subjects={"report": [r.id for r in reports]})
    return contacts, reports


@bp.get("/desk/incidents/<int(max=2147483647):incident_id>/map")
@desk_required("dispatch")
def incident_print_map(incident_id: int):
    """A static map for the case file: the incident and the team's path to it."""
    from dispatch import service as dispatch_service
    from geo import map as geo_map

    session = db()
    incident = dispatch_service.get_incident(session=session, incident_id=incident_id,
                                             user=current_user)
    points = [geo_map.MapPoint(incident.lat, incident.lon, incident.ref or "",
                               incident.priority.value)] if incident.lat is not None else []
    path = dispatch_service.team_path(session=session, incident=incident)
    log_read("map", entity="incident", entity_id=incident.id, map="incident",
             path_points=len(path))
    return geo_map.print_map(
        tile_url=current_app.config["MAP_TILE_URL"],
        attribution=current_app.config["MAP_TILE_ATTRIBUTION"],
        static_url=url_for("static", filename="vendor/"), points=points,
        path=path,
        province_code=incident.province_code,
    )


@bp.get("/desk/reports/shift-map")
@desk_required("supervisor")
def shift_print_map():
    """A static map of this shift's incidents, for the shift report."""
    from dispatch import service as dispatch_service
    from geo import map as geo_map

    incidents = dispatch_service.incidents_since(session=db(), user=current_user,
                                                 since=shift_start(utcnow()))
    log_read("map", entity="incident", map="shift",
             subjects={"incident": [i.id for i in incidents]})
    points = [geo_map.MapPoint(i.lat, i.lon, f"{i.ref} {label('priority_short', i.priority)}",
                               i.priority.value)
              for i in incidents if i.lat is not None]
    return geo_map.print_map(
        tile_url=current_app.config["MAP_TILE_URL"],
        attribution=current_app.config["MAP_TILE_ATTRIBUTION"],
        static_url=url_for("static", filename="vendor/"), points=points,
        province_code=current_user.province_code,
    )


@bp.get("/desk/cases")
@desk_required("cases")
def cases_desk():
    """Case worker desk: cases handed over from incidents."""
    from cases import service as case_service
    from geo import gazetteer

    view = request.args.get("view", "all")
    if view not in ("all", "mine", "unassigned", "past_week"):
        view = "all"
    cases = case_service.list_cases(session=db(), user=current_user, view=view)
    log_read("case_list", entity="case", view=view, subjects={"case": [c.id for c in cases]})
    from cases import events as case_events
    from cases import transfers as case_transfers

    incoming = case_transfers.incoming(session=db(), user=current_user)
    if incoming:
        log_read("case_transfers", entity="case", subjects={"case": [c.id for _t, c in incoming]})
    provinces = gazetteer.provinces() if current_user.is_national else []
    from cases import handovers as case_handovers

    offers = case_handovers.waiting(session=db(), user=current_user)
    if offers["to_me"] or offers["by_me"]:
        log_read("case_handovers", entity="case", subjects={
            "case": [c.id for _h, c in offers["to_me"] + offers["by_me"]]})
    return render_template("cases.html", cases=cases, provinces=provinces, view=view,
                           incoming=[case_events.transfer_payload(t, c) for t, c in incoming],
                           offered_to_me=[case_events.handover_payload(h, c)
                                          for h, c in offers["to_me"]],
                           ctx=page_context())


@bp.get("/desk/cases/status")
@desk_required("cases")
def case_status_levels():
    """Case status by province, district and subdistrict, with drill-down."""
    from cases import service as case_service
    from geo import gazetteer

    level, parent = request.args.get("level", ""), request.args.get("parent") or None
    if level not in ("province", "district", "subdistrict"):
        level = "province" if current_user.is_national else "district"
    if not current_user.is_national and level == "district":
        parent = current_user.province_code
    rows = case_service.status_summary(session=db(), user=current_user, level=level,
                                       parent=parent)
    child = {"province": "district", "district": "subdistrict"}.get(level)
    for row in rows:
        place = gazetteer.get(row["code"]) if row["code"] else None
        row["name"] = (place.name_th if str(get_locale()) == "th" else place.name_en) \
            if place else None
    return render_template("case_status.html", rows=rows, level=level, child=child,
                           parent=parent, ctx=page_context())


@bp.get("/desk/cases/<int(max=2147483647):case_id>")
@desk_required("cases")
def case_detail(case_id: int):
    """One case, with its people, location and timeline; the read is audited."""
    from cases import events as case_events
    from cases import service as case_service
    from cases import tasks as case_tasks

    case = case_service.read_case(session=db(), case_id=case_id, user=current_user)
    db().commit()
    moves = [m.value for m in case_service.allowed_moves(case)]
    workers = case_service.case_workers(session=db(), province_code=case.province_code)
    agencies = case_service.list_agencies(session=db(), province_code=case.province_code)
    owners = {("u", u.id): u.display_name for u in workers}
    owners.update({("a", a.id): a.name_th if str(get_locale()) == "th" else a.name_en
                   for a in agencies})
    assignee = next((u for u in workers if u.id == case.assigned_to_id), None)
    from cases import persons as case_persons
    from cases import transfers as case_transfers
    from geo import gazetteer

    duplicates = case_persons.case_duplicates(session=db(), case=case, user=current_user)
    if duplicates:
        log_read("person_duplicates", entity="case", entity_id=case.id, subjects={
            "case_person": [d["case_person_id"] for found in duplicates.values() for d in found]})
    transfer = case_transfers.pending_for(db(), case)
    from cases import handovers as case_handovers

    handover = case_handovers.pending_for(db(), case)
    intake = _case_intake_answers(case)
    return render_template("case_detail.html", case=case, moves=moves, workers=workers,
                           assignee=assignee, handover=handover,
                           handover_to_name=next((u.display_name for u in workers if handover
                                                  and u.id == handover.to_user_id), ""),
                           districts=gazetteer.districts(case.province_code),
                           duplicates=duplicates, transfer=transfer,
                           provinces=[p for p in gazetteer.provinces()
                                      if p.code != case.province_code],
                           agencies=agencies, owners=owners,
                           gaps=[d.value for d in case_service.plan_gaps(case)],
                           referrals=[case_events.referral_payload(r) for r in case.referrals],
                           past_week=case_service.past_referral_week(case, utcnow()),
                           volunteers=case_tasks.volunteers(session=db(),
                                                            province_code=case.province_code),
                           intake=intake, ctx=page_context())


def _case_intake_answers(case) -> dict | None:
    """The questions asked at intake on the call that opened the case (itself, or through its
    incident): the case worker follows up on what the caller was asked and said. The read goes
    to the access log."""
    from sqlalchemy import select

    from dispatch.models import Incident
    from telephony import service as call_service

    call_id = case.call_id or (db().scalar(select(Incident.call_id).where(
        Incident.id == case.incident_id)) if case.incident_id is not None else None)
    intake = call_service.script_answers(session=db(), call_id=call_id,
                                         thai=str(get_locale() or "th").startswith("th"))
    if intake is not None:
        log_read("case_intake_answers", entity="case", entity_id=case.id,
                 subjects={"call": [intake["call_id"]]})
    return intake


@bp.get("/api/session")
@login_required
def session_info():
    """Who is logged in and a CSRF token for this session (a desk resuming after a new login)."""
    from flask_wtf.csrf import generate_csrf

    return jsonify({"user_id": current_user.id, "csrf_token": generate_csrf()})


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
        _log_board(body)
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
    body["counts"]["call_ids"] = call_service.call_ids_since(session=session, user=current_user,
                                                             since=since)
    body["counts"]["since"] = since.isoformat()
    body["counts"]["next_shift"] = next_shift(since).isoformat()
    _log_board(body)
    return jsonify(body)


def _log_board(body: dict) -> None:
    """The board's read in the access log: the incidents and teams it showed."""
    log_read("board", entity="incident", subjects={
        "incident": [i["id"] for i in body["incidents"]],
        "team": [t["id"] for t in body["teams"]]})


def register(app) -> None:
    """Attach every blueprint."""
    from cases.routes import bp as cases_bp
    from cases.routes import link as referral_link_bp
    from console.accounts import bp as accounts_bp
    from dispatch.routes import bp as dispatch_bp
    from geo.routes import bp as geo_bp
    from telephony.routes import api as telephony_api_bp
    from telephony.routes import bp as telephony_bp
    from telephony.webhooks import bp as twilio_hooks_bp

    app.register_blueprint(bp)
    app.register_blueprint(accounts_bp)
    from console import pdpa

    pdpa.register(app)
    for blueprint in (telephony_bp, telephony_api_bp, twilio_hooks_bp, dispatch_bp, geo_bp,
                      cases_bp, referral_link_bp):
        app.register_blueprint(blueprint)
    from ess.routes import api as ess_api_bp
    from ess.routes import desk as ess_desk_bp
    from ess.routes import line as ess_line_bp

    for blueprint in (ess_api_bp, ess_desk_bp, ess_line_bp):
        app.register_blueprint(blueprint)
    from cases.routes import desk as case_referrals_bp

    app.register_blueprint(case_referrals_bp)
    from cases.partner_routes import bp as partners_bp
    from cases.partner_routes import task_link as task_link_bp

    app.register_blueprint(partners_bp)
    app.register_blueprint(task_link_bp)
    from jobs.routes import bp as jobs_bp

    app.register_blueprint(jobs_bp)
    from cases.routes import subsidy_desk

    app.register_blueprint(subsidy_desk)
