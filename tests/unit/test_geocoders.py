"""Tests of the geocoders: the offline Thai address parser, reverse geocoding and Nominatim."""

from __future__ import annotations

import json
import math
import random
import socket
import statistics
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest
from geopy.adapters import URLLibAdapter

from geo import gazetteer, geocoders
from geo.geocoders import (
    Candidate,
    GazetteerGeocoder,
    GeocodeError,
    NominatimGeocoder,
    geocode_text,
    make_geocoder,
    nominatim_precision,
)

OFFLINE = GazetteerGeocoder()

# --------------------------------------------------------------------------- address parser

# (text, precision, province, district, subdistrict) of the first candidate.
ADDRESSES = [
    # The examples of the brief.
    ("หมู่ 4 ต.ท่าทอง อ.เมือง จ.พิษณุโลก", "subdistrict", "65", "6501", "650105"),
    ("แขวงลุมพินี เขตปทุมวัน กรุงเทพฯ", "subdistrict", "10", "1007", "100704"),
    ("อ.เมือง จ.เชียงใหม่", "district", "50", "5001", None),
    ("จ.พิศณุโลก", "province", "65", None, None),
    ("Tha Thong, Mueang Phitsanulok, Phitsanulok", "subdistrict", "65", "6501", "650105"),
    # Long forms, house numbers, หมู่ / ม., postal codes, Thai digits, NFKC-split sara am.
    (
        "บ้านเลขที่ 45/2 หมู่ที่ 3 ตำบลบ้านกร่าง อำเภอเมืองพิษณุโลก จังหวัดพิษณุโลก 65000",
        "subdistrict", "65", "6501", "650113",
    ),
    ("ตำบลท่าทอง อำเภอเมืองพิษณุโลก จังหวัดพิษณุโลก 65000", "subdistrict", "65", "6501", "650105"),
    ("99/1 ม.4 ต.ท่าทอง อ.เมือง พิษณุโลก", "subdistrict", "65", "6501", "650105"),
    ("หมู่ ๔ ต.ท่าทอง อ.เมือง จ.พิษณุโลก ๖๕๐๐๐", "subdistrict", "65", "6501", "650105"),
    ("ตําบลท่าทอง อําเภอเมือง จังหวัดพิษณุโลก", "subdistrict", "65", "6501", "650105"),
    ("ม.4 บ้านหนองบัว ต.ท่าทอง อ.เมือง จ.พิษณุโลก", "subdistrict", "65", "6501", "650105"),
    ("อบต.ท่าโพธิ์ อ.เมือง จ.พิษณุโลก", "subdistrict", "65", "6501", "650106"),
    # Spacing variants and order.
    ("ต.ท่าทองอ.เมืองจ.พิษณุโลก", "subdistrict", "65", "6501", "650105"),
    ("ต. ท่า ทอง อ. เมือง จ. พิษณุโลก", "subdistrict", "65", "6501", "650105"),
    ("ท่าทองเมืองพิษณุโลกพิษณุโลก", "subdistrict", "65", "6501", "650105"),
    ("จ.พิษณุโลก อ.เมือง ต.ท่าทอง", "subdistrict", "65", "6501", "650105"),
    ("ท่าทอง, เมืองพิษณุโลก, พิษณุโลก", "subdistrict", "65", "6501", "650105"),
    # Bangkok: เขต / แขวง, กทม., roads and khwaeng named like other places.
    ("123 ซ.สุขุมวิท 71 แขวงพระโขนงเหนือ เขตวัฒนา กทม. 10110", "subdistrict", "10", "1039", "103903"),
    ("แขวงลุมพินีเขตปทุมวันกรุงเทพฯ10330", "subdistrict", "10", "1007", "100704"),
    ("ถ.พิษณุโลก แขวงดุสิต เขตดุสิต กรุงเทพมหานคร", "subdistrict", "10", "1002", "100201"),
    ("แขวงถนนพญาไท เขตราชเทวี กรุงเทพมหานคร 10400", "subdistrict", "10", "1037", "103702"),
    ("เขตบางรัก", "district", "10", "1004", None),
    ("Khwaeng Lumphini, Khet Pathum Wan, Bangkok", "subdistrict", "10", "1007", "100704"),
    # Misspellings.
    ("ต.ทาทอง อ.เมือง จ.พิษณุโลก", "subdistrict", "65", "6501", "650105"),
    ("จ.พิษณุโลค", "province", "65", None, None),
    ("เชียงาย", "province", "57", None, None),
    ("พรหมพิลาม", "district", "65", "6506", None),
    ("Chaing Mai", "province", "50", None, None),
    ("Pitsanulok", "province", "65", None, None),
    # เมือง districts, short province names, names that contain marker words.
    ("อ.เมือง จ.อยุธยา", "district", "14", "1401", None),
    ("เมืองโคราช", "district", "30", "3001", None),
    ("อ.สนามชัยเขต จ.ฉะเชิงเทรา", "district", "24", "2408", None),
    ("จ.หาดใหญ่", "district", "90", "9011", None),
    ("จ.ป.ร.", "subdistrict", "85", "8504", "850406"),
    # English.
    ("Tambon Tha Thong, Amphoe Mueang, Phitsanulok 65000", "subdistrict", "65", "6501", "650105"),
    (
        "Tha Thong Subdistrict, Mueang Phitsanulok District, Phitsanulok Province 65000",
        "subdistrict", "65", "6501", "650105",
    ),
    ("patong phuket", "subdistrict", "83", "8302", "830202"),
    ("Koh Samui", "district", "84", "8404", None),
    ("Hat Yai, Songkhla", "district", "90", "9011", None),
    # Names shared by many subdistricts, settled by district / province / postal code.
    ("ต.หนองบัว จ.อุดรธานี", "subdistrict", "41", "4101", "410104"),
    ("ต.หนองบัว อ.หนองบัว จ.นครสวรรค์", "subdistrict", "60", "6004", "600401"),
    ("ต.ท่าทอง อ.กาญจนดิษฐ์", "subdistrict", "84", "8402", "840202"),
    ("ต.ในเมือง อ.เมือง จ.ขอนแก่น", "subdistrict", "40", "4001", "400101"),
    ("ในเมือง 40110", "subdistrict", "40", "4010", "401002"),
]

