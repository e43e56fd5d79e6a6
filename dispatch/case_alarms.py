"""Alarms the case workflow asks for (domain event `case.overdue`): a referral step or a plan
action still late after its grace reaches the supervisor on duty (else the province's
supervisors: dispatch.service.alarm_recipients), then the provincial office (สนง.พมจ.), on the
same alarm banner and by the same SMS as dispatch's own alarms."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from dispatch import flows
from dispatch.enums import AlarmKind, EscalationAction
from dispatch.models import Alarm, EscalationStep
from dispatch.service import _raise_alarm


def office_contact(session: Session, province_code: str) -> tuple[str, str | None]:
    """Whom the province's escalation ladder names for the provincial office, if anyone."""
    row = session.execute(select(EscalationStep.contact_name, EscalationStep.contact_phone).where(
        EscalationStep.province_code == province_code,
        EscalationStep.action == EscalationAction.PROVINCIAL_OFFICE)
        .order_by(EscalationStep.priority, EscalationStep.position).limit(1)).first()
    return (row[0] or "", row[1]) if row else ("", None)


def on_case_overdue(*, session: Session, province_code: str, case_id: int, step: str,
                    level: str, now: datetime, link_base: str) -> Alarm:
    """Raise the case alarm of this level and queue its SMS to the supervisor on duty (else
    the province's supervisors)."""
    name, phone = ("", None)
    kind = AlarmKind.CASE_OVERDUE
    if level == "office":
        kind = AlarmKind.CASE_OFFICE
        name, phone = office_contact(session, province_code)
    alarm = _raise_alarm(session, kind=kind, province_code=province_code, now=now, note=step,
                         contact_name=name, contact_phone=phone, case_id=case_id)
    flows.notify_alarm(session=session, alarm_id=alarm.id, link_base=link_base)
    return alarm
