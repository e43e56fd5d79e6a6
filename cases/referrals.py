"""Consent and closed-loop referrals: the case worker refers a case to an agency of the
directory; the agency opens a signed, expiring, single-purpose link (no account), acknowledges,
accepts or declines with a reason and reports the outcome; every step and every open comes back
to the case timeline live. What the agency sees is only what the client's consent allows."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from cases import events, flows, reminders
from cases.enums import REFERRAL_TRANSITIONS, CaseStatus, ConsentItem, ReferralStatus
from cases.models import Agency, Case, CaseTimelineEntry, Consent, Referral, ReferralEvent
from cases.reminders import ReminderSettings
from cases.schemas import ConsentIn, ReferralIn, mask_thai_id
from cases.service import _case_for_work, _open_for_work
from console.db import utcnow
from console.errors import N_, Conflict, DomainError, IllegalTransition, NotFound, ValidationFailed
from console.models import User
from console.service import record_audit

SALT = "referral-link"


@dataclass(frozen=True)
class ReferralSettings:
    """How long links live and how soon each step is due, by the case's risk level."""

    secret: str
    link_days: int = 14
    # Deadlines per step and risk level (config REFERRAL_*_HOURS); None: the defaults.
    deadlines: ReminderSettings | None = None
    # The public address links are sent with (PUBLIC_BASE_URL, else the request's host).
    link_base: str = "http://localhost"

    def steps(self) -> ReminderSettings:
        """The deadlines in force."""
        return self.deadlines or ReminderSettings.from_config({})


class LinkRefused(DomainError):
    """A referral link that is tampered with, expired or revoked: a clear page, nothing changes."""

    status = 410


def _serializer(settings: ReferralSettings) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(settings.secret, salt=SALT)


def nonce_hash(nonce: str) -> str:
    """What a row keeps of a link's nonce (never the nonce)."""
    return hashlib.sha256(nonce.encode()).hexdigest()


def signed_row(session: Session, token: str, *, secret: str, salt: str, days: int, key: str,
               model, words: tuple[str, str, str]):
    """The row a signed, single-purpose link names (a referral's, a volunteer task's): its id
    under `key` and its nonce under "n", signed with `secret` and `salt`; refused (LinkRefused,
    with `words`: expired, not valid, withdrawn) when the link is older than `days`, tampered
    with, or the row no longer keeps the hash of that nonce (revoked, done)."""
    expired, invalid, withdrawn = words
    try:
        data = URLSafeTimedSerializer(secret, salt=salt).loads(token, max_age=days * 86400)
    except SignatureExpired:
        raise LinkRefused(expired) from None
    except BadSignature:
        raise LinkRefused(invalid) from None
    row = session.get(model, data.get(key)) if isinstance(data, dict) else None
    if row is None or row.nonce_hash is None \
            or not secrets.compare_digest(row.nonce_hash, nonce_hash(str(data.get("n")))):
        raise LinkRefused(withdrawn)
    return row


def record_consent(*, session: Session, case_id: int, data: ConsentIn, by: User) -> Consent:
    """Record what the client agreed to share, with which agency, given when."""
    from datetime import date

    case = _open_for_work(session, case_id, by)
    if data.agency_id is not None and session.get(Agency, data.agency_id) is None:
        raise ValidationFailed({"agency_id": (N_("Choose an agency from the list."), {})})
    now = utcnow()
    consent = Consent(agency_id=data.agency_id, items=[i.value for i in data.items],
                      given_on=date.fromisoformat(data.given_on), recorded_at=now,
                      recorded_by_id=by.id)
    case.consents.append(consent)
    case.timeline.append(CaseTimelineEntry(at=now, actor_id=by.id, source="case",
                                           kind="consent", detail={"items": consent.items,
                                                                   "agency_id": data.agency_id}))
    session.flush()
    record_audit(session=session, actor_id=by.id, action="case.consent", entity="case",
                 entity_id=case.id, detail={"consent_id": consent.id}, at=now)
    events.case_updated(session=session, case=case)
    return consent


def allowed_items(case: Case, agency_id: int) -> set[str]:
    """What the client's standing consents let this agency see."""
    allowed: set[str] = set()
    for consent in case.consents:
        if consent.withdrawn_at is None and consent.agency_id in (None, agency_id):
            allowed.update(consent.items)
    return allowed


