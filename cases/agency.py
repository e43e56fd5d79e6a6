"""Agencies that use the console as users: an agency user (role `agency`, tied to one agency of
the directory by the administrators' users desk) sees the referrals sent to that agency, and
only what the client's consent let each referral carry (the data frozen into it when sent). They
acknowledge, accept, decline or report the outcome from their list through the same function as
the link page (cases/referrals.answer): the same rules, stamps, timeline, audit and live updates.
Every list read and every open of a referral is in the access log; an open is also counted on
the referral like an open of its link."""

from __future__ import annotations

from typing import Any

from sqlalchemy import case as sql_case
from sqlalchemy import event, inspect, select
from sqlalchemy.orm import Session

from cases import events, referrals
from cases.enums import REFERRAL_TRANSITIONS, ReferralStatus
from cases.models import Agency, CaseTimelineEntry, Referral, ReferralEvent
from console.access_log import record_read
from console.db import utcnow
from console.enums import Role
from console.errors import N_, Forbidden, NotFound
from console.models import User
from dispatch.events import place_names

OPEN = (ReferralStatus.SENT, ReferralStatus.ACKNOWLEDGED, ReferralStatus.ACCEPTED)
# What of the frozen data an agency user sees beside the case number (what consent allowed).
SHARED_FIELDS = ("summary", "needs", "client_name", "national_id", "age_years", "phone",
                 "address_text", "health")
# Timeline lines written from outside the case page: pushed to the case page live.
OUTSIDE_STEPS = frozenset({"referral_acknowledged", "referral_accepted", "referral_declined",
                           "referral_completed", "follow_up_done", "follow_up_volunteer"})


def _agency_id(user: User) -> int:
    if user.role is not Role.AGENCY or user.agency_id is None:
        raise Forbidden(N_("Your role cannot use this desk."))
    return user.agency_id


def agency_of(*, session: Session, user: User) -> Agency:
    """The agency this user answers for."""
    agency = session.get(Agency, _agency_id(user))
    if agency is None:
        raise Forbidden(N_("Your role cannot use this desk."))
    return agency


def list_referrals(*, session: Session, user: User, limit: int = 200) -> list[Referral]:
    """The referrals sent to the user's agency (withdrawn ones are gone), open ones first,
    newest first; the read is written to the access log by the caller."""
    agency_id = _agency_id(user)
    waiting = sql_case((Referral.status.in_(OPEN), 0), else_=1)
    stmt = (select(Referral).where(Referral.agency_id == agency_id,
                                   Referral.status != ReferralStatus.REVOKED)
            .order_by(waiting, Referral.sent_at.desc(), Referral.id.desc()).limit(limit))
    return list(session.scalars(stmt))


def referral_for(*, session: Session, user: User, referral_id: int) -> Referral:
    """One referral of the user's agency; any other (or a withdrawn one) does not exist here."""
    agency_id = _agency_id(user)
    referral = session.get(Referral, referral_id)
    if referral is None or referral.agency_id != agency_id \
            or referral.status is ReferralStatus.REVOKED:
        raise NotFound("referral")
    return referral


def open_referral(*, session: Session, user: User, referral_id: int, ip: str | None
                  ) -> Referral:
    """An agency user opens one referral: counted with the link's opens, in the access log."""
    referral = referral_for(session=session, user=user, referral_id=referral_id)
    referral.events.append(ReferralEvent(at=utcnow(), kind="opened", ip=(ip or "")[:45],
                                         note=f"user:{user.id}"))
    record_read(session=session, actor_id=user.id, what="agency_referral", entity="case",
                entity_id=referral.case_id, subjects={"referral": [referral.id],
                                                      "case": [referral.case_id]},
                detail={"agency_id": referral.agency_id}, ip=ip)
    return referral


def answer(*, session: Session, user: User, referral_id: int, to: ReferralStatus, note: str,
           version: int | None, settings: referrals.ReferralSettings, ip: str | None
           ) -> Referral:
    """The agency user's step on one referral: cases/referrals.answer, their name as the
    responder's."""
    referral = referral_for(session=session, user=user, referral_id=referral_id)
    return referrals.answer(session=session, referral=referral, to=to, name=user.display_name,
                            note=note, settings=settings, ip=ip, version=version, by=user)


def next_steps(referral: Referral) -> list[str]:
    """The steps the agency may take now, in the order the page offers them."""
    allowed = REFERRAL_TRANSITIONS[referral.status]
    return [s.value for s in (ReferralStatus.ACKNOWLEDGED, ReferralStatus.ACCEPTED,
                              ReferralStatus.DECLINED, ReferralStatus.COMPLETED)
            if s in allowed and s in referrals.STEP_STAMP]


def referral_row(referral: Referral, *, with_shared: bool = False) -> dict[str, Any]:
    """A referral as the agency's list shows it; `with_shared` adds what consent allowed."""
    shared = referral.shared or {}

    def iso(value):
        return value.isoformat() if value else None

    row = {
        "id": referral.id, "version": referral.version, "status": referral.status.value,
        "service": referral.service, "case_ref": shared.get("case_ref"),
        "category": shared.get("category"),
        "place": place_names(shared.get("province_code"), shared.get("district_code"), None),
        "sent_at": iso(referral.sent_at), "ack_due_at": iso(referral.ack_due_at),
        "accept_due_at": iso(referral.accept_due_at),
        "overdue": referrals.overdue(referral, utcnow()),
        "responder_name": referral.responder_name, "decline_reason": referral.decline_reason,
        "outcome": referral.outcome, "next_steps": next_steps(referral),
    }
    if with_shared:
        row["shared"] = {k: shared[k] for k in SHARED_FIELDS if shared.get(k) not in (None, "")}
    return row


@event.listens_for(Session, "after_flush")
def _announce(session: Session, _context) -> None:
    """Every referral sent or changed (link page, agency user, desk, timers) reaches its agency's
    users live; outside steps reach the case page's timeline live."""
    for obj in (*session.new, *session.dirty):
        if isinstance(obj, Referral):
            if obj in session.new or inspect(obj).attrs.status.history.has_changes():
                events.agency_referral(session=session, referral=obj)
        elif isinstance(obj, CaseTimelineEntry) and obj in session.new \
                and obj.kind in OUTSIDE_STEPS:
            from cases.models import Case

            case = session.get(Case, obj.case_id)
            if case is not None:
                events.timeline_added(session=session, case=case, entry=obj)
