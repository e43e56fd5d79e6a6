"""The admin area (/admin/teams, /admin/agencies, /admin/lines, /admin/categories): a page per
kind with its rows, a form to add or change one, CSV export and import. Routes are thin: the
form, the JSON API and the CSV all go through admin/service.save."""

from __future__ import annotations

from flask import (
    Blueprint,
    Response,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from admin import csvio, service
from admin.schemas import SKILLS
from cases.enums import AgencyKind, ContactChannel
from console.access_log import log_read
from console.errors import N_, ValidationFailed
from console.web import csv_import, db, desk_required, error_response, translate, wants_json
from dispatch.enums import Category, Priority, VulnerableGroup

bp = Blueprint("admin", __name__, url_prefix="/admin")

TITLES = {"teams": _l("Teams"), "agencies": _l("Agency directory"),
          "lines": _l("Hotline lines"), "categories": _l("Intake categories")}
FIELD_NAMES = {
    "code": _l("Code"), "name": _l("Name"), "province_code": _l("Province"),
    "members": _l("Members (usernames)"), "skills": _l("Skills"), "vehicle": _l("Vehicle"),
    "phone": _l("Phone"), "home_lat": _l("Home base latitude"),
    "home_lon": _l("Home base longitude"), "home_place": _l("Home base (place)"),
    "active": _l("In use"), "name_th": _l("Name in Thai"), "name_en": _l("Name in English"),
    "kind": _l("Kind of agency"), "districts": _l("Districts served (codes)"),
    "services": _l("Services (intake categories)"), "target_groups": _l("Target groups"),
    "phone_other": _l("Other phone"), "hours": _l("Opening hours"),
    "sms_number": _l("SMS number for referrals"), "email": _l("E-mail for referrals"),
    "line_user_id": _l("LINE id for referrals"), "contact_channel": _l("Send referrals by"),
    "number": _l("Line number"), "label": _l("Label"),
    "default_priority": _l("Priority proposed at intake"), "position": _l("Order in the list"),
}
# How each field is typed on the form: text, number, select(group), checks(group), yes/no.
FORM = {
    "teams": [("code", "text"), ("name", "text"), ("province_code", "province"),
              ("members", "text"), ("skills", "checks:skill"), ("vehicle", "text"),
              ("phone", "tel"), ("home_lat", "number"), ("home_lon", "number"),
              ("home_place", "text"), ("active", "bool")],
    "agencies": [("code", "text"), ("name_th", "text"), ("name_en", "text"),
                 ("kind", "select:agency_kind"), ("province_code", "province_national"),
                 ("districts", "text"), ("services", "checks:category"),
                 ("target_groups", "checks:vulnerable"), ("phone", "tel"),
                 ("phone_other", "tel"), ("hours", "text"), ("sms_number", "tel"),
                 ("email", "email"), ("line_user_id", "text"),
                 ("contact_channel", "select:channel"), ("active", "bool")],
    "lines": [("number", "tel"), ("province_code", "province_national"), ("label", "text"),
              ("active", "bool")],
    "categories": [("code", "fixed"), ("name_th", "text"), ("name_en", "text"),
                   ("default_priority", "select:priority"), ("position", "number"),
                   ("active", "bool")],
}
OPTIONS = {"skill": list(SKILLS), "category": [c.value for c in Category],
           "vulnerable": [g.value for g in VulnerableGroup],
           "agency_kind": [k.value for k in AgencyKind],
           "channel": [c.value for c in ContactChannel],
           "priority": [p.value for p in Priority]}
# The label group (console/labels.py) of each option list.
OPTION_LABELS = {"skill": "skill", "category": "category", "vulnerable": "vulnerable_group",
                 "agency_kind": "agency_kind", "channel": "contact_channel",
                 "priority": "priority"}
# Option labels the shared label table (console/labels.py) does not have.
OWN_LABELS = {
    "agency_kind": {"msdhs": _l("MSDHS unit"), "police": _l("Police"),
                    "hospital": _l("Hospital or health service"), "oscc": _l("OSCC"),
                    "damrongtham": _l("Damrongtham Center"),
                    "local_government": _l("Local government"),
                    "ngo": _l("Foundation or NGO"), "other": _l("Other agency")},
    "contact_channel": {"sms": _l("SMS"), "email": _l("E-mail"), "line": _l("LINE"),
                        "letter": _l("Printed letter with a QR code")},
}
# Pages that show people (team members' usernames): in the access log as a read of users.
READS = {"teams": "users"}


def _form_data(kind: str) -> dict:
    """The posted form (or JSON body) as the schema reads it."""
    if request.is_json:
        from console.web import json_body

        return json_body()
    data: dict = {}
    for name, how in FORM[kind]:
        if how == "fixed":
            data[name] = request.view_args.get("key") or request.form.get(name, "")
        elif how.startswith("checks:"):
            data[name] = request.form.getlist(name)
        elif how == "bool":
            data[name] = "1" if request.form.get(name) else "0"
        else:
            data[name] = request.form.get(name, "")
    return data


def _page(kind: str, *, editing=None, values=None, errors=None, problems=None, result=None,
          status: int = 200):
    from console.routes import page_context
    from geo import gazetteer

    rows = service.list_rows(session=db(), actor=current_user, kind=kind)
    if kind in READS:
        log_read(READS[kind], entity=service.ENTITY[kind],
                 subjects={service.ENTITY[kind]: [r.id for r in rows]})
    shown = {service.row_key(kind, r): service.values(db(), kind, r) for r in rows}
    if editing is not None and values is None:
        values = {k: v for k, v in service.values(db(), kind, editing).items()}
    history = _history(kind, editing) if editing is not None else []
    body = render_template(
        "admin.html", kind=kind, kinds=[k for k in service.KINDS
                                        if service.may_open(current_user, k)],
        titles=TITLES, rows=rows, shown=shown, form=FORM[kind], names=FIELD_NAMES,
        options=OPTIONS, option_labels=OPTION_LABELS, editing=editing,
        key=service.row_key(kind, editing) if editing is not None else None,
        values=values or {}, errors=errors or {}, problems=problems or [], result=result,
        as_text=service.as_text, columns=service.COLUMNS[kind], history=history,
        editable={service.row_key(kind, r): service.may_edit_row(current_user, kind, r)
                  for r in rows},
        option_label=_option_label, provinces=gazetteer.provinces(), ctx=page_context())
    return body, status


def _option_label(group: str, value: str) -> str:
    from console.labels import label

    own = OWN_LABELS.get(group, {})
    return str(own[value]) if value in own else label(group, value)


def _history(kind: str, row) -> list:
    from sqlalchemy import select

    from console.models import AuditLog, User

    entity = service.ENTITY[kind]
    stmt = select(AuditLog).where(AuditLog.entity == entity)
    if kind == "categories":
        stmt = stmt.where(AuditLog.entity_id.is_(None))
    else:
        stmt = stmt.where(AuditLog.entity_id == row.id)
    rows = [h for h in db().scalars(stmt.order_by(AuditLog.id.desc()).limit(50))
            if kind != "categories" or h.detail.get("key") == row.code.value][:20]
    names = {u.id: u.display_name for u in db().scalars(
        select(User).where(User.id.in_({h.actor_id for h in rows if h.actor_id})))}
    return [(h, names.get(h.actor_id, "")) for h in rows]


def _translated(exc: ValidationFailed) -> dict[str, str]:
    return {k: translate(m, p) for k, (m, p) in exc.errors.items()}


@bp.get("")
@desk_required("centre")
def home():
    """The first part of the admin area the user may open (teams)."""
    return _page(next(k for k in service.KINDS if service.may_open(current_user, k)))


@bp.get("/<kind>")
@desk_required("centre")
def page(kind: str):
    """The rows of a kind, a form to add one, CSV export and import."""
    service.check_open(current_user, kind)
    return _page(kind)


@bp.get("/<kind>/<key>")
@desk_required("centre")
def edit_page(kind: str, key: str):
    """One row, to change, with its history."""
    row = service.get_row(session=db(), actor=current_user, kind=kind, key=key)
    return _page(kind, editing=row)


def _save(kind: str, key: str | None):
    data = _form_data(kind)
    try:
        row = service.save(session=db(), actor=current_user, kind=kind, data=data, key=key)
    except ValidationFailed as exc:
        if wants_json():
            raise
        db().rollback()
        editing = service.get_row(session=db(), actor=current_user, kind=kind,
                                  key=key) if key else None
        return _page(kind, editing=editing, values=data, errors=_translated(exc), status=422)
    key_out = service.row_key(kind, row)
    change = row._admin_change
    db().commit()
    if wants_json():
        return jsonify({"key": key_out, "change": change,
                        "row": service.values(db(), kind, row)}), 201 if key is None else 200
    return redirect(url_for("admin.edit_page", kind=kind, key=key_out, saved=1))


@bp.post("/<kind>")
@desk_required("centre")
def create(kind: str):
    """Add a row (a code already in use changes that row, as an import would)."""
    service.check_open(current_user, kind)
    return _save(kind, None)


@bp.post("/<kind>/<key>")
@desk_required("centre")
def update(kind: str, key: str):
    """Change one row."""
    service.check_open(current_user, kind)
    return _save(kind, key)


@bp.get("/<kind>/export.csv")
@desk_required("centre")
def export(kind: str):
    """Every row of the kind the user sees, as CSV (imports back unchanged)."""
    text = csvio.export_csv(session=db(), actor=current_user, kind=kind)
    if kind in READS:
        log_read(READS[kind], entity=service.ENTITY[kind], format="csv")
    return Response(text, mimetype="text/csv", headers={
        "Content-Disposition": f'attachment; filename="{kind}.csv"',
        "Cache-Control": "no-store"})


@bp.post("/<kind>/import")
@desk_required("centre")
def import_file(kind: str):
    """Import a CSV file: every line or none; the bad lines listed with their fields."""
    service.check_open(current_user, kind)
    return csv_import(
        lambda data: csvio.import_csv(session=db(), actor=current_user, kind=kind, data=data),
        FIELD_NAMES, lambda **shown: _page(kind, **shown))


@bp.get("/api/categories")
def categories_api():
    """The intake categories the forms offer (in use, in order), with the names in the page
    language and the priority proposed at intake: for any logged-in desk user."""
    from flask_babel import get_locale

    from admin.models import category_settings

    if not current_user.is_authenticated:
        return error_response(401, N_("Please log in."))
    thai = str(get_locale() or "th").startswith("th")
    return jsonify([{"code": s.code.value, "name": s.name_th if thai else s.name_en,
                     "default_priority": s.default_priority.value}
                    for s in category_settings(db()) if s.active])


# NOTE: at the end: the guided-intake scripts' routes (admin/script_routes.py) use this blueprint.
from admin import script_routes  # noqa: E402,F401
