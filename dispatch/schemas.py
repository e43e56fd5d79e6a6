"""Input schemas for incidents and the moves made on them."""

from __future__ import annotations

import math

from pydantic import Field, field_validator, model_validator

from console.errors import N_
from console.validation import FieldError, Schema
from dispatch.enums import AgeGroup, Category, EscalationAction, Priority, Sex, VulnerableGroup
from telephony.schemas import CallIn, normalize_thai_phone


class PersonIn(Schema):
    """A person involved in the incident."""

    age_group: AgeGroup = AgeGroup.UNKNOWN
    sex: Sex = Sex.UNKNOWN
    vulnerable_group: VulnerableGroup = VulnerableGroup.NONE


class LocationIn(Schema):
    """A map click / coordinates and/or province -> district -> subdistrict, plus free text."""

    # NOTE: numbers and yes/no are strict in every schema: "16.8" as text is refused with a
    # message on its field (the desk's pages send numbers; a blank box is sent as "").
    lat: float | None = Field(default=None, strict=True)
    lon: float | None = Field(default=None, strict=True)
    province_code: str | None = Field(default=None, max_length=2)
    district_code: str | None = Field(default=None, max_length=4)
    subdistrict_code: str | None = Field(default=None, max_length=6)
    address_text: str = Field(default="", max_length=1000)
    # The caller could not say where (the dispatcher is shown "place unknown": phone back).
    place_unknown: bool = Field(default=False, strict=True)

    @field_validator("province_code", "district_code", "subdistrict_code", mode="before")
    @classmethod
    def _blank_is_none(cls, value: object) -> object:
        return None if value == "" else value

    @field_validator("lat", "lon", mode="before")
    @classmethod
    def _blank_coord(cls, value: object) -> object:
        return None if value == "" else value

    @field_validator("lat", "lon")
    @classmethod
    def _finite(cls, value: float | None) -> float | None:
        if value is not None and not math.isfinite(value):
            raise FieldError(N_("Enter a number."))
        return value

    @model_validator(mode="after")
    def _something_to_find(self) -> LocationIn:
        if (self.lat is None) != (self.lon is None):
            raise FieldError(N_("Give both latitude and longitude, or neither."))
        if self.lat is None and not self.province_code:
            raise FieldError(N_("Choose a province or click the map."))
        # NOTE: the desk preselects the officer's province: a province alone is no place. A
        # team sent to the province centre finds nobody.
        if (self.lat is None and not self.district_code and not self.address_text.strip()
                and not self.place_unknown):
            raise FieldError(N_("Give the place: find it, click the map, choose the district or "
                                "describe it. If the caller cannot say, tick 'Place unknown'."))
        return self


class IncidentIn(Schema):
    """What the call-taker records when someone needs help."""

    category: Category
    priority: Priority
    people: list[PersonIn] = Field(default_factory=list, max_length=30)
    location: LocationIn
    notes: str = Field(default="", max_length=4000)


class CallWithIncidentIn(CallIn):
    """A call (or another intake: walk-in, letter, referral, news item, volunteer) that turns
    into an incident, in one submission."""

    incident: IncidentIn


class AssignIn(Schema):
    """A dispatcher assigns a team."""

    team_id: int = Field(ge=1, le=2**31 - 1, strict=True)


class StepIn(Schema):
    """A field-team member moves the incident on, with an optional note."""

    note: str = Field(default="", max_length=2000)


class PositionIn(Schema):
    """A team phone's position fix."""

    lat: float = Field(ge=-90, le=90, strict=True)
    lon: float = Field(ge=-180, le=180, strict=True)
    accuracy: float | None = Field(default=None, ge=0, le=100000, strict=True)

    @field_validator("lat", "lon")
    @classmethod
    def _finite_fix(cls, value: float) -> float:
        if not math.isfinite(value):
            raise FieldError(N_("Enter a number."))
        return value


class CancelIn(Schema):
    """Why an incident is closed without a team."""

    reason: str = Field(min_length=1, max_length=2000)


class NotDuplicateIn(Schema):
    """Two incidents suggested as likely duplicates are not the same matter."""

    other_id: int = Field(ge=1, le=2**31 - 1, strict=True)
    reason: str = Field(default="", max_length=500)  # trimmed by Schema


class AvailabilityIn(Schema):
    """On duty (available) or off duty."""

    available: bool = Field(strict=True)


class SosIn(Schema):
    """The SOS button, with the phone's position when it has one."""

    lat: float | None = Field(default=None, ge=-90, le=90, strict=True)
    lon: float | None = Field(default=None, ge=-180, le=180, strict=True)
    note: str = Field(default="", max_length=500)


class RungIn(Schema):
    """One rung of an escalation ladder, as an admin enters it."""

    action: EscalationAction
    wait_seconds: int = Field(ge=15, le=86400, strict=True)
    contact_name: str = Field(default="", max_length=120)
    contact_phone: str | None = Field(default=None, max_length=32)

    @field_validator("contact_phone", mode="before")
    @classmethod
    def _blank_phone(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("contact_phone")
    @classmethod
    def _phone(cls, value: str | None) -> str | None:
        if value is None:
            return None
        short = value.strip()
        # Emergency and hotline short codes: police 191, EMS 1669, 1300 ...
        if short.isascii() and short.isdigit() and 3 <= len(short) <= 5 and short[0] == "1":
            return short
        return normalize_thai_phone(value)


class LadderIn(Schema):
    """A province's whole escalation ladder for one priority."""

    rungs: list[RungIn] = Field(min_length=1, max_length=8)
