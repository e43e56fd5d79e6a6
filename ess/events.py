"""Outbound realtime events of the ESS domain (one payload builder per event name)."""

from __future__ import annotations

import logging
from typing import Any

from flask import current_app, has_app_context
from flask_babel import force_locale
from sqlalchemy import event, or_, select
from sqlalchemy.orm import Session

from console import realtime
from console.rooms import desk_rooms
from dispatch.enums import IncidentStatus
from dispatch.models import Incident, TimelineEntry
from ess.models import LineFollower, Report

INCIDENT_REPORTS = "incident.reports"


def reports_payload(incident: Incident, report_count: int) -> dict[str, Any]:
    """How many citizen reports an incident gathers (the desk shows the count)."""
    return {"incident_id": incident.id, "ref": incident.ref, "report_count": report_count}


def incident_reports(*, session: Session, incident: Incident, report_count: int) -> dict:
    """A report joined or left an incident: its province's desks hear the new count."""
    return realtime.publish(session, INCIDENT_REPORTS, reports_payload(incident, report_count),
                            desk_rooms(incident.province_code))


# --- Status pushes to LINE reporters --------------------------------------------------------
# NOTE: dispatch/ is not touched: a flush that writes a timeline entry moving an incident to a
# status reporters hear about queues a push; it is sent only after the commit, dropped on
# rollback (the same rule as realtime events).

PUSH_KEY = "ess_line_pushes"
log = logging.getLogger(__name__)


@event.listens_for(Session, "after_flush")
def _queue_pushes(session: Session, _context) -> None:
    from ess.service import PUSH_MESSAGES

    entries = [obj for obj in session.new if isinstance(obj, TimelineEntry)
               and obj.to_status is not None and IncidentStatus(obj.to_status) in PUSH_MESSAGES]
    for entry in entries:
        rows = session.connection().execute(
            select(Report.line_user_id, Report.id)
            .outerjoin(LineFollower, LineFollower.line_user_id == Report.line_user_id)
            .where(Report.incident_id == entry.incident_id, Report.line_user_id.is_not(None),
                   or_(LineFollower.following.is_(None), LineFollower.following.is_(True)))
            .order_by(Report.id)).all()
        if rows:
            session.info.setdefault(PUSH_KEY, []).append(
                (IncidentStatus(entry.to_status), [(r[0], r[1]) for r in rows]))


@event.listens_for(Session, "after_commit")
def _send_pushes(session: Session) -> None:
    queued = session.info.pop(PUSH_KEY, None)
    if not queued or not has_app_context():
        return
    from console.web import translate
    from ess import service as ess_service
    from ess.flows import LineMessenger

    messenger = LineMessenger.from_config(current_app.config)
    for status, pushes in queued:
        try:
            with force_locale("th"):
                ess_service.push_status(messenger=messenger, pushes=pushes, status=status,
                                        translate=translate)
        except Exception:  # noqa: BLE001
            # NOTE: the status change is saved; a LINE outage must not turn it into a 500.
            log.exception("LINE status push failed")


@event.listens_for(Session, "after_rollback")
def _drop_pushes(session: Session) -> None:
    session.info.pop(PUSH_KEY, None)
