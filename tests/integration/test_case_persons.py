"""The people of cases across cases (issue 13): possible duplicates when a person is entered
(same national ID; a name that sounds the same in Thai with the same birth year or district),
the merge that keeps both histories, and the transfer of a case between provinces."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from cases import transfers
from cases.models import Case, CasePerson, CaseTransfer, Person
from console.enums import Role
from console.errors import Conflict
from console.models import AuditLog, RealtimeEvent, User
from tests.unit.test_case_rules import with_check_digit

NID = with_check_digit("310050012345")
OTHER_NID = with_check_digit("110050099999")


@pytest.fixture
def app(app, session, demo_hash):
    """The app with a Chiang Mai (50) case worker and supervisor besides the demo's."""
    for username, role in (("cm.caseworker", Role.CASE_WORKER), ("cm.supervisor",
                                                                  Role.SUPERVISOR)):
        session.add(User(username=username, display_name=username, password_hash=demo_hash,
                         role=role, province_code="50", demo=True))
    session.commit()
    return app


def new_case(client, client_person: dict | None = None, summary="ยายอยู่ลำพัง",
             district: str | None = "6501") -> dict:
    body = {"source": "walk_in", "category": "elderly", "summary": summary,
            "district_code": district}
    if client_person is not None:
        body["client"] = client_person
    resp = client.post("/api/cases", json=body)
    assert resp.status_code == 201, resp.json
    return resp.json


def client_row(session, case_id: int) -> CasePerson:
    session.expire_all()
    return session.scalar(select(CasePerson).where(CasePerson.case_id == case_id))


def check(client, case_id: int, **body) -> list[dict]:
    resp = client.post(f"/api/cases/{case_id}/people/duplicates", json=body)
    assert resp.status_code == 200, resp.json
    return resp.json["candidates"]


def test_duplicates_by_id_or_thai_sound_with_birth_year_or_district(login_as, session):
    worker = login_as("caseworker")
    first = new_case(worker, {"full_name": "นางสาวมาลี ใจงาม", "national_id": NID,
                              "birth_date": "12/05/2530", "district_code": "6501"})
    second = new_case(worker, summary="เด็กไม่ไปโรงเรียน")
    row = client_row(session, first["id"])
    assert row.name_key and row.person_id is not None

    [same_id] = check(worker, second["id"], full_name="สมศรี", national_id=NID)
    assert same_id["reasons"] == ["same_national_id"] and same_id["person_id"] == row.person_id
    assert NID not in str(same_id) and same_id["national_id_masked"].endswith(NID[-1])
    assert [c["ref"] for c in same_id["cases"]] == [first["ref"]]
    # Spelled otherwise, sounding the same (มาลีย์ / มาลี), born the same year, another day.
    [sounds] = check(worker, second["id"], full_name="มาลีย์ ใจงาม", birth_date="01/01/2530")
    assert sounds["reasons"] == ["similar_name", "same_birth_year", "same_district"]
    # The same sound, another year, but the same district (the case's): still shown.
    [area] = check(worker, second["id"], full_name="มาลี ใจงาม", birth_date="01/01/2545")
    assert area["reasons"] == ["same_name", "same_district"]
    # Another district and another year: a namesake, not shown; another ID: never the same.
    assert check(worker, second["id"], full_name="มาลี ใจงาม", birth_date="01/01/2545",
                 district_code="6502") == []
    assert check(worker, second["id"], full_name="มาลี ใจงาม", national_id=OTHER_NID) == []
    # Chiang Mai sees no Phitsanulok person; half-typed input is no error.
    cm = login_as("cm.caseworker")
    cm_case = new_case(cm, district=None)
    assert check(cm, cm_case["id"], full_name="มาลี ใจงาม", national_id=NID) == []
    assert check(worker, second["id"], full_name="", national_id="12345") == []
    assert cm.post(f"/api/cases/{second['id']}/people/duplicates",
                   json={"full_name": "มาลี"}).status_code == 404
    reads = session.scalars(select(AuditLog).where(
        AuditLog.action == "read.person_duplicates")).all()
    assert any(f" case_person:{row.id} " in (r.subjects or "") for r in reads)

    # Entered on the second case: its page lists the other record with the reasons.
    added = worker.post(f"/api/cases/{second['id']}/people", json={
        "role": "client", "full_name": "น.ส.มาลีย์ ใจงาม", "national_id": NID})
    assert added.status_code == 201
    page = worker.get(f"/desk/cases/{second['id']}").get_data(as_text=True)
    assert 'data-testid="duplicates"' in page and first["ref"] in page
    assert "เลขประจำตัวประชาชนเดียวกัน" in page and NID not in page


