"""Input of the agencies' and อพม. volunteers' pages: one clear message per field."""

from __future__ import annotations

from pydantic import Field, field_validator

from cases.enums import ReferralStatus
from console.errors import N_
from console.validation import FieldError, Schema

STEPS = (ReferralStatus.ACKNOWLEDGED, ReferralStatus.ACCEPTED, ReferralStatus.DECLINED,
         ReferralStatus.COMPLETED)


class AgencyAnswerIn(Schema):
    """An agency user's step on one referral of their list."""

    to: ReferralStatus
    note: str = Field(default="", max_length=4000)
    version: int | None = Field(default=None, ge=1, le=2**31 - 1, strict=True)

    @field_validator("to")
    @classmethod
    def _a_step(cls, value: ReferralStatus) -> ReferralStatus:
        if value not in STEPS:
            raise FieldError(N_("Choose one of the steps the page offers."))
        return value


class VolunteerIn(Schema):
    """Give a follow-up to an อพม. volunteer: one with an account (user_id), or one without,
    named with a phone number, who gets a link; whether they may see the client's phone."""

    user_id: int | None = Field(default=None, ge=1, le=2**31 - 1, strict=True)
    name: str = Field(default="", max_length=120)
    phone: str | None = Field(default=None, max_length=32)
    share_phone: bool = Field(default=False, strict=True)

    @field_validator("user_id", "phone", mode="before")
    @classmethod
    def _blank(cls, value: object) -> object:
        return None if value == "" else value

    @field_validator("phone")
    @classmethod
    def _phone(cls, value: str | None) -> str | None:
        from telephony.schemas import normalize_thai_phone

        return normalize_thai_phone(value) if value is not None else None
