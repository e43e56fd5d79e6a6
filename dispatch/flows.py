"""Slow third-party work after a dispatch change has committed: the SMS that go with it.

Each function runs in its own transaction after the change it follows, so a slow or failing SMS
provider never holds up or undoes a dispatch decision; every attempt and its result is stored.
"""

from __future__ import annotations

import logging

from sqlalchemy import select
from sqlalchemy.orm import Session

from console.labels import label
from dispatch.enums import AlarmKind, IncidentStatus
from dispatch.models import Alarm, Incident, Team
from telephony import service as telephony_service

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
        return telephony_service.alarm_sms_text(
            kind_label=kind, team_name=team.name if team else "-",
            incident_ref=incident.ref if incident else None, link_base=link_base, locale=locale)

    sent = telephony_service.notify_supervisors(
        session=session, province_code=alarm.province_code, provider=provider,
        body_for=body_for, incident_id=alarm.incident_id, team_id=alarm.team_id)
    session.commit()
    return len(sent)


def after_timers(*, session: Session, fired: list[str], provider, link_base: str,
                 map_link_template: str = "") -> None:
    """After a timer pass: SMS the next team offered, and supervisors about new alarms."""
    for item in fired:
        _kind, _, raw_id = item.partition(":")
        incident_id = int(raw_id)
        try:
            notify_assignment(session=session, incident_id=incident_id, provider=provider,
                              link_base=link_base, map_link_template=map_link_template)
            alarm_ids = session.scalars(select(Alarm.id).where(
                Alarm.incident_id == incident_id, Alarm.handled_at.is_(None),
                Alarm.kind.in_([AlarmKind.MISSED_CHECKIN, AlarmKind.OFFER_LAPSED])))
            for alarm_id in list(alarm_ids)[-1:]:
                notify_alarm(session=session, alarm_id=alarm_id, provider=provider,
                             link_base=link_base)
        except Exception:  # noqa: BLE001
            session.rollback()
            log.exception("SMS after timer %s failed; the alarm stays on the consoles", item)
