"""Transfer of a case between provinces: a case worker or supervisor proposes it with a reason
(the case shows "transfer pending"); a case worker or supervisor of the receiving province
accepts (the case moves there, unassigned, into that province's queue) or declines with a reason
(the case stays). Both provinces' case desks hear of each step after commit; two people
answering at once: one wins, the other is told."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from cases import events
from cases.enums import TRANSFER_TRANSITIONS, TransferStatus
from cases.models import Case, CaseTimelineEntry, CaseTransfer
from cases.service import _case_for_work, _open_for_work
from console.db import utcnow
from console.enums import Role
from console.errors import N_, Conflict, DomainError, Forbidden, ValidationFailed
from console.models import User
from console.service import record_audit

TRANSFER_ROLES = frozenset({Role.CASE_WORKER, Role.SUPERVISOR})


class UnknownTransfer(DomainError):
    """A transfer that does not exist or is not addressed to the user's province."""

    status = 404

    def __init__(self) -> None:
        super().__init__(N_("This transfer is not waiting for your province. Reload the page."))


def pending_for(session: Session, case: Case) -> CaseTransfer | None:
    """The case's transfer waiting for an answer, if any."""
    return session.scalar(select(CaseTransfer).where(
        CaseTransfer.case_id == case.id, CaseTransfer.status == TransferStatus.PENDING))


def propose(*, session: Session, case_id: int, to_province: str, reason: str, by: User,
            version: int | None = None) -> CaseTransfer:
    """Propose moving a case to another province (the client moved, the family lives there)."""
    if by.role not in TRANSFER_ROLES:
        raise Forbidden(N_("Only case workers and supervisors can transfer cases."))
    case = _open_for_work(session, case_id, by, version=version)
    if to_province == case.province_code:
        raise ValidationFailed({"to_province": (
            N_("The case is already in this province: choose another province."), {})})
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed({"reason": (N_("Please give the reason for this step."), {})})
    if case.transfer_to_province is not None or pending_for(session, case) is not None:
        raise Conflict(N_("A transfer of this case is already waiting for an answer."))
    now = utcnow()
    transfer = CaseTransfer(case_id=case.id, from_province=case.province_code,
                            to_province=to_province, status=TransferStatus.PENDING,
                            reason=reason, proposed_at=now, proposed_by_id=by.id)
    session.add(transfer)
    case.transfer_to_province = to_province
    case.timeline.append(CaseTimelineEntry(at=now, actor_id=by.id, source="case",
                                           kind="transfer_proposed", note=reason,
                                           detail={"from_province": case.province_code,
                                                   "to_province": to_province}))
    session.flush()
    record_audit(session=session, actor_id=by.id, action="case.transfer_proposed",
                 entity="case", entity_id=case.id,
                 detail={"transfer_id": transfer.id, "to": to_province}, at=now)
    events.case_updated(session=session, case=case)
    events.case_transfer(session=session, case=case, transfer=transfer)
    return transfer


def incoming(*, session: Session, user: User) -> list[tuple[CaseTransfer, Case]]:
    """Transfers waiting for the user's province to answer (every province: national users)."""
    if user.role not in TRANSFER_ROLES | {Role.ADMIN}:
        return []
    stmt = (select(CaseTransfer, Case).join(Case, Case.id == CaseTransfer.case_id)
            .where(CaseTransfer.status == TransferStatus.PENDING)
            .order_by(CaseTransfer.proposed_at))
    if not user.is_national:
        stmt = stmt.where(CaseTransfer.to_province == user.province_code)
    return [(t, c) for t, c in session.execute(stmt)]


def _answered_message(transfer: CaseTransfer) -> Conflict:
    if transfer.status is TransferStatus.ACCEPTED:
        return Conflict(N_("This transfer was already accepted; the case is now in the "
                           "receiving province's queue."))
    return Conflict(N_("This transfer was already declined; the case stays where it was."))


def answer(*, session: Session, transfer_id: int, accept: bool, reason: str, by: User,
           version: int | None = None) -> CaseTransfer:
    """Accept (the case moves, unassigned, into the receiving province's queue) or decline with
    a reason (the case stays). Two answering at once: one wins, the other is told."""
    if by.role not in TRANSFER_ROLES:
        raise Forbidden(N_("Only case workers and supervisors can answer a transfer."))
    transfer = session.get(CaseTransfer, transfer_id)
    if transfer is None or not by.can_see_province(transfer.to_province):
        raise UnknownTransfer()
    if version is not None and version != transfer.version and \
            transfer.status is TransferStatus.PENDING:
        raise Conflict(N_("Someone else answered this transfer at the same moment. Reload the "
                          "page to see where it stands."))
    to = TransferStatus.ACCEPTED if accept else TransferStatus.DECLINED
    if to not in TRANSFER_TRANSITIONS[transfer.status]:
        raise _answered_message(transfer)
    reason = (reason or "").strip()
    if not accept and not reason:
        raise ValidationFailed({"reason": (N_("Please give the reason for declining."), {})})
    case = session.get(Case, transfer.case_id)
    now = utcnow()
    transfer.status = to
    transfer.answered_at, transfer.answered_by_id, transfer.answer_reason = now, by.id, reason
    case.transfer_to_province = None
    detail = {"transfer_id": transfer.id, "from_province": transfer.from_province,
              "to_province": transfer.to_province}
    if accept:
        before_worker = case.assigned_to_id
        case.province_code = transfer.to_province
        # NOTE: the old district and subdistrict belong to the old province; the receiving
        # province's worker sets the new ones. The case waits in its queue, unassigned.
        case.district_code = case.subdistrict_code = None
        case.assigned_to_id = None
        detail["previous_worker_id"] = before_worker
    case.timeline.append(CaseTimelineEntry(at=now, actor_id=by.id, source="case",
                                           kind=f"transfer_{to.value}", note=reason,
                                           detail=detail))
    record_audit(session=session, actor_id=by.id, action=f"case.transfer_{to.value}",
                 entity="case", entity_id=case.id, detail=detail, at=now)
    try:
        session.flush()
    except StaleDataError:
        raise Conflict(N_("Someone else answered this transfer at the same moment. Reload the "
                          "page to see where it stands.")) from None
    events.case_updated(session=session, case=case)
    events.case_transfer(session=session, case=case, transfer=transfer)
    return transfer


def history(*, session: Session, case_id: int, user: User) -> list[CaseTransfer]:
    """The case's transfers, newest first (for its page)."""
    case = _case_for_work(session, case_id, user)
    return list(session.scalars(select(CaseTransfer).where(CaseTransfer.case_id == case.id)
                                .order_by(CaseTransfer.id.desc())))
