"""Server-side sessions: logout, expiry, disabling and "sign out everywhere" end a login for
good, over HTTP and Socket.IO, and close its consoles."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update

from console import service as console_service
from console import sockets
from console.db import utcnow
from console.models import User, UserSession
from tests.conftest import Client
from tests.e2e.test_socket_rooms import sio


def saved_copy(app, client: Client) -> Client:
    """Another client holding a copy of the cookie (what an attacker saved before logout)."""
    http = app.test_client()
    http.set_cookie("session", client.http.get_cookie("session").value)
    return Client(http=http, token=client.token, username=client.username)


def heard(sock) -> list[str]:
    """Event names a test client received, also after the server closed it."""
    names = [p["name"] for p in sock.queue if p["namespace"] == "/"]
    sock.queue.clear()
    return names


def user_id(app, username: str) -> int:
    s = app.extensions["db_factory"]()
    uid = s.scalar(select(User.id).where(User.username == username))
    s.close()
    return uid


def test_a_cookie_saved_before_logout_opens_nothing_afterwards(app, login_as):
    calltaker = login_as("calltaker")
    stolen = saved_copy(app, calltaker)
    assert stolen.get("/api/state").status_code == 200
    assert calltaker.post("/logout").status_code == 302
    assert stolen.get("/api/state").status_code == 401
    flag = stolen.post("/api/flags", json={"number": "0812345678", "level": "warn",
                                           "reason": "x"})
    assert flag.status_code in (400, 401)  # refused (no session: its CSRF token is void too)
    assert not sio(app, stolen).is_connected()
    s = app.extensions["db_factory"]()
    row = s.scalars(select(UserSession)).one()
    assert row.revoked_at is not None and row.revoked_reason == "logout"
    s.close()


def test_logout_ends_this_login_only_and_closes_its_consoles(app, login_as):
    office, home = login_as("dispatcher"), login_as("dispatcher")
    office_sock, home_sock = sio(app, office), sio(app, home)
    office_sock.get_received(), home_sock.get_received()
    assert office.post("/logout").status_code == 302
    assert heard(office_sock) == ["session.ended"]
    assert not office_sock.is_connected()
    assert home_sock.is_connected() and home_sock.get_received() == []
    assert home.get("/api/state").status_code == 200


def test_sign_out_everywhere_and_disabling_end_every_session_and_socket(app, login_as):
    first, second = login_as("supervisor"), login_as("supervisor")
    sock = sio(app, first)
    sock.get_received()
    uid = user_id(app, "supervisor")
    s = app.extensions["db_factory"]()
    assert console_service.sign_out_everywhere(session=s, user_id=uid, by_id=None) == 2
    s.commit()
    s.close()
    sockets.close_user_sockets(uid)
    assert heard(sock) == ["session.ended"]
    assert not sock.is_connected()
    for client in (first, second):
        assert client.get("/api/state").status_code == 401
    again = login_as("supervisor")
    s = app.extensions["db_factory"]()
    console_service.set_user_active(session=s, user_id=uid, active=False, by_id=None)
    s.commit()
    s.close()
    assert again.get("/api/state").status_code == 401


def test_a_password_change_ends_the_old_sessions(app, login_as):
    old = login_as("caseworker")
    s = app.extensions["db_factory"]()
    console_service.change_password(session=s, user_id=user_id(app, "caseworker"),
                                    new_password="a new long passphrase 1300", by_id=None)
    s.commit()
    s.close()
    assert old.get("/api/state").status_code == 401
    assert login_as("caseworker", "a new long passphrase 1300").get(
        "/api/state").status_code == 200


def test_the_session_check_closes_consoles_of_expired_or_ended_sessions(app, login_as):
    from console import _close_dead_sessions

    dispatcher, team = login_as("dispatcher"), login_as("team1")
    d_sock, t_sock = sio(app, dispatcher), sio(app, team)
    d_sock.get_received(), t_sock.get_received()
    s = app.extensions["db_factory"]()
    d_id = s.scalar(select(UserSession.id).join(User).where(User.username == "dispatcher"))
    s.execute(update(UserSession).where(UserSession.id == d_id).values(
        last_seen_at=utcnow() - timedelta(minutes=app.config["SESSION_IDLE_MINUTES"] + 1)))
    s.commit()
    s.close()
    _close_dead_sessions(app)  # what every process runs every SESSION_CHECK_SECONDS
    assert heard(d_sock) == ["session.ended"]
    assert not d_sock.is_connected()
    assert t_sock.is_connected() and t_sock.get_received() == []
    s = app.extensions["db_factory"]()
    assert s.get(UserSession, d_id).revoked_reason == "idle"
    s.close()
    assert dispatcher.get("/api/state").status_code == 401


def test_replay_on_a_socket_whose_session_ended_is_refused(app, login_as):
    dispatcher = login_as("dispatcher")
    sock = sio(app, dispatcher)
    s = app.extensions["db_factory"]()
    s.execute(update(UserSession).values(revoked_at=utcnow(), revoked_reason="test"))
    s.commit()
    s.close()
    reply = sock.emit("replay", {"since": 0}, callback=True)
    assert reply == {"error": "unauthorized"}
    assert not sock.is_connected()
