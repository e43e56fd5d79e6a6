"""The agency directory as intake and referral read it: which listed agencies serve a problem
(an intake category, optionally a target group) where the person is (province, district).
Kept on the admin pages (admin/); an agency with no districts serves its whole province, one
with no province the whole country, one with no services is not matched by service."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from cases.models import Agency


def agencies_serving(*, session: Session, category: str, province_code: str | None,
                     district_code: str | None = None, target_group: str | None = None
                     ) -> list[Agency]:
    """Listed agencies for this category in this area: local ones first (district, then
    province), national ones last, each group by Thai name."""
    stmt = select(Agency).where(Agency.active.is_(True))
    if province_code:
        stmt = stmt.where(Agency.province_code.is_(None)
                          | (Agency.province_code == province_code))
    else:
        stmt = stmt.where(Agency.province_code.is_(None))
    found = []
    for agency in session.scalars(stmt):
        if category not in (agency.services or []):
            continue
        if target_group and agency.target_groups and target_group not in agency.target_groups:
            continue
        if agency.districts and district_code not in agency.districts:
            continue
        rank = 2 if agency.province_code is None else (0 if agency.districts else 1)
        found.append((rank, agency.name_th, agency.id, agency))
    return [a for *_, a in sorted(found, key=lambda t: t[:3])]
