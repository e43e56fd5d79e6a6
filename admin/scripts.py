"""Guided intake (issue 14): each intake category's script (the questions a call-taker asks and
the rights and benefits to explain), kept by national administrators and VERSIONED: saving
makes a new version, earlier ones stay as they were (read-only), and a call keeps the version
it was taken with (call.script_version_id). The call-taker desk's panel reads the current
script with the agencies of the directory that serve the caller's area for that problem
(cases/directory.agencies_serving).

Scripts are national: the rights and benefits (เงินสงเคราะห์ and the like) are the ministry's,
the same in every province; what differs by province is the agencies, which the directory
already holds by area."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from admin.models import IntakeScript, category_settings
from admin.schemas import ScriptIn
from cases import directory
from cases.models import Agency
from console.enums import Role
from console.errors import N_, Conflict, Forbidden, NotFound, ValidationFailed
from console.models import User
from console.service import record_audit
from console.validation import parse
from dispatch.enums import Category
from telephony.schemas import format_thai_phone

CONTENT = ("questions_th", "questions_en", "rights_th", "rights_en")


# --- access ---------------------------------------------------------------------------------

def may_read(actor: User) -> bool:
    """Administrators open the scripts' pages (every province's read the national scripts)."""
    return actor.role is Role.ADMIN


def may_edit(actor: User) -> bool:
    """Only national administrators change a script (scripts are national)."""
    return actor.role is Role.ADMIN and actor.is_national


def _category(code: str) -> Category:
    try:
        return Category(code)
    except ValueError:
        raise NotFound("category") from None


# --- reading --------------------------------------------------------------------------------

def current_script(*, session: Session, category: str) -> IntakeScript | None:
    """The newest version of a category's script (None: no script yet)."""
    return session.scalar(select(IntakeScript).where(IntakeScript.category == category)
                          .order_by(IntakeScript.version.desc()).limit(1))


def current_scripts(*, session: Session) -> dict[str, IntakeScript]:
    """Every category's newest script, by category code."""
    newest = select(IntakeScript.category, func.max(IntakeScript.version).label("v")) \
        .group_by(IntakeScript.category).subquery()
    rows = session.scalars(select(IntakeScript).join(
        newest, (IntakeScript.category == newest.c.category)
        & (IntakeScript.version == newest.c.v)))
    return {r.category: r for r in rows}


def versions(*, session: Session, category: str) -> list[IntakeScript]:
    """Every version of a category's script, newest first."""
    return list(session.scalars(select(IntakeScript).where(IntakeScript.category == category)
                                .order_by(IntakeScript.version.desc())))


def get_version(*, session: Session, category: str, version: int) -> IntakeScript:
    """One version of a category's script; NotFound when there is none."""
    found = session.scalar(select(IntakeScript).where(IntakeScript.category == category,
                                                      IntakeScript.version == version))
    if found is None:
        raise NotFound("intake_script")
    return found


def overview(*, session: Session) -> list[tuple[Any, IntakeScript | None]]:
    """Each intake category (in the administrators' order) with its current script."""
    scripts = current_scripts(session=session)
    return [(s, scripts.get(s.code.value)) for s in category_settings(session)]


# --- saving ---------------------------------------------------------------------------------

