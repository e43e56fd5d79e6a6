"""The centre's data, kept by administrators (every province) and supervisors (teams and
agencies of their own province): list, read, create or change one row, import a CSV file (all
lines or none) and export one that imports back unchanged. Every change is audited with what
changed; pages and CSV go through the same `save`.

Scope: national users (no province) keep everything; a provincial user only rows of their
province (national agencies and lines are read-only to them); hotline lines and intake
categories are for administrators, categories for national ones."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import event, inspect, select
from sqlalchemy.orm import Session

from admin.models import CategorySetting, TeamProfile, category_settings
from admin.schemas import AgencyIn, CategoryIn, LineIn, TeamIn
from cases.models import Agency
from console.db import utcnow
from console.enums import Role
from console.errors import N_, Conflict, Forbidden, NotFound, ValidationFailed
from console.models import User
from console.service import record_audit
from console.validation import parse
from dispatch.enums import Category, TeamStatus
from dispatch.models import Team
from telephony.models import HotlineLine

KINDS = ("teams", "agencies", "lines", "categories")
# Which roles may open which part of the admin area.
KIND_ROLES: dict[str, frozenset[Role]] = {
    "teams": frozenset({Role.ADMIN, Role.SUPERVISOR}),
    "agencies": frozenset({Role.ADMIN, Role.SUPERVISOR}),
    "lines": frozenset({Role.ADMIN}),
    "categories": frozenset({Role.ADMIN}),
}
ENTITY = {"teams": "team", "agencies": "agency", "lines": "hotline_line",
          "categories": "category"}
SCHEMA = {"teams": TeamIn, "agencies": AgencyIn, "lines": LineIn, "categories": CategoryIn}
# The CSV columns of each kind, in order (the export writes them, the import reads them).
COLUMNS: dict[str, tuple[str, ...]] = {
    "teams": ("code", "name", "province_code", "members", "skills", "vehicle", "phone",
              "home_lat", "home_lon", "home_place", "active"),
    "agencies": ("code", "name_th", "name_en", "kind", "province_code", "districts", "services",
                 "target_groups", "phone", "phone_other", "hours", "sms_number", "email",
                 "line_user_id", "contact_channel", "active"),
    "lines": ("number", "province_code", "label", "active"),
    "categories": ("code", "name_th", "name_en", "default_priority", "active", "position"),
}
KEY = {"teams": "code", "agencies": "code", "lines": "number", "categories": "code"}
OUT_OF_SCOPE = N_("You can keep only the data of your own province.")
NATIONAL_ONLY = N_("Only a national administrator can change this.")
MAX_ROWS = 2000


@dataclass
class ImportResult:
    """What an import did: how many rows it added, changed and found unchanged."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0
    ids: list[Any] = field(default_factory=list)


# --- access ---------------------------------------------------------------------------------

def may_open(actor: User, kind: str) -> bool:
    """Whether the user's role may open this part of the admin area."""
    return kind in KIND_ROLES and actor.role in KIND_ROLES[kind]


def check_open(actor: User, kind: str) -> None:
    """NotFound for an unknown kind, Forbidden when the role may not open it."""
    if kind not in KINDS:
        raise NotFound("admin")
    if not may_open(actor, kind):
        raise Forbidden(N_("Your role cannot use this desk."))


def may_edit_row(actor: User, kind: str, row: Any) -> bool:
    """Whether the user may change this row (scope by province)."""
    if kind == "categories":
        return actor.is_national and actor.role is Role.ADMIN
    return actor.is_national or getattr(row, "province_code", None) == actor.province_code


def _in_sight(actor: User, kind: str, row: Any) -> bool:
    if actor.is_national or kind == "categories":
        return True
    province = getattr(row, "province_code", None)
    # NOTE: national agencies and lines serve every province: shown, read-only.
    return province == actor.province_code or (kind in ("agencies", "lines") and province is None)


# --- reading --------------------------------------------------------------------------------

