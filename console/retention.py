"""Retention (PDPA): personal data is kept only as long as each kind needs, then deleted or
anonymised in batches, keeping what the statistics need (counts, categories, priorities,
dates, provinces, districts, age groups, outcomes, durations).

- team positions (RETENTION_POSITIONS_DAYS, 90): the position history rows are deleted.
- call recordings (RETENTION_RECORDINGS_DAYS, 365): the recording link is forgotten (its
  length is kept) and a job deleting the audio at Twilio is queued in the same transaction
  (telephony.flows; retried, then on the dead-job list: the retention pass never waits on it).
- photos (RETENTION_PHOTOS_DAYS, 730): the file and its row are deleted.
- calls (RETENTION_CALLS_DAYS, 1825): number, name and text blanked; the carrier's events (they
  hold the number) deleted; SMS and call-backs lose number and text; flags that stopped acting
  lose number and reason.
- closed incidents (RETENTION_INCIDENTS_DAYS, 3650): text, address, exact position and
  timeline notes blanked; their citizen reports lose contact, LINE id, text, position, photos.
- closed cases (RETENTION_CASES_DAYS, 3650): names, ID numbers, birth dates, phones, addresses
  and every free text blanked; their subsidies keep amount, budget line, status and dates (the
  totals) and lose reasons, notes, payment references and their documents (files too).
- audit log (RETENTION_AUDIT_DAYS, 3650): rows deleted, under a purge permit (the database
  refuses any other delete).
- idempotency answers (DESK_IDEMPOTENCY_HOURS, ESS_IDEMPOTENCY_HOURS, 24 hours): deleted.

0 days keeps that kind for ever. `enforce_retention` does at most `batch` rows of each kind per
call; `run_retention` repeats it, committing after each round, until nothing is left.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import and_, delete, func, or_, select, update
from sqlalchemy.orm import Session

from console.models import AuditLog, AuditPurge, DeskIdempotency

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RetentionSettings:
    """How long each kind of personal data is kept (days; 0 = for ever)."""

    positions_days: int = 90
    recordings_days: int = 365
    photos_days: int = 730
    calls_days: int = 1825
    incidents_days: int = 3650
    cases_days: int = 3650
    audit_days: int = 3650
    sessions_days: int = 90
    desk_idempotency_hours: float = 24
    ess_idempotency_hours: float = 24
    batch: int = 500
    attachment_dir: str | None = None


def settings_from(config) -> RetentionSettings:
    """The retention settings of the app's configuration."""
    return RetentionSettings(
        positions_days=config["RETENTION_POSITIONS_DAYS"],
        recordings_days=config["RETENTION_RECORDINGS_DAYS"],
        photos_days=config["RETENTION_PHOTOS_DAYS"],
        calls_days=config["RETENTION_CALLS_DAYS"],
        incidents_days=config["RETENTION_INCIDENTS_DAYS"],
        cases_days=config["RETENTION_CASES_DAYS"],
        audit_days=config["RETENTION_AUDIT_DAYS"],
        sessions_days=config["RETENTION_SESSIONS_DAYS"],
        desk_idempotency_hours=config["DESK_IDEMPOTENCY_HOURS"],
        ess_idempotency_hours=config["ESS_IDEMPOTENCY_HOURS"],
        batch=config["RETENTION_BATCH"],
        attachment_dir=config["ESS_ATTACHMENT_DIR"],
    )


def _cutoff(now: datetime, days: float) -> datetime | None:
    return now - timedelta(days=days) if days and days > 0 else None


def _ids(session: Session, stmt, batch: int) -> list[int]:
    return list(session.scalars(stmt.limit(batch)))


def _positions(session: Session, now: datetime, s: RetentionSettings) -> int:
    from dispatch.models import TeamPosition

    cutoff = _cutoff(now, s.positions_days)
    if cutoff is None:
        return 0
    ids = _ids(session, select(TeamPosition.id).where(TeamPosition.at < cutoff)
               .order_by(TeamPosition.id), s.batch)
    if ids:
        session.execute(delete(TeamPosition).where(TeamPosition.id.in_(ids)))
    return len(ids)


def _recordings(session: Session, now: datetime, s: RetentionSettings) -> int:
    from telephony.models import Call

    cutoff = _cutoff(now, s.recordings_days)
    if cutoff is None:
        return 0
    rows = session.execute(select(Call.id, Call.recording_url, Call.province_code).where(
        Call.recording_url.is_not(None), Call.created_at < cutoff).order_by(Call.id)
        .limit(s.batch)).all()
    if rows:
        forget_recordings(session, rows)
    return len(rows)


