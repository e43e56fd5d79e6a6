"""Incidents from intake to hand-over: create, assign a team, the team's steps, resolve."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import case as sa_case
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, selectinload

from cases.models import Case
from console import domain_events, duty
from console.db import BANGKOK, utcnow
from console.enums import DESK_STAFF, Role
from console.errors import (
    N_,
    Conflict,
    Forbidden,
    IllegalTransition,
    NotFound,
    ValidationFailed,
)
from console.models import User
from console.service import record_audit
from dispatch import events
from dispatch.enums import (
    CATEGORY_SKILLS,
    CONTACT_ACTIONS,
    INCIDENT_TRANSITIONS,
    OPEN_STATUSES,
    STATUS_TIMESTAMP,
    TEAM_FREE_STATUSES,
    TEAM_STATUS_FOR_INCIDENT,
    TEAM_STEPS,
    TEAM_TRANSITIONS,
    AlarmKind,
    EscalationAction,
    IncidentStatus,
    Precision,
    Source,
    TeamStatus,
    TimerKind,
)
from dispatch.intake import resolve_place
from dispatch.models import (
    Alarm,
    Assignment,
    EscalationStep,
    Incident,
    IncidentPerson,
    Team,
    TeamPosition,
    TimelineEntry,
    Timer,
)
from dispatch.schemas import IncidentIn, LadderIn
from geo import service as geo_service

DISPATCH_ROLES = frozenset({Role.DISPATCHER, Role.SUPERVISOR, Role.ADMIN})
DESK_STEP_ROLES = frozenset({Role.DISPATCHER, Role.SUPERVISOR, Role.ADMIN})
_PRIORITY_ORDER = sa_case(
    {"P1": 1, "P2": 2, "P3": 3, "P4": 4}, value=Incident.priority, else_=9
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class EscalationPolicy:
    """How long a team has to acknowledge, how often it checks in, who escalates by itself."""

    ack_by_priority: tuple[tuple[str, int], ...] = (("P1", 60), ("P2", 120), ("P3", 300),
                                                    ("P4", 600))
    checkin_minutes: int = 20
    auto_escalate: bool = True

    def ack_seconds(self, priority: str) -> int:
        """Seconds a team has to acknowledge an offer of this priority."""
        return dict(self.ack_by_priority).get(priority, 300)


@dataclass(frozen=True)
class Rung:
    """One rung of an escalation ladder: what to do, and how long to wait before the next."""

    action: EscalationAction
    wait_seconds: int
    contact_name: str = ""
    contact_phone: str | None = None


def default_ladder(policy: EscalationPolicy, priority: str) -> list[Rung]:
    """The ladder of a province whose admin has not set one: team, second team, supervisor."""
    ack = policy.ack_seconds(priority)
    rungs = [Rung(EscalationAction.TEAM, ack)]
    if policy.auto_escalate:
        rungs.append(Rung(EscalationAction.TEAM, ack))
    rungs.append(Rung(EscalationAction.SUPERVISOR, max(2 * ack, 120)))
    return rungs


def ladder_for(*, session: Session, province_code: str, priority: str,
               policy: EscalationPolicy) -> list[Rung]:
    """The escalation ladder in force for a province and priority."""
    rows = session.scalars(select(EscalationStep).where(
        EscalationStep.province_code == province_code, EscalationStep.priority == priority,
    ).order_by(EscalationStep.position))
    rungs = [Rung(r.action, r.wait_seconds, r.contact_name, r.contact_phone) for r in rows]
    return rungs or default_ladder(policy, priority)


def _rung_at(ladder: list[Rung], step: int) -> Rung:
    """The rung an incident stands on (past the end: the last one)."""
    return ladder[min(step, len(ladder) - 1)]


def ladders(*, session: Session, province_code: str, user: User,
            policy: EscalationPolicy) -> dict[str, tuple[list[Rung], bool]]:
    """Every priority's ladder of a province, and whether an admin set it (else default)."""
    if user.role is not Role.ADMIN or not user.can_see_province(province_code):
        raise Forbidden(N_("Only an administrator of this province changes escalation."))
    configured = set(session.scalars(select(EscalationStep.priority).where(
        EscalationStep.province_code == province_code).distinct()))
    return {p: (ladder_for(session=session, province_code=province_code, priority=p,
                           policy=policy), any(c.value == p for c in configured))
            for p in ("P1", "P2", "P3", "P4")}


def save_ladder(*, session: Session, province_code: str, priority: str, data: LadderIn,
                by: User) -> list[Rung]:
    """Replace a province's ladder for one priority (admin only; audited)."""
    if by.role is not Role.ADMIN or not by.can_see_province(province_code):
        raise Forbidden(N_("Only an administrator of this province changes escalation."))
    if province_code not in {p.code for p in geo_service.gazetteer.provinces()}:
        raise NotFound("province")
    if priority not in ("P1", "P2", "P3", "P4"):
        raise NotFound("priority")
    errors: dict[str, tuple[str, dict]] = {}
    if data.rungs[0].action is not EscalationAction.TEAM:
        errors["rungs.0.action"] = (N_("The ladder starts with an offer to a team."), {})
    seen_other = False
    for i, rung in enumerate(data.rungs):
        if rung.action is EscalationAction.TEAM and seen_other:
            errors[f"rungs.{i}.action"] = (
                N_("Team offers come first, before the supervisor and outside contacts."), {})
        seen_other = seen_other or rung.action is not EscalationAction.TEAM
        if rung.action in CONTACT_ACTIONS:
            if not rung.contact_name.strip():
                errors[f"rungs.{i}.contact_name"] = (N_("Say whom to call."), {})
            if not rung.contact_phone:
                errors[f"rungs.{i}.contact_phone"] = (N_("Give the number to call."), {})
    if errors:
        raise ValidationFailed(errors)
    old = session.scalars(select(EscalationStep).where(
        EscalationStep.province_code == province_code, EscalationStep.priority == priority))
    before = []
    for row in old:
        before.append([row.action.value, row.wait_seconds, row.contact_name, row.contact_phone])
        session.delete(row)
    session.flush()
    now = utcnow()
    for i, rung in enumerate(data.rungs):
        session.add(EscalationStep(
            province_code=province_code, priority=priority, position=i, action=rung.action,
            wait_seconds=rung.wait_seconds,
            contact_name=rung.contact_name.strip() if rung.action in CONTACT_ACTIONS else "",
            contact_phone=rung.contact_phone if rung.action in CONTACT_ACTIONS else None,
            updated_at=now, updated_by_id=by.id))
    session.flush()
    record_audit(session=session, actor_id=by.id, action="escalation.changed",
                 entity="province", entity_id=None, at=now,
                 detail={"province": province_code, "priority": priority, "before": before,
                         "after": [[r.action.value, r.wait_seconds, r.contact_name,
                                    r.contact_phone] for r in data.rungs]})
    return ladder_for(session=session, province_code=province_code, priority=priority,
                      policy=EscalationPolicy())


