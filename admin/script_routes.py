"""Guided-intake scripts (issue 14): the administrators' pages beside /admin/categories (each
category's script, its versions read-only, a form that saves a new version; JSON too), and the
call-taker desk's panel (GET /admin/api/intake-guide: the current script and the agencies
serving the caller's area). On the admin blueprint (admin/routes.py imports this module); routes
are thin: admin/scripts.py does the work."""

from __future__ import annotations

from flask import jsonify, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_login import current_user

from admin import scripts
from admin.routes import bp
from console.errors import N_, Forbidden, ValidationFailed
from console.web import db, desk_required, json_body, translate, wants_json


def _thai() -> bool:
    return str(get_locale() or "th").startswith("th")


def _check_read() -> None:
    if not scripts.may_read(current_user):
        raise Forbidden(N_("Your role cannot use this desk."))


def _names(rows) -> dict[int, str]:
    from sqlalchemy import select

    from console.models import User

    ids = {r.created_by_id for r in rows if r.created_by_id}
    return dict(db().execute(select(User.id, User.display_name).where(User.id.in_(ids))).all()
                ) if ids else {}


def _version_json(script, names) -> dict:
    return {"id": script.id, "category": script.category, "version": script.version,
            **{k: getattr(script, k) for k in scripts.CONTENT}, "note": script.note,
            "created_at": script.created_at.isoformat(),
            "created_by": names.get(script.created_by_id, "")}


@bp.get("/intake-scripts")
@desk_required("centre")
def scripts_page():
    """Every intake category with the version of its script in use."""
    from console.routes import page_context

    _check_read()
    rows = scripts.overview(session=db())
    if wants_json():
        return jsonify([{"category": s.code.value, "version": cur.version if cur else None,
                         "id": cur.id if cur else None} for s, cur in rows])
    return render_template("admin_scripts.html", rows=rows, thai=_thai(), setting=None,
                           ctx=page_context())


def _edit_page(category: str, *, values=None, errors=None, status=200):
    from console.routes import page_context

    _check_read()
    setting = next((s for s, _ in scripts.overview(session=db())
                    if s.code.value == category), None)
    if setting is None:
        from console.errors import NotFound

        raise NotFound("category")
    history = scripts.versions(session=db(), category=category)
    shown = history[0] if history else None
    version = request.args.get("version", "")
    if version.isdigit() and len(version) < 6:
        shown = scripts.get_version(session=db(), category=category, version=int(version))
    if values is None and history:
        values = {k: "\n".join(getattr(history[0], k)) for k in scripts.CONTENT}
    body = render_template(
        "admin_scripts.html", rows=None, setting=setting, history=history, shown=shown,
        current=history[0] if history else None, names=_names(history), values=values or {},
        errors=errors or {}, editable=scripts.may_edit(current_user), thai=_thai(),
        ctx=page_context())
    return body, status


@bp.get("/intake-scripts/<category>")
@desk_required("centre")
def script_page(category: str):
    """A category's script: the version in use (or the one asked for, read-only), every
    version with who saved it and when, and the form that saves a new version."""
    _check_read()
    if wants_json():
        scripts._category(category)
        history = scripts.versions(session=db(), category=category)
        names = _names(history)
        return jsonify({"category": category,
                        "versions": [_version_json(s, names) for s in history]})
    return _edit_page(category)


@bp.post("/intake-scripts/<category>")
@desk_required("centre")
def save_script(category: str):
    """Save the form (or JSON) as a new version of the category's script."""
    _check_read()
    if request.is_json:
        data = json_body()
    else:
        data = {k: request.form.get(k, "") for k in (*scripts.CONTENT, "note",
                                                       "base_version")}
    sent = dict(data) if isinstance(data, dict) else {}
    try:
        script, made = scripts.save_script(session=db(), actor=current_user,
                                           category=category, data=data)
    except ValidationFailed as exc:
        if wants_json():
            raise
        db().rollback()
        return _edit_page(category, values=sent, status=422,
                          errors={k: translate(m, p) for k, (m, p) in exc.errors.items()})
    names = _names([script])
    db().commit()
    if wants_json():
        return jsonify({"created": made, "script": _version_json(script, names)}), (
            201 if made else 200)
    return redirect(url_for("admin.script_page", category=category,
                            saved=1 if made else 0))


@bp.get("/api/intake-guide")
@desk_required("calls")
def intake_guide():
    """The call-taker desk's guided-intake panel: the category's current script and the
    agencies of the directory serving the caller's area (province, district) for it."""
    from admin.routes import _option_label

    script, agencies = scripts.guide(
        session=db(), actor=current_user, category=request.args.get("category", ""),
        province_code=request.args.get("province_code") or None,
        district_code=request.args.get("district_code") or None)
    thai = _thai()
    return jsonify({
        "category": request.args.get("category"),
        "script": scripts.script_payload(script, thai=thai) if script else None,
        "agencies": [scripts.agency_payload(a, thai=thai,
                                            kind_label=_option_label("agency_kind",
                                                                     a.kind.value))
                     for a in agencies]})