def _shared(case: Case, items: set[str]) -> dict:
    """The data frozen into a referral: the minimum, and only what consent allows."""
    client = next((p for p in case.people if p.role and p.role.value == "client"), None)
    shared: dict = {"case_ref": case.ref, "category": case.category,
                    "province_code": case.province_code, "district_code": case.district_code,
                    "items": sorted(items)}
    if ConsentItem.STORY.value in items:
        shared["summary"] = case.summary
        if case.assessment is not None:
            shared["needs"] = case.assessment.needs
    if client is not None:
        if ConsentItem.IDENTITY.value in items:
            shared["client_name"] = client.full_name
            shared["national_id"] = mask_thai_id(client.national_id)
            shared["age_years"] = client.age_years
        if ConsentItem.CONTACT.value in items:
            shared["phone"] = client.phone
        if ConsentItem.ADDRESS.value in items:
            shared["address_text"] = client.address_text or case.address_text
        if ConsentItem.HEALTH.value in items and case.assessment is not None:
            shared["health"] = case.assessment.health
    return shared


def send_referral(*, session: Session, case_id: int, data: ReferralIn, by: User,
                  settings: ReferralSettings) -> tuple[Referral, str]:
    """Refer a case to an agency: freeze what consent allows, make the link, set the deadlines.
    Returns the referral and its link token (shown once, to send by SMS, LINE or letter)."""
    case = _open_for_work(session, case_id, by)
    agency = session.get(Agency, data.agency_id)
    if agency is None or agency.province_code not in (None, case.province_code):
        raise ValidationFailed({"agency_id": (N_("Choose an agency that serves this province."),
                                              {})})
    allowed = allowed_items(case, agency.id)
    asked = {i.value for i in data.items}
    refused = asked - allowed
    if refused:
        raise ValidationFailed({"items": (N_("The client has not agreed to share this with this "
                                             "agency: record the consent first."), {})})
    if case.status in (CaseStatus.INTAKE, CaseStatus.FACT_FINDING):
        raise IllegalTransition(N_("Refer a case once its fact-finding is done (planning or "
                                   "later)."))
    now = utcnow()
    nonce = secrets.token_urlsafe(24)
    referral = Referral(
        agency_id=agency.id, service=data.service, status=ReferralStatus.SENT,
        shared=_shared(case, asked), nonce_hash=nonce_hash(nonce),
        link_expires_at=now + timedelta(days=settings.link_days),
        sent_at=now, sent_by_id=by.id, channel=flows.channel_for(agency))
    reminders.referral_deadlines(referral=referral, case=case, settings=settings.steps(),
                                 now=now)
    case.referrals.append(referral)
    session.flush()
    referral.nonce_sealed = flows.seal_nonce(nonce, secret=settings.secret,
                                             referral_id=referral.id)
    reminders.on_referral_step(session, referral=referral, case=case, settings=settings.steps(),
                               now=now)
    # NOTE: queued in this transaction: a referral that is not committed sends nothing.
    flows.send_link(session=session, referral=referral, case=case, link_base=settings.link_base)
    referral.events.append(ReferralEvent(at=now, kind="sent", note=data.service))
    case.timeline.append(CaseTimelineEntry(at=now, actor_id=by.id, source="case",
                                           kind="referral_sent", note=agency.name_th,
                                           detail={"referral_id": referral.id}))
    record_audit(session=session, actor_id=by.id, action="referral.sent", entity="case",
                 entity_id=case.id, detail={"referral_id": referral.id, "agency_id": agency.id,
                                            "items": sorted(asked),
                                            "channel": referral.channel.value}, at=now)
    events.case_updated(session=session, case=case)
    events.referral_changed(session=session, referral=referral, case=case, now=now)
    token = _serializer(settings).dumps({"r": referral.id, "n": nonce})
    return referral, token


def settings_from_app() -> ReferralSettings | None:
    """The referral settings of the running app (None outside one): for the referrals made by
    a domain event rather than a case desk route."""
    from flask import current_app, has_app_context, has_request_context, request

    if not has_app_context():
        return None
    cfg = current_app.config
    base = cfg.get("PUBLIC_BASE_URL") or (request.host_url.rstrip("/")
                                          if has_request_context() else "http://localhost")
    return ReferralSettings(secret=cfg["SECRET_KEY"], link_days=cfg["REFERRAL_LINK_DAYS"],
                            deadlines=ReminderSettings.from_config(cfg), link_base=base)


def on_call_referred(*, session: Session, call, agency_id: int, incident, by: User | None
                     ) -> Referral:
    """Domain event `call.referred` (a referral recorded at intake, telephony/service.py): the
    person's open case takes the referral (and a line about the call), else a case is opened
    for follow-up as for a call closed at intake (with the incident the call opened, if any).
    The referral carries only the case number, problem and area (no consent was recorded at
    intake); the agency's link goes out as for any referral."""
    from cases.service import open_case_from_call, person_open_case

    province = (incident.province_code if incident is not None else None) or call.province_code
    case = person_open_case(session=session, number=call.number, province_code=province,
                            exclude_call_id=call.id)
    now = utcnow()
    if case is None:
        case = open_case_from_call(session=session, call=call, by=by, incident=incident)
    else:
        case.timeline.append(CaseTimelineEntry(
            at=now, actor_id=by.id if by else None, source="case", kind="intake_call",
            note=call.summary, detail={"call_id": call.id,
                                       "incident_id": incident.id if incident else None}))
    return record_intake_referral(session=session, case=case, agency_id=agency_id, call=call,
                                  by=by, now=now)


