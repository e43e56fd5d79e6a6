"""Cases handed over from incidents, and the agencies work is referred to."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    false,
    true,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from cases import enums as case_enums
from cases.enums import (
    ActionStatus,
    AgencyKind,
    CaseSource,
    CaseStatus,
    ContactChannel,
    Domain,
    FollowUpKind,
    NoIdReason,
    PersonRole,
    PlanPhase,
    ReferralStatus,
    ReminderStage,
    ReminderStep,
    RiskLevel,
    SubsidyStatus,
)
from console.db import Base, UTCDateTime, str_enum, utcnow


def _agency_code() -> str:
    """A code for an agency added without one (the demo, older rows): AG- and 6 hex digits."""
    import secrets

    return "AG-" + secrets.token_hex(3).upper()


class Agency(Base):
    """An agency a caller or case is referred to (OSCC, police, ศูนย์ดำรงธรรม, a พม. department)."""

    __tablename__ = "agency"

    id: Mapped[int] = mapped_column(primary_key=True)
    name_th: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str] = mapped_column(String(200))
    kind: Mapped[AgencyKind] = mapped_column(str_enum(AgencyKind))
    phone: Mapped[str | None] = mapped_column(String(20))
    province_code: Mapped[str | None] = mapped_column(String(2))
    # Where referral links go (cases/flows.py): the channel chosen, else the first contact the
    # agency has of LINE, e-mail, a mobile phone; none: the printed letter with its QR code.
    email: Mapped[str | None] = mapped_column(String(200))
    line_user_id: Mapped[str | None] = mapped_column(String(64))
    contact_channel: Mapped[ContactChannel | None] = mapped_column(
        str_enum(ContactChannel, length=8))
    # The directory as the centre's administrators keep it (admin/): a stable code (CSV
    # import and export match on it), what it serves (intake categories and target groups),
    # where (its province, down to districts: none listed = the whole province), another
    # phone, its hours, the mobile number referral SMS go to, and whether it is listed.
    code: Mapped[str] = mapped_column(String(32), unique=True, default=_agency_code)
    services: Mapped[list[str]] = mapped_column(JSON, default=list)
    target_groups: Mapped[list[str]] = mapped_column(JSON, default=list)
    districts: Mapped[list[str]] = mapped_column(JSON, default=list)
    phone_other: Mapped[str | None] = mapped_column(String(20))
    hours: Mapped[str] = mapped_column(String(120), default="", server_default="")
    sms_number: Mapped[str | None] = mapped_column(String(20))
    active: Mapped[bool] = mapped_column(default=True, server_default=true())


class Case(Base):
    """A case in case management: from a resolved incident, a call, a report or the desk."""

    __tablename__ = "welfare_case"

    id: Mapped[int] = mapped_column(primary_key=True)
    ref: Mapped[str | None] = mapped_column(String(32), unique=True)
    incident_id: Mapped[int | None] = mapped_column(ForeignKey("incident.id"), unique=True)
    call_id: Mapped[int | None] = mapped_column(ForeignKey("call.id"), unique=True)
    source: Mapped[CaseSource] = mapped_column(str_enum(CaseSource), default=CaseSource.INCIDENT)
    status: Mapped[CaseStatus] = mapped_column(str_enum(CaseStatus), default=CaseStatus.INTAKE,
                                               index=True)
    status_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    close_reason: Mapped[str] = mapped_column(Text, default="")
    client_feedback: Mapped[str] = mapped_column(Text, default="")
    lessons_learned: Mapped[str] = mapped_column(Text, default="")
    # NOTE: optimistic locking: two workers saving the same case, the second is told.
    version: Mapped[int] = mapped_column(Integer, default=1)
    category: Mapped[str] = mapped_column(String(24))
    priority: Mapped[str] = mapped_column(String(2))
    summary: Mapped[str] = mapped_column(Text)
    notes: Mapped[str] = mapped_column(Text, default="")
    province_code: Mapped[str] = mapped_column(String(2), index=True)
    district_code: Mapped[str | None] = mapped_column(String(4))
    subdistrict_code: Mapped[str | None] = mapped_column(String(6))
    address_text: Mapped[str] = mapped_column(Text, default="")
    lat: Mapped[float | None] = mapped_column(Float)
    lon: Mapped[float | None] = mapped_column(Float)
    # While a transfer to another province waits for its answer (cases/transfers.py).
    transfer_to_province: Mapped[str | None] = mapped_column(String(2))
    # The case worker a hand-over of the case waits for (cases/handovers.py), while it waits.
    handover_to_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    precision: Mapped[str] = mapped_column(String(12))
    assigned_to_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"), index=True)
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    opened_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))

    # Search columns, kept by cases/search.py after every flush that touches the case, its
    # people, fact-finding or plan (never written by hand): the caseload's filters read one row.
    search_text: Mapped[str] = mapped_column(Text, default="", server_default="")
    target_group_tags: Mapped[str] = mapped_column(String(400), default="", server_default="")
    risk_level: Mapped[str | None] = mapped_column(String(1))
    next_due_on: Mapped[date | None] = mapped_column(Date)

    __mapper_args__ = {"version_id_col": version}
    __table_args__ = (
        # PostgreSQL: a trigram index answers "text anywhere" (LIKE '%...%'); SQLite scans.
        Index("ix_welfare_case_search_text", "search_text", postgresql_using="gin",
              postgresql_ops={"search_text": "gin_trgm_ops"}),
        Index("ix_welfare_case_district_opened", "district_code", "opened_at"),
        Index("ix_welfare_case_risk_due", "risk_level", "next_due_on"),
    )

    people: Mapped[list[CasePerson]] = relationship(
        order_by="CasePerson.id", cascade="all, delete-orphan"
    )
    timeline: Mapped[list[CaseTimelineEntry]] = relationship(
        order_by="CaseTimelineEntry.id", cascade="all, delete-orphan"
    )
    assessment: Mapped[CaseAssessment | None] = relationship(
        cascade="all, delete-orphan", uselist=False
    )
    actions: Mapped[list[PlanAction]] = relationship(
        order_by="PlanAction.id", cascade="all, delete-orphan"
    )
    consents: Mapped[list[Consent]] = relationship(
        order_by="Consent.id", cascade="all, delete-orphan"
    )
    referrals: Mapped[list[Referral]] = relationship(
        order_by="Referral.id", cascade="all, delete-orphan"
    )
    follow_ups: Mapped[list[FollowUp]] = relationship(
        order_by="FollowUp.due_on", cascade="all, delete-orphan"
    )


class CasePerson(Base):
    """A person of the case: the client or a household member (or one carried over from the
    incident, known only by age group and sex until the worker identifies them)."""

    __tablename__ = "case_person"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("welfare_case.id"), index=True)
    age_group: Mapped[str] = mapped_column(String(12))
    sex: Mapped[str] = mapped_column(String(12))
    vulnerable_group: Mapped[str] = mapped_column(String(24))
    role: Mapped[PersonRole | None] = mapped_column(str_enum(PersonRole))
    full_name: Mapped[str] = mapped_column(String(200), default="")
    # PDPA: shown masked in lists; in full only to case roles, each reveal audited.
    national_id: Mapped[str | None] = mapped_column(String(13), index=True)
    no_id_reason: Mapped[NoIdReason | None] = mapped_column(str_enum(NoIdReason))
    birth_date: Mapped[date | None] = mapped_column(Date)
    age_years: Mapped[int | None] = mapped_column(Integer)
    relationship_to_client: Mapped[str] = mapped_column(String(60), default="")
    phone: Mapped[str | None] = mapped_column(String(20))
    province_code: Mapped[str | None] = mapped_column(String(2))
    district_code: Mapped[str | None] = mapped_column(String(4))
    subdistrict_code: Mapped[str | None] = mapped_column(String(6))
    address_text: Mapped[str] = mapped_column(Text, default="")
    target_groups: Mapped[list[str]] = mapped_column(JSON, default=list)
    # The person this row identifies (one person, many cases); None while unidentified.
    person_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"), index=True)
    # The name's Thai phonetic key (cases/phonetic.py): possible duplicates are one query.
    name_key: Mapped[str | None] = mapped_column(String(40), index=True)

    person: Mapped[Person | None] = relationship()


class Person(Base):
    """One person across cases: each case's row of them (CasePerson) points here. A merge keeps
    both histories: the other person's rows are moved to the kept one and its own record stays
    as a tombstone saying into whom, by whom, when and why."""

    __tablename__ = "person"

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"), index=True)
    merged_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    merged_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    merge_reason: Mapped[str] = mapped_column(Text, default="")
    # The rows it had when merged (case_person ids), kept for the audit.
    merged_rows: Mapped[list[int]] = mapped_column(JSON, default=list)


class CaseTransfer(Base):
    """A case's transfer to another province: proposed with a reason, answered once by a case
    worker or supervisor of the receiving province (accepted: the case moves; declined with a
    reason: it stays). Two answering at once: the version lets one win."""

    __tablename__ = "case_transfer"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("welfare_case.id"), index=True)
    from_province: Mapped[str] = mapped_column(String(2))
    to_province: Mapped[str] = mapped_column(String(2), index=True)
    status: Mapped[case_enums.TransferStatus] = mapped_column(
        str_enum(case_enums.TransferStatus), default=case_enums.TransferStatus.PENDING)
    reason: Mapped[str] = mapped_column(Text)
    proposed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    proposed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    answered_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    answer_reason: Mapped[str] = mapped_column(Text, default="")
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}


class CaseHandover(Base):
    """A case offered to another case worker of its province with a note: accepted once by
    that worker (who becomes the case's worker), declined with a reason, or withdrawn by the
    offerer. Two answers at once: the version lets one win."""

    __tablename__ = "case_handover"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("welfare_case.id"), index=True)
    from_user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    to_user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    status: Mapped[case_enums.HandoverStatus] = mapped_column(
        str_enum(case_enums.HandoverStatus, length=12),
        default=case_enums.HandoverStatus.PENDING)
    note: Mapped[str] = mapped_column(Text, default="")
    offered_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    offered_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    answered_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    answer_reason: Mapped[str] = mapped_column(Text, default="")
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}


class CaseTimelineEntry(Base):
    """The case's history, starting with a copy of the incident's timeline."""

    __tablename__ = "case_timeline"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("welfare_case.id"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    source: Mapped[str] = mapped_column(String(12))  # 'incident' or 'case'
    kind: Mapped[str] = mapped_column(String(32))
    from_status: Mapped[str | None] = mapped_column(String(24))
    to_status: Mapped[str | None] = mapped_column(String(24))
    note: Mapped[str] = mapped_column(Text, default="")
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class CaseAssessment(Base):
    """The fact-finding (สอบข้อเท็จจริง) of a case: the 2-page form, saved as a draft until the
    worker completes it with a risk level."""

    __tablename__ = "case_assessment"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("welfare_case.id"), unique=True)
    visited_at: Mapped[date | None] = mapped_column(Date)
    problem: Mapped[str] = mapped_column(Text, default="")
    living_conditions: Mapped[str] = mapped_column(Text, default="")
    income_debts: Mapped[str] = mapped_column(Text, default="")
    health: Mapped[str] = mapped_column(Text, default="")
    education: Mapped[str] = mapped_column(Text, default="")
    safety_risks: Mapped[str] = mapped_column(Text, default="")
    needs: Mapped[str] = mapped_column(Text, default="")
    # {domain: {"score": 1-4, "reason": "..."}} for the domains of cases/enums.py Domain.
    scores: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    risk_level: Mapped[RiskLevel | None] = mapped_column(str_enum(RiskLevel, length=1))
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))


class PlanAction(Base):
    """One action of the assistance plan: its phase, the domain it serves, owner, due date."""

    __tablename__ = "plan_action"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("welfare_case.id"), index=True)
    phase: Mapped[PlanPhase] = mapped_column(str_enum(PlanPhase))
    domain: Mapped[Domain] = mapped_column(str_enum(Domain))
    title: Mapped[str] = mapped_column(String(300))
    owner_user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    owner_agency_id: Mapped[int | None] = mapped_column(ForeignKey("agency.id"))
    due_on: Mapped[date] = mapped_column(Date)
    status: Mapped[ActionStatus] = mapped_column(str_enum(ActionStatus),
                                                 default=ActionStatus.PLANNED)
    note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class Consent(Base):
    """What the client agreed to share, with which agency (None = any agency), given when and
    recorded by whom; withdrawn consent stops new referrals from carrying that data."""

    __tablename__ = "case_consent"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("welfare_case.id"), index=True)
    agency_id: Mapped[int | None] = mapped_column(ForeignKey("agency.id"))
    items: Mapped[list[str]] = mapped_column(JSON, default=list)
    given_on: Mapped[date] = mapped_column(Date)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class Referral(Base):
    """A referral to an agency, closed loop: the agency opens a signed, expiring link (no
    account), acknowledges, accepts or declines and reports the outcome; each step comes back to
    the case live."""

    __tablename__ = "referral"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("welfare_case.id"), index=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id"))
    service: Mapped[str] = mapped_column(String(300))
    status: Mapped[ReferralStatus] = mapped_column(str_enum(ReferralStatus),
                                                   default=ReferralStatus.SENT, index=True)
    # What the agency may see, frozen when sent (only what the consent allowed).
    shared: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # The link: a signed token carrying the referral id and a nonce whose hash is kept here
    # (revoking = forgetting it); it also expires.
    nonce_hash: Mapped[str | None] = mapped_column(String(64))
    link_expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ack_due_at: Mapped[datetime] = mapped_column(UTCDateTime())
    accept_due_at: Mapped[datetime] = mapped_column(UTCDateTime())
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    sent_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    declined_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    responder_name: Mapped[str] = mapped_column(String(120), default="")
    decline_reason: Mapped[str] = mapped_column(Text, default="")
    outcome: Mapped[str] = mapped_column(Text, default="")
    version: Mapped[int] = mapped_column(Integer, default=1)
    # When the outcome is due (set when the agency accepts), by the case's risk level.
    outcome_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # The link's nonce, encrypted (cases/flows.py), so the job queue can send the link again and
    # a letter can be printed; revoking forgets it with the hash.
    nonce_sealed: Mapped[str | None] = mapped_column(String(255))
    # How the link was sent (sms, email, line, letter).
    channel: Mapped[ContactChannel | None] = mapped_column(str_enum(ContactChannel, length=8))

    __mapper_args__ = {"version_id_col": version}

    events: Mapped[list[ReferralEvent]] = relationship(
        order_by="ReferralEvent.id", cascade="all, delete-orphan"
    )


class ReferralEvent(Base):
    """Every open of a referral's link and every step on it, with the address it came from."""

    __tablename__ = "referral_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    referral_id: Mapped[int] = mapped_column(ForeignKey("referral.id"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    kind: Mapped[str] = mapped_column(String(24))
    ip: Mapped[str | None] = mapped_column(String(45))
    note: Mapped[str] = mapped_column(Text, default="")


class FollowUp(Base):
    """A scheduled follow-up visit or call (ติดตามผล), assigned to a worker, with its outcome and
    the client's feedback once done."""

    __tablename__ = "follow_up"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("welfare_case.id"), index=True)
    kind: Mapped[FollowUpKind] = mapped_column(str_enum(FollowUpKind))
    due_on: Mapped[date] = mapped_column(Date, index=True)
    assigned_to_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    purpose: Mapped[str] = mapped_column(String(300), default="")
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    outcome: Mapped[str] = mapped_column(Text, default="")
    client_feedback: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    # An อพม. volunteer's task (cases/tasks.py): a volunteer user in assigned_to_id, or one
    # without an account reached by a signed single-purpose link (its nonce's hash kept here).
    volunteer_name: Mapped[str] = mapped_column(String(120), default="", server_default="")
    volunteer_phone: Mapped[str | None] = mapped_column(String(20))
    nonce_hash: Mapped[str | None] = mapped_column(String(64))
    link_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Whether the volunteer may see the client's phone (needed for a call, or to find the home).
    share_phone: Mapped[bool] = mapped_column(default=False, server_default=false())
    done_by: Mapped[str] = mapped_column(String(120), default="", server_default="")


