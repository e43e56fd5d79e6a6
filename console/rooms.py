"""Socket.IO room names, and which rooms a user may join."""

from __future__ import annotations

from console.enums import DESK_STAFF, Role
from console.models import User

NATIONAL = "national"
CASES_NATIONAL = "cases:national"
CALLTAKERS_NATIONAL = "calltakers:national"
SUPERVISORS_NATIONAL = "supervisors:national"


def desk_rooms(province_code: str | None) -> list[str]:
    """Rooms of desk staff who may see an object of this province."""
    return [NATIONAL] + ([f"province:{province_code}"] if province_code else [])


def team_room(team_id: int) -> str:
    """The room of one rapid-response team's members."""
    return f"team:{team_id}"


def user_room(user_id: int) -> str:
    """One user's own consoles (for ending them at logout); carries no domain events."""
    return f"user:{user_id}"


def pop_room(user_id: int) -> str:
    """One call-taker's (or supervisor's) own screen pops: the duty roster's first wave."""
    return f"pops:{user_id}"


def agency_room(agency_id: int) -> str:
    """The room of one agency's users (their referral list)."""
    return f"agency:{agency_id}"


def volunteer_room(user_id: int) -> str:
    """The room of one อพม. volunteer (their task list)."""
    return f"volunteer:{user_id}"


def case_rooms(province_code: str) -> list[str]:
    """Rooms of case workers who may see a case of this province."""
    return [CASES_NATIONAL, f"cases:{province_code}"]


def rooms_for_user(user: User) -> set[str]:
    """Every room this user's role and scope allow, and no other."""
    rooms: set[str] = set()
    if user.role in DESK_STAFF:
        rooms.add(NATIONAL if user.is_national else f"province:{user.province_code}")
    if user.role is Role.FIELD_MEMBER and user.team_id is not None:
        rooms.add(team_room(user.team_id))
    if user.role in (Role.CASE_WORKER, Role.SUPERVISOR, Role.ADMIN):
        rooms.add(CASES_NATIONAL if user.is_national else f"cases:{user.province_code}")
    if user.role is Role.AGENCY and user.agency_id is not None:
        rooms.add(agency_room(user.agency_id))
    if user.role is Role.VOLUNTEER:
        rooms.add(volunteer_room(user.id))
    if user.role is Role.CALL_TAKER:
        rooms.add(CALLTAKERS_NATIONAL if user.is_national
                  else f"calltakers:{user.province_code}")
    if user.role in (Role.CALL_TAKER, Role.SUPERVISOR, Role.ADMIN):
        rooms.add(pop_room(user.id))  # NOTE: the roster's on-duty pops (telephony/routing).
    if user.role in (Role.SUPERVISOR, Role.ADMIN):
        rooms.add(SUPERVISORS_NATIONAL if user.is_national
                  else f"supervisors:{user.province_code}")
    return rooms


def calltaker_rooms(province_code: str | None) -> list[str]:
    """Rooms of call-takers who get the screen pop of a call queued for this province."""
    return [CALLTAKERS_NATIONAL] + ([f"calltakers:{province_code}"] if province_code else [])


def supervisor_rooms(province_code: str | None) -> list[str]:
    """Rooms of supervisors (calls routed to the supervisors' queue pop there)."""
    return [SUPERVISORS_NATIONAL] + ([f"supervisors:{province_code}"] if province_code else [])