def forget_recordings(session: Session, rows) -> None:
    """Forget the recording addresses of these calls (id, url, province) and queue deleting
    the audio at Twilio in the same transaction."""
    from telephony import flows
    from telephony.models import Call

    for call_id, url, province_code in rows:
        flows.request_recording_deletion(session, url=url, call_id=call_id,
                                         province_code=province_code)
    session.execute(update(Call).where(Call.id.in_([r[0] for r in rows]))
                    .values(recording_url=None).execution_options(synchronize_session=False))


def delete_attachment_files(names: list[str], attachment_dir: str | None) -> None:
    """Remove photo files (already gone is fine)."""
    if not attachment_dir:
        return
    for name in names:
        path = Path(attachment_dir) / name
        try:
            path.unlink(missing_ok=True)
        except OSError:
            log.warning("could not delete photo file %s", name)


def _photos(session: Session, now: datetime, s: RetentionSettings) -> int:
    from ess.models import Attachment

    cutoff = _cutoff(now, s.photos_days)
    if cutoff is None:
        return 0
    rows = session.execute(select(Attachment.id, Attachment.stored_name)
                           .where(Attachment.created_at < cutoff).order_by(Attachment.id)
                           .limit(s.batch)).all()
    if rows:
        session.execute(delete(Attachment).where(Attachment.id.in_([r[0] for r in rows])))
        # NOTE: the files are deleted after the commit (run_retention): a failed commit never
        # leaves a row whose photo is gone.
        session.info.setdefault("retention_files", []).extend(r[1] for r in rows)
    return len(rows)


def _calls(session: Session, now: datetime, s: RetentionSettings) -> int:
    from telephony.models import Call, CallerFlag, CallEvent, OutboundMessage

    cutoff = _cutoff(now, s.calls_days)
    if cutoff is None:
        return 0
    done = 0
    rows = session.execute(
        select(Call.id, Call.call_sid, Call.recording_url, Call.province_code).where(
            Call.created_at < cutoff,
            or_(Call.number.is_not(None), Call.caller_name != "", Call.summary != "",
                Call.advice != "", Call.recording_url.is_not(None)))
        .order_by(Call.id).limit(s.batch)).all()
    if rows:
        ids = [r[0] for r in rows]
        recorded = [(r[0], r[2], r[3]) for r in rows if r[2]]
        if recorded:  # NOTE: recordings kept for ever (0 days) still go with their call.
            forget_recordings(session, recorded)
        session.execute(update(Call).where(Call.id.in_(ids)).values(
            number=None, caller_name="", summary="", advice="", recording_url=None)
            .execution_options(synchronize_session=False))
        sids = [r[1] for r in rows if r[1]]
        if sids:
            session.execute(delete(CallEvent).where(CallEvent.call_sid.in_(sids)))
        done += len(ids)
    event_ids = _ids(session, select(CallEvent.id).where(CallEvent.received_at < cutoff)
                     .order_by(CallEvent.id), s.batch)
    if event_ids:
        session.execute(delete(CallEvent).where(CallEvent.id.in_(event_ids)))
        done += len(event_ids)
    msg_ids = _ids(session, select(OutboundMessage.id).where(
        OutboundMessage.created_at < cutoff,
        or_(OutboundMessage.to_number != "", OutboundMessage.body != ""))
        .order_by(OutboundMessage.id), s.batch)
    if msg_ids:
        session.execute(update(OutboundMessage).where(OutboundMessage.id.in_(msg_ids))
                        .values(to_number="", body="", error="")
                        .execution_options(synchronize_session=False))
        done += len(msg_ids)
    # A flag is anonymised once it stopped acting (lifted or expired) and is older than calls.
    flag_ids = _ids(session, select(CallerFlag.id).where(
        CallerFlag.created_at < cutoff, CallerFlag.number != "",
        or_(CallerFlag.active.is_(False),
            and_(CallerFlag.expires_at.is_not(None), CallerFlag.expires_at < now)))
        .order_by(CallerFlag.id), s.batch)
    if flag_ids:
        session.execute(update(CallerFlag).where(CallerFlag.id.in_(flag_ids))
                        .values(number="", reason="", lift_reason="")
                        .execution_options(synchronize_session=False))
        done += len(flag_ids)
    return done


