"""Hotline lines as data (issue 14): the numbers in TWILIO_NUMBERS seed the table once, typed
the Thai way (the README's own 0551234567 included); a call to a stored line joins its
province's queue; a line taken out of use, or unknown, goes to the default queue. The agency
directory answers which listed agencies serve a category in an area."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from cases.models import Agency
from console.models import AuditLog
from telephony.lines import normalize_line_number, parse_seed, province_for_called
from telephony.models import HotlineLine
from tests.telephony_fakes import Twilio, make_app, twiml

pytestmark = pytest.mark.usefixtures("backend")


@pytest.mark.parametrize("typed", ["0551234567", "055-123-4567", "055 123 4567",
                                   "+66 55 123 4567", "+66551234567", "0066551234567",
                                   "๐๕๕-๑๒๓-๔๕๖๗"])
def test_thai_forms_of_a_line_number_become_e164(typed):
    assert normalize_line_number(typed) == "+66551234567"


@pytest.mark.parametrize("typed", ["", "55123", "12345678901234", "+66 0551234567", "abc",
                                   "055-123-45"])
def test_what_is_not_a_line_number_is_refused(typed):
    from console.validation import FieldError

    with pytest.raises(FieldError):
        normalize_line_number(typed)


def test_the_seed_reads_every_readable_item_and_names_the_rest():
    lines, skipped = parse_seed("0551234567=65, 053-123-456=50,junk,=1,021111111=")
    assert lines == {"+66551234567": "65", "+6653123456": "50", "+6621111111": None}
    assert skipped == ["junk", "=1"]


def test_twilio_numbers_seed_the_lines_once_and_the_readme_number_routes(db_url):
    app = make_app(db_url, TWILIO_NUMBERS="0551234567=65,053-123-456=50",
                   TELEPHONY_DEFAULT_PROVINCE="")
    try:
        tw = Twilio(app)
        tw.call("CASEED1", "voice", to="+66551234567")
        menu = twiml(tw.call("CASEED1", "menu", to="+66551234567", Digits="1"))
        assert menu.find("Enqueue").text == "65"
        session = app.extensions["db_factory"]()
        assert dict(session.execute(select(HotlineLine.number, HotlineLine.province_code))
                    .all()) == {"+66551234567": "65", "+6653123456": "50"}
        assert session.scalar(select(AuditLog.detail).where(
            AuditLog.action == "hotline_line.seeded"))["skipped"] == []
        # Data from now on: a line taken out of use goes to the default (national) queue, and
        # the variable never seeds again, even with every line gone.
        line = session.scalar(select(HotlineLine).where(HotlineLine.number == "+66551234567"))
        line.active = False
        session.commit()
        assert province_for_called(session=session, called="+66551234567", default="",
                                   seed="0551234567=65") is None
        for row in session.scalars(select(HotlineLine)):
            session.delete(row)
        session.commit()
        assert province_for_called(session=session, called="0551234567", default="10",
                                   seed="0551234567=65") == "10"
        assert session.scalar(select(HotlineLine.id)) is None
        session.close()
    finally:
        app.extensions["db_engine"].dispose()


def test_the_directory_finds_agencies_by_service_and_area(app, session):
    from cases.directory import agencies_serving

    session.add_all([
        Agency(code="T-D", name_th="ก ศูนย์อำเภอเมือง", name_en="x", kind="msdhs",
               province_code="65", districts=["6501"], services=["labour"]),
        Agency(code="T-OFF", name_th="ข ปิดใช้", name_en="x", kind="ngo", province_code="65",
               services=["labour"], active=False),
        Agency(code="T-CM", name_th="ค เชียงใหม่", name_en="x", kind="ngo", province_code="50",
               services=["labour"]),
        Agency(code="T-NAT", name_th="ง ส่วนกลาง", name_en="x", kind="other",
               services=["labour"], target_groups=["migrant"]),
    ])
    session.commit()

    def codes(**kw):
        return [a.code for a in agencies_serving(session=session, category="labour", **kw)]

    police = session.scalar(select(Agency.code).where(
        Agency.name_en == "Mueang Phitsanulok Police Station"))  # demo: serves labour in 65
    # The district's own agency first, then the province's, national ones last.
    assert codes(province_code="65", district_code="6501") == ["T-D", police, "T-NAT"]
    assert codes(province_code="65", district_code="6501", target_group="child") == [
        "T-D", police]  # the national one serves migrants only
    assert codes(province_code="65", district_code="6502", target_group="child") == [police]
    assert codes(province_code="50", target_group="child") == ["T-CM"]
    assert codes(province_code=None, target_group="migrant") == ["T-NAT"]
