"""Offline gazetteer of Thailand's provinces, districts and subdistricts, keyed by DOPA code."""

from __future__ import annotations

import csv
import gzip
import io
import math
import re
import threading
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "THAILAND_BBOX",
    "Place",
    "coverage",
    "districts",
    "get",
    "in_thailand",
    "lineage",
    "nearest_subdistrict",
    "provinces",
    "search",
    "subdistricts",
]

THAILAND_BBOX = (5.5, 97.3, 20.5, 105.7)  # min_lat, min_lon, max_lat, max_lon
DATA_PATH = Path(__file__).resolve().parent / "data" / "places.tsv.gz"
LEVELS = ("province", "district", "subdistrict")
_COLUMNS = ["code", "level", "name_th", "name_en", "parent_code", "lat", "lon", "postal_codes"]
_CODE_LENGTH = {"province": 2, "district": 4, "subdistrict": 6}
_EARTH_RADIUS_KM = 6371.0088
_CELL_DEG = 0.2
_BBOX_SPAN_DEG = max(THAILAND_BBOX[2] - THAILAND_BBOX[0], THAILAND_BBOX[3] - THAILAND_BBOX[1])
_MAX_RING = math.ceil(_BBOX_SPAN_DEG / _CELL_DEG) + 1
# Lower bound of km per degree of latitude or longitude anywhere in the bbox (cos 22° with margin).
_MIN_KM_PER_DEG = 111.32 * math.cos(math.radians(22.0)) * 0.99
_FOLD_MARKS = re.compile(r"[\s\-.'\u2019()]")
_LEVEL_WORD = re.compile(r"^(?:จังหวัด|กิ่งอำเภอ|อำเภอ|เขต|ตำบล|แขวง|จ\.|อ\.|ต\.)\s*")
_LEADING_VOWEL = re.compile("([เแโใไ])([ก-ฮ])")


@dataclass(frozen=True, slots=True)
class Place:
    """A province, district or subdistrict of Thailand."""

    code: str  # DOPA code: '65' / '6501' / '650101'
    level: str  # 'province' | 'district' | 'subdistrict'
    name_th: str
    name_en: str
    parent_code: str | None
    lat: float | None
    lon: float | None
    postal_codes: tuple[str, ...]

    @property
    def province_code(self) -> str:
        """The two-digit code of the province this place is in."""
        return self.code[:2]


class _Index:
    """The table and its lookup structures, built once."""

    __slots__ = ("by_code", "children", "counts", "folded", "grid", "nearest", "provinces")

    def __init__(self, places: list[Place]) -> None:
        """Build every index from the list of places."""
        self.by_code: dict[str, Place] = {p.code: p for p in places}
        children: dict[str, list[Place]] = {}
        for p in places:
            if p.parent_code is not None:
                children.setdefault(p.parent_code, []).append(p)
        self.children = {k: tuple(sorted(v, key=lambda p: p.code)) for k, v in children.items()}
        self.provinces = tuple(
            sorted(
                (p for p in places if p.level == "province"),
                key=lambda p: (_thai_sort_key(p.name_th), p.code),
            )
        )
        self.folded = tuple((p, _fold(p.name_th), _fold(p.name_en)) for p in places)
        self.grid: dict[tuple[int, int], list[Place]] = {}
        # Recent answers of nearest_subdistrict: a report's point is looked up by its check,
        # its dedupe query and its new incident (3 searches of ~70 places each, one answer).
        self.nearest: dict[tuple[float, float], Place | None] = {}
        counts = dict.fromkeys(LEVELS, 0) | {f"{lv}_with_coords": 0 for lv in LEVELS}
        for p in places:
            counts[p.level] += 1
            if p.lat is not None and p.lon is not None:
                counts[f"{p.level}_with_coords"] += 1
                if p.level == "subdistrict":
                    self.grid.setdefault(_cell(p.lat, p.lon), []).append(p)
        self.counts = counts


_lock = threading.Lock()
_index: _Index | None = None


def _fold(text: str) -> str:
    """Fold a name or query for matching: case, spacing, punctuation and a leading level word."""
    return _FOLD_MARKS.sub("", _LEVEL_WORD.sub("", text.strip().casefold()))


def _thai_sort_key(name: str) -> str:
    """Dictionary-order key for Thai: a leading vowel sorts after its consonant."""
    return _LEADING_VOWEL.sub(r"\2\1", name)


def _cell(lat: float, lon: float) -> tuple[int, int]:
    """Grid cell holding a point."""
    return (
        math.floor((lat - THAILAND_BBOX[0]) / _CELL_DEG),
        math.floor((lon - THAILAND_BBOX[1]) / _CELL_DEG),
    )


def _haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in kilometres."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * _EARTH_RADIUS_KM * math.asin(math.sqrt(a))


def _float_or_none(text: str) -> float | None:
    """Parse an optional coordinate field."""
    return float(text) if text else None


def _read_places(path: Path) -> list[Place]:
    """Parse the gzip TSV table."""
    with gzip.open(path, "rt", encoding="utf-8", newline="") as fh:
        lines = [line for line in fh if not line.startswith("#")]
    reader = csv.reader(io.StringIO("".join(lines)), delimiter="\t", quoting=csv.QUOTE_NONE)
    header = next(reader)
    if header != _COLUMNS:
        raise ValueError(f"{path}: unexpected columns {header}")
    places = []
    for code, level, name_th, name_en, parent, lat, lon, postal in reader:
        places.append(
            Place(
                code=code,
                level=level,
                name_th=name_th,
                name_en=name_en,
                parent_code=parent or None,
                lat=_float_or_none(lat),
                lon=_float_or_none(lon),
                postal_codes=tuple(postal.split(",")) if postal else (),
            )
        )
    return places