def record_intake_referral(*, session: Session, case: Case, agency_id: int, call,
                           by: User | None, now: datetime) -> Referral:
    """The referral a call-taker recorded at intake, in its case: sent, with deadlines, its
    link to the agency (when the app's settings are at hand) and a line on the timeline."""
    from admin.models import CategorySetting
    from dispatch.enums import Category

    agency = session.get(Agency, agency_id)
    if agency is None:
        raise ValidationFailed({"agency_id": (N_("Unknown agency."), {})})
    settings = settings_from_app()
    steps = settings.steps() if settings else ReminderSettings.from_config({})
    try:
        setting = session.get(CategorySetting, case.category) or CategorySetting.default(
            Category(case.category))
        service = setting.name_th
    except ValueError:
        service = case.category
    nonce = secrets.token_urlsafe(24)
    referral = Referral(
        agency_id=agency.id, service=f"{service}: ส่งต่อจากการรับแจ้งสายด่วน 1300"[:300],
        status=ReferralStatus.SENT, shared={**_shared(case, set()), "at_intake": True},
        nonce_hash=nonce_hash(nonce) if settings else None,
        link_expires_at=now + timedelta(days=settings.link_days if settings else 14),
        sent_at=now, sent_by_id=by.id if by else None, channel=flows.channel_for(agency))
    reminders.referral_deadlines(referral=referral, case=case, settings=steps, now=now)
    case.referrals.append(referral)
    session.flush()
    if settings is not None:
        referral.nonce_sealed = flows.seal_nonce(nonce, secret=settings.secret,
                                                 referral_id=referral.id)
        # NOTE: queued in this transaction: a call that is not committed sends nothing.
        flows.send_link(session=session, referral=referral, case=case,
                        link_base=settings.link_base)
    reminders.on_referral_step(session, referral=referral, case=case, settings=steps, now=now)
    referral.events.append(ReferralEvent(at=now, kind="sent", note="intake"))
    case.timeline.append(CaseTimelineEntry(at=now, actor_id=by.id if by else None,
                                           source="case", kind="referral_sent",
                                           note=agency.name_th,
                                           detail={"referral_id": referral.id,
                                                   "call_id": call.id, "at_intake": True}))
    record_audit(session=session, actor_id=by.id if by else None, action="referral.sent",
                 entity="case", entity_id=case.id,
                 detail={"referral_id": referral.id, "agency_id": agency.id, "items": [],
                         "channel": referral.channel.value, "call_id": call.id,
                         "at_intake": True}, at=now)
    session.flush()
    events.case_updated(session=session, case=case)
    events.referral_changed(session=session, referral=referral, case=case, now=now)
    return referral


def open_link(*, session: Session, token: str, settings: ReferralSettings, ip: str | None,
              for_step: bool = False) -> Referral:
    """The referral a link names, if its signature holds, it has not expired and it was not
    revoked; every open is logged with the address."""
    expired = N_("This referral link has expired. Please ask the social worker who sent it for "
                 "a new one.")
    referral = signed_row(session, token, secret=settings.secret, salt=SALT,
                          days=settings.link_days, key="r", model=Referral, words=(
                              expired,
                              N_("This referral link is not valid. Please check that it was "
                                 "copied whole, or ask the social worker who sent it."),
                              N_("This referral link was withdrawn. Please ask the social "
                                 "worker who sent it.")))
    if utcnow() > referral.link_expires_at:
        raise LinkRefused(expired)
    if not for_step:
        referral.events.append(ReferralEvent(at=utcnow(), kind="opened", ip=(ip or "")[:45]))
    return referral


STEP_STAMP = {ReferralStatus.ACKNOWLEDGED: "acknowledged_at",
              ReferralStatus.ACCEPTED: "accepted_at", ReferralStatus.DECLINED: "declined_at",
              ReferralStatus.COMPLETED: "completed_at"}


def agency_step(*, session: Session, token: str, to: ReferralStatus, name: str, note: str,
                settings: ReferralSettings, ip: str | None, version: int | None) -> Referral:
    """The agency's step on its link: acknowledge, accept, decline (reason), report the outcome.
    Two people accepting at once: one wins, the other is told (version)."""
    referral = open_link(session=session, token=token, settings=settings, ip=ip, for_step=True)
    return answer(session=session, referral=referral, to=to, name=name, note=note,
                  settings=settings, ip=ip, version=version)


