"""The caseload's search columns and the filters that read them.

Every flush that touches a case, its people, its fact-finding or its plan recomputes, for that
case, one row's worth of what the caseload filters on: a search text (the case number, the
summary and the people's names, lower-cased), the people's target groups as tags
(" elderly disabled "), the fact-finding's risk level and the earliest due date of an open plan
action. The caseload then filters on welfare_case alone: on PostgreSQL a trigram index (pg_trgm)
answers text anywhere, and (district, opened_at) and (risk_level, next_due_on) indexes the rest;
on SQLite the same LIKE scans.

NOTE: the columns are written with a Core UPDATE after the flush, not through the ORM, so a case's
optimistic-locking version does not move when only its search columns change. Code that changes
people, assessments or actions with bulk SQL (not through the ORM) must call `refresh()`.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import event, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from cases.models import Case, CaseAssessment, CasePerson, PlanAction

OPEN_ACTIONS = ("planned", "in_progress")
_PENDING = "cases.search.pending"


def values_for(case: Case) -> dict:
    """The search columns of one case, from its loaded people, fact-finding and plan."""
    names = [p.full_name for p in case.people if p.full_name]
    groups = sorted({g for p in case.people for g in (p.target_groups or [])})
    risk = case.assessment.risk_level if case.assessment is not None else None
    due = [a.due_on for a in case.actions
           if getattr(a.status, "value", a.status) in OPEN_ACTIONS and a.due_on is not None]
    return {
        # NOTE: fields joined by a newline, so a search never matches across two of them.
        "search_text": "\n".join([case.ref or "", case.summary or "", *names]).lower(),
        "target_group_tags": (" " + " ".join(groups) + " ") if groups else "",
        "risk_level": getattr(risk, "value", risk),
        "next_due_on": min(due) if due else None,
    }


def _touched(session: Session) -> set[int]:
    ids: set[int] = set()
    for obj in (*session.new, *session.dirty, *session.deleted):
        if isinstance(obj, Case):
            if obj.id is not None:
                ids.add(obj.id)
        elif isinstance(obj, CasePerson | CaseAssessment | PlanAction):
            if obj.case_id is not None:
                ids.add(obj.case_id)
    return ids


def refresh(session: Session, case_ids: set[int]) -> None:
    """Recompute the search columns of these cases (in the session's transaction)."""
    for case_id in sorted(case_ids):
        case = session.get(Case, case_id)
        if case is None or case in session.deleted:
            continue
        new = values_for(case)
        old = {k: getattr(case, k) for k in new}
        if new == old:
            continue
        session.connection().execute(update(Case.__table__).where(Case.__table__.c.id == case_id)
                                     .values(**new))
        for key, value in new.items():
            set_committed_value(case, key, value)


@event.listens_for(Session, "after_flush")
def _after_flush(session: Session, _context) -> None:
    ids = _touched(session)
    if ids:
        session.info.setdefault(_PENDING, set()).update(ids)


@event.listens_for(Session, "after_flush_postexec")
def _after_flush_postexec(session: Session, _context) -> None:
    # NOTE: after the identity map holds the rows just inserted, so loading a case's people or
    # actions here finds the same objects instead of loading second copies.
    ids = session.info.pop(_PENDING, None)
    if ids:
        refresh(session, ids)


def _pattern(text: str) -> str:
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def text_condition(text: str):
    """Text anywhere in the case number, summary or a person's name (case-insensitive)."""
    return Case.search_text.like(_pattern(text.strip().lower()), escape="\\")


def target_group_condition(group: str):
    """A person of the case is in this target group."""
    return Case.target_group_tags.like(f"% {group} %")


def risk_condition(level: str):
    """The fact-finding's risk level."""
    return Case.risk_level == level


def overdue_condition(today: date):
    """An open action of the plan is past its due date."""
    return Case.next_due_on < today


def stale_ids(session: Session, limit: int = 100) -> list[int]:
    """Cases whose stored search columns differ from what their rows say (a check for tests and
    for bulk changes made outside the ORM)."""
    wrong = []
    for case in session.scalars(select(Case).order_by(Case.id).limit(limit)):
        if values_for(case) != {k: getattr(case, k) for k in values_for(case)}:
            wrong.append(case.id)
    return wrong
