"""Tests of the bundled offline gazetteer."""

from __future__ import annotations

import dataclasses
import math
import random
import threading
import time

import pytest

from geo import gazetteer
from geo.gazetteer import THAILAND_BBOX, Place


def _near(place: Place | None, lat: float, lon: float, tol: float) -> bool:
    """True if the place has coordinates within tol degrees of (lat, lon)."""
    assert place is not None and place.lat is not None and place.lon is not None
    return abs(place.lat - lat) <= tol and abs(place.lon - lon) <= tol


# --------------------------------------------------------------------------- table


def test_bundled_table_is_small() -> None:
    """The gzip table ships with the app and stays well under 1 MB."""
    assert gazetteer.DATA_PATH.is_file()
    assert gazetteer.DATA_PATH.stat().st_size < 400_000


def test_coverage_exact_counts() -> None:
    """Every DOPA unit is present; coordinates for all but 123 subdistricts."""
    assert gazetteer.coverage() == {
        "province": 77,
        "district": 928,
        "subdistrict": 7436,
        "province_with_coords": 77,
        "district_with_coords": 928,
        "subdistrict_with_coords": 7313,
    }


def test_coverage_returns_a_copy() -> None:
    """Mutating the returned dict does not change later answers."""
    gazetteer.coverage()["province"] = 0
    assert gazetteer.coverage()["province"] == 77


def test_codes_parents_postal_codes_and_coordinates_are_consistent() -> None:
    """Code lengths, parent links, postal codes and bbox hold for every place."""
    lengths = {"province": 2, "district": 4, "subdistrict": 6}
    seen = 0
    for province in gazetteer.provinces():
        assert province.parent_code is None and len(province.code) == 2
        for district in gazetteer.districts(province.code):
            assert district.parent_code == province.code
            for sub in gazetteer.subdistricts(district.code):
                assert sub.parent_code == district.code
                assert sub.province_code == province.code
                assert sub.postal_codes and all(
                    len(pc) == 5 and pc.isdigit() for pc in sub.postal_codes
                )
                seen += 1
    assert seen == 7436
    for code in ("10", "1001", "100101", "65", "6501", "650105"):
        place = gazetteer.get(code)
        assert place is not None and len(place.code) == lengths[place.level]
    for province in gazetteer.provinces():
        assert gazetteer.in_thailand(province.lat, province.lon)


# --------------------------------------------------------------------------- known places


def test_phitsanulok_province_district_subdistrict() -> None:
    """Phitsanulok 65, Mueang Phitsanulok 6501, Tha Thong 650105."""
    province = gazetteer.get("65")
    assert province is not None
    assert (province.level, province.name_th, province.name_en) == (
        "province",
        "พิษณุโลก",
        "Phitsanulok",
    )
    assert province.parent_code is None and province.province_code == "65"
    assert _near(province, 16.9, 100.4, 0.5)
    assert "65000" in province.postal_codes

    district = gazetteer.get("6501")
    assert district is not None
    assert (district.level, district.name_th, district.name_en, district.parent_code) == (
        "district",
        "เมืองพิษณุโลก",
        "Mueang Phitsanulok",
        "65",
    )
    assert _near(district, 16.82, 100.26, 0.15)
    assert len(gazetteer.districts("65")) == 9
    assert len(gazetteer.subdistricts("6501")) == 20

    tha_thong = gazetteer.get("650105")
    assert tha_thong is not None
    assert (tha_thong.level, tha_thong.name_th, tha_thong.name_en) == (
        "subdistrict",
        "ท่าทอง",
        "Tha Thong",
    )
    assert tha_thong.parent_code == "6501" and tha_thong.province_code == "65"
    assert tha_thong.postal_codes == ("65000",)
    assert _near(tha_thong, 16.80, 100.20, 0.05)
    nai_mueang = gazetteer.get("650101")
    assert nai_mueang is not None and nai_mueang.name_th == "ในเมือง"


def test_chiang_mai() -> None:
    """Chiang Mai 50 and its capital district 5001."""
    province = gazetteer.get("50")
    assert province is not None and province.name_th == "เชียงใหม่"
    assert province.name_en == "Chiang Mai"
    assert _near(province, 18.8, 98.9, 0.6)
    district = gazetteer.get("5001")
    assert district is not None and district.name_en == "Mueang Chiang Mai"
    assert _near(district, 18.79, 98.99, 0.1)


