"""Deadlines of a case on durable timers: each step of a referral (the agency acknowledges,
accepts or declines, reports the outcome) and each action of the plan has a due time set by the
case's risk level. When one is late: a reminder to its owner (an agency is sent its link again,
through the job queue; a worker gets an SMS), then, after a grace period, an alarm to the
province's supervisors, then to the provincial office (สนง.พมจ.) — each exactly once across
processes and restarts (a claimed timer row), and none once the step is done (its timers are
cancelled; a timer that finds its step done does nothing)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from cases import events
from cases.enums import (
    ActionStatus,
    CaseStatus,
    ReferralStatus,
    ReminderStage,
    ReminderStep,
)
from cases.models import Case, CaseTimelineEntry, CaseTimer, PlanAction, Referral
from console import domain_events
from console.db import BANGKOK
from console.service import record_audit

LEVELS = ("1", "2", "3")
# The step a referral must take next, by its status (what a timer of that step waits on).
PENDING_STEP = {ReferralStatus.SENT: ReminderStep.ACK,
                ReferralStatus.ACKNOWLEDGED: ReminderStep.ACCEPT,
                ReferralStatus.ACCEPTED: ReminderStep.OUTCOME}
NEXT_STAGE = {ReminderStage.OWNER: ReminderStage.SUPERVISOR,
              ReminderStage.SUPERVISOR: ReminderStage.OFFICE}


def _hours(text: str, default: dict[str, float]) -> dict[str, float]:
    """'3=4,2=24,1=72' as {'3': 4.0, ...}; a level missing or unreadable keeps its default."""
    found = dict(default)
    for item in (text or "").split(","):
        key, _, value = item.partition("=")
        try:
            hours = float(value)
        except ValueError:
            continue
        if key.strip() in LEVELS and 0 < hours <= 24 * 365:
            found[key.strip()] = hours
    return found


@dataclass(frozen=True)
class ReminderSettings:
    """Hours per risk level for each referral step, and the grace periods before alarms."""

    ack: dict[str, float]
    accept: dict[str, float]
    outcome: dict[str, float]
    supervisor_grace: dict[str, float]
    office_grace: dict[str, float]

    @classmethod
    def from_config(cls, config) -> ReminderSettings:
        """From REFERRAL_*_HOURS and CASE_*_GRACE_HOURS (console/config.py)."""
        return cls(
            ack=_hours(config.get("REFERRAL_ACK_HOURS", ""), {"3": 4, "2": 24, "1": 72}),
            accept=_hours(config.get("REFERRAL_ACCEPT_HOURS", ""), {"3": 24, "2": 72, "1": 168}),
            outcome=_hours(config.get("REFERRAL_OUTCOME_HOURS", ""),
                           {"3": 168, "2": 336, "1": 720}),
            supervisor_grace=_hours(config.get("CASE_SUPERVISOR_GRACE_HOURS", ""),
                                    {"3": 2, "2": 12, "1": 24}),
            office_grace=_hours(config.get("CASE_OFFICE_GRACE_HOURS", ""),
                                {"3": 4, "2": 24, "1": 48}))

    def step_hours(self, step: ReminderStep, risk: str) -> float:
        """How long the agency has for a referral step at this risk level."""
        return {ReminderStep.ACK: self.ack, ReminderStep.ACCEPT: self.accept,
                ReminderStep.OUTCOME: self.outcome}[step][risk]


def risk_of(case: Case) -> str:
    """The case's risk level ('1' when the fact-finding has not set one yet)."""
    if case.assessment is not None and case.assessment.risk_level is not None:
        return case.assessment.risk_level.value
    return "1"


def _add(session: Session, *, case_id: int, step: ReminderStep, due_at: datetime, now: datetime,
         stage: ReminderStage = ReminderStage.OWNER, referral_id: int | None = None,
         action_id: int | None = None) -> CaseTimer:
    timer = CaseTimer(case_id=case_id, referral_id=referral_id, action_id=action_id, step=step,
                      stage=stage, due_at=due_at, created_at=now)
    session.add(timer)
    return timer


