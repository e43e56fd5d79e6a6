"""Accounts (issue 12.6): create-admin, the password policy, the users desk with its scope and
audit, reset → forced change, disable / sign out everywhere, TOTP two-step login with recovery
codes, progressive delays per username and the per-address limit across usernames."""

from __future__ import annotations

import io
import re
import shutil
from datetime import datetime, timedelta

import pyotp
import pytest
from sqlalchemy import func, select

from console.db import utcnow
from console.enums import Role
from tests.conftest import Client, csrf_token

STRONG = "ช้างเผือก กินกล้วย 7 ลูก"


# --- helpers ------------------------------------------------------------------------------------

def audit_rows(session, action: str, entity_id: int | None = None) -> list:
    from console.models import AuditLog

    query = select(AuditLog).where(AuditLog.action == action)
    if entity_id is not None:
        query = query.where(AuditLog.entity_id == entity_id)
    session.expire_all()
    return list(session.scalars(query))


def user_named(session, username: str):
    from console.models import User

    session.expire_all()
    return session.scalar(select(User).where(User.username == username))


def user_count(session) -> int:
    from console.models import User

    return session.scalar(select(func.count()).select_from(User))


def make_user(session, username: str, role: Role, province: str | None, *,
              password: str = STRONG, team_id: int | None = None):
    """A real (non-demo) user with a known password and nothing to change."""
    from console import service as console_service

    user = console_service.create_user(session=session, username=username, password=password,
                                       display_name=username, role=role,
                                       province_code=province, team_id=team_id)
    session.commit()
    return user


def enrol(app, session, user, *, at: datetime | None = None) -> str:
    """Set up TOTP for a user as the setup page does; returns the secret. The confirming code
    is the previous step's, so a login now may use the current one."""
    from console import twofactor

    at = at or utcnow()
    key = twofactor.encryption_key(app.config)
    secret = twofactor.begin_enrolment(session=session, user=user, key=key)
    code = pyotp.TOTP(secret).at(at - timedelta(seconds=30))
    assert twofactor.confirm_enrolment(session=session, user=user, code=code, key=key, now=at)
    session.commit()
    return secret


def post_login(http, username: str, password: str, **kw):
    token = csrf_token(http)
    return http.post("/login", data={"username": username, "password": password,
                                     "csrf_token": token}, **kw)


def post_code(http, code: str, url: str = "/login/code"):
    token = csrf_token(http, url)
    return http.post(url, data={"code": code, "csrf_token": token})


def login_2fa(app, username: str, secret: str, password: str = STRONG) -> Client:
    http = app.test_client()
    resp = post_login(http, username, password)
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/login/code")
    resp = post_code(http, pyotp.TOTP(secret).now())
    assert resp.status_code == 302, resp.get_data(as_text=True)[:400]
    return Client(http=http, token=csrf_token(http, "/account"), username=username)


# --- create-admin -------------------------------------------------------------------------------

@pytest.fixture
def empty_db(sqlite_template, tmp_path, monkeypatch) -> str:
    """A migrated database without the demo (a new production install), for the CLI."""
    path = tmp_path / "fresh.db"
    shutil.copy(sqlite_template, path)
    url = f"sqlite:///{path}"
    monkeypatch.setenv("DATABASE_URL", url)
    return url


def run_cli(monkeypatch, capsys, args: list[str], stdin: str = "") -> tuple[int, str]:
    from console import cli

    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    code = cli.main(args)
    out = capsys.readouterr()
    return code, out.out + out.err


def test_create_admin_refuses_weak_passwords_and_creates_a_national_admin(
        empty_db, monkeypatch, capsys):
    from console.db import make_engine, make_sessionmaker
    from console.models import AuditLog, User

    args = ["create-admin", "--username", "Root.Admin", "--display-name", "ผู้ดูแลระบบ",
            "--password-stdin"]
    for weak, reason in (("short1!", "Too short"),
                         ("Password123456!", "common or leaked"),
                         ("root.admin-is-my-name", "must not contain the username")):
        code, out = run_cli(monkeypatch, capsys, args, weak + "\n")
        assert code == 1 and reason in out, out
    engine = make_engine(empty_db)
    with make_sessionmaker(engine)() as s:
        assert s.scalar(select(func.count()).select_from(User)) == 0
    code, out = run_cli(monkeypatch, capsys, args, STRONG + "\n")
    assert code == 0, out
    with make_sessionmaker(engine)() as s:
        admin = s.scalar(select(User))
        assert (admin.username, admin.role, admin.province_code) == ("root.admin", Role.ADMIN,
                                                                    None)
        assert not admin.demo and not admin.must_change_password
        assert STRONG not in admin.password_hash
        row = s.scalar(select(AuditLog).where(AuditLog.action == "user.created"))
        assert row.entity_id == admin.id and row.detail["by"] == "cli"
    # The same username again is refused; the demo is refused on this (now real) database.
    code, out = run_cli(monkeypatch, capsys, args, STRONG + "x\n")
    assert code == 1 and "already taken" in out
    code, out = run_cli(monkeypatch, capsys, ["demo"])
    assert code == 1 and "real user" in out
    with make_sessionmaker(engine)() as s:
        assert s.scalar(select(func.count()).select_from(User)) == 1
    engine.dispose()


