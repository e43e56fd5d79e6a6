"""The call log: calls closed at intake with an outcome, or turned into incidents."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import case as sa_case
from sqlalchemy import func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from cases.enums import CaseStatus
from cases.models import Agency, Case
from console import domain_events
from console.db import utcnow
from console.enums import Role
from console.errors import (
    N_,
    Conflict,
    DomainError,
    Forbidden,
    NotFound,
    ValidationFailed,
    prefixed,
)
from console.models import User
from console.privacy import phone_tail
from console.service import record_audit
from dispatch import service as dispatch_service
from dispatch.enums import OPEN_STATUSES
from dispatch.models import Incident
from dispatch.schemas import CallWithIncidentIn
from telephony import events
from telephony.enums import (
    FINAL_STATUSES,
    MISSED_STATUSES,
    NUISANCE_LEVELS,
    REASON_PRIORITY,
    CallOutcome,
    CallReason,
    CallStatus,
    FlagLevel,
    MessageKind,
)
from telephony.models import (
    Call,
    CallerFlag,
    CallEvent,
    CallLink,
    CallScriptAnswer,
    OutboundMessage,
)
from telephony.providers import ProviderResult, TelephonyProvider
from telephony.schemas import (
    CloseCallIn,
    FieldError,
    FlagIn,
    normalize_thai_phone,
    twilio_recording_url,
)

SUPERVISOR_QUEUE = "supervisors"
LOW_QUEUE = "low"
_SUPERVISOR_ROLES = frozenset({Role.SUPERVISOR, Role.ADMIN})


def _new_call(session: Session, data, by: User) -> Call:
    """A new call record, or the voice call this user accepted (`call_id`): ONE record."""
    if getattr(data, "call_id", None) is None:
        now = utcnow()
        return Call(
            number=data.number,
            caller_name=data.caller_name,
            summary=data.summary,
            advice=data.advice,
            taken_by_id=by.id,
            source=data.source,
            source_link=data.source_link,
            source_org=data.source_org,
            answered_at=data.answered_at or now,
            created_at=now,
        )
    call = session.get(Call, data.call_id)
    if call is None or not by.can_see_province(call.province_code):
        raise ValidationFailed({"call_id": (N_("Unknown call."), {})})
    if call.taken_by_id != by.id:
        raise Conflict(N_("Accept this call before logging it."))
    if call.closed_at is not None:
        raise Conflict(N_("This call is already logged."))
    call.number = data.number or call.number
    call.caller_name = data.caller_name
    call.source, call.source_link, call.source_org = (data.source, data.source_link,
                                                      data.source_org)
    call.summary = data.summary
    call.advice = data.advice
    return call


def _check_intake_refs(session: Session, data, category: str | None = None) -> None:
    """The agency and the guided-intake script version named on the form must exist; the
    script's category (and the incident's, `category`) must be one the administrators keep
    switched on, the same for both; the questions answered must be the version's own."""
    from admin.models import CategorySetting, IntakeScript

    errors = {}
    for name in ("agency_id", "referral_agency_id"):
        agency_id = getattr(data, name, None)
        if agency_id is not None and session.get(Agency, agency_id) is None:
            errors[name] = (N_("Unknown agency."), {})
    script = None
    if data.script_version_id is not None:
        script = session.get(IntakeScript, data.script_version_id)
        if script is None:
            errors["script_version_id"] = (N_("Unknown script version: please reload the page "
                                              "and choose the category again."), {})

    def switched_off(code: str | None) -> bool:
        setting = session.get(CategorySetting, code) if code else None
        return setting is not None and not setting.active

    if category is not None and switched_off(category):
        errors["incident.category"] = (N_("This category is no longer in use: choose another "
                                          "one."), {})
    if script is not None:
        if switched_off(script.category):
            errors["script_version_id"] = (N_("This category is no longer in use: choose "
                                              "another one."), {})
        elif category is not None and script.category != category:
            errors["script_version_id"] = (N_("The script shown is for another category than "
                                              "the incident's: choose the category again."), {})
    if data.script_answers:
        if data.script_version_id is None:
            errors["script_answers"] = (N_("Questions can be recorded only with the script "
                                           "they come from: choose the category again."), {})
        elif script is not None:
            asked = max(len(script.questions_th), len(script.questions_en))
            if any(a.question >= asked for a in data.script_answers):
                errors["script_answers"] = (N_("Unknown question of this script version: "
                                               "please reload the page and choose the "
                                               "category again."), {})
    if errors:
        raise ValidationFailed(errors)


