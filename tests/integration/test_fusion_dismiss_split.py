"""Fusion on the desk, the two missing moves (issue 14): a dispatcher or supervisor marks a
suggested pair "not a duplicate" (never suggested again: on the board, on the call-taker's save,
in any process; audited with who, when and the reason; heard live by the desks), and an incident
merged into another is split off again (restored with the reports the merge moved, audited,
heard live, and the pair is then not suggested again). Bad input changes nothing."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from console.models import AuditLog, RealtimeEvent
from dispatch.fusion import FusionSettings, likely_duplicates
from dispatch.models import FusionDismissal, Incident, TimelineEntry
from ess.models import Report
from tests.ess_helpers import PSL, PSL_FAR, PSL_NEAR, make_api_key, report_body
from tests.integration.test_intake_fusion import CM, call, dupes
from tests.integration.test_path_http import counts


def unchanged(session) -> dict:
    """Row counts a refused request must not change (counts() and the dismissals)."""
    found = counts(session)
    found["fusion_dismissal"] = session.scalar(select(func.count()).select_from(FusionDismissal))
    found["report_places"] = sorted(session.execute(select(Report.id, Report.incident_id)).all())
    found["statuses"] = sorted(session.execute(select(Incident.id, Incident.status)).all())
    return found


def events(session, name: str) -> list[dict]:
    session.expire_all()
    return [e.payload["data"] for e in session.scalars(
        select(RealtimeEvent).where(RealtimeEvent.name == name).order_by(RealtimeEvent.seq))]


def pair(calltaker) -> tuple[dict, dict]:
    """Two calls suggested to each other (same place, same category)."""
    first = call(calltaker, number="081-555-1001", at=PSL)
    second = call(calltaker, number="089-555-1002", at=PSL_NEAR)
    assert dupes(calltaker, second["id"]) == {first["id"]: ["same_place", "same_category"]}
    return first, second


def test_not_a_duplicate_is_never_suggested_again_and_is_audited(login_as, session):
    calltaker, dispatcher = login_as("calltaker"), login_as("dispatcher")
    first, second = pair(calltaker)
    board = dispatcher.get("/api/incidents/duplicates").json
    assert str(second["id"]) in board and str(first["id"]) in board

    resp = dispatcher.post(f"/api/incidents/{second['id']}/not-duplicate",
                           json={"other_id": first["id"], "reason": "  คนละครอบครัว  "})
    assert resp.status_code == 200, resp.json
    low, high = sorted((first["id"], second["id"]))
    assert resp.json["incident_ids"] == [low, high] and resp.json["reason"] == "คนละครอบครัว"

    # Not suggested again: the board, the incident page, the call-taker's save.
    assert dispatcher.get("/api/incidents/duplicates").json == {}
    assert dupes(dispatcher, first["id"]) == {} and dupes(calltaker, second["id"]) == {}
    # A third call at the same place is still suggested beside both.
    third = call(calltaker, number="086-555-1003", at=PSL)
    assert set(dupes(calltaker, third["id"])) == {first["id"], second["id"]}
    board = dispatcher.get("/api/incidents/duplicates").json
    assert {d["incident_id"] for d in board[str(first["id"])]} == {third["id"]}

    # Stored once, unordered, with who, when and why; audited; on both timelines.
    session.expire_all()
    row = session.scalar(select(FusionDismissal))
    assert (row.incident_a_id, row.incident_b_id, row.reason, row.via) == (
        low, high, "คนละครอบครัว", "desk")
    assert row.dismissed_by_id is not None and row.dismissed_at is not None
    audit = session.scalar(select(AuditLog).where(AuditLog.action == "incident.not_duplicate"))
    assert audit.actor_id == row.dismissed_by_id and audit.entity_id == low
    assert audit.detail["incident_ids"] == [low, high]
    assert audit.detail["reason"] == "คนละครอบครัว"
    for incident_id, other in ((first["id"], second), (second["id"], first)):
        entry = session.scalar(select(TimelineEntry).where(
            TimelineEntry.incident_id == incident_id, TimelineEntry.kind == "not_duplicate"))
        assert entry.detail["other_id"] == other["id"] and other["ref"] in entry.note
    # The desks of the province hear it after the commit.
    [event] = events(session, "incident.not_duplicate")
    assert event["incident_ids"] == [low, high] and event["province_code"] == "65"
    # The incident page shows it on the timeline.
    page = dispatcher.get(f"/desk/incidents/{first['id']}").get_data(as_text=True)
    assert 'data-kind="not_duplicate"' in page and second["ref"] in page


def test_a_dismissal_holds_in_any_process(app, login_as, session):
    """Another process reads the same table: the suggestion is gone there too."""
    from console.models import User

    calltaker, supervisor = login_as("calltaker"), login_as("supervisor")
    first, second = pair(calltaker)
    resp = supervisor.post(f"/api/incidents/{first['id']}/not-duplicate",
                           json={"other_id": second["id"]})
    assert resp.status_code == 200, resp.json
    other = app.extensions["db_factory"]()  # a fresh session, as another worker has
    try:
        user = other.scalar(select(User).where(User.username == "dispatcher"))
        assert likely_duplicates(session=other, incident_id=first["id"], user=user,
                                 settings=FusionSettings()) == []
    finally:
        other.close()
    session.expire_all()
    assert session.scalar(select(FusionDismissal)).reason == ""


@pytest.mark.parametrize(("who", "status"), [("calltaker", 403), ("team1", 403),
                                              ("caseworker", 403), ("cm.dispatcher", 404)])
def test_only_the_provinces_dispatchers_and_supervisors_dismiss(login_as, session, who, status):
    first, second = pair(login_as("calltaker"))
    client = login_as(who)
    before = unchanged(session)
    resp = client.post(f"/api/incidents/{first['id']}/not-duplicate",
                              json={"other_id": second["id"]})
    assert resp.status_code == status, resp.json
    assert unchanged(session) == before
    assert dupes(login_as("dispatcher"), first["id"]) == {second["id"]:
                                                          ["same_place", "same_category"]}


def test_bad_dismissals_are_refused_clearly_and_change_nothing(login_as, session):
    calltaker, dispatcher, national = (login_as("calltaker"), login_as("dispatcher"),
                                       login_as("national"))
    first, second = pair(calltaker)
    elsewhere = call(national, number="081-555-1001", at=CM)
    closed = call(calltaker, number="081-555-1009", at=PSL)
    assert dispatcher.post(f"/api/incidents/{closed['id']}/cancel",
                           json={"reason": "ไม่พบเหตุ"}).status_code == 200
    url = f"/api/incidents/{first['id']}/not-duplicate"
    before = unchanged(session)
    cases = [
        (dispatcher, url, {"other_id": first["id"]}, 422, "other_id"),
        (dispatcher, url, {"other_id": "2"}, 422, "other_id"),
        (dispatcher, url, {"other_id": 0}, 422, "other_id"),
        (dispatcher, url, {}, 422, "other_id"),
        (dispatcher, url, {"other_id": second["id"], "reason": "x" * 501}, 422, "reason"),
        (dispatcher, url, [second["id"]], 422, None),
        (dispatcher, url, {"other_id": 2**31 - 1}, 422, "other_id"),
        # Chiang Mai's incident: not one the Phitsanulok dispatcher can see.
        (dispatcher, url, {"other_id": elsewhere["id"]}, 422, "other_id"),
        (dispatcher, "/api/incidents/2147483647/not-duplicate", {"other_id": first["id"]},
         404, None),
        (dispatcher, url, {"other_id": closed["id"]}, 409, None),
        # A national user sees both provinces: never suggested across them.
        (national, url, {"other_id": elsewhere["id"]}, 409, None),
    ]
    for client, target, body, status, field in cases:
        resp = client.post(target, json=body)
        assert resp.status_code == status, (body, resp.json)
        assert resp.json["error"], body
        if field:
            assert field in resp.json["fields"], (body, resp.json)
    assert unchanged(session) == before
    # Thai for the demo's officers, and a second dismissal of the same pair is refused.
    resp = dispatcher.post(url, json={"other_id": closed["id"]})
    assert any("\u0e00" <= ch <= "\u0e7f" for ch in resp.json["error"]), resp.json
    assert dispatcher.post(url, json={"other_id": second["id"]}).status_code == 200
    before = unchanged(session)
    again = dispatcher.post(f"/api/incidents/{second['id']}/not-duplicate",
                            json={"other_id": first["id"]})
    assert again.status_code == 409 and first["ref"] in again.json["error"]
    assert unchanged(session) == before


def test_a_split_restores_the_merged_call_and_it_is_not_suggested_again(login_as, session):
    calltaker, dispatcher = login_as("calltaker"), login_as("dispatcher")
    first, second = pair(calltaker)
    assert dispatcher.post(f"/api/incidents/{first['id']}/merge",
                           json={"duplicate_id": second["id"]}).status_code == 200
    session.expire_all()
    audits = session.scalar(select(func.count()).select_from(AuditLog))
    resp = dispatcher.post(f"/api/incidents/{first['id']}/split",
                           json={"merged_id": second["id"], "reason": "คนละคน"})
    assert resp.status_code == 200, resp.json
    assert resp.json["restored"]["id"] == second["id"]
    assert resp.json["restored"]["status"] == "new" and resp.json["kept"]["status"] == "new"
    # Both on the board again, each with its own call; never suggested together again.
    board = {i["id"]: i for i in dispatcher.get("/api/state").json["incidents"]}
    assert second["id"] in board and first["id"] in board
    assert dupes(dispatcher, first["id"]) == {} and dupes(calltaker, second["id"]) == {}
    assert dispatcher.get("/api/incidents/duplicates").json == {}
    session.expire_all()
    restored = session.get(Incident, second["id"])
    assert restored.cancelled_at is None and restored.call_id is not None
    kept = session.get(Incident, first["id"])
    assert kept.timeline[-1].kind == "merge_split"
    assert kept.timeline[-1].detail["merged_from"] == second["id"]
    assert restored.timeline[-1].kind == "restored"
    assert restored.timeline[-1].to_status == "new"
    assert restored.timeline[-1].detail["status_before_merge"] == "new"
    row = session.scalar(select(FusionDismissal))
    assert row.via == "split" and row.reason == "คนละคน"
    actions = set(session.scalars(select(AuditLog.action).order_by(AuditLog.id)
                                  .offset(audits)))
    assert {"incident.merge_split", "incident.restored", "incident.not_duplicate"} <= actions
    [heard] = events(session, "incident.not_duplicate")
    assert heard["incident_ids"] == sorted((first["id"], second["id"]))
    assert heard["via"] == "split"
    updated = [d["id"] for d in events(session, "incident.updated")][-2:]
    assert set(updated) == {first["id"], second["id"]}
    page = dispatcher.get(f"/desk/incidents/{first['id']}").get_data(as_text=True)
    assert 'data-kind="merge_split"' in page
    # The restored incident can be handled again (assigned like any new one).
    team = next(t for t in dispatcher.get("/api/teams").json if t["status"] == "available")
    assert dispatcher.post(f"/api/incidents/{second['id']}/assign",
                           json={"team_id": team["id"]}).status_code == 200


def test_a_split_gives_the_app_reports_back(app, login_as, session, tmp_path):
    """Two app reports 1.7 km apart from the same contact: two incidents; merged, then split:
    each incident has its own report again (the merge recorded which it moved)."""
    app.config["ESS_ATTACHMENT_DIR"] = str(tmp_path / "attachments")
    http, key = app.test_client(), {"X-Api-Key": make_api_key(app)}
    a = http.post("/api/v1/reports", json=report_body(PSL, contact="081 777 0001"), headers=key)
    b = http.post("/api/v1/reports", json=report_body(PSL_FAR, contact="081-777-0001"),
                  headers=key)
    assert a.status_code == b.status_code == 201
    session.expire_all()
    keep_id = session.get(Report, a.json["id"]).incident_id
    dup_id = session.get(Report, b.json["id"]).incident_id
    dispatcher = login_as("dispatcher")
    assert dupes(dispatcher, keep_id) == {dup_id: ["same_caller", "same_category"]}
    assert dispatcher.post(f"/api/incidents/{keep_id}/merge",
                           json={"duplicate_id": dup_id}).status_code == 200
    assert dispatcher.get(f"/api/incidents/{keep_id}/reports").json["report_count"] == 2
    resp = dispatcher.post(f"/api/incidents/{keep_id}/split", json={"merged_id": dup_id})
    assert resp.status_code == 200, resp.json
    session.expire_all()
    assert session.get(Report, b.json["id"]).incident_id == dup_id
    assert session.get(Report, a.json["id"]).incident_id == keep_id
    assert dispatcher.get(f"/api/incidents/{dup_id}/reports").json["report_count"] == 1
    counts_heard = {(e["incident_id"], e["report_count"])
                    for e in events(session, "incident.reports")}
    assert {(keep_id, 1), (dup_id, 1)} <= counts_heard
    assert dupes(dispatcher, keep_id) == {}
    # The reporter's status link follows their own incident again.
    status = http.get(f"/api/v1/reports/{b.json['id']}",
                      headers={**key, "X-Report-Token": b.json["token"]})
    assert status.status_code == 200, status.json
    assert status.json["number"] == session.get(Incident, dup_id).ref


def test_bad_splits_are_refused_clearly_and_change_nothing(login_as, session):
    calltaker, dispatcher = login_as("calltaker"), login_as("dispatcher")
    first, second = pair(calltaker)
    third = call(calltaker, number="086-555-1003", at=PSL_FAR)
    elsewhere = call(login_as("national"), number="081-555-1001", at=CM)
    assert dispatcher.post(f"/api/incidents/{first['id']}/merge",
                           json={"duplicate_id": second["id"]}).status_code == 200
    url = f"/api/incidents/{first['id']}/split"
    cases = [
        (dispatcher, url, {"merged_id": third["id"]}, 409),  # never merged here
        (dispatcher, f"/api/incidents/{second['id']}/split", {"merged_id": first["id"]}, 409),
        (dispatcher, url, {"merged_id": first["id"]}, 422),
        (dispatcher, url, {"merged_id": "x"}, 422),
        (dispatcher, url, {}, 422),
        (dispatcher, url, {"merged_id": second["id"], "reason": "x" * 501}, 422),
        (dispatcher, url, {"merged_id": elsewhere["id"]}, 422),  # another province's
        (dispatcher, "/api/incidents/2147483647/split", {"merged_id": second["id"]}, 404),
        ("cm", url, {"merged_id": second["id"]}, 404),
        (calltaker, url, {"merged_id": second["id"]}, 403),
        ("team", url, {"merged_id": second["id"]}, 403),
    ]
    cm, team = login_as("cm.dispatcher"), login_as("team1")
    before = unchanged(session)
    for client, target, body, status in cases:
        client = cm if client == "cm" else team if client == "team" else client
        resp = client.post(target, json=body)
        assert resp.status_code == status, (target, body, resp.json)
        assert resp.json["error"], body
    assert unchanged(session) == before
    resp = dispatcher.post(url, json={"merged_id": third["id"]})
    assert third["ref"] in resp.json["error"]
    assert any("\u0e00" <= ch <= "\u0e7f" for ch in resp.json["error"]), resp.json

    assert dispatcher.post(url, json={"merged_id": second["id"]}).status_code == 200
    before = unchanged(session)
    again = dispatcher.post(url, json={"merged_id": second["id"]})
    assert again.status_code == 409 and second["ref"] in again.json["error"]
    assert unchanged(session) == before
    # A closed kept incident is not split.
    fourth = call(calltaker, number="081-555-1004", at=PSL_FAR)
    assert dispatcher.post(f"/api/incidents/{third['id']}/merge",
                           json={"duplicate_id": fourth["id"]}).status_code == 200
    assert dispatcher.post(f"/api/incidents/{third['id']}/cancel",
                           json={"reason": "ให้คำปรึกษาแล้ว"}).status_code == 200
    before = unchanged(session)
    closed = dispatcher.post(f"/api/incidents/{third['id']}/split",
                             json={"merged_id": fourth["id"]})
    assert closed.status_code == 409 and third["ref"] in closed.json["error"]
    assert unchanged(session) == before


def test_a_merge_split_and_merged_again_can_be_split_again(login_as, session):
    calltaker, supervisor = login_as("calltaker"), login_as("supervisor")
    first, second = pair(calltaker)
    for _ in range(2):
        assert supervisor.post(f"/api/incidents/{first['id']}/merge",
                               json={"duplicate_id": second["id"]}).status_code == 200
        resp = supervisor.post(f"/api/incidents/{first['id']}/split",
                               json={"merged_id": second["id"]})
        assert resp.status_code == 200, resp.json
    session.expire_all()
    assert session.scalar(select(func.count()).select_from(FusionDismissal)) == 1
    assert session.get(Incident, second["id"]).status.value == "new"


def test_a_merge_recorded_before_the_split_existed_gives_back_what_its_timeline_names(
        app, login_as, session, tmp_path):
    """A merge stored without the list of the reports it moved (before issue 14's split): the
    reports the merged incident's own timeline names (joined to it) go back; the one that
    opened it cannot be told apart and stays, and the split says so."""
    from sqlalchemy.orm.attributes import flag_modified

    app.config["ESS_ATTACHMENT_DIR"] = str(tmp_path / "attachments")
    http, key = app.test_client(), {"X-Api-Key": make_api_key(app)}
    ids = []
    for at in (PSL, PSL_FAR, (PSL_FAR[0] + 0.0005, PSL_FAR[1])):
        resp = http.post("/api/v1/reports", json=report_body(at, contact="081 777 0002"),
                         headers=key)
        assert resp.status_code == 201, resp.json
        ids.append(resp.json["id"])
    session.expire_all()
    keep_id, dup_id = (session.get(Report, i).incident_id for i in ids[:2])
    assert session.get(Report, ids[2]).incident_id == dup_id  # joined by the ESS dedupe
    dispatcher = login_as("dispatcher")
    assert dispatcher.post(f"/api/incidents/{keep_id}/merge",
                           json={"duplicate_id": dup_id}).status_code == 200
    session.expire_all()
    merge = session.get(Incident, keep_id).timeline[-1]
    assert merge.detail["report_ids"] == sorted(ids[1:])
    merge.detail = {k: v for k, v in merge.detail.items() if k != "report_ids"}
    flag_modified(merge, "detail")
    session.commit()
    resp = dispatcher.post(f"/api/incidents/{keep_id}/split", json={"merged_id": dup_id})
    assert resp.status_code == 200, resp.json
    session.expire_all()
    assert session.get(Report, ids[2]).incident_id == dup_id
    assert session.get(Report, ids[1]).incident_id == keep_id
    split = session.get(Incident, keep_id).timeline[-1]
    assert split.kind == "merge_split" and split.detail["reports_recorded"] is False
    assert split.detail["report_ids"] == [ids[2]]


def test_the_same_pair_dismissed_twice_at_once_keeps_one_row(login_as, session, monkeypatch):
    """Two consoles dismiss the same pair at the same moment: the one that read "not yet" and
    wrote second gets nothing (the unique pair refuses it), and writes nothing else."""
    from console.models import User
    from dispatch import fusion

    first, second = pair(login_as("calltaker"))
    assert login_as("dispatcher").post(f"/api/incidents/{first['id']}/not-duplicate",
                                       json={"other_id": second["id"]}).status_code == 200
    session.expire_all()
    user = session.scalar(select(User).where(User.username == "supervisor"))
    a, b = session.get(Incident, first["id"]), session.get(Incident, second["id"])
    before = unchanged(session)
    monkeypatch.setattr(session, "scalar", lambda *args, **kw: None)  # read before the commit
    assert fusion.record_dismissal(session=session, a=a, b=b, by=user) is None
    monkeypatch.undo()
    session.commit()
    assert unchanged(session) == before