GARBAGE = [
    "",
    "   ",
    "\n\t",
    "!!!",
    "-",
    "N/A",
    "asdf qwer",
    "hello world",
    "the quick brown fox",
    "ไม่ระบุ",
    "ขอความช่วยเหลือด่วน",
    "ผู้ป่วยติดเตียงอยู่บ้านคนเดียว",
    "0812345678",
    "12345",
    "หมู่ 4",
    "ต.",
    "ต.อ.จ.",
    "ถนน",
    "35.68, 139.69",
    "91.0, 200.0",
    "😀🚑",
]


@pytest.mark.parametrize(("text", "precision", "province", "district", "subdistrict"), ADDRESSES)
def test_address_first_candidate(
    text: str, precision: str, province: str, district: str | None, subdistrict: str | None
) -> None:
    """The best candidate is the right place at the right precision, with confidence."""
    found = OFFLINE.geocode(text)
    assert found, text
    best = found[0]
    assert (best.precision, best.province_code, best.district_code, best.subdistrict_code) == (
        precision,
        province,
        district,
        subdistrict,
    )
    assert best.source == "gazetteer"
    assert 0.7 <= best.score <= 1.0
    assert all(c.score <= best.score for c in found)
    finest = gazetteer.get(subdistrict or district or province)
    assert finest is not None and (best.lat, best.lon) == (finest.lat, finest.lon)


def test_thai_labels() -> None:
    """Labels read 'ต.… อ.… จ.…' upcountry and 'แขวง… เขต… กรุงเทพมหานคร' in Bangkok."""
    assert OFFLINE.geocode("หมู่ 4 ต.ท่าทอง อ.เมือง จ.พิษณุโลก")[0].label == (
        "ต.ท่าทอง อ.เมืองพิษณุโลก จ.พิษณุโลก"
    )
    assert OFFLINE.geocode("Lumphini, Pathum Wan, Bangkok")[0].label == (
        "แขวงลุมพินี เขตปทุมวัน กรุงเทพมหานคร"
    )
    assert OFFLINE.geocode("อ.เมือง จ.เชียงใหม่")[0].label == "อ.เมืองเชียงใหม่ จ.เชียงใหม่"
    assert OFFLINE.geocode("Bangkok")[0].label == "กรุงเทพมหานคร"


def test_english_and_thai_give_the_same_place() -> None:
    """'Tha Thong, Mueang Phitsanulok, Phitsanulok' is 'ต.ท่าทอง อ.เมือง จ.พิษณุโลก'."""
    thai = OFFLINE.geocode("ต.ท่าทอง อ.เมือง จ.พิษณุโลก")[0]
    english = OFFLINE.geocode("Tha Thong, Mueang Phitsanulok, Phitsanulok")[0]
    assert english.subdistrict_code == thai.subdistrict_code == "650105"
    assert (english.lat, english.lon) == (thai.lat, thai.lon)


