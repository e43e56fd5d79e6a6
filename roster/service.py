"""Duty rosters: the one "who is on duty now" resolver, and the supervisors' changes to a
province's roster (every change audited, a provincial supervisor only in their province).

Times of day are Bangkok time (UTC+7, no daylight saving); stored instants are UTC. A shift
whose end is at or before its start ends on the next day (16.30–08.30 น.).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from console.db import utcnow
from console.enums import Role
from console.errors import N_, Conflict, Forbidden, NotFound, ValidationFailed
from console.models import User
from console.service import record_audit
from roster.enums import STAFF_ROLES, Attendance, DutyRole
from roster.models import (
    DEFAULT_PATTERNS,
    DutyAssignment,
    DutyShift,
    ShiftPattern,
    StaffingLevel,
)

BANGKOK = ZoneInfo("Asia/Bangkok")
DAY_MINUTES = 24 * 60
# Which console role may hold which duty role (a supervisor may also take calls).
HOLDERS: dict[DutyRole, frozenset[Role]] = {
    DutyRole.CALL_TAKER: frozenset({Role.CALL_TAKER, Role.SUPERVISOR}),
    DutyRole.DISPATCHER: frozenset({Role.DISPATCHER, Role.SUPERVISOR}),
    DutyRole.SUPERVISOR: frozenset({Role.SUPERVISOR}),
}
OUT_OF_SCOPE = N_("This belongs to another province: only its own supervisors change it.")


# --- times ---------------------------------------------------------------------------------

def clock(minute: int) -> str:
    """Minutes after midnight as the Thai official clock: 510 -> '08.30'."""
    return f"{minute // 60 % 24:02d}.{minute % 60:02d}"


def parse_clock(text: str) -> int | None:
    """'08.30', '08:30' or '8.30' -> 510; None when it is no time of day."""
    raw = (text or "").strip().replace(":", ".").removesuffix("น.").strip()
    hours, dot, minutes = raw.partition(".")
    if not hours.isdigit() or (dot and not minutes.isdigit()) or len(minutes) not in (0, 2):
        return None
    h, m = int(hours), int(minutes or 0)
    if h > 23 or m > 59:
        return None
    return h * 60 + m


def shift_window(day: date, start_minute: int, end_minute: int) -> tuple[datetime, datetime]:
    """The UTC instants a shift of this Bangkok day starts and ends (overnight: the next day)."""
    starts = datetime.combine(day, time(0), tzinfo=BANGKOK) + timedelta(minutes=start_minute)
    length = (end_minute - start_minute) % DAY_MINUTES or DAY_MINUTES
    ends = starts + timedelta(minutes=length)
    return starts.astimezone(ZoneInfo("UTC")), ends.astimezone(ZoneInfo("UTC"))


def local_day(at: datetime) -> date:
    """The Bangkok calendar day of an instant."""
    return at.astimezone(BANGKOK).date()


def minute_of(at: datetime) -> int:
    """Minutes after Bangkok midnight of an instant."""
    local = at.astimezone(BANGKOK)
    return local.hour * 60 + local.minute


# --- the resolver --------------------------------------------------------------------------

@dataclass(frozen=True)
class OnDuty:
    """One person (or team) on duty: who, as what, in which shift; `replaces_id` is the person
    first rostered when an approved substitute stands in."""

    role: DutyRole
    user_id: int | None
    team_id: int | None
    shift_id: int
    assignment_id: int
    starts_at: datetime
    ends_at: datetime
    replaces_id: int | None = None


def holder(assignment: DutyAssignment) -> int | None:
    """Who is on duty for an assignment: the approved substitute, else the person rostered."""
    if assignment.substitute_id is not None and assignment.swap_approved_at is not None:
        return assignment.substitute_id
    return assignment.user_id


def on_duty(session: Session, province_code: str, at: datetime,
            role: DutyRole | str | None = None) -> list[OnDuty]:
    """Who is on duty in a province at an instant (the one resolver routing, dispatch and
    reports use): overnight shifts, approved swaps and absences included. Teams on call come
    with role TEAM; `role` narrows to one role."""
    query = (select(DutyAssignment, DutyShift)
             .join(DutyShift, DutyAssignment.shift_id == DutyShift.id)
             .where(DutyShift.province_code == province_code, DutyShift.starts_at <= at,
                    DutyShift.ends_at > at)
             .order_by(DutyShift.starts_at, DutyAssignment.id))
    if role is not None:
        query = query.where(DutyAssignment.role == DutyRole(role))
    found: list[OnDuty] = []
    seen: set[tuple[DutyRole, int | None, int | None]] = set()
    for assignment, shift in session.execute(query):
        if assignment.attendance is Attendance.ABSENT:
            continue  # NOTE: an absent person is on nobody's duty (a substitute is recorded).
        user_id = holder(assignment)
        key = (assignment.role, user_id, assignment.team_id)
        if key in seen:
            continue
        seen.add(key)
        replaces = assignment.user_id if user_id != assignment.user_id else None
        found.append(OnDuty(role=assignment.role, user_id=user_id, team_id=assignment.team_id,
                            shift_id=shift.id, assignment_id=assignment.id,
                            starts_at=shift.starts_at, ends_at=shift.ends_at,
                            replaces_id=replaces))
    return found


def has_roster(session: Session, province_code: str | None, at: datetime) -> bool:
    """Whether a province's roster covers this instant (some shift holds it)."""
    if not province_code:
        return False
    return session.scalar(select(DutyShift.id).where(
        DutyShift.province_code == province_code, DutyShift.starts_at <= at,
        DutyShift.ends_at > at).limit(1)) is not None


