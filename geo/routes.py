"""Place pickers: province -> district -> subdistrict, and search in Thai and English."""

from __future__ import annotations

from flask import Blueprint, jsonify, request
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
