"""Thai as the ministry writes it, through the real app (issue 15): what a caller hears first,
the error page naming fields by their labels, times on rendered pages."""

from __future__ import annotations

import re

import pytest

from tests.telephony_fakes import twiml

GREETING = "สวัสดีค่ะ ศูนย์ช่วยเหลือสังคม สายด่วน 1300"


@pytest.fixture
def app(phone_app):
    """The app with the phone line configured (the voice webhooks are signed)."""
    return phone_app


def says(root) -> list[str]:
    return [s.text for s in root.iter("Say")]


def test_a_caller_hears_the_greeting_first_even_when_warned(twilio, login_as):
    plain = says(twiml(twilio.call("CT01", "voice", frm="+66812345670")))
    assert plain[0].startswith(GREETING) and "กด 1" in plain[1]
    assert all(text.endswith("ค่ะ") for text in plain)
    calltaker = login_as("calltaker")
    assert calltaker.post("/api/flags", json={"number": "081-234-5671", "level": "warn",
                                              "reason": "โทรก่อกวนซ้ำ"}).status_code == 201
    warned = says(twiml(twilio.call("CT02", "voice", frm="+66812345671")))
    assert warned[0].startswith(GREETING)
    assert "ก่อกวนหรือแจ้งเรื่องเท็จ" in warned[1] and "กด 1" in warned[2]
    assert all(text.endswith("ค่ะ") for text in warned)


def test_the_error_page_names_fields_by_their_labels(app):
    from console.web import error_response

    fields = {"incident.location.province_code": "กรุณาเลือกจังหวัด",
              "incident.people.0.vulnerable_group": "กรุณาเลือกจากตัวเลือกที่มี",
              "__all__": "กรุณาตรวจสอบอีกครั้ง"}
    with app.test_request_context("/desk/calls", headers={"Accept": "text/html"}):
        body, status = error_response(422, "Please correct the highlighted fields.",
                                      fields=fields)
        page = body if isinstance(body, str) else body.get_data(as_text=True)
    assert status == 422
    assert "จังหวัด: กรุณาเลือกจังหวัด" in page
    assert "กลุ่มเป้าหมาย (รายการที่ 1): กรุณาเลือกจากตัวเลือกที่มี" in page
    assert ">กรุณาตรวจสอบอีกครั้ง<" in page  # no field to name: the message alone
    shown = re.sub(r'data-field="[^"]*"', "", page)
    assert "province_code" not in shown and "vulnerable_group" not in shown
    assert "__all__" not in shown
    assert "กรุณาตรวจสอบข้อมูลที่กรอก" in page and "<h1>422" not in page  # a heading in words


def test_rendered_desks_write_times_the_thai_way(login_as):
    calltaker = login_as("calltaker")
    assert calltaker.post("/api/calls", json={
        "action": "close", "number": "081-234-5678", "caller_name": "", "advice": "แนะนำสิทธิ",
        "summary": "สอบถามเงินสงเคราะห์", "outcome": "advice_given",
        "agency_id": None}).status_code == 201
    page = calltaker.get("/desk/calls").get_data(as_text=True)
    recent = page.split('id="recent-calls"', 1)[1].split("</ul>", 1)[0]
    assert re.search(r"\d{1,2} [ก-๙.]+ 25\d\d \d{2}\.\d{2} น\.", recent), recent
    assert not re.search(r"\d{2}:\d{2}", recent), recent
    assert "ให้คำปรึกษาแนะนำแล้ว" in recent  # the outcome by its label
    assert "คำแนะนำที่ให้ผู้แจ้ง" in page  # the field, the other meaning of "Advice given"
    supervisor = login_as("supervisor").get("/desk/supervisor").get_data(as_text=True)
    assert re.search(r"เวรนี้ \((08\.30–16\.30|16\.30–08\.30) น\.\)", supervisor)


def test_a_persons_export_says_what_its_codes_mean(login_as):
    """The export keeps codes as data (P1, children...) and carries their labels, in Thai."""
    from tests.conftest import incident_body

    assert login_as("calltaker").post("/api/calls", json=incident_body()).status_code == 201
    supervisor = login_as("supervisor")
    data = supervisor.get("/desk/pdpa/export", query_string={"phone": "081-234-5678"}).json
    [incident] = data["incidents"]
    labels = data["labels"]
    assert incident["priority"] == "P1"
    assert labels["priority"]["P1"].startswith("ด่วนที่สุด")
    assert labels["category"][incident["category"]] == "เด็กและเยาวชน"
    assert labels["status"][incident["status"]] == "ใหม่"
    for group in labels.values():
        for text in group.values():
            assert re.search("[ก-๙]", text) and not re.search(r"\bP\d\b", text), text
