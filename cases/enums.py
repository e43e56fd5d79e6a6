"""Case-management vocabulary (พม. Smart: fact-finding, plan, referral, follow-up, closure)."""

from __future__ import annotations

from enum import StrEnum


class CaseStatus(StrEnum):
    """Where a case stands in case management (พม. Smart)."""

    INTAKE = "intake"
    FACT_FINDING = "fact_finding"
    PLANNING = "planning"
    IN_ASSISTANCE = "in_assistance"  # referrals and actions of the plan running
    FOLLOW_UP = "follow_up"
    CLOSED = "closed"


# The case workflow: every allowed move, in one place. Anything else is refused.
CASE_TRANSITIONS: dict[CaseStatus, frozenset[CaseStatus]] = {
    CaseStatus.INTAKE: frozenset({CaseStatus.FACT_FINDING, CaseStatus.CLOSED}),
    CaseStatus.FACT_FINDING: frozenset({CaseStatus.PLANNING, CaseStatus.CLOSED}),
    CaseStatus.PLANNING: frozenset({CaseStatus.IN_ASSISTANCE, CaseStatus.FACT_FINDING,
                                    CaseStatus.CLOSED}),
    CaseStatus.IN_ASSISTANCE: frozenset({CaseStatus.FOLLOW_UP, CaseStatus.PLANNING,
                                         CaseStatus.CLOSED}),
    CaseStatus.FOLLOW_UP: frozenset({CaseStatus.IN_ASSISTANCE, CaseStatus.CLOSED}),
    # Reopening: back to where the work resumes, always with a reason.
    CaseStatus.CLOSED: frozenset({CaseStatus.FACT_FINDING, CaseStatus.PLANNING,
                                  CaseStatus.IN_ASSISTANCE, CaseStatus.FOLLOW_UP}),
}

# Moves that need the worker's written reason (closing, reopening, going back a step).
REASON_REQUIRED: frozenset[tuple[CaseStatus, CaseStatus]] = frozenset(
    {(a, CaseStatus.CLOSED) for a in CaseStatus if a is not CaseStatus.CLOSED}
    | {(CaseStatus.CLOSED, b) for b in CASE_TRANSITIONS[CaseStatus.CLOSED]}
    | {(CaseStatus.PLANNING, CaseStatus.FACT_FINDING),
       (CaseStatus.IN_ASSISTANCE, CaseStatus.PLANNING),
       (CaseStatus.FOLLOW_UP, CaseStatus.IN_ASSISTANCE)}
)


class CaseSource(StrEnum):
    """Where a case came from."""

    INCIDENT = "incident"  # a resolved incident handed over
    CALL = "call"  # a hotline call closed at intake as referred / needs follow-up
    ESS = "ess"  # an ESS Help Me report
    WALK_IN = "walk_in"
    LETTER = "letter"
    AGENCY = "agency"  # another agency, ศูนย์ดำรงธรรม
    VOLUNTEER = "volunteer"  # an อพม. volunteer


# Sources a case worker picks on the new-case form.
FORM_SOURCES = frozenset({CaseSource.WALK_IN, CaseSource.LETTER, CaseSource.AGENCY,
                          CaseSource.VOLUNTEER, CaseSource.CALL})


class PersonRole(StrEnum):
    """A person's place in the case."""

    CLIENT = "client"
    HOUSEHOLD = "household"


class NoIdReason(StrEnum):
    """Why a person's 13-digit national ID is not recorded."""

    STATELESS = "stateless"
    CHILD = "child"
    NOT_GIVEN = "not_given"
    FOREIGN = "foreign"


class TransferStatus(StrEnum):
    """A case's transfer to another province: proposed, then accepted by the receiving
    province (the case moves) or declined with a reason (the case stays)."""

    PENDING = "pending"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    WITHDRAWN = "withdrawn"  # the proposing province took it back before an answer


# A pending transfer is answered (or withdrawn) once; an answered one is final.
TRANSFER_TRANSITIONS: dict[TransferStatus, frozenset[TransferStatus]] = {
    TransferStatus.PENDING: frozenset({TransferStatus.ACCEPTED, TransferStatus.DECLINED,
                                       TransferStatus.WITHDRAWN}),
    TransferStatus.ACCEPTED: frozenset(),
    TransferStatus.DECLINED: frozenset(),
    TransferStatus.WITHDRAWN: frozenset(),
}


class HandoverStatus(StrEnum):
    """A case offered by its worker (or a supervisor) to another case worker of the province:
    pending until the receiver accepts (they become the case's worker) or declines with a
    reason, or the offerer withdraws it."""

    PENDING = "pending"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    WITHDRAWN = "withdrawn"


# A pending hand-over is answered or withdrawn once; then it is final.
HANDOVER_TRANSITIONS: dict[HandoverStatus, frozenset[HandoverStatus]] = {
    HandoverStatus.PENDING: frozenset({HandoverStatus.ACCEPTED, HandoverStatus.DECLINED,
                                       HandoverStatus.WITHDRAWN}),
    HandoverStatus.ACCEPTED: frozenset(),
    HandoverStatus.DECLINED: frozenset(),
    HandoverStatus.WITHDRAWN: frozenset(),
}


class TargetGroup(StrEnum):
    """The seeds' target groups (กลุ่มเป้าหมาย)."""

    CHILDREN_YOUTH = "children_youth"
    WOMEN_FAMILY_VIOLENCE = "women_family_violence"
    ELDERLY = "elderly"
    DISABLED = "disabled"
    HOMELESS = "homeless"
    BEGGARS = "beggars"
    TRAFFICKING_LABOUR = "trafficking_labour"
    POOR_HOUSEHOLD = "poor_household"
    BEDRIDDEN = "bedridden"
    PSYCHIATRIC = "psychiatric"
    STATELESS = "stateless"


