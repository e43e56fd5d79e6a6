"""Place pickers: province -> district -> subdistrict, and search in Thai and English."""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify, request
from flask_babel import gettext
from flask_login import login_required

from geo import gazetteer

bp = Blueprint("geo", __name__, url_prefix="/api/geo")


def _place(p: gazetteer.Place) -> dict:
    return {"code": p.code, "level": p.level, "name_th": p.name_th, "name_en": p.name_en,
            "parent_code": p.parent_code, "lat": p.lat, "lon": p.lon}


@bp.get("/provinces")
@login_required
def provinces():
    """All provinces."""
    return jsonify([_place(p) for p in gazetteer.provinces()])


@bp.get("/provinces/<code>/districts")
@login_required
def districts(code: str):
    """Districts of a province."""
    return jsonify([_place(p) for p in gazetteer.districts(code)])


@bp.get("/districts/<code>/subdistricts")
@login_required
def subdistricts(code: str):
    """Subdistricts of a district."""
    return jsonify([_place(p) for p in gazetteer.subdistricts(code)])


@bp.get("/search")
@login_required
def search():
    """Places whose Thai or English name matches `q`."""
    query = (request.args.get("q") or "")[:100]
    level = request.args.get("level") or None
    if level not in (None, "province", "district", "subdistrict"):
        level = None
    return jsonify([_place(p) for p in gazetteer.search(query, level=level, limit=20)])


@bp.get("/reverse")
@login_required
def reverse():
    """The subdistrict, district and province of a point (for a map click)."""
    try:
        lat = float(request.args.get("lat", ""))
        lon = float(request.args.get("lon", ""))
    except ValueError:
        return jsonify({"error": gettext("Enter a number.")}), 422
    found = gazetteer.nearest_subdistrict(lat, lon) if gazetteer.in_thailand(lat, lon) else None
    if found is None:
        return jsonify({"error": gettext("These coordinates are outside Thailand.")}), 422
    province, district, sub = gazetteer.lineage(found.code)
    return jsonify({"province": _place(province), "district": _place(district),
                    "subdistrict": _place(sub)})


@bp.get("/geocode")
@login_required
def geocode():
    """Candidates for an address typed in Thai or English, best first, each with its precision."""
    from geo.geocoders import GeocodeError

    query = (request.args.get("q") or "")[:300]
    try:
        found = current_app.extensions["geocoder"].geocode(query, limit=5)
    except GeocodeError:
        message = gettext("The address search is unavailable; use the pickers.")
        return jsonify({"error": message}), 503
    return jsonify([
        {"lat": c.lat, "lon": c.lon, "precision": c.precision, "label": c.label,
         "province_code": c.province_code, "district_code": c.district_code,
         "subdistrict_code": c.subdistrict_code, "score": round(c.score, 3)}
        for c in found
    ])
