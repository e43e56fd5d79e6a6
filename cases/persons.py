"""Persons across cases: possible duplicates when a person is entered (the same national ID, or a
name that sounds the same in Thai with the same birth year or the same district), and the merge
of two persons that keeps both histories (the kept person gets the other's rows in every case;
the other stays as a tombstone saying into whom, by whom, when and why)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from cases import events
from cases.models import Case, CasePerson, CaseTimelineEntry, Person
from cases.phonetic import name_key, name_words
from cases.schemas import mask_thai_id
from console.db import BANGKOK, utcnow
from console.enums import Role
from console.errors import N_, Conflict, DomainError, Forbidden, ValidationFailed
from console.models import User
from console.service import record_audit

# Who may merge persons: the people who know them (an administrator does not).
MERGE_ROLES = frozenset({Role.CASE_WORKER, Role.SUPERVISOR})
CASE_ROLES = frozenset({Role.CASE_WORKER, Role.SUPERVISOR, Role.ADMIN})
# At most this many rows are read for one look-up (a very common name in a big province).
MAX_ROWS = 200


class UnknownPerson(DomainError):
    """A person that is not on record, or not within the user's province."""

    status = 404

    def __init__(self) -> None:
        super().__init__(N_("This person is not on record in your province. Reload the page "
                            "and choose again."))


@dataclass
class Probe:
    """What is known of the person being entered (or already on a case)."""

    full_name: str = ""
    national_id: str | None = None
    birth_date: date | None = None
    age_years: int | None = None
    province_code: str | None = None
    district_code: str | None = None
    # Persons that are this one already (not their own duplicates).
    person_ids: set[int] = field(default_factory=set)

    @classmethod
    def of(cls, row: CasePerson, case: Case) -> Probe:
        """A person already on a case; the case's place stands for a person without one."""
        return cls(full_name=row.full_name, national_id=row.national_id,
                   birth_date=row.birth_date, age_years=row.age_years,
                   province_code=row.province_code or case.province_code,
                   district_code=row.district_code or case.district_code,
                   person_ids={row.person_id} if row.person_id else set())


def _birth_reason(probe: Probe, row: CasePerson) -> str | None:
    if probe.birth_date and row.birth_date:
        if probe.birth_date == row.birth_date:
            return "same_birth_date"
        return "same_birth_year" if probe.birth_date.year == row.birth_date.year else None
    mine = probe.age_years if probe.birth_date is None else _age(probe.birth_date)
    theirs = row.age_years if row.birth_date is None else _age(row.birth_date)
    if mine is not None and theirs is not None and abs(mine - theirs) <= 1:
        return "similar_age"
    return None


def _age(born: date) -> int:
    today = utcnow().astimezone(BANGKOK).date()
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


def _area_reason(probe: Probe, row: CasePerson, case: Case) -> str | None:
    district = row.district_code or case.district_code
    province = row.province_code or case.province_code
    if probe.district_code and district == probe.district_code:
        return "same_district"
    if probe.province_code and province == probe.province_code:
        return "same_province"
    return None


def reasons_for(probe: Probe, row: CasePerson, case: Case, key: str | None) -> list[str]:
    """Why a person on record may be the one being entered (empty: not a candidate). The same
    national ID is enough; a name that sounds the same needs the same birth year (or an age
    within a year) or the same district too; two different national IDs are never the same
    person."""
    if probe.national_id and row.national_id:
        return ["same_national_id"] if probe.national_id == row.national_id else []
    if key is None or row.name_key != key:
        return []
    same_name = name_words(probe.full_name) == name_words(row.full_name)
    birth, area = _birth_reason(probe, row), _area_reason(probe, row, case)
    if birth is None and area != "same_district":
        return []
    return ["same_name" if same_name else "similar_name"] + [r for r in (birth, area) if r]


