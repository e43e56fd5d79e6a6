"""Outbound realtime events of case management."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from cases.enums import CASE_TRANSITIONS, CaseStatus
from cases.models import Case
from console import realtime
from console.rooms import case_rooms
from dispatch.events import place_names

CASE_OPENED = "case.opened"
CASE_UPDATED = "case.updated"
REFERRAL_CHANGED = "referral.changed"


def case_payload(case: Case) -> dict[str, Any]:
    """What the case worker desk lists about a case (national IDs typed into its summary are
    masked: lists never show them whole)."""
    from console.privacy import mask_national_ids

    return {
        "id": case.id,
        "ref": case.ref,
        "incident_id": case.incident_id,
        "source": case.source.value if case.source else "incident",
        "status": case.status.value,
        "status_changed_at": case.status_changed_at.isoformat() if case.status_changed_at
        else None,
        "version": case.version,
        "moves": [m.value for m in CaseStatus if m in CASE_TRANSITIONS[case.status]],
        "assigned_to_id": case.assigned_to_id,
        "category": case.category,
        "priority": case.priority,
        "summary": mask_national_ids(case.summary),
        "province_code": case.province_code,
        "transfer_to_province": case.transfer_to_province,
        "handover_to_id": case.handover_to_id,
        "place": place_names(case.province_code, case.district_code, case.subdistrict_code),
        "people_count": len(case.people),
        "opened_at": case.opened_at.isoformat(),
    }


def case_opened(*, session: Session, case: Case) -> dict:
    """A case entered intake: the case workers of its province hear."""
    rooms = case_rooms(case.province_code)
    return realtime.publish(session, CASE_OPENED, case_payload(case), rooms)


def case_updated(*, session: Session, case: Case) -> dict:
    """A case moved or changed: the case desks of its province hear (no personal data)."""
    rooms = case_rooms(case.province_code)
    return realtime.publish(session, CASE_UPDATED, case_payload(case), rooms)


CASE_TRANSFER = "case.transfer"


def transfer_payload(transfer, case: Case) -> dict[str, Any]:
    """A transfer between provinces as both case desks list it: what the receiving province
    needs to decide (the case's number, category, summary and the reason), no person's data."""
    from console.privacy import mask_national_ids

    def iso(value):
        return value.isoformat() if value else None

    return {
        "id": transfer.id, "case_id": case.id, "case_ref": case.ref,
        "category": case.category, "summary": mask_national_ids(case.summary),
        "from_province": transfer.from_province, "to_province": transfer.to_province,
        "from_place": place_names(transfer.from_province, None, None),
        "to_place": place_names(transfer.to_province, None, None),
        "status": transfer.status.value, "reason": mask_national_ids(transfer.reason),
        "answer_reason": mask_national_ids(transfer.answer_reason),
        "proposed_at": iso(transfer.proposed_at), "answered_at": iso(transfer.answered_at),
        "version": transfer.version,
    }


def case_transfer(*, session: Session, case: Case, transfer) -> dict:
    """A transfer was proposed, accepted or declined: the case desks of both provinces hear
    (the sending one drops an accepted case, the receiving one lists what waits for it)."""
    rooms = list(dict.fromkeys(case_rooms(transfer.from_province)
                               + case_rooms(transfer.to_province)))
    return realtime.publish(session, CASE_TRANSFER, transfer_payload(transfer, case), rooms)


def person_payload(person) -> dict[str, Any]:
    """A person as the case page lists them: the national ID masked."""
    from cases.schemas import mask_thai_id

    return {
        "id": person.id,
        "role": person.role.value if person.role else None,
        "full_name": person.full_name,
        "national_id_masked": mask_thai_id(person.national_id),
        "no_id_reason": person.no_id_reason.value if person.no_id_reason else None,
        "birth_date": person.birth_date.isoformat() if person.birth_date else None,
        "age_years": person.age_years,
        "sex": person.sex,
        "relationship_to_client": person.relationship_to_client,
        "target_groups": list(person.target_groups or []),
    }


def assessment_payload(row) -> dict[str, Any] | None:
    """The fact-finding as the case page shows it."""
    if row is None:
        return None
    return {
        "visited_at": row.visited_at.isoformat() if row.visited_at else None,
        "problem": row.problem, "living_conditions": row.living_conditions,
        "income_debts": row.income_debts, "health": row.health, "education": row.education,
        "safety_risks": row.safety_risks, "needs": row.needs, "scores": dict(row.scores or {}),
        "risk_level": row.risk_level.value if row.risk_level else None,
        "completed_at": row.completed_at.isoformat() if row.completed_at else None,
    }


def action_payload(action) -> dict[str, Any]:
    """One action of the plan."""
    return {
        "id": action.id, "phase": action.phase.value, "domain": action.domain.value,
        "title": action.title, "owner_user_id": action.owner_user_id,
        "owner_agency_id": action.owner_agency_id, "due_on": action.due_on.isoformat(),
        "status": action.status.value, "note": action.note,
    }


def referral_payload(referral, now=None) -> dict[str, Any]:
    """A referral as the case page lists it (its link is never in it)."""
    from cases.referrals import overdue
    from console.db import utcnow

    def iso(value):
        return value.isoformat() if value else None

    return {
        "id": referral.id, "agency_id": referral.agency_id, "service": referral.service,
        "status": referral.status.value, "sent_at": iso(referral.sent_at),
        "acknowledged_at": iso(referral.acknowledged_at), "accepted_at": iso(referral.accepted_at),
        "declined_at": iso(referral.declined_at), "completed_at": iso(referral.completed_at),
        "revoked_at": iso(referral.revoked_at), "ack_due_at": iso(referral.ack_due_at),
        "accept_due_at": iso(referral.accept_due_at),
        "outcome_due_at": iso(referral.outcome_due_at),
        "channel": referral.channel.value if referral.channel else None,
        "overdue": overdue(referral, now or utcnow()), "responder_name": referral.responder_name,
        "decline_reason": referral.decline_reason, "outcome": referral.outcome,
        "opens": sum(1 for e in referral.events if e.kind == "opened"),
        "items": list((referral.shared or {}).get("items", [])),
    }


def follow_up_payload(follow_up) -> dict[str, Any]:
    """A follow-up as the case page lists it."""
    return {
        "id": follow_up.id, "kind": follow_up.kind.value, "due_on": follow_up.due_on.isoformat(),
        "assigned_to_id": follow_up.assigned_to_id, "purpose": follow_up.purpose,
        "done_at": follow_up.done_at.isoformat() if follow_up.done_at else None,
        "outcome": follow_up.outcome, "client_feedback": follow_up.client_feedback,
        "volunteer": bool(follow_up.volunteer_name or follow_up.nonce_hash),
        "done_by": follow_up.done_by,
    }


AGENCY_REFERRAL = "agency.referral"
VOLUNTEER_TASK = "volunteer.task"
CASE_TIMELINE = "case.timeline"


def agency_referral(*, session: Session, referral) -> dict:
    """A referral to an agency was sent, answered or withdrawn: that agency's users hear which
    one (no data: their list reads it again, and that read is logged)."""
    from console.rooms import agency_room

    return realtime.publish(session, AGENCY_REFERRAL, {
        "id": referral.id, "status": str(referral.status), "version": referral.version},
        [agency_room(referral.agency_id)])


def volunteer_task(*, session: Session, follow_up) -> dict:
    """A task was given to an Volunteer with an account, or recorded: they hear which."""
    from console.rooms import volunteer_room

    return realtime.publish(session, VOLUNTEER_TASK, {
        "id": follow_up.id, "done": follow_up.done_at is not None},
        [volunteer_room(follow_up.assigned_to_id)])


def timeline_payload(entry, case: Case) -> dict[str, Any]:
    """A new line of a case's timeline, as the case page shows it."""
    return {"case_id": case.id, "kind": entry.kind, "at": entry.at.isoformat(),
            "note": entry.note, "to_status": entry.to_status}


def timeline_added(*, session: Session, case: Case, entry) -> dict:
    """A step from outside the case page (an agency, a volunteer) reached the case's timeline:
    the case desks of its province add the line live."""
    return realtime.publish(session, CASE_TIMELINE, timeline_payload(entry, case),
                            case_rooms(case.province_code))


SUBSIDY_UPDATED = "subsidy.updated"


def subsidy_payload(subsidy) -> dict[str, Any]:
    """A subsidy request as the case page and the approvers' list show it (no reasons, notes or
    references: those are read on the case page)."""

    def iso(value):
        return value.isoformat() if value else None

    return {
        "id": subsidy.id, "case_id": subsidy.case_id, "province_code": subsidy.province_code,
        "amount_satang": subsidy.amount_satang, "budget_line": subsidy.budget_line,
        "plan_action_id": subsidy.plan_action_id, "status": subsidy.status.value,
        "levels": list(subsidy.levels or []), "step": subsidy.step,
        "level": (subsidy.levels[subsidy.step - 1]
                  if subsidy.status.value == "pending" and subsidy.levels else None),
        "requested_at": iso(subsidy.requested_at), "requested_by_id": subsidy.requested_by_id,
        "decided_at": iso(subsidy.decided_at), "paid_on": iso(subsidy.paid_on),
        "version": subsidy.version, "documents": len(subsidy.documents),
    }


def subsidy_updated(*, session: Session, subsidy) -> dict:
    """A subsidy was asked for, decided at a level or paid: the case desks of its province (and
    the approvers' list there) hear."""
    return realtime.publish(session, SUBSIDY_UPDATED, subsidy_payload(subsidy),
                            case_rooms(subsidy.province_code))


def waiting_for(referral, case, now) -> int | None:
    """The worker who must act on a referral now (its case's worker, else who sent it): the
    agency declined, is late on a step, or reported the outcome of a case still in
    assistance; None when nobody on our side has to."""
    from cases.enums import CaseStatus, ReferralStatus
    from cases.referrals import overdue

    if case.status is CaseStatus.CLOSED:
        return None
    needs = (referral.status is ReferralStatus.DECLINED or overdue(referral, now) is not None
             or (referral.status is ReferralStatus.COMPLETED
                 and case.status is CaseStatus.IN_ASSISTANCE))
    return (case.assigned_to_id or referral.sent_by_id) if needs else None


def referral_row_payload(referral, case, now=None) -> dict[str, Any]:
    """A referral as the desk's referral views list it: with its case and who must act."""
    from sqlalchemy.orm import object_session

    from cases.models import Agency
    from console.db import utcnow

    now = now or utcnow()
    session = object_session(referral)
    agency = session.get(Agency, referral.agency_id) if session is not None else None
    return {**referral_payload(referral, now), "case_id": case.id, "case_ref": case.ref,
            "agency_name_th": agency.name_th if agency else "",
            "agency_name_en": agency.name_en if agency else "",
            "case_status": case.status.value, "sent_by_id": referral.sent_by_id,
            "assigned_to_id": case.assigned_to_id,
            "waiting_for_id": waiting_for(referral, case, now)}


def referral_changed(*, session: Session, referral, case, now=None) -> dict:
    """A referral was sent, answered, reminded or withdrawn: the case desks of its province
    hear (their 'sent by me', 'by my team' and 'waiting for action' views; no personal data)."""
    return realtime.publish(session, REFERRAL_CHANGED,
                            referral_row_payload(referral, case, now),
                            case_rooms(case.province_code))


CASE_HANDOVER = "case.handover"


def handover_payload(handover, case: Case) -> dict[str, Any]:
    """A hand-over between two case workers as the desk lists it ("offered to me", "offered by
    me"): the case's number, category and masked summary, who offers to whom, the note."""
    from sqlalchemy.orm import object_session

    from console.models import User
    from console.privacy import mask_national_ids

    session = object_session(handover)

    def name(user_id):
        user = session.get(User, user_id) if session is not None and user_id else None
        return user.display_name if user else ""

    return {
        "id": handover.id, "case_id": case.id, "case_ref": case.ref,
        "category": case.category, "summary": mask_national_ids(case.summary),
        "province_code": case.province_code, "status": handover.status.value,
        "from_user_id": handover.from_user_id, "to_user_id": handover.to_user_id,
        "offered_by_id": handover.offered_by_id, "from_name": name(handover.from_user_id),
        "to_name": name(handover.to_user_id), "offered_by_name": name(handover.offered_by_id),
        "note": mask_national_ids(handover.note),
        "answer_reason": mask_national_ids(handover.answer_reason),
        "offered_at": handover.offered_at.isoformat(),
        "answered_at": handover.answered_at.isoformat() if handover.answered_at else None,
        "version": handover.version,
    }


def case_handover(*, session: Session, case: Case, handover) -> dict:
    """A hand-over was offered, accepted, declined or withdrawn: the case desks of the case's
    province hear (the receiver's "offered to me" list, both workers' badges)."""
    return realtime.publish(session, CASE_HANDOVER, handover_payload(handover, case),
                            case_rooms(case.province_code))