# --- patterns and shifts -------------------------------------------------------------------

@dataclass(frozen=True)
class Pattern:
    """A shift of the day, stored or default."""

    id: int | None
    start_minute: int
    end_minute: int

    @property
    def label(self) -> str:
        return f"{clock(self.start_minute)}–{clock(self.end_minute)}"


def patterns(session: Session, province_code: str) -> list[Pattern]:
    """A province's shifts of the day, in start order (the defaults until it sets its own)."""
    rows = session.scalars(select(ShiftPattern).where(
        ShiftPattern.province_code == province_code, ShiftPattern.active)
        .order_by(ShiftPattern.start_minute)).all()
    if rows:
        return [Pattern(r.id, r.start_minute, r.end_minute) for r in rows]
    return [Pattern(None, s, e) for s, e in DEFAULT_PATTERNS]


def shift_at(session: Session, province_code: str, starts_at: datetime) -> DutyShift | None:
    """The stored shift of a province starting at an instant."""
    return session.scalar(select(DutyShift).where(DutyShift.province_code == province_code,
                                                  DutyShift.starts_at == starts_at))


def ensure_shift(session: Session, *, province_code: str, day: date, start_minute: int,
                 end_minute: int) -> DutyShift:
    """The shift of that day and time, created when first needed."""
    starts_at, ends_at = shift_window(day, start_minute, end_minute)
    shift = shift_at(session, province_code, starts_at)
    if shift is None:
        clash = session.scalar(select(DutyShift.id).where(
            DutyShift.province_code == province_code, DutyShift.starts_at < ends_at,
            DutyShift.ends_at > starts_at).limit(1))
        if clash is not None:
            raise ValidationFailed({"start": (N_("This shift overlaps another shift of the "
                                                 "province: choose one of its shifts."), {})})
        shift = DutyShift(province_code=province_code, starts_at=starts_at, ends_at=ends_at)
        session.add(shift)
        session.flush()
    elif shift.ends_at != ends_at:
        raise ValidationFailed({"end": (N_("That shift ends at %(end)s."),
                                        {"end": clock(minute_of(shift.ends_at))})})
    return shift


# --- who may change what -------------------------------------------------------------------

def may_edit(actor: User, province_code: str) -> bool:
    """Supervisors and admins, national or of that province."""
    return actor.role in (Role.SUPERVISOR, Role.ADMIN) and (
        actor.is_national or actor.province_code == province_code)