def _load() -> _Index:
    """The index, read from disk on first use (thread-safe)."""
    global _index
    index = _index
    if index is None:
        with _lock:
            if _index is None:
                _index = _Index(_read_places(DATA_PATH))
            index = _index
    return index


def _code(value: object) -> str | None:
    """A code argument as a stripped string, or None if it is not a string."""
    return value.strip() if isinstance(value, str) else None


def _coord(value: object) -> float | None:
    """A finite float from a numeric argument, or None."""
    if value is None or isinstance(value, (bool, str, bytes)):
        return None
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError, OverflowError):
        return None
    return number if math.isfinite(number) else None


def provinces() -> list[Place]:
    """All 77 provinces, sorted by Thai name."""
    return list(_load().provinces)


def districts(province_code: str) -> list[Place]:
    """Districts of a province sorted by code; [] for an unknown province code."""
    code = _code(province_code)
    if code is None or len(code) != 2:
        return []
    return list(_load().children.get(code, ()))


def subdistricts(district_code: str) -> list[Place]:
    """Subdistricts of a district sorted by code; [] for an unknown district code."""
    code = _code(district_code)
    if code is None or len(code) != 4:
        return []
    return list(_load().children.get(code, ()))


def get(code: str) -> Place | None:
    """The place with this DOPA code, or None."""
    key = _code(code)
    return None if key is None else _load().by_code.get(key)


def search(
    query: str, *, level: str | None = None, within: str | None = None, limit: int = 20
) -> list[Place]:
    """Places whose Thai or English name contains the query, prefix matches first."""
    if not isinstance(query, str) or not isinstance(limit, int) or limit <= 0:
        return []
    if level is not None and level not in LEVELS:
        return []
    prefix = ""
    if within is not None:
        prefix = _code(within) or ""
        if not prefix:
            return []
    needle = _fold(query)
    if not needle:
        return []
    ranked = []
    for place, th, en in _load().folded:
        if level is not None and place.level != level:
            continue
        if prefix and not place.code.startswith(prefix):
            continue
        if th.startswith(needle) or en.startswith(needle):
            rank = 0 if needle in (th, en) else 1
        elif needle in th or needle in en:
            rank = 2
        else:
            continue
        ranked.append((rank, _CODE_LENGTH[place.level], place.code, place))
    ranked.sort(key=lambda r: r[:3])
    return [r[3] for r in ranked[:limit]]


def in_thailand(lat: float, lon: float) -> bool:
    """True if the point lies inside Thailand's bounding box (THAILAND_BBOX)."""
    la, lo = _coord(lat), _coord(lon)
    if la is None or lo is None:
        return False
    min_lat, min_lon, max_lat, max_lon = THAILAND_BBOX
    return min_lat <= la <= max_lat and min_lon <= lo <= max_lon


def nearest_subdistrict(lat: float, lon: float) -> Place | None:
    """The subdistrict whose point is nearest (haversine); None outside Thailand's bbox."""
    if not in_thailand(lat, lon):
        return None
    la, lo = float(lat), float(lon)
    index = _load()
    known = index.nearest.get((la, lo), _MISSING)
    if known is not _MISSING:
        return known
    best = _nearest(index.grid, la, lo)
    if len(index.nearest) >= _NEAREST_KEPT:
        index.nearest.clear()  # NOTE: bounded; recent points come back at once anyway.
    index.nearest[(la, lo)] = best
    return best


_MISSING = object()
_NEAREST_KEPT = 4096


def _nearest(grid: dict[tuple[int, int], list[Place]], la: float, lo: float) -> Place | None:
    ci, cj = _cell(la, lo)
    best: Place | None = None
    best_km = math.inf
    for ring in range(_MAX_RING + 1):
        for i in range(ci - ring, ci + ring + 1):
            edge = i in (ci - ring, ci + ring)
            for j in range(cj - ring, cj + ring + 1) if edge else (cj - ring, cj + ring):
                for place in grid.get((i, j), ()):
                    km = _haversine_km(la, lo, place.lat, place.lon)  # type: ignore[arg-type]
                    if km < best_km or (km == best_km and best and place.code < best.code):
                        best, best_km = place, km
        # Cells beyond this ring are at least ring * _CELL_DEG degrees away on some axis.
        if best is not None and best_km <= ring * _CELL_DEG * _MIN_KM_PER_DEG:
            break
    return best


def coverage() -> dict[str, int]:
    """Counts per level ('province', ...) and with coordinates ('province_with_coords', ...)."""
    return dict(_load().counts)


def lineage(code: str) -> tuple[Place | None, Place | None, Place | None]:
    """(province, district, subdistrict) for a code of any level; all None if unknown."""
    place = get(code)
    if place is None:
        return (None, None, None)
    index = _load()
    province = index.by_code.get(place.code[:2])
    district = index.by_code.get(place.code[:4]) if place.level != "province" else None
    subdistrict = place if place.level == "subdistrict" else None
    return (province, district, subdistrict)
