"""Socket.IO with the test client: refusal, room isolation, every event's payload, replay."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from console.extensions import socketio
from dispatch.models import Team
from tests.conftest import incident_body

INCIDENT_KEYS = {
    "id", "ref", "status", "category", "priority", "source", "summary", "notes", "province_code",
    "district_code", "subdistrict_code", "place", "address_text", "lat", "lon", "precision",
    "team_id", "team_name", "people", "created_at", "triaged_at", "dispatched_at",
    "acknowledged_at", "en_route_at", "on_scene_at", "resolved_at", "handed_over_at",
    "cancelled_at", "updated_at", "offer_due_at", "checkin_due_at", "same_reporter",
    "place_unknown", "source_link", "source_org",
}


def sio(app, client):
    """A Socket.IO test client sharing the logged-in Flask client's cookies."""
    return socketio.test_client(app, flask_test_client=client.http)


def events(sock) -> list[dict]:
    """Application events received (envelopes), hello excluded."""
    return [
        {"name": e["name"], **e["args"][0]}
        for e in sock.get_received()
        if e["name"] != "hello"
    ]


@pytest.fixture
def everyone(app, login_as):
    """Connected sockets for one user of every kind, in two provinces."""
    names = ["calltaker", "dispatcher", "supervisor", "team1", "team2", "caseworker",
             "cm.dispatcher", "cm.team1", "national"]
    socks = {}
    for name in names:
        client = login_as(name)
        sock = sio(app, client)
        assert sock.is_connected(), name
        sock.get_received()
        socks[name] = (client, sock)
    yield socks
    for _, sock in socks.values():
        if sock.is_connected():
            sock.disconnect()


def test_unauthenticated_connections_are_refused(app):
    anonymous = socketio.test_client(app, flask_test_client=app.test_client())
    assert not anonymous.is_connected()


def test_hello_names_only_the_allowed_rooms(app, session, login_as):
    from console.models import User

    expected = {
        "calltaker": ["calltakers:65", "province:65"],
        "dispatcher": ["province:65"],
        "supervisor": ["cases:65", "province:65", "supervisors:65"],
        "team1": None,  # team:<id>
        "caseworker": ["cases:65"],
        "cm.dispatcher": ["province:50"],
        "national": ["cases:national", "national", "supervisors:national"],
        "admin": ["cases:national", "national", "supervisors:national"],
    }
    for name, rooms in expected.items():
        sock = sio(app, login_as(name))
        hello = [e for e in sock.get_received() if e["name"] == "hello"][0]["args"][0]
        # Call-takers, supervisors and admins also get their own pop room (the duty roster's
        # first wave), named by their own id only.
        pops = [r for r in hello["rooms"] if r.startswith("pops:")]
        user = session.scalar(select(User).where(User.username == name))
        assert pops == ([f"pops:{user.id}"] if name in {"calltaker", "supervisor", "national",
                                                         "admin"} else []), name
        others = [r for r in hello["rooms"] if not r.startswith("pops:")]
        if rooms is None:
            assert len(others) == 1 and others[0].startswith("team:")
        else:
            assert others == rooms, name
        sock.disconnect()


def test_every_event_type_reaches_only_its_rooms(app, session, everyone):
    calltaker = everyone["calltaker"][0]
    dispatcher = everyone["dispatcher"][0]
    member = everyone["team1"][0]
    psl1 = session.scalar(select(Team).where(Team.code == "PSL-1"))

    resp = calltaker.post("/api/calls", json=incident_body())
    assert resp.status_code == 201
    incident_id = resp.json["incident"]["id"]
    got = {name: events(sock) for name, (_, sock) in everyone.items()}
    for name in ("calltaker", "dispatcher", "supervisor", "national"):
        # Only the supervisor board counts calls: the other desks are not sent call.logged.
        expected = ["incident.created"] + (["call.logged"] if name in ("supervisor", "national")
                                           else [])
        assert sorted(e["name"] for e in got[name]) == sorted(expected), name
        created = next(e for e in got[name] if e["name"] == "incident.created")
        assert set(created["data"]) == INCIDENT_KEYS
        assert created["data"]["id"] == incident_id and created["data"]["status"] == "new"
        if name not in ("supervisor", "national"):
            continue
        logged = next(e for e in got[name] if e["name"] == "call.logged")
        assert set(logged["data"]) == {"id", "outcome", "province_code", "created_at",
                                       "closed_at"}
        assert logged["data"]["outcome"] == "incident_created"
    for name in ("team1", "team2", "caseworker", "cm.dispatcher", "cm.team1"):
        assert got[name] == [], name

    assert dispatcher.post(f"/api/incidents/{incident_id}/assign",
                           json={"team_id": psl1.id}).status_code == 200
    got = {name: events(sock) for name, (_, sock) in everyone.items()}
    team_event = next(e for e in got["team1"] if e["name"] == "team.updated")
    assert set(team_event["data"]) == {"id", "code", "name", "province_code", "status", "skills",
                                       "lat", "lon", "position_at", "position_accuracy_m",
                                       "status_changed_at"}
    assert team_event["data"]["status"] == "offered"
    assigned = next(e for e in got["team1"] if e["name"] == "incident.updated")
    assert assigned["data"]["team_id"] == psl1.id and assigned["data"]["notes"] == "ประตูสีฟ้า"
    assert {e["name"] for e in got["dispatcher"]} == {"team.updated", "incident.updated"}
    for name in ("team2", "caseworker", "cm.dispatcher", "cm.team1", "calltaker"):
        if name == "calltaker":
            assert {e["name"] for e in got[name]} == {"team.updated", "incident.updated"}
        else:
            assert got[name] == [], name

    for step in ("acknowledge", "en-route", "on-scene", "resolve"):
        assert member.post(f"/api/incidents/{incident_id}/steps/{step}", json={}).status_code \
            == 200
    got = {name: events(sock) for name, (_, sock) in everyone.items()}
    opened = [e for e in got["caseworker"] if e["name"] == "case.opened"]
    assert len(opened) == 1 and [e["name"] for e in got["caseworker"]] == ["case.opened"]
    assert set(opened[0]["data"]) == {"id", "ref", "incident_id", "source", "status",
                                      "status_changed_at", "version", "moves",
                                      "assigned_to_id", "category", "priority", "summary",
                                      "province_code", "place", "people_count", "opened_at",
                                      "transfer_to_province", "handover_to_id"}
    assert opened[0]["data"]["incident_id"] == incident_id
    assert [e["name"] for e in got["supervisor"]].count("case.opened") == 1
    assert [e for e in got["national"] if e["name"] == "case.opened"]
    final = [e for e in got["team1"] if e["name"] == "incident.updated"][-1]
    assert final["data"]["status"] == "handed_over"
    for name in ("team2", "cm.dispatcher", "cm.team1"):
        assert got[name] == [], name
    # Sequence numbers only grow, for every listener.
    for name in everyone:
        seqs = [e["seq"] for e in got[name]]
        assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs), name