def _incidents(session: Session, now: datetime, s: RetentionSettings) -> int:
    from dispatch.enums import OPEN_STATUSES
    from dispatch.models import Incident, TimelineEntry
    from ess.models import Attachment, Report

    cutoff = _cutoff(now, s.incidents_days)
    if cutoff is None:
        return 0
    closed_at = func.coalesce(Incident.cancelled_at, Incident.handed_over_at,
                              Incident.resolved_at, Incident.updated_at)
    ids = _ids(session, select(Incident.id).where(
        Incident.status.not_in(OPEN_STATUSES), closed_at < cutoff,
        or_(Incident.summary != "", Incident.notes != "", Incident.address_text != "",
            Incident.lat.is_not(None)))
        .order_by(Incident.id), s.batch)
    if not ids:
        return 0
    session.execute(update(Incident).where(Incident.id.in_(ids)).values(
        summary="", notes="", address_text="", lat=None, lon=None)
        .execution_options(synchronize_session=False))
    session.execute(update(TimelineEntry).where(TimelineEntry.incident_id.in_(ids))
                    .values(note="", detail={}).execution_options(synchronize_session=False))
    report_ids = list(session.scalars(select(Report.id).where(Report.incident_id.in_(ids))))
    if report_ids:
        names = list(session.scalars(select(Attachment.stored_name)
                                     .where(Attachment.report_id.in_(report_ids))))
        session.execute(delete(Attachment).where(Attachment.report_id.in_(report_ids)))
        session.info.setdefault("retention_files", []).extend(names)
        session.execute(update(Report).where(Report.id.in_(report_ids)).values(
            contact=None, line_user_id=None, description="", lat=None, lon=None,
            accuracy_m=None, token_hash=None).execution_options(synchronize_session=False))
    return len(ids)


def _cases(session: Session, now: datetime, s: RetentionSettings) -> int:
    from cases.enums import CaseStatus
    from cases.models import Case

    cutoff = _cutoff(now, s.cases_days)
    if cutoff is None:
        return 0
    ids = _ids(session, select(Case.id).where(
        Case.status == CaseStatus.CLOSED, Case.closed_at.is_not(None), Case.closed_at < cutoff,
        or_(Case.summary != "", Case.notes != "", Case.address_text != "",
            Case.lat.is_not(None), Case.client_feedback != "", Case.close_reason != ""))
        .order_by(Case.id), s.batch)
    if not ids:
        return 0
    anonymise_cases(session, ids)
    return len(ids)


def anonymise_cases(session: Session, ids: list[int]) -> None:
    """Blank every personal field of these cases, keeping what statistics count."""
    from cases.models import (
        Case,
        CaseAssessment,
        CasePerson,
        CaseTimelineEntry,
        PlanAction,
    )

    quiet = {"synchronize_session": False}
    session.execute(update(Case).where(Case.id.in_(ids)).values(
        summary="", notes="", address_text="", lat=None, lon=None, close_reason="",
        client_feedback="", lessons_learned="").execution_options(**quiet))
    session.execute(update(CasePerson).where(CasePerson.case_id.in_(ids)).values(
        full_name="", national_id=None, birth_date=None, phone=None, address_text="",
        relationship_to_client="").execution_options(**quiet))
    session.execute(update(CaseTimelineEntry).where(CaseTimelineEntry.case_id.in_(ids))
                    .values(note="", detail={}).execution_options(**quiet))
    session.execute(update(CaseAssessment).where(CaseAssessment.case_id.in_(ids)).values(
        problem="", living_conditions="", income_debts="", health="", education="",
        safety_risks="", needs="").execution_options(**quiet))
    session.execute(update(PlanAction).where(PlanAction.case_id.in_(ids))
                    .values(title="", note="").execution_options(**quiet))
    from cases.models import FollowUp, Referral, ReferralEvent

    # Referrals keep their agency, status and dates (statistics per agency); what was shared,
    # said and who answered goes, and so do the addresses the link was opened from.
    referral_ids = select(Referral.id).where(Referral.case_id.in_(ids))
    session.execute(update(Referral).where(Referral.case_id.in_(ids)).values(
        shared={}, service="", responder_name="", decline_reason="", outcome="",
        nonce_hash=None).execution_options(**quiet))
    session.execute(update(ReferralEvent).where(ReferralEvent.referral_id.in_(referral_ids))
                    .values(ip=None, note="").execution_options(**quiet))
    session.execute(update(FollowUp).where(FollowUp.case_id.in_(ids)).values(
        purpose="", outcome="", client_feedback="").execution_options(**quiet))
    from cases import subsidies

    # Subsidies keep amount, budget line, status and dates (the totals); reasons, notes and
    # references go, and so do their documents (files deleted after the commit).
    session.info.setdefault("retention_files", []).extend(subsidies.anonymise(session, ids))


