"""Least privilege over Socket.IO (issue 12.3, its Tests): every Socket.IO handler the app
registers has an access rule here (a new handler without one fails), and each rule is probed
for every kind of user in two provinces: who may connect, and what a replay hands them."""

from __future__ import annotations

import pytest

from console.extensions import socketio
from tests.conftest import incident_body

# Handler -> who may use it and what it may hand out. The probes below check each one.
SOCKET_RULES = {
    "connect": "logged-in users only, joined to the rooms of their role and province",
    "replay": "only events addressed to the client's own rooms (never another province's)",
    "disconnect": "sends nothing (the access-log summary of the connection is written)",
}
# name -> the province whose events the user may receive (None: every province).
USERS = {"calltaker": "65", "dispatcher": "65", "supervisor": "65", "team1": "65",
         "caseworker": "65", "cm.dispatcher": "50", "cm.team1": "50", "national": None,
         "admin": None}


@pytest.mark.parametrize("backend", ["sqlite"])
def test_every_socketio_handler_has_an_access_rule(app, backend):
    handlers = {name for namespace in socketio.server.handlers.values() for name in namespace}
    assert handlers, "no Socket.IO handlers found"
    assert handlers - set(SOCKET_RULES) == set(), "handlers without a rule in SOCKET_RULES"


@pytest.mark.parametrize("backend", ["sqlite"])
def test_connect_and_replay_hand_each_user_only_their_provinces_events(app, login_as, backend):
    anonymous = socketio.test_client(app, flask_test_client=app.test_client())
    assert not anonymous.is_connected()  # connect: logged-in users only

    calltaker = login_as("calltaker")
    assert calltaker.post("/api/calls", json=incident_body()).status_code == 201
    chiang_mai = incident_body()
    chiang_mai["incident"]["location"] = {"province_code": "50", "address_text": "เชียงใหม่"}
    assert calltaker.post("/api/calls", json=chiang_mai).status_code == 201
    assert login_as("cm.team1").post("/api/teams/me/sos", json={"note": "SOS"}).status_code == 201

    seen: dict[str, set[str]] = {}
    for name, province in USERS.items():
        sock = socketio.test_client(app, flask_test_client=login_as(name).http)
        assert sock.is_connected(), name
        reply = sock.emit("replay", {"since": 0}, callback=True)
        assert reply["complete"] is True, name
        provinces = set()
        for event in reply["events"]:
            data = event["data"] if isinstance(event.get("data"), dict) else {}
            code = data.get("province_code")
            if code is not None:
                provinces.add(code)
        if province is not None:
            assert provinces <= {province}, f"{name} was handed {provinces}"
        seen[name] = provinces
        sock.disconnect()
        assert not sock.is_connected()
    # The probes saw something: each province's desks got their own incident, national both.
    assert seen["dispatcher"] == {"65"} and seen["cm.dispatcher"] == {"50"}
    assert seen["national"] == {"65", "50"}