def test_bangkok_khet_and_khwaeng_without_prefix() -> None:
    """Bangkok 10: 50 khet named without เขต, khwaeng without แขวง."""
    bangkok = gazetteer.get("10")
    assert bangkok is not None and bangkok.name_th == "กรุงเทพมหานคร"
    khet = gazetteer.districts("10")
    assert len(khet) == 50
    assert not [d for d in khet if d.name_th.startswith(("เขต", "แขวง"))]
    phra_nakhon = gazetteer.get("1001")
    assert phra_nakhon is not None
    assert (phra_nakhon.name_th, phra_nakhon.name_en) == ("พระนคร", "Phra Nakhon")
    palace = gazetteer.get("100101")
    assert palace is not None
    assert palace.name_th == "พระบรมมหาราชวัง" and palace.name_en == "Phra Borom Maha Ratchawang"
    assert palace.parent_code == "1001" and palace.postal_codes == ("10200",)
    assert _near(palace, 13.751, 100.492, 0.01)
    khwaeng = [s for d in khet for s in gazetteer.subdistricts(d.code)]
    assert len(khwaeng) == 180
    assert not [s for s in khwaeng if s.name_th.startswith(("แขวง", "เขต"))]


def test_renamed_and_split_subdistricts_have_coordinates() -> None:
    """Coordinates follow renames/splits: Mae Long (ex Sop Khong), Bang Na Nuea/Tai, Ko Tao."""
    assert _near(gazetteer.get("501805"), 17.65, 98.22, 0.05)
    assert _near(gazetteer.get("104702"), 13.67, 100.62, 0.05)
    assert _near(gazetteer.get("104703"), 13.67, 100.62, 0.05)
    assert _near(gazetteer.get("840503"), 10.1, 99.84, 0.1)


def test_provinces_sorted_by_thai_name() -> None:
    """77 provinces in Thai dictionary order (leading vowels sort after their consonant)."""
    names = [p.name_th for p in gazetteer.provinces()]
    assert len(names) == 77 and len(set(names)) == 77
    assert names[0] == "กระบี่"
    assert names.index("ชุมพร") < names.index("เชียงราย") < names.index("เชียงใหม่")
    assert names.index("เชียงใหม่") < names.index("ตรัง")


def test_lineage() -> None:
    """Lineage works from any level and is all None for unknown codes."""
    p, d, s = gazetteer.lineage("650105")
    assert (p.code, d.code, s.code) == ("65", "6501", "650105")  # type: ignore[union-attr]
    p, d, s = gazetteer.lineage("1001")
    assert (p.code, d.code, s) == ("10", "1001", None)  # type: ignore[union-attr]
    p, d, s = gazetteer.lineage("50")
    assert (p.code, d, s) == ("50", None, None)  # type: ignore[union-attr]
    assert gazetteer.lineage("659999") == (None, None, None)
    assert gazetteer.lineage("") == (None, None, None)


def test_place_is_frozen() -> None:
    """Place is immutable."""
    place = gazetteer.get("65")
    assert place is not None
    with pytest.raises(dataclasses.FrozenInstanceError):
        place.name_en = "x"  # type: ignore[misc]


# --------------------------------------------------------------------------- bad input


@pytest.mark.parametrize("code", ["", "00", "99", "6599", "659999", "abc", " ", "6501050"])
def test_unknown_codes(code: str) -> None:
    """Unknown codes give None / empty lists."""
    assert gazetteer.get(code) is None
    assert gazetteer.districts(code) == []
    assert gazetteer.subdistricts(code) == []


@pytest.mark.parametrize("bad", [None, 65, 6501.0, b"65", ["65"]])
def test_non_string_codes_raise_nothing(bad: object) -> None:
    """Wrong types give None / empty results, never an exception."""
    assert gazetteer.get(bad) is None  # type: ignore[arg-type]
    assert gazetteer.districts(bad) == []  # type: ignore[arg-type]
    assert gazetteer.subdistricts(bad) == []  # type: ignore[arg-type]
    assert gazetteer.lineage(bad) == (None, None, None)  # type: ignore[arg-type]
    assert gazetteer.search(bad) == []  # type: ignore[arg-type]