def _keep_answers(call: Call, data) -> None:
    """The questions of the script version asked (and answered) on the call."""
    for item in data.script_answers:
        call.script_answers.append(CallScriptAnswer(
            script_version_id=data.script_version_id, question_index=item.question,
            answer=item.answer))


def _announce_referral(session: Session, call: Call, by: User, agency_id: int | None,
                       incident=None) -> None:
    """A referral recorded at intake: case management follows it up (a case, and the referral
    in it), subscribed by the app factory."""
    if agency_id is not None:
        domain_events.announce(session, domain_events.CALL_REFERRED, call=call,
                               agency_id=agency_id, incident=incident, by=by)


def close_at_intake(*, session: Session, data: CloseCallIn, by: User) -> Call:
    """Log a call that needs no team (advice, referral elsewhere, hoax...) and close it."""
    _check_intake_refs(session, data)
    call = _new_call(session, data, by)
    call.outcome = data.outcome
    call.agency_id = data.agency_id
    call.script_version_id = data.script_version_id
    _keep_answers(call, data)
    call.province_code = data.province_code or call.province_code or by.province_code
    call.closed_at = utcnow() if call.call_sid else call.created_at
    session.add(call)
    session.flush()
    record_audit(session=session, actor_id=by.id, action="call.closed", entity="call",
                 entity_id=call.id, detail={"outcome": call.outcome.value})
    events.call_logged(session=session, call=call)
    # NOTE: case management opens a case for calls referred elsewhere or needing follow-up.
    domain_events.announce(session, domain_events.CALL_CLOSED, call=call, by=by)
    if call.outcome is CallOutcome.REFERRED_ELSEWHERE:
        _announce_referral(session, call, by, call.agency_id)
    return call


def log_call_with_incident(
    *, session: Session, data: CallWithIncidentIn, by: User
) -> tuple[Call, Incident]:
    """Log a call and open its incident in one transaction (with the agency the caller was
    also referred to, if any)."""
    _check_intake_refs(session, data, category=data.incident.category.value)
    call = _new_call(session, data, by)
    call.outcome = CallOutcome.INCIDENT_CREATED
    call.agency_id = data.referral_agency_id
    call.script_version_id = data.script_version_id
    _keep_answers(call, data)
    session.add(call)
    session.flush()
    try:
        incident = dispatch_service.create_incident(
            session=session, data=data.incident, by=by, call_id=call.id, source=data.source,
            summary=data.summary, source_link=data.source_link, source_org=data.source_org,
        )
    except ValidationFailed as exc:
        raise prefixed(exc, "incident.") from None
    call.province_code = incident.province_code
    call.closed_at = utcnow()
    record_audit(session=session, actor_id=by.id, action="call.incident", entity="call",
                 entity_id=call.id, detail={"incident_id": incident.id})
    session.flush()
    events.call_logged(session=session, call=call)
    _announce_referral(session, call, by, call.agency_id, incident=incident)
    return call, incident


def script_answers(*, session: Session, call_id: int | None, thai: bool) -> dict | None:
    """The guided-intake questions asked on a call (with the caller's short answers), as the
    incident page shows them: the script's category and version, and each question in the
    page's language (Thai when the English is missing). None when none were recorded. The
    caller reads it only where the call itself may be read."""
    call = session.get(Call, call_id) if call_id is not None else None
    if call is None or not call.script_answers:
        return None
    script = call.script_answers[0].script
    return {"call_id": call.id, "category": script.category, "version": script.version,
            "answers": [{"question": a.question(thai=thai), "index": a.question_index,
                         "answer": a.answer} for a in call.script_answers]}


def recent_calls(*, session: Session, user: User, limit: int = 20) -> list[Call]:
    """The user's own most recent calls."""
    return list(session.scalars(
        select(Call).where(Call.taken_by_id == user.id).order_by(Call.id.desc()).limit(limit)
    ))


def call_ids_since(*, session: Session, user: User, since) -> list[int]:
    """Ids of calls logged since a time in the user's scope (the board counts them once)."""
    stmt = select(Call.id).where(Call.created_at >= since)
    if not user.is_national:
        stmt = stmt.where(Call.province_code == user.province_code)
    return list(session.scalars(stmt))


# --- numbers and provinces ---------------------------------------------------------------

