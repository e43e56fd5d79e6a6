"""CSV export and import of duty rosters, as admin/csvio does for the centre's data: UTF-8 with
a BOM, every line or none stored, each bad line named with its field; an export imports back
unchanged. One line per person (or team) on a shift."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from admin.csvio import BOM, _decode, records
from admin.service import ImportResult
from console.errors import N_, DomainError, ImportFailed, ValidationFailed
from console.models import User
from console.service import record_audit
from roster import service
from roster.enums import Attendance, DutyRole
from roster.models import DutyAssignment, DutyShift

COLUMNS = ("province_code", "date", "start", "end", "role", "who", "substitute", "attendance")


@dataclass(frozen=True)
class Span:
    """The Bangkok days [first, last] of an export."""

    first: date
    last: date


def assignments(session: Session, province_code: str, span: Span
                ) -> list[tuple[DutyShift, DutyAssignment]]:
    """The province's assignments of shifts starting on those days, in time order."""
    starts, _ = service.shift_window(span.first, 0, 0)
    ends, _ = service.shift_window(span.last + timedelta(days=1), 0, 0)
    return list(session.execute(
        select(DutyShift, DutyAssignment).join(DutyAssignment.shift)
        .where(DutyShift.province_code == province_code, DutyShift.starts_at >= starts,
               DutyShift.starts_at < ends)
        .order_by(DutyShift.starts_at, DutyAssignment.role, DutyAssignment.id)))


def export_csv(*, session: Session, actor: User, province_code: str, span: Span) -> str:
    """A province's roster of those days as CSV text."""
    service.check_view(actor, province_code)
    rows = assignments(session, province_code, span)
    ids = {a.user_id for _, a in rows} | {a.substitute_id for _, a in rows}
    names = dict(session.execute(select(User.id, User.username)
                                 .where(User.id.in_(ids - {None}))).all())
    from dispatch.models import Team

    teams = dict(session.execute(select(Team.id, Team.code).where(
        Team.id.in_({a.team_id for _, a in rows} - {None}))).all())
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for shift, a in rows:
        start, end = service.minute_of(shift.starts_at), service.minute_of(shift.ends_at)
        substitute = names.get(a.substitute_id, "") if a.swap_approved_at else ""
        writer.writerow([province_code, service.local_day(shift.starts_at).isoformat(),
                         service.clock(start), service.clock(end), a.role.value,
                         teams.get(a.team_id, "") if a.team_id else names.get(a.user_id, ""),
                         substitute, a.attendance.value if a.attendance else ""])
    return BOM + out.getvalue()


def _line(session: Session, actor: User, record: dict[str, str], result: ImportResult) -> None:
    """Store one line (or raise ValidationFailed naming its fields)."""
    from dispatch.models import Team
    from geo import gazetteer

    errors: dict[str, tuple[str, dict]] = {}
    province = record["province_code"].strip()
    if province not in {p.code for p in gazetteer.provinces()}:
        errors["province_code"] = (N_("No province has this code (e.g. 65 for Phitsanulok)."),
                                   {})
    try:
        day = date.fromisoformat(record["date"].strip())
    except ValueError:
        day = None
        errors["date"] = (N_("Please write the date as YYYY-MM-DD (e.g. 2026-12-03)."), {})
    start, end = service.parse_clock(record["start"]), service.parse_clock(record["end"])
    for name, value in (("start", start), ("end", end)):
        if value is None:
            errors[name] = (N_("Please write the time as 08.30."), {})
    try:
        role = DutyRole(record["role"].strip())
    except ValueError:
        role = None
        errors["role"] = (N_("Please write one of: %(values)s."),
                          {"values": ", ".join(r.value for r in DutyRole)})
    attendance = None
    if record["attendance"].strip():
        try:
            attendance = Attendance(record["attendance"].strip())
        except ValueError:
            errors["attendance"] = (N_("Please write one of: %(values)s."),
                                    {"values": ", ".join(a.value for a in Attendance)})
    who = record["who"].strip()
    user_id = team_id = substitute_id = None
    if role is DutyRole.TEAM:
        team_id = session.scalar(select(Team.id).where(Team.code == who.upper()))
        if team_id is None:
            errors["who"] = (N_("No team has this code."), {})
    elif role is not None:
        user_id = session.scalar(select(User.id).where(User.username == who))
        if user_id is None:
            errors["who"] = (N_("No user has this username."), {})
    if record["substitute"].strip():
        substitute_id = session.scalar(select(User.id).where(
            User.username == record["substitute"].strip()))
        if substitute_id is None:
            errors["substitute"] = (N_("No user has this username."), {})
    if errors:
        raise ValidationFailed(errors)
    service.check_edit(actor, province)
    starts_at, _ = service.shift_window(day, start, end)
    shift = service.shift_at(session, province, starts_at)
    existing = None
    if shift is not None:
        existing = session.scalar(select(DutyAssignment).where(
            DutyAssignment.shift_id == shift.id,
            (DutyAssignment.team_id == team_id) if team_id is not None else
            ((DutyAssignment.role == role) & (DutyAssignment.user_id == user_id))))
    if existing is None:
        row = service.assign(session=session, actor=actor, province_code=province, day=day,
                             start_minute=start, end_minute=end, role=role, user_id=user_id,
                             team_id=team_id, substitute_id=substitute_id, via="csv")
        if attendance is not None:
            service.record_attendance(session=session, actor=actor, assignment_id=row.id,
                                      attendance=attendance)
        result.created += 1
        return
    if service.minute_of(shift.ends_at) != end:
        raise ValidationFailed({"end": (N_("That shift ends at %(end)s."),
                                        {"end": service.clock(service.minute_of(shift.ends_at))})})
    changed = False
    current_sub = existing.substitute_id if existing.swap_approved_at else None
    if role is not DutyRole.TEAM and current_sub != substitute_id:
        service.approve_swap(session=session, actor=actor, assignment_id=existing.id,
                             substitute_id=substitute_id)
        changed = True
    if existing.attendance != attendance:
        service.record_attendance(session=session, actor=actor, assignment_id=existing.id,
                                  attendance=attendance)
        changed = True
    if changed:
        result.updated += 1
    else:
        result.unchanged += 1


def import_csv(*, session: Session, actor: User, data: bytes) -> ImportResult:
    """Add or change the roster lines of a CSV file, all or none (raises ImportFailed naming
    each bad line and field; the caller rolls back). Lines not in the file stay as they are."""
    text = _decode(data)
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = [h.strip().lower() for h in next(reader)]
    except (StopIteration, csv.Error):
        header = []
    if sorted(header) != sorted(COLUMNS):
        raise ImportFailed([(1, "-", N_("The first line must name these columns: "
                                        "%(columns)s."), {"columns": ", ".join(COLUMNS)})])
    problems: list[tuple[int, str, str, dict]] = []
    result = ImportResult()
    for line, record in records(reader, header, problems):
        try:
            # NOTE: a line is checked fully before it writes (no savepoints: SQLite's driver
            # would commit on releasing one); the caller rolls the file back on any problem.
            _line(session, actor, record, result)
        except ValidationFailed as exc:
            for path, (message, params) in exc.errors.items():
                problems.append((line, path, message, params))
        except DomainError as exc:
            problems.append((line, "-", exc.message, exc.params))
    if problems:
        raise ImportFailed(sorted(problems, key=lambda p: p[0]))
    record_audit(session=session, actor_id=actor.id, action="roster.imported", entity="roster",
                 entity_id=None, detail={"created": result.created, "updated": result.updated,
                                         "unchanged": result.unchanged})
    return result
