"""Input schemas of the ESS Help Me app API."""

from __future__ import annotations

import math
from datetime import datetime

from pydantic import AwareDatetime, Field, field_validator

from console.errors import N_
from console.validation import FieldError, Schema
from dispatch.enums import Category


class PositionIn(Schema):
    """The phone's position fix."""

    # NOTE: strict numbers (as in the OpenAPI document): "15.0" as text is refused.
    lat: float = Field(ge=-90, le=90, strict=True)
    lon: float = Field(ge=-180, le=180, strict=True)
    accuracy_m: float | None = Field(default=None, ge=0, le=100000, strict=True)

    @field_validator("lat", "lon")
    @classmethod
    def _finite(cls, value: float) -> float:
        if not math.isfinite(value):
            raise FieldError(N_("Enter a number."))
        return value


class ReportIn(Schema):
    """A citizen's report from the mobile app; the contact is optional (anonymous)."""

    category: Category
    description: str = Field(default="", max_length=4000)
    position: PositionIn
    contact: str | None = Field(default=None, max_length=120)
    client_time: AwareDatetime | None = None

    @field_validator("contact", mode="before")
    @classmethod
    def _blank_contact(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("client_time")
    @classmethod
    def _sane_time(cls, value: datetime | None) -> datetime | None:
        if value is not None and not 2000 <= value.year <= 2200:
            raise FieldError(N_("This value is not valid."))
        return value


class MergeIn(Schema):
    """A dispatcher merges a duplicate incident into the one being kept."""

    duplicate_id: int = Field(ge=1, le=2**31 - 1, strict=True)


class SplitMergeIn(Schema):
    """A dispatcher splits an incident merged into this one off again (optional reason)."""

    merged_id: int = Field(ge=1, le=2**31 - 1, strict=True)
    reason: str = Field(default="", max_length=500)  # trimmed by Schema
