"""The failed outbound list for the dispatcher and supervisor desks."""

from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, current_app, jsonify
from flask_login import current_user

from console.db import utcnow
from console.errors import N_
from console.web import db, desk_required, translate
from jobs import service
from jobs.enums import JobState
from jobs.models import OutboundJob
from jobs.worker import settings_of

bp = Blueprint("jobs", __name__, url_prefix="/api/outbound")

STATES = {JobState.DEAD: N_("Gave up"), JobState.PENDING: N_("Trying again"),
          JobState.RUNNING: N_("Trying again")}


def _item(job: OutboundJob, refs: dict[int, str], max_attempts: int) -> dict:
    return {
        "id": job.id, "kind": job.kind, "what": translate(service.kind_label(job.kind)),
        "state": job.state.value, "state_label": translate(STATES.get(job.state, "")),
        "reason": job.reason,
        "reason_label": translate(service.REASONS.get(job.reason, service.REASONS["error"])),
        "recipient": job.recipient, "incident_id": job.incident_id,
        "incident_ref": refs.get(job.incident_id), "attempts": job.attempts,
        "max_attempts": job.max_attempts or max_attempts,
        "next_try_at": job.run_at.isoformat() if job.state is JobState.PENDING else None,
        "at": (job.finished_at or job.created_at).isoformat(),
    }


@bp.get("/failed")
@desk_required("dispatch")
def failed():
    """Outbound messages that gave up in the last 24 hours, and those still being retried,
    of the user's province (national users: all), each with the reason in the user's
    language."""
    from sqlalchemy import select

    from dispatch.models import Incident

    session = db()
    jobs = service.failed_jobs(session=session, province_code=current_user.province_code,
                               national=current_user.is_national,
                               since=utcnow() - timedelta(hours=24))
    ids = {j.incident_id for j in jobs if j.incident_id}
    refs = dict(session.execute(select(Incident.id, Incident.ref).where(
        Incident.id.in_(ids))).all()) if ids else {}
    settings = settings_of(current_app)
    return jsonify([_item(j, refs, settings.max_attempts) for j in jobs])
