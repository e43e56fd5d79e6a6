"""Accounts: the second step of the login (TOTP code or recovery code, or setting up the app
when a role needs it), the user's own password and two-step pages, the forced password change,
login throttling answers, and the administrators' users desk (/desk/users, /api/users)."""

from __future__ import annotations

import hashlib
import time

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
from flask_babel import get_locale, gettext
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, Length

from console import account_service, throttle, twofactor
from console import service as console_service
from console.access_log import log_read
from console.account_schemas import NewUserIn, UserIn
from console.enums import Role
from console.errors import N_, NotFound, ValidationFailed
from console.extensions import login_address_failed, login_address_wait
from console.models import User
from console.validation import parse
from console.web import db, desk_required, error_response, json_body, translate, wants_json

bp = Blueprint("accounts", __name__)

PENDING = "login_pending"
# What a user who must change their password may still open.
OPEN_WHILE_CHANGING = frozenset({
    "accounts.password", "console.logout", "console.set_language", "console.login",
    "accounts.login_code", "accounts.login_setup", "static",
})
ACCOUNT_WAIT = N_("Too many failed attempts for this account. Please wait %(wait)s, then log in "
                  "again with the right password.")
ADDRESS_WAIT = N_("Too many failed logins from this computer. Please wait %(wait)s, then try "
                  "again.")
MUST_CHANGE = N_("Please change your password first: open the password page "
                 "(/account/password), then try again.")


# The user's history on the users desk, in words (never a raw action name).
HISTORY_LABELS = {
    "login": _l("Logged in"),
    "login.failed": _l("Wrong password"),
    "login.second_factor_failed": _l("Wrong two-step code"),
    "logout": _l("Logged out"),
    "user.created": _l("User added"),
    "user.updated": _l("Details changed"),
    "user.disabled": _l("Disabled"),
    "user.enabled": _l("Enabled again"),
    "password.changed": _l("Password changed"),
    "password.reset": _l("Temporary password given"),
    "sessions.ended": _l("Sessions ended"),
    "2fa.enrolled": _l("Two-step login set up"),
    "2fa.reset": _l("Two-step login reset"),
    "2fa.recovery_code_used": _l("Recovery code used"),
    "2fa.recovery_codes_renewed": _l("New recovery codes"),
}


class CodeForm(FlaskForm):
    """A six-digit code from the app, or a recovery code."""

    code = StringField(validators=[DataRequired(), Length(max=32)])


class PasswordForm(FlaskForm):
    """The current password and the new one twice."""

    current_password = PasswordField(validators=[DataRequired(), Length(max=1024)])
    new_password = PasswordField(validators=[DataRequired(), Length(max=1024)])
    confirm_password = PasswordField(validators=[DataRequired(), Length(max=1024)])


# --- waits --------------------------------------------------------------------------------

def wait_text(seconds: float) -> str:
    """A wait in words, in the user's language ("2 นาที 5 วินาที")."""
    total = max(1, int(round(seconds)))
    minutes, secs = divmod(total, 60)
    if minutes and secs:
        return gettext("%(minutes)s min %(seconds)s s", minutes=minutes, seconds=secs)
    if minutes:
        return gettext("%(minutes)s min", minutes=minutes)
    return gettext("%(seconds)s s", seconds=secs)


def _too_many(message: str, seconds: float):
    """429 with how long to wait, as a page (the login forms) or JSON."""
    text = translate(message, {"wait": wait_text(seconds)})
    db().rollback()
    if wants_json():
        response = jsonify({"error": text})
    else:
        response = current_app.make_response(
            render_template("login_wait.html", message=text))
    response.status_code = 429
    response.headers["Retry-After"] = str(max(1, int(round(seconds))))
    return response


def refuse_if_throttled(username: str):
    """A 429 answer when this address or this username must wait; None when it may try. An
    attempt allowed right after a wait is claimed (committed here) before the check runs."""
    address_wait = login_address_wait(request.remote_addr, current_app.config)
    if address_wait:
        return _too_many(ADDRESS_WAIT, address_wait)
    account_wait = throttle.wait_seconds(session=db(), username=username,
                                         policy=throttle.policy_from(current_app.config))
    db().commit()
    if account_wait:
        return _too_many(ACCOUNT_WAIT, account_wait)
    return None


