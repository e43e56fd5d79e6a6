"""What dispatch does about the duty roster's facts (domain events from roster/flows.py): a
shift about to start short of people raises an alarm to the supervisor on duty (else the
province's supervisors), on the same banner and by the same SMS as dispatch's own alarms;
teams on call for a shift that starts become available (unless busy or taken out of service)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from console.errors import N_
from console.models import User
from dispatch import flows
from dispatch.enums import AlarmKind, TeamStatus
from dispatch.models import Alarm, Team
from dispatch.service import _raise_alarm, _team_transition
from jobs.service import JobContext, Skip, enqueue, task

ROSTER_REMINDER_SMS = "sms.roster_reminder"


def _in_service(session: Session, team_id: int) -> bool:
    """Whether the admin pages keep the team in service (no profile row: in service). Read
    from the table, not admin's service: dispatch must not import admin (admin imports it)."""
    from sqlalchemy import select

    from console.db import Base

    profile = Base.metadata.tables.get("team_profile")
    if profile is None:
        return True
    active = session.scalar(select(profile.c.active).where(profile.c.team_id == team_id))
    return active is not False


def on_roster_short(*, session: Session, province_code: str, shift_id: int,
                    starts_at: datetime, ends_at: datetime, short: dict[str, int],
                    now: datetime, link_base: str, **_facts) -> Alarm:
    """Raise the short-staffed shift's alarm with its facts (each reader reads it in their
    language: dispatch/flows.alarm_note, static/js/alarms.js) and queue its SMS to the
    supervisor on duty (else the province's supervisors)."""
    facts = {"shift_id": shift_id, "starts_at": starts_at.isoformat(),
             "ends_at": ends_at.isoformat(), "short": dict(short)}
    alarm = _raise_alarm(session, kind=AlarmKind.ROSTER_SHORT, province_code=province_code,
                         now=now, facts=facts)
    flows.notify_alarm(session=session, alarm_id=alarm.id, link_base=link_base)
    return alarm


def on_shift_started(*, session: Session, province_code: str, team_ids: list[int],
                     now: datetime, **_facts) -> list[int]:
    """Teams on call for the shift that were off duty become available; returns them (a team
    taken out of service stays off duty: admin/service.py keeps it so on every flush)."""
    made = []
    for team_id in team_ids:
        team = session.get(Team, team_id)
        if (team is None or team.province_code != province_code
                or team.status is not TeamStatus.OFF_DUTY or not _in_service(session, team_id)):
            continue
        _team_transition(session=session, team=team, to=TeamStatus.AVAILABLE, at=now, by=None)
        made.append(team_id)
    return made


def on_shift_ending(*, session: Session, team_ids: list[int], ends_clock: str,
                    **_facts) -> int:
    """Queue a reminder SMS to each member (with a phone) of the teams on call whose shift ends
    soon; returns how many."""
    from telephony import service as telephony_service

    count = 0
    for team_id in team_ids:
        team = session.get(Team, team_id)
        if team is None:
            continue
        for member in telephony_service.team_members_to_text(session=session, team_id=team_id):
            enqueue(session, ROSTER_REMINDER_SMS, {"team_id": team_id, "user_id": member.id,
                                                   "time": ends_clock},
                    province_code=team.province_code,
                    recipient=f"{member.display_name} ({team.name})")
            count += 1
    return count


@task(ROSTER_REMINDER_SMS, label=N_("Reminder SMS: a team's shift ends"))
def roster_reminder_job(ctx: JobContext, payload: dict) -> None:
    """The end-of-shift reminder to one team member, in their language."""
    from flask_babel import force_locale, gettext

    member = ctx.session.get(User, payload["user_id"])
    team = ctx.session.get(Team, payload["team_id"])
    if member is None or team is None or not member.active or not member.phone:
        raise Skip
    with force_locale(member.locale or "th"):
        body = gettext("1300: the shift of team %(team)s ends at %(time)s. Please set the "
                       "team's status before going off duty.") % {
            "team": team.name, "time": payload["time"]}
    flows._send(ctx, to=member.phone, body=body, team_id=team.id, recipient_id=member.id)