def test_events_are_not_sent_when_the_transaction_rolls_back(app, everyone):
    from console import realtime
    from console.rooms import desk_rooms

    factory = app.extensions["db_factory"]
    with app.app_context():
        s = factory()
        realtime.publish(s, "incident.updated", {"id": -1}, desk_rooms("65"))
        s.rollback()
        s.close()
        s = factory()
        realtime.publish(s, "incident.updated", {"id": -2}, desk_rooms("65"))
        s.commit()
        s.close()
    got = events(everyone["dispatcher"][1])
    assert [e["data"]["id"] for e in got] == [-2]


def test_reconnecting_client_replays_what_it_missed(app, login_as, everyone):
    calltaker = everyone["calltaker"][0]
    dispatcher_client, sock = everyone["dispatcher"]
    calltaker.post("/api/calls", json=incident_body())
    seen = events(sock)
    last = max(e["seq"] for e in seen)

    sock.disconnect()  # network drop mid-stream
    created = [calltaker.post("/api/calls", json=incident_body(summary=f"missed {i}")).json
               for i in range(3)]
    # The Chiang Mai desk's traffic must not be replayed to Phitsanulok.
    cm_body = incident_body()
    cm_body["incident"]["location"] = {"province_code": "50", "address_text": "เชียงใหม่"}
    assert calltaker.post("/api/calls", json=cm_body).status_code == 201

    again = sio(app, dispatcher_client)
    assert again.is_connected()
    again.get_received()
    reply = again.emit("replay", {"since": last}, callback=True)
    assert reply["complete"] is True
    names = [e["name"] for e in reply["events"]]
    assert names.count("incident.created") == 3 and names.count("call.logged") == 0
    replayed_ids = [e["data"]["id"] for e in reply["events"] if e["name"] == "incident.created"]
    assert replayed_ids == [c["incident"]["id"] for c in created]
    assert all(e["data"]["province_code"] == "65" for e in reply["events"])
    seqs = [e["seq"] for e in reply["events"]]
    assert seqs == sorted(seqs) and seqs[0] > last
    assert reply["head"] >= seqs[-1]
    # The board the client rebuilds equals the database.
    state = dispatcher_client.get("/api/state").json
    assert {i["id"] for i in state["incidents"]} == {
        e["data"]["id"] for e in seen + reply["events"] if e["name"] == "incident.created"
    }
    again.disconnect()


def test_replay_beyond_the_limit_asks_for_a_reload(app, everyone):
    app.config["REPLAY_LIMIT"] = 2
    calltaker = everyone["calltaker"][0]
    for _ in range(3):  # three incident.created for the dispatcher's rooms, over the limit
        calltaker.post("/api/calls", json=incident_body())
    reply = everyone["dispatcher"][1].emit("replay", {"since": 0}, callback=True)
    assert reply["complete"] is False and len(reply["events"]) == 2
    bad = everyone["dispatcher"][1].emit("replay", {"since": "yesterday"}, callback=True)
    assert "error" in bad


def test_alarms_reach_their_province_desks_and_the_team_only(app, everyone):
    member = everyone["team1"][0]
    assert member.post("/api/teams/me/sos", json={"note": "help"}).status_code == 201
    got = {name: events(sock) for name, (_, sock) in everyone.items()}
    for name in ("dispatcher", "supervisor", "calltaker", "national", "team1"):
        alarm = [e for e in got[name] if e["name"] == "alarm.changed"]
        assert len(alarm) == 1, name
        assert set(alarm[0]["data"]) == {"id", "kind", "province_code", "team_id", "incident_id",
                                         "raised_at", "lat", "lon", "note", "handled_at",
                                         "contact_name", "contact_phone", "incident_ref",
                                         "case_id", "team_name", "handled_by_name", "facts"}
        assert alarm[0]["data"]["kind"] == "sos"
    for name in ("team2", "caseworker", "cm.dispatcher", "cm.team1"):
        assert got[name] == [], name