def test_merge_keeps_both_histories_and_refuses_what_cannot_be_the_same_person(
        login_as, session):
    worker = login_as("caseworker")
    one = new_case(worker, {"full_name": "นายสมชาย ใจดี", "national_id": NID})
    two = new_case(worker, {"full_name": "สมชาย ใจดี", "no_id_reason": "not_given",
                            "birth_date": "01/01/2500"})
    three = new_case(worker, {"full_name": "สมชาย ใจดี", "national_id": OTHER_NID})
    keep, gone, other = ((r.id, r.person_id) for r in (
        client_row(session, c["id"]) for c in (one, two, three)))
    url = "/api/cases/persons/merge"
    body = {"keep_person_id": keep[1], "merge_person_id": gone[1],
            "reason": "ตรวจบัตรประชาชนแล้ว"}

    itself = worker.post(url, json=body | {"merge_person_id": keep[1]})
    assert itself.status_code == 422 and "merge_person_id" in itself.json["fields"]
    unknown = worker.post(url, json=body | {"merge_person_id": 999999})
    assert unknown.status_code == 404 and "ไม่พบ" in unknown.json["error"]
    conflict = worker.post(url, json=body | {"merge_person_id": other[1]})
    assert conflict.status_code == 409 and "เลขประจำตัวประชาชน" in conflict.json["error"]
    assert worker.post(url, json=body | {"reason": " "}).status_code == 422
    assert login_as("cm.caseworker").post(url, json=body).status_code == 404  # not its province
    assert login_as("dispatcher").post(url, json=body).status_code == 403
    session.expire_all()
    assert session.get(Person, gone[1]).merged_into_id is None  # nothing changed

    merged = worker.post(url, json=body)
    assert merged.status_code == 200, merged.json
    session.expire_all()
    tomb = session.get(Person, gone[1])
    assert tomb.merged_into_id == keep[1] and tomb.merge_reason == "ตรวจบัตรประชาชนแล้ว"
    assert tomb.merged_by_id is not None and tomb.merged_at is not None
    assert tomb.merged_rows == [gone[0]]
    # Both rows stay, each with its own case's history, now one person.
    rows = session.scalars(select(CasePerson).where(CasePerson.person_id == keep[1])).all()
    assert {r.case_id for r in rows} == {one["id"], two["id"]}
    assert session.get(CasePerson, gone[0]).birth_date is not None
    for case_id in (one["id"], two["id"]):
        case = session.get(Case, case_id)
        assert case.timeline[-1].kind == "person_merged"
        assert case.timeline[-1].note == "ตรวจบัตรประชาชนแล้ว"
    audit = session.scalars(select(AuditLog.action).where(
        AuditLog.action.in_(("person.merged", "case.person_merged")))).all()
    assert sorted(audit) == ["case.person_merged", "case.person_merged", "person.merged"]
    again = worker.post(url, json=body)
    assert again.status_code == 409  # the tombstone cannot be merged twice
    # Duplicates now skip the person's own rows.
    page = worker.get(f"/desk/cases/{one['id']}").get_data(as_text=True)
    assert f'data-merge="{gone[1]}"' not in page


def test_transfer_between_provinces_accepted_once_or_declined(app, login_as, session):
    worker, cm, cm_sup = (login_as(u) for u in ("caseworker", "cm.caseworker",
                                                 "cm.supervisor"))
    case = new_case(worker, {"full_name": "นางมาลี", "no_id_reason": "not_given"})
    url = f"/api/cases/{case['id']}/transfer"
    own = worker.post(url, json={"to_province": "65", "reason": "ย้าย"})
    assert own.status_code == 422 and "to_province" in own.json["fields"]
    assert worker.post(url, json={"to_province": "6501", "reason": "x"}).status_code == 422
    assert worker.post(url, json={"to_province": "50"}).status_code == 422  # the reason
    assert login_as("dispatcher").post(url, json={"to_province": "50",
                                                  "reason": "x"}).status_code == 403
    proposed = worker.post(url, json={"to_province": "50", "reason": "ย้ายไปอยู่กับลูกที่เชียงใหม่"})
    assert proposed.status_code == 201, proposed.json
    transfer_id = proposed.json["id"]
    assert worker.post(url, json={"to_province": "50", "reason": "x"}).status_code == 409
    session.expire_all()
    row = session.get(Case, case["id"])
    assert row.transfer_to_province == "50" and row.province_code == "65"
    assert row.timeline[-1].kind == "transfer_proposed"
    [event] = session.scalars(select(RealtimeEvent).where(
        RealtimeEvent.name == "case.transfer")).all()
    assert set(event.rooms) == {"cases:national", "cases:65", "cases:50"}
    assert event.payload["data"]["status"] == "pending"
    assert "people" not in event.payload["data"]
    listed = worker.get("/desk/cases").get_data(as_text=True)
    assert f'data-testid="transfer-badge-{case["id"]}"' in listed

    # Chiang Mai sees it waiting; Phitsanulok cannot answer its own proposal.
    assert [t["case_ref"] for t in cm.get("/api/cases/transfers").json["items"]] == [case["ref"]]
    assert worker.get("/api/cases/transfers").json["items"] == []
    assert cm.get(f"/desk/cases/{case['id']}").status_code == 404  # not readable before
    answer = f"/api/cases/transfers/{transfer_id}"
    assert worker.post(f"{answer}/accept", json={}).status_code == 404
    unknown = cm.post("/api/cases/transfers/999999/accept", json={})
    assert unknown.status_code == 404 and "โอน" in unknown.json["error"]
    assert cm.post(f"{answer}/decline", json={"reason": ""}).status_code == 422
    accepted = cm.post(f"{answer}/accept", json={"version": proposed.json["version"]})
    assert accepted.status_code == 200, accepted.json
    late = cm_sup.post(f"{answer}/accept", json={})
    assert late.status_code == 409 and "รับ" in late.json["error"]
    session.expire_all()
    row = session.get(Case, case["id"])
    assert row.province_code == "50" and row.assigned_to_id is None
    assert row.transfer_to_province is None and row.district_code is None
    assert [e.kind for e in row.timeline[-2:]] == ["transfer_proposed", "transfer_accepted"]
    queue = cm.get("/api/cases?view=unassigned").json["items"]
    assert case["id"] in [c["id"] for c in queue]
    assert worker.get(f"/desk/cases/{case['id']}").status_code == 404  # gone from Phitsanulok
    updates = session.scalars(select(RealtimeEvent).where(
        RealtimeEvent.name == "case.updated").order_by(RealtimeEvent.seq)).all()
    assert set(updates[-1].rooms) == {"cases:national", "cases:50"}

    # Declined: the case stays, with the reason on its timeline.
    back = cm.post(f"/api/cases/{case['id']}/transfer", json={"to_province": "65",
                                                               "reason": "กลับภูมิลำเนา"})
    assert back.status_code == 201
    declined = worker.post(f"/api/cases/transfers/{back.json['id']}/decline",
                           json={"reason": "ไม่พบที่อยู่ในพิษณุโลก"})
    assert declined.status_code == 200 and declined.json["status"] == "declined"
    assert worker.post(f"/api/cases/transfers/{back.json['id']}/accept",
                       json={}).status_code == 409
    session.expire_all()
    row = session.get(Case, case["id"])
    assert row.province_code == "50" and row.transfer_to_province is None
    assert row.timeline[-1].note == "ไม่พบที่อยู่ในพิษณุโลก"
    page = cm.get(f"/desk/cases/{case['id']}").get_data(as_text=True)
    assert "(พิษณุโลก → เชียงใหม่)" in page and "(เชียงใหม่ → พิษณุโลก)" in page