def answer(*, session: Session, referral: Referral, to: ReferralStatus, name: str, note: str,
           settings: ReferralSettings, ip: str | None, version: int | None,
           by: User | None = None) -> Referral:
    """The agency's step on a referral, from its link or from an agency user's list
    (cases/agency.py; `by`): the same rules, stamps, timeline, audit and live updates."""
    actor = by.id if by is not None else None
    if to not in STEP_STAMP or to not in REFERRAL_TRANSITIONS[referral.status]:
        raise Conflict(N_("This referral has already moved on; the page shows where it stands "
                          "now."))
    if version is not None and version != referral.version:
        raise Conflict(N_("Someone else answered this referral at the same moment; the page "
                          "shows where it stands now."))
    errors = {}
    if not name.strip():
        errors["name"] = (N_("Please give your name."), {})
    if to is ReferralStatus.DECLINED and not note.strip():
        errors["note"] = (N_("Please give the reason for declining."), {})
    if to is ReferralStatus.COMPLETED and not note.strip():
        errors["note"] = (N_("Please describe the outcome."), {})
    if errors:
        raise ValidationFailed(errors)
    now = utcnow()
    referral.status = to
    setattr(referral, STEP_STAMP[to], now)
    referral.responder_name = name.strip()[:120]
    if to is ReferralStatus.DECLINED:
        referral.decline_reason = note.strip()
    if to is ReferralStatus.COMPLETED:
        referral.outcome = note.strip()
    referral.events.append(ReferralEvent(at=now, kind=to.value, ip=(ip or "")[:45],
                                         note=note.strip()))
    case = session.get(Case, referral.case_id)
    case.timeline.append(CaseTimelineEntry(at=now, actor_id=actor, source="case",
                                           kind=f"referral_{to.value}", note=note.strip(),
                                           detail={"referral_id": referral.id,
                                                   "by": referral.responder_name}))
    record_audit(session=session, actor_id=actor, action=f"referral.{to.value}", entity="case",
                 entity_id=case.id, detail={"referral_id": referral.id, "ip": ip})
    try:
        session.flush()
    except StaleDataError:
        raise Conflict(N_("Someone else answered this referral at the same moment; the page "
                          "shows where it stands now.")) from None
    reminders.on_referral_step(session, referral=referral, case=case, settings=settings.steps(),
                               now=now)
    events.case_updated(session=session, case=case)
    events.referral_changed(session=session, referral=referral, case=case, now=now)
    return referral


def revoke(*, session: Session, case_id: int, referral_id: int, reason: str,
           by: User) -> Referral:
    """A supervisor (or the worker) withdraws a referral: its link stops working at once."""
    case = _case_for_work(session, case_id, by)
    referral = next((r for r in case.referrals if r.id == referral_id), None)
    if referral is None:
        raise NotFound("referral")
    if ReferralStatus.REVOKED not in REFERRAL_TRANSITIONS[referral.status]:
        raise Conflict(N_("This referral is finished and cannot be withdrawn."))
    if not reason.strip():
        raise ValidationFailed({"reason": (N_("Please give the reason for this step."), {})})
    now = utcnow()
    referral.status = ReferralStatus.REVOKED
    referral.revoked_at = now
    referral.nonce_hash = None
    referral.nonce_sealed = None
    reminders.cancel(session, now=now, referral_id=referral.id)
    referral.events.append(ReferralEvent(at=now, kind="revoked", note=reason.strip()))
    case.timeline.append(CaseTimelineEntry(at=now, actor_id=by.id, source="case",
                                           kind="referral_revoked", note=reason.strip(),
                                           detail={"referral_id": referral.id}))
    record_audit(session=session, actor_id=by.id, action="referral.revoked", entity="case",
                 entity_id=case.id, detail={"referral_id": referral.id,
                                            "reason": reason.strip()}, at=now)
    session.flush()
    events.case_updated(session=session, case=case)
    events.referral_changed(session=session, referral=referral, case=case, now=now)
    return referral


def overdue(referral: Referral, now: datetime) -> str | None:
    """'ack', 'accept' or 'outcome' when the agency is late on that step, else None."""
    if referral.status is ReferralStatus.SENT and now > referral.ack_due_at:
        return "ack"
    if referral.status in (ReferralStatus.SENT, ReferralStatus.ACKNOWLEDGED) \
            and now > referral.accept_due_at:
        return "accept"
    if referral.status is ReferralStatus.ACCEPTED and referral.outcome_due_at is not None \
            and now > referral.outcome_due_at:
        return "outcome"
    return None