def carrier_number(raw: str | None) -> str | None:
    """A number as the carrier sent it: Thai numbers in E.164, others kept; withheld = None."""
    text = re.sub(r"[\s\-().]", "", raw or "")
    if not text or not re.fullmatch(r"\+?[0-9]{3,19}", text):
        return None  # "anonymous", "restricted", "" ...
    try:
        return normalize_thai_phone(text)
    except FieldError:
        return text if text.startswith("+") else None


def parse_number_map(text: str) -> dict[str, str]:
    """TWILIO_NUMBERS "0551234567=65,053123456=50" -> {E.164 number: province code}."""
    mapping: dict[str, str] = {}
    for item in (text or "").split(","):
        number, sep, code = item.partition("=")
        if not sep or not code.strip():
            continue
        e164 = carrier_number(number.strip())
        if e164:
            mapping[e164] = code.strip()
    return mapping


def province_for_line(*, called: str | None, mapping: dict[str, str],
                      default: str | None) -> str | None:
    """The province whose queue a call to this line joins (None = the national queue)."""
    return mapping.get(carrier_number(called) or "", default or None)


# --- caller flags --------------------------------------------------------------------------

def _active_flag_clause(now: datetime):
    return (CallerFlag.active.is_(True)) & (
        or_(CallerFlag.expires_at.is_(None), CallerFlag.expires_at > now))


def active_flags(*, session: Session, number: str | None,
                 now: datetime | None = None) -> list[CallerFlag]:
    """Flags acting on a number now (expired ones stop acting by themselves)."""
    if not number:
        return []
    stmt = select(CallerFlag).where(CallerFlag.number == number,
                                    _active_flag_clause(now or utcnow()))
    return list(session.scalars(stmt.order_by(CallerFlag.id)))


def list_active_flags(*, session: Session, user: User,
                      now: datetime | None = None) -> list[CallerFlag]:
    """Flags acting now in the user's province (national users: all), newest first."""
    stmt = select(CallerFlag).where(_active_flag_clause(now or utcnow()))
    if not user.is_national:
        # NOTE: a flag without a province is national: only national users list it.
        stmt = stmt.where(CallerFlag.province_code == user.province_code)
    return list(session.scalars(stmt.order_by(CallerFlag.id.desc())))


def create_flag(*, session: Session, data: FlagIn, by: User) -> CallerFlag:
    """Flag a number; audited."""
    from datetime import timedelta

    now = utcnow()
    flag = CallerFlag(number=data.number, level=data.level, reason=data.reason,
                      expires_at=now + timedelta(hours=data.hours) if data.hours else None,
                      created_by_id=by.id, province_code=by.province_code, created_at=now)
    session.add(flag)
    session.flush()
    record_audit(session=session, actor_id=by.id, action="flag.created", entity="caller_flag",
                 entity_id=flag.id, detail={"number": phone_tail(flag.number),
                                            "level": flag.level.value,
                                            "reason": flag.reason,
                                            "hours": data.hours,
                                            "province_code": flag.province_code})
    return flag


def lift_flag(*, session: Session, flag_id: int, reason: str, by: User) -> CallerFlag:
    """Lift a flag of the user's province (national users: any); audited. Lifting one that
    no longer acts is refused."""
    flag = session.get(CallerFlag, flag_id)
    if flag is None or not by.can_see_province(flag.province_code):
        raise NotFound("caller_flag")
    now = utcnow()
    if not flag.active or (flag.expires_at is not None and flag.expires_at <= now):
        raise Conflict(N_("This flag is no longer active."))
    flag.active = False
    flag.lifted_by_id = by.id
    flag.lifted_at = now
    flag.lift_reason = reason
    record_audit(session=session, actor_id=by.id, action="flag.lifted", entity="caller_flag",
                 entity_id=flag.id, detail={"number": phone_tail(flag.number),
                                            "reason": reason})
    return flag


# --- who is calling ------------------------------------------------------------------------

_LEVEL_RANK = {FlagLevel.WARN: 1, FlagLevel.LOW_PRIORITY: 2, FlagLevel.SUPERVISOR: 3}
# A protection found only in provinces the viewer cannot see: shown without its details.
OTHER_PROVINCE = "other_province"