def find_duplicates(*, session: Session, user: User, probe: Probe) -> list[dict]:
    """Possible duplicates of a person, among the cases the user's province and role allow:
    one entry per person on record, with the reasons; the national ID masked."""
    if user.role not in CASE_ROLES:
        raise Forbidden(N_("Your role cannot see the people of cases."))
    key = name_key(probe.full_name)
    matches = []
    if probe.national_id:
        matches.append(CasePerson.national_id == probe.national_id)
    if key:
        matches.append(CasePerson.name_key == key)
    if not matches:
        return []
    # NOTE: both columns are indexed: this is a look-up, not a scan of every person. The order
    # is by an expression (id + 0) on purpose: ordered by the bare id under a LIMIT, PostgreSQL's
    # generic plan for the prepared statement walks the primary key backwards through every
    # person (70 ms at 100,000) instead of reading the few rows the indexes name (0.2 ms).
    stmt = (select(CasePerson, Case).join(Case, Case.id == CasePerson.case_id)
            .where(or_(*matches), CasePerson.person_id.is_not(None))
            .order_by((CasePerson.id + 0).desc()).limit(MAX_ROWS))
    if probe.person_ids:
        stmt = stmt.where(CasePerson.person_id.not_in(probe.person_ids))
    if not user.is_national:
        stmt = stmt.where(Case.province_code == user.province_code)
    found: dict[int, dict] = {}
    for row, case in session.execute(stmt):
        reasons = reasons_for(probe, row, case, key)
        if not reasons:
            continue
        entry = found.setdefault(row.person_id, {
            "person_id": row.person_id, "case_person_id": row.id, "full_name": row.full_name,
            "national_id_masked": mask_thai_id(row.national_id),
            "birth_year_be": row.birth_date.year + 543 if row.birth_date else None,
            "age_years": row.age_years, "province_code": row.province_code
            or case.province_code, "district_code": row.district_code or case.district_code,
            "reasons": reasons, "cases": []})
        entry["cases"].append({"id": case.id, "ref": case.ref, "status": case.status.value})
        if "same_national_id" in reasons and "same_national_id" not in entry["reasons"]:
            entry["reasons"] = reasons
    ranked = sorted(found.values(), key=lambda e: ("same_national_id" not in e["reasons"],
                                                    -len(e["reasons"]), -e["case_person_id"]))
    return ranked


def case_duplicates(*, session: Session, case: Case, user: User) -> dict[int, list[dict]]:
    """Possible duplicates of each identified person of a case, by their row's id."""
    return {row.id: found for row in case.people if row.person_id is not None
            for found in [find_duplicates(session=session, user=user,
                                          probe=Probe.of(row, case))] if found}


def _rows_and_cases(session: Session, person_id: int, by: User) -> tuple[Person,
                                                                          list[CasePerson]]:
    person = session.get(Person, person_id, with_for_update=True)
    if person is None:
        raise UnknownPerson()
    rows = list(session.scalars(select(CasePerson).where(CasePerson.person_id == person.id)
                                .order_by(CasePerson.id)))
    if person.merged_into_id is None and not rows:
        raise UnknownPerson()
    for row in rows:
        case = session.get(Case, row.case_id)
        if not by.can_see_province(case.province_code):
            raise UnknownPerson()  # NOTE: nothing about another province's person leaks.
    return person, rows


def merge(*, session: Session, keep_person_id: int, merge_person_id: int, reason: str,
          by: User) -> Person:
    """Merge a person into another: the kept person gets the other's rows in every case (the
    cases, households and referrals they are part of), the other stays as a tombstone. Every
    case concerned gets a timeline entry; the merge is audited. Refused when the two have
    different national IDs."""
    if by.role not in MERGE_ROLES:
        raise Forbidden(N_("Only case workers and supervisors can merge persons."))
    if keep_person_id == merge_person_id:
        raise ValidationFailed({"merge_person_id": (
            N_("A person cannot be merged with themselves: choose the other record."), {})})
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed({"reason": (N_("Please give the reason for this step."), {})})
    keep, keep_rows = _rows_and_cases(session, keep_person_id, by)
    other, other_rows = _rows_and_cases(session, merge_person_id, by)
    for person in (keep, other):
        if person.merged_into_id is not None:
            raise Conflict(N_("This person was already merged into another record. Reload the "
                              "page to see the person as they are now."))
    ids = {r.national_id for r in keep_rows + other_rows if r.national_id}
    if len(ids) > 1:
        raise Conflict(N_("These two persons have different national IDs (%(ids)s), so they "
                          "cannot be the same person. Check the IDs with the documents first."),
                       ids=", ".join(sorted(mask_thai_id(i) or "" for i in ids)))
    now = utcnow()
    moved = [r.id for r in other_rows]
    for row in other_rows:
        row.person_id = keep.id
    other.merged_into_id = keep.id
    other.merged_at, other.merged_by_id = now, by.id
    other.merge_reason, other.merged_rows = reason, moved
    # Earlier tombstones of the merged person now point at the kept one (one step to follow).
    for earlier in session.scalars(select(Person).where(Person.merged_into_id == other.id)):
        earlier.merged_into_id = keep.id
    detail = {"kept_person_id": keep.id, "merged_person_id": other.id, "moved_rows": moved,
              "kept_rows": [r.id for r in keep_rows]}
    record_audit(session=session, actor_id=by.id, action="person.merged", entity="person",
                 entity_id=other.id, detail=detail | {"reason": reason}, at=now)
    cases = sorted({r.case_id for r in keep_rows + other_rows})
    for case_id in cases:
        case = session.get(Case, case_id)
        case.timeline.append(CaseTimelineEntry(at=now, actor_id=by.id, source="case",
                                               kind="person_merged", note=reason, detail=detail))
        record_audit(session=session, actor_id=by.id, action="case.person_merged",
                     entity="case", entity_id=case_id, detail=detail, at=now)
    session.flush()
    for case_id in cases:
        events.case_updated(session=session, case=session.get(Case, case_id))
    return keep
