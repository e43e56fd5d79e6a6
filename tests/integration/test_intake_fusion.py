"""Every intake source and fusion on the desk (issue 14): the call-taker's form records where a
matter came from (walk-in, letter, Damrongdhama Centre, news item with its link, another agency,
อพม. volunteer) and refuses bad input field by field; likely duplicates are suggested (same
caller number, same place within the dedupe distance and time window, same category), never
across provinces, and merged from the desk."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import update

from dispatch.enums import Category, Precision
from dispatch.fusion import FusionSettings, Row, pairs
from dispatch.models import Incident
from tests.conftest import incident_body
from tests.ess_helpers import PSL, PSL_FAR, PSL_NEAR
from tests.integration.test_path_http import counts

CM = (18.7883, 98.9853)


def call(http, *, number="081-234-5678", at=PSL, category="homeless", **over) -> dict:
    body = incident_body(number=number, **over)
    body["incident"]["category"] = category
    body["incident"]["location"] = {"lat": at[0], "lon": at[1]}
    resp = http.post("/api/calls", json=body)
    assert resp.status_code == 201, resp.json
    return resp.json["incident"]


def dupes(http, incident_id: int) -> dict[int, list[str]]:
    resp = http.get(f"/api/incidents/{incident_id}/duplicates")
    assert resp.status_code == 200, resp.json
    return {d["incident_id"]: d["reasons"] for d in resp.json["duplicates"]}


SOURCES = [
    ("walk_in", {}),
    ("letter", {"source_org": "ผู้ใหญ่บ้านหมู่ 4"}),
    ("damrongdhama", {"source_org": "ศูนย์ดำรงธรรมจังหวัดพิษณุโลก"}),
    ("surveillance", {"source_link": "https://www.facebook.com/news/posts/123"}),
    ("agency", {"source_org": "โรงพยาบาลพุทธชินราช"}),
    ("volunteer", {"source_org": "อพม. สมศรี"}),
]


@pytest.mark.parametrize(("source", "extra"), SOURCES)
def test_each_intake_source_is_recorded_on_the_incident_and_shown(login_as, source, extra):
    calltaker = login_as("calltaker")
    incident = call(calltaker, source=source, **extra)
    assert incident["source"] == source
    assert incident["source_link"] == extra.get("source_link")
    assert incident["source_org"] == extra.get("source_org")
    dispatcher = login_as("dispatcher")
    board = {i["id"]: i for i in dispatcher.get("/api/state").json["incidents"]}
    assert board[incident["id"]]["source"] == source
    page = dispatcher.get(f"/desk/incidents/{incident['id']}").get_data(as_text=True)
    assert 'data-testid="incident-source"' in page
    if "source_link" in extra:
        assert f'href="{extra["source_link"]}"' in page


def test_the_phone_call_is_the_default_source(login_as):
    incident = call(login_as("calltaker"))
    assert incident["source"] == "hotline" and incident["source_link"] is None


@pytest.mark.parametrize(("over", "field"), [
    ({"source": "surveillance"}, "source_link"),
    ({"source": "surveillance", "source_link": "http://news.example.com/a"}, "source_link"),
    ({"source": "surveillance", "source_link": "javascript:alert(1)"}, "source_link"),
    ({"source": "surveillance", "source_link": "https://user:pw@news.example.com/"},
     "source_link"),
    ({"source": "walk_in", "source_link": "https://news.example.com/a"}, "source_link"),
    ({"source": "agency"}, "source_org"),
    ({"source": "walk_in", "source_org": "x"}, "source_org"),
    ({"source": "ess"}, "source"),
    ({"source": "fax"}, "source"),
])
def test_bad_source_input_is_refused_on_its_field_and_nothing_is_written(
        login_as, session, over, field):
    calltaker = login_as("calltaker")
    before = counts(session)
    body = incident_body(**over)
    resp = calltaker.post("/api/calls", json=copy.deepcopy(body))
    assert resp.status_code == 422, resp.json
    assert field in resp.json["fields"], resp.json
    assert counts(session) == before


def test_the_refusal_speaks_thai(login_as):
    calltaker = login_as("calltaker")  # the demo's officers read Thai
    resp = calltaker.post("/api/calls", json=incident_body(source="surveillance",
                                                           source_link="http://a.example.com"))
    assert resp.status_code == 422
    text = resp.json["fields"]["source_link"]
    assert "https://" in text and any("\u0e00" <= ch <= "\u0e7f" for ch in text), text


def test_same_caller_number_is_suggested_wherever_it_is(login_as):
    calltaker = login_as("calltaker")
    first = call(calltaker, at=PSL, category="children")
    second = call(calltaker, at=PSL_FAR, category="elderly")  # 1.7 km away, another category
    assert dupes(calltaker, second["id"]) == {first["id"]: ["same_caller"]}
    assert dupes(calltaker, first["id"]) == {second["id"]: ["same_caller"]}


def test_same_place_within_the_distance_and_window_with_same_category(login_as, session):
    calltaker = login_as("calltaker")
    first = call(calltaker, number="081-111-1111", at=PSL)
    second = call(calltaker, number="089-222-2222", at=PSL_NEAR)  # about 110 m away
    other_kind = call(calltaker, number="", at=PSL_NEAR, category="elderly")
    far = call(calltaker, number="086-333-3333", at=PSL_FAR)
    found = dupes(login_as("dispatcher"), second["id"])
    assert found[first["id"]] == ["same_place", "same_category"]
    assert found[other_kind["id"]] == ["same_place"]
    assert far["id"] not in found
    # Opened longer ago than the window: no longer the same place.
    session.execute(update(Incident).where(Incident.id == first["id"]).values(
        created_at=datetime.now(UTC) - timedelta(minutes=45)))
    session.commit()
    assert first["id"] not in dupes(calltaker, second["id"])


def test_closed_incidents_and_other_provinces_are_never_suggested(login_as):
    calltaker, national = login_as("calltaker"), login_as("national")
    mine = call(calltaker, number="081-444-4444", at=PSL)
    elsewhere = call(national, number="081-444-4444", at=CM)  # Chiang Mai, same caller
    assert national.get(f"/api/incidents/{elsewhere['id']}").json["province_code"] == "50"
    assert dupes(calltaker, mine["id"]) == {}
    assert dupes(national, mine["id"]) == {}  # even for a national user
    assert dupes(national, elsewhere["id"]) == {}
    assert login_as("cm.dispatcher").get(
        f"/api/incidents/{mine['id']}/duplicates").status_code == 404
    second = call(calltaker, number="081-444-4444", at=PSL_FAR)
    dispatcher = login_as("dispatcher")
    assert dispatcher.post(f"/api/incidents/{mine['id']}/cancel",
                           json={"reason": "ไม่พบเหตุ"}).status_code == 200
    assert dupes(calltaker, second["id"]) == {}


def test_pairs_never_cross_a_province_even_at_the_same_point():
    at = datetime(2026, 12, 2, 1, 0, tzinfo=UTC)
    row = dict(lat=16.8, lon=100.26, precision=Precision.POINT, place_unknown=False,
               category=Category.HOMELESS, created_at=at, numbers=frozenset({"+66812345678"}))
    found = pairs([Row(1, "65", **row), Row(2, "64", **row), Row(3, "65", **row)],
                  FusionSettings())
    assert [d.incident_id for d in found[1]] == [3] and 2 not in found


def test_the_board_lists_duplicates_and_a_merge_leaves_one(login_as, session):
    calltaker, dispatcher = login_as("calltaker"), login_as("dispatcher")
    first = call(calltaker, number="081-555-0001", at=PSL)
    second = call(calltaker, number="081-555-0002", at=PSL_NEAR)
    board = dispatcher.get("/api/incidents/duplicates")
    assert board.status_code == 200
    assert [d["incident_id"] for d in board.json[str(second["id"])]] == [first["id"]]
    assert board.json[str(second["id"])][0]["reasons"] == ["same_place", "same_category"]
    assert login_as("calltaker").get("/api/incidents/duplicates").status_code == 403
    merged = dispatcher.post(f"/api/incidents/{first['id']}/merge",
                             json={"duplicate_id": second["id"]})
    assert merged.status_code == 200, merged.json
    open_ids = {i["id"] for i in dispatcher.get("/api/state").json["incidents"]}
    assert first["id"] in open_ids and second["id"] not in open_ids
    assert str(first["id"]) not in dispatcher.get("/api/incidents/duplicates").json
    assert dupes(dispatcher, first["id"]) == {}


def test_app_reports_take_part_and_a_joined_report_can_be_split_from_the_page(
        app, login_as, tmp_path):
    """An app report of another category at the same place is suggested beside the hotline
    call; two app reports the ESS dedupe joined show a split button each on the page."""
    from tests.ess_helpers import make_api_key, report_body

    app.config["ESS_ATTACHMENT_DIR"] = str(tmp_path / "attachments")
    http, key = app.test_client(), {"X-Api-Key": make_api_key(app)}
    calltaker, dispatcher = login_as("calltaker"), login_as("dispatcher")
    hotline = call(calltaker, number="081-666-0001", at=PSL, category="homeless")
    first = http.post("/api/v1/reports", json=report_body(PSL_NEAR, category="elderly"),
                      headers=key)
    second = http.post("/api/v1/reports", json=report_body(PSL_NEAR, category="elderly"),
                       headers=key)
    assert first.status_code == second.status_code == 201
    found = dupes(dispatcher, hotline["id"])
    assert list(found.values()) == [["same_place"]]
    app_incident = next(iter(found))
    # A report elsewhere whose contact is the caller's number, typed the Thai way.
    far = http.post("/api/v1/reports", json=report_body(PSL_FAR, category="children",
                                                        contact="081 666 0001"), headers=key)
    assert far.status_code == 201
    found = dupes(dispatcher, hotline["id"])
    far_incident = next(i for i in found if i != app_incident)
    assert found[far_incident] == ["same_caller"]
    assert dupes(dispatcher, far_incident) == {hotline["id"]: ["same_caller"]}
    board = dispatcher.get("/api/incidents/duplicates").json
    assert {d["incident_id"] for d in board[str(hotline["id"])]} == {app_incident, far_incident}
    page = dispatcher.get(f"/desk/incidents/{app_incident}").get_data(as_text=True)
    assert page.count('class="link split-report"') == 2
    assert 'data-live="timeline"' in page and "incident_detail.js" in page


def test_the_grid_finds_every_pair_the_pair_by_pair_check_finds():
    """A bad day's board: 600 incidents of one province within the window, a few near each
    other; the grid's answer equals comparing every pair."""
    import random

    from dispatch.fusion import _reasons

    rng = random.Random(14)
    at = datetime(2026, 12, 2, 1, 0, tzinfo=UTC)
    rows = [Row(i, "65", 16.8 + rng.random() * 0.2, 100.2 + rng.random() * 0.2, Precision.POINT,
                False, Category.HOMELESS, at + timedelta(seconds=rng.random() * 3600),
                frozenset({f"+66810{rng.randrange(300):06d}"})) for i in range(600)]
    found = {(a, d.incident_id) for a, items in pairs(rows, FusionSettings()).items()
             for d in items}
    expected = {(a.id, b.id) for a in rows for b in rows if _reasons(a, b, FusionSettings())[0]}
    assert found == expected and len(expected) > 20