def count_failure(username: str) -> None:
    """One more failed attempt for the username (in the request's transaction) and address."""
    throttle.record_failure(session=db(), username=username,
                            policy=throttle.policy_from(current_app.config))
    login_address_failed(request.remote_addr, current_app.config)


# --- the second step of the login -------------------------------------------------------------

def _fingerprint(user: User) -> str:
    return hashlib.sha256(user.password_hash.encode()).hexdigest()[:16]


def second_step(user: User, next_url: str | None):
    """After the right password: a redirect to the code (or setup) page when the user needs a
    second factor, else None (the session starts at once)."""
    if not twofactor.asks_second_factor(user):
        return None
    session.clear()
    session[PENDING] = {"uid": user.id, "at": time.time(), "pw": _fingerprint(user),
                        "next": next_url or ""}
    if twofactor.enabled(user):
        return redirect(url_for("accounts.login_code"))
    return redirect(url_for("accounts.login_setup"))


def _pending_user() -> User | None:
    """The user between password and second factor, while the time allowed lasts."""
    pending = session.get(PENDING)
    if not isinstance(pending, dict):
        return None
    limit = current_app.config["LOGIN_SECOND_STEP_MINUTES"] * 60
    if not 0 <= time.time() - float(pending.get("at", 0)) <= limit:
        session.pop(PENDING, None)
        return None
    user = db().get(User, pending.get("uid"))
    if user is None or not user.active or _fingerprint(user) != pending.get("pw"):
        session.pop(PENDING, None)
        return None
    return user


def _finish(user: User, how: str):
    from console.routes import establish_session

    next_url = (session.get(PENDING) or {}).get("next") or None
    session.pop(PENDING, None)
    return establish_session(user, next_url, second_factor=how)


def _timed_out():
    return redirect(url_for("console.login", again=1))


def _key() -> bytes:
    return twofactor.encryption_key(current_app.config)


def _no_store(response):
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/login/code", methods=["GET", "POST"])
def login_code():
    """The second step: a code from the authenticator app, or one recovery code."""
    user = _pending_user()
    if user is None:
        return _timed_out()
    if not twofactor.enabled(user):
        return redirect(url_for("accounts.login_setup"))
    form = CodeForm()
    error = None
    if form.validate_on_submit():
        refused = refuse_if_throttled(user.username)
        if refused is not None:
            return refused
        how = twofactor.verify(session=db(), user=user, code=form.code.data, key=_key())
        if how is not None:
            if how == "recovery":
                left = twofactor.recovery_codes_left(session=db(), user_id=user.id)
                console_service.record_audit(session=db(), actor_id=user.id,
                                             action="2fa.recovery_code_used", entity="user",
                                             entity_id=user.id, detail={"left": left})
            return _finish(user, how)
        count_failure(user.username)
        console_service.record_audit(session=db(), actor_id=user.id,
                                     action="login.second_factor_failed", entity="user",
                                     entity_id=user.id)
        db().commit()
        error = gettext("This code is wrong or was already used. Please type the code your app "
                        "shows now, or one of your recovery codes.")
    elif request.method == "POST":
        error = gettext("Please type the code from your authenticator app.")
    return render_template("login_code.html", form=form, error=error), 401 if error else 200


def _setup_page(*, user: User, form: CodeForm, error: str | None, action: str):
    secret = twofactor.begin_enrolment(session=db(), user=user, key=_key())
    db().commit()
    uri = twofactor.provisioning_uri(secret, username=user.username,
                                     issuer=current_app.config["TOTP_ISSUER"])
    page = render_template("twofactor_setup.html", form=form, error=error, action=action,
                           secret=twofactor.grouped(secret), qr=twofactor.qr_data_uri(uri),
                           required=twofactor.required_for(user))
    return _no_store(current_app.make_response((page, 422 if error else 200)))