def check_edit(actor: User, province_code: str) -> None:
    """Forbidden unless the actor may change this province's roster."""
    if not may_edit(actor, province_code):
        raise Forbidden(OUT_OF_SCOPE)


def _audit(session: Session, actor: User, action: str, entity_id: int | None,
           detail: dict) -> None:
    record_audit(session=session, actor_id=actor.id, action=f"roster.{action}",
                 entity="roster", entity_id=entity_id, detail=detail)


def _person(session: Session, user_id: int, province_code: str, role: DutyRole,
            field: str) -> User:
    user = session.get(User, user_id)
    if user is None or not user.active:
        raise ValidationFailed({field: (N_("No such user: choose one from the list."), {})})
    if user.province_code not in (None, province_code):
        raise ValidationFailed({field: (N_("This user works in another province."), {})})
    if user.role not in HOLDERS[role]:
        raise ValidationFailed({field: (N_("This user's role cannot hold this duty."), {})})
    return user


# --- changes -------------------------------------------------------------------------------

def assign(*, session: Session, actor: User, province_code: str, day: date, start_minute: int,
           end_minute: int, role: DutyRole, user_id: int | None = None,
           team_id: int | None = None, substitute_id: int | None = None,
           via: str = "page") -> DutyAssignment:
    """Put a person on a role of a shift (or a team on call); audited."""
    from dispatch.models import Team

    check_edit(actor, province_code)
    if role is DutyRole.TEAM:
        team = session.get(Team, team_id) if team_id is not None else None
        if team is None or team.province_code != province_code:
            raise ValidationFailed({"team": (N_("No such team in this province: choose one "
                                                "from the list."), {})})
        user_id = substitute_id = None
    else:
        if user_id is None:
            raise ValidationFailed({"user": (N_("Please choose who is on duty."), {})})
        _person(session, user_id, province_code, role, "user")
        if substitute_id is not None:
            if substitute_id == user_id:
                raise ValidationFailed({"substitute": (N_("A substitute must be another "
                                                          "person."), {})})
            _person(session, substitute_id, province_code, role, "substitute")
        team_id = None
    shift = ensure_shift(session, province_code=province_code, day=day,
                         start_minute=start_minute, end_minute=end_minute)
    taken = session.scalar(select(DutyAssignment.id).where(
        DutyAssignment.shift_id == shift.id,
        (DutyAssignment.team_id == team_id) if team_id is not None
        else ((DutyAssignment.role == role) & (DutyAssignment.user_id == user_id))))
    if taken is not None:
        raise Conflict(N_("Already on this shift."))
    now = utcnow()
    row = DutyAssignment(shift_id=shift.id, role=role, user_id=user_id, team_id=team_id,
                         created_by_id=actor.id, created_at=now)
    if substitute_id is not None:
        row.substitute_id, row.swap_approved_by_id, row.swap_approved_at = (
            substitute_id, actor.id, now)
    session.add(row)
    session.flush()
    _audit(session, actor, "assigned", row.id, {
        "province_code": province_code, "shift_id": shift.id, "role": role.value,
        "user_id": user_id, "team_id": team_id, "substitute_id": substitute_id, "via": via})
    return row


def _assignment(session: Session, actor: User, assignment_id: int) -> DutyAssignment:
    row = session.get(DutyAssignment, assignment_id)
    if row is None:
        raise NotFound("assignment")
    check_edit(actor, row.shift.province_code)
    return row


def unassign(*, session: Session, actor: User, assignment_id: int) -> None:
    """Take a person (or team) off a shift; audited."""
    row = _assignment(session, actor, assignment_id)
    detail = {"province_code": row.shift.province_code, "shift_id": row.shift_id,
              "role": row.role.value, "user_id": row.user_id, "team_id": row.team_id}
    session.delete(row)
    session.flush()
    _audit(session, actor, "unassigned", assignment_id, detail)


