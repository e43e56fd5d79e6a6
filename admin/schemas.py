"""What an administrator sets on a team, an agency, a hotline line or an intake category; the
same schemas read the pages' forms, the JSON API and each CSV line (all values may come as
text: lists split on ';', yes/no in Thai or English, blanks as nothing)."""

from __future__ import annotations

import re
from typing import Any

from pydantic import Field, field_validator

from cases.enums import AgencyKind, ContactChannel
from console.errors import N_
from console.validation import FieldError, Schema
from dispatch.enums import CATEGORY_SKILLS, Category, Priority, VulnerableGroup
from telephony.lines import normalize_line_number
from telephony.schemas import is_thai_mobile, normalize_thai_phone

SKILLS = tuple(sorted({s for s in CATEGORY_SKILLS.values() if s}))
_CODE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-]{0,31}")
_YES = {"1", "yes", "y", "true", "ใช่", "x", "✓", "on", "active", "เปิด", "เปิดใช้"}
_NO = {"0", "no", "n", "false", "ไม่", "ไม่ใช่", "", "off", "inactive", "ปิด", "ปิดใช้"}
_EMAIL = re.compile(r"[^@\s<>\"',;]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9\-]*[A-Za-z0-9])?"
                    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9\-]*[A-Za-z0-9])?)+")
_LINE_ID = re.compile(r"[UCR][0-9a-f]{32}")
_SHORT = re.compile(r"1[0-9]{2,4}")  # 191, 1300, 1669, 1567, 11xx


def split_list(value: Any) -> Any:
    """'a; b,c' -> ['a', 'b', 'c']; lists pass through; None/'' -> []."""
    if value is None:
        return []
    if isinstance(value, str):
        return [part.strip() for part in re.split(r"[;,\n]", value) if part.strip()]
    return value


def yes_no(value: Any) -> Any:
    """A yes/no as typed in a CSV or a form (Thai or English); other values stay for pydantic."""
    if isinstance(value, str):
        text = value.strip().lower()
        if text in _YES:
            return True
        if text in _NO:
            return False
        raise FieldError(N_("Write yes or no (1 or 0)."))
    return value


def blank_none(value: Any) -> Any:
    """'' -> None (an optional field left empty)."""
    return None if isinstance(value, str) and not value.strip() else value


def _province(value: str | None) -> str | None:
    from geo import gazetteer

    if value is None:
        return None
    place = gazetteer.get(value)
    if place is None or len(value) != 2:
        raise FieldError(N_("Unknown province code: use the 2-digit DOPA code (e.g. 65)."))
    return value


def agency_phone(value: str | None) -> str | None:
    """A Thai phone number in E.164, or a short hotline number (191, 1300, 1669) as typed."""
    if value is None:
        return None
    text = re.sub(r"[\s\-().]", "", value)
    if _SHORT.fullmatch(text):
        return text
    try:
        return normalize_line_number(value)
    except FieldError:
        raise FieldError(N_("Enter a Thai phone number such as 081-234-5678 or +66 81 234 "
                            "5678.")) from None