def _confirm_setup(user: User, form: CodeForm) -> list[str] | None:
    """Check the first code against the pending secret; audited. None when wrong."""
    codes = twofactor.confirm_enrolment(session=db(), user=user, code=form.code.data, key=_key())
    if codes is None:
        count_failure(user.username)
        db().commit()
        return None
    console_service.record_audit(session=db(), actor_id=user.id, action="2fa.enrolled",
                                 entity="user", entity_id=user.id)
    return codes


WRONG_SETUP_CODE = N_("This code does not match. Please check the time on your phone and type "
                      "the code your app shows now.")


@bp.route("/login/setup", methods=["GET", "POST"])
def login_setup():
    """The second step for a user whose role needs one and who has no app yet: set it up now."""
    user = _pending_user()
    if user is None:
        return _timed_out()
    if twofactor.enabled(user):
        return redirect(url_for("accounts.login_code"))
    form = CodeForm()
    error = None
    if form.validate_on_submit():
        refused = refuse_if_throttled(user.username)
        if refused is not None:
            return refused
        codes = _confirm_setup(user, form)
        if codes is not None:
            done = _finish(user, "enrolled")  # NOTE: commits the enrolment with the session.
            return _no_store(current_app.make_response(render_template(
                "recovery_codes.html", codes=codes, continue_url=done.location)))
        error = gettext(WRONG_SETUP_CODE)
    elif request.method == "POST":
        error = gettext("Please type the code from your authenticator app.")
    return _setup_page(user=user, form=form, error=error,
                       action=url_for("accounts.login_setup"))


# --- the user's own account -------------------------------------------------------------------

@bp.before_app_request
def enforce_password_change():
    """Until a temporary password is changed, every page leads to the password page and the API
    answers 403."""
    if request.endpoint in OPEN_WHILE_CHANGING or request.endpoint is None:
        return None
    if "_user_id" not in session:
        return None
    if current_user.is_authenticated and current_user.must_change_password:
        if wants_json():
            return error_response(403, MUST_CHANGE)
        return redirect(url_for("accounts.password"))
    return None


@bp.get("/account")
@login_required
def account():
    """The user's own account: password and two-step login."""
    left = twofactor.recovery_codes_left(session=db(), user_id=current_user.id)
    return render_template("account.html", enabled=twofactor.enabled(current_user),
                           required=twofactor.required_for(current_user), left=left,
                           form=CodeForm())


@bp.route("/account/password", methods=["GET", "POST"])
@login_required
def password():
    """Change one's own password (forced after a reset or at the first login)."""
    from console.routes import establish_session
    from console.sockets import close_user_sockets

    form = PasswordForm()
    errors: dict[str, str] = {}
    if form.validate_on_submit():
        refused = refuse_if_throttled(current_user.username)
        if refused is not None:
            return refused
        user = current_user._get_current_object()
        try:
            account_service.change_own_password(
                session=db(), user=user, current=form.current_password.data,
                new=form.new_password.data, confirm=form.confirm_password.data,
                min_length=current_app.config["PASSWORD_MIN_LENGTH"])
        except ValidationFailed as exc:
            db().rollback()
            if "current_password" in exc.errors:
                count_failure(user.username)
                db().commit()
            errors = {k: translate(m, p) for k, (m, p) in exc.errors.items()}
        else:
            # NOTE: every session ended with the change (other devices are signed out); this
            # browser gets a new one, opened before their websockets are told.
            response = establish_session(user, url_for("accounts.account", changed=1),
                                         record_login=False)
            close_user_sockets(user.id)
            return response
    elif request.method == "POST":
        errors = {"form": gettext("Please fill in every field.")}
    return render_template("account_password.html", form=form, errors=errors,
                           forced=current_user.must_change_password,
                           min_length=current_app.config["PASSWORD_MIN_LENGTH"]), \
        422 if errors else 200


@bp.route("/account/2fa/setup", methods=["GET", "POST"])
@login_required
def setup():
    """Set up an authenticator app while logged in (anyone may; some roles must)."""
    user = current_user._get_current_object()
    if twofactor.enabled(user):
        return redirect(url_for("accounts.account"))
    form = CodeForm()
    error = None
    if form.validate_on_submit():
        codes = _confirm_setup(user, form)
        if codes is not None:
            db().commit()
            return _no_store(current_app.make_response(render_template(
                "recovery_codes.html", codes=codes, continue_url=url_for("accounts.account"))))
        error = gettext(WRONG_SETUP_CODE)
    return _setup_page(user=user, form=form, error=error, action=url_for("accounts.setup"))