def _be_year(at: datetime) -> int:
    """Buddhist-era year of a moment in Bangkok (New Year's night belongs to the new year)."""
    return at.astimezone(BANGKOK).year + 543


def _lock(stmt, session: Session):
    """SELECT ... FOR UPDATE where the database supports it (PostgreSQL)."""
    if session.get_bind().dialect.name == "postgresql":
        return stmt.with_for_update()
    return stmt


def _timeline(
    session: Session,
    incident: Incident,
    *,
    kind: str,
    by: User | None,
    at: datetime,
    from_status: IncidentStatus | None = None,
    to_status: IncidentStatus | None = None,
    team_id: int | None = None,
    note: str = "",
    detail: dict | None = None,
) -> None:
    entry = TimelineEntry(
        incident=incident,
        at=at,
        actor_id=by.id if by else None,
        kind=kind,
        from_status=from_status.value if from_status else None,
        to_status=to_status.value if to_status else None,
        team_id=team_id,
        note=note,
        detail=detail or {},
    )
    session.add(entry)
    record_audit(
        session=session,
        actor_id=by.id if by else None,
        action=f"incident.{kind}",
        entity="incident",
        entity_id=incident.id,
        detail={"from": entry.from_status, "to": entry.to_status, "team_id": team_id},
        at=at,
    )


def _refuse_transition(incident: Incident, to: IncidentStatus) -> IllegalTransition:
    if incident.status is IncidentStatus.NEW:
        return IllegalTransition(N_("Nobody has been assigned to incident %(ref)s yet."),
                                 ref=incident.ref)
    if incident.status not in OPEN_STATUSES:
        return IllegalTransition(N_("Incident %(ref)s is already closed."), ref=incident.ref)
    if to is IncidentStatus.ASSIGNED:
        return IllegalTransition(
            N_("Incident %(ref)s is already assigned to %(team)s."),
            ref=incident.ref,
            team=incident.team.name if incident.team else "-",
        )
    return IllegalTransition(
        N_("That step is not possible now: acknowledge, then en route, then on scene, then "
           "resolved.")
    )


def transition(
    *, session: Session, incident: Incident, to: IncidentStatus, by: User | None, note: str = "",
    at: datetime | None = None,
) -> Incident:
    """Move an incident along its state machine, stamp its time and record who did it."""
    if to not in INCIDENT_TRANSITIONS[incident.status]:
        raise _refuse_transition(incident, to)
    at = at or utcnow()
    previous = incident.status
    incident.status = to
    setattr(incident, STATUS_TIMESTAMP[to], at)
    incident.updated_at = at
    _timeline(session, incident, kind="status", by=by, at=at, from_status=previous, to_status=to,
              team_id=incident.team_id, note=note)
    return incident


def _team_transition(
    *, session: Session, team: Team, to: TeamStatus, at: datetime, by: User | None
) -> None:
    if team.status is to:
        return
    if to not in TEAM_TRANSITIONS[team.status]:
        raise Conflict(N_("Team %(team)s cannot change from its current status now."),
                       team=team.name)
    previous = team.status
    team.status = to
    team.status_changed_at = at
    record_audit(session=session, actor_id=by.id if by else None, action="team.status",
                 entity="team", entity_id=team.id,
                 detail={"from": previous.value, "to": to.value}, at=at)
    events.team_updated(session=session, team=team)


def create_incident(
    *, session: Session, data: IncidentIn, by: User, call_id: int | None = None,
    source: Source = Source.HOTLINE, summary: str, source_link: str | None = None,
    source_org: str | None = None,
) -> Incident:
    """Record an incident from intake (a call, or a walk-in, letter, referral, news item or
    volunteer recorded on the same form); its province's dispatchers see it at once."""
    return _new_incident(session=session, data=data, by=by, call_id=call_id, source=source,
                         summary=summary, source_link=source_link, source_org=source_org)


def _new_incident(
    *, session: Session, data: IncidentIn, by: User | None, call_id: int | None,
    source: Source, summary: str, same_reporter: Incident | None = None,
    source_link: str | None = None, source_org: str | None = None,
) -> Incident:
    """Shared by intake and citizen reports: resolve the place, insert, timeline, event."""
    loc = data.location
    place = resolve_place(loc)
    now = utcnow()
    incident = Incident(
        source=source,
        source_link=source_link,
        source_org=source_org,
        call_id=call_id,
        category=data.category,
        priority=data.priority,
        status=IncidentStatus.NEW,
        summary=summary,
        notes=data.notes,
        province_code=place.province_code,
        district_code=place.district_code,
        subdistrict_code=place.subdistrict_code,
        address_text=loc.address_text,
        lat=place.lat,
        lon=place.lon,
        precision=Precision(place.precision),
        place_unknown=loc.place_unknown,
        created_by_id=by.id if by else None,
        same_reporter=same_reporter,
        created_at=now,
        triaged_at=now,
        updated_at=now,
        people=[
            IncidentPerson(age_group=p.age_group, sex=p.sex, vulnerable_group=p.vulnerable_group)
            for p in data.people
        ],
    )
    session.add(incident)
    session.flush()
    incident.ref = f"{place.province_code}-{_be_year(now)}-{incident.id:06d}"
    _timeline(session, incident, kind="created", by=by, at=now, to_status=IncidentStatus.NEW,
              detail={"priority": data.priority.value, "category": data.category.value,
                      "source": source.value})
    session.flush()
    events.incident_created(session=session, incident=incident)
    return incident


