"""Input schemas of case management: new cases, moves, persons (Thai IDs, Buddhist-era dates)."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import Field, field_validator, model_validator

from cases.enums import (
    FORM_SOURCES,
    SCORES,
    ActionStatus,
    CaseSource,
    CaseStatus,
    ConsentItem,
    Domain,
    FollowUpKind,
    NoIdReason,
    PersonRole,
    PlanPhase,
    ReferralStatus,
    RiskLevel,
    TargetGroup,
)
from console.errors import N_
from console.validation import FieldError, Schema
from dispatch.enums import Category, Sex
from telephony.schemas import normalize_thai_phone

BE_OFFSET = 543  # พ.ศ. = ค.ศ. + 543


def thai_id_is_valid(value: str) -> bool:
    """The 13-digit Thai national ID check digit: (11 - sum(d_i * (13 - i)) % 11) % 10."""
    if len(value) != 13 or not value.isdigit():
        return False
    total = sum(int(value[i]) * (13 - i) for i in range(12))
    return (11 - total % 11) % 10 == int(value[12])


def mask_thai_id(value: str | None) -> str | None:
    """A national ID as lists show it: only the last 4 digits (x-xxxx-xxxxx-12-3)."""
    if not value:
        return None
    return f"x-xxxx-xxxxx-{value[10:12]}-{value[12]}"


def parse_thai_date(text: str) -> date:
    """A date typed as DD/MM/YYYY or YYYY-MM-DD, the year in พ.ศ. (or ค.ศ.)."""
    text = text.strip()
    try:
        if "/" in text:
            day, month, year = (int(p) for p in text.split("/"))
        else:
            year, month, day = (int(p) for p in text.split("-"))
    except ValueError:
        raise FieldError(N_("Enter the date as day/month/year, e.g. 12/05/2530.")) from None
    if year > 2300:  # a Buddhist-era year
        year -= BE_OFFSET
    try:
        return date(year, month, day)
    except ValueError:
        raise FieldError(N_("This date does not exist.")) from None


def parse_birth_date(text: str, *, today: date) -> date:
    """A birth date (see parse_thai_date): not in the future, not more than 130 years ago."""
    born = parse_thai_date(text)
    if born > today:
        raise FieldError(N_("The birth date cannot be in the future."))
    if today.year - born.year > 130:
        raise FieldError(N_("Check the year: the person would be over 130."))
    return born


class PersonIn(Schema):
    """The client or a household member, as the case worker identifies them."""

    role: PersonRole = PersonRole.HOUSEHOLD
    full_name: str = Field(min_length=1, max_length=200)
    national_id: str | None = Field(default=None, max_length=17)
    no_id_reason: NoIdReason | None = None
    birth_date: str | None = Field(default=None, max_length=10)
    age_years: int | None = Field(default=None, ge=0, le=130, strict=True)
    sex: Sex = Sex.UNKNOWN
    relationship_to_client: str = Field(default="", max_length=60)
    phone: str | None = Field(default=None, max_length=32)
    province_code: str | None = Field(default=None, max_length=2)
    district_code: str | None = Field(default=None, max_length=4)
    subdistrict_code: str | None = Field(default=None, max_length=6)
    address_text: str = Field(default="", max_length=1000)
    target_groups: list[TargetGroup] = Field(default_factory=list, max_length=11)

    @field_validator("national_id", "birth_date", "phone", "province_code", "district_code",
                     "subdistrict_code", "no_id_reason", "age_years", mode="before")
    @classmethod
    def _blank_is_none(cls, value: object) -> object:
        return None if value == "" else value

    @field_validator("national_id")
    @classmethod
    def _thai_id(cls, value: str | None) -> str | None:
        if value is None:
            return None
        digits = value.replace("-", "").replace(" ", "")
        if len(digits) != 13 or not digits.isdigit():
            raise FieldError(N_("A national ID has 13 digits."))
        if not thai_id_is_valid(digits):
            raise FieldError(N_("This national ID is not valid: check the digits."))
        return digits

    @field_validator("birth_date")
    @classmethod
    def _birth_date(cls, value: str | None) -> str | None:
        from console.db import BANGKOK, utcnow

        if value is None:
            return None
        return parse_birth_date(value, today=utcnow().astimezone(BANGKOK).date()).isoformat()

    @field_validator("phone")
    @classmethod
    def _phone(cls, value: str | None) -> str | None:
        return normalize_thai_phone(value) if value else None

    @field_validator("province_code", "district_code", "subdistrict_code")
    @classmethod
    def _known_place(cls, value: str | None) -> str | None:
        from geo import gazetteer

        if value is not None and gazetteer.get(value) is None:
            raise FieldError(N_("Unknown place code."))
        return value

    @field_validator("target_groups")
    @classmethod
    def _unique_groups(cls, value: list[TargetGroup]) -> list[TargetGroup]:
        return list(dict.fromkeys(value))

    @model_validator(mode="after")
    def _id_or_reason(self) -> PersonIn:
        if self.national_id is None and self.no_id_reason is None:
            raise FieldError(N_("Enter the national ID, or choose why it is not known."))
        if self.national_id is not None:
            self.no_id_reason = None
        return self

    def born(self) -> date | None:
        """The birth date in the Gregorian calendar (checked when the input was read)."""
        return date.fromisoformat(self.birth_date) if self.birth_date else None


class DuplicateCheckIn(Schema):
    """What the person form has so far, to look for possible duplicates while it is typed: an
    ID that is not yet 13 valid digits, or a date not yet whole, is simply not used."""

    full_name: str = Field(default="", max_length=200)
    national_id: str | None = Field(default=None, max_length=17)
    birth_date: str | None = Field(default=None, max_length=10)
    age_years: int | None = Field(default=None, ge=0, le=130)
    province_code: str | None = Field(default=None, max_length=2)
    district_code: str | None = Field(default=None, max_length=4)

    @field_validator("national_id", mode="before")
    @classmethod
    def _usable_id(cls, value: object) -> object:
        if not isinstance(value, str):
            return None
        digits = value.replace("-", "").replace(" ", "")
        return digits if thai_id_is_valid(digits) else None

    @field_validator("birth_date", mode="before")
    @classmethod
    def _usable_date(cls, value: object) -> object:
        if not isinstance(value, str) or not value.strip():
            return None
        try:
            return parse_thai_date(value).isoformat()
        except FieldError:
            return None

    @field_validator("age_years", "province_code", "district_code", mode="before")
    @classmethod
    def _blank_is_none(cls, value: object) -> object:
        return None if value == "" else value

    def born(self) -> date | None:
        """The birth date, when one was typed whole."""
        return date.fromisoformat(self.birth_date) if self.birth_date else None


class MergeIn(Schema):
    """Merge two persons into one: the kept person gets the other's rows in every case."""

    keep_person_id: int = Field(ge=1, le=2**31 - 1, strict=True)
    merge_person_id: int = Field(ge=1, le=2**31 - 1, strict=True)
    reason: str = Field(default="", max_length=4000)