def test_ambiguous_subdistrict_name_gives_several_weaker_candidates() -> None:
    """'ท่าทอง' alone is three subdistricts in three provinces, none confidently."""
    found = OFFLINE.geocode("ท่าทอง")
    codes = {c.subdistrict_code for c in found}
    assert {"640710", "650105", "840202"} <= codes
    assert len({c.province_code for c in found}) >= 3
    assert all(c.score < 0.7 for c in found)
    assert len({c.score for c in found if c.subdistrict_code in codes}) == 1  # no favourite
    settled = OFFLINE.geocode("ต.ท่าทอง อ.เมือง จ.พิษณุโลก")
    assert settled[0].score > max(c.score for c in found)
    assert len(settled) == 1  # the other ท่าทอง contradict the district and province


def test_very_common_name_without_context_is_weak() -> None:
    """'หนองบัว' (28 subdistricts) and a bare 'อ.เมือง' (76 districts) are low-confidence lists."""
    for text, level in (("หนองบัว", None), ("อ.เมือง", "district")):
        found = OFFLINE.geocode(text, limit=5)
        assert len(found) == 5
        assert all(c.score < 0.3 for c in found)
        assert len({c.province_code for c in found}) == 5
        if level:
            assert {c.precision for c in found} == {level}


def test_conflicting_province_lowers_every_candidate() -> None:
    """'ต.ท่าทอง จ.เชียงใหม่' (no such subdistrict there): several candidates, all weak."""
    found = OFFLINE.geocode("ต.ท่าทอง จ.เชียงใหม่")
    assert len(found) >= 2
    assert all(c.score <= 0.5 for c in found)
    assert "50" in {c.province_code for c in found}


def test_bare_name_prefers_the_province() -> None:
    """'Chiang Mai' is the province first, the namesake subdistrict in Roi Et after it."""
    found = OFFLINE.geocode("Chiang Mai")
    assert (found[0].precision, found[0].province_code) == ("province", "50")
    assert found[1].subdistrict_code == "450802" and found[1].score < found[0].score


def test_postal_code_alone_narrows_to_its_district() -> None:
    """'65000' is within Phitsanulok: Mueang Phitsanulok first."""
    found = OFFLINE.geocode("65000")
    assert found and all(c.province_code == "65" for c in found)
    assert (found[0].precision, found[0].district_code) == ("district", "6501")
    assert {c.district_code for c in OFFLINE.geocode("10330")} == {"1007"}


def test_postal_code_picks_among_namesakes() -> None:
    """Two ในเมือง in Khon Kaen: the postal code decides which one."""
    assert OFFLINE.geocode("ในเมือง 40000")[0].subdistrict_code == "400101"
    assert OFFLINE.geocode("ในเมือง 40110")[0].subdistrict_code == "401002"
    wrong = OFFLINE.geocode("ต.ท่าทอง อ.เมือง จ.พิษณุโลก 50000")[0]
    assert wrong.subdistrict_code == "650105" and wrong.score < 0.9


def test_subdistrict_without_coordinates_uses_its_district() -> None:
    """ในเมือง of Mueang Nakhon Ratchasima has no point: district coordinates and precision."""
    sub = gazetteer.get("300101")
    district = gazetteer.get("3001")
    assert sub is not None and sub.lat is None and district is not None
    best = OFFLINE.geocode("ต.ในเมือง อ.เมือง จ.นครราชสีมา")[0]
    assert best.subdistrict_code == "300101"
    assert (best.precision, best.lat, best.lon) == ("district", district.lat, district.lon)


@pytest.mark.parametrize(
    "text",
    [
        "16.79, 100.26",
        "16.79 100.26",
        "lat 16.79 lon 100.26",
        "16°47'24\"N 100°15'36\"E",
        "https://www.google.com/maps/@16.79,100.26,15z",
        "https://maps.google.com/?q=16.79,100.26",
    ],
)
def test_coordinates_typed_as_text_give_a_point(text: str) -> None:
    """Typed coordinates are a point with the codes of the nearest subdistrict."""
    found = OFFLINE.geocode(text)
    assert len(found) == 1
    point = found[0]
    assert point.precision == "point"
    assert point.lat == pytest.approx(16.79) and point.lon == pytest.approx(100.26)
    nearest = gazetteer.nearest_subdistrict(16.79, 100.26)
    assert nearest is not None and point.subdistrict_code == nearest.code
    assert (point.province_code, point.district_code) == ("65", nearest.code[:4])
    assert "จ.พิษณุโลก" in point.label