class SubsidyLevel(Base):
    """One level of a province's subsidy approval chain (step 1 first); a province without
    rows uses DEFAULT_SUBSIDY_LEVELS (team head, then the provincial office)."""

    __tablename__ = "subsidy_level"
    __table_args__ = (UniqueConstraint("province_code", "step"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    province_code: Mapped[str] = mapped_column(String(2))
    step: Mapped[int] = mapped_column(Integer)
    code: Mapped[str] = mapped_column(String(32))
    name_th: Mapped[str] = mapped_column(String(120), default="")
    name_en: Mapped[str] = mapped_column(String(120), default="")


class SubsidyApprover(Base):
    """A user who holds an approval level in a province (only they approve at that level)."""

    __tablename__ = "subsidy_approver"
    __table_args__ = (UniqueConstraint("user_id", "province_code", "level_code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    province_code: Mapped[str] = mapped_column(String(2))
    level_code: Mapped[str] = mapped_column(String(32))
    granted_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    granted_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))


class SubsidyBudgetLine(Base):
    """A budget line (หมวดเงิน) a province pays subsidies from; a province without rows uses
    DEFAULT_BUDGET_LINES."""

    __tablename__ = "subsidy_budget_line"
    __table_args__ = (UniqueConstraint("province_code", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    province_code: Mapped[str] = mapped_column(String(2))
    code: Mapped[str] = mapped_column(String(32))
    name_th: Mapped[str] = mapped_column(String(200), default="")
    name_en: Mapped[str] = mapped_column(String(200), default="")
    active: Mapped[bool] = mapped_column(default=True)


class Subsidy(Base):
    """A subsidy request (เงินสงเคราะห์) on a case: amount, reason, budget line, documents; it
    climbs the province's approval chain one level at a time (never approved by the one who
    asked), then is paid with a date and a reference. Two approvers at once: one wins."""

    __tablename__ = "subsidy"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("welfare_case.id"), index=True)
    province_code: Mapped[str] = mapped_column(String(2), index=True)
    amount_satang: Mapped[int] = mapped_column(BigInteger)
    reason: Mapped[str] = mapped_column(Text)
    budget_line: Mapped[str] = mapped_column(String(32))
    plan_action_id: Mapped[int | None] = mapped_column(ForeignKey("plan_action.id"))
    status: Mapped[SubsidyStatus] = mapped_column(str_enum(SubsidyStatus),
                                                  default=SubsidyStatus.PENDING, index=True)
    # The chain as it stood when asked (level codes in order), and the step now waiting.
    levels: Mapped[list[str]] = mapped_column(JSON, default=list)
    step: Mapped[int] = mapped_column(Integer, default=1)
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    reject_reason: Mapped[str] = mapped_column(Text, default="")
    paid_on: Mapped[date | None] = mapped_column(Date)
    payment_ref: Mapped[str] = mapped_column(String(64), default="")
    paid_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}

    approvals: Mapped[list[SubsidyApproval]] = relationship(
        order_by="SubsidyApproval.step", cascade="all, delete-orphan"
    )
    documents: Mapped[list[SubsidyDocument]] = relationship(
        order_by="SubsidyDocument.id", cascade="all, delete-orphan"
    )


class SubsidyApproval(Base):
    """One level's decision on a subsidy: who, when, approved or rejected (with the reason);
    one row per step, so a second decision on the same step cannot be stored."""

    __tablename__ = "subsidy_approval"
    __table_args__ = (UniqueConstraint("subsidy_id", "step"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    subsidy_id: Mapped[int] = mapped_column(ForeignKey("subsidy.id"), index=True)
    step: Mapped[int] = mapped_column(Integer)
    level_code: Mapped[str] = mapped_column(String(32))
    approved: Mapped[bool] = mapped_column()
    by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    note: Mapped[str] = mapped_column(Text, default="")


class SubsidyDocument(Base):
    """A document attached to a subsidy request (ID card copy, quotation, medical letter):
    checked by its bytes, stored privately under a random name, deleted with the case's data."""

    __tablename__ = "subsidy_document"

    id: Mapped[int] = mapped_column(primary_key=True)
    subsidy_id: Mapped[int] = mapped_column(ForeignKey("subsidy.id"), index=True)
    stored_name: Mapped[str] = mapped_column(String(64))
    content_type: Mapped[str] = mapped_column(String(40))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(String(200), default="")
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))


class CaseTimer(Base):
    """A durable reminder of a case (cases/reminders.py): a referral step or a plan action that
    must be done by `due_at`; fires exactly once across processes, cancelled when done."""

    __tablename__ = "case_timer"
    __table_args__ = (Index("ix_case_timer_due", "fired_at", "due_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("welfare_case.id"), index=True)
    referral_id: Mapped[int | None] = mapped_column(ForeignKey("referral.id"), index=True)
    action_id: Mapped[int | None] = mapped_column(ForeignKey("plan_action.id"), index=True)
    step: Mapped[ReminderStep] = mapped_column(str_enum(ReminderStep, length=8))
    stage: Mapped[ReminderStage] = mapped_column(str_enum(ReminderStage, length=12))
    due_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    fired_at: Mapped[datetime | None] = mapped_column(UTCDateTime())  # or cancelled
    outcome: Mapped[str | None] = mapped_column(String(12))  # fired | cancelled | moot