def get_incident(*, session: Session, incident_id: int, user: User, lock: bool = False) -> Incident:
    """An incident the user may see, or NotFound (out-of-scope ones do not exist for them)."""
    stmt = select(Incident).where(Incident.id == incident_id)
    incident = session.scalar(_lock(stmt, session) if lock else stmt)
    if incident is None:
        raise NotFound("incident")
    if user.role is Role.FIELD_MEMBER:
        if incident.team_id is None or incident.team_id != user.team_id:
            raise Forbidden(N_("This job belongs to another team."))
    elif user.role is Role.CASE_WORKER:
        # NOTE: a case worker needs an incident only as the origin of a case they may see.
        case_province = session.scalar(select(Case.province_code)
                                       .where(Case.incident_id == incident.id))
        if case_province is None or not user.can_see_province(case_province):
            raise NotFound("incident")
    elif user.role not in DESK_STAFF:
        # NOTE: agency users and อพม. volunteers never see incidents (only their referrals or
        # tasks: cases/agency.py, cases/tasks.py).
        raise NotFound("incident")
    elif not user.can_see_province(incident.province_code):
        raise NotFound("incident")
    return incident


def assign_team(*, session: Session, incident_id: int, team_id: int, by: User,
                policy: EscalationPolicy | None = None) -> Assignment:
    """Offer an incident to an available team of its province; the team must acknowledge."""
    if by.role not in DISPATCH_ROLES:
        raise Forbidden(N_("Only dispatchers and supervisors assign teams."))
    incident = get_incident(session=session, incident_id=incident_id, user=by, lock=True)
    team = session.scalar(_lock(select(Team).where(Team.id == team_id), session))
    if team is None or not by.can_see_province(team.province_code):
        raise NotFound("team")
    return _assign(session=session, incident=incident, team=team, by=by,
                   policy=policy or EscalationPolicy(), now=utcnow())


def _assign(*, session: Session, incident: Incident, team: Team, by: User | None,
            policy: EscalationPolicy, now: datetime) -> Assignment:
    """The offer itself, for a dispatcher or for automatic escalation (by=None)."""
    if IncidentStatus.ASSIGNED not in INCIDENT_TRANSITIONS[incident.status]:
        raise _refuse_transition(incident, IncidentStatus.ASSIGNED)
    if team.province_code != incident.province_code:
        raise Conflict(N_("Team %(team)s works in another province."), team=team.name)
    if team.status is not TeamStatus.AVAILABLE:
        raise Conflict(N_("Team %(team)s is not available (busy or off duty)."), team=team.name)
    assignment = Assignment(
        incident_id=incident.id, team_id=team.id, assigned_by_id=by.id if by else None,
        assigned_at=now,
    )
    session.add(assignment)
    incident.team_id = team.id
    incident.team = team
    if incident.escalation_step is None or incident.escalation_step < 0:
        incident.escalation_step = 0  # -1: nobody had offered it in time (an alarm said so)
    ladder = ladder_for(session=session, province_code=incident.province_code,
                        priority=incident.priority.value, policy=policy)
    rung = _rung_at(ladder, incident.escalation_step)
    # NOTE: on a team rung the rung's wait is the deadline; a dispatcher's own offer made after
    # the ladder went past its team rungs gets the priority's acknowledgement time.
    wait = (rung.wait_seconds if rung.action is EscalationAction.TEAM
            else policy.ack_seconds(incident.priority.value))
    incident.offer_due_at = now + timedelta(seconds=wait)
    transition(session=session, incident=incident, to=IncidentStatus.ASSIGNED, by=by, at=now)
    _team_transition(session=session, team=team, to=TeamStatus.OFFERED, at=now, by=by)
    session.add(Timer(kind=TimerKind.OFFER_LAPSE, incident_id=incident.id, team_id=team.id,
                      due_at=incident.offer_due_at, created_at=now))
    session.flush()
    events.incident_updated(session=session, incident=incident)
    return assignment


def advance(
    *, session: Session, incident_id: int, to: IncidentStatus, by: User, note: str = "",
    policy: EscalationPolicy | None = None,
) -> Incident:
    """A team step (acknowledge, en route, on scene, resolved); resolving hands over a case."""
    if to not in TEAM_STEPS:
        raise IllegalTransition(N_("That step is not possible now: acknowledge, then en route, "
                                   "then on scene, then resolved."))
    if by.role is not Role.FIELD_MEMBER and by.role not in DESK_STEP_ROLES:
        raise Forbidden(N_("Only the assigned team or a dispatcher can update this job."))
    incident = get_incident(session=session, incident_id=incident_id, user=by, lock=True)
    now = utcnow()
    transition(session=session, incident=incident, to=to, by=by, note=note, at=now)
    assignment = session.scalar(
        select(Assignment).where(Assignment.incident_id == incident.id, Assignment.active)
    )
    if to is IncidentStatus.ACKNOWLEDGED:
        incident.offer_due_at = None
        _end_timers(session, incident.id, TimerKind.OFFER_LAPSE, now)
        _end_timers(session, incident.id, TimerKind.ESCALATION_STEP, now)
        if assignment is not None:
            assignment.acknowledged_at = now
            assignment.acknowledged_by_id = by.id
    if to is IncidentStatus.ON_SCENE:
        _schedule_checkin(session, incident, now, policy or EscalationPolicy())
    if to is IncidentStatus.RESOLVED:
        incident.checkin_due_at = None
        _end_timers(session, incident.id, TimerKind.CHECKIN_DUE, now)
    team = incident.team
    if team is not None:
        _team_transition(session=session, team=team, to=TEAM_STATUS_FOR_INCIDENT[to], at=now,
                         by=by)
    if to is IncidentStatus.RESOLVED:
        if assignment is not None:
            assignment.active = False
            assignment.ended_at = now
        session.flush()
        # NOTE: dispatch only announces; case management (subscribed by the app factory)
        # opens the case in this same transaction.
        domain_events.announce(session, domain_events.INCIDENT_RESOLVED, incident=incident,
                               by=by)
        transition(session=session, incident=incident, to=IncidentStatus.HANDED_OVER, by=by,
                   at=utcnow())
    session.flush()
    events.incident_updated(session=session, incident=incident)
    return incident


