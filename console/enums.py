"""Roles and access scopes of console users."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    """What a user does; decides which desks and rooms they may use."""

    CALL_TAKER = "call_taker"
    DISPATCHER = "dispatcher"
    SUPERVISOR = "supervisor"
    FIELD_MEMBER = "field_member"
    CASE_WORKER = "case_worker"
    ADMIN = "admin"
    # An agency of the directory that answers its referrals in the console (cases/agency.py).
    AGENCY = "agency"
    # An อพม. volunteer: sees only the follow-up tasks given to them (cases/tasks.py).
    VOLUNTEER = "volunteer"


# Which roles may open which desk.
DESK_ROLES: dict[str, frozenset[Role]] = {
    "calls": frozenset({Role.CALL_TAKER, Role.SUPERVISOR, Role.ADMIN}),
    "dispatch": frozenset({Role.DISPATCHER, Role.SUPERVISOR, Role.ADMIN}),
    "supervisor": frozenset({Role.SUPERVISOR, Role.ADMIN}),
    "team": frozenset({Role.FIELD_MEMBER}),
    "cases": frozenset({Role.CASE_WORKER, Role.SUPERVISOR, Role.ADMIN}),
    "admin": frozenset({Role.ADMIN}),
    "agency": frozenset({Role.AGENCY}),
    "tasks": frozenset({Role.VOLUNTEER}),
    "users": frozenset({Role.ADMIN}),
    # The centre's data (admin/): teams and agencies also for supervisors (their province).
    "centre": frozenset({Role.ADMIN, Role.SUPERVISOR}),
}

# Desk-staff roles hear incident events of their province (or all, when national).
DESK_STAFF = frozenset({Role.CALL_TAKER, Role.DISPATCHER, Role.SUPERVISOR, Role.ADMIN})
