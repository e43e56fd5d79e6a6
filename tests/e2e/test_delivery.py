"""Delivery guarantee in one process: the outbox relay sends what the after-commit send lost,
`sync` tells consoles how far they are complete, replay pages through any backlog."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import delete

from console import realtime, relay
from console.db import utcnow
from console.extensions import socketio
from console.models import RealtimeEvent
from console.rooms import desk_rooms
from tests.conftest import incident_body
from tests.e2e.test_socket_rooms import events, sio


@pytest.fixture
def lost_sends(app):
    """Every after-commit send is lost (as when the process dies right after the commit)."""
    factory = app.extensions["db_factory"]
    original = factory.kw["info"][realtime.SENDER_KEY]
    factory.kw["info"][realtime.SENDER_KEY] = lambda name, env, rooms: None
    yield
    factory.kw["info"][realtime.SENDER_KEY] = original


def run_pass(app, state, *, grace_seconds=0.0, now=None):
    """One relay pass of this process, as its background loop runs it."""
    manager = socketio.server.manager
    session = app.extensions["db_factory"]()
    try:
        return relay.relay_pass(
            session=session, state=state, delivery=manager.delivery, now=now or utcnow(),
            grace=timedelta(seconds=grace_seconds),
            send_local=lambda name, env, rooms: manager.emit(name, env, namespace="/",
                                                             room=rooms, ignore_queue=True))
    finally:
        session.close()


def test_relay_sends_committed_events_that_were_never_sent_once(app, login_as, lost_sends):
    calltaker = login_as("calltaker")
    dispatcher, cm = login_as("dispatcher"), login_as("cm.dispatcher")
    sock, cm_sock = sio(app, dispatcher), sio(app, cm)
    sock.get_received(), cm_sock.get_received()
    state = relay.RelayState()
    run_pass(app, state)  # the first pass starts at the head
    created = [calltaker.post("/api/calls", json=incident_body(summary=f"lost {i}")).json
               for i in range(3)]
    assert events(sock) == []  # the sends were lost: nothing reached the console

    young = run_pass(app, state, grace_seconds=60)
    assert young.relayed == [] and events(sock) == []  # within the grace: still waiting

    done = run_pass(app, state)
    got = events(sock)
    ids = [e["data"]["id"] for e in got if e["name"] == "incident.created"]
    assert ids == [c["incident"]["id"] for c in created]
    assert state.cursor == done.cursor == realtime.head(app.extensions["db_factory"]())
    assert cm_sock.get_received() == []  # relayed to their rooms only

    again = run_pass(app, state)  # exactly once per process: nothing twice
    assert again.relayed == [] and events(sock) == []


def test_relay_leaves_alone_what_reached_this_process(app, login_as):
    calltaker, dispatcher = login_as("calltaker"), login_as("dispatcher")
    sock = sio(app, dispatcher)
    sock.get_received()
    state = relay.RelayState()
    run_pass(app, state)
    calltaker.post("/api/calls", json=incident_body())
    assert len([e for e in events(sock) if e["name"] == "incident.created"]) == 1
    result = run_pass(app, state)
    assert result.relayed == [] and events(sock) == []
    assert len(socketio.server.manager.delivery) == 0  # forgotten once the cursor passed


def test_relay_cursor_waits_for_an_event_still_in_flight(app, lost_sends):
    factory = app.extensions["db_factory"]
    state = relay.RelayState()
    run_pass(app, state)
    s = factory()
    realtime.publish(s, "test.event", {"id": 1}, desk_rooms("65"))
    s.commit()
    s.close()
    start = state.cursor
    result = run_pass(app, state, grace_seconds=60)
    assert result.cursor == start  # not sent yet and young: the cursor must not pass it
    later = run_pass(app, state, now=utcnow() + timedelta(seconds=61), grace_seconds=60)
    assert later.relayed == [start + 1] and later.cursor == start + 1


def test_sync_payload_says_when_delivery_is_degraded():
    assert relay.sync_payload(upto=7, queue_ok=True, db_ok=True) == {
        "upto": 7, "queue": "ok", "db": "ok"}
    assert relay.sync_payload(upto=7, queue_ok=False, db_ok=True)["queue"] == "down"
    assert relay.sync_payload(upto=7, queue_ok=True, db_ok=False)["db"] == "down"


def test_replay_pages_through_a_backlog_larger_than_a_page(app, login_as):
    app.config["REPLAY_LIMIT"] = 2
    calltaker, dispatcher = login_as("calltaker"), login_as("dispatcher")
    sock = sio(app, dispatcher)
    start = realtime.head(app.extensions["db_factory"]())
    created = [calltaker.post("/api/calls", json=incident_body(summary=f"n{i}")).json
               for i in range(5)]
    sock.get_received()
    got, since, pages = [], start, 0
    while True:
        reply = sock.emit("replay", {"since": since}, callback=True)
        pages += 1
        assert reply["gone"] is False and len(reply["events"]) <= 2
        got += reply["events"]
        assert reply["upto"] >= since
        since = reply["upto"]
        if reply["complete"]:
            break
    assert pages == 3
    ids = [e["data"]["id"] for e in got if e["name"] == "incident.created"]
    assert ids == [c["incident"]["id"] for c in created]  # all of them, in order, once


def test_replay_after_pruned_events_asks_for_a_board_reload(app, login_as):
    calltaker, dispatcher = login_as("calltaker"), login_as("dispatcher")
    sock = sio(app, dispatcher)
    for _ in range(3):
        calltaker.post("/api/calls", json=incident_body())
    session = app.extensions["db_factory"]()
    head = realtime.head(session)
    session.execute(delete(RealtimeEvent).where(RealtimeEvent.seq <= head - 1))
    session.commit()
    session.close()
    gone = sock.emit("replay", {"since": 0}, callback=True)
    assert gone["gone"] is True and gone["events"] == []
    ahead = sock.emit("replay", {"since": head + 100}, callback=True)  # a restored database
    assert ahead["gone"] is True
    current = sock.emit("replay", {"since": head}, callback=True)
    assert current["gone"] is False and current["complete"] is True


def test_hello_tells_the_console_the_sync_heartbeat(app, login_as):
    sock = sio(app, login_as("dispatcher"))
    hello = [e for e in sock.get_received() if e["name"] == "hello"][0]["args"][0]
    assert hello["heartbeat"] == app.config["SYNC_HEARTBEAT_SECONDS"]