def test_a_matter_closed_at_intake_keeps_its_source_and_its_case_says_where_it_came_from(
        login_as, session):
    """The same form closes a walk-in or a letter needing follow-up at intake: the call record
    keeps the source, the case it opens says walk-in / letter; bad input writes nothing."""
    from sqlalchemy import select

    from cases.models import Case
    from telephony.models import Call

    calltaker = login_as("calltaker")
    body = {"action": "close", "number": "", "caller_name": "ผู้มาติดต่อ",
            "summary": "มาขอคำแนะนำเรื่องเงินสงเคราะห์", "advice": "",
            "outcome": "needs_follow_up"}
    before = counts(session)
    bad = calltaker.post("/api/calls", json=dict(body, source="agency"))
    assert bad.status_code == 422 and "source_org" in bad.json["fields"]
    assert counts(session) == before
    for source, org, case_source in (("walk_in", None, "walk_in"),
                                     ("letter", "ผู้ใหญ่บ้านหมู่ 4", "letter")):
        resp = calltaker.post("/api/calls", json=dict(body, source=source, source_org=org))
        assert resp.status_code == 201, resp.json
        session.expire_all()
        call_row = session.get(Call, resp.json["call_id"])
        assert (call_row.source.value, call_row.source_org) == (source, org)
        case = session.scalar(select(Case).where(Case.call_id == call_row.id))
        assert case is not None and case.source.value == case_source
    incident = call(calltaker, source="volunteer", source_org="อพม. สมศรี")
    session.expire_all()
    row = session.get(Incident, incident["id"])
    assert session.get(Call, row.call_id).source.value == "volunteer"