@dataclass
class CallerContext:
    """What the screen pop shows about a number, and what the voice menu does with it.

    The context of the queueing decision (`caller_context`) covers every province; what a
    call-taker is shown is `visible_context` of it: only their own province's calls, incidents,
    cases and flags (national users: all).
    """

    number: str | None
    times_called_before: int = 0
    last_contacts: list[Call] = field(default_factory=list)
    open_incidents: list[Incident] = field(default_factory=list)
    open_cases: list[Case] = field(default_factory=list)
    flags: list[CallerFlag] = field(default_factory=list)
    # The province of the call being queued (None: the national queue): its flags act on it.
    call_province: str | None = None
    # A view that leaves provinces out still knows the caller is protected somewhere.
    protected_elsewhere: bool = False
    calls_by_province: dict[str | None, int] = field(default_factory=dict)
    exclude_call_id: int | None = None

    @property
    def protected_because(self) -> list[str]:
        """Why this caller must never be deprioritised (open incident/case, at-risk flag)."""
        why = []
        if self.open_incidents:
            why.append("open_incident")
        if self.open_cases:
            why.append("open_case")
        if any(f.level is FlagLevel.AT_RISK for f in self.flags):
            why.append("at_risk")
        if not why and self.protected_elsewhere:
            why.append(OTHER_PROVINCE)
        return why

    @property
    def acting_flags(self) -> list[CallerFlag]:
        """The flags that route this call: those of the call's own province only."""
        return [f for f in self.flags if f.province_code == self.call_province]

    @property
    def nuisance_level(self) -> FlagLevel | None:
        """The strongest nuisance flag acting on this call."""
        levels = [f.level for f in self.acting_flags if f.level in NUISANCE_LEVELS]
        return max(levels, key=_LEVEL_RANK.__getitem__) if levels else None

    @property
    def applied_level(self) -> FlagLevel | None:
        """The nuisance level the voice menu applies: none for a protected caller."""
        # NOTE: a caller linked to an open incident/case or flagged at risk (in ANY province)
        # is never blocked or deprioritised; the screen pop shows the flag AND the protection.
        return None if self.protected_because else self.nuisance_level


def caller_context(*, session: Session, number: str | None, exclude_call_id: int | None = None,
                   now: datetime | None = None, call_province: str | None = None
                   ) -> CallerContext:
    """History, open incidents and cases, and active flags of a number, in every province
    (the queueing decision; show a call-taker only `visible_context` of it)."""
    ctx = CallerContext(number=number, call_province=call_province,
                        exclude_call_id=exclude_call_id)
    if not number:
        return ctx
    others = select(Call).where(Call.number == number)
    if exclude_call_id is not None:
        others = others.where(Call.id != exclude_call_id)
    sub = others.subquery()
    ctx.calls_by_province = {code: n for code, n in session.execute(
        select(sub.c.province_code, func.count()).group_by(sub.c.province_code))}
    ctx.times_called_before = sum(ctx.calls_by_province.values())
    ctx.last_contacts = list(session.scalars(others.order_by(Call.id.desc()).limit(5)))
    call_ids = select(Call.id).where(Call.number == number)
    linked = select(CallLink.incident_id).join(Call, Call.id == CallLink.call_id).where(
        Call.number == number, CallLink.incident_id.is_not(None))
    ctx.open_incidents = list(session.scalars(
        select(Incident).where(or_(Incident.call_id.in_(call_ids), Incident.id.in_(linked)),
                               Incident.status.in_(OPEN_STATUSES)).order_by(Incident.id)))
    linked_cases = select(CallLink.case_id).join(Call, Call.id == CallLink.call_id).where(
        Call.number == number, CallLink.case_id.is_not(None))
    # NOTE: a case opened by a call itself (closed at intake, or a referral recorded there)
    # has no incident: it is the caller's through Case.call_id.
    ctx.open_cases = list(session.scalars(
        select(Case).outerjoin(Incident, Incident.id == Case.incident_id)
        .where(or_(Incident.call_id.in_(call_ids), Case.call_id.in_(call_ids),
                   Case.id.in_(linked_cases)),
               Case.status != CaseStatus.CLOSED).order_by(Case.id)))
    ctx.flags = active_flags(session=session, number=number, now=now)
    return ctx