def _sessions(session: Session, now: datetime, s: RetentionSettings) -> int:
    """Ended login sessions (they hold staff addresses and browsers) after sessions_days."""
    from console.models import UserSession

    cutoff = _cutoff(now, s.sessions_days)
    if cutoff is None:
        return 0
    ids = _ids(session, select(UserSession.id).where(
        or_(UserSession.revoked_at < cutoff, UserSession.last_seen_at < cutoff))
        .order_by(UserSession.id), s.batch)
    if not ids:
        return 0
    session.execute(delete(UserSession).where(UserSession.id.in_(ids)))
    return len(ids)


def _audit(session: Session, now: datetime, s: RetentionSettings) -> int:
    cutoff = _cutoff(now, s.audit_days)
    if cutoff is None:
        return 0
    ids = _ids(session, select(AuditLog.id).where(AuditLog.at < cutoff).order_by(AuditLog.id),
               s.batch)
    if not ids:
        return 0
    # NOTE: the database refuses to delete audit rows unless a permit for them exists in this
    # same transaction; it is removed again before the caller commits.
    permit = AuditPurge(cutoff=cutoff, created_at=now)
    session.add(permit)
    session.flush()
    session.execute(delete(AuditLog).where(AuditLog.id.in_(ids), AuditLog.at < cutoff))
    session.execute(delete(AuditPurge).where(AuditPurge.id == permit.id))
    session.expunge(permit)
    return len(ids)


def _idempotency(session: Session, now: datetime, s: RetentionSettings) -> int:
    from ess.models import IdempotencyRecord

    done = 0
    for model, hours in ((DeskIdempotency, s.desk_idempotency_hours),
                         (IdempotencyRecord, s.ess_idempotency_hours)):
        if not hours or hours <= 0:
            continue
        ids = _ids(session, select(model.id).where(
            model.created_at < now - timedelta(hours=hours)).order_by(model.id), s.batch)
        if ids:
            session.execute(delete(model).where(model.id.in_(ids)))
            done += len(ids)
    return done


KINDS: dict[str, Callable[[Session, datetime, RetentionSettings], int]] = {
    "positions": _positions,
    "recordings": _recordings,
    "photos": _photos,
    "calls": _calls,
    "incidents": _incidents,
    "cases": _cases,
    "audit": _audit,
    "sessions": _sessions,
    "idempotency": _idempotency,
}


def enforce_retention(*, session: Session, now: datetime, settings: RetentionSettings
                      ) -> dict[str, int]:
    """One round: at most `settings.batch` rows of each kind past its time deleted or
    anonymised; returns how many of each. The caller commits, then deletes the photo files
    listed in session.info["retention_files"] (see `run_retention`)."""
    return {kind: step(session, now, settings) for kind, step in KINDS.items()}


def run_retention(*, factory, now: datetime, settings: RetentionSettings,
                  max_rounds: int = 1000) -> dict[str, int]:
    """Enforce retention to the end, one committed batch at a time; returns the totals and
    writes one audit row with them when anything changed."""
    from console.service import record_audit

    totals = dict.fromkeys(KINDS, 0)
    for _round in range(max_rounds):
        session = factory()
        try:
            counts = enforce_retention(session=session, now=now, settings=settings)
            files = session.info.pop("retention_files", [])
            session.commit()
        except Exception:
            session.rollback()
            raise
        finally:
            session.close()
        delete_attachment_files(files, settings.attachment_dir)
        for kind, n in counts.items():
            totals[kind] += n
        if not any(counts.values()):
            break
    if any(totals.values()):
        session = factory()
        try:
            record_audit(session=session, actor_id=None, action="retention.enforced",
                         entity="retention", entity_id=None, at=now,
                         detail={k: v for k, v in totals.items() if v})
            session.commit()
        finally:
            session.close()
        log.info("retention: %s", ", ".join(f"{k} {v}" for k, v in totals.items() if v))
    return totals
