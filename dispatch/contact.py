"""Who reported an incident and how to reach them (issue 14): the caller's number and name for
a hotline call, each citizen report's contact for app and LINE reports. Given to the roles that
need them: the desks of the incident's province, the team holding the job (it phones the
reporter on the way) and the case worker of the case it became (the scope rules of
`service.get_incident`). The routes write every read to the access log."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from console.enums import Role
from console.errors import N_, Forbidden
from console.models import User
from console.validation import FieldError
from dispatch.enums import IncidentStatus
from dispatch.models import Incident
from dispatch.service import get_incident

# A team reads the reporter's number while the job is theirs and open, not after.
TEAM_OPEN = frozenset({IncidentStatus.ASSIGNED, IncidentStatus.ACKNOWLEDGED,
                       IncidentStatus.EN_ROUTE, IncidentStatus.ON_SCENE})


def _phone(text: str | None) -> str | None:
    """A contact written as a Thai phone number, in E.164 (None: not a phone number)."""
    from telephony.schemas import normalize_thai_phone

    try:
        return normalize_thai_phone(text or "")
    except FieldError:
        return None


def reporter_contacts(*, session: Session, incident_id: int,
                      user: User) -> tuple[Incident, list[dict]]:
    """The incident (scope checked) and its reporters' contacts, the caller first."""
    from ess.models import Report
    from telephony.models import Call
    from telephony.schemas import format_thai_phone

    incident = get_incident(session=session, incident_id=incident_id, user=user)
    if user.role is Role.FIELD_MEMBER and incident.status not in TEAM_OPEN:
        raise Forbidden(N_("This job is closed: the centre holds the reporter's number."))
    contacts: list[dict] = []
    call = session.get(Call, incident.call_id) if incident.call_id is not None else None
    if call is not None:
        contacts.append({"kind": "caller", "call_id": call.id, "report_id": None,
                         "number": call.number, "number_display": format_thai_phone(call.number),
                         "name": call.caller_name or "", "contact": ""})
    reports = session.scalars(select(Report).where(Report.incident_id == incident.id)
                              .order_by(Report.id))
    for report in reports:
        if not report.contact:
            continue
        number = _phone(report.contact)
        contacts.append({"kind": "reporter", "call_id": None, "report_id": report.id,
                         "number": number, "number_display": format_thai_phone(number),
                         "name": "", "contact": report.contact})
    return incident, contacts