def _scoped(stmt, user: User, column):
    return stmt if user.is_national else stmt.where(column == user.province_code)


def list_open_incidents(*, session: Session, user: User) -> list[Incident]:
    """Open incidents in the user's scope: highest priority first, then longest waiting."""
    stmt = (
        select(Incident)
        .where(Incident.status.in_([s.value for s in OPEN_STATUSES]))
        # NOTE: the payload names the reporter's other incident: one read for all, not one each.
        .options(selectinload(Incident.people), selectinload(Incident.team),
                 selectinload(Incident.same_reporter))
        .order_by(_PRIORITY_ORDER, Incident.created_at, Incident.id)
    )
    return list(session.scalars(_scoped(stmt, user, Incident.province_code)))


def may_list_teams(user: User) -> bool:
    """Whether the user has any need to see teams (desk staff, or a member: their own)."""
    return user.role in DESK_STAFF or user.role is Role.FIELD_MEMBER


def list_teams(*, session: Session, user: User) -> list[Team]:
    """Teams the user may see: a field member their own team only; desk staff their province's
    (national: all); nobody else any."""
    stmt = select(Team).order_by(Team.province_code, Team.name)
    if user.role is Role.FIELD_MEMBER:
        if user.team_id is None:
            return []
        return list(session.scalars(stmt.where(Team.id == user.team_id)))
    if user.role not in DESK_STAFF:
        return []
    return list(session.scalars(_scoped(stmt, user, Team.province_code)))


def current_job(*, session: Session, user: User) -> Incident | None:
    """The open incident the user's team holds, if any."""
    if user.team_id is None:
        return None
    return session.scalar(
        select(Incident)
        .where(Incident.team_id == user.team_id,
               Incident.status.in_([s.value for s in OPEN_STATUSES]))
        .order_by(Incident.dispatched_at.desc())
    )


def board_counts(*, session: Session, user: User, since: datetime) -> dict:
    """Open incidents by status and by priority, and incidents closed since a time."""
    base = _scoped(select(Incident.status, Incident.priority, func.count()), user,
                   Incident.province_code)
    by_status: dict[str, int] = {}
    by_priority: dict[str, int] = {}
    rows = session.execute(
        base.where(Incident.status.in_([s.value for s in OPEN_STATUSES]))
        .group_by(Incident.status, Incident.priority)
    )
    for status, priority, count in rows:
        by_status[status.value] = by_status.get(status.value, 0) + count
        by_priority[priority.value] = by_priority.get(priority.value, 0) + count
    handed = session.scalars(
        _scoped(select(Incident.id), user, Incident.province_code)
        .where(Incident.handed_over_at >= since)
    )
    return {"by_status": by_status, "by_priority": by_priority, "handed_ids": list(handed)}


@dataclass(frozen=True)
class Suggestion:
    """A team the dispatcher could send, and why."""

    team: Team
    distance_km: float
    eta_minutes: float
    skill: str | None
    last_seen: datetime
    on_call: bool = False  # on call for the shift under way by the duty roster


def position_key(team_id: int) -> str:
    """The id of a team in the position index."""
    return f"team:{team_id}"


def load_positions(*, session: Session, index) -> int:
    """Put every known team position from the database into the index; returns how many."""
    rows = [
        (position_key(tid), lat, lon, at.timestamp())
        for tid, lat, lon, at in session.execute(
            select(Team.id, Team.lat, Team.lon, Team.position_at).where(Team.lat.is_not(None))
        )
        if at is not None
    ]
    index.upsert_many(rows)
    return len(rows)


def report_position(
    *, session: Session, user: User, lat: float, lon: float, accuracy_m: float | None,
    at: datetime | None = None,
) -> Team:
    """A field member's phone reports the team's position."""
    if user.role is not Role.FIELD_MEMBER or user.team_id is None:
        raise Forbidden(N_("Only field team members report a team position."))
    if not geo_service.gazetteer.in_thailand(lat, lon):
        raise ValidationFailed({"lat": (N_("These coordinates are outside Thailand."), {})})
    team = session.scalar(_lock(select(Team).where(Team.id == user.team_id), session))
    if team is None:
        raise NotFound("team")
    team.lat, team.lon = lat, lon
    team.position_accuracy_m = accuracy_m
    team.position_at = at or utcnow()
    session.add(TeamPosition(team_id=team.id, at=team.position_at, lat=lat, lon=lon,
                             accuracy_m=accuracy_m))
    session.flush()
    events.team_updated(session=session, team=team)
    return team


def index_position(*, index, team: Team) -> None:
    """Put a committed team position into the spatial index (the database stays the truth)."""
    if team.lat is not None and team.position_at is not None:
        try:
            index.upsert(position_key(team.id), team.lat, team.lon, team.position_at.timestamp())
        except Exception:  # noqa: BLE001
            # NOTE: the position is committed; a failed index write (Redis down) must not turn
            # the phone's report into an error. The index is reloaded from the database once
            # its store answers again (ensure_positions_index).
            log.warning("position index unavailable; team %s will be indexed on reload", team.id)
            index.mark_missed()


def ensure_positions_index(*, session: Session, index) -> int | None:
    """Reload the position index from the database when it lost or missed positions."""
    if not index.needs_load():
        return None
    count = load_positions(session=session, index=index)
    index.mark_loaded()
    return count