class TransferIn(Schema):
    """Propose the case's transfer to another province, with the reason."""

    to_province: str = Field(min_length=1, max_length=2)
    reason: str = Field(default="", max_length=4000)
    version: int | None = Field(default=None, ge=1, strict=True)

    @field_validator("to_province")
    @classmethod
    def _province(cls, value: str) -> str:
        from geo import gazetteer

        place = gazetteer.get(value)
        if place is None or place.level != "province":
            raise FieldError(N_("Choose a province from the list."))
        return value


class TransferAnswerIn(Schema):
    """The receiving province's answer: the reason is needed to decline."""

    reason: str = Field(default="", max_length=4000)
    version: int | None = Field(default=None, ge=1, strict=True)


class NewCaseIn(Schema):
    """A case opened on the desk: a walk-in, a letter, another agency, a volunteer."""

    source: CaseSource
    category: Category = Category.OTHER
    summary: str = Field(min_length=1, max_length=4000)
    province_code: str | None = Field(default=None, max_length=2)
    district_code: str | None = Field(default=None, max_length=4)
    subdistrict_code: str | None = Field(default=None, max_length=6)
    address_text: str = Field(default="", max_length=1000)
    client: PersonIn | None = None

    @field_validator("province_code", "district_code", "subdistrict_code", mode="before")
    @classmethod
    def _blank_is_none(cls, value: object) -> object:
        return None if value == "" else value

    @field_validator("source")
    @classmethod
    def _form_source(cls, value: CaseSource) -> CaseSource:
        if value not in FORM_SOURCES:
            raise FieldError(N_("Choose one of the listed options."))
        return value

    @field_validator("province_code", "district_code", "subdistrict_code")
    @classmethod
    def _known_place(cls, value: str | None) -> str | None:
        from geo import gazetteer

        if value is not None and gazetteer.get(value) is None:
            raise FieldError(N_("Unknown place code."))
        return value


