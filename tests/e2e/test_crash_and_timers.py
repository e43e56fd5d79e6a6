"""Kill a server mid-dispatch: nothing is lost and the offer's timer still fires exactly once."""

from __future__ import annotations

import signal
import time
import uuid

import pytest
from sqlalchemy import text

from console.db import make_engine
from tests.conftest import incident_body
from tests.e2e.server import server
from tests.e2e.test_two_processes import connect, login

pytestmark = pytest.mark.redis


def test_sigkill_mid_dispatch_loses_nothing_and_the_lapse_fires_once(
    served_db, tmp_path, redis_url
):
    url = served_db
    engine = make_engine(url)
    with engine.begin() as conn:  # the demo's Phitsanulok ladder waits 60 s: use ACK_TIMEOUTS
        conn.execute(text("DELETE FROM escalation_step"))
    engine.dispose()
    env = {"SOCKETIO_MESSAGE_QUEUE": redis_url, "SOCKETIO_CHANNEL": f"crash-{uuid.uuid4().hex}",
           "ACK_TIMEOUTS": "P1=3,P2=3,P3=3,P4=3", "TIMER_POLL_SECONDS": "0.2",
           "AUTO_ESCALATE": "0"}
    with server(url, extra_env=env, log_path=tmp_path / "a.log") as (base_a, proc_a), \
            server(url, extra_env=env, log_path=tmp_path / "b.log") as (base_b, _proc_b):
        dispatcher_http, _ = login(base_b, "dispatcher")
        watcher, got, _ = connect(base_b, dispatcher_http, ["incident.updated", "alarm.changed"])
        calltaker_http, token = login(base_a, "calltaker")
        resp = calltaker_http.post(f"{base_a}/api/calls", json=incident_body(),
                                   headers={"X-CSRFToken": token})
        incident_id = resp.json()["incident"]["id"]
        dispatcher_a, token_a = login(base_a, "dispatcher")
        teams = dispatcher_a.get(f"{base_a}/api/teams").json()
        psl1 = next(t["id"] for t in teams if t["code"] == "PSL-1")
        resp = dispatcher_a.post(f"{base_a}/api/incidents/{incident_id}/assign",
                                 json={"team_id": psl1}, headers={"X-CSRFToken": token_a})
        assert resp.status_code == 200
        proc_a.send_signal(signal.SIGKILL)  # the process that made the offer dies at once
        proc_a.wait(10)

        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if any(e["name"] == "alarm.changed" and e["data"]["kind"] == "offer_lapsed"
                   for e in got):
                break
            time.sleep(0.2)
        time.sleep(1.0)  # give a (wrong) second firing the chance to show itself
        watcher.disconnect()

    engine = make_engine(url)
    with engine.connect() as conn:
        status = conn.execute(text("SELECT status FROM incident WHERE id = :i"),
                              {"i": incident_id}).scalar()
        alarms = conn.execute(text("SELECT count(*) FROM alarm WHERE kind = 'offer_lapsed'")
                              ).scalar()
        timers = conn.execute(text("SELECT outcome FROM timer")).scalars().all()
        lapses = conn.execute(text(
            "SELECT count(*) FROM incident_timeline WHERE kind = 'offer_lapsed'")).scalar()
    engine.dispose()
    assert status == "new"  # the offer lapsed: the incident waits for a team again
    assert (alarms, lapses, timers) == (1, 1, ["fired"])
    lapsed = [e for e in got if e["name"] == "alarm.changed"]
    # Heard on the survivor: the lapse, then the default ladder's next rung (no second team
    # with AUTO_ESCALATE=0): the supervisors.
    assert [e["data"]["kind"] for e in lapsed] == ["offer_lapsed", "escalated"]