def cancel(session: Session, *, now: datetime, referral_id: int | None = None,
           action_id: int | None = None) -> int:
    """Cancel the pending timers of a referral or an action (its step was done)."""
    stmt = update(CaseTimer).where(CaseTimer.fired_at.is_(None))
    stmt = stmt.where(CaseTimer.referral_id == referral_id) if referral_id is not None else \
        stmt.where(CaseTimer.action_id == action_id)
    result = session.execute(stmt.values(fired_at=now, outcome="cancelled")
                             .execution_options(synchronize_session=False))
    return result.rowcount or 0


def referral_deadlines(*, referral: Referral, case: Case, settings: ReminderSettings,
                       now: datetime) -> None:
    """Set a new referral's acknowledge and accept deadlines by the case's risk level."""
    risk = risk_of(case)
    referral.ack_due_at = now + timedelta(hours=settings.ack[risk])
    referral.accept_due_at = now + timedelta(hours=settings.accept[risk])


def on_referral_step(session: Session, *, referral: Referral, case: Case,
                     settings: ReminderSettings, now: datetime) -> None:
    """A referral was sent or moved: its old timers end; the next pending step gets one."""
    cancel(session, now=now, referral_id=referral.id)
    step = PENDING_STEP.get(referral.status)
    if step is ReminderStep.OUTCOME and referral.outcome_due_at is None:
        referral.outcome_due_at = now + timedelta(hours=settings.outcome[risk_of(case)])
    due = {ReminderStep.ACK: referral.ack_due_at, ReminderStep.ACCEPT: referral.accept_due_at,
           ReminderStep.OUTCOME: referral.outcome_due_at}.get(step)
    if step is not None and due is not None:
        _add(session, case_id=case.id, referral_id=referral.id, step=step, due_at=max(due, now),
             now=now)


def action_due_at(action: PlanAction) -> datetime:
    """An action due on a day is late from the end of that day, Thai time."""
    return datetime.combine(action.due_on + timedelta(days=1), time(0), tzinfo=BANGKOK)


def on_action_saved(session: Session, *, action: PlanAction, now: datetime) -> None:
    """An action was added or changed: a pending one waits on its due date, a finished one on
    nothing."""
    if action.id is not None:
        cancel(session, now=now, action_id=action.id)
    if action.status in (ActionStatus.PLANNED, ActionStatus.IN_PROGRESS):
        _add(session, case_id=action.case_id, action_id=action.id, step=ReminderStep.ACTION,
             due_at=max(action_due_at(action), now), now=now)


def on_case_closed(session: Session, *, case_id: int, now: datetime) -> int:
    """A closed case reminds nobody of anything."""
    result = session.execute(update(CaseTimer).where(
        CaseTimer.case_id == case_id, CaseTimer.fired_at.is_(None))
        .values(fired_at=now, outcome="cancelled").execution_options(synchronize_session=False))
    return result.rowcount or 0


def on_case_reopened(session: Session, *, case: Case, now: datetime) -> None:
    """A reopened case: its open actions and referrals wait on their deadlines again."""
    for action in case.actions:
        on_action_saved(session, action=action, now=now)
    for referral in case.referrals:
        step = PENDING_STEP.get(referral.status)
        due = {ReminderStep.ACK: referral.ack_due_at, ReminderStep.ACCEPT: referral.accept_due_at,
               ReminderStep.OUTCOME: referral.outcome_due_at}.get(step)
        if due is not None:
            cancel(session, now=now, referral_id=referral.id)
            _add(session, case_id=case.id, referral_id=referral.id, step=step,
                 due_at=max(due, now), now=now)