@bp.post("/account/2fa/recovery-codes")
@login_required
def renew_recovery_codes():
    """Ten new recovery codes (the old ones stop working); needs a code from the app."""
    user = current_user._get_current_object()
    form = CodeForm()
    if not twofactor.enabled(user):
        return redirect(url_for("accounts.account"))
    if form.validate_on_submit() and twofactor.looks_like_totp(form.code.data):
        refused = refuse_if_throttled(user.username)
        if refused is not None:
            return refused
        if twofactor.verify(session=db(), user=user, code=form.code.data, key=_key()):
            codes = twofactor.new_recovery_codes(session=db(), user=user)
            console_service.record_audit(session=db(), actor_id=user.id,
                                         action="2fa.recovery_codes_renewed", entity="user",
                                         entity_id=user.id)
            db().commit()
            return _no_store(current_app.make_response(render_template(
                "recovery_codes.html", codes=codes, continue_url=url_for("accounts.account"))))
        count_failure(user.username)
        db().commit()
    return error_response(422, N_("This code is wrong or was already used. Please type the code "
                                  "your app shows now."))


# --- the users desk (administrators) ----------------------------------------------------------

def user_json(user: User) -> dict:
    """What the users desk shows of a user (never a password hash or a TOTP secret)."""
    return {"id": user.id, "username": user.username, "display_name": user.display_name,
            "role": user.role.value, "province_code": user.province_code,
            "team_id": user.team_id, "agency_id": user.agency_id, "phone": user.phone,
            "active": user.active,
            "demo": user.demo, "must_change_password": user.must_change_password,
            "two_factor": twofactor.enabled(user), "two_factor_required":
                twofactor.required_for(user)}


def _agencies_in_scope() -> list:
    from sqlalchemy import select

    from cases.models import Agency

    query = select(Agency).order_by(Agency.province_code.is_not(None), Agency.name_th)
    if not current_user.is_national:
        query = query.where(Agency.province_code.is_(None)
                            | (Agency.province_code == current_user.province_code))
    return list(db().scalars(query))


def _teams_in_scope() -> list:
    from sqlalchemy import select

    from dispatch.models import Team

    query = select(Team).order_by(Team.province_code, Team.name)
    if not current_user.is_national:
        query = query.where(Team.province_code == current_user.province_code)
    return list(db().scalars(query))


def _desk_data() -> dict:
    return {"teams": [{"id": t.id, "name": t.name, "province_code": t.province_code}
                      for t in _teams_in_scope()],
            "agencies": [{"id": a.id, "name": a.name_th if str(get_locale()) == "th"
                          else a.name_en, "province_code": a.province_code}
                         for a in _agencies_in_scope()],
            "national": current_user.is_national, "province": current_user.province_code,
            "text": {
                "created": gettext("User created. Give them this temporary password (shown "
                                   "once); they choose their own at the first login:"),
                "reset": gettext("New temporary password (shown once); every session of the "
                                 "user has ended:"),
                "confirm_disable": gettext("Disable this user? Every session of theirs ends "
                                           "now."),
                "confirm_reset": gettext("Give this user a new temporary password? Their "
                                         "current password stops working and every session "
                                         "ends."),
                "confirm_sign_out": gettext("End every session of this user now?"),
                "confirm_2fa": gettext("Reset two-step login? The user sets up the app again "
                                       "at the next login, and every session ends."),
                "signed_out": gettext("Sessions ended:"),
                "open": gettext("Details"),
                "choose_team": gettext("Choose a team"),
                "national": gettext("All provinces (national)"),
            }}


def _role_filter(value: str | None) -> Role | None:
    try:
        return Role(value) if value else None
    except ValueError:
        return None


