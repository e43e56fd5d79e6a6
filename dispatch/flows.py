"""Slow third-party work of dispatch, as jobs: the SMS that go with an offer or an alarm.

The change that causes an SMS queues one job per recipient in its own transaction (a
rolled-back change sends nothing); the job worker sends it, keeps every try in
OutboundMessage, retries with back-off and gives up visibly. A request or timer pass never
waits on the SMS provider.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from console.db import utcnow
from console.errors import N_
from console.labels import (
    PRIORITY_WORDS,
    format_be_date,
    format_clock_range,
    label,
    place_names,
)
from console.models import User
from dispatch import service as dispatch_service
from dispatch.enums import AlarmKind, IncidentStatus
from dispatch.models import Alarm, Incident, Team
from jobs.service import JobContext, JobFailed, Skip, enqueue, task
from telephony import service as telephony_service
from telephony.schemas import format_thai_phone, is_thai_mobile

TEAM_SMS = "sms.team_offer"
ALARM_SMS = "sms.alarm"
CONTACT_SMS = "sms.contact"
# Alarms whose SMS go out when an offer changes (lapsed, escalated, nobody offered, check-in).
_OFFER_ALARMS = (AlarmKind.MISSED_CHECKIN, AlarmKind.OFFER_LAPSED, AlarmKind.ESCALATED,
                 AlarmKind.UNOFFERED)


def notify_assignment(*, session: Session, incident_id: int, link_base: str) -> int:
    """Queue the SMS to each member (with a phone) of the team just offered; returns how many."""
    incident = session.get(Incident, incident_id)
    if incident is None or incident.status is not IncidentStatus.ASSIGNED or not incident.team:
        return 0
    team = incident.team
    members = telephony_service.team_members_to_text(session=session, team_id=team.id)
    for member in members:
        enqueue(session, TEAM_SMS, {"incident_id": incident.id, "team_id": team.id,
                                    "user_id": member.id, "link_base": link_base},
                province_code=incident.province_code, incident_id=incident.id,
                recipient=f"{member.display_name} ({team.name})")
    return len(members)


def notify_alarm(*, session: Session, alarm_id: int, link_base: str) -> int:
    """Queue the alarm's SMS to whom dispatch.service.alarm_recipients picks: the supervisors
    on duty, else every supervisor of the province (the alarm then says so: its facts)."""
    alarm = session.get(Alarm, alarm_id)
    if alarm is None or alarm.handled_at is not None:
        return 0
    people = dispatch_service.alarm_recipients(
        session=session, province_code=alarm.province_code,
        at=alarm.raised_at or utcnow()).people
    for person in people:
        enqueue(session, ALARM_SMS, {"alarm_id": alarm.id, "user_id": person.id,
                                     "link_base": link_base},
                province_code=alarm.province_code, incident_id=alarm.incident_id,
                recipient=person.display_name)
    return len(people)


def notify_contact(*, session: Session, alarm_id: int) -> int:
    """Queue the SMS to the outside contact an escalation rung names, when it is a mobile."""
    alarm = session.get(Alarm, alarm_id)
    if (alarm is None or alarm.kind is not AlarmKind.ESCALATED or alarm.handled_at is not None
            or not is_thai_mobile(alarm.contact_phone)):
        return 0
    enqueue(session, CONTACT_SMS, {"alarm_id": alarm.id},
            province_code=alarm.province_code, incident_id=alarm.incident_id,
            recipient=alarm.contact_name or format_thai_phone(alarm.contact_phone))
    return 1


def after_offer_change(*, session: Session, incident_id: int, link_base: str) -> None:
    """After an offer lapsed, was declined or the ladder climbed: queue SMS to whoever must
    now act (the team offered, the supervisors and outside contact of the newest alarm)."""
    notify_assignment(session=session, incident_id=incident_id, link_base=link_base)
    newest = session.scalar(select(Alarm).where(
        Alarm.incident_id == incident_id, Alarm.handled_at.is_(None),
        Alarm.kind.in_(_OFFER_ALARMS)).order_by(Alarm.id.desc()).limit(1))
    if newest is None:
        return
    notify_alarm(session=session, alarm_id=newest.id, link_base=link_base)
    notify_contact(session=session, alarm_id=newest.id)


def after_timers(*, session: Session, fired: list[str], link_base: str) -> None:
    """In the timer pass's transaction: queue the SMS of every incident a timer moved."""
    for item in fired:
        _kind, _, raw_id = item.partition(":")
        after_offer_change(session=session, incident_id=int(raw_id), link_base=link_base)


