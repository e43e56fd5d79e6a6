"""Case management intake: incidents handed over become cases; who reads a case is logged."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from cases import events
from cases.enums import CaseStatus
from cases.models import Agency, Case, CasePerson, CaseTimelineEntry
from console.db import BANGKOK, utcnow
from console.enums import Role
from console.errors import N_, Conflict, NotFound
from console.models import User
from console.service import record_audit

CASE_ROLES = frozenset({Role.CASE_WORKER, Role.SUPERVISOR, Role.ADMIN})


def open_case_from_incident(*, session: Session, incident, by: User | None) -> Case:
    """Open a case in intake carrying the incident's people, location, notes and timeline."""
    existing = session.scalar(select(Case).where(Case.incident_id == incident.id))
    if existing is not None:
        raise Conflict(N_("Incident %(ref)s was already handed over."), ref=incident.ref)
    now = utcnow()
    case = Case(
        incident_id=incident.id,
        status=CaseStatus.INTAKE,
        category=incident.category.value,
        priority=incident.priority.value,
        summary=incident.summary,
        notes=incident.notes,
        province_code=incident.province_code,
        district_code=incident.district_code,
        subdistrict_code=incident.subdistrict_code,
        address_text=incident.address_text,
        lat=incident.lat,
        lon=incident.lon,
        precision=incident.precision.value,
        opened_at=now,
        opened_by_id=by.id if by else None,
        people=[
            CasePerson(
                age_group=p.age_group.value, sex=p.sex.value,
                vulnerable_group=p.vulnerable_group.value,
            )
            for p in incident.people
        ],
        timeline=[
            CaseTimelineEntry(
                at=e.at, actor_id=e.actor_id, source="incident", kind=e.kind,
                from_status=e.from_status, to_status=e.to_status, note=e.note,
                detail=dict(e.detail or {}, team_id=e.team_id),
            )
            for e in incident.timeline
        ],
    )
    case.timeline.append(
        CaseTimelineEntry(at=now, actor_id=case.opened_by_id, source="case", kind="opened",
                          to_status=CaseStatus.INTAKE.value)
    )
    session.add(case)
    session.flush()
    case.ref = f"C{incident.province_code}-{now.astimezone(BANGKOK).year + 543}-{case.id:06d}"
    record_audit(session=session, actor_id=case.opened_by_id, action="case.opened", entity="case",
                 entity_id=case.id, detail={"incident_id": incident.id}, at=now)
    session.flush()
    events.case_opened(session=session, case=case)
    return case


def list_cases(*, session: Session, user: User, status: CaseStatus | None = None) -> list[Case]:
    """Cases in the user's province (or all, when national), newest first."""
    stmt = select(Case).options(selectinload(Case.people)).order_by(Case.opened_at.desc())
    if not user.is_national:
        stmt = stmt.where(Case.province_code == user.province_code)
    if status is not None:
        stmt = stmt.where(Case.status == status)
    return list(session.scalars(stmt))


def read_case(*, session: Session, case_id: int, user: User) -> Case:
    """A case the user may read; the read itself is written to the audit log (PDPA)."""
    case = session.get(Case, case_id)
    if case is None or user.role not in CASE_ROLES or not user.can_see_province(case.province_code):
        raise NotFound("case")
    record_audit(session=session, actor_id=user.id, action="case.viewed", entity="case",
                 entity_id=case.id)
    return case


def list_agencies(*, session: Session, province_code: str | None) -> list[Agency]:
    """Agencies that serve a province, national ones included."""
    stmt = select(Agency).order_by(Agency.province_code.is_not(None), Agency.name_th)
    if province_code:
        stmt = stmt.where((Agency.province_code == province_code) | Agency.province_code.is_(None))
    return list(session.scalars(stmt))
