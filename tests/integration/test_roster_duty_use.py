"""What the roster's "who is on duty now" does for the rest of the console (issue 14): alarms
go to the supervisor on duty (every supervisor of the province only when nobody is, and the
alarm says so), dispatch suggests teams on call first, the short-shift alarm keeps its facts
and is read in the reader's language; the roster page shows each holder the same way."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import select

from console.db import utcnow
from console.models import User
from roster import service as roster
from roster.enums import DutyRole


def _user(session, username: str) -> User:
    return session.scalar(select(User).where(User.username == username))


def _current_shift(session, sup: User, role: DutyRole, **who) -> None:
    """Put someone (or a team) on the province's shift holding this instant."""
    now = utcnow()
    for p in roster.patterns(session, "65"):
        for day in (roster.local_day(now) - timedelta(days=1), roster.local_day(now)):
            starts, ends = roster.shift_window(day, p.start_minute, p.end_minute)
            if starts <= now < ends:
                roster.assign(session=session, actor=sup, province_code="65", day=day,
                              start_minute=p.start_minute, end_minute=p.end_minute, role=role,
                              **who)
                return
    raise AssertionError("no shift holds now")


def test_the_roster_page_shows_teams_and_swapped_people_alike_now_and_in_the_week(
        login_as, session):
    from dispatch.models import Team

    sup = _user(session, "supervisor")
    team = session.scalar(select(Team).where(Team.code == "PSL-1"))
    _current_shift(session, sup, DutyRole.TEAM, team_id=team.id)
    _current_shift(session, sup, DutyRole.CALL_TAKER, user_id=_user(session, "calltaker").id,
                   substitute_id=_user(session, "pmj").id)
    session.commit()
    text = login_as("supervisor").get("/desk/roster").get_data(as_text=True)
    now_line = re.search(r'data-testid="roster-now">(.*?)</p>', text, re.S).group(1)
    assert team.name in now_line
    assert "<s>สมศรี รับสาย</s> → สุดารัตน์ สนง.พมจ.พิษณุโลก" in now_line
    week = text[text.index('data-testid="roster-week"'):text.index("</table>")]
    assert f">{team.code}" in week.replace("\n", "").replace(" ", "")
    assert "<s>สมศรี รับสาย</s> → สุดารัตน์ สนง.พมจ.พิษณุโลก" in week
    # Each entry's forms go back to the same week, with the page's token.
    assert week.count('name="csrf_token"') == 4  # team: remove; person: remove, attendance, swap