def visible_context(*, session: Session, ctx: CallerContext, scope: str | None
                    ) -> CallerContext:
    """What desk staff of a province (`scope`; None = national) may see of a caller context:
    only that province's calls, incidents, cases and flags. The routing stays as decided: a
    protection found elsewhere shows as "other_province", without its details."""
    if scope is None:
        return ctx
    view = CallerContext(
        number=ctx.number, call_province=ctx.call_province,
        exclude_call_id=ctx.exclude_call_id,
        times_called_before=ctx.calls_by_province.get(scope, 0),
        open_incidents=[i for i in ctx.open_incidents if i.province_code == scope],
        open_cases=[c for c in ctx.open_cases if c.province_code == scope],
        flags=[f for f in ctx.flags if f.province_code == scope],
        protected_elsewhere=bool(ctx.protected_because),
    )
    view.calls_by_province = {scope: view.times_called_before}
    if ctx.number and view.times_called_before:
        stmt = select(Call).where(Call.number == ctx.number, Call.province_code == scope)
        if ctx.exclude_call_id is not None:
            stmt = stmt.where(Call.id != ctx.exclude_call_id)
        view.last_contacts = list(session.scalars(stmt.order_by(Call.id.desc()).limit(5)))
    return view


def user_scope(user: User) -> str | None:
    """The province a user's views are limited to (None: national)."""
    return None if user.is_national else user.province_code


def visible_links(*, session: Session, links: list[CallLink], scope: str | None
                  ) -> list[CallLink]:
    """The keyed-in incident/case links of a call whose incident or case the scope covers."""
    if scope is None:
        return links
    out = []
    for link in links:
        found = (session.get(Incident, link.incident_id) if link.incident_id is not None
                 else session.get(Case, link.case_id) if link.case_id is not None else None)
        if found is not None and found.province_code == scope:
            out.append(link)
    return out


def queue_name(*, province_code: str | None, level: FlagLevel | None) -> str:
    """The carrier queue: per province; low priority and supervisors get their own."""
    base = province_code or "national"
    if level is FlagLevel.SUPERVISOR:
        return f"{base}-{SUPERVISOR_QUEUE}"
    if level is FlagLevel.LOW_PRIORITY:
        return f"{base}-{LOW_QUEUE}"
    return base


def is_supervisor_queue(queue: str | None) -> bool:
    """Whether only supervisors answer calls of this queue."""
    return bool(queue) and queue.endswith("-" + SUPERVISOR_QUEUE)


# --- the inbound call's life cycle (driven by the carrier's webhooks) ----------------------

def callback_once(*, session: Session, call_sid: str, kind: str, params: dict) -> bool:
    """Remember one carrier callback; False when this CallSid + kind was seen before."""
    if session.scalar(select(CallEvent.id).where(CallEvent.call_sid == call_sid,
                                                 CallEvent.kind == kind)):
        return False
    try:
        with session.begin_nested():
            session.add(CallEvent(call_sid=call_sid, kind=kind, params=params))
    except IntegrityError:
        return False  # NOTE: the same callback delivered twice at once: the other one won.
    return True


def find_call(*, session: Session, call_sid: str) -> Call | None:
    """The call the carrier knows by this CallSid."""
    return session.scalar(select(Call).where(Call.call_sid == call_sid))


def start_inbound_call(*, session: Session, call_sid: str, from_: str | None, to: str | None,
                       province_code: str | None) -> Call:
    """The call record of a carrier call, created on first sight (repeats return it)."""
    call = find_call(session=session, call_sid=call_sid)
    if call is not None:
        return call
    now = utcnow()
    call = Call(call_sid=call_sid, number=carrier_number(from_), called_number=carrier_number(to),
                province_code=province_code, summary="", status=CallStatus.RINGING,
                ring_at=now, created_at=now)
    try:
        with session.begin_nested():
            session.add(call)
    except IntegrityError:
        call = find_call(session=session, call_sid=call_sid)
        if call is None:
            raise
    return call


def choose_reason(*, session: Session, call: Call, digits: str) -> CallReason:
    """The caller's menu choice: 2 advice, 3 existing case, anything else (or nothing) danger."""
    reason = {"2": CallReason.ADVICE, "3": CallReason.EXISTING}.get((digits or "").strip()[:1],
                                                                  CallReason.DANGER)
    if call.reason is None:
        call.reason = reason
    return call.reason


def link_by_ref(*, session: Session, call: Call, digits: str) -> list[CallLink]:
    """Link the call to the incidents/cases whose reference digits the caller keyed in."""
    wanted = re.sub(r"\D", "", digits or "")
    if not wanted or len(wanted) > 20:
        return []
    links = []
    for model, key in ((Incident, "incident_id"), (Case, "case_id")):
        digits_only = func.replace(model.ref, "-", "")
        if model is Case:
            digits_only = func.replace(digits_only, "C", "")
        for found in session.scalars(select(model).where(digits_only == wanted)):
            link = session.scalar(select(CallLink).where(
                CallLink.call_id == call.id, getattr(CallLink, key) == found.id))
            if link is None:
                link = CallLink(call_id=call.id, ref=found.ref, **{key: found.id})
                session.add(link)
            links.append(link)
    session.flush()
    return links