class TeamIn(Schema):
    """A rapid-response team as the admin pages set it."""

    code: str = Field(min_length=1, max_length=32)
    name: str = Field(min_length=1, max_length=120)
    province_code: str = Field(min_length=1, max_length=2)
    members: list[str] = Field(default_factory=list, max_length=50)
    skills: list[str] = Field(default_factory=list, max_length=len(SKILLS))
    vehicle: str = Field(default="", max_length=120)
    phone: str | None = Field(default=None, max_length=32)
    home_lat: float | None = Field(default=None, ge=5.0, le=21.0)
    home_lon: float | None = Field(default=None, ge=97.0, le=106.0)
    home_place: str = Field(default="", max_length=200)
    active: bool = True

    _lists = field_validator("members", "skills", mode="before")(split_list)
    _blank = field_validator("phone", "home_lat", "home_lon", mode="before")(blank_none)
    _bool = field_validator("active", mode="before")(yes_no)

    @field_validator("code")
    @classmethod
    def _code(cls, value: str) -> str:
        if not _CODE.fullmatch(value):
            raise FieldError(N_("Use letters, digits, '-', '_' or '.' only (e.g. PSL-4)."))
        return value.upper()

    @field_validator("province_code")
    @classmethod
    def _prov(cls, value: str) -> str:
        return _province(value)

    @field_validator("skills")
    @classmethod
    def _skills(cls, value: list[str]) -> list[str]:
        unknown = [s for s in value if s not in SKILLS]
        if unknown:
            raise FieldError(N_("Unknown skill %(skill)s: use %(known)s."), skill=unknown[0],
                             known=", ".join(SKILLS))
        return sorted(set(value), key=value.index)

    @field_validator("members")
    @classmethod
    def _members(cls, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise FieldError(N_("A member is listed twice."))
        return value

    @field_validator("phone")
    @classmethod
    def _phone(cls, value: str | None) -> str | None:
        return normalize_thai_phone(value) if value else None


class AgencyIn(Schema):
    """An agency of the directory as the admin pages set it."""

    code: str = Field(min_length=1, max_length=32)
    name_th: str = Field(min_length=1, max_length=200)
    name_en: str = Field(default="", max_length=200)
    kind: AgencyKind
    province_code: str | None = Field(default=None, max_length=2)
    districts: list[str] = Field(default_factory=list, max_length=60)
    services: list[Category] = Field(default_factory=list, max_length=len(Category))
    target_groups: list[VulnerableGroup] = Field(default_factory=list,
                                                 max_length=len(VulnerableGroup))
    phone: str | None = Field(default=None, max_length=32)
    phone_other: str | None = Field(default=None, max_length=32)
    hours: str = Field(default="", max_length=120)
    sms_number: str | None = Field(default=None, max_length=32)
    email: str | None = Field(default=None, max_length=200)
    line_user_id: str | None = Field(default=None, max_length=64)
    contact_channel: ContactChannel | None = None
    active: bool = True

    _lists = field_validator("districts", "services", "target_groups", mode="before")(split_list)
    _blank = field_validator("province_code", "phone", "phone_other", "sms_number", "email",
                             "line_user_id", "contact_channel", mode="before")(blank_none)
    _bool = field_validator("active", mode="before")(yes_no)

    @field_validator("code")
    @classmethod
    def _code(cls, value: str) -> str:
        if not _CODE.fullmatch(value):
            raise FieldError(N_("Use letters, digits, '-', '_' or '.' only (e.g. PSL-4)."))
        return value.upper()

    @field_validator("province_code")
    @classmethod
    def _prov(cls, value: str | None) -> str | None:
        return _province(value)

    @field_validator("phone", "phone_other")
    @classmethod
    def _phone(cls, value: str | None) -> str | None:
        return agency_phone(value)

    @field_validator("sms_number")
    @classmethod
    def _sms(cls, value: str | None) -> str | None:
        if value is None:
            return None
        number = normalize_thai_phone(value)
        if not is_thai_mobile(number):
            raise FieldError(N_("SMS go to a mobile number only (06, 08 or 09)."))
        return number

    @field_validator("email")
    @classmethod
    def _email(cls, value: str | None) -> str | None:
        if value is not None and not _EMAIL.fullmatch(value):
            raise FieldError(N_("Enter an e-mail address such as name@example.go.th."))
        return value

    @field_validator("line_user_id")
    @classmethod
    def _line(cls, value: str | None) -> str | None:
        if value is not None and not _LINE_ID.fullmatch(value):
            raise FieldError(N_("Enter the LINE id the LINE account gives (U or C, then 32 "
                                "letters and digits)."))
        return value

    @field_validator("services", "target_groups")
    @classmethod
    def _unique(cls, value: list) -> list:
        return list(dict.fromkeys(value))


class LineIn(Schema):
    """A hotline line: its number and the province whose queue its calls join."""

    number: str = Field(min_length=1, max_length=32)
    province_code: str | None = Field(default=None, max_length=2)
    label: str = Field(default="", max_length=120)
    active: bool = True

    _blank = field_validator("province_code", mode="before")(blank_none)
    _bool = field_validator("active", mode="before")(yes_no)

    @field_validator("number")
    @classmethod
    def _number(cls, value: str) -> str:
        return normalize_line_number(value)

    @field_validator("province_code")
    @classmethod
    def _prov(cls, value: str | None) -> str | None:
        return _province(value)


class CategoryIn(Schema):
    """An intake category's settings (its code is one the software knows)."""

    code: Category
    name_th: str = Field(min_length=1, max_length=120)
    name_en: str = Field(min_length=1, max_length=120)
    default_priority: Priority
    active: bool = True
    position: int = Field(default=0, ge=0, le=999)

    _bool = field_validator("active", mode="before")(yes_no)
    _blank = field_validator("position", mode="before")(
        lambda v: 0 if isinstance(v, str) and not v.strip() else v)


MAX_SCRIPT_ITEMS = 20
MAX_SCRIPT_ITEM = 400


def script_lines(value: Any) -> Any:
    """A script's list typed one item per line (a textarea), or a JSON list: blank lines and
    leading bullets or numbers dropped."""
    if value is None:
        return []
    if isinstance(value, str):
        value = value.splitlines()
    if isinstance(value, list):
        out = []
        for item in value:
            if not isinstance(item, str):
                raise FieldError(N_("Write one item per line."))
            text = re.sub(r"^\s*(?:[-•*·]|\d{1,2}[.)])\s*", "", item).strip()
            if text:
                out.append(text)
        return out
    return value


class ScriptIn(Schema):
    """A new version of an intake category's guided-intake script: the questions to ask and
    the rights and benefits to explain, in Thai (required) and English, one item per line."""

    questions_th: list[str] = Field(default_factory=list)
    questions_en: list[str] = Field(default_factory=list)
    rights_th: list[str] = Field(default_factory=list)
    rights_en: list[str] = Field(default_factory=list)
    note: str = Field(default="", max_length=500)

    _lines = field_validator("questions_th", "questions_en", "rights_th", "rights_en",
                             mode="before")(script_lines)

    @field_validator("questions_th", "questions_en", "rights_th", "rights_en")
    @classmethod
    def _sizes(cls, value: list[str]) -> list[str]:
        if len(value) > MAX_SCRIPT_ITEMS:
            raise FieldError(N_("Keep the script short: at most %(count)s lines."),
                             count=MAX_SCRIPT_ITEMS)
        if any(len(item) > MAX_SCRIPT_ITEM for item in value):
            raise FieldError(N_("A line is too long: at most %(count)s characters a line."),
                             count=MAX_SCRIPT_ITEM)
        return value

    @field_validator("questions_th")
    @classmethod
    def _some_questions(cls, value: list[str]) -> list[str]:
        if not value:
            raise FieldError(N_("Write at least one question in Thai, one per line."))
        return value
