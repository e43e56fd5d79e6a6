"""Caseload hand-over between case workers with the receiver's acceptance, and the gaps of
province transfers (withdraw, owners of open work, the new district, the old page told), issue
13. Runs on SQLite and, with DATABASE_URL, PostgreSQL."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select

from cases import handovers
from cases.enums import ActionStatus, Domain, FollowUpKind, PlanPhase
from cases.models import Case, CaseHandover, FollowUp, PlanAction
from console.enums import Role
from console.errors import Conflict
from console.models import AuditLog, RealtimeEvent, User


@pytest.fixture
def app(app, session, demo_hash):
    """A second Phitsanulok (65) case worker and Chiang Mai (50) case worker and supervisor."""
    for username, role, province in (("caseworker2", Role.CASE_WORKER, "65"),
                                     ("cm.caseworker", Role.CASE_WORKER, "50"),
                                     ("cm.supervisor", Role.SUPERVISOR, "50")):
        session.add(User(username=username, display_name=username, password_hash=demo_hash,
                         role=role, province_code=province, demo=True))
    session.commit()
    return app


def uid(session, username: str) -> int:
    return session.scalar(select(User.id).where(User.username == username))


def my_case(client, session, username="caseworker") -> dict:
    resp = client.post("/api/cases", json={"source": "walk_in", "category": "elderly",
                                           "summary": "ยายอยู่ลำพัง", "district_code": "6501"})
    assert resp.status_code == 201, resp.json
    took = client.post(f"/api/cases/{resp.json['id']}/assign",
                       json={"user_id": uid(session, username)})
    assert took.status_code == 200, took.json
    return took.json


def events_named(session, name: str) -> list[RealtimeEvent]:
    return list(session.scalars(select(RealtimeEvent).where(RealtimeEvent.name == name)
                                .order_by(RealtimeEvent.seq)))


def test_offer_accept_decline_withdraw_and_bad_input(app, login_as, session):
    worker, other, sup = (login_as(u) for u in ("caseworker", "caseworker2", "supervisor"))
    cm = login_as("cm.caseworker")
    case = my_case(worker, session)
    url = f"/api/cases/{case['id']}/handover"
    to = uid(session, "caseworker2")
    # Bad input changes nothing: no note, oneself, a worker of another province, not a number.
    for body, field in (({"to_user_id": to, "note": "  "}, "note"),
                        ({"to_user_id": uid(session, "caseworker"), "note": "x"}, "to_user_id"),
                        ({"to_user_id": uid(session, "cm.caseworker"), "note": "x"},
                         "to_user_id"),
                        ({"to_user_id": uid(session, "supervisor"), "note": "x"}, "to_user_id"),
                        ({"to_user_id": "abc", "note": "x"}, "to_user_id")):
        bad = worker.post(url, json=body)
        assert bad.status_code == 422 and field in bad.json["fields"], (body, bad.json)
    thai = worker.post(url, json={"to_user_id": to, "note": ""}).json["fields"]["note"]
    assert "กรุณา" in thai
    assert other.post(url, json={"to_user_id": to, "note": "x"}).status_code == 403  # not theirs
    assert cm.post(url, json={"to_user_id": to, "note": "x"}).status_code == 404
    assert login_as("dispatcher").post(url, json={"to_user_id": to, "note": "x"}
                                       ).status_code == 403
    session.expire_all()
    assert session.scalar(select(func.count()).select_from(CaseHandover)) == 0

    offered = worker.post(url, json={"to_user_id": to, "note": "ลาคลอด ฝากดูแลต่อ"})
    assert offered.status_code == 201, offered.json
    h = offered.json
    assert h["status"] == "pending" and h["to_name"] == "caseworker2" and h["from_user_id"]
    assert worker.post(url, json={"to_user_id": to, "note": "x"}).status_code == 409
    # Both see it pending: the case row carries who it waits for; the receiver's list has it.
    mine = worker.get("/api/cases?view=mine").json["items"]
    assert [c["handover_to_id"] for c in mine if c["id"] == case["id"]] == [to]
    assert [x["id"] for x in other.get("/api/cases/handovers").json["to_me"]] == [h["id"]]
    assert [x["id"] for x in worker.get("/api/cases/handovers").json["by_me"]] == [h["id"]]
    assert worker.get("/api/cases/handovers").json["to_me"] == []
    desk = other.get("/desk/cases").get_data(as_text=True)
    assert f'data-testid="handover-accept-{h["id"]}"' in desk
    assert f'data-testid="handover-badge-{case["id"]}"' in worker.get(
        "/desk/cases").get_data(as_text=True)
    [event] = events_named(session, "case.handover")
    assert set(event.rooms) == {"cases:national", "cases:65"}
    assert event.payload["data"]["status"] == "pending"

    # Only the receiver answers; a decline needs a reason.
    answer = f"/api/cases/handovers/{h['id']}"
    assert sup.post(f"{answer}/accept", json={}).status_code == 403
    assert worker.post(f"{answer}/accept", json={}).status_code == 403
    assert cm.post(f"{answer}/accept", json={}).status_code == 404
    assert other.post(f"{answer}/decline", json={"reason": " "}).status_code == 422
    declined = other.post(f"{answer}/decline", json={"reason": "งานเต็มมือ"})
    assert declined.status_code == 200 and declined.json["status"] == "declined"
    late = other.post(f"{answer}/accept", json={})
    assert late.status_code == 409 and "ปฏิเสธ" in late.json["error"], late.json
    session.expire_all()
    row = session.get(Case, case["id"])
    assert row.assigned_to_id == uid(session, "caseworker") and row.handover_to_id is None
    assert row.timeline[-1].kind == "handover_declined"
    assert row.timeline[-1].note == "งานเต็มมือ"

    # Offered again, withdrawn by whoever offered it: the receiver can no longer accept.
    again = worker.post(url, json={"to_user_id": to, "note": "ขอฝากอีกครั้ง"}).json
    assert other.post(f"/api/cases/handovers/{again['id']}/withdraw", json={}
                      ).status_code == 403
    assert worker.post(f"/api/cases/handovers/{again['id']}/withdraw", json={}
                       ).status_code == 200
    gone = other.post(f"/api/cases/handovers/{again['id']}/accept", json={})
    assert gone.status_code == 409 and "ถอน" in gone.json["error"]

    # Offered a third time and accepted: the receiver becomes the case's worker.
    third = worker.post(url, json={"to_user_id": to, "note": "ฝากดูแล"}).json
    accepted = other.post(f"/api/cases/handovers/{third['id']}/accept",
                          json={"version": third["version"]})
    assert accepted.status_code == 200, accepted.json
    session.expire_all()
    row = session.get(Case, case["id"])
    assert row.assigned_to_id == to and row.handover_to_id is None
    assert [e.kind for e in row.timeline[-2:]] == ["handover_offered", "handover_accepted"]
    assert session.scalar(select(func.count()).select_from(AuditLog).where(
        AuditLog.action == "case.handover_accepted")) == 1
    last = events_named(session, "case.updated")[-1]
    assert last.payload["data"]["assigned_to_id"] == to
    assert other.get("/api/cases/handovers").json["to_me"] == []
    page = other.get(f"/desk/cases/{case['id']}").get_data(as_text=True)
    assert "รับมอบเคสแล้ว" in page  # the timeline's labels, in Thai

    # A supervisor still gives a case directly; a pending offer then ends as withdrawn.
    fourth = other.post(url, json={"to_user_id": uid(session, "caseworker"), "note": "คืน"}).json
    assert sup.post(f"/api/cases/{case['id']}/assign",
                    json={"user_id": uid(session, "caseworker")}).status_code == 200
    session.expire_all()
    assert session.get(CaseHandover, fourth["id"]).status.value == "withdrawn"
    assert session.get(Case, case["id"]).handover_to_id is None


def test_two_answers_at_once_one_wins_the_other_is_told(app, login_as, session):
    worker = login_as("caseworker")
    case = my_case(worker, session)
    h = worker.post(f"/api/cases/{case['id']}/handover",
                    json={"to_user_id": uid(session, "caseworker2"), "note": "ฝาก"}).json
    factory = app.extensions["db_factory"]
    first, second = factory(), factory()
    try:
        receiver = first.scalar(select(User).where(User.username == "caseworker2"))
        offerer = second.scalar(select(User).where(User.username == "caseworker"))
        for s in (first, second):  # both screens read the pending offer
            assert s.get(CaseHandover, h["id"]).status.value == "pending"
        handovers.answer(session=first, handover_id=h["id"], accept=True, reason="",
                         by=receiver)
        first.commit()
        with pytest.raises(Conflict):
            handovers.withdraw(session=second, handover_id=h["id"], by=offerer)
        second.rollback()
    finally:
        first.close()
        second.close()
    session.expire_all()
    assert session.get(CaseHandover, h["id"]).status.value == "accepted"
    assert session.get(Case, case["id"]).assigned_to_id == uid(session, "caseworker2")
    assert session.scalar(select(func.count()).select_from(AuditLog).where(
        AuditLog.action.in_(("case.handover_accepted", "case.handover_withdrawn")))) == 1


def test_transfer_withdraw_frees_old_owners_and_the_new_province_sets_the_place(
        app, login_as, session):
    worker, other, cm = (login_as(u) for u in ("caseworker", "caseworker2", "cm.caseworker"))
    case = my_case(worker, session)
    url = f"/api/cases/{case['id']}/transfer"
    proposed = worker.post(url, json={"to_province": "50", "reason": "ย้ายไปอยู่กับลูก"}).json
    # Withdrawn by whoever proposed it (not by the receiving province): the case stays.
    withdraw = f"/api/cases/transfers/{proposed['id']}/withdraw"
    assert cm.post(withdraw, json={}).status_code == 404
    assert other.post(withdraw, json={}).status_code == 403
    done = worker.post(withdraw, json={})
    assert done.status_code == 200 and done.json["status"] == "withdrawn"
    late = cm.post(f"/api/cases/transfers/{proposed['id']}/accept", json={})
    assert late.status_code == 409 and "ถอน" in late.json["error"]
    assert worker.post(withdraw, json={}).status_code == 409
    session.expire_all()
    row = session.get(Case, case["id"])
    assert row.province_code == "65" and row.transfer_to_province is None
    assert row.timeline[-1].kind == "transfer_withdrawn"
    assert cm.get("/api/cases/transfers").json["items"] == []

    # Open work held by Phitsanulok workers; done work and a Chiang Mai owner stay as they are.
    me, cm_id = uid(session, "caseworker"), uid(session, "cm.caseworker")
    rows = [PlanAction(case_id=case["id"], phase=PlanPhase.URGENT, domain=Domain.SAFETY,
                       title="เยี่ยมบ้าน", owner_user_id=me, due_on=date(2026, 12, 9),
                       status=ActionStatus.PLANNED),
            PlanAction(case_id=case["id"], phase=PlanPhase.URGENT, domain=Domain.HEALTH,
                       title="พาไปโรงพยาบาล", owner_user_id=me, due_on=date(2026, 12, 1),
                       status=ActionStatus.DONE),
            PlanAction(case_id=case["id"], phase=PlanPhase.MEDIUM, domain=Domain.HEALTH,
                       title="ประสานเชียงใหม่", owner_user_id=cm_id, due_on=date(2026, 12, 9),
                       status=ActionStatus.IN_PROGRESS),
            FollowUp(case_id=case["id"], kind=FollowUpKind.CALL, due_on=date(2026, 12, 15),
                     assigned_to_id=me, purpose="โทรถามอาการ")]
    session.add_all(rows)
    session.commit()
    # A hand-over waiting when the case leaves the province ends with it.
    h = worker.post(f"/api/cases/{case['id']}/handover",
                    json={"to_user_id": uid(session, "caseworker2"), "note": "ฝาก"}).json
    again = worker.post(url, json={"to_province": "50", "reason": "ย้ายจริง"}).json
    page = worker.get(f"/desk/cases/{case['id']}").get_data(as_text=True)
    assert 'data-testid="transfer-withdraw"' in page and 'data-testid="handover-pending"' in page
    assert 'data-testid="case-left-province"' in page and "ไม่อยู่ในจังหวัดของท่าน" in page
    assert cm.post(f"/api/cases/transfers/{again['id']}/accept", json={}).status_code == 200
    session.expire_all()
    open_action, done_action, cm_action, follow_up = (session.get(type(r), r.id) for r in rows)
    assert open_action.owner_user_id is None and follow_up.assigned_to_id is None
    assert done_action.owner_user_id == me and cm_action.owner_user_id == cm_id
    row = session.get(Case, case["id"])
    assert session.get(CaseHandover, h["id"]).status.value == "withdrawn"
    assert row.handover_to_id is None
    freed = row.timeline[-1]
    assert freed.kind == "transfer_unassigned" and "เยี่ยมบ้าน" in freed.note
    assert "โทรถามอาการ" in freed.note and "ประสานเชียงใหม่" not in freed.note
    assert freed.detail == {"actions": [open_action.id], "follow_ups": [follow_up.id]}
    # The old province's open page hears that the case left (the transfer event reaches it).
    accepted = events_named(session, "case.transfer")[-1]
    assert accepted.payload["data"]["status"] == "accepted"
    assert "cases:65" in accepted.rooms and accepted.payload["data"]["case_id"] == case["id"]

    # The receiving worker sets the district and subdistrict, from the new province only.
    place = f"/api/cases/{case['id']}/place"
    assert 'data-testid="place-form"' in cm.get(f"/desk/cases/{case['id']}").get_data(
        as_text=True)
    assert worker.put(place, json={"district_code": "5001"}).status_code == 404
    for body, field in (({"district_code": "6501"}, "district_code"),
                        ({"district_code": "5001", "subdistrict_code": "650101"},
                         "subdistrict_code"),
                        ({"subdistrict_code": "500101"}, "subdistrict_code")):
        bad = cm.put(place, json=body)
        assert bad.status_code == 422 and field in bad.json["fields"], (body, bad.json)
    session.expire_all()
    assert session.get(Case, case["id"]).district_code is None
    ok = cm.put(place, json={"district_code": "5001", "subdistrict_code": "500101"})
    assert ok.status_code == 200, ok.json
    assert ok.json["place"]["district_th"] == "เมืองเชียงใหม่"
    session.expire_all()
    row = session.get(Case, case["id"])
    assert (row.district_code, row.subdistrict_code) == ("5001", "500101")
    assert row.timeline[-1].kind == "place_set"
    assert session.scalar(select(func.count()).select_from(AuditLog).where(
        AuditLog.action == "case.place_set")) == 1


def test_pdpa_export_and_erasure_follow_merged_persons(app, login_as, session):
    """A request for the kept person carries the tombstone's record and the rows the merge
    moved (another spelling, no ID); erasure covers both."""
    import json

    from cases.enums import CaseStatus
    from cases.models import CasePerson, Person
    from tests.unit.test_case_rules import with_check_digit

    nid = with_check_digit("310050012345")
    worker, sup = login_as("caseworker"), login_as("supervisor")
    ids = []
    for person in ({"full_name": "นายสมชาย ใจดี", "national_id": nid},
                   {"full_name": "สมชาย ใจดีย์", "no_id_reason": "not_given",
                    "phone": "0891234567"}):
        resp = worker.post("/api/cases", json={"source": "walk_in", "category": "elderly",
                                               "summary": "ผู้สูงอายุ", "client": person})
        assert resp.status_code == 201, resp.json
        ids.append(resp.json["id"])
    keep, gone = (session.scalar(select(CasePerson).where(CasePerson.case_id == i))
                  for i in ids)
    assert worker.post("/api/cases/persons/merge", json={
        "keep_person_id": keep.person_id, "merge_person_id": gone.person_id,
        "reason": "สมชาย ใจดีย์ คือคนเดียวกัน"}).status_code == 200
    body = json.loads(sup.get("/desk/pdpa/export", query_string={"national_id": nid}).data)
    assert {p["id"] for p in body["case_persons"]} == {keep.id, gone.id}
    assert "+66891234567" in {p["phone"] for p in body["case_persons"]}
    tomb = next(p for p in body["persons"] if p["merged_into_id"] == keep.person_id)
    assert tomb["merged_case_persons"] == [gone.id] and "ใจดีย์" in tomb["merge_reason"]
    assert {c["id"] for c in body["cases"]} == set(ids)
    # Asked for by the phone only the merged-in row had: the kept person's rows come too.
    by_phone = json.loads(sup.get("/desk/pdpa/export", query_string={"phone": "0891234567"}).data)
    assert {p["id"] for p in by_phone["case_persons"]} == {keep.id, gone.id}
    assert len(by_phone["persons"]) == 2

    session.execute(Case.__table__.update().where(Case.id.in_(ids)).values(
        status=CaseStatus.CLOSED.value))
    session.commit()
    done = sup.post("/desk/pdpa/erase", json={"person_id": keep.id, "reason": "คำขอเจ้าของ",
                                              "confirm": True})
    assert done.status_code == 200, done.json
    assert done.json["erased"]["case_person"] == 2 and done.json["erased"]["person"] == 2
    session.expire_all()
    for row in (session.get(CasePerson, keep.id), session.get(CasePerson, gone.id)):
        assert row.national_id is None and row.phone is None and row.name_key is None
        assert "สมชาย" not in row.full_name
    assert "ใจดีย์" not in session.get(Person, gone.person_id).merge_reason