class AgencyKind(StrEnum):
    """Kinds of agency a call or case can be referred to."""

    MSDHS = "msdhs"
    POLICE = "police"
    HOSPITAL = "hospital"
    OSCC = "oscc"
    DAMRONGTHAM = "damrongtham"
    LOCAL_GOVERNMENT = "local_government"
    NGO = "ngo"
    OTHER = "other"


class Domain(StrEnum):
    """Well-being domains the fact-finding scores (each with a reason)."""

    SAFETY = "safety"
    HEALTH = "health"
    FOOD_INCOME = "food_income"
    SHELTER = "shelter"
    FAMILY_CARE = "family_care"
    EDUCATION_WORK = "education_work"


# Scores: 1 serious problem, 2 problem, 3 some risk, 4 no problem. A domain scored at or below
# CONCERN_AT needs a goal in the assistance plan.
SCORES = (1, 2, 3, 4)
CONCERN_AT = 2


class RiskLevel(StrEnum):
    """The worker's overall assessment: level 3 (urgent) is served first."""

    LOW = "1"
    MEDIUM = "2"
    URGENT = "3"


class PlanPhase(StrEnum):
    """The three phases of an assistance plan (แผนการช่วยเหลือ)."""

    URGENT = "urgent"  # subsidy, survival kit, emergency shelter
    MEDIUM = "medium"  # needs analysis, multidisciplinary meeting
    LONG = "long"  # housing, work, land, education across agencies


class ActionStatus(StrEnum):
    """Where one action of the plan stands."""

    PLANNED = "planned"
    IN_PROGRESS = "in_progress"
    DONE = "done"
    CANCELLED = "cancelled"


class ConsentItem(StrEnum):
    """What a client may agree to share with an agency (PDPA: the minimum, by consent)."""

    IDENTITY = "identity"  # name, national ID, birth date
    CONTACT = "contact"  # phone
    ADDRESS = "address"
    STORY = "story"  # the problem and the fact-finding
    HEALTH = "health"


class ReferralStatus(StrEnum):
    """A referral's closed loop: sent -> acknowledged -> accepted | declined -> completed."""

    SENT = "sent"
    ACKNOWLEDGED = "acknowledged"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    COMPLETED = "completed"
    REVOKED = "revoked"


REFERRAL_TRANSITIONS: dict[ReferralStatus, frozenset[ReferralStatus]] = {
    ReferralStatus.SENT: frozenset({ReferralStatus.ACKNOWLEDGED, ReferralStatus.ACCEPTED,
                                    ReferralStatus.DECLINED, ReferralStatus.REVOKED}),
    ReferralStatus.ACKNOWLEDGED: frozenset({ReferralStatus.ACCEPTED, ReferralStatus.DECLINED,
                                            ReferralStatus.REVOKED}),
    ReferralStatus.ACCEPTED: frozenset({ReferralStatus.COMPLETED, ReferralStatus.REVOKED}),
    ReferralStatus.DECLINED: frozenset(),
    ReferralStatus.COMPLETED: frozenset(),
    ReferralStatus.REVOKED: frozenset(),
}


class FollowUpKind(StrEnum):
    """How a follow-up is done."""

    VISIT = "visit"
    CALL = "call"


# The seeds' rule: a referred case is closed within a week with the client's feedback.
REFERRED_CLOSE_DAYS = 7


class SubsidyStatus(StrEnum):
    """A subsidy request (เงินสงเคราะห์): pending at its approval level -> approved -> paid, or
    rejected (with a reason) at any level, which ends it."""

    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    PAID = "paid"


SUBSIDY_TRANSITIONS: dict[SubsidyStatus, frozenset[SubsidyStatus]] = {
    # NOTE: pending -> pending is the approval of one level that is not the last.
    SubsidyStatus.PENDING: frozenset({SubsidyStatus.PENDING, SubsidyStatus.APPROVED,
                                      SubsidyStatus.REJECTED}),
    SubsidyStatus.APPROVED: frozenset({SubsidyStatus.PAID}),
    SubsidyStatus.REJECTED: frozenset(),
    SubsidyStatus.PAID: frozenset(),
}

# The approval chain when a province has set none: the team head, then the provincial office
# (สนง.พมจ.). Levels are data: rows of subsidy_level per province replace this default.
DEFAULT_SUBSIDY_LEVELS: tuple[str, ...] = ("team_head", "provincial_office")

# Budget lines (หมวดเงิน) when a province has set none (rows of subsidy_budget_line).
DEFAULT_BUDGET_LINES: tuple[str, ...] = ("emergency_relief", "family_support", "disability",
                                         "elderly")


class ReminderStep(StrEnum):
    """What a case reminder waits on: a referral's step by the agency, or a plan action."""

    ACK = "ack"  # the agency acknowledges receipt
    ACCEPT = "accept"  # the agency accepts or declines
    OUTCOME = "outcome"  # the agency reports the outcome
    ACTION = "action"  # an action of the assistance plan reaches its due date


class ReminderStage(StrEnum):
    """Who hears when a step is late: the owner first, then, after a grace period, the
    province's supervisors, then the provincial office (สนง.พมจ.)."""

    OWNER = "owner"
    SUPERVISOR = "supervisor"
    OFFICE = "office"


class ContactChannel(StrEnum):
    """How an agency is sent its referral links (the letter with a QR code always works)."""

    SMS = "sms"
    EMAIL = "email"
    LINE = "line"
    LETTER = "letter"