def recommend_teams(
    *, session: Session, incident_id: int, user: User, index,
    travel: geo_service.TravelSettings, max_age_minutes: float, limit: int = 5,
    max_km: float = 300.0, now: datetime | None = None,
) -> list[Suggestion]:
    """Available teams of the incident's province with the needed skill: those on call for the
    shift under way first, each group nearest first (off-duty teams are never suggested)."""
    incident = get_incident(session=session, incident_id=incident_id, user=user)
    return _recommend(session=session, incident=incident, index=index, travel=travel,
                      max_age_minutes=max_age_minutes, limit=limit, max_km=max_km,
                      now=now or utcnow())


def _recommend(
    *, session: Session, incident: Incident, index, travel: geo_service.TravelSettings,
    max_age_minutes: float, limit: int, max_km: float, now: datetime,
    exclude: frozenset[int] = frozenset(),
) -> list[Suggestion]:
    if incident.lat is None:
        return []
    skill = CATEGORY_SKILLS.get(incident.category.value)
    candidates = {
        position_key(t.id): t
        for t in session.scalars(
            select(Team).where(Team.province_code == incident.province_code,
                               Team.status == TeamStatus.AVAILABLE)
        )
        if (skill is None or skill in (t.skills or [])) and t.id not in exclude
    }
    if not candidates:
        return []
    # The teams on call for the shift under way (the roster's resolver, one query) come first,
    # nearest first; then the province's other available teams, nearest first.
    on_call = duty.teams_on_call(session, incident.province_code, now)
    first = {k for k, t in candidates.items() if t.id in on_call}
    groups = [first, candidates.keys() - first] if first else [candidates.keys()]
    hits = []
    for group in groups:
        if len(hits) >= limit or not group:
            continue
        hits += index.nearest(
            incident.lat, incident.lon, k=limit - len(hits),
            fresh_after=(now - timedelta(minutes=max_age_minutes)).timestamp(),
            where=group.__contains__, max_km=max_km,
        )
    area = geo_service.area_type(incident.province_code, incident.district_code)
    return [
        Suggestion(
            team=candidates[hit.id],
            distance_km=hit.distance_km,
            eta_minutes=geo_service.travel_minutes(hit.distance_km, area, travel),
            skill=skill,
            last_seen=datetime.fromtimestamp(hit.seen_at, tz=UTC),
            on_call=hit.id in first,
        )
        for hit in hits
    ]


def heat_points(*, session: Session, user: User, since: datetime) -> list[tuple[float, float]]:
    """Where incidents happened since a time (for the heat layer), in the user's scope."""
    stmt = select(Incident.lat, Incident.lon).where(
        Incident.created_at >= since, Incident.lat.is_not(None)
    )
    return [(lat, lon) for lat, lon in session.execute(_scoped(stmt, user,
                                                               Incident.province_code))]


def incidents_since(*, session: Session, user: User, since: datetime) -> list[Incident]:
    """Every incident created since a time in the user's scope (the shift report)."""
    stmt = select(Incident).where(Incident.created_at >= since).order_by(Incident.created_at)
    return list(session.scalars(_scoped(stmt, user, Incident.province_code)))


def team_path(*, session: Session, incident: Incident) -> list[tuple[float, float]]:
    """The assigned team's reported positions while it held the incident."""
    if incident.team_id is None or incident.dispatched_at is None:
        return []
    end = incident.resolved_at or incident.cancelled_at or utcnow()
    rows = session.execute(
        select(TeamPosition.lat, TeamPosition.lon)
        .where(TeamPosition.team_id == incident.team_id,
               TeamPosition.at >= incident.dispatched_at, TeamPosition.at <= end)
        .order_by(TeamPosition.at)
    )
    return [(lat, lon) for lat, lon in rows]


def read_incident(*, session: Session, incident_id: int, user: User) -> Incident:
    """An incident the user may see; the read is written to the audit log (PDPA)."""
    incident = get_incident(session=session, incident_id=incident_id, user=user)
    record_audit(session=session, actor_id=user.id, action="incident.viewed", entity="incident",
                 entity_id=incident.id)
    return incident


def set_availability(*, session: Session, team_id: int, available: bool, by: User) -> Team:
    """Put a team on or off duty, or clear it after a job (its member or a dispatcher)."""
    team = session.scalar(_lock(select(Team).where(Team.id == team_id), session))
    if team is None:
        raise NotFound("team")
    if by.role is Role.FIELD_MEMBER:
        if by.team_id != team.id:
            raise Forbidden(N_("You can only change your own team."))
    elif by.role not in DISPATCH_ROLES or not by.can_see_province(team.province_code):
        raise NotFound("team")
    target = TeamStatus.AVAILABLE if available else TeamStatus.OFF_DUTY
    if team.status not in TEAM_FREE_STATUSES:
        raise Conflict(N_("Team %(team)s is on a job; finish it first."), team=team.name)
    _team_transition(session=session, team=team, to=target, at=utcnow(), by=by)
    session.flush()
    return team


def cancel_incident(*, session: Session, incident_id: int, reason: str, by: User) -> Incident:
    """A dispatcher closes an open incident that needs no team (duplicate, hoax...)."""
    if by.role not in DISPATCH_ROLES:
        raise Forbidden(N_("Only dispatchers and supervisors cancel incidents."))
    incident = get_incident(session=session, incident_id=incident_id, user=by, lock=True)
    now = utcnow()
    previous_team = incident.team_id
    transition(session=session, incident=incident, to=IncidentStatus.CANCELLED, by=by,
               note=reason, at=now)
    incident.offer_due_at = incident.checkin_due_at = None
    for kind in TimerKind:
        _end_timers(session, incident.id, kind, now)
    assignment = session.scalar(
        select(Assignment).where(Assignment.incident_id == incident.id, Assignment.active)
    )
    if assignment is not None:
        assignment.active = False
        assignment.ended_at = now
    if incident.team is not None:
        _team_transition(session=session, team=incident.team, to=TeamStatus.AVAILABLE, at=now,
                         by=by)
    session.flush()
    events.incident_updated(session=session, incident=incident, previous_team_id=previous_team)
    return incident


