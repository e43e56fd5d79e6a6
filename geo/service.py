"""Pure geography: resolve a location to codes and coordinates, distances."""

from __future__ import annotations

import math
from dataclasses import dataclass

from console.errors import N_, ValidationFailed
from geo import gazetteer

EARTH_RADIUS_KM = 6371.0088
# Rough radius of the area a centroid stands for, shown beside imprecise locations.
PRECISION_RADIUS_KM = {"point": 0.0, "subdistrict": 3.0, "district": 15.0, "province": 50.0}


# A point this close to a province's subdistrict centres may be filed under that province.
BORDER_TOLERANCE_KM = 10.0


def distance_to_province_km(lat: float, lon: float, province_code: str) -> float:
    """Distance from a point to the nearest subdistrict centre of a province."""
    best = math.inf
    for district in gazetteer.districts(province_code):
        for sub in gazetteer.subdistricts(district.code):
            if sub.lat is not None:
                best = min(best, haversine_km(lat, lon, sub.lat, sub.lon))
    return best


@dataclass(frozen=True, slots=True)
class ResolvedLocation:
    """A location with its administrative codes, coordinates and how exact they are."""

    province_code: str
    district_code: str | None
    subdistrict_code: str | None
    lat: float | None
    lon: float | None
    precision: str


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in kilometres."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(math.sqrt(a))


def resolve_location(
    *,
    lat: float | None,
    lon: float | None,
    province_code: str | None,
    district_code: str | None,
    subdistrict_code: str | None,
) -> ResolvedLocation:
    """Check codes against the gazetteer and fill what is missing; raise ValidationFailed."""
    errors: dict[str, tuple[str, dict]] = {}
    if lat is not None and lon is not None and not gazetteer.in_thailand(lat, lon):
        errors["lat"] = (N_("These coordinates are outside Thailand."), {})
    province = gazetteer.get(province_code) if province_code else None
    if province_code and (province is None or province.level != "province"):
        errors["province_code"] = (N_("Unknown province."), {})
    district = gazetteer.get(district_code) if district_code else None
    if district_code and province is not None and (
        district is None or district.level != "district" or district.parent_code != province_code
    ):
        errors["district_code"] = (N_("This district is not in the chosen province."), {})
    sub = gazetteer.get(subdistrict_code) if subdistrict_code else None
    if subdistrict_code and province is not None and "district_code" not in errors and (
        sub is None or sub.level != "subdistrict" or sub.parent_code != district_code
    ):
        errors["subdistrict_code"] = (N_("This subdistrict is not in the chosen district."), {})
    if errors:
        raise ValidationFailed(errors)

    if lat is not None and lon is not None:
        if province is None:
            found = gazetteer.nearest_subdistrict(lat, lon)
            if found is None:
                raise ValidationFailed({"lat": (N_("These coordinates are outside Thailand."), {})})
            prov, dist, _ = gazetteer.lineage(found.code)
            return ResolvedLocation(
                prov.code, dist.code if dist else None, found.code, lat, lon, "point"
            )
        found = gazetteer.nearest_subdistrict(lat, lon)
        if found is not None and found.province_code != province.code and (
            distance_to_province_km(lat, lon, province.code) > BORDER_TOLERANCE_KM
        ):
            there = gazetteer.get(found.province_code)
            raise ValidationFailed({"lat": (
                N_("These coordinates are in %(province)s, not in the chosen province."),
                {"province": there.name_th if there else found.province_code},
            )})
        if found is not None and found.province_code == province.code and not district_code:
            # A map click inside the chosen province: take its district and subdistrict too.
            district_code, subdistrict_code = found.parent_code, found.code
        return ResolvedLocation(
            province.code, district_code, subdistrict_code, lat, lon, "point"
        )
    # NOTE: a few subdistricts have no coordinate in the gazetteer: fall back to the district.
    finest = next(p for p in (sub, district, province) if p is not None and p.lat is not None)
    return ResolvedLocation(
        province.code, district_code, subdistrict_code, finest.lat, finest.lon, finest.level
    )


@dataclass(frozen=True, slots=True)
class TravelSettings:
    """How straight-line distance becomes an estimated travel time."""

    road_factor: float = 1.4
    urban_kmh: float = 25.0
    rural_kmh: float = 50.0


def area_type(province_code: str | None, district_code: str | None) -> str:
    """'urban' for Bangkok and provincial-seat (เมือง...) districts, else 'rural'."""
    if province_code == "10":
        return "urban"
    district = gazetteer.get(district_code) if district_code else None
    if district is not None and district.name_th.startswith("เมือง"):
        return "urban"
    return "rural"


def travel_minutes(distance_km: float, area: str, settings: TravelSettings) -> float:
    """Estimated minutes by road: geodesic distance x road factor at the area's speed."""
    speed = settings.urban_kmh if area == "urban" else settings.rural_kmh
    return distance_km * settings.road_factor / speed * 60.0