def test_wrong_level_children() -> None:
    """districts() wants a province code, subdistricts() a district code."""
    assert gazetteer.districts("6501") == []
    assert gazetteer.subdistricts("65") == []
    assert gazetteer.subdistricts("650105") == []
    assert [d.code for d in gazetteer.districts(" 65 ")][:1] == ["6501"]


# --------------------------------------------------------------------------- search


def test_search_thai_and_english() -> None:
    """Thai and English names both match, case-insensitively."""
    assert gazetteer.search("พิษณุโลก")[0].code == "65"
    assert gazetteer.search("phitsanulok")[0].code == "65"
    assert gazetteer.search("PHITSANULOK")[0].code == "65"
    assert gazetteer.search("เชียงใหม่", level="province")[0].code == "50"
    assert [p.code for p in gazetteer.search("Chiang Mai", level="province")] == ["50"]
    assert [p.code for p in gazetteer.search("ท่าทอง", within="65")] == ["650105"]
    assert [p.code for p in gazetteer.search("tha thong", within="6501")] == ["650105"]
    assert "650105" in [p.code for p in gazetteer.search("Tha Thong", level="subdistrict")]


def test_search_ignores_level_words_spaces_and_hyphens() -> None:
    """'จ.', 'อำเภอ', 'เขต', spaces and hyphens do not prevent a match."""
    assert gazetteer.search("จ.พิษณุโลก")[0].code == "65"
    assert gazetteer.search("อำเภอเมืองพิษณุโลก")[0].code == "6501"
    assert gazetteer.search("เขตพระนคร", level="district")[0].code == "1001"
    assert gazetteer.search("kophangan", level="district")[0].code == "8405"
    assert gazetteer.search("chiangmai")[0].code == "50"


def test_search_prefix_matches_come_first() -> None:
    """All prefix matches precede substring matches."""
    results = gazetteer.search("chiang mai", limit=50)
    codes = [p.code for p in results]
    assert codes[0] == "50" and "5001" in codes
    folded = [(p.name_th.casefold(), p.name_en.casefold().replace(" ", "")) for p in results]
    is_prefix = [th.startswith("เชียงใหม่") or en.startswith("chiangmai") for th, en in folded]
    assert is_prefix == sorted(is_prefix, reverse=True)
    assert is_prefix[0] and not is_prefix[-1]


def test_search_limits_and_filters() -> None:
    """limit, level and within restrict results; bad values give []."""
    assert len(gazetteer.search("บ้าน", limit=5)) == 5
    assert len(gazetteer.search("บ้าน")) == 20
    assert all(p.level == "district" for p in gazetteer.search("บาง", level="district"))
    assert all(p.code.startswith("10") for p in gazetteer.search("บาง", within="10", limit=100))
    assert gazetteer.search("") == []
    assert gazetteer.search("   ") == []
    assert gazetteer.search("พิษณุโลก", level="village") == []
    assert gazetteer.search("พิษณุโลก", limit=0) == []
    assert gazetteer.search("พิษณุโลก", within="99") == []
    assert gazetteer.search("zzzzqqq") == []


# --------------------------------------------------------------------------- geometry


def test_in_thailand() -> None:
    """The bbox check accepts Thai points and rejects others and garbage."""
    assert THAILAND_BBOX == (5.5, 97.3, 20.5, 105.7)
    assert gazetteer.in_thailand(16.8211, 100.2659)
    assert gazetteer.in_thailand(5.5, 97.3) and gazetteer.in_thailand(20.5, 105.7)
    assert not gazetteer.in_thailand(1.3521, 103.8198)  # Singapore
    assert not gazetteer.in_thailand(35.68, 139.69)  # Tokyo
    assert not gazetteer.in_thailand(16.8, 95.0)
    assert not gazetteer.in_thailand(math.nan, 100.0)
    assert not gazetteer.in_thailand(None, None)  # type: ignore[arg-type]
    assert not gazetteer.in_thailand("16.8", "100.2")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("lat", "lon", "province", "district"),
    [
        (16.8211, 100.2659, "65", "6501"),  # Phitsanulok town
        (18.7883, 98.9853, "50", "5001"),  # Chiang Mai old city
        (13.7500, 100.4913, "10", "1001"),  # Grand Palace, Bangkok
        (7.8804, 98.3923, "83", "8301"),  # Phuket town
        (7.0086, 100.4747, "90", "9011"),  # Hat Yai
        (16.4322, 102.8236, "40", "4001"),  # Khon Kaen
        (10.0956, 99.8404, "84", "8405"),  # Ko Tao
    ],
)
def test_nearest_subdistrict_known_points(
    lat: float, lon: float, province: str, district: str
) -> None:
    """Points in known towns fall in the right province and district."""
    place = gazetteer.nearest_subdistrict(lat, lon)
    assert place is not None and place.level == "subdistrict"
    assert place.province_code == province
    assert place.parent_code == district