def approve_swap(*, session: Session, actor: User, assignment_id: int,
                 substitute_id: int | None) -> DutyAssignment:
    """A supervisor approves a swap: the substitute is on duty instead (None: undo it)."""
    row = _assignment(session, actor, assignment_id)
    if row.role is DutyRole.TEAM:
        raise ValidationFailed({"substitute": (N_("A team on call has no substitute."), {})})
    if substitute_id is not None:
        if substitute_id == row.user_id:
            raise ValidationFailed({"substitute": (N_("A substitute must be another person."),
                                                   {})})
        _person(session, substitute_id, row.shift.province_code, row.role, "substitute")
    now = utcnow()
    row.substitute_id = substitute_id
    row.swap_approved_by_id = actor.id if substitute_id is not None else None
    row.swap_approved_at = now if substitute_id is not None else None
    session.flush()
    _audit(session, actor, "swap_approved" if substitute_id else "swap_undone", row.id,
           {"shift_id": row.shift_id, "user_id": row.user_id, "substitute_id": substitute_id})
    return row


def request_swap(*, session: Session, actor: User, assignment_id: int,
                 substitute_id: int | None) -> DutyAssignment:
    """The person on a duty asks for a colleague to stand in (None: withdraw the request);
    it counts only once a supervisor approves it (approve_swap). Audited."""
    row = session.get(DutyAssignment, assignment_id)
    if row is None or row.user_id != actor.id:
        raise NotFound("assignment")  # NOTE: another person's duty is not theirs to see.
    if row.shift.ends_at <= utcnow():
        raise ValidationFailed({"substitute_id": (N_("This shift is over."), {})})
    if row.swap_approved_at is not None:
        raise Conflict(N_("A supervisor already approved a swap for this duty: please ask "
                          "the supervisor to change it."))
    if substitute_id is not None:
        if substitute_id == row.user_id:
            raise ValidationFailed({"substitute_id": (N_("A substitute must be another "
                                                         "person."), {})})
        _person(session, substitute_id, row.shift.province_code, row.role, "substitute_id")
    row.substitute_id = substitute_id
    session.flush()
    _audit(session, actor, "swap_requested" if substitute_id else "swap_withdrawn", row.id,
           {"shift_id": row.shift_id, "substitute_id": substitute_id})
    return row


def my_duties(session: Session, user: User, since: datetime, until: datetime
              ) -> list[tuple[DutyShift, DutyAssignment]]:
    """A person's duties (their own, or as an approved substitute) of shifts ending after
    `since` and starting before `until`, in time order."""
    from sqlalchemy import or_

    return list(session.execute(
        select(DutyShift, DutyAssignment).join(DutyAssignment.shift)
        .where(or_(DutyAssignment.user_id == user.id,
                   (DutyAssignment.substitute_id == user.id)
                   & DutyAssignment.swap_approved_at.is_not(None)),
               DutyShift.ends_at > since, DutyShift.starts_at < until)
        .order_by(DutyShift.starts_at)).all())


def colleagues(session: Session, province_code: str, role: DutyRole) -> list[User]:
    """Who may stand in for a duty of this role in the province."""
    return list(session.scalars(select(User).where(
        User.active, User.role.in_(HOLDERS[role]),
        (User.province_code == province_code) | User.province_code.is_(None))
        .order_by(User.display_name)))


def record_attendance(*, session: Session, actor: User, assignment_id: int,
                      attendance: Attendance | None) -> DutyAssignment:
    """Record that the person on an assignment checked in, or was absent (None: clear)."""
    row = _assignment(session, actor, assignment_id)
    row.attendance = attendance
    row.attendance_at = utcnow() if attendance else None
    row.attendance_by_id = actor.id if attendance else None
    session.flush()
    _audit(session, actor, "attendance", row.id,
           {"shift_id": row.shift_id, "attendance": attendance.value if attendance else None})
    return row


CHECK_IN_EARLY = timedelta(minutes=30)