def test_create_admin_refuses_a_database_with_the_demo_users(db_url, monkeypatch, capsys):
    monkeypatch.setenv("DATABASE_URL", db_url)
    args = ["create-admin", "--username", "real.admin", "--password-stdin"]
    code, out = run_cli(monkeypatch, capsys, args, STRONG + "\n")
    assert code == 1 and "demo" in out
    code, out = run_cli(monkeypatch, capsys, args + ["--keep-demo"], STRONG + "\n")
    assert code == 0, out


# --- the policy ---------------------------------------------------------------------------------

def test_password_policy():
    from console import passwords

    def reasons(pw: str, username: str = "somchai") -> list[str]:
        return [m for m, _ in passwords.problems(pw, username=username, min_length=12)]

    assert reasons("Tr0ub4dor&3") == [passwords.TOO_SHORT]
    assert passwords.COMMON in reasons("password123456")
    assert passwords.COMMON in reasons("Qwertyuiop2024!")   # a listed word with digits added
    assert reasons("demo1300") == [passwords.TOO_SHORT, passwords.COMMON]
    assert reasons("aaaaaaaaaaaaaaaa") == [passwords.TOO_SIMPLE]
    assert reasons("Somchai-likes-mangoes") == [passwords.HAS_USERNAME]
    assert reasons("x" * 300 + "abcdefgh") == [passwords.TOO_LONG]
    assert reasons("tab\there-is-a-control") == [passwords.BAD_CHARACTER]
    assert reasons(STRONG) == []
    assert reasons("correct horse battery staple") == []
    assert len(passwords.common_passwords()) > 30000
    temporary = passwords.temporary_password()
    assert re.fullmatch(r"[a-z2-9]{4}(-[a-z2-9]{4}){3}", temporary)
    assert reasons(temporary) == []


def test_passwords_refused_on_the_page_say_why_in_thai(app, session, login_as):
    caller = login_as("calltaker")
    token = csrf_token(caller.http, "/account/password")
    resp = caller.http.post("/account/password", data={
        "current_password": "demo1300", "new_password": "password1234",
        "confirm_password": "password1234", "csrf_token": token})
    text = resp.get_data(as_text=True)
    assert resp.status_code == 422
    assert "รหัสผ่านที่ใช้กันทั่วไปหรือรั่วไหล" in text
    assert caller.get("/api/state").status_code == 200  # nothing changed, still logged in


# --- the users desk -----------------------------------------------------------------------------

