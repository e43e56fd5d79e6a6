"""Pure rules: state machine tables, phone numbers, Buddhist-era dates, shift rounds, locations."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from console.errors import ValidationFailed
from console.labels import format_be
from console.routes import shift_start
from console.validation import parse
from dispatch.enums import (
    INCIDENT_TRANSITIONS,
    OPEN_STATUSES,
    STATUS_TIMESTAMP,
    TEAM_STATUS_FOR_INCIDENT,
    TEAM_STEPS,
    TEAM_TRANSITIONS,
    IncidentStatus,
    TeamStatus,
)
from dispatch.schemas import CallWithIncidentIn
from geo.service import haversine_km, resolve_location
from telephony.schemas import CloseCallIn, format_thai_phone, normalize_thai_phone


def test_every_status_has_a_row_and_closed_ones_are_final():
    assert set(INCIDENT_TRANSITIONS) == set(IncidentStatus)
    for status in (IncidentStatus.HANDED_OVER, IncidentStatus.CANCELLED):
        assert INCIDENT_TRANSITIONS[status] == frozenset()
    # Nothing can be resolved or put on scene without a team first.
    assert IncidentStatus.RESOLVED not in INCIDENT_TRANSITIONS[IncidentStatus.NEW]
    assert IncidentStatus.ON_SCENE not in INCIDENT_TRANSITIONS[IncidentStatus.NEW]
    # Every state entered gets its own timestamp column.
    for targets in INCIDENT_TRANSITIONS.values():
        assert targets <= set(STATUS_TIMESTAMP)


def test_team_steps_walk_the_machine_in_order():
    status = IncidentStatus.ASSIGNED
    for step in TEAM_STEPS:
        assert step in INCIDENT_TRANSITIONS[status]
        status = step
    assert OPEN_STATUSES == {IncidentStatus.NEW, IncidentStatus.ASSIGNED,
                             IncidentStatus.ACKNOWLEDGED, IncidentStatus.EN_ROUTE,
                             IncidentStatus.ON_SCENE}


def test_team_status_follows_the_incident_through_allowed_moves():
    team = TeamStatus.AVAILABLE
    seen = [team]
    for step in (IncidentStatus.ASSIGNED, *TEAM_STEPS):
        nxt = TEAM_STATUS_FOR_INCIDENT[step]
        assert nxt == team or nxt in TEAM_TRANSITIONS[team], (team, step)
        team = nxt
        seen.append(team)
    # A resolved job leaves the team clearing; it says when it is free again (or goes off duty).
    assert team is TeamStatus.CLEARING
    assert TEAM_TRANSITIONS[team] == {TeamStatus.AVAILABLE, TeamStatus.OFF_DUTY}
    assert set(seen) | {TeamStatus.OFF_DUTY} == set(TeamStatus)  # every status is reachable


def test_teams_change_status_only_through_allowed_moves():
    # Nothing jumps: an off-duty team is never offered, a team on scene never becomes free
    # without clearing, and an offered team that did not acknowledge is never "on scene".
    assert TeamStatus.OFFERED not in TEAM_TRANSITIONS[TeamStatus.OFF_DUTY]
    assert TEAM_TRANSITIONS[TeamStatus.ON_SCENE] == {TeamStatus.CLEARING}
    assert TeamStatus.ON_SCENE not in TEAM_TRANSITIONS[TeamStatus.OFFERED]
    assert TeamStatus.OFFERED not in TEAM_TRANSITIONS[TeamStatus.CLEARING]
    assert TEAM_STATUS_FOR_INCIDENT[IncidentStatus.CANCELLED] is TeamStatus.AVAILABLE


@pytest.mark.parametrize("raw,e164", [
    ("081-234-5678", "+66812345678"), ("0812345678", "+66812345678"),
    ("+66 81 234 5678", "+66812345678"), ("66812345678", "+66812345678"),
    ("02-123-4567", "+6621234567"), ("055-258-777", "+6655258777"),
    ("(02) 123 4567", "+6621234567"), ("0066 81 234 5678", "+66812345678"),
])
def test_thai_phone_numbers_normalise(raw, e164):
    assert normalize_thai_phone(raw) == e164


@pytest.mark.parametrize("raw", ["12345", "081-234-567", "08123456789", "abc", "+1 415 555 0100",
                                 "00812345678", ""])
def test_bad_phone_numbers_are_refused(raw):
    with pytest.raises(ValueError):
        normalize_thai_phone(raw)


def test_phone_display_is_thai_style():
    assert format_thai_phone("+66812345678") == "081-234-5678"
    assert format_thai_phone("+6621234567") == "02-123-4567"
    assert format_thai_phone(None) == ""


def test_buddhist_era_dates_in_bangkok_time():
    at = datetime(2026, 11, 21, 18, 5, tzinfo=UTC)  # 01:05 on the 22nd in Bangkok
    assert format_be(at, lang="th") == "22 พ.ย. 2569 01.05 น."  # the Thai official way
    assert format_be(at, lang="en") == "22 Nov 2569 BE 01:05"
    assert format_be(None) == ""


@pytest.mark.parametrize("utc_hour,utc_minute,expect_local", [
    (2, 0, "08:30"),    # 09:00 Bangkok -> day round since 08:30
    (10, 0, "16:30"),   # 17:00 -> night round since 16:30
    (0, 0, "16:30"),    # 07:00 -> night round that began yesterday 16:30
])
def test_shift_rounds(utc_hour, utc_minute, expect_local):
    start = shift_start(datetime(2026, 11, 22, utc_hour, utc_minute, tzinfo=UTC))
    assert start.strftime("%H:%M") == expect_local
    assert start <= datetime(2026, 11, 22, utc_hour, utc_minute, tzinfo=UTC)


def test_location_falls_back_to_the_finest_known_centroid():
    district = resolve_location(lat=None, lon=None, province_code="65", district_code="6501",
                                subdistrict_code=None)
    assert district.precision == "district" and district.lat is not None
    province = resolve_location(lat=None, lon=None, province_code="65", district_code=None,
                                subdistrict_code=None)
    assert province.precision == "province"
    assert haversine_km(district.lat, district.lon, 16.8211, 100.2659) < 15


def test_coordinates_without_codes_find_their_province():
    point = resolve_location(lat=18.7883, lon=98.9853, province_code=None, district_code=None,
                             subdistrict_code=None)
    assert point.province_code == "50" and point.precision == "point"
    assert point.subdistrict_code and point.subdistrict_code.startswith(point.district_code)


def test_location_errors_name_their_field():
    with pytest.raises(ValidationFailed) as err:
        resolve_location(lat=None, lon=None, province_code="65", district_code="5001",
                         subdistrict_code="999999")
    assert set(err.value.errors) == {"district_code"}  # the subdistrict is judged once it fits
    with pytest.raises(ValidationFailed) as err:
        resolve_location(lat=None, lon=None, province_code="65", district_code="6501",
                         subdistrict_code="500101")
    assert set(err.value.errors) == {"subdistrict_code"}


def test_schema_errors_are_per_field_and_translatable():
    with pytest.raises(ValidationFailed) as err:
        parse(CallWithIncidentIn, {"summary": "", "incident": {"category": "x", "priority": "P1",
                                                               "location": {}}})
    errors = err.value.errors
    assert set(errors) == {"summary", "incident.category", "incident.location"}
    assert all(isinstance(msg, str) and isinstance(params, dict)
               for msg, params in errors.values())
    ok = parse(CloseCallIn, {"summary": " x ", "outcome": "hoax", "number": ""})
    assert ok.summary == "x" and ok.number is None