def test_two_accepting_at_once_one_wins_the_other_is_told(app, login_as, session):
    worker = login_as("caseworker")
    case = new_case(worker)
    proposed = worker.post(f"/api/cases/{case['id']}/transfer",
                           json={"to_province": "50", "reason": "ย้ายบ้าน"})
    assert proposed.status_code == 201
    factory = app.extensions["db_factory"]
    first, second = factory(), factory()
    try:
        users = [s.scalar(select(User).where(User.username == name))
                 for s, name in ((first, "cm.caseworker"), (second, "cm.supervisor"))]
        for s in (first, second):  # both screens read the pending transfer
            assert s.get(CaseTransfer, proposed.json["id"]).status.value == "pending"
        transfers.answer(session=first, transfer_id=proposed.json["id"], accept=True,
                         reason="", by=users[0])
        first.commit()
        with pytest.raises(Conflict):
            transfers.answer(session=second, transfer_id=proposed.json["id"], accept=True,
                             reason="", by=users[1])
        second.rollback()
    finally:
        first.close()
        second.close()
    session.expire_all()
    done = session.get(CaseTransfer, proposed.json["id"])
    assert done.status.value == "accepted" and done.answered_by_id == users[0].id
    assert session.scalar(select(func.count()).select_from(AuditLog).where(
        AuditLog.action == "case.transfer_accepted")) == 1


def test_national_ids_are_masked_in_lists_and_each_reveal_is_logged_by_person(
        login_as, session):
    worker = login_as("caseworker")
    dashed = f"{NID[0]}-{NID[1:5]}-{NID[5:10]}-{NID[10:12]}-{NID[12]}"
    case = new_case(worker, {"full_name": "นางมาลี ใจงาม", "national_id": NID},
                    summary=f"ผู้ขอรับบริการ เลขบัตร {dashed} อยู่ลำพัง")
    assert NID not in str(case) and dashed not in str(case)
    listed = worker.get("/api/cases").json["items"]
    assert NID not in str(listed) and dashed not in str(listed)
    proposed = worker.post(f"/api/cases/{case['id']}/transfer",
                           json={"to_province": "50", "reason": f"ย้ายตามบัตร {NID}"})
    cm = login_as("cm.caseworker")
    incoming = cm.get("/api/cases/transfers").json["items"]
    assert NID not in str(proposed.json) and NID not in str(incoming)
    assert dashed not in cm.get("/desk/cases").get_data(as_text=True)
    person = client_row(session, case["id"]).id
    url = f"/api/cases/{case['id']}/people/{person}/national-id"
    assert cm.post(url).status_code == 404
    assert worker.post(url).json == {"national_id": NID}
    [reveal] = session.scalars(select(AuditLog).where(
        AuditLog.action == "case.national_id_revealed")).all()
    assert reveal.subjects == f" case_person:{person} " and reveal.entity_id == case["id"]
