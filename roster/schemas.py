"""Input of the roster page: a new assignment, a swap, attendance, staffing minimums."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from console.errors import N_, ValidationFailed
from roster.enums import STAFF_ROLES, Attendance, DutyRole
from roster.service import parse_clock

MAX_ID = 2_147_483_647


def _int(value: Any) -> int | None:
    """A whole number as an id or count (None when it is none, or beyond any id)."""
    text = str(value if value is not None else "").strip()
    if not text.isascii() or not text.isdigit() or len(text) > 10 or int(text) > MAX_ID:
        return None
    return int(text)


@dataclass(frozen=True)
class AssignIn:
    """Who (or which team) goes on which shift of which day, as what."""

    day: date
    start_minute: int
    end_minute: int
    role: DutyRole
    user_id: int | None
    team_id: int | None
    substitute_id: int | None

    @classmethod
    def parse(cls, data: dict[str, Any]) -> AssignIn:
        errors: dict[str, tuple[str, dict]] = {}
        try:
            day = date.fromisoformat(str(data.get("day", "")).strip())
        except ValueError:
            day = None
            errors["day"] = (N_("Please choose a day."), {})
        shift = str(data.get("shift", "")).strip()
        start_text, _, end_text = shift.partition("-")
        start, end = parse_clock(start_text), parse_clock(end_text)
        if start is None or end is None:
            errors["shift"] = (N_("Please choose a shift."), {})
        try:
            role = DutyRole(str(data.get("role", "")))
        except ValueError:
            role = None
            errors["role"] = (N_("Please choose a duty role."), {})
        user_id, team_id = _int(data.get("user_id")), _int(data.get("team_id"))
        if role is DutyRole.TEAM and team_id is None:
            errors["team_id"] = (N_("Please choose a team."), {})
        elif role is not None and role is not DutyRole.TEAM and user_id is None:
            errors["user_id"] = (N_("Please choose who is on duty."), {})
        if errors:
            raise ValidationFailed(errors)
        return cls(day, start, end, role, user_id if role is not DutyRole.TEAM else None,
                   team_id if role is DutyRole.TEAM else None, _int(data.get("substitute_id")))


def parse_attendance(value: Any) -> Attendance | None:
    """'' clears; otherwise one of Attendance (422 otherwise)."""
    text = str(value or "").strip()
    if not text:
        return None
    try:
        return Attendance(text)
    except ValueError:
        raise ValidationFailed({"attendance": (N_("Please choose checked in or absent."),
                                               {})}) from None


def parse_patterns(value: Any) -> list[tuple[int, int]]:
    """'08.30-16.30, 16.30-08.30' (or a list of such) -> [(510, 990), (990, 510)]."""
    items = value if isinstance(value, list) else str(value or "").replace(";", ",").split(",")
    shifts = []
    for item in items:
        text = str(item).strip().replace("–", "-").removesuffix("น.").strip()
        if not text:
            continue
        start_text, _, end_text = text.partition("-")
        start, end = parse_clock(start_text), parse_clock(end_text)
        if start is None or end is None or start == end:
            raise ValidationFailed({"patterns": (N_("Please write each shift as 08.30-16.30, "
                                                    "separated by commas."), {})})
        shifts.append((start, end))
    if not shifts:
        raise ValidationFailed({"patterns": (N_("Please keep at least one shift."), {})})
    return shifts


def parse_staffing(data: dict[str, Any]) -> dict[DutyRole, int]:
    """The minimum per staff role (whole numbers 0–50)."""
    out: dict[DutyRole, int] = {}
    errors: dict[str, tuple[str, dict]] = {}
    for role in STAFF_ROLES:
        value = _int(data.get(role.value, 0) if data.get(role.value, "") != "" else 0)
        if value is None or value > 50:
            errors[role.value] = (N_("Please enter a whole number from 0 to 50."), {})
        else:
            out[role] = value
    if errors:
        raise ValidationFailed(errors)
    return out
