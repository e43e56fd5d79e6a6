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
    NEEDS_FOLLOW_UP = "needs_follow_up"  # closed at intake, opens a case for follow-up


# Outcomes a call-taker may choose when closing at intake (no incident).
INTAKE_OUTCOMES = frozenset(
    {
        CallOutcome.ADVICE_GIVEN,
        CallOutcome.REFERRED_ELSEWHERE,
        CallOutcome.NOT_OUR_REMIT,
        CallOutcome.HOAX,
        CallOutcome.SILENT,
        CallOutcome.NEEDS_FOLLOW_UP,
    }
)

# Calls closed at intake with these outcomes open a case for follow-up (case management).
OPENS_CASE = frozenset({CallOutcome.REFERRED_ELSEWHERE, CallOutcome.NEEDS_FOLLOW_UP})

# Outcomes that need the agency the caller was sent to.
NEEDS_AGENCY = frozenset({CallOutcome.REFERRED_ELSEWHERE, CallOutcome.NOT_OUR_REMIT})


class Channel(StrEnum):
    """How the contact reached the hotline."""

    VOICE = "voice"
    WALK_IN = "walk_in"
    OTHER = "other"


class CallStatus(StrEnum):
    """Where a voice call stands with the carrier (Twilio CallStatus values, '-' -> '_')."""

    QUEUED = "queued"
    RINGING = "ringing"
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    BUSY = "busy"
    NO_ANSWER = "no_answer"
    FAILED = "failed"
    CANCELED = "canceled"


# A status the call never leaves once reached.
FINAL_STATUSES = frozenset(
    {CallStatus.COMPLETED, CallStatus.BUSY, CallStatus.NO_ANSWER, CallStatus.FAILED,
     CallStatus.CANCELED}
)
# Statuses that mean the caller never reached anyone: call them back.
MISSED_STATUSES = frozenset(
    {CallStatus.BUSY, CallStatus.NO_ANSWER, CallStatus.FAILED, CallStatus.CANCELED}
)


class CallReason(StrEnum):
    """What the caller chose in the voice menu."""

    DANGER = "danger"  # 1: someone is in danger now (also: no input)
    ADVICE = "advice"  # 2: advice, rights
    EXISTING = "existing"  # 3: about an existing case


# Call-back order: danger first, then existing cases, then advice.
REASON_PRIORITY = {CallReason.DANGER: 1, CallReason.EXISTING: 2, CallReason.ADVICE: 3}


class FlagLevel(StrEnum):
    """A flag on a caller's number: graded responses to nuisance calls, or a protective flag."""

    WARN = "warn"  # play a warning, then queue as usual
    LOW_PRIORITY = "low_priority"  # queue behind the others
    SUPERVISOR = "supervisor"  # route to the supervisors' queue
    AT_RISK = "at_risk"  # the caller is known to be at risk: never deprioritise


# Levels that change how a call is routed (the at-risk flag protects instead).
NUISANCE_LEVELS = frozenset({FlagLevel.WARN, FlagLevel.LOW_PRIORITY, FlagLevel.SUPERVISOR})


class MessageKind(StrEnum):
    """Outbound traffic through the provider."""

    SMS = "sms"
    CALLBACK = "callback"
