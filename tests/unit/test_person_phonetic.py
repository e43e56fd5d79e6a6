"""Thai phonetic keys of names (cases/phonetic.py) and when two persons may be one
(cases/persons.py reasons_for)."""

from __future__ import annotations

from datetime import date
from types import SimpleNamespace

import pytest

from cases.persons import Probe, reasons_for
from cases.phonetic import name_key, name_words


@pytest.mark.parametrize(("one", "other"), [
    ("นางสาวมาลี ใจงาม", "มาลีย์ ใจงาม"),  # title dropped; the silent ย์ does not count
    ("ศรีสุข ใจดี", "สีสุก ใจดี"),  # different letters, the same sound
    ("นายสมชาย  ใจดี", "สมชาย ใจดี"),
    ("ด.ช.ก้อง ภพ", "เด็กชาย ก้อง ภพ"),
    ("Mr. John Smith", "john smith"),
])
def test_names_that_sound_the_same_share_a_key(one, other):
    assert name_key(one) is not None and name_key(one) == name_key(other)


@pytest.mark.parametrize(("one", "other"), [
    ("สมชาย ใจดี", "สมศรี ใจดี"),
    ("สมชาย ใจดี", "สมชาย รักไทย"),
    ("มาลี ใจงาม", "ใจงาม มาลี"),  # first and last name are not interchangeable
])
def test_other_names_have_other_keys(one, other):
    assert name_key(one) != name_key(other)


def test_titles_and_empty_names():
    assert name_words("นางสาว มาลี ใจงาม") == ["มาลี", "ใจงาม"]
    assert name_words("mrinal x") == ["mrinal", "x"]  # not the title "mr"
    assert name_key("") is None and name_key("  ") is None and name_key("น.ส.") is None
    assert name_key("มาลี").endswith(":")  # one word: no last name
    assert len(name_key("ก" * 200 + " " + "ข" * 200)) <= 40


def row(**over):
    base = {"full_name": "มาลี ใจงาม", "national_id": None, "birth_date": None,
            "age_years": None, "province_code": None, "district_code": None}
    base.update(over)
    found = SimpleNamespace(**base)
    found.name_key = name_key(found.full_name)
    return found


CASE = SimpleNamespace(province_code="65", district_code="6501")


def test_when_a_person_on_record_may_be_the_one_entered():
    probe = Probe(full_name="มาลีย์ ใจงาม", birth_date=date(1987, 5, 12), province_code="65",
                  district_code="6502")
    key = name_key(probe.full_name)
    assert reasons_for(probe, row(birth_date=date(1987, 5, 12)), CASE, key) == [
        "similar_name", "same_birth_date", "same_province"]
    assert reasons_for(probe, row(birth_date=date(1987, 1, 1)), CASE, key)[1] == \
        "same_birth_year"
    # A namesake born elsewhere in another year is not a candidate ...
    assert reasons_for(probe, row(birth_date=date(2001, 1, 1)), CASE, key) == []
    # ... unless they live in the same district.
    assert reasons_for(probe, row(birth_date=date(2001, 1, 1), district_code="6502"), CASE,
                       key) == ["similar_name", "same_district"]
    # Only an age on record: within a year counts.
    age = probe.birth_date and (date.today().year - 1987)
    assert "similar_age" in reasons_for(probe, row(age_years=age), CASE, key)
    # The same national ID is enough; two different ones are never the same person.
    nid = "1100500999993"
    by_id = Probe(full_name="สมศรี", national_id=nid)
    assert reasons_for(by_id, row(national_id=nid), CASE, name_key("สมศรี")) == [
        "same_national_id"]
    other = Probe(full_name="มาลี ใจงาม", national_id=nid, district_code="6501")
    assert reasons_for(other, row(national_id="3100500123453", district_code="6501"), CASE,
                       key) == []
