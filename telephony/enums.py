"""Call vocabularies."""

from __future__ import annotations

from enum import StrEnum


class CallOutcome(StrEnum):
    """How a call ended at intake."""

    ADVICE_GIVEN = "advice_given"
    REFERRED_ELSEWHERE = "referred_elsewhere"
    NOT_OUR_REMIT = "not_our_remit"
    HOAX = "hoax"
    SILENT = "silent"
    INCIDENT_CREATED = "incident_created"


# Outcomes a call-taker may choose when closing at intake (no incident).
INTAKE_OUTCOMES = frozenset(
    {
        CallOutcome.ADVICE_GIVEN,
        CallOutcome.REFERRED_ELSEWHERE,
        CallOutcome.NOT_OUR_REMIT,
        CallOutcome.HOAX,
        CallOutcome.SILENT,
    }
)

# Outcomes that need the agency the caller was sent to.
NEEDS_AGENCY = frozenset({CallOutcome.REFERRED_ELSEWHERE, CallOutcome.NOT_OUR_REMIT})


class Channel(StrEnum):
    """How the contact reached the hotline."""

    VOICE = "voice"
    WALK_IN = "walk_in"
    OTHER = "other"