def test_swapped_coordinates_are_fixed_with_less_confidence() -> None:
    """'100.26, 16.79' (lon, lat) is read as 16.79, 100.26 with a lower score."""
    swapped = OFFLINE.geocode("100.26, 16.79")[0]
    straight = OFFLINE.geocode("16.79, 100.26")[0]
    assert (swapped.lat, swapped.lon) == (straight.lat, straight.lon)
    assert swapped.score < straight.score


def test_address_with_shared_location_puts_the_point_first() -> None:
    """An address followed by precise coordinates: point first, the address candidate next."""
    found = OFFLINE.geocode("ต.ท่าทอง อ.เมือง จ.พิษณุโลก 16.7959, 100.2637")
    assert [c.precision for c in found[:2]] == ["point", "subdistrict"]
    assert found[0].score >= found[1].score
    assert found[1].subdistrict_code == "650105"


@pytest.mark.parametrize("text", GARBAGE)
def test_garbage_and_empty_give_nothing(text: str) -> None:
    """Garbage, empty text, markers without names and foreign coordinates: []."""
    assert OFFLINE.geocode(text) == []


@pytest.mark.parametrize("value", [None, 42, 1.5, b"\xe0\xb8\x95.", ["ต.ท่าทอง"]])
def test_non_text_gives_nothing(value: object) -> None:
    """Whatever the caller passes, geocode answers a list."""
    assert OFFLINE.geocode(value) == []  # type: ignore[arg-type]


def test_limit() -> None:
    """limit caps the list; 0 gives []; a nonsense limit falls back to 5."""
    assert len(OFFLINE.geocode("หนองบัว", limit=1)) == 1
    assert len(OFFLINE.geocode("หนองบัว", limit=12)) == 12
    assert OFFLINE.geocode("หนองบัว", limit=0) == []
    assert len(OFFLINE.geocode("หนองบัว", limit="x")) == 5  # type: ignore[arg-type]


def test_random_text_never_raises() -> None:
    """Random mixes of Thai, markers, digits and punctuation: a list of sane candidates."""
    rng = random.Random(1300)
    pieces = [
        "ต.", "อ.", "จ.", "ม.", "ถ.", "ซ.", "ตำบล", "แขวง", "เขต", "หมู่", "หมู่บ้าน", "กทม.",
        "กรุงเทพฯ", "ท่าทอง", "เมือง", "พิษณุโลก", "หนองบัว", "ถนน", "65000", "16.79", ",",
        "/", ".", " ", "  ", "ฯ", "ๆ", "\u0e4d", "\u0e32", "\u200b", "é", "\x00", "(", ")",
        "Tha", "Thong", "Road", "Moo", "District", "99/1", "°", "'", '"', "\ud800",
    ]
    thai = [chr(c) for c in range(0x0E01, 0x0E5C)]
    for _ in range(600):
        parts = rng.choices(pieces, k=rng.randint(0, 12)) + rng.choices(thai, k=rng.randint(0, 8))
        rng.shuffle(parts)
        text = "".join(parts)
        found = geocode_text(text, limit=5)  # the unguarded parser: a bug would raise here
        assert isinstance(found, list) and len(found) <= 5
        for c in found:
            assert isinstance(c, Candidate) and 0.0 <= c.score <= 1.0
            assert c.precision in geocoders.PRECISIONS
            assert c.province_code is not None and gazetteer.get(c.province_code) is not None
    assert geocode_text("ต.ท่าทอง " * 5000) != []  # long input is cut, not slow


def test_guard_turns_an_internal_error_into_no_candidates(monkeypatch, caplog) -> None:
    """A parser bug is logged and answered with [], so the dispatch form keeps working."""

    def broken(text: str, *, limit: int = 5) -> list[Candidate]:
        raise RuntimeError("bug")

    monkeypatch.setattr(geocoders, "geocode_text", broken)
    assert GazetteerGeocoder().geocode("ต.ท่าทอง") == []
    assert "offline geocoder failed" in caplog.text


def test_offline_geocoding_is_fast() -> None:
    """Typical inputs take well under 20 ms each (median), after the one-time index build."""
    texts = [row[0] for row in ADDRESSES] + GARBAGE + ["ท่าทอง", "หนองบัว", "16.79, 100.26"]
    OFFLINE.geocode("warm up")
    timings = []
    for text in texts * 3:
        start = time.perf_counter()
        OFFLINE.geocode(text)
        timings.append((time.perf_counter() - start) * 1000)
    assert statistics.median(timings) < 20.0


