"""The roster page (/desk/roster): a province's week of shifts with who is on each role and
which teams are on call, adding and removing people, swaps, attendance, staffing minimums,
CSV export and import. Supervisors and admins; a provincial supervisor sees and changes only
their own province. Routes are thin: the service checks scope and audits every change."""

from __future__ import annotations

from datetime import date, timedelta

from flask import Blueprint, Response, redirect, render_template, request, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from sqlalchemy import select

from console.access_log import log_read
from console.db import utcnow
from console.enums import Role
from console.errors import N_, ValidationFailed
from console.models import User
from console.web import csv_import, db, desk_required, error_response, translate, wants_json
from roster import csvio, schemas, service
from roster.enums import STAFF_ROLES, Attendance, DutyRole

bp = Blueprint("roster", __name__, url_prefix="/desk/roster")

ROLE_NAMES = {DutyRole.CALL_TAKER: _l("Call-taker"), DutyRole.DISPATCHER: _l("Dispatcher"),
              DutyRole.SUPERVISOR: _l("Supervisor on duty"), DutyRole.TEAM: _l("Team on call")}
ATTENDANCE_NAMES = {Attendance.CHECKED_IN: _l("Checked in"), Attendance.ABSENT: _l("Absent")}
FIELD_NAMES = {"province_code": _l("Province"), "date": _l("Date"), "day": _l("Date"),
               "start": _l("Start"), "end": _l("End"), "shift": _l("Shift"),
               "role": _l("Duty role"), "who": _l("Who (username or team code)"),
               "user_id": _l("Who"), "team_id": _l("Team"), "substitute": _l("Substitute"),
               "substitute_id": _l("Substitute"), "attendance": _l("Attendance"),
               "call_taker": _l("Call-taker"), "dispatcher": _l("Dispatcher"),
               "supervisor": _l("Supervisor on duty"), "patterns": _l("Shifts"), "-": "-"}


def _province() -> str:
    """The province the page is about: the user's own, or the one a national user chose."""
    from geo import gazetteer

    if not current_user.is_national:
        return current_user.province_code
    codes = [p.code for p in gazetteer.provinces()]
    chosen = (request.values.get("province") or codes[0]).strip()
    if chosen not in codes:
        raise ValidationFailed({"province": (N_("Please choose a province."), {})})
    return chosen


def _monday() -> date:
    raw = request.values.get("week", "")
    try:
        day = date.fromisoformat(raw)
    except ValueError:
        day = service.local_day(utcnow())
    return day - timedelta(days=day.weekday())


def _data() -> dict:
    if request.is_json:
        from console.web import json_body

        data = json_body()
        if not isinstance(data, dict):
            raise ValidationFailed({"body": (N_("Send the data as JSON."), {})})
        return data
    return request.form.to_dict()


def _page(province: str, monday: date, *, errors=None, problems=None, result=None,
          status: int = 200):
    from dispatch.models import Team
    from geo import gazetteer

    service.check_view(current_user, province)
    session = db()
    days = service.week(session, province, monday)
    people = session.scalars(select(User).where(
        User.active, User.province_code.in_([province]) | User.province_code.is_(None),
        User.role.in_([Role.CALL_TAKER, Role.DISPATCHER, Role.SUPERVISOR]))
        .order_by(User.display_name)).all()
    names = {u.id: u.display_name for u in people}
    shown = {a.user_id for d in days for c in d for a in (c.shift.assignments if c.shift else [])}
    shown |= {a.substitute_id for d in days for c in d
              for a in (c.shift.assignments if c.shift else [])}
    missing = shown - set(names) - {None}
    if missing:
        names.update(dict(session.execute(select(User.id, User.display_name)
                                          .where(User.id.in_(missing))).all()))
    teams = session.scalars(select(Team).where(Team.province_code == province)
                            .order_by(Team.code)).all()
    log_read("users", entity="roster", subjects={"user": sorted(shown - {None})})
    body = render_template(
        "roster.html", province=province, monday=monday, days=days, people=people,
        names=names, teams={t.id: t for t in teams}, roles=list(STAFF_ROLES), DutyRole=DutyRole,
        role_names=ROLE_NAMES, attendance_names=ATTENDANCE_NAMES,
        patterns=service.patterns(session, province),
        levels=service.staffing(session, province), errors=errors or {},
        problems=problems or [], result=result, prev=monday - timedelta(days=7),
        next=monday + timedelta(days=7), end=monday + timedelta(days=6),
        provinces=gazetteer.provinces(), now=utcnow(),
        on_duty=service.on_duty(session, province, utcnow()))
    return body, status