def test_admin_creates_edits_and_disables_users_with_audit(app, session, login_as):
    from dispatch.models import Team

    admin = login_as("admin")
    admin_id = user_named(session, "admin").id
    page = admin.get("/desk/users").get_data(as_text=True)
    assert "cm.dispatcher" in page and "dispatcher" in page and 'id="users-data"' in page
    assert 'data-testid="demo-warning"' in page
    assert "<script>" not in page  # no inline code (CSP): data travels as JSON elements
    filtered = admin.get("/desk/users?province=50&role=dispatcher").get_data(as_text=True)
    assert "cm.dispatcher" in filtered and 'data-username="dispatcher"' not in filtered

    before = user_count(session)
    for body, field in (
            ({"username": "A", "display_name": "x", "role": "dispatcher",
              "province_code": "65"}, "username"),
            ({"username": "new.one", "display_name": "x", "role": "pilot",
              "province_code": "65"}, "role"),
            ({"username": "new.one", "display_name": "x", "role": "dispatcher",
              "province_code": "99"}, "province_code"),
            ({"username": "new.one", "display_name": "x", "role": "dispatcher",
              "province_code": "65", "phone": "12"}, "phone"),
            ({"username": "new.one", "display_name": "x", "role": "field_member",
              "province_code": "65"}, "team_id"),
            ({"username": "calltaker", "display_name": "x", "role": "dispatcher",
              "province_code": "65"}, "username")):
        resp = admin.post("/api/users", json=body)
        assert resp.status_code == 422, (body, resp.json)
        assert field in resp.json["fields"], resp.json
    cm_team = session.scalar(select(Team).where(Team.code == "CMI-1"))
    resp = admin.post("/api/users", json={"username": "new.one", "display_name": "x",
                                          "role": "field_member", "province_code": "65",
                                          "team_id": cm_team.id})
    assert resp.status_code == 422 and "team_id" in resp.json["fields"]
    assert user_count(session) == before

    resp = admin.post("/api/users", json={"username": "Somsak.K", "display_name": "สมศักดิ์",
                                          "role": "dispatcher", "province_code": "65",
                                          "phone": "081-555-0101"})
    assert resp.status_code == 201, resp.json
    assert resp.headers["Cache-Control"] == "no-store"
    temporary = resp.json["temporary_password"]
    new = user_named(session, "somsak.k")
    assert new.must_change_password and not new.demo and new.phone == "+66815550101"
    assert temporary not in new.password_hash
    created = audit_rows(session, "user.created", new.id)
    assert created and created[0].actor_id == admin_id

    psl_team = session.scalar(select(Team).where(Team.code == "PSL-2"))
    resp = admin.put(f"/api/users/{new.id}", json={
        "display_name": "สมศักดิ์ ก.", "role": "field_member", "province_code": "65",
        "team_id": psl_team.id, "phone": None})
    assert resp.status_code == 200, resp.json
    new = user_named(session, "somsak.k")
    assert (new.role, new.team_id, new.phone) == (Role.FIELD_MEMBER, psl_team.id, None)
    changed = audit_rows(session, "user.updated", new.id)[0].detail["changed"]
    assert changed["role"] == ["dispatcher", "field_member"] and changed["phone"] is True

    assert admin.post(f"/api/users/{new.id}/disable").status_code == 200
    assert not user_named(session, "somsak.k").active
    assert audit_rows(session, "user.disabled", new.id)[0].actor_id == admin_id
    assert post_login(app.test_client(), "somsak.k", temporary).status_code == 401
    assert admin.post(f"/api/users/{new.id}/enable").status_code == 200
    assert post_login(app.test_client(), "somsak.k", temporary).status_code == 302
    detail = admin.get(f"/desk/users/{new.id}").get_data(as_text=True)
    assert "User added" in detail or "เพิ่มผู้ใช้" in detail  # history in words
    assert admin.post(f"/api/users/{new.id}/explode").status_code == 404
    # Administrators do not lock themselves out.
    assert admin.post(f"/api/users/{admin_id}/disable").status_code == 409
    assert user_named(session, "admin").active


def test_only_admins_open_the_users_desk(login_as):
    supervisor = login_as("supervisor")
    assert supervisor.get("/desk/users").status_code == 403
    assert supervisor.post("/api/users", json={}).status_code == 403
    assert login_as("calltaker").post("/api/users/1/disable").status_code == 403


def test_a_provincial_admin_manages_only_their_province(app, session):
    cm_admin = make_user(session, "cm.admin", Role.ADMIN, "50")
    secret = enrol(app, session, cm_admin)
    admin = login_2fa(app, "cm.admin", secret)
    page = admin.get("/desk/users").get_data(as_text=True)
    assert 'data-username="cm.dispatcher"' in page
    assert 'data-username="dispatcher"' not in page and 'data-username="admin"' not in page
    psl = user_named(session, "dispatcher")
    national = user_named(session, "national")
    before = user_count(session)
    base = {"display_name": "x", "role": "supervisor"}
    assert admin.post("/api/users", json={**base, "username": "nat.two",
                                          "province_code": None}).status_code == 403
    assert admin.post("/api/users", json={**base, "username": "psl.two",
                                          "province_code": "65"}).status_code == 403
    assert user_count(session) == before
    for target in (psl, national):
        assert admin.get(f"/desk/users/{target.id}").status_code == 404
        assert admin.put(f"/api/users/{target.id}", json={
            **base, "province_code": "50"}).status_code == 404
        for action in ("disable", "reset-password", "sign-out", "reset-2fa"):
            assert admin.post(f"/api/users/{target.id}/{action}").status_code == 404
    assert user_named(session, "dispatcher").active
    # Nor can a Chiang Mai user be moved to another province or made national.
    cm = user_named(session, "cm.dispatcher")
    for province in ("65", None):
        resp = admin.put(f"/api/users/{cm.id}", json={
            "display_name": "x", "role": "dispatcher", "province_code": province})
        assert resp.status_code == 403
    assert user_named(session, "cm.dispatcher").province_code == "50"
    resp = admin.post("/api/users", json={**base, "username": "cm.sup", "province_code": "50"})
    assert resp.status_code == 201
    assert audit_rows(session, "user.created", resp.json["user"]["id"])[0].actor_id == cm_admin.id


