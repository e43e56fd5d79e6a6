"""Case endpoints for the case worker desk."""

from __future__ import annotations

from flask import Blueprint, jsonify
from flask_login import current_user

from cases import events, service
from console.web import db, desk_required

bp = Blueprint("cases", __name__, url_prefix="/api/cases")


@bp.get("")
@desk_required("cases")
def list_cases():
    """Cases in the user's scope, newest first."""
    return jsonify([events.case_payload(c)
                    for c in service.list_cases(session=db(), user=current_user)])