class MoveIn(Schema):
    """A move of the case workflow, with the reason when the move needs one; closing also
    takes the client's feedback and the lessons learned."""

    to: CaseStatus
    reason: str = Field(default="", max_length=4000)
    version: int | None = Field(default=None, ge=1, strict=True)
    client_feedback: str = Field(default="", max_length=4000)
    lessons_learned: str = Field(default="", max_length=4000)
    # Closing with actions of the plan still open needs this explicit confirmation.
    with_open_actions: bool = Field(default=False, strict=True)


class AssignIn(Schema):
    """Give the case to a worker (or take it: the worker's own id)."""

    user_id: int = Field(ge=1, le=2**31 - 1, strict=True)


class DomainScoreIn(Schema):
    """One well-being domain's score (1 serious problem ... 4 no problem) and its reason."""

    score: int = Field(strict=True)
    reason: str = Field(default="", max_length=1000)

    @field_validator("score")
    @classmethod
    def _score(cls, value: int) -> int:
        if value not in SCORES:
            raise FieldError(N_("Choose a score from 1 to 4."))
        return value


def _today():
    from console.db import BANGKOK, utcnow

    return utcnow().astimezone(BANGKOK).date()


def _visit_date(value: str | None) -> str | None:
    if value is None:
        return None
    visited = parse_thai_date(value)
    if visited > _today():
        raise FieldError(N_("The visit date cannot be in the future."))
    return visited.isoformat()


def _due_date(value: str) -> str:
    due = parse_thai_date(value)
    if due < _today():
        raise FieldError(N_("The due date cannot be in the past."))
    return due.isoformat()


class AssessmentIn(Schema):
    """The fact-finding form; `complete` turns the draft into the assessment the plan uses."""

    visited_at: str | None = Field(default=None, max_length=10)
    problem: str = Field(default="", max_length=4000)
    living_conditions: str = Field(default="", max_length=4000)
    income_debts: str = Field(default="", max_length=4000)
    health: str = Field(default="", max_length=4000)
    education: str = Field(default="", max_length=4000)
    safety_risks: str = Field(default="", max_length=4000)
    needs: str = Field(default="", max_length=4000)
    scores: dict[Domain, DomainScoreIn] = Field(default_factory=dict)
    risk_level: RiskLevel | None = None
    complete: bool = Field(default=False, strict=True)

    @field_validator("visited_at", "risk_level", mode="before")
    @classmethod
    def _blank_is_none(cls, value: object) -> object:
        return None if value == "" else value

    @field_validator("visited_at")
    @classmethod
    def _visited(cls, value: str | None) -> str | None:
        return _visit_date(value)

    def missing_for_completion(self) -> dict[str, tuple[str, dict]]:
        """Per-field messages when `complete` is asked but the form is not complete."""
        errors: dict[str, tuple[str, dict]] = {}
        for domain in Domain:
            given = self.scores.get(domain)
            if given is None:
                errors[f"scores.{domain.value}"] = (N_("Score this domain."), {})
            elif not given.reason.strip():
                errors[f"scores.{domain.value}.reason"] = (
                    N_("Please give the reason for this score."), {})
        if self.risk_level is None:
            errors["risk_level"] = (N_("Choose the risk level."), {})
        if not self.problem.strip():
            errors["problem"] = (N_("This field is required."), {})
        return errors


class ActionIn(Schema):
    """One action of the assistance plan."""

    phase: PlanPhase
    domain: Domain
    title: str = Field(min_length=1, max_length=300)
    owner_user_id: int | None = Field(default=None, ge=1, le=2**31 - 1, strict=True)
    owner_agency_id: int | None = Field(default=None, ge=1, le=2**31 - 1, strict=True)
    due_on: str = Field(min_length=1, max_length=10)
    note: str = Field(default="", max_length=4000)

    @field_validator("owner_user_id", "owner_agency_id", mode="before")
    @classmethod
    def _blank_owner(cls, value: object) -> object:
        return None if value == "" else value

    @field_validator("due_on")
    @classmethod
    def _due(cls, value: str) -> str:
        return _due_date(value)

    @model_validator(mode="after")
    def _one_owner(self) -> ActionIn:
        if (self.owner_user_id is None) == (self.owner_agency_id is None):
            raise FieldError(N_("Choose who does it: a worker or an agency."))
        return self