# --------------------------------------------------------------------------- reverse

BORDER_POINTS = [
    # (lat, lon, province): a few km either side of three province borders.
    (16.5798, 100.2359, "65"),  # Khok Salut, Bang Krathum (Phitsanulok) ...
    (16.5822, 100.2281, "66"),  # ... and Kamphaeng Din, Sam Ngam (Phichit) 1 km away
    (13.8044, 100.5075, "10"),  # Bang O, Bang Phlat (Bangkok) ...
    (13.8065, 100.5035, "12"),  # ... and Bang Kruai (Nonthaburi) across the river
    (18.6579, 99.0033, "50"),  # Tha Kwang, Saraphi (Chiang Mai) ...
    (18.6570, 99.0078, "51"),  # ... and Nong Chang Khuen, Mueang Lamphun (Lamphun)
]


@pytest.mark.parametrize(("lat", "lon", "province"), BORDER_POINTS)
def test_reverse_near_province_borders(lat: float, lon: float, province: str) -> None:
    """Points near a border fall in the province of the nearest subdistrict centre."""
    found = OFFLINE.reverse(lat, lon)
    nearest = gazetteer.nearest_subdistrict(lat, lon)
    assert nearest is not None
    assert found.province_code == nearest.province_code == province
    assert found.subdistrict_code == nearest.code and found.district_code == nearest.code[:4]
    assert (found.lat, found.lon, found.precision, found.source) == (lat, lon, "point", "gazetteer")
    assert found.score >= 0.8  # within a few km of the centre


@pytest.mark.parametrize(
    ("lat", "lon"),
    [
        (35.68, 139.69),  # Tokyo, outside the bounding box
        (0.0, 0.0),
        (13.36, 103.86),  # Siem Reap, inside the box but 118 km from any Thai subdistrict
        (14.08, 98.19),  # Dawei, Myanmar, 70 km away
        (10.0, 101.5),  # the middle of the Gulf of Thailand
    ],
)
def test_reverse_outside_thailand(lat: float, lon: float) -> None:
    """Points abroad raise GeocodeError('outside_thailand')."""
    with pytest.raises(GeocodeError) as info:
        OFFLINE.reverse(lat, lon)
    assert info.value.code == "outside_thailand"
    assert info.value.message == geocoders.ERROR_MESSAGES["outside_thailand"]


@pytest.mark.parametrize(
    ("lat", "lon"),
    [
        (math.nan, 100.0),
        (16.8, math.nan),
        (math.inf, 100.0),
        (16.8, -math.inf),
        (91.0, 100.0),
        (16.8, 181.0),
        ("16.8", "100.2"),
        (None, 100.0),
        (True, 100.0),
        (16.8, object()),
    ],
)
def test_reverse_bad_coordinates(lat: object, lon: object) -> None:
    """NaN, infinities, out-of-range and non-numbers raise GeocodeError('bad_coordinates')."""
    with pytest.raises(GeocodeError) as info:
        OFFLINE.reverse(lat, lon)  # type: ignore[arg-type]
    assert info.value.code == "bad_coordinates"
    assert isinstance(info.value, ValueError)


def test_geocode_error_keeps_code_and_message() -> None:
    """The key selects the user-facing message; an explicit message wins."""
    error = GeocodeError("unavailable")
    assert (error.code, str(error)) == ("unavailable", geocoders.ERROR_MESSAGES["unavailable"])
    assert GeocodeError("empty", "Say something").message == "Say something"
    assert set(geocoders.ERROR_MESSAGES) == {
        "empty",
        "unknown_place",
        "outside_thailand",
        "bad_coordinates",
        "unavailable",
    }


# --------------------------------------------------------------------------- Nominatim

