"""Hand-over of a case between case workers of its province, with the receiver's acceptance:
the case's worker (or a supervisor) offers it to another case worker with a note (the case shows
"hand-over pending" to both); the receiver accepts (they become the case's worker) or declines
with a reason; the offerer (or a supervisor) can withdraw it. Every step is on the timeline, in
the audit log and heard live on the province's case desk after commit; two answers at once: one
wins, the other is told. A supervisor still gives a case directly (service.assign)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from cases import events
from cases.enums import HANDOVER_TRANSITIONS, HandoverStatus
from cases.models import Case, CaseHandover, CaseTimelineEntry
from cases.service import _open_for_work
from console.db import utcnow
from console.enums import Role
from console.errors import N_, Conflict, DomainError, Forbidden, ValidationFailed
from console.models import User
from console.service import record_audit

NOTE_MAX = 2000


class UnknownHandover(DomainError):
    """A hand-over that does not exist or that the user may not see."""

    status = 404

    def __init__(self) -> None:
        super().__init__(N_("This hand-over is not waiting for you. Reload the page."))


def _raced() -> Conflict:
    return Conflict(N_("Someone else answered this hand-over at the same moment. Reload the "
                       "page to see where it stands."))


def _final_message(handover: CaseHandover) -> Conflict:
    return Conflict({
        HandoverStatus.ACCEPTED: N_("This hand-over was already accepted."),
        HandoverStatus.DECLINED: N_("This hand-over was already declined; the case stays with "
                                    "its worker."),
        HandoverStatus.WITHDRAWN: N_("This hand-over was withdrawn by whoever offered it."),
    }[handover.status])


def pending_for(session: Session, case: Case) -> CaseHandover | None:
    """The case's hand-over waiting for an answer, if any."""
    return session.scalar(select(CaseHandover).where(
        CaseHandover.case_id == case.id, CaseHandover.status == HandoverStatus.PENDING))


def _receiver(session: Session, case: Case, user_id) -> User:
    worker = session.get(User, user_id) if isinstance(user_id, int) else None
    if worker is None or not worker.active or worker.role is not Role.CASE_WORKER \
            or worker.province_code != case.province_code:
        raise ValidationFailed({"to_user_id": (
            N_("Choose a case worker of this case's province."), {})})
    return worker


def offer(*, session: Session, case_id: int, to_user_id: int, note: str, by: User,
          version: int | None = None) -> CaseHandover:
    """Offer a case to another case worker of its province (its worker, or a supervisor)."""
    if by.role not in (Role.CASE_WORKER, Role.SUPERVISOR):
        raise Forbidden(N_("Only case workers and supervisors can hand over a case."))
    case = _open_for_work(session, case_id, by, version=version)
    if by.role is Role.CASE_WORKER and case.assigned_to_id != by.id:
        raise Forbidden(N_("Only the case's worker or a supervisor can hand over this case."))
    if case.transfer_to_province is not None:
        raise Conflict(N_("This case waits for another province to answer its transfer: "
                          "hand it over after that answer."))
    worker = _receiver(session, case, to_user_id)
    if worker.id == case.assigned_to_id:
        raise ValidationFailed({"to_user_id": (
            N_("This worker already has the case: choose another worker."), {})})
    note = (note or "").strip()
    if not note:
        raise ValidationFailed({"note": (
            N_("Please write a note for the receiving worker."), {})})
    if len(note) > NOTE_MAX:
        raise ValidationFailed({"note": (N_("Please keep the note under %(n)s characters."),
                                         {"n": NOTE_MAX})})
    if case.handover_to_id is not None or pending_for(session, case) is not None:
        raise Conflict(N_("A hand-over of this case is already waiting for an answer."))
    now = utcnow()
    handover = CaseHandover(case_id=case.id, from_user_id=case.assigned_to_id,
                            to_user_id=worker.id, status=HandoverStatus.PENDING, note=note,
                            offered_at=now, offered_by_id=by.id, answer_reason="")
    session.add(handover)
    case.handover_to_id = worker.id
    detail = {"from": case.assigned_to_id, "to": worker.id}
    case.timeline.append(CaseTimelineEntry(at=now, actor_id=by.id, source="case",
                                           kind="handover_offered",
                                           note=f"{worker.display_name}: {note}",
                                           detail=detail))
    session.flush()
    record_audit(session=session, actor_id=by.id, action="case.handover_offered",
                 entity="case", entity_id=case.id,
                 detail={**detail, "handover_id": handover.id}, at=now)
    events.case_updated(session=session, case=case)
    events.case_handover(session=session, case=case, handover=handover)
    return handover


