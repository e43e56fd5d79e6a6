"""Socket.IO connections: refuse strangers, join only allowed rooms, replay what was missed."""

from __future__ import annotations

import logging

from flask import current_app, g, request
from flask_login import current_user
from flask_socketio import ConnectionRefusedError, disconnect, emit, join_room
from sqlalchemy.exc import SQLAlchemyError

from console import metrics, realtime, web
from console.access_log import reads_of
from console.db import utcnow
from console.extensions import socketio
from console.rooms import rooms_for_user, user_room

log = logging.getLogger(__name__)

REPLAY_EVENT = "replay"


# This process's sockets and the login session each belongs to (sid -> session id), so the
# sockets of a session that ended anywhere are closed (console.__init__._close_dead_sessions).
_SOCKET_SESSIONS: dict[str, tuple[int, int]] = {}  # sid -> (session id, user id)


def session_room(session_id: int) -> str:
    """The sockets of one login session (logout ends these, not the user's other devices)."""
    return f"session:{session_id}"


def local_sessions() -> dict[int, int]:
    """Login sessions with a socket on this process: session id -> number of sockets."""
    counts: dict[int, int] = {}
    for session_id, _user_id in list(_SOCKET_SESSIONS.values()):
        counts[session_id] = counts.get(session_id, 0) + 1
    return counts


@socketio.on("connect")
def on_connect(auth=None):
    """Only logged-in users connect; each joins the rooms its role and province allow."""
    if not current_user.is_authenticated:
        raise ConnectionRefusedError("unauthorized")
    session_id = g.get("user_session_id")
    for room in sorted(rooms_for_user(current_user)):
        join_room(room)
    join_room(user_room(current_user.id))
    if session_id is not None:
        join_room(session_room(session_id))
        _SOCKET_SESSIONS[request.sid] = (session_id, current_user.id)
    reads = reads_of(socketio.server.manager)
    if reads is not None:  # NOTE: what this console is sent is summarised in the access log.
        reads.connected(request.sid, user_id=current_user.id, ip=request.remote_addr,
                        rooms=rooms_for_user(current_user), now=utcnow())
    emit("hello", {"head": realtime.head(web.db()), "rooms": sorted(rooms_for_user(current_user)),
                   "heartbeat": current_app.config["SYNC_HEARTBEAT_SECONDS"]})
    metrics.socket_connected()


@socketio.on(REPLAY_EVENT)
def on_replay(data):
    """One page of the events after `since` in this client's rooms (see realtime.missed)."""
    try:
        since = int((data or {}).get("since", 0))
    except (TypeError, ValueError, AttributeError):
        return {"error": "since must be a number"}
    if not current_user.is_authenticated:
        disconnect()
        return {"error": "unauthorized"}
    try:
        page = realtime.missed(web.db(), since=max(since, 0), rooms=rooms_for_user(current_user),
                               limit=current_app.config["REPLAY_LIMIT"])
        reads = reads_of(socketio.server.manager)
        if reads is not None and page["events"]:
            reads.direct(request.sid, (e.get("name", "") for e in page["events"]))
        metrics.replay_sent(len(page["events"]))
        return page
    except SQLAlchemyError:
        # NOTE: the database is unreachable: answer at once so the console keeps saying it is
        # behind and asks again, instead of waiting for an answer that never comes.
        log.warning("replay failed: database unreachable")
        web.db().rollback()
        return {"error": "unavailable"}


@socketio.on("disconnect")
def on_disconnect(*_args):
    """Forget the socket's session; its access-log summary is written by the relay loop."""
    metrics.socket_disconnected()
    _SOCKET_SESSIONS.pop(request.sid, None)
    reads = reads_of(socketio.server.manager)
    if reads is not None:
        reads.disconnected(request.sid, now=utcnow())


def _close_local(match) -> None:
    for sid, ids in list(_SOCKET_SESSIONS.items()):
        if match(*ids):
            _SOCKET_SESSIONS.pop(sid, None)
            try:
                socketio.server.disconnect(sid, namespace="/", ignore_queue=True)
            except (KeyError, ValueError):
                pass


def close_session_sockets(session_id: int, *, local_only: bool = False) -> None:
    """A login session ended: tell its consoles (they keep what was typed and say so) and close
    their sockets here; other processes close theirs at once through the message queue, or at
    their next session check if it is down."""
    socketio.emit("session.ended", {}, to=session_room(session_id), ignore_queue=local_only)
    _close_local(lambda sess_id, _user_id: sess_id == session_id)


def close_user_sockets(user_id: int) -> None:
    """Every session of a user ended (password change, disabled, sign out everywhere)."""
    socketio.emit("session.ended", {}, to=user_room(user_id))
    _close_local(lambda _sess_id, uid: uid == user_id)


def register() -> None:
    """Handlers are bound at import; importing this module is what registers them. Also makes
    sure a console engine.io gave up on (it stopped reading) loses its connection."""
    from console.serving import close_abandoned_transports

    close_abandoned_transports(socketio.server.eio)