def list_rows(*, session: Session, actor: User, kind: str) -> list[Any]:
    """The rows of a kind this user sees, in a stable order."""
    check_open(actor, kind)
    if kind == "teams":
        stmt = select(Team).order_by(Team.province_code, Team.code)
        if not actor.is_national:
            stmt = stmt.where(Team.province_code == actor.province_code)
    elif kind == "agencies":
        stmt = select(Agency).order_by(Agency.province_code.is_not(None), Agency.province_code,
                                       Agency.code)
        if not actor.is_national:
            stmt = stmt.where(Agency.province_code.is_(None)
                              | (Agency.province_code == actor.province_code))
    elif kind == "lines":
        stmt = select(HotlineLine).order_by(HotlineLine.number)
        if not actor.is_national:
            stmt = stmt.where(HotlineLine.province_code.is_(None)
                              | (HotlineLine.province_code == actor.province_code))
    else:
        return category_settings(session)
    return list(session.scalars(stmt))


def _find(session: Session, kind: str, key: Any) -> Any:
    """The row of a kind by its natural key (team/agency code, line number, category code)."""
    if kind == "teams":
        return session.scalar(select(Team).where(Team.code == key))
    if kind == "agencies":
        return session.scalar(select(Agency).where(Agency.code == key))
    if kind == "lines":
        return session.scalar(select(HotlineLine).where(HotlineLine.number == key))
    try:
        code = Category(key)
    except ValueError:
        return None
    return session.get(CategorySetting, code) or CategorySetting.default(code)


def get_row(*, session: Session, actor: User, kind: str, key: str) -> Any:
    """One row by its id (teams, agencies, lines) or code (categories); NotFound when out of
    the user's sight."""
    check_open(actor, kind)
    model = {"teams": Team, "agencies": Agency, "lines": HotlineLine,
             "categories": CategorySetting}[kind]
    if kind == "categories":
        row = _find(session, kind, key)
    else:
        row = session.get(model, int(key)) if key.isdigit() and len(key) < 10 else None
    if row is None or not _in_sight(actor, kind, row):
        raise NotFound(ENTITY[kind])
    return row


def row_key(kind: str, row: Any) -> str:
    """The key of a row in the admin area's addresses."""
    return row.code.value if kind == "categories" else str(row.id)


# --- values as the forms and CSV write them ----------------------------------------------------

PROFILE_COLUMNS = ("vehicle", "home_lat", "home_lon", "home_place", "active")


def profile_of(session: Session, team: Team) -> TeamProfile:
    """The team's profile (vehicle, home base, in service); the defaults when none is kept."""
    found = session.get(TeamProfile, team.id) if team.id is not None else None
    return found or TeamProfile(vehicle="", home_lat=None, home_lon=None, home_place="",
                                active=True)


def team_in_service(session: Session, team_id: int) -> bool:
    """False when an administrator or supervisor took the team out of service."""
    found = session.get(TeamProfile, team_id)
    return found is None or found.active


def _members(session: Session, team: Team) -> list[str]:
    if team.id is None:
        return []
    return list(session.scalars(select(User.username).where(User.team_id == team.id)
                                .order_by(User.username)))


def values(session: Session, kind: str, row: Any) -> dict[str, Any]:
    """A row's values under the CSV columns (lists as lists, enums as codes)."""
    out: dict[str, Any] = {}
    profile = profile_of(session, row) if kind == "teams" else None
    for column in COLUMNS[kind]:
        if kind == "teams" and column == "members":
            out[column] = _members(session, row)
            continue
        value = getattr(profile if column in PROFILE_COLUMNS else row, column) \
            if kind == "teams" else getattr(row, column)
        if isinstance(value, list):
            value = [getattr(v, "value", v) for v in value]
        out[column] = getattr(value, "value", value)
    return out