# --- Durable timers, offers that lapse, check-ins, alarms ---------------------------------


def _end_timers(session: Session, incident_id: int, kind: TimerKind, now: datetime) -> None:
    """Cancel an incident's pending timers of one kind."""
    for timer in session.scalars(select(Timer).where(
        Timer.incident_id == incident_id, Timer.kind == kind, Timer.fired_at.is_(None)
    )):
        timer.fired_at, timer.outcome = now, "cancelled"


def _schedule_checkin(session: Session, incident: Incident, now: datetime,
                      policy: EscalationPolicy) -> None:
    _end_timers(session, incident.id, TimerKind.CHECKIN_DUE, now)
    incident.checkin_due_at = now + timedelta(minutes=policy.checkin_minutes)
    session.add(Timer(kind=TimerKind.CHECKIN_DUE, incident_id=incident.id,
                      team_id=incident.team_id, due_at=incident.checkin_due_at, created_at=now))


def claim_due_timers(*, session: Session, now: datetime, limit: int = 50) -> list[Timer]:
    """Take due timers so that each fires exactly once, whatever the number of processes."""
    stmt = (select(Timer).where(Timer.fired_at.is_(None), Timer.due_at <= now)
            .order_by(Timer.due_at).limit(limit))
    if session.get_bind().dialect.name == "postgresql":
        # NOTE: SKIP LOCKED: another process holding a timer row skips it, never waits.
        return list(session.scalars(stmt.with_for_update(skip_locked=True)))
    claimed = []
    for timer in session.scalars(stmt).all():
        # SQLite: a conditional UPDATE under the database write lock claims the row.
        won = session.execute(
            update(Timer).where(Timer.id == timer.id, Timer.fired_at.is_(None))
            .values(fired_at=now, outcome="fired")
            .execution_options(synchronize_session=False)
        ).rowcount
        if won:
            claimed.append(timer)
    return claimed


@dataclass(frozen=True)
class AlarmRecipients:
    """Whom a province's alarms go to now, and why: `fallback` is None when they are the
    supervisors on duty or the province's roster does not cover the instant (as before rosters),
    else why every supervisor of the province gets them: 'nobody_on_duty' (the roster covers
    the instant with no supervisor on duty) or 'no_phone' (those on duty have no phone)."""

    people: list[User]
    fallback: str | None


def alarm_recipients(*, session: Session, province_code: str, at: datetime
                     ) -> AlarmRecipients:
    """The one place that picks who gets a province's alarms by SMS (SOS, missed check-in,
    lapsed offers, escalation, case and roster alarms): the supervisors on duty at `at` by the
    roster's resolver, active and with a phone; only when there are none, every active
    supervisor of the province with a phone. Two small queries, whatever the roster's size."""
    on_duty = duty.supervisors(session, province_code, at)
    reachable = (User.active.is_(True), User.phone.is_not(None))
    if on_duty:
        found = {u.id: u for u in session.scalars(select(User).where(
            User.id.in_(on_duty), *reachable))}
        if found:
            return AlarmRecipients([found[uid] for uid in on_duty if uid in found], None)
    everyone = list(session.scalars(select(User).where(
        User.role == Role.SUPERVISOR, User.province_code == province_code, *reachable)
        .order_by(User.id)))
    if on_duty:
        return AlarmRecipients(everyone, "no_phone")
    # NOTE: a province without a roster for now is not "short of a supervisor": no notice on
    # every alarm, as screen pops go to every call-taker there without one.
    return AlarmRecipients(everyone, "nobody_on_duty"
                           if duty.rostered(session, province_code, at) else None)


def _raise_alarm(session: Session, *, kind: AlarmKind, province_code: str, now: datetime,
                 team_id: int | None = None, incident_id: int | None = None,
                 by: User | None = None, lat: float | None = None, lon: float | None = None,
                 note: str = "", contact_name: str = "", contact_phone: str | None = None,
                 case_id: int | None = None, facts: dict | None = None) -> Alarm:
    fallback = alarm_recipients(session=session, province_code=province_code, at=now).fallback
    if fallback is not None:
        # NOTE: decided before the event leaves, so the banner says it from the start.
        facts = {**(facts or {}), "sent_to_all": fallback}
    alarm = Alarm(kind=kind, province_code=province_code, team_id=team_id,
                  incident_id=incident_id, raised_at=now, raised_by_id=by.id if by else None,
                  lat=lat, lon=lon, note=note, contact_name=contact_name,
                  contact_phone=contact_phone, case_id=case_id, facts=facts)
    session.add(alarm)
    session.flush()
    record_audit(session=session, actor_id=by.id if by else None, action=f"alarm.{kind.value}",
                 entity="alarm", entity_id=alarm.id,
                 detail={"team_id": team_id, "incident_id": incident_id}, at=now)
    events.alarm_changed(session=session, alarm=alarm)
    return alarm


def _withdraw_offer(session: Session, incident: Incident, *, by: User | None, now: datetime,
                    kind: str, note: str) -> Team:
    """The team did not take the offer: it is free again and the incident waits anew."""
    team = incident.team
    assignment = session.scalar(
        select(Assignment).where(Assignment.incident_id == incident.id, Assignment.active)
    )
    if assignment is not None:
        assignment.active, assignment.ended_at = False, now
    _end_timers(session, incident.id, TimerKind.OFFER_LAPSE, now)
    incident.offer_due_at = None
    incident.team_id, incident.team = None, None
    transition(session=session, incident=incident, to=IncidentStatus.NEW, by=by, note=note,
               at=now)
    incident.timeline[-1].kind = kind
    incident.timeline[-1].team_id = team.id
    _team_transition(session=session, team=team, to=TeamStatus.AVAILABLE, at=now, by=by)
    return team


def _refused_teams(incident: Incident) -> frozenset[int]:
    return frozenset(e.team_id for e in incident.timeline
                     if e.kind in ("offer_lapsed", "offer_declined") and e.team_id)


