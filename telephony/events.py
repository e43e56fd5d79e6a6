"""Outbound realtime events of the call log."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from console import realtime
from console.rooms import desk_rooms
from telephony.models import Call

CALL_LOGGED = "call.logged"


def call_payload(call: Call) -> dict[str, Any]:
    """What the supervisor board counts about a call (no caller details: PDPA)."""
    return {
        "id": call.id,
        "outcome": call.outcome.value if call.outcome else None,
        "province_code": call.province_code,
        "created_at": call.created_at.isoformat(),
        "closed_at": call.closed_at.isoformat() if call.closed_at else None,
    }


def call_logged(*, session: Session, call: Call) -> dict:
    """A call was logged: its province's desks hear (for the board's counts)."""
    rooms = desk_rooms(call.province_code)
    return realtime.publish(session, CALL_LOGGED, call_payload(call), rooms)