def check_in_at_login(*, session: Session, user: User, now: datetime) -> list[int]:
    """Logging in during one's duty (or up to 30 minutes before it) records them checked in,
    unless attendance is already recorded; audited. Returns the assignments checked in."""
    from sqlalchemy import or_

    rows = session.scalars(
        select(DutyAssignment).join(DutyAssignment.shift)
        .where(or_(DutyAssignment.user_id == user.id, DutyAssignment.substitute_id == user.id),
               DutyAssignment.attendance.is_(None), DutyShift.starts_at <= now + CHECK_IN_EARLY,
               DutyShift.ends_at > now)).all()
    done = []
    for row in rows:
        if holder(row) != user.id:
            continue  # NOTE: swapped out (approved): the substitute's login checks in.
        row.attendance, row.attendance_at, row.attendance_by_id = (
            Attendance.CHECKED_IN, now, user.id)
        _audit(session, user, "checked_in", row.id, {"shift_id": row.shift_id, "via": "login"})
        done.append(row.id)
    session.flush()
    return done


def staffing(session: Session, province_code: str) -> dict[DutyRole, int]:
    """The province's minimum per staff role (0 when unset)."""
    levels = {r: 0 for r in STAFF_ROLES}
    for row in session.scalars(select(StaffingLevel).where(
            StaffingLevel.province_code == province_code)):
        levels[row.role] = row.minimum
    return levels


def set_staffing(*, session: Session, actor: User, province_code: str,
                 minimums: dict[DutyRole, int]) -> dict[DutyRole, int]:
    """Set a province's minimum people per role per shift; audited when anything changed."""
    check_edit(actor, province_code)
    errors = {}
    for role, value in minimums.items():
        if role not in STAFF_ROLES:
            errors[str(role)] = (N_("No such duty role."), {})
        elif not isinstance(value, int) or not 0 <= value <= 50:
            errors[role.value] = (N_("Please enter a whole number from 0 to 50."), {})
    if errors:
        raise ValidationFailed(errors)
    before = staffing(session, province_code)
    changed = {r.value: v for r, v in minimums.items() if before[r] != v}
    now = utcnow()
    for role, value in minimums.items():
        row = session.get(StaffingLevel, (province_code, role))
        if row is None:
            row = StaffingLevel(province_code=province_code, role=role)
            session.add(row)
        row.minimum, row.updated_at, row.updated_by_id = value, now, actor.id
    session.flush()
    if changed:
        _audit(session, actor, "staffing", None, {"province_code": province_code, **changed})
    return staffing(session, province_code)


def set_patterns(*, session: Session, actor: User, province_code: str,
                 shifts: list[tuple[int, int]]) -> list[Pattern]:
    """Replace a province's shifts of the day (they must not overlap); audited."""
    check_edit(actor, province_code)
    if not shifts:
        raise ValidationFailed({"patterns": (N_("Please keep at least one shift."), {})})
    spans = sorted(shifts)
    total = sum((e - s) % DAY_MINUTES or DAY_MINUTES for s, e in spans)
    starts = [s for s, _ in spans]
    overlap = total > DAY_MINUTES or len(set(starts)) != len(starts) or any(
        ((spans[i][1] - spans[i][0]) % DAY_MINUTES or DAY_MINUTES)
        > (spans[(i + 1) % len(spans)][0] - spans[i][0]) % DAY_MINUTES
        for i in range(len(spans)) if len(spans) > 1)
    if overlap:
        raise ValidationFailed({"patterns": (N_("Shifts of a day must not overlap."), {})})
    for row in session.scalars(select(ShiftPattern).where(
            ShiftPattern.province_code == province_code)):
        session.delete(row)
    session.flush()
    for start, end in spans:
        session.add(ShiftPattern(province_code=province_code, start_minute=start,
                                 end_minute=end, created_by_id=actor.id))
    session.flush()
    _audit(session, actor, "patterns", None, {
        "province_code": province_code,
        "shifts": [f"{clock(s)}-{clock(e)}" for s, e in spans]})
    return patterns(session, province_code)


