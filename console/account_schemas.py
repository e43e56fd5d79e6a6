"""Input schemas of the users desk: one clear message per field."""

from __future__ import annotations

import re

from pydantic import Field, field_validator

from console.enums import Role
from console.errors import N_
from console.validation import FieldError, Schema

USERNAME_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{2,63}$")


class UserIn(Schema):
    """What an administrator sets on a user (all of it, as the edit form sends it)."""

    display_name: str = Field(min_length=1, max_length=120)
    role: Role
    province_code: str | None = Field(default=None, max_length=2)
    team_id: int | None = Field(default=None, ge=1, le=2**31 - 1, strict=True)
    # The agency of the directory an agency user answers for (role agency only).
    agency_id: int | None = Field(default=None, ge=1, le=2**31 - 1, strict=True)
    phone: str | None = Field(default=None, max_length=32)

    @field_validator("province_code")
    @classmethod
    def _known_province(cls, value: str | None) -> str | None:
        from geo import gazetteer

        if value in (None, ""):
            return None
        place = gazetteer.get(value)
        if place is None or place.level != "province":
            raise FieldError(N_("Unknown province."))
        return value

    @field_validator("phone")
    @classmethod
    def _phone(cls, value: str | None) -> str | None:
        from telephony.schemas import normalize_thai_phone

        if value in (None, ""):
            return None
        return normalize_thai_phone(value)


class NewUserIn(UserIn):
    """A new user: a username as well (it never changes afterwards)."""

    username: str = Field(min_length=1, max_length=64)

    @field_validator("username")
    @classmethod
    def _username(cls, value: str) -> str:
        value = value.strip().lower()
        if not USERNAME_RE.fullmatch(value):
            raise FieldError(N_("Please use 3 to 64 characters: letters a-z, digits, dot, dash "
                                "or underscore, starting with a letter or digit."))
        return value