def test_nearest_subdistrict_exact_points() -> None:
    """A subdistrict's own point resolves to it."""
    assert gazetteer.nearest_subdistrict(16.798, 100.197).code == "650105"  # type: ignore[union-attr]
    assert gazetteer.nearest_subdistrict(13.751, 100.492).code == "100101"  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("lat", "lon"),
    [(1.3521, 103.8198), (35.68, 139.69), (21.0, 100.0), (13.0, 106.0), (-16.8, -100.2)],
)
def test_nearest_subdistrict_outside_thailand(lat: float, lon: float) -> None:
    """Outside the bbox there is no answer."""
    assert gazetteer.nearest_subdistrict(lat, lon) is None


def test_nearest_subdistrict_bad_input() -> None:
    """Garbage coordinates give None."""
    assert gazetteer.nearest_subdistrict(math.nan, 100.0) is None
    assert gazetteer.nearest_subdistrict(None, None) is None  # type: ignore[arg-type]
    assert gazetteer.nearest_subdistrict("a", "b") is None  # type: ignore[arg-type]
    assert gazetteer.nearest_subdistrict(math.inf, 100.0) is None


def test_nearest_subdistrict_matches_brute_force() -> None:
    """The grid index finds the same nearest point as a linear scan."""
    placed = [
        s
        for p in gazetteer.provinces()
        for d in gazetteer.districts(p.code)
        for s in gazetteer.subdistricts(d.code)
        if s.lat is not None and s.lon is not None
    ]
    assert len(placed) == 7313
    rng = random.Random(20260101)
    for _ in range(60):
        lat = rng.uniform(THAILAND_BBOX[0], THAILAND_BBOX[2])
        lon = rng.uniform(THAILAND_BBOX[1], THAILAND_BBOX[3])
        got = gazetteer.nearest_subdistrict(lat, lon)
        assert got is not None
        best = min(gazetteer._haversine_km(lat, lon, s.lat, s.lon) for s in placed)  # type: ignore[arg-type]
        assert gazetteer._haversine_km(lat, lon, got.lat, got.lon) == pytest.approx(best)  # type: ignore[arg-type]


def test_nearest_subdistrict_is_fast() -> None:
    """Interactive use: well under 5 ms per lookup on average."""
    gazetteer.coverage()
    rng = random.Random(7)
    points = [
        (
            rng.uniform(THAILAND_BBOX[0], THAILAND_BBOX[2]),
            rng.uniform(THAILAND_BBOX[1], THAILAND_BBOX[3]),
        )
        for _ in range(300)
    ]
    start = time.perf_counter()
    for lat, lon in points:
        gazetteer.nearest_subdistrict(lat, lon)
    assert (time.perf_counter() - start) / len(points) < 0.005


# --------------------------------------------------------------------------- loading


def test_lazy_load_is_thread_safe(monkeypatch: pytest.MonkeyPatch) -> None:
    """Concurrent first calls read the table once and share one index."""
    calls = []
    real = gazetteer._read_places

    def counting(path):  # type: ignore[no-untyped-def]
        calls.append(path)
        time.sleep(0.05)
        return real(path)

    monkeypatch.setattr(gazetteer, "_index", None)
    monkeypatch.setattr(gazetteer, "_read_places", counting)
    results: list[int] = []
    barrier = threading.Barrier(8)

    def worker() -> None:
        barrier.wait()
        results.append(len(gazetteer.provinces()))

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [77] * 8
    assert len(calls) == 1
