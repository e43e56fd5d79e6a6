"""Outbound realtime events of case management."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from cases.models import Case
from console import realtime
from console.rooms import case_rooms
from dispatch.events import place_names

CASE_OPENED = "case.opened"


def case_payload(case: Case) -> dict[str, Any]:
    """What the case worker desk lists about a case."""
    return {
        "id": case.id,
        "ref": case.ref,
        "incident_id": case.incident_id,
        "status": case.status.value,
        "category": case.category,
        "priority": case.priority,
        "summary": case.summary,
        "province_code": case.province_code,
        "place": place_names(case.province_code, case.district_code, case.subdistrict_code),
        "people_count": len(case.people),
        "opened_at": case.opened_at.isoformat(),
    }


def case_opened(*, session: Session, case: Case) -> dict:
    """A case entered intake: the case workers of its province hear."""
    rooms = case_rooms(case.province_code)
    return realtime.publish(session, CASE_OPENED, case_payload(case), rooms)