def save_script(*, session: Session, actor: User, category: str, data: dict[str, Any]
                ) -> tuple[IntakeScript, bool]:
    """A new version of the category's script (validated, audited); the previous versions
    stay. Returns (the current version, whether a new one was made): saving the same text
    again makes none. `base_version` (the version the editor started from) guards against
    overwriting a version someone saved meanwhile."""
    if not may_edit(actor):
        raise Forbidden(N_("Only a national administrator can change this."))
    code = _category(category).value
    base = data.pop("base_version", None) if isinstance(data, dict) else None
    parsed = parse(ScriptIn, data)
    current = current_script(session=session, category=code)
    if base not in (None, ""):
        try:
            base = int(base)
        except (TypeError, ValueError):
            raise ValidationFailed({"base_version": (N_("Enter a whole number."), {})}) from None
        if base != (current.version if current else 0):
            raise Conflict(N_("Someone saved a newer version of this script meanwhile: please "
                              "reload the page and make your change again."))
    content = {name: getattr(parsed, name) for name in CONTENT}
    if current is not None and all(getattr(current, k) == v for k, v in content.items()):
        return current, False
    script = IntakeScript(category=code, version=(current.version if current else 0) + 1,
                          note=parsed.note, created_by_id=actor.id, **content)
    try:
        with session.begin_nested():
            session.add(script)
            session.flush()
    except IntegrityError:
        raise Conflict(N_("Someone saved a newer version of this script meanwhile: please "
                          "reload the page and make your change again.")) from None
    changed = [k for k, v in content.items() if current is None or getattr(current, k) != v]
    record_audit(session=session, actor_id=actor.id, action="intake_script.created",
                 entity="intake_script", entity_id=script.id,
                 detail={"key": code, "version": script.version, "changed": changed,
                         "note": parsed.note})
    return script, True


# --- the call-taker desk's panel -------------------------------------------------------------

def script_payload(script: IntakeScript, *, thai: bool) -> dict[str, Any]:
    """A script version as the panel shows it (the page's language; Thai when the English is
    missing)."""
    def pick(th: list[str], en: list[str]) -> list[str]:
        return th if thai or not en else en

    return {"id": script.id, "category": script.category, "version": script.version,
            "questions": pick(script.questions_th, script.questions_en),
            "rights": pick(script.rights_th, script.rights_en),
            "created_at": script.created_at.isoformat()}


def agency_payload(agency: Agency, *, thai: bool, kind_label: str) -> dict[str, Any]:
    """A directory entry as the panel shows it: names, phones (E.164 for tel: links and the
    Thai way to read), hours and how far it serves."""
    def phone(value: str | None) -> dict[str, str] | None:
        return {"tel": value, "display": format_thai_phone(value)} if value else None

    reach = "national" if agency.province_code is None else (
        "district" if agency.districts else "province")
    return {"id": agency.id, "name": agency.name_th if thai else (agency.name_en
                                                                  or agency.name_th),
            "kind": agency.kind.value, "kind_label": kind_label,
            "phones": [p for p in (phone(agency.phone), phone(agency.phone_other)) if p],
            "hours": agency.hours or "", "reach": reach}


def check_area(*, actor: User, province_code: str | None, district_code: str | None
               ) -> tuple[str | None, str | None]:
    """The caller's area as the panel asks for it: the user's province when none is given; a
    provincial user only their own; a district of that province."""
    from geo import gazetteer

    province_code = province_code or actor.province_code
    errors = {}
    if province_code is not None:
        place = gazetteer.get(province_code)
        if place is None or place.level != "province":
            errors["province_code"] = (N_("Unknown province."), {})
    if district_code and not errors:
        place = gazetteer.get(district_code)
        if place is None or place.level != "district" or place.parent_code != province_code:
            errors["district_code"] = (N_("Choose a district of the province."), {})
    if errors:
        raise ValidationFailed(errors)
    if not actor.is_national and province_code != actor.province_code:
        raise Forbidden(N_("You can see only your own province."))
    return province_code, district_code or None


def guide(*, session: Session, actor: User, category: str, province_code: str | None,
          district_code: str | None) -> tuple[IntakeScript | None, list[Agency]]:
    """The panel's content: the category's current script and the listed agencies that serve
    it in the caller's area (district's own first, then the province's, national last)."""
    try:
        code = Category(category).value
    except ValueError:
        raise ValidationFailed({"category": (N_("Choose a category."), {})}) from None
    province_code, district_code = check_area(actor=actor, province_code=province_code,
                                              district_code=district_code)
    script = current_script(session=session, category=code)
    agencies = directory.agencies_serving(session=session, category=code,
                                          province_code=province_code,
                                          district_code=district_code)
    return script, agencies
