"""What the roster does as time passes, from the console's timer loop: before a shift starts
short of people on a role, say so with its facts (domain event `roster.short`, once per shift;
dispatch alarms the supervisor on duty, and each reader reads it in their language); when a
shift starts, say so with its teams on call (`roster.shift_started`, once), so dispatch makes
them available. Who reacts is wired by the app factory."""

from __future__ import annotations

import logging
import os
import time
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from console import domain_events
from console.db import utcnow
from console.errors import ValidationFailed
from roster.models import DutyAssignment, DutyShift, StaffingLevel
from roster.service import (
    clock,
    ensure_shift,
    local_day,
    minute_of,
    patterns,
    shift_at,
    shortfall,
    staffing,
)

log = logging.getLogger("console.roster")
CHECK_EVERY_SECONDS = 30.0
_last_pass = {"at": 0.0}


def _setting(app, name: str, default: int) -> int:
    value = app.config.get(name) if app is not None else None
    if value is None:
        value = os.environ.get(name, default)
    try:
        return max(int(value), 0)
    except (TypeError, ValueError):
        return default


def check_upcoming(*, session: Session, now: datetime, lead: timedelta, link_base: str
                   ) -> list[int]:
    """Announce once each shift starting within `lead` that is short against its province's
    minimums (only provinces that set minimums); returns the shifts announced."""
    announced = []
    provinces = session.scalars(select(StaffingLevel.province_code)
                                .where(StaffingLevel.minimum > 0).distinct()).all()
    for province in provinces:
        levels = staffing(session, province)
        windows: set[tuple] = set()
        today = local_day(now)
        for day in (today - timedelta(days=1), today, today + timedelta(days=1)):
            for p in patterns(session, province):
                windows.add((day, p.start_minute, p.end_minute))
        for shift in session.scalars(select(DutyShift).where(
                DutyShift.province_code == province, DutyShift.starts_at > now,
                DutyShift.starts_at <= now + lead)):
            windows.add((local_day(shift.starts_at), minute_of(shift.starts_at),
                         minute_of(shift.ends_at)))
        for day, start, end in sorted(windows):
            from roster.service import shift_window

            starts_at, _ = shift_window(day, start, end)
            if not now < starts_at <= now + lead:
                continue
            shift = shift_at(session, province, starts_at)
            if shift is not None and shift.short_alarm_at is not None:
                continue
            if not shortfall(shift, levels):
                continue
            if shift is None:
                try:
                    shift = ensure_shift(session, province_code=province, day=day,
                                         start_minute=start, end_minute=end)
                except ValidationFailed:
                    continue  # NOTE: overlaps a stored shift of an older pattern: that one counts.
            short = shortfall(shift, levels)
            if not _claim_shift(session, shift.id, DutyShift.short_alarm_at, now):
                continue
            domain_events.announce(session, domain_events.ROSTER_SHORT, province_code=province,
                                   shift_id=shift.id, starts_at=shift.starts_at,
                                   ends_at=shift.ends_at, short={r.value: n for r, n in
                                                                 short.items()},
                                   now=now, link_base=link_base)
            announced.append(shift.id)
    return announced


def _claim_shift(session: Session, shift_id: int, column, now: datetime) -> bool:
    """Claim a shift's one-time step (its alarm, teams made available, teams reminded): stamp
    `column` with `now` where it is still empty; True for the one process that stamped it."""
    # NOTE: a conditional UPDATE in the database: two processes never both take the step.
    return session.execute(update(DutyShift).where(DutyShift.id == shift_id, column.is_(None))
                           .values({column: now})).rowcount == 1


def _teams_on_call(session: Session, shift_id: int) -> list[int]:
    """The teams on call for a shift, by id."""
    return sorted(session.scalars(select(DutyAssignment.team_id).where(
        DutyAssignment.shift_id == shift_id, DutyAssignment.team_id.is_not(None))))


def start_shifts(*, session: Session, now: datetime) -> list[int]:
    """Announce once each shift under way whose teams on call were not yet made available."""
    started = []
    rows = session.execute(
        select(DutyShift.id, DutyShift.province_code).join(DutyAssignment.shift)
        .where(DutyShift.starts_at <= now, DutyShift.ends_at > now,
               DutyShift.teams_started_at.is_(None), DutyAssignment.team_id.is_not(None))
        .distinct()).all()
    for shift_id, province in rows:
        if not _claim_shift(session, shift_id, DutyShift.teams_started_at, now):
            continue
        team_ids = _teams_on_call(session, shift_id)
        domain_events.announce(session, domain_events.SHIFT_STARTED, province_code=province,
                               shift_id=shift_id, team_ids=team_ids, now=now)
        started.append(shift_id)
    return started


def remind_ending(*, session: Session, now: datetime, before: timedelta, link_base: str
                  ) -> list[int]:
    """Announce once each shift with teams on call that ends within `before` (so the teams are
    reminded to hand over and set their status)."""
    reminded = []
    rows = session.execute(
        select(DutyShift.id, DutyShift.province_code, DutyShift.ends_at)
        .join(DutyAssignment.shift)
        .where(DutyShift.ends_at > now, DutyShift.ends_at <= now + before,
               DutyShift.teams_reminded_at.is_(None), DutyAssignment.team_id.is_not(None))
        .distinct()).all()
    for shift_id, province, ends_at in rows:
        if not _claim_shift(session, shift_id, DutyShift.teams_reminded_at, now):
            continue
        team_ids = _teams_on_call(session, shift_id)
        domain_events.announce(session, domain_events.SHIFT_ENDING, province_code=province,
                               shift_id=shift_id, team_ids=team_ids, ends_at=ends_at,
                               ends_clock=clock(minute_of(ends_at)), now=now,
                               link_base=link_base)
        reminded.append(shift_id)
    return reminded


def timer_pass(app, logger=None) -> None:
    """From the console's timer loop: at most every CHECK_EVERY_SECONDS, in its own
    transaction (a fault here never undoes another package's timers)."""
    if time.monotonic() - _last_pass["at"] < CHECK_EVERY_SECONDS:
        return
    _last_pass["at"] = time.monotonic()
    session = app.extensions["db_factory"]()
    try:
        now = utcnow()
        lead = timedelta(minutes=_setting(app, "ROSTER_ALARM_LEAD_MINUTES", 60))
        link_base = app.config.get("PUBLIC_BASE_URL") or "http://localhost"
        check_upcoming(session=session, now=now, lead=lead, link_base=link_base)
        start_shifts(session=session, now=now)
        remind_ending(session=session, now=now, link_base=link_base,
                      before=timedelta(minutes=_setting(app, "ROSTER_END_REMINDER_MINUTES", 15)))
        session.commit()
    except Exception:  # noqa: BLE001
        session.rollback()
        (logger or log).exception("roster pass failed; retrying next tick")
    finally:
        session.close()