def as_text(value: Any) -> str:
    """One value as a CSV cell or a form field."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, list):
        return "; ".join(str(v) for v in value)
    if isinstance(value, float):
        return repr(value)
    return str(value)


# --- saving ---------------------------------------------------------------------------------

def save(*, session: Session, actor: User, kind: str, data: dict[str, Any],
         key: str | None = None, via: str = "page", check_members: bool = True) -> Any:
    """Create a row, or change the row `key` (its id or category code); validated, scoped and
    audited. A CSV line goes through here too (the key then comes from the line)."""
    check_open(actor, kind)
    parsed = parse(SCHEMA[kind], data)
    row = get_row(session=session, actor=actor, kind=kind, key=key) if key is not None else None
    natural = getattr(parsed, KEY[kind])
    same = _find(session, kind, natural)
    if row is None:
        row = same
    elif same is not None and row_key(kind, same) != row_key(kind, row):
        raise ValidationFailed({KEY[kind]: (N_("This code or number is already used by another "
                                               "row."), {})})
    if row is not None and not _in_sight(actor, kind, row):
        raise ValidationFailed({KEY[kind]: (N_("This code or number is already used by another "
                                               "row."), {})})
    if row is not None and not may_edit_row(actor, kind, row):
        raise Forbidden(OUT_OF_SCOPE if getattr(row, "province_code", None) else NATIONAL_ONLY)
    if kind == "categories" and not may_edit_row(actor, kind, row):
        raise Forbidden(NATIONAL_ONLY)
    if kind != "categories" and not actor.is_national \
            and parsed.province_code != actor.province_code:
        raise ValidationFailed({"province_code": (OUT_OF_SCOPE, {})})
    before = values(session, kind, row) if row is not None else None
    # NOTE: a category's defaults are a row not stored yet: saving them unchanged is no change.
    created = row is None
    row = _APPLY[kind](session, actor, row, parsed)
    session.flush()
    if kind == "teams" and check_members:
        check_left_out(session=session, left_out=row._left_out)
    after = values(session, kind, row)
    changes = {k: [None if before is None else before.get(k), v] for k, v in after.items()
               if before is None or before.get(k) != v}
    if changes:
        entity_id = None if kind == "categories" else row.id
        record_audit(session=session, actor_id=actor.id,
                     action=f"{ENTITY[kind]}.{'created' if created else 'updated'}",
                     entity=ENTITY[kind], entity_id=entity_id,
                     detail={"key": str(getattr(row, KEY[kind])), "via": via,
                             "changes": changes})
        if kind == "teams":
            from dispatch import events as dispatch_events

            dispatch_events.team_updated(session=session, team=row)
    row._admin_change = "created" if created else ("updated" if changes else "unchanged")
    return row


def _apply_team(session: Session, actor: User, team: Team | None, data: TeamIn) -> Team:
    errors: dict[str, tuple[str, dict]] = {}
    if (data.home_lat is None) != (data.home_lon is None):
        errors["home_lat"] = (N_("Give both latitude and longitude of the home base, or "
                                 "neither."), {})
    busy = team is not None and team.status not in (TeamStatus.OFF_DUTY, TeamStatus.AVAILABLE)
    if busy and not data.active:
        errors["active"] = (N_("Team %(team)s is on a job; finish it first."), {"team": team.name})
    if busy and data.province_code != team.province_code:
        errors["province_code"] = (N_("Team %(team)s is on a job; finish it first."),
                                   {"team": team.name})
    users = {u.username: u for u in session.scalars(
        select(User).where(User.username.in_(data.members)))} if data.members else {}
    for username in data.members:
        user = users.get(username)
        if user is None or user.role is not Role.FIELD_MEMBER:
            errors["members"] = (N_("%(user)s is not a field team member's username."),
                                 {"user": username})
            break
        if user.province_code != data.province_code:
            errors["members"] = (N_("%(user)s works in another province."), {"user": username})
            break
    if errors:
        raise ValidationFailed(errors)
    now = utcnow()
    if team is None:
        team = Team(code=data.code, status=TeamStatus.OFF_DUTY, status_changed_at=now, skills=[])
        session.add(team)
    team.name, team.province_code = data.name, data.province_code
    team.skills, team.phone = list(data.skills), data.phone
    if not data.active and team.status is not TeamStatus.OFF_DUTY:
        team.status, team.status_changed_at = TeamStatus.OFF_DUTY, now
    session.flush()
    profile = session.get(TeamProfile, team.id) or TeamProfile(team_id=team.id)
    new = (data.vehicle, data.home_lat, data.home_lon, data.home_place, data.active)
    if profile not in session or new != (profile.vehicle, profile.home_lat, profile.home_lon,
                                         profile.home_place, profile.active):
        profile.vehicle, profile.home_lat, profile.home_lon, profile.home_place, \
            profile.active = new
        profile.updated_at = now
        session.add(profile)
    session.flush()
    listed = set(users)
    team._left_out = []
    for user in session.scalars(select(User).where(User.team_id == team.id)):
        if user.username not in listed:
            user.team_id = None  # NOTE: checked by check_left_out (a member needs a team).
            team._left_out.append(user.id)
    for user in users.values():
        user.team_id = team.id
    session.flush()
    return team


def check_left_out(*, session: Session, left_out: list[int],
                   field_name: str = "members") -> None:
    """Field members taken off a team must have been listed on another one (an import may move
    them by a later line): else the change is refused, naming them."""
    if not left_out:
        return
    alone = list(session.scalars(select(User.username).where(
        User.id.in_(left_out), User.team_id.is_(None), User.role == Role.FIELD_MEMBER)))
    if alone:
        raise ValidationFailed({field_name: (
            N_("%(user)s would be left without a team: list them on another team, or change "
               "their role on the users desk first."), {"user": alone[0]})})


def _apply_agency(session: Session, actor: User, agency: Agency | None, data: AgencyIn
                  ) -> Agency:
    from geo import gazetteer

    wrong = [d for d in data.districts
             if data.province_code is None or not (len(d) == 4 and d.startswith(
                 data.province_code) and gazetteer.get(d) is not None)]
    if wrong:
        raise ValidationFailed({"districts": (
            N_("District %(code)s is not a district of the agency's province (4-digit DOPA "
               "codes of its province; a national agency serves everywhere)."),
            {"code": wrong[0]})})
    if agency is None:
        agency = Agency(code=data.code)
        session.add(agency)
    for name in ("name_th", "kind", "province_code", "phone", "phone_other", "hours",
                 "sms_number", "email", "line_user_id", "contact_channel", "active"):
        setattr(agency, name, getattr(data, name))
    agency.name_en = data.name_en or data.name_th
    agency.districts = sorted(set(data.districts))
    agency.services = [c.value for c in data.services]
    agency.target_groups = [g.value for g in data.target_groups]
    return agency


def _apply_line(session: Session, actor: User, line: HotlineLine | None, data: LineIn
                ) -> HotlineLine:
    if line is None:
        line = HotlineLine(number=data.number)
        session.add(line)
    line.province_code, line.label, line.active = data.province_code, data.label, data.active
    line.updated_at = utcnow()
    return line


def _apply_category(session: Session, actor: User, setting: CategorySetting | None,
                    data: CategoryIn) -> CategorySetting:
    if setting is None:
        setting = CategorySetting(code=data.code)
    if setting not in session:
        session.add(setting)
    setting.name_th, setting.name_en = data.name_th, data.name_en
    setting.default_priority, setting.active = data.default_priority, data.active
    setting.position, setting.updated_at, setting.updated_by_id = data.position, utcnow(), actor.id
    return setting


_APPLY = {"teams": _apply_team, "agencies": _apply_agency, "lines": _apply_line,
          "categories": _apply_category}


@event.listens_for(Session, "before_flush")
def _inactive_teams_stay_off_duty(session: Session, _context, _instances) -> None:
    """A team taken out of service (admin pages) is never made available or offered a job, by
    whichever path (dispatcher, the team's own phone, the roster): refused with a clear word."""
    for obj in session.dirty:
        if isinstance(obj, Team) and obj.status is not TeamStatus.OFF_DUTY \
                and inspect(obj).attrs.status.history.has_changes():
            with session.no_autoflush:
                if not team_in_service(session, obj.id):
                    raise Conflict(N_("Team %(team)s is out of service: an administrator or "
                                      "supervisor can put it back on the Teams page."),
                                   team=obj.name)