def queue_call(*, session: Session, call: Call) -> str:
    """Put the call in its queue (flags applied) and pop it on the right call-takers' screens:
    national rooms get the whole history, the province's room only that province's part."""
    ctx = caller_context(session=session, number=call.number, exclude_call_id=call.id,
                         call_province=call.province_code)
    queue = queue_name(province_code=call.province_code, level=ctx.applied_level)
    first = call.queue is None
    call.queue = queue
    if call.status not in FINAL_STATUSES:
        call.status = CallStatus.QUEUED
    session.flush()
    if first:
        links = call_links(session=session, call=call)
        local = None
        if call.province_code is not None:
            local = (visible_context(session=session, ctx=ctx, scope=call.province_code),
                     visible_links(session=session, links=links, scope=call.province_code))
        events.call_ringing(session=session, call=call, context=ctx, links=links,
                            provincial=local)
    return queue


def call_links(*, session: Session, call: Call) -> list[CallLink]:
    """The incidents and cases a call was linked to."""
    return list(session.scalars(select(CallLink).where(CallLink.call_id == call.id)
                                .order_by(CallLink.id)))


_STATUS_FROM_CARRIER = {
    "queued": CallStatus.QUEUED, "initiated": CallStatus.QUEUED, "ringing": CallStatus.RINGING,
    "in-progress": CallStatus.IN_PROGRESS, "answered": CallStatus.IN_PROGRESS,
    "completed": CallStatus.COMPLETED, "busy": CallStatus.BUSY,
    "no-answer": CallStatus.NO_ANSWER, "failed": CallStatus.FAILED,
    "canceled": CallStatus.CANCELED,
}


def carrier_status(raw: str | None) -> CallStatus | None:
    """The carrier's CallStatus as ours (None when unknown)."""
    return _STATUS_FROM_CARRIER.get((raw or "").strip().lower())


def apply_status(*, session: Session, call: Call, status: CallStatus) -> Call:
    """A status callback: stamp ring/connect/end times; a final status is never left."""
    now = utcnow()
    if status is CallStatus.RINGING:
        call.ring_at = call.ring_at or now
    elif status is CallStatus.IN_PROGRESS:
        call.connected_at = call.connected_at or now
    if call.status in FINAL_STATUSES:
        return call
    if status in FINAL_STATUSES:
        call.status = status
        call.ended_at = call.ended_at or now
        call.talk_seconds = (max(0, int((call.ended_at - call.answered_at).total_seconds()))
                             if call.answered_at else 0)
        # Nobody answered (busy, no answer, hung up in the queue): call them back.
        if call.answered_at is None and call.number and (
                status in MISSED_STATUSES or status is CallStatus.COMPLETED):
            call.needs_callback = True
        events.call_updated(session=session, call=call)
    elif status is CallStatus.IN_PROGRESS and call.status in (CallStatus.RINGING, None):
        call.status = status
    elif status is CallStatus.RINGING and call.status is None:
        call.status = status
    return call


def attach_recording(*, session: Session, call: Call, url: str | None,
                     seconds: str | int | None) -> Call:
    """A voice message left after nobody answered: keep it and flag the call for call-back.
    Only an https address on a Twilio host is kept as its link."""
    if twilio_recording_url(url):
        call.recording_url = url.strip()
    try:
        call.recording_seconds = int(seconds) if seconds not in (None, "") else None
    except (TypeError, ValueError):
        call.recording_seconds = None
    if call.answered_at is None:
        call.needs_callback = True
    events.call_updated(session=session, call=call)
    return call


def mark_bridged(*, session: Session, call: Call) -> Call:
    """The carrier connected the call to someone from the queue."""
    call.answered_at = call.answered_at or utcnow()
    return call


# --- the console's side --------------------------------------------------------------------

def get_call(*, session: Session, call_id: int, user: User) -> Call:
    """A call in the user's province (404 otherwise)."""
    call = session.get(Call, call_id)
    if call is None or not user.can_see_province(call.province_code):
        raise NotFound("call")
    return call