def check_view(actor: User, province_code: str) -> None:
    """Forbidden unless the actor may see this province's roster (as for changing it)."""
    check_edit(actor, province_code)


# --- the week calendar ---------------------------------------------------------------------

@dataclass
class Cell:
    """One shift of the calendar: its window, stored row (if any) and who is on it."""

    day: date
    start_minute: int
    end_minute: int
    starts_at: datetime
    ends_at: datetime
    shift: DutyShift | None
    short: dict[DutyRole, int]

    @property
    def label(self) -> str:
        return f"{clock(self.start_minute)}–{clock(self.end_minute)}"

    def of(self, role: DutyRole) -> list[DutyAssignment]:
        return [a for a in (self.shift.assignments if self.shift else []) if a.role is role]


def shortfall(shift: DutyShift | None, levels: dict[DutyRole, int]) -> dict[DutyRole, int]:
    """How many people each role lacks against the province's minimums (roles short only);
    absent people without a substitute do not count."""
    counts = {r: 0 for r in STAFF_ROLES}
    for a in (shift.assignments if shift else []):
        if a.role in counts and (a.attendance is not Attendance.ABSENT):
            counts[a.role] += 1
    return {r: levels[r] - counts[r] for r in STAFF_ROLES if counts[r] < levels[r]}


def week(session: Session, province_code: str, monday: date) -> list[list[Cell]]:
    """The province's seven days from `monday`, each with its shifts (pattern or stored)."""
    levels = staffing(session, province_code)
    first, _ = shift_window(monday, 0, 0)
    last, _ = shift_window(monday + timedelta(days=7), 0, 0)
    stored = {s.starts_at: s for s in session.scalars(select(DutyShift).where(
        DutyShift.province_code == province_code, DutyShift.starts_at >= first,
        DutyShift.starts_at < last))}
    days = []
    for offset in range(7):
        day = monday + timedelta(days=offset)
        cells: dict[datetime, Cell] = {}
        for p in patterns(session, province_code):
            starts, ends = shift_window(day, p.start_minute, p.end_minute)
            cells[starts] = Cell(day, p.start_minute, p.end_minute, starts, ends, None, {})
        for starts, shift in stored.items():
            if local_day(starts) == day:
                cells[starts] = Cell(day, minute_of(starts), minute_of(shift.ends_at), starts,
                                     shift.ends_at, shift, {})
        for cell in cells.values():
            # NOTE: a shift that is over is history: only current and coming shifts say short.
            cell.short = shortfall(cell.shift, levels) if cell.ends_at > utcnow() else {}
        days.append([cells[k] for k in sorted(cells)])
    return days


@dataclass
class ShiftSummary:
    """The shift holding an instant, for the supervisor's shift report: who is on it (with
    swaps and attendance), the counts of attendance, and how far it is below the minimums."""

    shift: DutyShift | None
    people: list[tuple[DutyRole, int | None, int | None, Attendance | None]]
    checked_in: int
    absent: int
    unrecorded: int
    short: dict[DutyRole, int]


def shift_summary(session: Session, province_code: str, at: datetime) -> ShiftSummary:
    """Who is rostered on the province's shift now: (role, person on duty, team, attendance)."""
    shift = session.scalar(select(DutyShift).where(
        DutyShift.province_code == province_code, DutyShift.starts_at <= at,
        DutyShift.ends_at > at).order_by(DutyShift.starts_at.desc()).limit(1))
    people = []
    counts = {Attendance.CHECKED_IN: 0, Attendance.ABSENT: 0, None: 0}
    for a in (shift.assignments if shift else []):
        people.append((a.role, holder(a) if a.team_id is None else None, a.team_id,
                       a.attendance))
        if a.team_id is None:
            counts[a.attendance] += 1
    order = list(DutyRole)
    people.sort(key=lambda p: order.index(p[0]))
    return ShiftSummary(shift, people, counts[Attendance.CHECKED_IN], counts[Attendance.ABSENT],
                        counts[None], shortfall(shift, staffing(session, province_code)))
