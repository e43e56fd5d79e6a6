"""Who is on duty now, for the packages that must not import the roster (dispatch: alarms to the
supervisor on duty, suggestions that put teams on call first).

The roster's one resolver (roster.service.on_duty: Bangkok time, overnight shifts, approved
swaps and absences) is provided here by the app factory (console/__init__.py, beside the
domain events' subscriptions); for a province without a roster nobody is on duty and callers
do as before.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

# resolver(session, province_code, at) -> the people and teams on duty, each with .role
# ('call_taker', 'dispatcher', 'supervisor' or 'team'), .user_id and .team_id.
Resolver = Callable[[Session, str, datetime], Iterable[Any]]
# covers(session, province_code, at) -> whether some shift of the province's roster holds `at`.
Covers = Callable[[Session, str, datetime], bool]
_resolver: list[Resolver] = []
_covers: list[Covers] = []

SUPERVISOR = "supervisor"
TEAM = "team"


def provide(resolver: Resolver, covers: Covers) -> None:
    """The roster hands over its resolver and its "does a shift hold this instant" test (the
    last ones provided count)."""
    _resolver[:] = [resolver]
    _covers[:] = [covers]


def rostered(session: Session, province_code: str | None, at: datetime) -> bool:
    """Whether the province's roster covers the instant (a province that keeps no roster, or
    none for now, works as before rosters: everyone gets everything, without a notice)."""
    if not _covers or not province_code:
        return False
    return bool(_covers[0](session, province_code, at))


def on_duty(session: Session, province_code: str | None, at: datetime) -> list[Any]:
    """Everyone on duty in a province at an instant (one query); empty without a roster."""
    if not _resolver or not province_code:
        return []
    return list(_resolver[0](session, province_code, at))


def supervisors(session: Session, province_code: str | None, at: datetime) -> list[int]:
    """The ids of the people on duty as supervisor, in roster order."""
    found: list[int] = []
    for d in on_duty(session, province_code, at):
        if d.role == SUPERVISOR and d.user_id is not None and d.user_id not in found:
            found.append(d.user_id)
    return found


def teams_on_call(session: Session, province_code: str | None, at: datetime) -> set[int]:
    """The ids of the teams on call in the shift holding the instant."""
    return {d.team_id for d in on_duty(session, province_code, at)
            if d.role == TEAM and d.team_id is not None}
