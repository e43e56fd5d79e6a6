"""Outbound realtime events of the ESS domain (one payload builder per event name)."""

from __future__ import annotations

from typing import Any

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
# status reporters hear about queues one push job per reporter, in the same transaction (a
# rollback drops them); the job worker sends them (ess/flows.py), never the request.


@event.listens_for(Session, "after_flush")
def _queue_pushes(session: Session, _context) -> None:
    from ess.flows import LINE_PUSH
    from ess.service import PUSH_MESSAGES
    from jobs.service import enqueue

    entries = [obj for obj in session.new if isinstance(obj, TimelineEntry)
               and obj.to_status is not None and IncidentStatus(obj.to_status) in PUSH_MESSAGES]
    for entry in entries:
        rows = session.connection().execute(
            select(Report.line_user_id, Report.id)
            .outerjoin(LineFollower, LineFollower.line_user_id == Report.line_user_id)
            .where(Report.incident_id == entry.incident_id, Report.line_user_id.is_not(None),
                   or_(LineFollower.following.is_(None), LineFollower.following.is_(True)))
            .order_by(Report.id)).all()
        if not rows:
            continue
        province = session.connection().scalar(
            select(Incident.province_code).where(Incident.id == entry.incident_id))
        for user_id, report_id in rows:
            enqueue(session, LINE_PUSH, {"to": user_id, "report_id": report_id,
                                         "status": IncidentStatus(entry.to_status).value},
                    province_code=province, incident_id=entry.incident_id,
                    recipient=f"LINE ESS-{report_id:06d}")