def accept_call(*, session: Session, call_id: int, by: User) -> Call:
    """A call-taker takes a ringing/queued voice call: answered by them, now."""
    call = get_call(session=session, call_id=call_id, user=by)
    if call.call_sid is None:
        raise Conflict(N_("This call did not come through the phone line."))
    if is_supervisor_queue(call.queue) and by.role not in _SUPERVISOR_ROLES:
        raise Forbidden(N_("Only a supervisor can take this call."))
    if call.taken_by_id is not None:
        raise Conflict(N_("Someone else already took this call."))
    if call.status in FINAL_STATUSES or call.closed_at is not None:
        raise Conflict(N_("This call has already ended."))
    # NOTE: a conditional UPDATE, so two call-takers pressing Accept at once: one wins.
    now = utcnow()
    taken = session.execute(
        update(Call).where(Call.id == call.id, Call.taken_by_id.is_(None),
                           Call.closed_at.is_(None),
                           or_(Call.status.is_(None), Call.status.not_in(FINAL_STATUSES)))
        .values(taken_by_id=by.id, answered_at=now, status=CallStatus.IN_PROGRESS)
        .execution_options(synchronize_session=False)
    ).rowcount
    if taken != 1:
        raise Conflict(N_("Someone else already took this call."))
    session.refresh(call)
    record_audit(session=session, actor_id=by.id, action="call.accepted", entity="call",
                 entity_id=call.id)
    events.call_updated(session=session, call=call)
    return call


def connect_target(*, call: Call, by: User) -> str | None:
    """The officer's phone the accepted caller is put through to (softphone answering is not
    built); None when the officer has no phone on file (the caller stays in the queue)."""
    if not by.phone or not call.call_sid:
        return None
    return by.phone


def call_still_waiting(call: Call | None, user_id: int) -> bool:
    """The accepted call is still live and still this officer's (else: nothing to connect)."""
    return (call is not None and call.taken_by_id == user_id and call.closed_at is None
            and call.status not in FINAL_STATUSES)


def record_connect(*, session: Session, call: Call, by_id: int, to: str,
                   result: ProviderResult) -> None:
    """Audit one try of putting the caller through (its result either way)."""
    record_audit(session=session, actor_id=by_id, action="call.connected", entity="call",
                 entity_id=call.id, detail={"status": result.status, "error": result.error,
                                            "to": to})
    session.flush()


def callbacks(*, session: Session, user: User, limit: int = 200) -> list[Call]:
    """Missed calls and voice messages to call back: by priority, then the oldest first."""
    order = sa_case({r.value: p for r, p in REASON_PRIORITY.items()}, value=Call.reason,
                    else_=1)
    stmt = select(Call).where(Call.needs_callback.is_(True))
    if not user.is_national:
        stmt = stmt.where(Call.province_code == user.province_code)
    return list(session.scalars(stmt.order_by(order, Call.created_at, Call.id).limit(limit)))


def _record(session: Session, *, kind: MessageKind, provider: TelephonyProvider, to: str,
            body: str, result: ProviderResult, **links) -> OutboundMessage:
    msg = OutboundMessage(kind=kind, provider=provider.name, to_number=to, body=body,
                          provider_sid=result.sid, status=result.status,
                          error=result.error or "", **links)
    session.add(msg)
    return msg


def check_call_back(*, session: Session, call_id: int, by: User) -> Call:
    """A call the user may call back (in their province, with a number)."""
    call = get_call(session=session, call_id=call_id, user=by)
    if not call.number:
        raise DomainError(N_("The number was withheld: it cannot be called back."))
    return call


def record_call_back(*, session: Session, call: Call, by_id: int, provider: TelephonyProvider,
                     twiml: str, result: ProviderResult) -> OutboundMessage:
    """Keep one call-back try and its result; a placed call leaves the call-back list."""
    msg = _record(session, kind=MessageKind.CALLBACK, provider=provider, to=call.number,
                  body=twiml, result=result, call_id=call.id, sent_by_id=by_id)
    if result.ok:
        call.needs_callback = False
    session.flush()
    record_audit(session=session, actor_id=by_id, action="call.callback", entity="call",
                 entity_id=call.id, detail={"status": result.status, "error": result.error,
                                            "message_id": msg.id})
    events.call_updated(session=session, call=call)
    return msg


def location_link(incident: Incident, template: str = "") -> str:
    """A link to the incident's place: geo:lat,lon, or the configured https map template."""
    if incident.lat is None or incident.lon is None:
        return ""
    lat, lon = f"{incident.lat:.6f}", f"{incident.lon:.6f}"
    if template:
        return template.format(lat=lat, lon=lon)
    return f"geo:{lat},{lon}"


