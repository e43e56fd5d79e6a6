"""Domain events: how one package reacts to another's change without calling its service.

A package announces a fact (`incident.resolved`, `call.closed`) with `announce()`; packages that
care subscribe a handler, wired once by the app factory (the roof), so the announcing package
knows nothing of who listens. Handlers run at once, inside the announcing transaction: what they
write commits or rolls back with the change itself, and their realtime events leave after the
commit like any other (console/realtime.py). A handler that raises undoes the whole change.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import Session

Handler = Callable[..., Any]

INCIDENT_RESOLVED = "incident.resolved"
CALL_CLOSED = "call.closed"
# A referral was recorded at intake (telephony/service.py: the guided-intake panel's one click,
# a call closed as referred elsewhere or one that also opened an incident): facts call,
# agency_id, incident (the incident the call opened, or None), by.
CALL_REFERRED = "call.referred"
# A case's referral step or plan action stayed late past its grace: facts province_code,
# case_id, step, level ('supervisor' or 'office'), now, link_base (cases/reminders.py).
CASE_OVERDUE = "case.overdue"
# A roster's shift is about to start short of people on a role (roster/flows.py): facts
# province_code, shift_id, starts_at, ends_at, short ({role: how many missing}), now, link_base.
ROSTER_SHORT = "roster.short"
# A roster's shift has started: facts province_code, shift_id, team_ids (teams on call), now.
SHIFT_STARTED = "roster.shift_started"
# A roster's shift ends soon: facts province_code, shift_id, team_ids, ends_at, ends_clock
# (Bangkok time as the centre writes it, '16.30'), now, link_base.
SHIFT_ENDING = "roster.shift_ending"

_handlers: dict[str, list[Handler]] = defaultdict(list)


def subscribe(name: str, handler: Handler) -> None:
    """Call `handler(session=..., **facts)` whenever `name` is announced (once per handler)."""
    if handler not in _handlers[name]:
        _handlers[name].append(handler)


def announce(session: Session, name: str, **facts: Any) -> None:
    """Tell every subscriber of `name`, inside the caller's transaction."""
    for handler in list(_handlers.get(name, ())):
        handler(session=session, **facts)


def subscribers(name: str) -> list[Handler]:
    """Who listens to `name` (for tests and the app factory's checks)."""
    return list(_handlers.get(name, ()))
