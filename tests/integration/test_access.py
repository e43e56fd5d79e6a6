"""Logins, roles, session expiry, language switch."""

from __future__ import annotations

from tests.conftest import csrf_token


def test_pages_need_login_and_the_right_role(app, login_as):
    anon = app.test_client()
    assert anon.get("/desk/dispatch").status_code == 302
    assert anon.get("/api/state").status_code == 401
    assert anon.get("/api/state").json["error"]
    member = login_as("team1")
    assert member.get("/desk/dispatch").status_code == 403
    assert member.get("/desk/team").status_code == 200
    assert login_as("calltaker").get("/desk/supervisor").status_code == 403
    assert login_as("caseworker").get("/desk/cases").status_code == 200
    assert login_as("dispatcher").get("/desk/cases").status_code == 403


def test_logout_ends_the_session(login_as):
    dispatcher = login_as("dispatcher")
    assert dispatcher.post("/logout").status_code == 302
    assert dispatcher.get("/api/state").status_code == 401


def _age_sessions(app, **changes) -> None:
    from sqlalchemy import update

    from console.models import UserSession

    s = app.extensions["db_factory"]()
    s.execute(update(UserSession).values(**changes))
    s.commit()
    s.close()


def test_sessions_expire_after_the_maximum_shift_length(app, login_as):
    from datetime import timedelta

    from console.db import utcnow

    dispatcher = login_as("dispatcher")
    assert dispatcher.get("/api/state").status_code == 200
    _age_sessions(app, created_at=utcnow() - timedelta(
        hours=app.config["SESSION_MAX_HOURS"], seconds=1))
    assert dispatcher.get("/api/state").status_code == 401


def test_idle_sessions_expire(app, login_as):
    from datetime import timedelta

    from console.db import utcnow

    dispatcher = login_as("dispatcher")
    assert dispatcher.get("/api/state").status_code == 200
    _age_sessions(app, last_seen_at=utcnow() - timedelta(
        minutes=app.config["SESSION_IDLE_MINUTES"], seconds=1))
    assert dispatcher.get("/api/state").status_code == 401


def test_thai_by_default_and_english_switch_sticks(app, login_as):
    dispatcher = login_as("dispatcher")
    page = dispatcher.get("/desk/dispatch").get_data(as_text=True)
    assert 'lang="th"' in page and "ออกจากระบบ" in page
    token = csrf_token(dispatcher.http, "/desk/dispatch")
    resp = dispatcher.http.post("/language", data={"lang": "en", "next": "/desk/dispatch",
                                                   "csrf_token": token})
    assert resp.status_code == 302
    page = dispatcher.get("/desk/dispatch").get_data(as_text=True)
    assert 'lang="en"' in page and "Log out" in page
    # It sticks to the user too: a fresh browser (no cookie) gets English after login.
    again = login_as("dispatcher")
    assert 'lang="en"' in again.get("/desk/dispatch").get_data(as_text=True)
    # Errors come in the chosen language.
    resp = dispatcher.post("/api/calls", json={})
    assert resp.status_code in (400, 403, 409, 422)


def test_error_messages_are_thai_by_default(login_as):
    calltaker = login_as("calltaker")
    resp = calltaker.post("/api/calls", json={"action": "close", "summary": ""})
    assert resp.status_code == 422
    assert any("\u0e00" <= ch <= "\u0e7f" for ch in resp.json["error"])
    assert all(any("\u0e00" <= ch <= "\u0e7f" for ch in m) for m in resp.json["fields"].values())