def _back(province: str, monday: date | None = None):
    return redirect(url_for("roster.page", province=province,
                            week=(monday or _monday()).isoformat(), saved=1))


def _refused(province: str, exc: ValidationFailed):
    if wants_json():
        raise exc
    db().rollback()
    errors = {k: translate(m, p) for k, (m, p) in exc.errors.items()}
    return _page(province, _monday(), errors=errors, status=422)


@bp.get("")
@desk_required("centre")
def page():
    """A province's week: shifts, who is on each role, teams on call, staffing minimums."""
    return _page(_province(), _monday())


@bp.post("/assignments")
@desk_required("centre")
def add():
    """Put a person on a role of a shift, or a team on call."""
    province = _province()
    try:
        data = schemas.AssignIn.parse(_data())
        row = service.assign(session=db(), actor=current_user, province_code=province,
                             day=data.day, start_minute=data.start_minute,
                             end_minute=data.end_minute, role=data.role, user_id=data.user_id,
                             team_id=data.team_id, substitute_id=data.substitute_id)
    except ValidationFailed as exc:
        return _refused(province, exc)
    db().commit()
    if wants_json():
        return {"id": row.id, "shift_id": row.shift_id}, 201
    return _back(province, data.day - timedelta(days=data.day.weekday()))


def _assignment_province(assignment_id: int) -> str:
    from roster.models import DutyAssignment

    row = db().get(DutyAssignment, assignment_id)
    if row is None:
        return _province()
    return row.shift.province_code


@bp.post("/assignments/<int(max=2147483647):assignment_id>/remove")
@desk_required("centre")
def remove(assignment_id: int):
    """Take a person (or team) off a shift."""
    province = _assignment_province(assignment_id)
    service.unassign(session=db(), actor=current_user, assignment_id=assignment_id)
    db().commit()
    return {"removed": assignment_id} if wants_json() else _back(province)


@bp.post("/assignments/<int(max=2147483647):assignment_id>/swap")
@desk_required("centre")
def swap(assignment_id: int):
    """Approve a swap: the substitute is on duty instead (empty: undo the swap)."""
    province = _assignment_province(assignment_id)
    try:
        row = service.approve_swap(session=db(), actor=current_user,
                                   assignment_id=assignment_id,
                                   substitute_id=schemas._int(_data().get("substitute_id")))
    except ValidationFailed as exc:
        return _refused(province, exc)
    db().commit()
    return {"id": row.id, "substitute_id": row.substitute_id} if wants_json() \
        else _back(province)


def _desk_staff() -> None:
    """Desk staff only (call-takers, dispatchers, supervisors, admins): their own duties."""
    from console.enums import DESK_STAFF
    from console.errors import Forbidden

    if current_user.role not in DESK_STAFF:
        raise Forbidden(N_("Your role cannot use this desk."))


@bp.get("/mine")
@login_required
def mine():
    """My duties of the last day and the next four weeks, and asking for a swap."""
    _desk_staff()
    now = utcnow()
    duties = service.my_duties(db(), current_user, now - timedelta(days=1),
                               now + timedelta(days=28))
    ids = {a.substitute_id for _, a in duties} | {a.user_id for _, a in duties}
    pools = {}
    for shift, a in duties:
        key = (shift.province_code, a.role)
        if key not in pools and a.role is not DutyRole.TEAM:
            pools[key] = [u for u in service.colleagues(db(), *key) if u.id != current_user.id]
    names = {u.id: u.display_name for pool in pools.values() for u in pool}
    missing = ids - set(names) - {None}
    if missing:
        names.update(dict(db().execute(select(User.id, User.display_name)
                                       .where(User.id.in_(missing))).all()))
    return render_template("roster_mine.html", duties=duties, pools=pools, names=names,
                           role_names=ROLE_NAMES, now=now, DutyRole=DutyRole,
                           clock=service.clock, minute_of=service.minute_of)


