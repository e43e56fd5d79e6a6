"""Outbound realtime events of the job queue (one payload builder per event name)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from console import realtime
from console.rooms import desk_rooms
from jobs.models import OutboundJob

OUTBOUND_FAILED = "outbound.failed"


def failed_payload(job: OutboundJob) -> dict[str, Any]:
    """A job that gave up: codes only (the desks label them); never the provider's words."""
    payload = job.payload or {}
    return {"id": job.id, "kind": job.kind, "state": job.state.value, "reason": job.reason,
            "incident_id": job.incident_id, "call_id": payload.get("call_id"),
            "attempts": job.attempts,
            "at": job.finished_at.isoformat() if job.finished_at else None}


def outbound_failed(*, session: Session, job: OutboundJob) -> dict:
    """A job ended dead: the desk staff of its province hear it (and reload their list)."""
    return realtime.publish(session, OUTBOUND_FAILED, failed_payload(job),
                            desk_rooms(job.province_code))