def claim_due(*, session: Session, now: datetime, limit: int = 50) -> list[CaseTimer]:
    """Take due timers so that each fires exactly once, whatever the number of processes."""
    stmt = (select(CaseTimer).where(CaseTimer.fired_at.is_(None), CaseTimer.due_at <= now)
            .order_by(CaseTimer.due_at, CaseTimer.id).limit(limit))
    if session.get_bind().dialect.name == "postgresql":
        # NOTE: SKIP LOCKED: a row another process holds is passed over, never waited on.
        rows = list(session.scalars(stmt.with_for_update(skip_locked=True)))
    else:
        rows = list(session.scalars(stmt))
    claimed = []
    for timer in rows:
        # NOTE: the conditional UPDATE is the claim on SQLite (under the write lock) and
        # changes nothing more on PostgreSQL, where the row lock already is.
        won = session.execute(
            update(CaseTimer).where(CaseTimer.id == timer.id, CaseTimer.fired_at.is_(None))
            .values(fired_at=now, outcome="fired").execution_options(synchronize_session=False)
        ).rowcount
        if won:
            session.refresh(timer)
            claimed.append(timer)
    return claimed


def _still_pending(session: Session, timer: CaseTimer, case: Case) -> bool:
    if case.status is CaseStatus.CLOSED:
        return False
    if timer.referral_id is not None:
        referral = session.get(Referral, timer.referral_id)
        return referral is not None and PENDING_STEP.get(referral.status) is timer.step
    action = session.get(PlanAction, timer.action_id)
    return action is not None and action.status in (ActionStatus.PLANNED,
                                                     ActionStatus.IN_PROGRESS)


def fire_due(*, session: Session, now: datetime, settings: ReminderSettings,
             link_base: str) -> list[str]:
    """Fire every due case timer once: remind the owner, alarm the supervisors, then the
    provincial office. Returns what fired ('ack:owner:12' = step:stage:case id)."""
    from cases import flows

    fired: list[str] = []
    for timer in claim_due(session=session, now=now):
        case = session.get(Case, timer.case_id)
        if case is None or not _still_pending(session, timer, case):
            timer.outcome = "moot"
            continue
        risk = risk_of(case)
        referral = session.get(Referral, timer.referral_id) if timer.referral_id else None
        action = session.get(PlanAction, timer.action_id) if timer.action_id else None
        detail = {"step": timer.step.value, "stage": timer.stage.value,
                  "referral_id": timer.referral_id, "action_id": timer.action_id}
        if timer.stage is ReminderStage.OWNER:
            if referral is not None:
                detail["sent"] = flows.send_link(session=session, referral=referral, case=case,
                                                 link_base=link_base, reminder=True)
            else:
                detail["sent"] = flows.remind_action_owner(session=session, action=action,
                                                           case=case, link_base=link_base)
        else:
            domain_events.announce(session, domain_events.CASE_OVERDUE,
                                   province_code=case.province_code, case_id=case.id,
                                   step=timer.step.value, level=timer.stage.value, now=now,
                                   link_base=link_base)
        case.timeline.append(CaseTimelineEntry(
            at=now, actor_id=None, source="case", kind=f"overdue_{timer.stage.value}",
            note=(referral.service if referral else action.title if action else ""),
            detail=detail))
        record_audit(session=session, actor_id=None, action=f"case.overdue_{timer.stage.value}",
                     entity="case", entity_id=case.id, detail=detail, at=now)
        nxt = NEXT_STAGE.get(timer.stage)
        if nxt is not None:
            grace = (settings.supervisor_grace if nxt is ReminderStage.SUPERVISOR
                     else settings.office_grace)[risk]
            _add(session, case_id=case.id, referral_id=timer.referral_id,
                 action_id=timer.action_id, step=timer.step, stage=nxt,
                 due_at=now + timedelta(hours=grace), now=now)
        session.flush()
        events.case_updated(session=session, case=case)
        if referral is not None:
            events.referral_changed(session=session, referral=referral, case=case, now=now)
        fired.append(f"{timer.step.value}:{timer.stage.value}:{case.id}")
    session.flush()
    return fired

