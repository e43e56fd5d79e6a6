"""Socket.IO connections: refuse strangers, join only allowed rooms, replay what was missed."""

from __future__ import annotations

from flask import current_app
from flask_login import current_user
from flask_socketio import ConnectionRefusedError, disconnect, emit, join_room

from console import realtime, web
from console.extensions import socketio
from console.rooms import rooms_for_user, user_room

REPLAY_EVENT = "replay"


@socketio.on("connect")
def on_connect(auth=None):
    """Only logged-in users connect; each joins the rooms its role and province allow."""
    if not current_user.is_authenticated or not web.session_is_fresh():
        raise ConnectionRefusedError("unauthorized")
    for room in sorted(rooms_for_user(current_user)):
        join_room(room)
    join_room(user_room(current_user.id))
    emit("hello", {"head": realtime.head(web.db()), "rooms": sorted(rooms_for_user(current_user))})


@socketio.on(REPLAY_EVENT)
def on_replay(data):
    """Send this client every event after `since` in its rooms, or tell it to reload its board."""
    try:
        since = int((data or {}).get("since", 0))
    except (TypeError, ValueError, AttributeError):
        return {"error": "since must be a number"}
    if not current_user.is_authenticated or not web.session_is_fresh():
        disconnect()
        return {"error": "unauthorized"}
    session = web.db()
    events, complete = realtime.missed(
        session, since=max(since, 0), rooms=rooms_for_user(current_user),
        limit=current_app.config["REPLAY_LIMIT"],
    )
    return {"events": events, "complete": complete, "head": realtime.head(session)}


def end_user_sockets(user_id: int) -> None:
    """On logout: tell the user's open consoles, and close those on this process."""
    room = user_room(user_id)
    socketio.emit("session.ended", {}, to=room)
    try:
        participants = list(socketio.server.manager.get_participants("/", room))
    except (AttributeError, KeyError):
        participants = []
    for sid, _eio_sid in participants:
        socketio.server.disconnect(sid, namespace="/")


def register() -> None:
    """Handlers are bound at import; importing this module is what registers them."""
