"""The roster's vocabularies."""

from __future__ import annotations

from enum import StrEnum


class DutyRole(StrEnum):
    """What a person (or a team) is on duty as during a shift."""

    CALL_TAKER = "call_taker"
    DISPATCHER = "dispatcher"
    SUPERVISOR = "supervisor"
    TEAM = "team"  # a rapid-response team on call for the shift


# The roles people hold on a shift (staffing minimums are set for these).
STAFF_ROLES = (DutyRole.CALL_TAKER, DutyRole.DISPATCHER, DutyRole.SUPERVISOR)


class Attendance(StrEnum):
    """Whether the person on an assignment came to the shift."""

    CHECKED_IN = "checked_in"
    ABSENT = "absent"
