"""Admin of the centre's data (issue 14): teams, the agency directory, hotline lines and intake
categories. Each is added and changed on its page (audited, with what changed), exported as CSV
and imported back unchanged; a file with bad lines imports nothing and names each line and
field in Thai or English; a supervisor keeps only their own province's teams and agencies."""

from __future__ import annotations

import io

import pytest
from sqlalchemy import func, select

from admin.models import CategorySetting, TeamProfile
from cases.models import Agency
from console.models import AuditLog, User
from dispatch.enums import TeamStatus
from dispatch.models import Team
from telephony.models import HotlineLine

pytestmark = pytest.mark.usefixtures("backend")


def count(session, model, *where) -> int:
    session.expire_all()
    return session.scalar(select(func.count()).select_from(model).where(*where))


def upload(client, kind: str, text: str, lang: str = "en"):
    client.http.set_cookie("lang", lang)
    return client.post(f"/admin/{kind}/import", data={"file": (io.BytesIO(text.encode()),
                                                               f"{kind}.csv")},
                       headers={"Accept": "application/json"},
                       content_type="multipart/form-data")


def export(client, kind: str) -> str:
    resp = client.get(f"/admin/{kind}/export.csv")
    assert resp.status_code == 200 and resp.mimetype == "text/csv"
    return resp.get_data(as_text=True)


TEAM = {"code": "psl-4", "name": "ทีม พม. หนึ่งเดียว บางระกำ", "province_code": "65",
        "members": "team1", "skills": ["elderly", "disability"], "vehicle": "รถตู้ กข 1234",
        "phone": "081-234-5678", "home_lat": "16.75", "home_lon": "100.12",
        "home_place": "ที่ว่าการอำเภอบางระกำ", "active": "1"}


# --- teams --------------------------------------------------------------------------------------

def test_a_team_is_added_and_changed_on_its_page_with_members_and_audit(app, session, login_as):
    admin = login_as("admin")
    page = admin.get("/admin/teams")
    assert page.status_code == 200 and "PSL-1" in page.get_data(as_text=True)
    resp = admin.post("/admin/teams", data=TEAM)
    assert resp.status_code == 302
    team = session.scalar(select(Team).where(Team.code == "PSL-4"))
    profile = session.get(TeamProfile, team.id)
    assert (profile.vehicle, profile.home_lat, team.phone, team.status) == (
        "รถตู้ กข 1234", 16.75, "+66812345678", TeamStatus.OFF_DUTY)
    assert team.skills == ["elderly", "disability"]
    assert session.scalar(select(User.team_id).where(User.username == "team1")) == team.id
    audit = session.scalar(select(AuditLog).where(AuditLog.action == "team.created"))
    assert audit.entity_id == team.id and audit.detail["changes"]["members"] == [None, ["team1"]]

    # Taken off its team without another one: refused, nothing changed.
    resp = admin.post(f"/admin/teams/{team.id}", data={**TEAM, "members": "", "active": "1"},
                      headers={"Accept": "application/json"})
    assert resp.status_code == 422 and "team1" in resp.json["fields"]["members"]
    session.expire_all()
    resp = admin.post(f"/admin/teams/{team.id}", data={**TEAM, "vehicle": "รถกระบะ"})
    assert resp.status_code == 302
    session.expire_all()
    assert session.get(TeamProfile, team.id).vehicle == "รถกระบะ"
    changed = session.scalar(select(AuditLog).where(AuditLog.action == "team.updated"))
    assert changed.detail["changes"] == {"vehicle": ["รถตู้ กข 1234", "รถกระบะ"]}


def test_an_inactive_team_is_off_duty_never_suggested_and_cannot_be_made_available(
        app, session, login_as):
    admin = login_as("admin")
    psl1 = session.scalar(select(Team).where(Team.code == "PSL-1"))
    row = {"code": "PSL-1", "name": psl1.name, "province_code": "65", "members": "team1",
           "skills": psl1.skills, "active": ""}
    assert admin.post(f"/admin/teams/{psl1.id}", data=row).status_code == 302
    session.expire_all()
    psl1 = session.get(Team, psl1.id)
    assert session.get(TeamProfile, psl1.id).active is False
    assert psl1.status is TeamStatus.OFF_DUTY
    resp = login_as("dispatcher").post(f"/api/teams/{psl1.id}/availability",
                                       json={"available": True})
    assert resp.status_code == 409
    session.expire_all()
    assert session.get(Team, psl1.id).status is TeamStatus.OFF_DUTY