HOSPITAL = {
    "place_id": 101,
    "licence": "Data © OpenStreetMap contributors, ODbL 1.0. http://osm.org/copyright",
    "osm_type": "way",
    "osm_id": 2001,
    "lat": "16.8121",
    "lon": "100.2641",
    "class": "amenity",
    "type": "hospital",
    "place_rank": 30,
    "importance": 0.31,
    "addresstype": "amenity",
    "name": "โรงพยาบาลพุทธชินราช",
    "display_name": "โรงพยาบาลพุทธชินราช, ถนนศรีธรรมไตรปิฎก, ในเมือง, เมืองพิษณุโลก, "
    "จังหวัดพิษณุโลก, 65000, ประเทศไทย",
    "address": {
        "amenity": "โรงพยาบาลพุทธชินราช",
        "road": "ถนนศรีธรรมไตรปิฎก",
        "quarter": "ในเมือง",
        "city": "เมืองพิษณุโลก",
        "state": "จังหวัดพิษณุโลก",
        "postcode": "65000",
        "country": "ประเทศไทย",
        "country_code": "th",
    },
    "boundingbox": ["16.8110", "16.8132", "100.2630", "100.2652"],
}
PROVINCE = {
    "place_id": 102,
    "osm_type": "relation",
    "osm_id": 2002,
    "lat": "16.8211",
    "lon": "100.2659",
    "class": "boundary",
    "type": "administrative",
    "place_rank": 8,
    "importance": 0.62,
    "addresstype": "province",
    "name": "จังหวัดพิษณุโลก",
    "display_name": "จังหวัดพิษณุโลก, ประเทศไทย",
    "address": {"state": "จังหวัดพิษณุโลก", "country": "ประเทศไทย", "country_code": "th"},
}
ABROAD = {
    "place_id": 103,
    "lat": "17.9757",
    "lon": "102.6331",
    "class": "place",
    "type": "city",
    "place_rank": 16,
    "importance": 0.7,
    "addresstype": "city",
    "name": "ນະຄອນຫຼວງວຽງຈັນ",
    "display_name": "Vientiane, Laos",
    "address": {"city": "Vientiane", "country_code": "la"},
}


@dataclass(frozen=True)
class Request:
    """One request the fake Nominatim received."""

    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    at: float


