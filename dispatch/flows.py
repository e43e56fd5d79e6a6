"""Slow third-party work after a dispatch change has committed: the SMS that go with it.

Each function runs in its own transaction after the change it follows, so a slow or failing SMS
provider never holds up or undoes a dispatch decision; every attempt and its result is stored.
"""

from __future__ import annotations

import logging

from sqlalchemy import select
from sqlalchemy.orm import Session

from console.labels import PRIORITY_WORDS, label, place_names
from dispatch.enums import AlarmKind, IncidentStatus
from dispatch.models import Alarm, Incident, Team
from telephony import service as telephony_service
from telephony.schemas import is_thai_mobile

log = logging.getLogger(__name__)


def notify_assignment(*, session: Session, incident_id: int, provider, link_base: str,
                      map_link_template: str = "") -> int:
    """SMS the members of the team an incident was just offered to; returns how many."""
    incident = session.get(Incident, incident_id)
    if incident is None or incident.status is not IncidentStatus.ASSIGNED or not incident.team:
        return 0
    sent = telephony_service.notify_team_assigned(
        session=session, incident=incident, team=incident.team, provider=provider,
        link_base=link_base, map_link_template=map_link_template)
    session.commit()
    return len(sent)


def notify_alarm(*, session: Session, alarm_id: int, provider, link_base: str) -> int:
    """SMS the supervisors of the alarm's province (SOS, missed check-in, lapsed offer)."""
    alarm = session.get(Alarm, alarm_id)
    if alarm is None or alarm.handled_at is not None:
        return 0
    team = session.get(Team, alarm.team_id) if alarm.team_id else None
    incident = session.get(Incident, alarm.incident_id) if alarm.incident_id else None

    def body_for(locale: str) -> str:
        from flask_babel import force_locale

        with force_locale(locale):
            kind = label("alarm", alarm.kind)
            if alarm.kind is AlarmKind.ESCALATED:
                kind = " ".join(x for x in (kind + ":", label("escalation_action", alarm.note),
                                            alarm.contact_name, alarm.contact_phone) if x)
        return telephony_service.alarm_sms_text(
            kind_label=kind, team_name=team.name if team else "-",
            incident_ref=incident.ref if incident else None, link_base=link_base, locale=locale)

    sent = telephony_service.notify_supervisors(
        session=session, province_code=alarm.province_code, provider=provider,
        body_for=body_for, incident_id=alarm.incident_id, team_id=alarm.team_id)
    session.commit()
    return len(sent)


def notify_contact(*, session: Session, alarm_id: int, provider) -> int:
    """SMS the outside contact an escalation rung names, when its number takes SMS (mobile)."""
    alarm = session.get(Alarm, alarm_id)
    if (alarm is None or alarm.kind is not AlarmKind.ESCALATED or alarm.handled_at is not None
            or not is_thai_mobile(alarm.contact_phone)):
        return 0
    incident = session.get(Incident, alarm.incident_id)
    from flask_babel import force_locale, gettext

    with force_locale("th"):
        place = place_names(incident.province_code, incident.district_code,
                            incident.subdistrict_code)
        body = gettext("1300 asks for help: incident %(ref)s, %(category)s, %(priority)s, at "
                       "%(place)s; no team has taken it yet. Please call the 1300 centre.") % {
            "ref": incident.ref, "category": label("category", incident.category),
            "priority": str(PRIORITY_WORDS[incident.priority.value]), "place": place}
    result = provider.send_sms(alarm.contact_phone, body)
    telephony_service.record_sms(session=session, provider=provider, to=alarm.contact_phone,
                                 body=body, result=result, incident_id=incident.id)
    session.commit()
    return 1


def after_offer_change(*, session: Session, incident_id: int, provider, link_base: str,
                       map_link_template: str = "") -> None:
    """After an offer lapsed, was declined or the ladder climbed: SMS whoever must now act."""
    notify_assignment(session=session, incident_id=incident_id, provider=provider,
                      link_base=link_base, map_link_template=map_link_template)
    alarms = list(session.scalars(select(Alarm).where(
        Alarm.incident_id == incident_id, Alarm.handled_at.is_(None),
        Alarm.kind.in_([AlarmKind.MISSED_CHECKIN, AlarmKind.OFFER_LAPSED,
                        AlarmKind.ESCALATED, AlarmKind.UNOFFERED])).order_by(Alarm.id)))
    if not alarms:
        return
    newest = alarms[-1]
    notify_alarm(session=session, alarm_id=newest.id, provider=provider, link_base=link_base)
    notify_contact(session=session, alarm_id=newest.id, provider=provider)


def after_timers(*, session: Session, fired: list[str], provider, link_base: str,
                 map_link_template: str = "") -> None:
    """After a timer pass: SMS the next team offered, supervisors and outside contacts."""
    for item in fired:
        _kind, _, raw_id = item.partition(":")
        try:
            after_offer_change(session=session, incident_id=int(raw_id), provider=provider,
                               link_base=link_base, map_link_template=map_link_template)
        except Exception:  # noqa: BLE001
            session.rollback()
            log.exception("SMS after timer %s failed; the alarm stays on the consoles", item)
