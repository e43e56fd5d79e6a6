"""Input schemas for the call log, and Thai phone number handling."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

from pydantic import Field, ValidationInfo, field_validator

from console.errors import N_
from console.validation import FieldError, Schema
from dispatch.enums import INTAKE_SOURCES, SOURCES_WITH_ORG, Source
from telephony.enums import INTAKE_OUTCOMES, NEEDS_AGENCY, CallOutcome, FlagLevel

__all__ = ["FieldError"]

_DIGITS = re.compile(r"[\s\-().]")
_THAI_DIGITS = str.maketrans("๐๑๒๓๔๕๖๗๘๙", "0123456789")
_ASCII_DIGITS = re.compile(r"[0-9]+")


def normalize_thai_phone(raw: str) -> str:
    """Turn 0X-XXX-XXXX, 08X-XXX-XXXX or +66... into E.164 (+66...); raise FieldError if not."""
    text = _DIGITS.sub("", (raw or "").translate(_THAI_DIGITS))
    if text.startswith("+66"):
        national = text[3:]
    elif text.startswith("0066"):
        national = text[4:]
    elif text.startswith("66") and len(text) in (10, 11):
        national = text[2:]
    elif text.startswith("0"):
        national = text[1:]
    else:
        raise FieldError(N_("Enter a Thai phone number such as 081-234-5678 or +66 81 234 5678."))
    if not _ASCII_DIGITS.fullmatch(national) or national.startswith("0"):
        raise FieldError(N_("Enter a Thai phone number such as 081-234-5678 or +66 81 234 5678."))
    # Mobile numbers have 9 national digits (6/8/9 first), landlines 8 (02-XXX-XXXX, 0XX-XXX-XXX).
    mobile = is_thai_mobile("+66" + national)
    if mobile or national[0] in "234567" and len(national) == 8:
        return "+66" + national
    raise FieldError(N_("Enter a Thai phone number such as 081-234-5678 or +66 81 234 5678."))


def is_thai_mobile(e164: str | None) -> bool:
    """A Thai mobile number in E.164 (+66, then 6/8/9 and 8 more digits): it can take an SMS."""
    return bool(e164) and e164.startswith("+66") and len(e164) == 12 and e164[3] in "689"


def twilio_recording_url(raw: str | None) -> str | None:
    """The URL when it is an https address on a Twilio host (api.twilio.com, *.twilio.com),
    else None: anything else (javascript:, another host, credentials, odd ports) is never
    kept, since the call-taker desk shows it as a link."""
    url = (raw or "").strip()
    if not url or len(url) > 500 or any(ord(ch) <= 0x20 or ord(ch) >= 0x7F for ch in url):
        return None
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    host = (parts.hostname or "").rstrip(".").lower()
    if parts.scheme != "https" or parts.username is not None or parts.password is not None:
        return None
    if port not in (None, 443) or not host.endswith(".twilio.com"):
        return None
    if "@" in parts.netloc or "\\" in url:
        return None
    return url


def format_thai_phone(e164: str | None) -> str:
    """Show an E.164 Thai number the Thai way: 081-234-5678 / 02-123-4567."""
    if not e164:
        return ""
    if not e164.startswith("+66"):
        return e164
    national = "0" + e164[3:]
    if len(national) == 10:
        return f"{national[:3]}-{national[3:6]}-{national[6:]}"
    if national.startswith("02"):
        return f"{national[:2]}-{national[2:5]}-{national[5:]}"
    return f"{national[:3]}-{national[3:6]}-{national[6:]}"


def https_link(raw: str | None) -> str | None:
    """A news or social-media item's address: an https URL with a host and no credentials,
    no spaces or control characters (the desks show it as a link), or None when blank; else
    FieldError."""
    url = (raw or "").strip()
    if not url:
        return None
    bad = FieldError(N_("Give the item's full address starting with https://, e.g. "
                        "https://www.facebook.com/..."))
    if len(url) > 500 or any(ord(ch) <= 0x20 or ch == "\\" for ch in url):
        raise bad
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise bad from None
    host = (parts.hostname or "").rstrip(".")
    if (parts.scheme.lower() != "https" or not host or "." not in host
            or parts.username is not None or parts.password is not None
            or port not in (None, 443)):
        raise bad
    return url


class ScriptAnswerIn(Schema):
    """One question of the guided-intake script asked on the call (ticked), with the caller's
    short answer if the call-taker typed one."""

    question: int = Field(ge=0, le=199, strict=True)
    answer: str = Field(default="", max_length=300)


class CallIn(Schema):
    """What the call-taker types about a call."""

    number: str | None = Field(default=None, max_length=32)
    caller_name: str = Field(default="", max_length=120)
    summary: str = Field(min_length=1, max_length=4000)
    advice: str = Field(default="", max_length=4000)
    # When the call-taker picked up (the form stamps it); the answer -> dispatch interval.
    answered_at: datetime | None = None
    # The voice call accepted from the screen pop: the form completes it instead of a new one.
    call_id: int | None = Field(default=None, ge=1, le=2**31 - 1, strict=True)
    # Where the matter came from (the phone call unless the officer chose a walk-in, a letter,
    # a referral, a news item or an อพม. volunteer: issue 14), the news or social-media item's
    # link, and who referred it; kept on the call and on its incident.
    source: Source = Source.HOTLINE
    source_link: str | None = Field(default=None, max_length=500, validate_default=True)
    source_org: str | None = Field(default=None, max_length=200, validate_default=True)

    @field_validator("source")
    @classmethod
    def _intake_source(cls, value: Source) -> Source:
        if value not in INTAKE_SOURCES:
            raise FieldError(N_("Choose where the matter came from."))
        return value

    @field_validator("source_link", "source_org", mode="before")
    @classmethod
    def _blank(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("source_link")
    @classmethod
    def _link(cls, value: str | None, info: ValidationInfo) -> str | None:
        source = info.data.get("source")
        if source is Source.SURVEILLANCE and not value:
            raise FieldError(N_("Give the link of the news or social-media item."))
        if source is not None and source is not Source.SURVEILLANCE and value:
            raise FieldError(N_("A link is kept only for a news or social-media item: clear "
                                "it or choose that source."))
        return https_link(value)

    @field_validator("source_org")
    @classmethod
    def _org(cls, value: str | None, info: ValidationInfo) -> str | None:
        source = info.data.get("source")
        if source is Source.AGENCY and not value:
            raise FieldError(N_("Give the name of the agency that referred the matter."))
        if source is not None and source not in SOURCES_WITH_ORG and value:
            raise FieldError(N_("Who referred the matter is kept only for a referral, a letter "
                                "or a volunteer: clear it or choose that source."))
        return value
    # The guided-intake script version the call-taker had on screen (an unknown one is refused).
    script_version_id: int | None = Field(default=None, ge=1, le=2**31 - 1, strict=True)
    # The agency the caller was also referred to, recorded alongside an incident (a call closed
    # at intake names it in `agency_id`, below).
    referral_agency_id: int | None = Field(default=None, ge=1, le=2**31 - 1, strict=True)
    # The questions of that script version asked (ticked) and answered, each once.
    script_answers: list[ScriptAnswerIn] = Field(default_factory=list, max_length=200)

    @field_validator("script_answers")
    @classmethod
    def _once_each(cls, value: list[ScriptAnswerIn]) -> list[ScriptAnswerIn]:
        if len({a.question for a in value}) != len(value):
            raise FieldError(N_("Each question of the script can be recorded once."))
        return value

    @field_validator("answered_at")
    @classmethod
    def _recent(cls, value: datetime | None) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise FieldError(N_("Give the time with its time zone."))
        now = datetime.now(UTC)
        if not now - timedelta(hours=12) <= value <= now + timedelta(minutes=2):
            raise FieldError(N_("The answer time must be within the last 12 hours."))
        return value

    @field_validator("number")
    @classmethod
    def _phone(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        return normalize_thai_phone(value)


class CloseCallIn(CallIn):
    """A call closed at intake with an outcome (no incident)."""

    outcome: CallOutcome
    agency_id: int | None = Field(default=None, ge=1, le=2**31 - 1, validate_default=True,
                                  strict=True)
    province_code: str | None = Field(default=None, max_length=2)

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

    @field_validator("outcome")
    @classmethod
    def _intake_outcome(cls, value: CallOutcome) -> CallOutcome:
        if value not in INTAKE_OUTCOMES:
            raise FieldError(N_("Choose how the call ended."))
        return value

    @field_validator("agency_id")
    @classmethod
    def _agency_needed(cls, value: int | None, info: ValidationInfo) -> int | None:
        if value is None and info.data.get("outcome") in NEEDS_AGENCY:
            raise FieldError(N_("Choose the agency the caller was sent to."))
        return value


class FlagIn(Schema):
    """A flag on a caller's number, set by a call-taker or supervisor."""

    number: str = Field(min_length=1, max_length=32)
    level: FlagLevel
    reason: str = Field(min_length=1, max_length=1000)
    # How long the flag acts (hours); none = until lifted.
    hours: int | None = Field(default=None, ge=1, le=24 * 365, strict=True)

    @field_validator("number")
    @classmethod
    def _phone(cls, value: str) -> str:
        return normalize_thai_phone(value)


class EmptyIn(Schema):
    """An action that takes no input."""


class LiftFlagIn(Schema):
    """Why a flag is lifted."""

    reason: str = Field(default="", max_length=1000)


class SimulatedCallIn(Schema):
    """A simulated incoming call: who calls, which line, what they key in the menu."""

    number: str = Field(default="081-234-5678", max_length=32)
    called: str | None = Field(default=None, max_length=32)
    # The province whose simulated line is called (default: the user's; see TWILIO_NUMBERS).
    province_code: str | None = Field(default=None, pattern=r"^[0-9]{2}$")
    digit: str = Field(default="1", pattern=r"^[123]?$")
    case_ref: str = Field(default="", max_length=32, pattern=r"^[0-9A-Za-z\-]*$")

    @field_validator("number")
    @classmethod
    def _phone(cls, value: str) -> str:
        return normalize_thai_phone(value)