def team_sms_text(*, incident: Incident, link_base: str, map_link_template: str = "",
                  locale: str = "th") -> str:
    """The assignment SMS in one member's language (needs an app context for translations)."""
    from flask_babel import force_locale, gettext

    from console.labels import label

    with force_locale(locale):
        text = gettext("1300: new job %(ref)s, %(category)s, %(priority)s.") % {
            "ref": incident.ref, "category": label("category", incident.category),
            "priority": label("priority", incident.priority)}
        where = location_link(incident, map_link_template)
        if where:
            text += " " + gettext("Place: %(link)s") % {"link": where}
        text += " " + gettext("Open: %(link)s") % {
            "link": link_base.rstrip("/") + "/desk/team"}
    return text


def record_sms(*, session: Session, provider: TelephonyProvider, to: str, body: str,
               result: ProviderResult, **links) -> OutboundMessage:
    """Keep one SMS try and its result (failures stay visible on the incident)."""
    msg = _record(session, kind=MessageKind.SMS, provider=provider, to=to, body=body,
                  result=result, **links)
    session.flush()
    return msg


def alarm_sms_text(*, kind_label: str, team_name: str, incident_ref: str | None,
                   link_base: str, locale: str = "th") -> str:
    """The SMS that tells a supervisor about an alarm (needs an app context)."""
    from flask_babel import force_locale, gettext

    with force_locale(locale):
        text = gettext("1300 ALARM: %(kind)s, team %(team)s.") % {"kind": kind_label,
                                                                   "team": team_name}
        if incident_ref:
            text += " " + gettext("Job %(ref)s.") % {"ref": incident_ref}
        text += " " + gettext("Open: %(link)s") % {
            "link": link_base.rstrip("/") + "/desk/supervisor"}
    return text


def team_members_to_text(*, session: Session, team_id: int) -> list[User]:
    """The active members of a team who have a phone (they get the offer SMS)."""
    return list(session.scalars(select(User).where(User.team_id == team_id,
                                                   User.active.is_(True),
                                                   User.phone.is_not(None)).order_by(User.id)))


def messages_for_incident(*, session: Session, incident_id: int, user: User
                          ) -> list[OutboundMessage]:
    """The SMS sent about an incident, with their results (the dispatcher sees failures)."""
    incident = session.get(Incident, incident_id)
    if incident is None or not user.can_see_province(incident.province_code):
        raise NotFound("incident")
    return list(session.scalars(select(OutboundMessage).where(
        OutboundMessage.incident_id == incident_id).order_by(OutboundMessage.id)))


def waiting_calls(*, session: Session, user: User) -> list[Call]:
    """Voice calls queued in the user's scope that nobody has taken yet (oldest first)."""
    stmt = select(Call).where(Call.status == CallStatus.QUEUED, Call.taken_by_id.is_(None))
    if not user.is_national:
        stmt = stmt.where(Call.province_code == user.province_code)
    calls = list(session.scalars(stmt.order_by(Call.created_at, Call.id)))
    if user.role not in _SUPERVISOR_ROLES:
        calls = [c for c in calls if not is_supervisor_queue(c.queue)]
    if not user.is_national:
        # NOTE: with a duty roster, a call is the on-duty call-takers' alone during the wait.
        from telephony import routing

        now = utcnow()
        calls = [c for c in calls
                 if not routing.held_for_on_duty(session, c, user.id, now)]
    return calls


def answer_time_stats(*, session: Session, user: User, since) -> dict[str, float | int | None]:
    """NENA-STA-020: of the phone-line calls offered since a time, how many were answered
    within 15 s and 20 s of ringing (targets 90% and 95%); abandoned calls count as missed."""
    stmt = select(Call.ring_at, Call.answered_at).where(
        Call.call_sid.is_not(None), Call.ring_at.is_not(None), Call.ring_at >= since)
    if not user.is_national:
        stmt = stmt.where(Call.province_code == user.province_code)
    offered = within_15 = within_20 = 0
    for ring_at, answered_at in session.execute(stmt):
        offered += 1
        if answered_at is not None:
            wait = (answered_at - ring_at).total_seconds()
            within_15 += wait <= 15
            within_20 += wait <= 20
    return {
        "offered": offered, "within_15": within_15, "within_20": within_20,
        "pct_15": round(100 * within_15 / offered, 1) if offered else None,
        "pct_20": round(100 * within_20 / offered, 1) if offered else None,
    }