# --- reset, forced change, disable, sign out everywhere ---------------------------------------

def test_reset_password_forces_a_change_at_the_next_login(app, session, login_as):
    dispatcher = login_as("dispatcher")
    admin = login_as("admin")
    target = user_named(session, "dispatcher")
    resp = admin.post(f"/api/users/{target.id}/reset-password")
    assert resp.status_code == 200 and resp.headers["Cache-Control"] == "no-store"
    temporary = resp.json["temporary_password"]
    assert dispatcher.get("/api/state").status_code == 401  # every session ended
    assert audit_rows(session, "password.reset", target.id)
    assert post_login(app.test_client(), "dispatcher", "demo1300").status_code == 401

    http = app.test_client()
    assert post_login(http, "dispatcher", temporary).status_code == 302
    resp = http.get("/desk/dispatch")
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/account/password")
    resp = http.get("/api/state")
    assert resp.status_code == 403 and "/account/password" in resp.json["error"]
    page = http.get("/account/password").get_data(as_text=True)
    assert 'data-testid="forced"' in page
    token = csrf_token(http, "/account/password")

    def change(new: str, confirm: str | None = None, current: str = temporary):
        return http.post("/account/password", data={
            "current_password": current, "new_password": new,
            "confirm_password": confirm if confirm is not None else new, "csrf_token": token})

    assert change("short").status_code == 422
    assert change(STRONG, STRONG + "!").status_code == 422
    assert change(STRONG, current="wrong").status_code == 422
    assert change(temporary).status_code == 422
    assert user_named(session, "dispatcher").must_change_password
    resp = change(STRONG)
    assert resp.status_code == 302 and "/account" in resp.headers["Location"]
    assert not user_named(session, "dispatcher").must_change_password
    assert http.get("/api/state").status_code == 200  # a new session for this browser
    assert post_login(app.test_client(), "dispatcher", temporary).status_code == 401
    assert post_login(app.test_client(), "dispatcher", STRONG).status_code == 302
    assert audit_rows(session, "password.changed", target.id)


def test_disable_and_sign_out_everywhere_end_sessions(app, session, login_as):
    admin = login_as("admin")
    first, second = login_as("calltaker"), login_as("calltaker")
    calltaker = user_named(session, "calltaker")
    resp = admin.post(f"/api/users/{calltaker.id}/sign-out")
    assert resp.status_code == 200 and resp.json["sessions_ended"] == 2
    assert first.get("/api/state").status_code == 401
    assert second.get("/api/state").status_code == 401
    assert audit_rows(session, "sessions.ended", calltaker.id)[0].detail["sessions"] == 2
    third = login_as("calltaker")
    assert admin.post(f"/api/users/{calltaker.id}/disable").status_code == 200
    assert third.get("/api/state").status_code == 401
    assert post_login(app.test_client(), "calltaker", "demo1300").status_code == 401


# --- two-step login -----------------------------------------------------------------------------