class FakeNominatim(ThreadingHTTPServer):
    """A Nominatim stand-in on 127.0.0.1 (random port) answering canned JSON."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.requests: list[Request] = []
        self.status = 200
        self.body: object = [HOSPITAL, PROVINCE, ABROAD]
        self.delay = 0.0

    @property
    def url(self) -> str:
        """Base URL of the server."""
        return f"http://127.0.0.1:{self.server_address[1]}"

    def handle_error(self, request, client_address) -> None:
        """A client that gave up waiting (the timeout test) breaks the pipe: not an error."""


class _Handler(BaseHTTPRequestHandler):
    """Records each request and answers the server's canned status and body."""

    server: FakeNominatim

    def do_GET(self) -> None:  # noqa: N802 - http.server naming
        """Answer GET /search?…"""
        parts = urlsplit(self.path)
        self.server.requests.append(
            Request(parts.path, parse_qs(parts.query), dict(self.headers), time.monotonic())
        )
        if self.server.delay:
            time.sleep(self.server.delay)
        body = self.server.body
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.send_response(self.server.status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        """Keep test output quiet."""


@pytest.fixture
def server():
    """A running fake Nominatim."""
    fake = FakeNominatim()
    thread = threading.Thread(target=fake.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    yield fake
    fake.shutdown()
    fake.server_close()
    thread.join(5)


def nominatim(url: str, **kwargs) -> NominatimGeocoder:
    """A geocoder for tests: no system proxies, short delays."""
    kwargs.setdefault("min_delay_seconds", 0.0)
    kwargs.setdefault("timeout", 2.0)
    return NominatimGeocoder(url, proxies={}, **kwargs)


def test_nominatim_request(server: FakeNominatim) -> None:
    """GET /search with q, format=json, countrycodes=th, Thai language and address details."""
    nominatim(server.url).geocode("  ต.ท่าทอง   อ.เมือง จ.พิษณุโลก ", limit=3)
    assert len(server.requests) == 1
    request = server.requests[0]
    assert request.path == "/search"
    assert request.query == {
        "q": ["ต.ท่าทอง อ.เมือง จ.พิษณุโลก"],
        "format": ["json"],
        "limit": ["3"],
        "countrycodes": ["th"],
        "addressdetails": ["1"],
        "accept-language": ["th"],
    }
    assert request.headers["User-Agent"] == geocoders.DEFAULT_USER_AGENT


def test_nominatim_url_with_a_path_prefix(server: FakeNominatim) -> None:
    """A server mounted under /nominatim is asked at /nominatim/search."""
    nominatim(server.url + "/nominatim/").geocode("พิษณุโลก")
    assert server.requests[0].path == "/nominatim/search"


def test_nominatim_results_map_to_candidates(server: FakeNominatim) -> None:
    """An amenity is a point with full codes; a province boundary keeps only the province."""
    found = nominatim(server.url).geocode("โรงพยาบาลพุทธชินราช")
    assert len(found) == 2  # the Lao result is dropped
    hospital, province = found
    nearest = gazetteer.nearest_subdistrict(16.8121, 100.2641)
    assert nearest is not None
    assert hospital == Candidate(
        lat=16.8121,
        lon=100.2641,
        precision="point",
        province_code="65",
        district_code=nearest.code[:4],
        subdistrict_code=nearest.code,
        label=f"โรงพยาบาลพุทธชินราช · {geocoders._label(nearest)}",
        score=hospital.score,
        source="nominatim",
    )
    assert hospital.label.startswith("โรงพยาบาลพุทธชินราช · ต.")
    assert (province.precision, province.province_code) == ("province", "65")
    assert (province.district_code, province.subdistrict_code) == (None, None)
    assert province.label == "จ.พิษณุโลก"
    assert 0 < province.score <= hospital.score <= 1.0  # Nominatim's order is kept


@pytest.mark.parametrize(
    ("raw", "precision"),
    [
        ({"class": "building", "type": "yes", "addresstype": "building"}, "point"),
        ({"class": "place", "type": "house", "addresstype": "place"}, "point"),
        ({"class": "amenity", "type": "police", "addresstype": "amenity"}, "point"),
        ({"class": "highway", "type": "residential", "addresstype": "road"}, "subdistrict"),
        ({"class": "place", "type": "village", "addresstype": "village"}, "subdistrict"),
        ({"class": "boundary", "type": "administrative", "addresstype": "county"}, "district"),
        ({"class": "boundary", "type": "administrative", "addresstype": "state"}, "province"),
        ({"class": "place", "type": "x", "place_rank": 30}, "point"),
        ({"class": "place", "type": "x", "place_rank": 12}, "district"),
        ({"class": "place", "type": "x", "place_rank": 8}, "province"),
        ({"category": "healthcare", "type": "clinic", "addresstype": "healthcare"}, "point"),
    ],
)
def test_nominatim_precision(raw: dict, precision: str) -> None:
    """Houses, buildings and amenities are points; the rest goes by addresstype or rank."""
    assert nominatim_precision(raw) == precision


def test_nominatim_cache(server: FakeNominatim) -> None:
    """The same question twice makes one request; a different limit is another question."""
    geocoder = nominatim(server.url)
    first = geocoder.geocode("โรงพยาบาลพุทธชินราช")
    second = geocoder.geocode(" โรงพยาบาลพุทธชินราช ")
    assert first == second and len(server.requests) == 1
    geocoder.geocode("โรงพยาบาลพุทธชินราช", limit=2)
    assert len(server.requests) == 2


def test_nominatim_cache_expires_and_evicts(server: FakeNominatim) -> None:
    """Entries live cache_ttl seconds; beyond cache_size the least recent one goes."""
    now = [0.0]
    geocoder = nominatim(server.url, cache_ttl=60.0, cache_size=2, clock=lambda: now[0])
    geocoder.geocode("a")
    now[0] = 59.0
    geocoder.geocode("a")
    assert len(server.requests) == 1
    now[0] = 61.0
    geocoder.geocode("a")
    assert len(server.requests) == 2
    geocoder.geocode("b")
    geocoder.geocode("c")  # evicts "a"
    geocoder.geocode("c")
    geocoder.geocode("a")
    assert [parse_qs_q(r) for r in server.requests] == ["a", "a", "b", "c", "a"]


def parse_qs_q(request: Request) -> str:
    """The q parameter of a recorded request."""
    return request.query["q"][0]


def test_nominatim_rate_limit(server: FakeNominatim) -> None:
    """Requests are spaced by min_delay_seconds (no retries); the default is one second."""
    geocoder = nominatim(server.url, min_delay_seconds=0.25)
    assert geocoder.rate_limiter.min_delay_seconds == 0.25
    assert geocoder.rate_limiter.max_retries == 0
    # NOTE: the limiter's own clock and sleep, not the wall clock: on a loaded machine the
    # arrival times at the server say little about the wait the limiter made.
    now, slept = [1000.0], []
    geocoder.rate_limiter._clock = lambda: now[0]

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    geocoder.rate_limiter._sleep = sleep
    geocoder.geocode("a")
    geocoder.geocode("b")
    geocoder.geocode("a")  # cached: no request, no wait
    assert len(server.requests) == 2
    assert slept == [pytest.approx(0.25)]  # the second request waited its turn, once
    default = make_geocoder({"NOMINATIM_URL": server.url})
    assert isinstance(default, NominatimGeocoder)
    assert default.rate_limiter.min_delay_seconds == 1.0


def test_nominatim_empty_answer_is_cached(server: FakeNominatim) -> None:
    """Nominatim knowing nothing gives [] (and the answer is remembered)."""
    server.body = []
    geocoder = nominatim(server.url)
    assert geocoder.geocode("ไม่มีที่นี่") == []
    assert geocoder.geocode("ไม่มีที่นี่") == []
    assert len(server.requests) == 1


def test_nominatim_answers_some_inputs_without_asking(server: FakeNominatim) -> None:
    """Empty or punctuation-only text and typed coordinates never reach the server."""
    geocoder = nominatim(server.url)
    assert geocoder.geocode("") == [] and geocoder.geocode(" !! ") == []
    assert geocoder.geocode(None) == []  # type: ignore[arg-type]
    point = geocoder.geocode("16.79, 100.26")
    assert point[0].precision == "point" and point[0].province_code == "65"
    assert geocoder.reverse(16.79, 100.26).province_code == "65"
    with pytest.raises(GeocodeError, match="outside Thailand"):
        geocoder.reverse(35.68, 139.69)
    assert server.requests == []


@pytest.mark.parametrize(
    ("status", "body", "delay"),
    [
        (500, {"error": "boom"}, 0.0),
        (503, b"Service Unavailable", 0.0),
        (200, b"<html>not json</html>", 0.0),
        (200, [HOSPITAL], 1.5),  # slower than the 0.3 s timeout
    ],
)
def test_nominatim_failure_is_unavailable(
    server: FakeNominatim, status: int, body: object, delay: float
) -> None:
    """Server errors, bad answers and timeouts raise GeocodeError('unavailable'), uncached."""
    server.status, server.body, server.delay = status, body, delay
    geocoder = nominatim(server.url, timeout=0.3)
    with pytest.raises(GeocodeError) as info:
        geocoder.geocode("ต.ท่าทอง")
    assert info.value.code == "unavailable"
    server.status, server.body, server.delay = 200, [HOSPITAL], 0.0
    assert geocoder.geocode("ต.ท่าทอง")[0].source == "nominatim"  # failure was not cached


def test_nominatim_connection_refused_is_unavailable() -> None:
    """Nobody listening: GeocodeError('unavailable')."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(GeocodeError) as info:
        nominatim(f"http://127.0.0.1:{port}").geocode("ต.ท่าทอง")
    assert info.value.code == "unavailable"


def test_nominatim_fallback_answers_offline(server: FakeNominatim) -> None:
    """With a fallback (make_geocoder's default), a failure gives the gazetteer's answer."""
    server.status, server.body = 500, {"error": "down"}
    geocoder = nominatim(server.url, fallback=GazetteerGeocoder())
    found = geocoder.geocode("ต.ท่าทอง อ.เมือง จ.พิษณุโลก")
    assert (found[0].source, found[0].subdistrict_code) == ("gazetteer", "650105")
    assert len(server.requests) == 1


def test_nominatim_with_urllib_adapter(server: FakeNominatim) -> None:
    """geopy's standard-library adapter works too (no requests package needed)."""
    found = nominatim(server.url, adapter_factory=URLLibAdapter).geocode("พุทธชินราช")
    assert [c.precision for c in found] == ["point", "province"]


def test_make_geocoder() -> None:
    """Gazetteer without NOMINATIM_URL; Nominatim with it; a malformed URL is refused."""
    assert isinstance(make_geocoder({}), GazetteerGeocoder)
    assert isinstance(make_geocoder({"NOMINATIM_URL": ""}), GazetteerGeocoder)
    geocoder = make_geocoder(
        {
            "NOMINATIM_URL": "https://geo.example.org:8443/nominatim",
            "NOMINATIM_MIN_DELAY": "0.5",
            "NOMINATIM_FALLBACK": "0",
            "NOMINATIM_USER_AGENT": "1300-test",
        }
    )
    assert isinstance(geocoder, NominatimGeocoder)
    assert geocoder.nominatim.api == "https://geo.example.org:8443/nominatim/search"
    assert geocoder.nominatim.headers["User-Agent"] == "1300-test"
    assert geocoder.rate_limiter.min_delay_seconds == 0.5
    assert geocoder.fallback is None
    defaults = make_geocoder({"NOMINATIM_URL": "http://127.0.0.1:8080", "NOMINATIM_TIMEOUT": None})
    assert isinstance(defaults, NominatimGeocoder)
    assert isinstance(defaults.fallback, GazetteerGeocoder)
    assert defaults.nominatim.timeout == 5.0 and defaults.cache.ttl == 24 * 3600.0
    with pytest.raises(ValueError):
        make_geocoder({"NOMINATIM_URL": "127.0.0.1:8080"})