def _climb(session: Session, incident: Incident, *, now: datetime, policy: EscalationPolicy,
           choose) -> None:
    """An offer lapsed or was declined: take the ladder's next rung while on team rungs."""
    ladder = ladder_for(session=session, province_code=incident.province_code,
                        priority=incident.priority.value, policy=policy)
    step = incident.escalation_step or 0
    if _rung_at(ladder, step).action is not EscalationAction.TEAM:
        return  # past the team rungs: the running rung's timer takes the next one
    _take_rung(session, incident, step + 1, ladder, now=now, policy=policy, choose=choose)


def _take_rung(session: Session, incident: Incident, step: int, ladder: list[Rung], *,
               now: datetime, policy: EscalationPolicy, choose) -> None:
    """Do rung `step` of the ladder (and the next ones at once if a team rung finds no team)."""
    while step < len(ladder):
        rung = ladder[step]
        incident.escalation_step = step
        detail = {"step": step + 1, "of": len(ladder), "action": rung.action.value}
        if rung.action is EscalationAction.TEAM:
            nxt = (choose(session, incident, _refused_teams(incident), now)
                   if choose is not None else None)
            if nxt is not None:
                _timeline(session, incident, kind="escalated", by=None, at=now, team_id=nxt.id,
                          detail=detail)
                _assign(session=session, incident=incident, team=nxt, by=None, policy=policy,
                        now=now)
                return
            _timeline(session, incident, kind="escalated", by=None, at=now,
                      detail={**detail, "no_team": True})
            step += 1
            continue
        detail.update(contact_name=rung.contact_name, contact_phone=rung.contact_phone)
        _timeline(session, incident, kind="escalated", by=None, at=now, detail=detail)
        _raise_alarm(session, kind=AlarmKind.ESCALATED, province_code=incident.province_code,
                     incident_id=incident.id, team_id=None, now=now, note=rung.action.value,
                     contact_name=rung.contact_name, contact_phone=rung.contact_phone)
        if step + 1 < len(ladder):
            session.add(Timer(kind=TimerKind.ESCALATION_STEP, incident_id=incident.id,
                              due_at=now + timedelta(seconds=rung.wait_seconds),
                              created_at=now, step=step))
        return


UNOFFERED_PER_PASS = 50  # alarms raised per timer pass at most; the rest come next tick


def _unoffered(session: Session, *, now: datetime, policy: EscalationPolicy) -> list[str]:
    """Alarm once for each new incident nobody offered to a team within its first rung's wait.

    Reads only the incidents already due: one small query for the provinces and priorities
    waiting, then, per ladder (P1 first), the oldest due ones. Loading every waiting incident
    each second made the timer pass grow with the queue and stall the realtime sends.
    """
    fired: list[str] = []
    waiting = (Incident.status == IncidentStatus.NEW, Incident.escalation_step.is_(None),
               Incident.created_at <= now - timedelta(seconds=15))
    pairs = session.execute(select(Incident.province_code, Incident.priority)
                            .where(*waiting).distinct()).all()
    for province_code, priority in sorted(pairs, key=lambda pair: (pair[1].value, pair[0])):
        if len(fired) >= UNOFFERED_PER_PASS:
            break
        wait = ladder_for(session=session, province_code=province_code,
                          priority=priority.value, policy=policy)[0].wait_seconds
        due = session.scalars(
            select(Incident).where(*waiting, Incident.province_code == province_code,
                                   Incident.priority == priority,
                                   Incident.created_at <= now - timedelta(seconds=wait))
            .order_by(Incident.id).limit(UNOFFERED_PER_PASS - len(fired)))
        for incident in list(due):
            # NOTE: a conditional UPDATE claims the incident: one process raises the alarm, once.
            won = session.execute(
                update(Incident).where(Incident.id == incident.id,
                                       Incident.escalation_step.is_(None))
                .values(escalation_step=-1).execution_options(synchronize_session=False)
            ).rowcount
            if not won:
                continue
            session.refresh(incident)
            _timeline(session, incident, kind="unoffered", by=None, at=now,
                      detail={"waited_seconds": wait})
            _raise_alarm(session, kind=AlarmKind.UNOFFERED, province_code=incident.province_code,
                         incident_id=incident.id, now=now)
            fired.append(f"unoffered:{incident.id}")
    return fired


def fire_due_timers(*, session: Session, now: datetime, policy: EscalationPolicy,
                    choose=None) -> list[str]:
    """Fire every due timer once: lapse offers (and escalate), raise missed check-in alarms,
    and tell the supervisors about new incidents nobody offered to a team in time."""
    fired: list[str] = _unoffered(session, now=now, policy=policy)
    for timer in claim_due_timers(session=session, now=now):
        timer.fired_at, timer.outcome = now, "fired"
        incident = session.get(Incident, timer.incident_id)
        if timer.kind is TimerKind.OFFER_LAPSE:
            if incident.status is not IncidentStatus.ASSIGNED or incident.team_id != timer.team_id:
                continue
            team = _withdraw_offer(session, incident, by=None, now=now, kind="offer_lapsed",
                                   note="")
            _raise_alarm(session, kind=AlarmKind.OFFER_LAPSED, province_code=incident.province_code,
                         team_id=team.id, incident_id=incident.id, now=now)
            _climb(session, incident, now=now, policy=policy, choose=choose)
            session.flush()
            events.incident_updated(session=session, incident=incident, previous_team_id=team.id)
            fired.append(f"offer_lapse:{incident.id}")
        elif timer.kind is TimerKind.ESCALATION_STEP:
            waiting = incident.status in (IncidentStatus.NEW, IncidentStatus.ASSIGNED)
            if not waiting or incident.escalation_step != timer.step:
                continue
            ladder = ladder_for(session=session, province_code=incident.province_code,
                                priority=incident.priority.value, policy=policy)
            _take_rung(session, incident, timer.step + 1, ladder, now=now, policy=policy,
                       choose=choose)
            session.flush()
            events.incident_updated(session=session, incident=incident)
            fired.append(f"escalation:{incident.id}")
        elif timer.kind is TimerKind.CHECKIN_DUE:
            if incident.status is not IncidentStatus.ON_SCENE:
                continue
            team = incident.team
            _raise_alarm(session, kind=AlarmKind.MISSED_CHECKIN,
                         province_code=incident.province_code, team_id=incident.team_id,
                         incident_id=incident.id, now=now,
                         lat=team.lat if team else None, lon=team.lon if team else None)
            fired.append(f"checkin:{incident.id}")
    session.flush()
    return fired


