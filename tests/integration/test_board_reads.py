"""The desks' loads on a bad day (issue 14: 1,000 open incidents, hundreds of alarms) read
each kind of row once, not once per item: the alarm banner's incidents, teams and handlers,
and the board's 'same reporter' incidents. What each desk is shown stays the same."""

from __future__ import annotations

import re
from contextlib import contextmanager

from sqlalchemy import event, update
from sqlalchemy.engine import Engine

from dispatch.models import Alarm, Incident
from tests.conftest import incident_body
from tests.integration.test_path_http import team_id


@contextmanager
def statements():
    """Every SQL statement run meanwhile (any engine of this process)."""
    seen: list[str] = []

    def note(conn, cursor, statement, params, context, executemany):
        seen.append(" ".join(statement.split()))

    event.listen(Engine, "before_cursor_execute", note)
    try:
        yield seen
    finally:
        event.remove(Engine, "before_cursor_execute", note)


def reads_of(seen: list[str], table: str) -> int:
    """How many SELECTs load whole rows of `table` (counts and id lists aside)."""
    return sum(1 for s in seen if s.startswith(f"SELECT {table}.id, {table}.")
               and re.search(rf"\bFROM {table}\b(?!_)", s))


def _incidents(login_as, n: int) -> list[dict]:
    calltaker = login_as("calltaker")
    made = []
    for i in range(n):
        body = incident_body(number=f"08{i:08d}", summary=f"น้ำท่วม {i}")
        resp = calltaker.post("/api/calls", json=body)
        assert resp.status_code == 201, resp.json
        made.append(resp.json["incident"])
    return made


def test_the_alarm_banner_reads_its_incidents_and_teams_once(login_as, session):
    made = _incidents(login_as, 4)
    psl1 = team_id(session, "PSL-1")
    for i, inc in enumerate(made):
        session.add(Alarm(kind="unoffered", province_code="65", incident_id=inc["id"],
                          team_id=psl1 if i % 2 else None, note="P1"))
    session.commit()
    dispatcher = login_as("dispatcher")
    with statements() as seen:
        shown = dispatcher.get("/api/alarms").json
    mine = {a["incident_id"]: a for a in shown if a["incident_id"] in {i["id"] for i in made}}
    assert {i: a["incident_ref"] for i, a in mine.items()} == {i["id"]: i["ref"] for i in made}
    names = {t["id"]: t["name"] for t in dispatcher.get("/api/state").json["teams"]}
    assert [mine[i["id"]]["team_name"] for i in made] == [None, names[psl1], None, names[psl1]]
    assert reads_of(seen, "incident") == 1 and reads_of(seen, "team") == 1


def test_the_board_reads_the_same_reporters_incidents_once(login_as, session):
    """Each open incident names its reporter's other incident, here closed (not on the board):
    one read for all of them, not one each."""
    made = _incidents(login_as, 6)
    earlier, board_ones = made[:3], made[3:]
    session.execute(update(Incident).where(Incident.id.in_([i["id"] for i in earlier]))
                    .values(status="resolved"))
    for inc, other in zip(board_ones, earlier, strict=True):
        session.execute(update(Incident).where(Incident.id == inc["id"])
                        .values(same_reporter_id=other["id"]))
    session.commit()
    dispatcher = login_as("dispatcher")
    with statements() as seen:
        state = dispatcher.get("/api/state").json
    board = {i["id"]: i for i in state["incidents"]}
    assert not set(board) & {i["id"] for i in earlier}
    for inc, other in zip(board_ones, earlier, strict=True):
        assert board[inc["id"]]["same_reporter"] == {"incident_id": other["id"],
                                                     "ref": other["ref"]}
    # The open incidents, and the ones their reporters opened before: two reads.
    assert reads_of(seen, "incident") == 2