def test_teams_csv_round_trip_and_bad_lines_store_nothing(app, session, login_as):
    admin = login_as("admin")
    text = export(admin, "teams")
    assert text.startswith("\ufeffcode,name,province_code,members")
    resp = upload(admin, "teams", text)
    assert resp.status_code == 200, resp.json
    assert resp.json == {"created": 0, "updated": 0, "unchanged": 5}
    assert export(admin, "teams") == text
    assert count(session, AuditLog, AuditLog.action.in_(["team.created", "team.updated"])) == 0
    assert count(session, AuditLog, AuditLog.action == "team.imported") == 1

    lines = text.splitlines()
    bad = "\n".join([lines[0],
                     "PSL-5,ทีมใหม่,65,,elderly,,,,,,1",              # good
                     "PSL-6,ทีมใหม่,99,,elderly,,,,,,1",              # unknown province
                     "PSL-7,ทีมใหม่,65,,flying,,,16.8,,,maybe",  # two bad fields
                     "PSL-5,again,65,,,,,,,,1",                  # twice in the file
                     "PSL-8,ทีมใหม่,65,nobody,,,,16.8,,,1"])      # no such member; half a point
    resp = upload(admin, "teams", bad)
    assert resp.status_code == 422
    got = {(p["line"], p["field"]) for p in resp.json["lines"]}
    assert got == {(3, "province_code"), (4, "skills"), (4, "active"), (5, "code"),
                   (6, "home_lat"), (6, "members")}
    assert count(session, Team, Team.code.in_(["PSL-5", "PSL-6", "PSL-7"])) == 0
    th = upload(admin, "teams", bad, lang="th").json
    assert th["error"].startswith("ไม่ได้นำเข้า") and th["lines"][0]["field_label"] == "จังหวัด"
    assert "nobody" in th["lines"][-1]["message"]


def test_an_import_moves_a_member_between_teams_in_one_file(app, session, login_as):
    admin = login_as("admin")
    header = export(admin, "teams").splitlines()[0]
    text = "\n".join([header, "PSL-1,ทีม 1,65,,child_protection,,,,,,1",
                      "PSL-8,ทีม 8,65,team1,,,,,,,1"])
    resp = upload(admin, "teams", text)
    assert resp.status_code == 200, resp.json
    eight = session.scalar(select(Team.id).where(Team.code == "PSL-8"))
    assert session.scalar(select(User.team_id).where(User.username == "team1")) == eight


# --- agencies -----------------------------------------------------------------------------------

AGENCY = {"code": "psl-shelter", "name_th": "บ้านพักเด็กและครอบครัวจังหวัดพิษณุโลก",
          "name_en": "Phitsanulok Children and Family Shelter", "kind": "msdhs",
          "province_code": "65", "districts": "6501; 6502", "services": ["children", "labour"],
          "target_groups": ["child", "woman"], "phone": "055-123-4567", "phone_other": "1300",
          "hours": "ทุกวัน 08.30–16.30 น.", "sms_number": "089-111-2233",
          "email": "shelter@example.go.th", "line_user_id": "", "contact_channel": "sms",
          "active": "1"}


def test_an_agency_with_services_area_and_channels_gets_referrals_by_sms(app, session,
                                                                         login_as):
    from cases.flows import channel_for, mobile_of

    admin = login_as("admin")
    assert admin.post("/admin/agencies", data=AGENCY).status_code == 302
    agency = session.scalar(select(Agency).where(Agency.code == "PSL-SHELTER"))
    assert agency.services == ["children", "labour"] and agency.districts == ["6501", "6502"]
    assert (agency.phone, agency.phone_other, agency.sms_number) == (
        "+66551234567", "1300", "+66891112233")
    assert mobile_of(agency) == "+66891112233" and channel_for(agency).value == "sms"
    # The case desk lists it for its province.
    from cases import service as case_service

    assert agency in case_service.list_agencies(session=session, province_code="65")
    resp = admin.post("/admin/agencies", data={**AGENCY, "code": "X2", "districts": "5001",
                                               "sms_number": "055-123-456",
                                               "email": "no-at-sign", "line_user_id": "abc"},
                      headers={"Accept": "application/json"})
    assert resp.status_code == 422
    assert set(resp.json["fields"]) >= {"sms_number", "email", "line_user_id"}
    assert count(session, Agency, Agency.code == "X2") == 0


def test_agencies_csv_round_trip_and_one_bad_line_stores_nothing(app, session, login_as):
    admin = login_as("admin")
    assert admin.post("/admin/agencies", data=AGENCY).status_code == 302
    text = export(admin, "agencies")
    resp = upload(admin, "agencies", text)
    assert resp.status_code == 200, resp.json
    assert resp.json["created"] == resp.json["updated"] == 0
    assert export(admin, "agencies") == text
    rows = text.splitlines()
    good = rows[-1].replace("PSL-SHELTER", "PSL-NEW")
    bad = rows[-1].replace("PSL-SHELTER", "PSL-BAD").replace("6501; 6502", "9999")
    resp = upload(admin, "agencies", "\n".join([rows[0], good, bad]))
    assert resp.status_code == 422
    assert [(p["line"], p["field"]) for p in resp.json["lines"]] == [(3, "districts")]
    assert count(session, Agency, Agency.code.in_(["PSL-NEW", "PSL-BAD"])) == 0