def test_totp_setup_verify_reuse_and_recovery_codes(app, session, monkeypatch):
    from console import twofactor
    from console.models import RecoveryCode

    now = datetime(2026, 12, 1, 3, 0, 10, tzinfo=utcnow().tzinfo)
    monkeypatch.setattr("console.twofactor.utcnow", lambda: now)
    make_user(session, "sup.two", Role.SUPERVISOR, "65")
    http = app.test_client()
    resp = post_login(http, "sup.two", STRONG)
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/login/setup")
    assert http.get("/api/state").status_code == 401  # no session before the second factor
    assert http.get("/desk/supervisor").status_code == 302

    page = http.get("/login/setup").get_data(as_text=True)
    secret = re.search(r'data-testid="secret">([A-Z2-7 ]+)<', page).group(1).replace(" ", "")
    assert 'src="data:image/svg+xml' in page
    user = user_named(session, "sup.two")
    assert user.totp_secret is None and secret not in (user.totp_pending or "")
    totp = pyotp.TOTP(secret)
    resp = post_code(http, "123456" if totp.at(now) != "123456" else "654321", "/login/setup")
    assert resp.status_code == 422
    assert http.get("/api/state").status_code == 401
    resp = post_code(http, totp.at(now), "/login/setup")
    assert resp.status_code == 200 and resp.headers["Cache-Control"] == "no-store"
    codes = re.findall(r'data-testid="recovery-code">([a-z2-9-]+)<', resp.get_data(as_text=True))
    assert len(codes) == 10 and len(set(codes)) == 10
    assert http.get("/api/state").status_code == 200
    user = user_named(session, "sup.two")
    assert twofactor.enabled(user) and secret not in user.totp_secret
    stored = list(session.scalars(select(RecoveryCode.code_hash)
                                  .where(RecoveryCode.user_id == user.id)))
    assert len(stored) == 10 and not set(codes) & set(stored)
    assert audit_rows(session, "2fa.enrolled", user.id)

    def fresh_login():
        client = app.test_client()
        resp = post_login(client, "sup.two", STRONG)
        assert resp.headers["Location"].endswith("/login/code")
        return client

    # The code used at setup cannot log in again; the next step's code can, but only once.
    client = fresh_login()
    assert post_code(client, totp.at(now)).status_code == 401
    assert client.get("/api/state").status_code == 401
    later = totp.at(now + timedelta(seconds=30))
    assert post_code(client, later).status_code == 302
    assert client.get("/api/state").status_code == 200
    assert post_code(fresh_login(), later).status_code == 401
    # A recovery code works once.
    client = fresh_login()
    assert post_code(client, codes[0].upper().replace("-", " ")).status_code == 302
    assert client.get("/api/state").status_code == 200
    assert post_code(fresh_login(), codes[0]).status_code == 401
    assert post_code(fresh_login(), codes[1]).status_code == 302
    used = audit_rows(session, "2fa.recovery_code_used", user.id)
    assert [row.detail["left"] for row in used] == [9, 8]
    assert audit_rows(session, "login.second_factor_failed", user.id)
    logins = audit_rows(session, "login", user.id)
    assert {row.detail.get("second_factor") for row in logins} == {"enrolled", "totp",
                                                                   "recovery"}


def test_who_must_use_two_step_login(app, session, login_as):
    from console import twofactor

    make_user(session, "nat.calls", Role.CALL_TAKER, None)
    make_user(session, "psl.calls", Role.CALL_TAKER, "65")
    make_user(session, "psl.admin", Role.ADMIN, "65")
    for name, location in (("nat.calls", "/login/setup"), ("psl.admin", "/login/setup"),
                           ("psl.calls", "/")):
        resp = post_login(app.test_client(), name, STRONG)
        assert resp.status_code == 302 and resp.headers["Location"].endswith(location), name
    # The demo's own users are flagged and asked for nothing more (console/demo.py).
    assert user_named(session, "supervisor").demo
    assert not twofactor.required_for(user_named(session, "supervisor"))
    assert login_as("national").get("/api/state").status_code == 200


def test_second_step_expires_and_admin_reset_makes_the_user_enrol_again(
        app, session, login_as):
    sup = make_user(session, "sup.three", Role.SUPERVISOR, "65")
    secret = enrol(app, session, sup)
    client = login_2fa(app, "sup.three", secret)
    app.config["LOGIN_SECOND_STEP_MINUTES"] = 0
    late = app.test_client()
    post_login(late, "sup.three", STRONG)
    resp = late.get("/login/code")
    assert resp.status_code == 302 and "again=1" in resp.headers["Location"]
    app.config["LOGIN_SECOND_STEP_MINUTES"] = 5
    admin = login_as("admin")
    assert admin.post(f"/api/users/{sup.id}/reset-2fa").status_code == 200
    assert client.get("/api/state").status_code == 401
    assert user_named(session, "sup.three").totp_secret is None
    resp = post_login(app.test_client(), "sup.three", STRONG)
    assert resp.headers["Location"].endswith("/login/setup")


# --- throttling ---------------------------------------------------------------------------------