class ActionUpdateIn(Schema):
    """An action's progress."""

    status: ActionStatus
    note: str = Field(default="", max_length=4000)


class CaseFilterIn(Schema):
    """The caseload list's filters and page, from the query string."""

    view: Literal["all", "mine", "unassigned"] = "all"
    status: CaseStatus | None = None
    risk: RiskLevel | None = None
    overdue: bool = False
    # Referred more than a week ago and still open (the seeds: close within a week).
    past_week: bool = False
    province_code: str | None = Field(default=None, max_length=2)
    district_code: str | None = Field(default=None, max_length=4)
    subdistrict_code: str | None = Field(default=None, max_length=6)
    target_group: TargetGroup | None = None
    assigned_to: int | None = Field(default=None, ge=1, le=2**31 - 1)
    q: str = Field(default="", max_length=100)
    page: int = Field(default=1, ge=1, le=100000)
    per_page: int = Field(default=50, ge=1, le=100)

    @field_validator("status", "risk", "province_code", "district_code", "subdistrict_code",
                     "target_group", "assigned_to", mode="before")
    @classmethod
    def _blank_is_none(cls, value: object) -> object:
        return None if value == "" else value


class ConsentIn(Schema):
    """What the client agreed to share, with which agency (none = any agency), given when."""

    agency_id: int | None = Field(default=None, ge=1, le=2**31 - 1, strict=True)
    items: list[ConsentItem] = Field(min_length=1, max_length=5)
    given_on: str = Field(min_length=1, max_length=10)

    @field_validator("agency_id", mode="before")
    @classmethod
    def _blank_agency(cls, value: object) -> object:
        return None if value == "" else value

    @field_validator("given_on")
    @classmethod
    def _given(cls, value: str) -> str:
        return _visit_date(value)

    @field_validator("items")
    @classmethod
    def _unique_items(cls, value: list[ConsentItem]) -> list[ConsentItem]:
        return list(dict.fromkeys(value))


class ReferralIn(Schema):
    """A referral: to which agency, for what service, sharing which consented items."""

    agency_id: int = Field(ge=1, le=2**31 - 1, strict=True)
    service: str = Field(min_length=1, max_length=300)
    items: list[ConsentItem] = Field(default_factory=list, max_length=5)


class AgencyStepIn(Schema):
    """The agency's answer on its referral page (a plain form: every value is text)."""

    to: ReferralStatus
    name: str = Field(default="", max_length=120)
    note: str = Field(default="", max_length=4000)
    version: int | None = Field(default=None, ge=1)
    csrf_token: str | None = None


class RevokeIn(Schema):
    """Withdraw a referral, with the reason."""

    reason: str = Field(default="", max_length=4000)


class FollowUpIn(Schema):
    """Schedule a follow-up visit or call."""

    kind: FollowUpKind
    due_on: str = Field(min_length=1, max_length=10)
    assigned_to_id: int | None = Field(default=None, ge=1, le=2**31 - 1, strict=True)
    purpose: str = Field(default="", max_length=300)

    @field_validator("assigned_to_id", mode="before")
    @classmethod
    def _blank(cls, value: object) -> object:
        return None if value == "" else value

    @field_validator("due_on")
    @classmethod
    def _due(cls, value: str) -> str:
        return _due_date(value)


class FollowUpDoneIn(Schema):
    """A follow-up done: what was found, and the client's own words."""

    outcome: str = Field(min_length=1, max_length=4000)
    client_feedback: str = Field(default="", max_length=4000)


# The largest amount the form can even hold (the province's ceiling is checked by the service).
_BAHT_LIMIT = 10**9