@bp.post("/assignments/<int(max=2147483647):assignment_id>/request-swap")
@login_required
def request_swap(assignment_id: int):
    """The person on a duty asks for a colleague to stand in (a supervisor approves it)."""
    _desk_staff()
    try:
        row = service.request_swap(session=db(), actor=current_user,
                                   assignment_id=assignment_id,
                                   substitute_id=schemas._int(_data().get("substitute_id")))
    except ValidationFailed as exc:
        if wants_json():
            raise
        db().rollback()
        return error_response(422, next(iter(exc.errors.values()))[0])
    db().commit()
    if wants_json():
        return {"id": row.id, "substitute_id": row.substitute_id, "approved": False}
    return redirect(url_for("roster.mine", saved=1))


@bp.post("/assignments/<int(max=2147483647):assignment_id>/attendance")
@desk_required("centre")
def attendance(assignment_id: int):
    """Record that the person checked in, or was absent (empty: clear)."""
    province = _assignment_province(assignment_id)
    try:
        value = schemas.parse_attendance(_data().get("attendance"))
        row = service.record_attendance(session=db(), actor=current_user,
                                        assignment_id=assignment_id, attendance=value)
    except ValidationFailed as exc:
        return _refused(province, exc)
    db().commit()
    return {"id": row.id, "attendance": value.value if value else None} if wants_json() \
        else _back(province)


@bp.post("/staffing")
@desk_required("centre")
def staffing():
    """Set the province's minimum people per role in every shift."""
    province = _province()
    try:
        levels = service.set_staffing(session=db(), actor=current_user, province_code=province,
                                      minimums=schemas.parse_staffing(_data()))
    except ValidationFailed as exc:
        return _refused(province, exc)
    db().commit()
    return {r.value: v for r, v in levels.items()} if wants_json() else _back(province)


@bp.post("/patterns")
@desk_required("centre")
def set_patterns():
    """Set the province's shifts of the day ('08.30-16.30, 16.30-08.30'; the night one ends
    the next day)."""
    province = _province()
    try:
        shifts = schemas.parse_patterns(_data().get("patterns"))
        result = service.set_patterns(session=db(), actor=current_user, province_code=province,
                                      shifts=shifts)
    except ValidationFailed as exc:
        return _refused(province, exc)
    db().commit()
    return {"patterns": [p.label for p in result]} if wants_json() else _back(province)


@bp.get("/export.csv")
@desk_required("centre")
def export():
    """The province's roster of the week (or ?from=&to= days) as CSV; imports back unchanged."""
    province, monday = _province(), _monday()
    try:
        first = date.fromisoformat(request.args.get("from", ""))
        last = date.fromisoformat(request.args.get("to", ""))
    except ValueError:
        first, last = monday, monday + timedelta(days=6)
    if last < first or (last - first).days > 366:
        return error_response(422, N_("Please choose at most a year, the first day before the "
                                      "last."))
    text = csvio.export_csv(session=db(), actor=current_user, province_code=province,
                            span=csvio.Span(first, last))
    log_read("users", entity="roster", format="csv")
    return Response(text, mimetype="text/csv", headers={
        "Content-Disposition": f'attachment; filename="roster-{province}-{first}.csv"',
        "Cache-Control": "no-store"})


@bp.post("/import")
@desk_required("centre")
def import_file():
    """Import a roster CSV: every line or none; the bad lines listed with their fields."""
    province = _province()
    return csv_import(
        lambda data: csvio.import_csv(session=db(), actor=current_user, data=data),
        FIELD_NAMES, lambda **shown: _page(province, _monday(), **shown))