def test_progressive_delay_never_locks_the_owner_out(app, session, monkeypatch):
    app.config.update(LOGIN_FREE_FAILURES=3, LOGIN_DELAY_BASE_SECONDS=2,
                      LOGIN_DELAY_MAX_SECONDS=8)
    clock = [utcnow()]
    monkeypatch.setattr("console.throttle.utcnow", lambda: clock[0])
    http = app.test_client()
    for _ in range(3):
        assert post_login(http, "dispatcher", "wrong-password").status_code == 401
    # The third failure makes the next attempt wait 2 s, even with the right password.
    resp = post_login(http, "dispatcher", "demo1300")
    assert resp.status_code == 429 and resp.headers["Retry-After"] == "2"
    assert "กรุณารอ 2 วินาที" in resp.get_data(as_text=True)
    clock[0] += timedelta(seconds=2)
    assert post_login(http, "dispatcher", "wrong-password").status_code == 401
    resp = post_login(http, "dispatcher", "demo1300")
    assert resp.status_code == 429 and resp.headers["Retry-After"] == "4"  # doubled
    waits = []
    for _ in range(3):
        clock[0] += timedelta(seconds=10)
        assert post_login(http, "dispatcher", "wrong-password").status_code == 401
        waits.append(int(post_login(http, "dispatcher", "x").headers["Retry-After"]))
    assert waits == [8, 8, 8]  # capped by LOGIN_DELAY_MAX_SECONDS
    english = app.test_client()
    english.set_cookie("lang", "en")
    assert "Please wait 8 s" in post_login(english, "dispatcher", "demo1300").get_data(
        as_text=True)
    # Another username is not slowed by this one.
    assert post_login(app.test_client(), "calltaker", "demo1300").status_code == 302
    clock[0] += timedelta(seconds=8)
    assert post_login(http, "dispatcher", "demo1300").status_code == 302
    from console.models import LoginThrottle

    session.expire_all()
    assert session.scalar(select(func.count()).select_from(LoginThrottle)) == 0


def test_per_address_limit_across_usernames(app):
    app.config["LOGIN_ADDRESS_LIMIT"] = "5 per 10 minutes"
    here = app.test_client()
    for name in ("dispatcher", "calltaker", "team1", "nobody.at.all", "caseworker"):
        assert post_login(here, name, "Spring2026!").status_code == 401
    resp = post_login(here, "team2", "demo1300")
    assert resp.status_code == 429 and int(resp.headers["Retry-After"]) > 500
    assert "จากเครื่องนี้" in resp.get_data(as_text=True)
    elsewhere = app.test_client()
    resp = post_login(elsewhere, "team2", "demo1300",
                      environ_base={"REMOTE_ADDR": "10.1.2.3"})
    assert resp.status_code == 302


def test_anyone_may_turn_two_step_login_on_and_renew_recovery_codes(app, session, login_as,
                                                                     monkeypatch):
    now = datetime(2026, 12, 1, 4, 0, 10, tzinfo=utcnow().tzinfo)
    monkeypatch.setattr("console.twofactor.utcnow", lambda: now)
    caller = login_as("calltaker")  # a demo user: not required, but allowed
    assert 'data-testid="twofactor-off"' in caller.get("/account").get_data(as_text=True)
    page = caller.get("/account/2fa/setup").get_data(as_text=True)
    secret = re.search(r'data-testid="secret">([A-Z2-7 ]+)<', page).group(1).replace(" ", "")
    totp = pyotp.TOTP(secret)
    resp = post_code(caller.http, totp.at(now), "/account/2fa/setup")
    old_codes = re.findall(r'data-testid="recovery-code">([a-z2-9-]+)<',
                           resp.get_data(as_text=True))
    assert resp.status_code == 200 and len(old_codes) == 10
    assert 'data-testid="twofactor-on"' in caller.get("/account").get_data(as_text=True)
    # From now on this user's login asks for a code too.
    resp = post_login(app.test_client(), "calltaker", "demo1300")
    assert resp.headers["Location"].endswith("/login/code")
    # New recovery codes need a fresh code from the app; the old ones stop working.
    assert post_code(caller.http, totp.at(now), "/account/2fa/recovery-codes").status_code == 422
    resp = post_code(caller.http, totp.at(now + timedelta(seconds=30)),
                     "/account/2fa/recovery-codes")
    new_codes = re.findall(r'data-testid="recovery-code">([a-z2-9-]+)<',
                           resp.get_data(as_text=True))
    assert resp.status_code == 200 and len(new_codes) == 10 and not set(new_codes) & set(old_codes)
    client = app.test_client()
    post_login(client, "calltaker", "demo1300")
    assert post_code(client, old_codes[0]).status_code == 401
    assert post_code(client, new_codes[0]).status_code == 302
    assert audit_rows(session, "2fa.recovery_codes_renewed")