@bp.get("/desk/users")
@desk_required("users")
def users_desk():
    """Administrator: the users of their scope, with filters, and a form to add one."""
    from console.routes import page_context
    from geo import gazetteer

    args = request.args
    status = args.get("status") if args.get("status") in ("active", "disabled") else ""
    province = (args.get("province") or "")[:8] if current_user.is_national else ""
    text = (args.get("q") or "").strip()[:64]
    role = _role_filter(args.get("role"))
    users = account_service.list_users(
        session=db(), actor=current_user, province_code=province or None, role=role,
        active=None if not status else status == "active", text=text or None)
    log_read("users", entity="user", subjects={"user": [u.id for u in users]})
    return render_template(
        "users.html", users=users, roles=list(Role), filters={
            "province": province, "role": role.value if role else "", "status": status,
            "q": text},
        provinces=gazetteer.provinces() if current_user.is_national else [],
        teams={t.id: t.name for t in _teams_in_scope()},
        desk=_desk_data(), demo_active=account_service.demo_users_active(session=db()),
        ctx=page_context())


@bp.get("/desk/users/<int(max=2147483647):user_id>")
@desk_required("users")
def user_detail(user_id: int):
    """Administrator: one user, to edit, disable, reset or sign out."""
    from sqlalchemy import select

    from console.models import AuditLog
    from console.routes import page_context
    from geo import gazetteer

    user = account_service.managed_user(session=db(), actor=current_user, user_id=user_id)
    log_read("user", entity="user", entity_id=user.id)
    history = list(db().scalars(
        select(AuditLog).where(AuditLog.entity == "user", AuditLog.entity_id == user.id)
        .order_by(AuditLog.id.desc()).limit(20)))
    names = {u.id: u.username for u in db().scalars(
        select(User).where(User.id.in_({h.actor_id for h in history if h.actor_id})))}
    return render_template(
        "user_detail.html", user=user, roles=list(Role), history=history, actor_names=names,
        history_labels=HISTORY_LABELS,
        provinces=gazetteer.provinces() if current_user.is_national else [],
        teams=_teams_in_scope(), desk=_desk_data(), info=user_json(user),
        left=twofactor.recovery_codes_left(session=db(), user_id=user.id), ctx=page_context())


def _after_sessions_ended(user_id: int) -> None:
    from console.sockets import close_user_sockets

    close_user_sockets(user_id)  # NOTE: after the commit, so a reconnect finds the end.


@bp.post("/api/users")
@desk_required("users")
def create_user():
    """Create a user; answers the temporary password once."""
    data = parse(NewUserIn, json_body())
    user, temporary = account_service.create_user(
        session=db(), actor=current_user, data=data,
        min_length=current_app.config["PASSWORD_MIN_LENGTH"])
    db().commit()
    response = jsonify({"user": user_json(user), "temporary_password": temporary})
    response.status_code = 201
    return _no_store(response)


@bp.put("/api/users/<int(max=2147483647):user_id>")
@desk_required("users")
def update_user(user_id: int):
    """Change a user's name, role, province, team and phone."""
    data = parse(UserIn, json_body())
    user = account_service.update_user(session=db(), actor=current_user, user_id=user_id,
                                       data=data)
    db().commit()
    return jsonify({"user": user_json(user)})


@bp.post("/api/users/<int(max=2147483647):user_id>/<action>")
@desk_required("users")
def user_action(user_id: int, action: str):
    """disable | enable | reset-password | sign-out | reset-2fa."""
    body: dict = {}
    if action in ("disable", "enable"):
        user = account_service.set_active(session=db(), actor=current_user, user_id=user_id,
                                          active=action == "enable")
    elif action == "reset-password":
        body["temporary_password"] = account_service.reset_password(
            session=db(), actor=current_user, user_id=user_id,
            min_length=current_app.config["PASSWORD_MIN_LENGTH"])
        user = db().get(User, user_id)
    elif action == "sign-out":
        body["sessions_ended"] = account_service.sign_out(session=db(), actor=current_user,
                                                          user_id=user_id)
        user = db().get(User, user_id)
    elif action == "reset-2fa":
        user = account_service.reset_two_factor(session=db(), actor=current_user,
                                                user_id=user_id)
    else:
        raise NotFound("action")
    db().commit()
    if action != "enable":
        _after_sessions_ended(user_id)
    body["user"] = user_json(user)
    return _no_store(jsonify(body))
