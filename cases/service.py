"""Case management (พม. Smart): cases open from a resolved incident, a call closed for
follow-up or the desk; they move through the workflow in cases/enums.py CASE_TRANSITIONS; the
people in them are identified with Thai national IDs; every read of a case is logged (PDPA)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from cases import events, search
from cases import reminders as case_reminders
from cases.enums import (
    CASE_TRANSITIONS,
    CONCERN_AT,
    REASON_REQUIRED,
    ActionStatus,
    CaseSource,
    CaseStatus,
    Domain,
    PersonRole,
)
from cases.models import (
    Agency,
    Case,
    CaseAssessment,
    CasePerson,
    CaseTimelineEntry,
    FollowUp,
    Person,
    PlanAction,
)
from cases.phonetic import name_key
from cases.schemas import (
    ActionIn,
    ActionUpdateIn,
    AssessmentIn,
    FollowUpDoneIn,
    FollowUpIn,
    NewCaseIn,
    PersonIn,
)
from console.db import BANGKOK, utcnow
from console.enums import Role
from console.errors import N_, Conflict, Forbidden, IllegalTransition, NotFound, ValidationFailed
from console.labels import label
from console.models import User
from console.service import record_audit

CASE_ROLES = frozenset({Role.CASE_WORKER, Role.SUPERVISOR, Role.ADMIN})


def _ref(case: Case, now: datetime) -> str:
    return f"C{case.province_code}-{now.astimezone(BANGKOK).year + 543}-{case.id:06d}"


def _age_group(age: int | None) -> str:
    if age is None:
        return "unknown"
    return "child" if age < 18 else "elder" if age >= 60 else "adult"


def on_incident_resolved(*, session: Session, incident, by: User | None) -> Case:
    """Domain event `incident.resolved`: the incident is handed into case management."""
    return open_case_from_incident(session=session, incident=incident, by=by)


# Where a call closed at intake came from (the desk's intake form) -> the case's source.
_CALL_SOURCES = {"walk_in": CaseSource.WALK_IN, "letter": CaseSource.LETTER,
                 "damrongdhama": CaseSource.AGENCY, "agency": CaseSource.AGENCY,
                 "volunteer": CaseSource.VOLUNTEER}


def on_call_closed(*, session: Session, call, by: User | None) -> Case | None:
    """Domain event `call.closed`: a call referred elsewhere or needing follow-up opens a case
    (the 1300 centre's advice-and-referral calls, which never need a team). A call referred to
    an agency of the directory is left to its own event, `call.referred`
    (cases/referrals.on_call_referred), which also finds the person's open case."""
    from telephony.enums import OPENS_CASE, CallOutcome

    if call.outcome not in OPENS_CASE:
        return None
    if call.outcome is CallOutcome.REFERRED_ELSEWHERE and call.agency_id is not None:
        return None
    return open_case_from_call(session=session, call=call, by=by)


def open_case_from_call(*, session: Session, call, by: User | None, incident=None) -> Case:
    """A case in intake for a call taken at the hotline (with the incident it opened, if any:
    the incident's problem, priority and place; its record joins the case when it is
    resolved, `open_case_from_incident`)."""
    now = utcnow()
    province = ((incident.province_code if incident is not None else None) or call.province_code
                or (by.province_code if by else None) or "10")
    case = Case(
        call_id=call.id, incident_id=incident.id if incident is not None else None,
        source=_CALL_SOURCES.get(getattr(call, "source", None), CaseSource.CALL),
        status=CaseStatus.INTAKE,
        category=(incident.category.value if incident is not None
                  else _call_category(session, call)),
        priority=incident.priority.value if incident is not None else "P4",
        summary=call.summary, notes=call.advice or "", province_code=province,
        district_code=incident.district_code if incident is not None else None,
        subdistrict_code=incident.subdistrict_code if incident is not None else None,
        address_text=incident.address_text if incident is not None else "",
        precision="none", opened_at=now, status_changed_at=now,
        opened_by_id=by.id if by else None,
    )
    detail = {"call_id": call.id, "outcome": call.outcome.value,
              "caller_name": call.caller_name or "", "agency_id": call.agency_id}
    if incident is not None:
        detail["incident_id"] = incident.id
    case.timeline.append(CaseTimelineEntry(
        at=now, actor_id=case.opened_by_id, source="case", kind="opened",
        to_status=CaseStatus.INTAKE.value, detail=detail))
    return _opened(session, case, now, detail={"call_id": call.id})


def person_open_case(*, session: Session, number: str | None, province_code: str | None,
                     exclude_call_id: int | None = None) -> Case | None:
    """The newest case still open in the province of the person on this number: opened by one
    of their calls (closed at intake, or through the incident it opened), keyed to one of their
    calls, or naming the number as a person's phone. None for a withheld number."""
    if not number or not province_code:
        return None
    from sqlalchemy import or_

    from dispatch.models import Incident
    from telephony.models import Call, CallLink

    calls = select(Call.id).where(Call.number == number)
    if exclude_call_id is not None:
        calls = calls.where(Call.id != exclude_call_id)
    linked = select(CallLink.case_id).where(CallLink.call_id.in_(calls),
                                            CallLink.case_id.is_not(None))
    incidents = select(Incident.id).where(Incident.call_id.in_(calls))
    phones = select(CasePerson.case_id).where(CasePerson.phone == number)
    return session.scalar(
        select(Case).where(Case.status != CaseStatus.CLOSED, Case.province_code == province_code,
                           or_(Case.call_id.in_(calls), Case.incident_id.in_(incidents),
                               Case.id.in_(linked), Case.id.in_(phones)))
        .order_by(Case.id.desc()).limit(1))


def _call_category(session: Session, call) -> str:
    """The problem of a call closed at intake: the category of the guided-intake script the
    call-taker followed (admin/scripts.py), else 'other'."""
    if getattr(call, "script_version_id", None) is None:
        return "other"
    from admin.models import IntakeScript

    script = session.get(IntakeScript, call.script_version_id)
    return script.category if script is not None else "other"


def _opened(session: Session, case: Case, now: datetime, detail: dict) -> Case:
    session.add(case)
    session.flush()
    case.ref = _ref(case, now)
    record_audit(session=session, actor_id=case.opened_by_id, action="case.opened", entity="case",
                 entity_id=case.id, detail={"source": case.source.value, **detail}, at=now)
    session.flush()
    events.case_opened(session=session, case=case)
    return case


def open_case_from_incident(*, session: Session, incident, by: User | None) -> Case:
    """Open a case in intake carrying the incident's people, location, notes and timeline."""
    existing = session.scalar(select(Case).where(Case.incident_id == incident.id))
    if existing is not None:
        if any(e.source == "incident" for e in existing.timeline):
            raise Conflict(N_("Incident %(ref)s was already handed over."), ref=incident.ref)
        return _incident_joins(session, existing, incident, by)
    now = utcnow()
    case = Case(
        incident_id=incident.id,
        source=CaseSource.INCIDENT,
        status=CaseStatus.INTAKE,
        status_changed_at=now,
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
    return _opened(session, case, now, detail={"incident_id": incident.id})


def _incident_joins(session: Session, case: Case, incident, by: User | None) -> Case:
    """The case opened at intake for an incident's call (a referral recorded with it) takes in
    the incident's people and timeline when the incident is resolved: one case, not two."""
    now = utcnow()
    for p in incident.people:
        case.people.append(CasePerson(age_group=p.age_group.value, sex=p.sex.value,
                                      vulnerable_group=p.vulnerable_group.value))
    for e in incident.timeline:
        case.timeline.append(CaseTimelineEntry(
            at=e.at, actor_id=e.actor_id, source="incident", kind=e.kind,
            from_status=e.from_status, to_status=e.to_status, note=e.note,
            detail=dict(e.detail or {}, team_id=e.team_id)))
    case.notes = "\n".join(t for t in (case.notes, incident.notes) if t)
    if case.lat is None and incident.lat is not None:
        case.lat, case.lon, case.precision = incident.lat, incident.lon, incident.precision.value
    case.timeline.append(CaseTimelineEntry(at=now, actor_id=by.id if by else None,
                                           source="case", kind="incident_joined",
                                           detail={"incident_id": incident.id}))
    record_audit(session=session, actor_id=by.id if by else None, action="case.incident_joined",
                 entity="case", entity_id=case.id, detail={"incident_id": incident.id}, at=now)
    session.flush()
    events.case_updated(session=session, case=case)
    return case


def open_case(*, session: Session, data: NewCaseIn, by: User) -> Case:
    """A case opened on the desk (walk-in, letter, another agency, a volunteer's report)."""
    if by.role not in CASE_ROLES:
        raise Forbidden(N_("Your role cannot open cases."))
    province = data.province_code or by.province_code
    if province is None:
        raise ValidationFailed({"province_code": (N_("Choose a province."), {})})
    if not by.can_see_province(province):
        raise ValidationFailed({"province_code": (N_("You can open cases of your own province "
                                                    "only."), {})})
    now = utcnow()
    case = Case(
        source=data.source, status=CaseStatus.INTAKE, category=data.category.value,
        priority="P4", summary=data.summary, notes="", province_code=province,
        district_code=data.district_code, subdistrict_code=data.subdistrict_code,
        address_text=data.address_text, precision="none", opened_at=now, status_changed_at=now,
        opened_by_id=by.id, assigned_to_id=by.id if by.role is Role.CASE_WORKER else None,
    )
    case.timeline.append(CaseTimelineEntry(at=now, actor_id=by.id, source="case", kind="opened",
                                           to_status=CaseStatus.INTAKE.value,
                                           detail={"source": data.source.value}))
    if data.client is not None:
        data.client.role = PersonRole.CLIENT
        case.people.append(_person(data.client))
    return _opened(session, case, now, detail={})


def list_cases(*, session: Session, user: User, status: CaseStatus | None = None,
               view: str = "all", limit: int = 200) -> list[Case]:
    """Cases in the user's province (or all, when national), newest first; `view` "mine" (the
    user's caseload) or "unassigned" (the province's queue)."""
    from cases.schemas import CaseFilterIn

    past_week = view == "past_week"
    found, _total = search_cases(session=session, user=user, filters=CaseFilterIn(
        view="all" if past_week else view, status=status, past_week=past_week,
        per_page=min(limit, 100)))
    return found


def search_cases(*, session: Session, user: User, filters) -> tuple[list[Case], int]:
    """One page of the caseload with its filters (status, risk, overdue, area, target group,
    worker, text in the number, summary or a person's name), newest first, and the total."""
    from sqlalchemy import exists, func

    conditions = []
    if not user.is_national:
        conditions.append(Case.province_code == user.province_code)
    if filters.view == "mine":
        conditions.append(Case.assigned_to_id == user.id)
    elif filters.view == "unassigned":
        conditions += [Case.assigned_to_id.is_(None), Case.status != CaseStatus.CLOSED]
    if filters.status is not None:
        conditions.append(Case.status == filters.status)
    for column, value in ((Case.province_code, filters.province_code),
                          (Case.district_code, filters.district_code),
                          (Case.subdistrict_code, filters.subdistrict_code),
                          (Case.assigned_to_id, filters.assigned_to)):
        if value is not None:
            conditions.append(column == value)
    if filters.risk is not None:
        conditions.append(search.risk_condition(filters.risk.value))
    if filters.overdue:
        conditions.append(search.overdue_condition(utcnow().astimezone(BANGKOK).date()))
    if filters.past_week:
        from datetime import timedelta

        from cases.enums import REFERRED_CLOSE_DAYS, ReferralStatus
        from cases.models import Referral

        conditions += [Case.status != CaseStatus.CLOSED, exists().where(
            Referral.case_id == Case.id,
            Referral.status.in_((ReferralStatus.ACCEPTED, ReferralStatus.COMPLETED)),
            func.coalesce(Referral.accepted_at, Referral.completed_at)
            < utcnow() - timedelta(days=REFERRED_CLOSE_DAYS))]
    if filters.target_group is not None:
        conditions.append(search.target_group_condition(filters.target_group.value))
    if filters.q.strip():
        conditions.append(search.text_condition(filters.q))
    total = session.scalar(select(func.count()).select_from(Case).where(*conditions)) or 0
    stmt = (select(Case).where(*conditions).options(selectinload(Case.people))
            .order_by(Case.opened_at.desc(), Case.id.desc())
            .offset((filters.page - 1) * filters.per_page).limit(filters.per_page))
    return list(session.scalars(stmt)), total


def read_case(*, session: Session, case_id: int, user: User) -> Case:
    """A case the user may read; the read itself is written to the audit log (PDPA)."""
    case = session.get(Case, case_id)
    if case is None or user.role not in CASE_ROLES or not user.can_see_province(case.province_code):
        raise NotFound("case")
    record_audit(session=session, actor_id=user.id, action="case.viewed", entity="case",
                 entity_id=case.id)
    return case


def list_agencies(*, session: Session, province_code: str | None) -> list[Agency]:
    """Agencies that serve a province, national ones included (those the directory lists)."""
    stmt = select(Agency).where(Agency.active.is_(True)).order_by(
        Agency.province_code.is_not(None), Agency.name_th)
    if province_code:
        stmt = stmt.where((Agency.province_code == province_code) | Agency.province_code.is_(None))
    return list(session.scalars(stmt))


def _case_for_work(session: Session, case_id: int, user: User, *, version: int | None = None
                   ) -> Case:
    """A case the user may change (case roles, own province); a stale version is refused."""
    case = session.get(Case, case_id)
    if case is None or user.role not in CASE_ROLES or not user.can_see_province(case.province_code):
        raise NotFound("case")
    if version is not None and version != case.version:
        raise Conflict(N_("Someone else changed this case at the same moment. Your screen has "
                          "the latest state; check it and try again."))
    return case


def check_access(*, session: Session, case_id: int, user: User) -> None:
    """Refuse (404) a case outside the user's role and province before reading any input."""
    _case_for_work(session, case_id, user)


def allowed_moves(case: Case) -> list[CaseStatus]:
    """The moves the workflow allows from the case's state, in workflow order."""
    allowed = CASE_TRANSITIONS[case.status]
    return [s for s in CaseStatus if s in allowed]


def move(*, session: Session, case_id: int, to: CaseStatus, reason: str, by: User,
         version: int | None = None, client_feedback: str = "", lessons_learned: str = "",
         with_open_actions: bool = False) -> Case:
    """Move a case along the workflow; stamped, on the timeline and audit log, pushed live."""
    case = _case_for_work(session, case_id, by, version=version)
    before = case.status
    if to not in CASE_TRANSITIONS[before]:
        raise IllegalTransition(N_("A case in this state cannot move there."))
    reason = (reason or "").strip()
    if (before, to) in REASON_REQUIRED and not reason:
        raise ValidationFailed({"reason": (N_("Please give the reason for this step."), {})})
    if (before, to) == (CaseStatus.FACT_FINDING, CaseStatus.PLANNING) and (
            case.assessment is None or case.assessment.completed_at is None):
        raise IllegalTransition(N_("Complete the fact-finding (every domain scored, and the "
                                   "risk level) before planning."))
    if (before, to) == (CaseStatus.PLANNING, CaseStatus.IN_ASSISTANCE):
        missing = plan_gaps(case)
        if missing:
            raise IllegalTransition(N_("The plan is not complete: every domain scored as a "
                                       "concern needs an action (%(domains)s)."),
                                    domains=", ".join(label("domain", d) for d in missing))
    if to is CaseStatus.CLOSED:
        still_open = [a for a in case.actions
                      if a.status in (ActionStatus.PLANNED, ActionStatus.IN_PROGRESS)]
        if still_open and not with_open_actions:
            raise Conflict(N_("%(count)s actions of the plan are still open: record their "
                              "outcome, or confirm closing the case with them open."),
                           count=len(still_open))
    now = utcnow()
    case.status = to
    case.status_changed_at = now
    if to is CaseStatus.CLOSED:
        case.closed_at = now
        case.close_reason = reason
        case.client_feedback = (client_feedback or "").strip()
        case.lessons_learned = (lessons_learned or "").strip()
    elif before is CaseStatus.CLOSED:
        case.closed_at = None
    kind = "reopened" if before is CaseStatus.CLOSED else "status"
    case.timeline.append(CaseTimelineEntry(at=now, actor_id=by.id, source="case", kind=kind,
                                           from_status=before.value, to_status=to.value,
                                           note=reason))
    record_audit(session=session, actor_id=by.id, action=f"case.{kind}", entity="case",
                 entity_id=case.id, detail={"from": before.value, "to": to.value}, at=now)
    session.flush()
    if to is CaseStatus.CLOSED:
        case_reminders.on_case_closed(session, case_id=case.id, now=now)
    elif before is CaseStatus.CLOSED:
        case_reminders.on_case_reopened(session, case=case, now=now)
    events.case_updated(session=session, case=case)
    return case


def _person(data: PersonIn) -> CasePerson:
    today = utcnow().astimezone(BANGKOK).date()
    born = data.born()
    age = data.age_years
    if born is not None:
        age = today.year - born.year - ((today.month, today.day) < (born.month, born.day))
    return CasePerson(
        role=data.role, full_name=data.full_name, national_id=data.national_id,
        no_id_reason=data.no_id_reason, birth_date=born, age_years=age,
        age_group=_age_group(age), sex=data.sex.value, vulnerable_group="none",
        relationship_to_client=data.relationship_to_client, phone=data.phone,
        province_code=data.province_code, district_code=data.district_code,
        subdistrict_code=data.subdistrict_code, address_text=data.address_text,
        target_groups=[g.value for g in data.target_groups],
        # NOTE: a new person each time; a duplicate is merged into the other by the worker.
        name_key=name_key(data.full_name), person=Person(created_at=utcnow()),
    )


def add_person(*, session: Session, case_id: int, data: PersonIn, by: User) -> CasePerson:
    """Add the client or a household member to a case (one client per case)."""
    case = _case_for_work(session, case_id, by)
    if case.status is CaseStatus.CLOSED:
        raise IllegalTransition(N_("This case is closed: reopen it first."))
    if data.role is PersonRole.CLIENT and any(p.role is PersonRole.CLIENT for p in case.people):
        raise ValidationFailed({"role": (N_("This case already has a client."), {})})
    person = _person(data)
    case.people.append(person)
    now = utcnow()
    case.timeline.append(CaseTimelineEntry(at=now, actor_id=by.id, source="case",
                                           kind="person_added", detail={"role": data.role.value}))
    session.flush()
    record_audit(session=session, actor_id=by.id, action="case.person_added", entity="case",
                 entity_id=case.id, detail={"person_id": person.id}, at=now)
    events.case_updated(session=session, case=case)
    return person


def reveal_national_id(*, session: Session, case_id: int, person_id: int, by: User) -> str | None:
    """A person's full national ID, for case roles only; every reveal is in the access log."""
    case = _case_for_work(session, case_id, by)
    person = next((p for p in case.people if p.id == person_id), None)
    if person is None:
        raise NotFound("person")
    record_audit(session=session, actor_id=by.id, action="case.national_id_revealed",
                 entity="case", entity_id=case.id, detail={"person_id": person.id},
                 subjects=f" case_person:{person.id} ")
    return person.national_id


def plan_gaps(case: Case) -> list[Domain]:
    """Domains the fact-finding scored as a concern that no (not cancelled) action serves."""
    if case.assessment is None:
        return []
    concerns = [Domain(d) for d, v in (case.assessment.scores or {}).items()
                if int(v.get("score", 4)) <= CONCERN_AT]
    served = {a.domain for a in case.actions if a.status is not ActionStatus.CANCELLED}
    return [d for d in Domain if d in concerns and d not in served]


def _open_for_work(session: Session, case_id: int, by: User, version: int | None = None) -> Case:
    case = _case_for_work(session, case_id, by, version=version)
    if case.status is CaseStatus.CLOSED:
        raise IllegalTransition(N_("This case is closed: reopen it first."))
    return case


def save_assessment(*, session: Session, case_id: int, data: AssessmentIn, by: User) -> Case:
    """Save the fact-finding as a draft, or complete it (every domain scored with a reason, a
    risk level); a completed one can be corrected, and stays complete."""
    from datetime import date

    case = _open_for_work(session, case_id, by)
    if data.complete:
        errors = data.missing_for_completion()
        if errors:
            raise ValidationFailed(errors)
    now = utcnow()
    row = case.assessment or CaseAssessment()
    row.visited_at = date.fromisoformat(data.visited_at) if data.visited_at else None
    for field in ("problem", "living_conditions", "income_debts", "health", "education",
                  "safety_risks", "needs"):
        setattr(row, field, getattr(data, field))
    row.scores = {d.value: {"score": v.score, "reason": v.reason} for d, v in data.scores.items()}
    row.risk_level = data.risk_level
    row.updated_at, row.updated_by_id = now, by.id
    completing = data.complete and row.completed_at is None
    if completing:
        row.completed_at = now
    case.assessment = row
    case.timeline.append(CaseTimelineEntry(
        at=now, actor_id=by.id, source="case",
        kind="assessment_completed" if completing else "assessment_saved",
        detail={"risk_level": data.risk_level.value if data.risk_level else None}))
    record_audit(session=session, actor_id=by.id, action="case.assessment", entity="case",
                 entity_id=case.id, detail={"complete": bool(row.completed_at)}, at=now)
    session.flush()
    events.case_updated(session=session, case=case)
    return case


def add_action(*, session: Session, case_id: int, data: ActionIn, by: User) -> PlanAction:
    """Add an action to the assistance plan (owner: a worker of the province or an agency)."""
    from datetime import date

    case = _open_for_work(session, case_id, by)
    if data.owner_user_id is not None:
        owner = session.get(User, data.owner_user_id)
        if owner is None or not owner.active or not owner.can_see_province(case.province_code):
            raise ValidationFailed({"owner_user_id": (N_("Choose a worker of this province."),
                                                      {})})
    if data.owner_agency_id is not None:
        agency = session.get(Agency, data.owner_agency_id)
        if agency is None or agency.province_code not in (None, case.province_code):
            raise ValidationFailed({"owner_agency_id": (N_("Choose an agency that serves this "
                                                           "province."), {})})
    now = utcnow()
    action = PlanAction(phase=data.phase, domain=data.domain, title=data.title,
                        owner_user_id=data.owner_user_id, owner_agency_id=data.owner_agency_id,
                        due_on=date.fromisoformat(data.due_on), note=data.note,
                        created_at=now, created_by_id=by.id)
    case.actions.append(action)
    case.timeline.append(CaseTimelineEntry(at=now, actor_id=by.id, source="case",
                                           kind="action_added", note=data.title,
                                           detail={"phase": data.phase.value,
                                                   "domain": data.domain.value}))
    session.flush()
    case_reminders.on_action_saved(session, action=action, now=now)
    record_audit(session=session, actor_id=by.id, action="case.action_added", entity="case",
                 entity_id=case.id, detail={"action_id": action.id}, at=now)
    events.case_updated(session=session, case=case)
    return action


def update_action(*, session: Session, case_id: int, action_id: int, data: ActionUpdateIn,
                  by: User) -> PlanAction:
    """Record an action's progress (done, cancelled...), stamped on the case timeline."""
    case = _open_for_work(session, case_id, by)
    action = next((a for a in case.actions if a.id == action_id), None)
    if action is None:
        raise NotFound("action")
    now = utcnow()
    before = action.status
    action.status = data.status
    action.note = data.note or action.note
    action.done_at = now if data.status is ActionStatus.DONE else None
    case.timeline.append(CaseTimelineEntry(at=now, actor_id=by.id, source="case",
                                           kind="action_status", note=action.title,
                                           from_status=before.value, to_status=None,
                                           detail={"action_id": action.id,
                                                   "status": data.status.value}))
    record_audit(session=session, actor_id=by.id, action="case.action_status", entity="case",
                 entity_id=case.id, detail={"action_id": action.id, "to": data.status.value},
                 at=now)
    session.flush()
    case_reminders.on_action_saved(session, action=action, now=now)
    events.case_updated(session=session, case=case)
    return action


def case_workers(*, session: Session, province_code: str) -> list[User]:
    """Active case workers and supervisors who can own a plan action in a province."""
    stmt = (select(User).where(User.active.is_(True),
                               User.role.in_((Role.CASE_WORKER, Role.SUPERVISOR)),
                               (User.province_code == province_code)
                               | User.province_code.is_(None))
            .order_by(User.display_name))
    return list(session.scalars(stmt))


def assign(*, session: Session, case_id: int, user_id: int, by: User) -> Case:
    """Give a case to a worker of its province (a worker takes one with their own id; only a
    supervisor or admin gives a case to someone else or takes it from them)."""
    case = _open_for_work(session, case_id, by)
    worker = session.get(User, user_id)
    if worker is None or not worker.active or worker.role not in CASE_ROLES \
            or not worker.can_see_province(case.province_code):
        raise ValidationFailed({"user_id": (N_("Choose a worker of this province."), {})})
    if by.role is Role.CASE_WORKER and (user_id != by.id or case.assigned_to_id not in (
            None, by.id)):
        raise Forbidden(N_("Only a supervisor can give a case to another worker."))
    from cases import handovers  # a hand-over waiting for an answer ends: the case was given

    handovers.cancel_pending(session=session, case=case, by=by)
    before = case.assigned_to_id
    case.assigned_to_id = worker.id
    now = utcnow()
    case.timeline.append(CaseTimelineEntry(at=now, actor_id=by.id, source="case",
                                           kind="assigned", note=worker.display_name,
                                           detail={"from": before, "to": worker.id}))
    record_audit(session=session, actor_id=by.id, action="case.assigned", entity="case",
                 entity_id=case.id, detail={"from": before, "to": worker.id}, at=now)
    session.flush()
    events.case_updated(session=session, case=case)
    return case


def status_summary(*, session: Session, user: User, level: str, parent: str | None
                   ) -> list[dict]:
    """Counts of open and closed cases by status, urgent risk and overdue actions, per province,
    district or subdistrict (within `parent`), for the user's scope: the status that used to
    vanish after submission, visible at every level."""
    from sqlalchemy import func

    column = {"province": Case.province_code, "district": Case.district_code,
              "subdistrict": Case.subdistrict_code}[level]
    stmt = select(column, Case.status, func.count()).group_by(column, Case.status)
    if not user.is_national:
        stmt = stmt.where(Case.province_code == user.province_code)
    if level == "district" and parent:
        stmt = stmt.where(Case.province_code == parent)
    if level == "subdistrict" and parent:
        stmt = stmt.where(Case.district_code == parent)
    rows: dict[str | None, dict] = {}
    for code, status, count in session.execute(stmt):
        row = rows.setdefault(code, {"code": code, "statuses": {}, "urgent": 0, "overdue": 0})
        row["statuses"][status.value] = count
    urgent = (select(column, func.count()).join(CaseAssessment, CaseAssessment.case_id == Case.id)
              .where(CaseAssessment.risk_level == "3", Case.status != CaseStatus.CLOSED)
              .group_by(column))
    today = utcnow().astimezone(BANGKOK).date()
    overdue = (select(column, func.count(func.distinct(Case.id)))
               .join(PlanAction, PlanAction.case_id == Case.id)
               .where(PlanAction.due_on < today, Case.status != CaseStatus.CLOSED,
                      PlanAction.status.in_((ActionStatus.PLANNED, ActionStatus.IN_PROGRESS)))
               .group_by(column))
    for stmt_extra, key in ((urgent, "urgent"), (overdue, "overdue")):
        if not user.is_national:
            stmt_extra = stmt_extra.where(Case.province_code == user.province_code)
        if level == "district" and parent:
            stmt_extra = stmt_extra.where(Case.province_code == parent)
        if level == "subdistrict" and parent:
            stmt_extra = stmt_extra.where(Case.district_code == parent)
        for code, count in session.execute(stmt_extra):
            if code in rows:
                rows[code][key] = count
    for row in rows.values():
        row["open"] = sum(n for st, n in row["statuses"].items() if st != CaseStatus.CLOSED.value)
    return sorted(rows.values(), key=lambda r: (-r["urgent"], -r["open"], r["code"] or ""))


def schedule_follow_up(*, session: Session, case_id: int, data: FollowUpIn,
                       by: User) -> FollowUp:
    """Schedule a follow-up visit or call for a worker of the case's province."""
    from datetime import date

    case = _open_for_work(session, case_id, by)
    worker_id = data.assigned_to_id or by.id
    worker = session.get(User, worker_id)
    if worker is None or not worker.active or worker.role not in CASE_ROLES \
            or not worker.can_see_province(case.province_code):
        raise ValidationFailed({"assigned_to_id": (N_("Choose a worker of this province."), {})})
    now = utcnow()
    follow_up = FollowUp(kind=data.kind, due_on=date.fromisoformat(data.due_on),
                         assigned_to_id=worker.id, purpose=data.purpose, created_at=now,
                         created_by_id=by.id)
    case.follow_ups.append(follow_up)
    case.timeline.append(CaseTimelineEntry(at=now, actor_id=by.id, source="case",
                                           kind="follow_up_scheduled", note=data.purpose,
                                           detail={"kind": data.kind.value,
                                                   "due_on": data.due_on}))
    session.flush()
    record_audit(session=session, actor_id=by.id, action="case.follow_up", entity="case",
                 entity_id=case.id, detail={"follow_up_id": follow_up.id}, at=now)
    events.case_updated(session=session, case=case)
    return follow_up


def complete_follow_up(*, session: Session, case_id: int, follow_up_id: int,
                       data: FollowUpDoneIn, by: User) -> FollowUp:
    """Record a follow-up's outcome and the client's feedback (once)."""
    case = _open_for_work(session, case_id, by)
    follow_up = next((f for f in case.follow_ups if f.id == follow_up_id), None)
    if follow_up is None:
        raise NotFound("follow-up")
    return finish_follow_up(session=session, case=case, follow_up=follow_up, data=data,
                            actor_id=by.id, done_by=by.display_name)


def finish_follow_up(*, session: Session, case: Case, follow_up: FollowUp, data: FollowUpDoneIn,
                     actor_id: int | None, done_by: str) -> FollowUp:
    """Record a follow-up's outcome and the client's feedback once, whoever records it (the
    worker on the case page, an อพม. volunteer on their task: cases/tasks.py)."""
    from sqlalchemy import update

    if follow_up.done_at is not None:
        raise Conflict(N_("This follow-up was already recorded."))
    now = utcnow()
    # NOTE: claimed by a conditional update: two recording at once (worker and volunteer), one
    # wins and the other is told.
    claimed = session.execute(update(FollowUp).where(
        FollowUp.id == follow_up.id, FollowUp.done_at.is_(None)).values(done_at=now))
    if claimed.rowcount != 1:
        raise Conflict(N_("This follow-up was already recorded."))
    follow_up.done_at = now
    follow_up.outcome = data.outcome
    follow_up.client_feedback = data.client_feedback
    follow_up.done_by = (done_by or "")[:120]
    case.timeline.append(CaseTimelineEntry(at=now, actor_id=actor_id, source="case",
                                           kind="follow_up_done", note=data.outcome,
                                           detail={"follow_up_id": follow_up.id,
                                                   "by": follow_up.done_by}))
    record_audit(session=session, actor_id=actor_id, action="case.follow_up_done",
                 entity="case", entity_id=case.id,
                 detail={"follow_up_id": follow_up.id, "by": follow_up.done_by}, at=now)
    session.flush()
    events.case_updated(session=session, case=case)
    return follow_up


def past_referral_week(case: Case, now) -> bool:
    """The seeds' rule: a case whose referral was accepted (or completed) more than a week ago
    should be closed with the client's feedback; True while it is not."""
    from datetime import timedelta

    from cases.enums import REFERRED_CLOSE_DAYS, ReferralStatus

    if case.status is CaseStatus.CLOSED:
        return False
    answered = [r.accepted_at or r.completed_at for r in case.referrals
                if r.status in (ReferralStatus.ACCEPTED, ReferralStatus.COMPLETED)]
    answered = [a for a in answered if a is not None]
    return bool(answered) and now - min(answered) > timedelta(days=REFERRED_CLOSE_DAYS)