def alarm_note(alarm: Alarm, *, lang: str | None = None) -> str:
    """What a roster alarm says, from its stored facts, in `lang` (else the user's language):
    'เวร 3 ธ.ค. 2569 16.30–08.30 น. ขาดผู้รับแจ้ง 1 คน' / 'Shift of 3 Dec 2569 BE,
    16:30–08:30, is short of people: Call-taker: 1' (static/js/alarms.js writes the same on
    the desks); an alarm without facts (older ones): its note as written. Needs an app context."""
    from flask_babel import force_locale, get_locale

    facts = alarm.facts or {}
    if not (alarm.kind is AlarmKind.ROSTER_SHORT and facts.get("starts_at")
            and facts.get("ends_at")):
        return alarm.note or ""
    lang = lang or str(get_locale() or "th")
    with force_locale(lang):
        missing = (" " if lang.startswith("th") else ", ").join(
            label("alarm_note", "missing") % {"role": label("duty_role", role), "count": count}
            for role, count in (facts.get("short") or {}).items())
        return label("alarm_note", "roster_short") % {
            "date": format_be_date(datetime.fromisoformat(facts["starts_at"]), lang=lang),
            "range": format_clock_range(facts["starts_at"], facts["ends_at"], lang=lang),
            "missing": missing}


# --- the jobs -------------------------------------------------------------------------------

def _send(ctx: JobContext, *, to: str, body: str, **links) -> None:
    """Send one SMS, keep the try; a refusal or an outage is a failed try of the job."""
    provider = ctx.app.extensions["telephony"]
    result = provider.send_sms(to, body)
    telephony_service.record_sms(session=ctx.session, provider=provider, to=to, body=body,
                                 result=result, **links)
    if not result.ok:
        raise JobFailed(result.reason or "error", result.error or "")


@task(TEAM_SMS, label=N_("SMS to a team member"))
def team_sms_job(ctx: JobContext, payload: dict) -> None:
    """The offer SMS to one team member, while the offer still stands."""
    session = ctx.session
    incident = session.get(Incident, payload["incident_id"])
    member = session.get(User, payload["user_id"])
    if (incident is None or incident.status is not IncidentStatus.ASSIGNED
            or incident.team_id != payload["team_id"] or member is None or not member.active
            or not member.phone):
        raise Skip  # NOTE: the offer was withdrawn or taken before its SMS could go out.
    body = telephony_service.team_sms_text(
        incident=incident, link_base=payload["link_base"],
        map_link_template=ctx.app.config["MAP_LINK_TEMPLATE"], locale=member.locale or "th")
    _send(ctx, to=member.phone, body=body, incident_id=incident.id, team_id=incident.team_id,
          recipient_id=member.id)


@task(ALARM_SMS, label=N_("Alarm SMS to a supervisor"))
def alarm_sms_job(ctx: JobContext, payload: dict) -> None:
    """The alarm SMS to one supervisor, unless someone already took charge of the alarm."""
    from flask_babel import force_locale

    session = ctx.session
    alarm = session.get(Alarm, payload["alarm_id"])
    person = session.get(User, payload["user_id"])
    if alarm is None or alarm.handled_at is not None or person is None or not person.phone:
        raise Skip
    team = session.get(Team, alarm.team_id) if alarm.team_id else None
    incident = session.get(Incident, alarm.incident_id) if alarm.incident_id else None
    locale = person.locale or "th"
    with force_locale(locale):
        kind = label("alarm", alarm.kind)
        if alarm.kind is AlarmKind.ROSTER_SHORT:
            kind = f"{kind}: {alarm_note(alarm, lang=locale)}"
        if alarm.kind is AlarmKind.ESCALATED:
            kind = " ".join(x for x in (kind + ":", label("escalation_action", alarm.note),
                                        alarm.contact_name, alarm.contact_phone) if x)
        if (alarm.facts or {}).get("sent_to_all"):
            kind = f"{kind} ({label('alarm_sent_to_all', alarm.facts['sent_to_all'])})"
    body = telephony_service.alarm_sms_text(
        kind_label=kind, team_name=team.name if team else "-",
        incident_ref=incident.ref if incident else None, link_base=payload["link_base"],
        locale=locale)
    _send(ctx, to=person.phone, body=body, incident_id=alarm.incident_id, team_id=alarm.team_id,
          recipient_id=person.id)


def contact_sms_text(incident: Incident) -> str:
    """The SMS to an outside contact (police, EMS, the provincial office), always in Thai: the
    centre by name, the priority in words, no caller data (needs an app context)."""
    from flask_babel import force_locale, gettext

    with force_locale("th"):
        place = place_names(incident.province_code, incident.district_code,
                            incident.subdistrict_code)
        return gettext("1300 asks for help: incident %(ref)s, %(category)s, %(priority)s, at "
                       "%(place)s; no team has taken it yet. Please call the 1300 centre.") % {
            "ref": incident.ref, "category": label("category", incident.category),
            "priority": str(PRIORITY_WORDS[incident.priority.value]), "place": place}


@task(CONTACT_SMS, label=N_("SMS to an outside contact"))
def contact_sms_job(ctx: JobContext, payload: dict) -> None:
    """The escalation SMS to an outside contact (no caller data leaves)."""
    session = ctx.session
    alarm = session.get(Alarm, payload["alarm_id"])
    if alarm is None or alarm.handled_at is not None or not is_thai_mobile(alarm.contact_phone):
        raise Skip
    incident = session.get(Incident, alarm.incident_id)
    _send(ctx, to=alarm.contact_phone, body=contact_sms_text(incident), incident_id=incident.id)