def decline(*, session: Session, incident_id: int, by: User, reason: str,
            policy: EscalationPolicy, choose=None) -> Incident:
    """The offered team declines, with a reason; the next team is offered if allowed."""
    if by.role is not Role.FIELD_MEMBER:
        raise Forbidden(N_("Only the offered team can decline."))
    incident = get_incident(session=session, incident_id=incident_id, user=by, lock=True)
    if incident.status is not IncidentStatus.ASSIGNED:
        raise IllegalTransition(N_("Only an offer that is not yet acknowledged can be declined."))
    now = utcnow()
    team = _withdraw_offer(session, incident, by=by, now=now, kind="offer_declined", note=reason)
    _raise_alarm(session, kind=AlarmKind.OFFER_DECLINED, province_code=incident.province_code,
                 team_id=team.id, incident_id=incident.id, now=now, by=by, note=reason)
    _climb(session, incident, now=now, policy=policy, choose=choose)
    session.flush()
    events.incident_updated(session=session, incident=incident, previous_team_id=team.id)
    return incident


def check_in(*, session: Session, incident_id: int, by: User,
             policy: EscalationPolicy) -> Incident:
    """One tap from the scene: the team is safe; the next check-in is scheduled."""
    incident = get_incident(session=session, incident_id=incident_id, user=by, lock=True)
    if by.role is not Role.FIELD_MEMBER:
        raise Forbidden(N_("Only the team on scene checks in."))
    if incident.status is not IncidentStatus.ON_SCENE:
        raise IllegalTransition(N_("Check-ins are for teams on scene."))
    now = utcnow()
    _schedule_checkin(session, incident, now, policy)
    _timeline(session, incident, kind="checkin", by=by, at=now, team_id=incident.team_id)
    session.flush()
    events.incident_updated(session=session, incident=incident)
    return incident


def raise_sos(*, session: Session, by: User, lat: float | None, lon: float | None,
              note: str = "") -> Alarm:
    """The SOS button: the highest alarm, with the team's last known position."""
    if by.role is not Role.FIELD_MEMBER or by.team_id is None:
        raise Forbidden(N_("Only field team members raise an SOS."))
    team = session.get(Team, by.team_id)
    job = current_job(session=session, user=by)
    now = utcnow()
    alarm = _raise_alarm(session, kind=AlarmKind.SOS, province_code=team.province_code,
                         team_id=team.id, incident_id=job.id if job else None, now=now,
                         by=by, lat=lat if lat is not None else team.lat,
                         lon=lon if lon is not None else team.lon, note=note)
    if job is not None:
        # The SOS belongs to the job's story: whoever reads the incident later sees it.
        _timeline(session, job, kind="sos", by=by, at=now, team_id=team.id, note=note,
                  detail={"alarm_id": alarm.id, "lat": alarm.lat, "lon": alarm.lon})
        session.flush()
    return alarm


def handle_alarm(*, session: Session, alarm_id: int, by: User) -> Alarm:
    """A supervisor or dispatcher takes charge of an alarm; it stops sounding everywhere."""
    if by.role not in DISPATCH_ROLES:
        raise Forbidden(N_("Only dispatchers and supervisors handle alarms."))
    alarm = session.get(Alarm, alarm_id)
    if alarm is None or not by.can_see_province(alarm.province_code):
        raise NotFound("alarm")
    if alarm.handled_at is not None:
        raise Conflict(N_("This alarm was already handled."))
    alarm.handled_at, alarm.handled_by_id = utcnow(), by.id
    record_audit(session=session, actor_id=by.id, action="alarm.handled", entity="alarm",
                 entity_id=alarm.id)
    if alarm.kind is AlarmKind.SOS and alarm.incident_id is not None:
        incident = session.get(Incident, alarm.incident_id)
        _timeline(session, incident, kind="sos_handled", by=by, at=alarm.handled_at,
                  team_id=alarm.team_id, detail={"alarm_id": alarm.id})
    session.flush()
    events.alarm_changed(session=session, alarm=alarm)
    return alarm


def open_alarms(*, session: Session, user: User) -> list[Alarm]:
    """Alarms nobody has handled yet, SOS first, then oldest."""
    stmt = select(Alarm).where(Alarm.handled_at.is_(None))
    stmt = _scoped(stmt, user, Alarm.province_code)
    rank = sa_case({AlarmKind.SOS.value: 0, AlarmKind.MISSED_CHECKIN.value: 1},
                   value=Alarm.kind, else_=2)
    return list(session.scalars(stmt.order_by(rank, Alarm.raised_at)))


def choose_next_team(index, travel: geo_service.TravelSettings, max_age_minutes: float):
    """The escalation's choice: the best recommended team not yet refused for this incident
    (a team on call for the shift under way before any other)."""

    def choose(session: Session, incident: Incident, exclude: frozenset[int], now: datetime):
        best = _recommend(session=session, incident=incident, index=index, travel=travel,
                          max_age_minutes=max_age_minutes, limit=1, max_km=300.0, now=now,
                          exclude=exclude)
        return best[0].team if best else None

    return choose


def create_incident_from_report(
    *, session: Session, data: IncidentIn, source: Source, summary: str, by: User | None = None,
    same_reporter: Incident | None = None,
) -> Incident:
    """An incident opened by a citizen report (ESS / LINE / app): no call, maybe no user;
    `same_reporter`: the reporter's other open incident, which the desk is told about."""
    return _new_incident(session=session, data=data, by=by, call_id=None, source=source,
                         summary=summary, same_reporter=same_reporter)
