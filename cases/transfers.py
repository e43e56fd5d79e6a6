"""Transfer of a case between provinces: a case worker or supervisor proposes it with a reason
(the case shows "transfer pending"); a case worker or supervisor of the receiving province
accepts (the case moves there, unassigned, into that province's queue) or declines with a reason
(the case stays); the proposing side can withdraw it before an answer. On acceptance the open
plan actions and follow-ups held by the old province's workers lose their owner (listed on the
timeline) so the new province gives them out, and a worker there sets the case's district and
subdistrict. Both provinces' case desks (and an old-province user with the case page open) hear
of each step after commit; two people answering at once: one wins, the other is told."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from cases import events
from cases.enums import TRANSFER_TRANSITIONS, ActionStatus, TransferStatus
from cases.models import Case, CaseTimelineEntry, CaseTransfer, FollowUp, PlanAction
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
    if transfer.status is TransferStatus.WITHDRAWN:
        return Conflict(N_("This transfer was withdrawn by the province that proposed it; the "
                           "case stays there."))
    return Conflict(N_("This transfer was already declined; the case stays where it was."))


_RACE = N_("Someone else answered this transfer at the same moment. Reload the page to see "
           "where it stands.")


def _pending(session: Session, transfer_id: int, by: User, *, to: TransferStatus,
             version: int | None, receiving: bool, refused: str,
             also: Callable[[CaseTransfer], None] | None = None) -> CaseTransfer:
    """A transfer this user may move to `to` now, checked in this order: a case worker or
    supervisor (else Forbidden with `refused`); the transfer addressed to (`receiving`) or sent
    from the user's province (else unknown to them); `also`, the step's own check; the version
    the screen saw, while it is pending; a move its status allows (else what answered it)."""
    if by.role not in TRANSFER_ROLES:
        raise Forbidden(refused)
    transfer = session.get(CaseTransfer, transfer_id)
    if transfer is None or not by.can_see_province(
            transfer.to_province if receiving else transfer.from_province):
        raise UnknownTransfer()
    if also is not None:
        also(transfer)
    if version is not None and version != transfer.version and \
            transfer.status is TransferStatus.PENDING:
        raise Conflict(_RACE)
    if to not in TRANSFER_TRANSITIONS[transfer.status]:
        raise _answered_message(transfer)
    return transfer


def _flush_answer(session: Session) -> None:
    """Write an answer or a withdrawal; one that came first in between makes it a Conflict."""
    try:
        session.flush()
    except StaleDataError:
        raise Conflict(_RACE) from None


def answer(*, session: Session, transfer_id: int, accept: bool, reason: str, by: User,
           version: int | None = None) -> CaseTransfer:
    """Accept (the case moves, unassigned, into the receiving province's queue) or decline with
    a reason (the case stays). Two answering at once: one wins, the other is told."""
    to = TransferStatus.ACCEPTED if accept else TransferStatus.DECLINED
    transfer = _pending(session, transfer_id, by, to=to, version=version, receiving=True,
                        refused=N_("Only case workers and supervisors can answer a transfer."))
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
        from cases import handovers

        handovers.cancel_pending(session=session, case=case, by=by)
        case.province_code = transfer.to_province
        # NOTE: the old district and subdistrict belong to the old province; the receiving
        # province's worker sets the new ones. The case waits in its queue, unassigned.
        case.district_code = case.subdistrict_code = None
        case.assigned_to_id = None
        detail["previous_worker_id"] = before_worker
        freed = _unassign_old_province(session, case, transfer.from_province)
    case.timeline.append(CaseTimelineEntry(at=now, actor_id=by.id, source="case",
                                           kind=f"transfer_{to.value}", note=reason,
                                           detail=detail))
    if accept and (freed["actions"] or freed["follow_ups"]):
        detail.update(unassigned_actions=[a for a, _t in freed["actions"]],
                      unassigned_follow_ups=[f for f, _t in freed["follow_ups"]])
        titles = [t for _i, t in freed["actions"] + freed["follow_ups"]]
        case.timeline.append(CaseTimelineEntry(
            at=now, actor_id=by.id, source="case", kind="transfer_unassigned",
            note="; ".join(titles),
            detail={"actions": [a for a, _t in freed["actions"]],
                    "follow_ups": [f for f, _t in freed["follow_ups"]]}))
    record_audit(session=session, actor_id=by.id, action=f"case.transfer_{to.value}",
                 entity="case", entity_id=case.id, detail=detail, at=now)
    _flush_answer(session)
    events.case_updated(session=session, case=case)
    events.case_transfer(session=session, case=case, transfer=transfer)
    return transfer


def _unassign_old_province(session: Session, case: Case, old_province: str
                           ) -> dict[str, list[tuple[int, str]]]:
    """Open plan actions and follow-ups held by workers of the old province lose their owner
    (the new province gives them out); returns (id, title) of each, for the timeline."""
    old_users = select(User.id).where(User.province_code == old_province)
    actions = list(session.scalars(select(PlanAction).where(
        PlanAction.case_id == case.id, PlanAction.owner_user_id.in_(old_users),
        PlanAction.status.in_((ActionStatus.PLANNED, ActionStatus.IN_PROGRESS)))
        .order_by(PlanAction.id)))
    follow_ups = list(session.scalars(select(FollowUp).where(
        FollowUp.case_id == case.id, FollowUp.assigned_to_id.in_(old_users),
        FollowUp.done_at.is_(None)).order_by(FollowUp.id)))
    for action in actions:
        action.owner_user_id = None
    for follow_up in follow_ups:
        follow_up.assigned_to_id = None
    return {"actions": [(a.id, a.title) for a in actions],
            "follow_ups": [(f.id, f.purpose or f.due_on.isoformat()) for f in follow_ups]}


def withdraw(*, session: Session, transfer_id: int, by: User,
             version: int | None = None) -> CaseTransfer:
    """The proposing side takes a pending transfer back (whoever proposed it, or a supervisor
    of that province); the case stays where it is."""
    def proposer_or_supervisor(transfer: CaseTransfer) -> None:
        if by.id != transfer.proposed_by_id and by.role is not Role.SUPERVISOR:
            raise Forbidden(N_("Only whoever proposed the transfer or a supervisor can "
                               "withdraw it."))

    transfer = _pending(session, transfer_id, by, to=TransferStatus.WITHDRAWN, version=version,
                        receiving=False, also=proposer_or_supervisor,
                        refused=N_("Only case workers and supervisors can transfer cases."))
    case = session.get(Case, transfer.case_id)
    now = utcnow()
    transfer.status = TransferStatus.WITHDRAWN
    transfer.answered_at, transfer.answered_by_id = now, by.id
    case.transfer_to_province = None
    detail = {"transfer_id": transfer.id, "from_province": transfer.from_province,
              "to_province": transfer.to_province}
    case.timeline.append(CaseTimelineEntry(at=now, actor_id=by.id, source="case",
                                           kind="transfer_withdrawn", note="", detail=detail))
    record_audit(session=session, actor_id=by.id, action="case.transfer_withdrawn",
                 entity="case", entity_id=case.id, detail=detail, at=now)
    _flush_answer(session)
    events.case_updated(session=session, case=case)
    events.case_transfer(session=session, case=case, transfer=transfer)
    return transfer


def set_place(*, session: Session, case_id: int, district_code: str | None,
              subdistrict_code: str | None, by: User, version: int | None = None) -> Case:
    """Set the case's district and subdistrict (after a transfer, the receiving province's
    worker does): codes of the case's province in the gazetteer, the subdistrict within the
    district; blank clears both."""
    from geo import gazetteer

    if by.role not in TRANSFER_ROLES:
        raise Forbidden(N_("Only case workers and supervisors can change the case's place."))
    case = _open_for_work(session, case_id, by, version=version)
    errors = {}
    if district_code is not None and district_code not in {
            p.code for p in gazetteer.districts(case.province_code)}:
        errors["district_code"] = (N_("Choose a district of the case's province."), {})
    if subdistrict_code is not None and (district_code is None or subdistrict_code not in {
            p.code for p in gazetteer.subdistricts(district_code)}):
        errors["subdistrict_code"] = (N_("Choose a subdistrict of the chosen district."), {})
    if errors:
        raise ValidationFailed(errors)
    before = {"district": case.district_code, "subdistrict": case.subdistrict_code}
    if (before["district"], before["subdistrict"]) == (district_code, subdistrict_code):
        return case
    case.district_code, case.subdistrict_code = district_code, subdistrict_code
    now = utcnow()
    after = {"district": district_code, "subdistrict": subdistrict_code}
    from dispatch.events import place_names

    place = place_names(case.province_code, district_code, subdistrict_code)
    case.timeline.append(CaseTimelineEntry(
        at=now, actor_id=by.id, source="case", kind="place_set",
        note=", ".join(n for n in (place["subdistrict_th"], place["district_th"]) if n),
        detail={"before": before, "after": after}))
    record_audit(session=session, actor_id=by.id, action="case.place_set", entity="case",
                 entity_id=case.id, detail={"before": before, "after": after}, at=now)
    session.flush()
    events.case_updated(session=session, case=case)
    return case


def history(*, session: Session, case_id: int, user: User) -> list[CaseTransfer]:
    """The case's transfers, newest first (for its page)."""
    case = _case_for_work(session, case_id, user)
    return list(session.scalars(select(CaseTransfer).where(CaseTransfer.case_id == case.id)
                                .order_by(CaseTransfer.id.desc())))
