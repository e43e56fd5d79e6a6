"""The case desk's referral views: 'sent by me', 'by my team' (the case workers of the user's
province: the code has no smaller team of case workers), 'waiting for action' (by the current
user), and, for supervisors, how long referrals spent in each status, per agency."""

from __future__ import annotations

import math
from collections import defaultdict
from datetime import datetime

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session, selectinload

from cases.enums import CaseStatus, ReferralStatus
from cases.events import waiting_for
from cases.models import Agency, Case, Referral
from console.enums import Role
from console.errors import N_, Forbidden
from console.models import User

VIEWS = ("sent_by_me", "team", "waiting")
SUPERVISOR_ROLES = frozenset({Role.SUPERVISOR, Role.ADMIN})


def list_referrals(*, session: Session, user: User, view: str, now: datetime,
                   limit: int = 200) -> list[tuple[Referral, Case]]:
    """Referrals of one view, newest first, within the user's province (national: all)."""
    stmt = (select(Referral, Case).join(Case, Case.id == Referral.case_id)
            .options(selectinload(Referral.events)))
    if not user.is_national:
        stmt = stmt.where(Case.province_code == user.province_code)
    if view == "sent_by_me":
        stmt = stmt.where(Referral.sent_by_id == user.id)
    elif view == "waiting":
        mine = or_(Case.assigned_to_id == user.id,
                   and_(Case.assigned_to_id.is_(None), Referral.sent_by_id == user.id))
        late = or_(
            and_(Referral.status == ReferralStatus.SENT, Referral.ack_due_at < now),
            and_(Referral.status.in_((ReferralStatus.SENT, ReferralStatus.ACKNOWLEDGED)),
                 Referral.accept_due_at < now),
            and_(Referral.status == ReferralStatus.ACCEPTED, Referral.outcome_due_at < now),
            Referral.status == ReferralStatus.DECLINED,
            and_(Referral.status == ReferralStatus.COMPLETED,
                 Case.status == CaseStatus.IN_ASSISTANCE))
        stmt = stmt.where(mine, late, Case.status != CaseStatus.CLOSED)
    rows = session.execute(stmt.order_by(Referral.sent_at.desc(), Referral.id.desc())
                           .limit(limit)).all()
    found = [(r, c) for r, c in rows]
    if view == "waiting":  # NOTE: the SQL narrows; the one rule (cases/events.py) decides.
        found = [(r, c) for r, c in found if waiting_for(r, c, now) == user.id]
    return found


def _quantile(values: list[float], q: float) -> float | None:
    """The q-quantile by nearest rank (median 0.5, p90 0.9), None without values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = math.ceil(round(q * len(ordered), 9))
    return ordered[max(0, min(len(ordered), rank) - 1)]


def referral_times(*, session: Session, user: User, since: datetime,
                   until: datetime) -> list[dict]:
    """Per agency, for referrals sent in the period: how many, and the median and p90 hours
    until acknowledged (from sent), until accepted or declined (from acknowledged, else sent)
    and until the outcome (from accepted). Supervisors and admins only."""
    if user.role not in SUPERVISOR_ROLES:
        raise Forbidden(N_("Only supervisors see the referral times of agencies."))
    stmt = (select(Referral).join(Case, Case.id == Referral.case_id)
            .where(Referral.sent_at >= since, Referral.sent_at < until))
    if not user.is_national:
        stmt = stmt.where(Case.province_code == user.province_code)
    spans: dict[int, dict[str, list[float]]] = defaultdict(
        lambda: {"ack": [], "accept": [], "outcome": [], "count": []})

    def hours(a, b):
        return (b - a).total_seconds() / 3600

    for r in session.scalars(stmt):
        row = spans[r.agency_id]
        row["count"].append(1)
        if r.acknowledged_at:
            row["ack"].append(hours(r.sent_at, r.acknowledged_at))
        answered = r.accepted_at or r.declined_at
        if answered:
            row["accept"].append(hours(r.acknowledged_at or r.sent_at, answered))
        if r.completed_at and r.accepted_at:
            row["outcome"].append(hours(r.accepted_at, r.completed_at))
    agencies = {a.id: a for a in session.scalars(select(Agency).where(
        Agency.id.in_(list(spans))))} if spans else {}
    out = []
    for agency_id, row in spans.items():
        agency = agencies.get(agency_id)
        item = {"agency_id": agency_id, "name_th": agency.name_th if agency else "",
                "name_en": agency.name_en if agency else "", "count": len(row["count"])}
        for key in ("ack", "accept", "outcome"):
            item[key] = {"n": len(row[key]), "median_hours": _quantile(row[key], 0.5),
                         "p90_hours": _quantile(row[key], 0.9)}
        out.append(item)
    return sorted(out, key=lambda i: (-i["count"], i["name_th"]))