def parse_baht(value: object) -> int:
    """An amount in baht as typed ("1500", "1,500.50", 1500) -> satang; more than 0, at most 2
    decimals."""
    import re
    from decimal import Decimal

    if isinstance(value, bool) or value is None:
        raise FieldError(N_("Enter the amount in baht as a number, e.g. 1500 or 1,500.50."))
    text = str(value).strip().replace(",", "").replace(" ", "")
    text = text.removesuffix("บาท")
    if not re.fullmatch(r"[-+]?\d+(\.\d+)?", text):
        raise FieldError(N_("Enter the amount in baht as a number, e.g. 1500 or 1,500.50."))
    amount = Decimal(text)
    if amount <= 0:
        raise FieldError(N_("The amount must be more than 0 baht."))
    if amount != amount.quantize(Decimal("0.01")):
        raise FieldError(N_("Baht and satang only: at most 2 digits after the point."))
    if amount >= _BAHT_LIMIT:
        raise FieldError(N_("This amount is not plausible for a subsidy. Please check it."))
    return int(amount * 100)


class SubsidyIn(Schema):
    """A subsidy request (เงินสงเคราะห์): amount, reason, budget line, the plan action it serves.
    `amount` is typed in baht and held in satang once validated."""

    amount: int
    reason: str = Field(min_length=1, max_length=2000)
    budget_line: str = Field(min_length=1, max_length=32)
    plan_action_id: int | None = Field(default=None, ge=1, le=2**31 - 1, strict=True)

    @field_validator("plan_action_id", mode="before")
    @classmethod
    def _blank(cls, value: object) -> object:
        return None if value == "" else value

    @field_validator("amount", mode="before")
    @classmethod
    def _satang(cls, value: object) -> int:
        return parse_baht(value)


class SubsidyDecisionIn(Schema):
    """An approver's decision on one level: the version the screen saw, and a note (the reason,
    required to reject)."""

    version: int | None = Field(default=None, ge=1, le=2**31 - 1, strict=True)
    note: str = Field(default="", max_length=2000)


class SubsidyPaidIn(Schema):
    """The payment of an approved subsidy: the date and the finance reference."""

    version: int | None = Field(default=None, ge=1, le=2**31 - 1, strict=True)
    paid_on: str = Field(min_length=1, max_length=10)
    payment_ref: str = Field(min_length=1, max_length=64)

    @field_validator("paid_on")
    @classmethod
    def _paid(cls, value: str) -> str:
        paid = parse_thai_date(value)
        if paid > _today():
            raise FieldError(N_("The payment date cannot be in the future."))
        return paid.isoformat()


class PeriodIn(Schema):
    """A period of days back from now, from the query string (the referral times)."""

    days: int = Field(default=90, ge=1, le=366)


class HandoverIn(Schema):
    """Offer a case to another case worker of its province, with a note for them."""

    to_user_id: int = Field(ge=1, le=2**31 - 1, strict=True)
    note: str = Field(default="", max_length=2000)
    version: int | None = Field(default=None, ge=1, le=2**31 - 1, strict=True)


class HandoverAnswerIn(Schema):
    """The receiver's answer (the reason is needed to decline), or a withdrawal."""

    reason: str = Field(default="", max_length=2000)
    version: int | None = Field(default=None, ge=1, le=2**31 - 1, strict=True)


class PlaceIn(Schema):
    """The case's district and subdistrict in its province (checked against the gazetteer of
    the case's province by the service); blank clears."""

    district_code: str | None = Field(default=None, max_length=4)
    subdistrict_code: str | None = Field(default=None, max_length=6)
    version: int | None = Field(default=None, ge=1, le=2**31 - 1, strict=True)

    @field_validator("district_code", "subdistrict_code", mode="before")
    @classmethod
    def _blank(cls, value):
        return value.strip() or None if isinstance(value, str) else value


class SubsidyEntryIn(Schema):
    """One approval level or budget line on the settings desk: its code and names (checked in
    cases/subsidies.py, which names the wrong field)."""

    code: str = Field(default="", max_length=64)
    name_th: str = Field(default="", max_length=400)
    name_en: str = Field(default="", max_length=400)

    def item(self) -> tuple[str, str, str]:
        return (self.code, self.name_th, self.name_en)


class SubsidySettingsIn(Schema):
    """A province's subsidy settings as the desk saves them at once: the chain in order, the
    budget lines, who holds each level (level code -> user ids), and the state the screen saw."""

    version: str = Field(default="", max_length=64)
    levels: list[SubsidyEntryIn] = Field(max_length=10)
    budget_lines: list[SubsidyEntryIn] = Field(max_length=30)
    approvers: dict[str, list[int]] = Field(default_factory=dict, max_length=10)