def _step(session: Session, handover_id: int, by: User, to: HandoverStatus,
          version: int | None) -> tuple[CaseHandover, Case]:
    handover = session.get(CaseHandover, handover_id)
    case = session.get(Case, handover.case_id) if handover is not None else None
    if case is None or not by.can_see_province(case.province_code) \
            or by.role not in (Role.CASE_WORKER, Role.SUPERVISOR):
        raise UnknownHandover()
    if to in (HandoverStatus.ACCEPTED, HandoverStatus.DECLINED):
        if by.id != handover.to_user_id:
            if handover.status is HandoverStatus.PENDING:
                raise Forbidden(N_("Only the worker the case was offered to can answer."))
            raise UnknownHandover()
    elif by.id != handover.offered_by_id and by.role is not Role.SUPERVISOR:
        raise Forbidden(N_("Only whoever offered the case or a supervisor can withdraw it."))
    if version is not None and version != handover.version \
            and handover.status is HandoverStatus.PENDING:
        raise _raced()
    if to not in HANDOVER_TRANSITIONS[handover.status]:
        raise _final_message(handover)
    return handover, case


def answer(*, session: Session, handover_id: int, accept: bool, reason: str, by: User,
           version: int | None = None) -> CaseHandover:
    """The receiver accepts (they become the case's worker) or declines with a reason."""
    to = HandoverStatus.ACCEPTED if accept else HandoverStatus.DECLINED
    handover, case = _step(session, handover_id, by, to, version)
    reason = (reason or "").strip()
    if not accept and not reason:
        raise ValidationFailed({"reason": (N_("Please give the reason for declining."), {})})
    if accept and case.assigned_to_id != handover.from_user_id:
        raise Conflict(N_("The case was given to another worker while it waited: ask whoever "
                          "offered it to offer it again."))
    return _finish(session, handover, case, to, reason, by)


def withdraw(*, session: Session, handover_id: int, by: User,
             version: int | None = None) -> CaseHandover:
    """Whoever offered the case (or a supervisor) takes the offer back before an answer."""
    handover, case = _step(session, handover_id, by, HandoverStatus.WITHDRAWN, version)
    return _finish(session, handover, case, HandoverStatus.WITHDRAWN, "", by)


def cancel_pending(*, session: Session, case: Case, by: User) -> None:
    """A pending hand-over ends without an answer because the case moved on (a supervisor gave
    it directly, or it left the province): withdrawn, noted on the timeline."""
    handover = pending_for(session, case)
    if handover is not None:
        _finish(session, handover, case, HandoverStatus.WITHDRAWN, "", by)


def _finish(session: Session, handover: CaseHandover, case: Case, to: HandoverStatus,
            reason: str, by: User) -> CaseHandover:
    now = utcnow()
    handover.status = to
    handover.answered_at, handover.answered_by_id, handover.answer_reason = now, by.id, reason
    case.handover_to_id = None
    detail = {"handover_id": handover.id, "from": handover.from_user_id,
              "to": handover.to_user_id}
    if to is HandoverStatus.ACCEPTED:
        case.assigned_to_id = handover.to_user_id
    case.timeline.append(CaseTimelineEntry(at=now, actor_id=by.id, source="case",
                                           kind=f"handover_{to.value}", note=reason,
                                           detail=detail))
    record_audit(session=session, actor_id=by.id, action=f"case.handover_{to.value}",
                 entity="case", entity_id=case.id, detail=detail, at=now)
    try:
        session.flush()
    except StaleDataError:
        raise _raced() from None
    events.case_updated(session=session, case=case)
    events.case_handover(session=session, case=case, handover=handover)
    return handover


def waiting(*, session: Session, user: User) -> dict[str, list[tuple[CaseHandover, Case]]]:
    """Pending hand-overs offered to the user, and those the user offered (for the desk)."""
    if user.role not in (Role.CASE_WORKER, Role.SUPERVISOR):
        return {"to_me": [], "by_me": []}
    stmt = (select(CaseHandover, Case).join(Case, Case.id == CaseHandover.case_id)
            .where(CaseHandover.status == HandoverStatus.PENDING)
            .order_by(CaseHandover.offered_at))
    if not user.is_national:
        stmt = stmt.where(Case.province_code == user.province_code)
    to_me = [(h, c) for h, c in session.execute(stmt.where(CaseHandover.to_user_id == user.id))]
    by_me = [(h, c) for h, c in session.execute(
        stmt.where(CaseHandover.offered_by_id == user.id))]
    return {"to_me": to_me, "by_me": by_me}


def history(*, session: Session, case: Case) -> list[CaseHandover]:
    """The case's hand-overs, newest first (for its page; access already checked)."""
    return list(session.scalars(select(CaseHandover).where(CaseHandover.case_id == case.id)
                                .order_by(CaseHandover.id.desc())))