# --- hotline lines ----------------------------------------------------------------------------

@pytest.mark.parametrize("typed", ["0551234567", "055-123-4567", "+66 55 123 4567",
                                   "๐๕๕๑๒๓๔๕๖๗"])
def test_a_line_typed_the_thai_way_is_stored_in_e164(app, session, login_as, typed):
    admin = login_as("admin")
    resp = admin.post("/admin/lines", json={"number": typed, "province_code": "65"})
    assert resp.status_code == 201, resp.json
    assert session.scalar(select(HotlineLine.province_code).where(
        HotlineLine.number == "+66551234567")) == "65"


def test_lines_csv_round_trip_and_bad_number(app, session, login_as):
    admin = login_as("admin")
    admin.post("/admin/lines", json={"number": "0551234567", "province_code": "65",
                                     "label": "สายพิษณุโลก"})
    text = export(admin, "lines")
    assert "+66551234567,65,สายพิษณุโลก,1" in text
    assert upload(admin, "lines", text).json == {"created": 0, "updated": 0, "unchanged": 1}
    resp = upload(admin, "lines", "number,province_code,label,active\n12,65,x,1\n053123456,50,,1")
    assert resp.status_code == 422 and resp.json["lines"][0]["line"] == 2
    assert count(session, HotlineLine) == 1


# --- categories -----------------------------------------------------------------------------

def test_categories_are_seeded_with_the_new_areas_and_edited_by_a_national_admin(
        app, session, login_as):
    from admin.models import category_settings

    codes = [s.code.value for s in category_settings(session)]
    assert len(codes) == 10 and {"labour", "welfare_request"} <= set(codes)
    admin = login_as("admin")
    resp = admin.post("/admin/categories/welfare_request",
                      json={"code": "welfare_request", "name_th": "ขอรับเงินสงเคราะห์",
                            "name_en": "Relief subsidy", "default_priority": "P3",
                            "active": True, "position": 2})
    assert resp.status_code == 200, resp.json
    session.expire_all()
    row = session.get(CategorySetting, "welfare_request")
    assert (row.name_th, row.default_priority.value) == ("ขอรับเงินสงเคราะห์", "P3")
    # The forms offer the categories in use, in order, named in the page's language.
    offered = login_as("calltaker").get("/admin/api/categories").json
    assert [c["code"] for c in offered[:4]] == ["children", "domestic_violence", "elderly",
                                                "welfare_request"]
    assert offered[3] == {"code": "welfare_request", "name": "ขอรับเงินสงเคราะห์",
                          "default_priority": "P3"}
    text = export(admin, "categories")
    assert upload(admin, "categories", text).json["unchanged"] == 10
    bad = text.replace("ขอรับเงินสงเคราะห์,Relief subsidy,P3", "ขอรับเงินสงเคราะห์,Relief subsidy,P9")
    resp = upload(admin, "categories", bad)
    assert resp.status_code == 422 and resp.json["lines"][0]["field"] == "default_priority"


def test_an_incident_of_a_new_category_is_stored(app, session, login_as):
    from tests.conftest import incident_body

    body = incident_body()
    body["incident"]["category"] = "labour"
    resp = login_as("calltaker").post("/api/calls", json=body)
    assert resp.status_code == 201, resp.json
    assert resp.json["incident"]["category"] == "labour"


# --- scope ------------------------------------------------------------------------------------

def test_a_supervisor_keeps_only_their_own_province(app, session, login_as):
    sup = login_as("supervisor")  # Phitsanulok (65)
    page = sup.get("/admin/teams").get_data(as_text=True)
    assert "PSL-1" in page and "CMI-1" not in page
    assert "CMI-1" not in export(sup, "teams")
    cmi = session.scalar(select(Team.id).where(Team.code == "CMI-1"))
    assert sup.get(f"/admin/teams/{cmi}").status_code == 404
    resp = sup.post("/admin/teams", json={**TEAM, "code": "CMI-9", "province_code": "50",
                                          "members": ""})
    assert resp.status_code == 422 and "province_code" in resp.json["fields"]
    header = export(sup, "teams").splitlines()[0]
    resp = upload(sup, "teams", f"{header}\nCMI-1,ยึดทีม,50,,,,,,,,1")
    assert resp.status_code == 422
    assert session.scalar(select(Team.name).where(Team.code == "CMI-1")) != "ยึดทีม"
    # National agencies are shown, read-only; lines and categories are for administrators.
    national = session.scalar(select(Agency.id).where(Agency.province_code.is_(None)))
    resp = sup.post(f"/admin/agencies/{national}", json={**AGENCY, "province_code": ""})
    assert resp.status_code in (403, 422)
    assert sup.get("/admin/lines").status_code == 403
    assert sup.get("/admin/categories").status_code == 403
    assert login_as("dispatcher").get("/admin/teams").status_code == 403
