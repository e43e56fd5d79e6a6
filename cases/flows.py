"""Slow outside work of case management, as jobs: the agency's referral link by SMS, e-mail or
LINE (chosen by the agency's contact), sent again as a reminder when a step is late, and the
reminder SMS to a worker whose plan action is overdue.

The change that causes a message queues its job in its own transaction (a rolled-back referral
sends nothing); the job worker sends it with a timeout, retries with back-off and gives up onto
the failed list the supervisors see. The link itself is never in the job table: the job rebuilds
it from the referral's sealed nonce when it runs, and does nothing once the referral is finished
or withdrawn."""

from __future__ import annotations

import base64
import os
import smtplib
import ssl
from email.message import EmailMessage
from urllib.parse import parse_qs, unquote, urlsplit

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy.orm import Session

from cases.enums import ContactChannel, ReferralStatus
from cases.models import Agency, Case, PlanAction, Referral
from console.errors import N_
from console.models import User
from console.validation import FieldError
from jobs.service import JobContext, JobFailed, Skip, enqueue, task
from telephony.schemas import format_thai_phone, is_thai_mobile, normalize_thai_phone

REFERRAL_LINK = "referral.link"
ACTION_REMINDER = "case.action_reminder"
OPEN_STATUSES = frozenset({ReferralStatus.SENT, ReferralStatus.ACKNOWLEDGED,
                           ReferralStatus.ACCEPTED})


# --- the link's nonce, sealed -------------------------------------------------------------

def _key(secret: str) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=b"console-1300",
                info=b"referral-link-nonce").derive(secret.encode())


def seal_nonce(nonce: str, *, secret: str, referral_id: int) -> str:
    """Encrypt a link's nonce for storage on its referral row."""
    iv = os.urandom(12)
    box = AESGCM(_key(secret)).encrypt(iv, nonce.encode(), f"referral:{referral_id}".encode())
    return "v1:" + base64.urlsafe_b64encode(iv + box).decode()


def unseal_nonce(blob: str | None, *, secret: str, referral_id: int) -> str | None:
    """The nonce, or None when absent (revoked) or unreadable (another key, another row)."""
    if not blob or not blob.startswith("v1:"):
        return None
    try:
        raw = base64.urlsafe_b64decode(blob[3:])
        return AESGCM(_key(secret)).decrypt(raw[:12], raw[12:],
                                            f"referral:{referral_id}".encode()).decode()
    except Exception:  # noqa: BLE001 - unreadable is as good as absent
        return None


def link_path(referral: Referral, *, secret: str) -> str | None:
    """The agency's page for an open referral ('/r/<token>'), or None (withdrawn, finished)."""
    from cases.referrals import ReferralSettings, _serializer

    if referral.status not in OPEN_STATUSES or referral.nonce_hash is None:
        return None
    nonce = unseal_nonce(referral.nonce_sealed, secret=secret, referral_id=referral.id)
    if nonce is None:
        return None
    return "/r/" + _serializer(ReferralSettings(secret=secret)).dumps(
        {"r": referral.id, "n": nonce})


# --- which channel --------------------------------------------------------------------------

def mobile_of(agency: Agency) -> str | None:
    """The number the agency's referral SMS go to (set in the directory), else its phone when
    it is a Thai mobile; None when it cannot take an SMS."""
    try:
        number = normalize_thai_phone(agency.sms_number or agency.phone or "")
    except (FieldError, ValueError):
        return None
    return number if is_thai_mobile(number) else None


def channel_for(agency: Agency) -> ContactChannel:
    """The agency's chosen channel when it has that contact, else the first it has of LINE,
    e-mail and a mobile phone; else the printed letter."""
    have = {ContactChannel.LINE: bool(agency.line_user_id),
            ContactChannel.EMAIL: bool(agency.email),
            ContactChannel.SMS: mobile_of(agency) is not None}
    chosen = agency.contact_channel
    if chosen is ContactChannel.LETTER or (chosen is not None and have.get(chosen)):
        return chosen
    return next((c for c, ok in have.items() if ok), ContactChannel.LETTER)


def send_link(*, session: Session, referral: Referral, case: Case, link_base: str,
              reminder: bool = False) -> str:
    """Queue the referral's link to its agency (first time or as a reminder) by its channel;
    returns the channel ('letter': nothing to send, the worker prints it)."""
    agency = session.get(Agency, referral.agency_id)
    channel = referral.channel or channel_for(agency)
    if channel is ContactChannel.LETTER:
        return channel.value
    enqueue(session, REFERRAL_LINK, {"referral_id": referral.id, "link_base": link_base,
                                     "reminder": reminder},
            province_code=case.province_code,
            recipient=f"{agency.name_th} ({_address(agency, channel)})")
    return channel.value


def remind_action_owner(*, session: Session, action: PlanAction, case: Case,
                        link_base: str) -> str:
    """Queue the reminder of an overdue action to its owner: an SMS to the worker, or the
    agency's message by its channel. Returns how ('none' when the owner cannot be reached)."""
    if action.owner_agency_id is not None:
        agency = session.get(Agency, action.owner_agency_id)
        channel = channel_for(agency)
        if channel is ContactChannel.LETTER:
            return "none"
        recipient = f"{agency.name_th} ({_address(agency, channel)})"
    else:
        owner = session.get(User, action.owner_user_id or case.assigned_to_id or 0)
        if owner is None or not owner.active or not owner.phone:
            return "none"
        channel, recipient = ContactChannel.SMS, owner.display_name
    enqueue(session, ACTION_REMINDER, {"action_id": action.id, "link_base": link_base},
            province_code=case.province_code, recipient=recipient)
    return channel.value


def _address(agency: Agency, channel: ContactChannel) -> str:
    if channel is ContactChannel.EMAIL:
        return agency.email or ""
    if channel is ContactChannel.LINE:
        return "LINE"
    return format_thai_phone(mobile_of(agency)) or (agency.phone or "")


# --- e-mail ---------------------------------------------------------------------------------

def send_mail(config, *, to: str, subject: str, body: str) -> None:
    """Send one message through MAIL_URL (smtp://[user:pass@]host[:port][?starttls=1], or
    smtps://); a fault is a failed try of the job, by its kind."""
    url = config.get("MAIL_URL") or ""
    if not url:
        raise JobFailed("refused", "MAIL_URL is not set", retry=False)
    parts = urlsplit(url)
    timeout = float(config.get("OUTBOUND_TIMEOUT_SECONDS") or 10)
    message = EmailMessage()
    message["From"] = config.get("MAIL_FROM") or "1300@localhost"
    message["To"] = to
    message["Subject"] = subject
    message.set_content(body)
    try:
        if parts.scheme == "smtps":
            client = smtplib.SMTP_SSL(parts.hostname, parts.port or 465, timeout=timeout,
                                      context=ssl.create_default_context())
        else:
            client = smtplib.SMTP(parts.hostname, parts.port or 25, timeout=timeout)
        with client:
            if parse_qs(parts.query).get("starttls") == ["1"]:
                client.starttls(context=ssl.create_default_context())
            if parts.username:
                client.login(unquote(parts.username), unquote(parts.password or ""))
            client.send_message(message)
    except smtplib.SMTPRecipientsRefused as exc:
        raise JobFailed("refused", f"SMTP refused {to}: {exc.recipients}", retry=False) from exc
    except smtplib.SMTPResponseException as exc:
        reason = "refused" if 500 <= exc.smtp_code < 600 else "service_error"
        raise JobFailed(reason, f"SMTP {exc.smtp_code} {exc.smtp_error!r}",
                        retry=reason != "refused") from exc
    except TimeoutError as exc:
        raise JobFailed("timeout", f"SMTP {exc}") from exc
    except (OSError, smtplib.SMTPException) as exc:
        raise JobFailed("unreachable", f"SMTP {exc.__class__.__name__}: {exc}") from exc


# --- the jobs -------------------------------------------------------------------------------

def _deliver(ctx: JobContext, agency: Agency, channel: ContactChannel, *, subject: str,
             text: str) -> None:
    """Send a text to an agency by a channel (SMS, e-mail, LINE push)."""
    if channel is ContactChannel.SMS:
        from telephony import service as telephony_service

        to = mobile_of(agency)
        if to is None:
            raise JobFailed("bad_number", "the agency has no mobile number", retry=False)
        provider = ctx.app.extensions["telephony"]
        result = provider.send_sms(to, text)
        telephony_service.record_sms(session=ctx.session, provider=provider, to=to, body=text,
                                     result=result)
        if not result.ok:
            raise JobFailed(result.reason or "error", result.error or "")
    elif channel is ContactChannel.EMAIL:
        send_mail(ctx.app.config, to=agency.email, subject=subject, body=text)
    elif channel is ContactChannel.LINE:
        # NOTE: the LINE adapter of the ESS package (one channel, one client for the console).
        from ess.flows import LineMessenger, _failure, _retry_key

        messenger = LineMessenger.from_config(ctx.app.config)
        if messenger is None:
            raise JobFailed("refused", "LINE is not configured", retry=False)
        try:
            messenger.push(agency.line_user_id, text, retry_key=_retry_key(ctx))
        except Exception as exc:  # noqa: BLE001
            raise _failure(exc) from exc
    else:
        raise Skip


@task(REFERRAL_LINK, label=N_("Referral link to an agency"))
def referral_link_job(ctx: JobContext, payload: dict) -> None:
    """The link of a referral to its agency, while the referral is open."""
    from flask_babel import force_locale, gettext

    session = ctx.session
    referral = session.get(Referral, payload["referral_id"])
    path = link_path(referral, secret=ctx.app.config["SECRET_KEY"]) if referral else None
    if path is None:
        raise Skip  # NOTE: withdrawn or finished before its message could go out.
    agency = session.get(Agency, referral.agency_id)
    case = session.get(Case, referral.case_id)
    url = payload["link_base"].rstrip("/") + path
    with force_locale("th"):
        values = {"ref": case.ref, "service": referral.service, "link": url}
        if payload.get("reminder"):
            subject = gettext("Reminder: referral %(ref)s waits for your answer") % values
            text = gettext("1300 reminder: referral %(ref)s (%(service)s) still waits for your "
                           "answer. Please open %(link)s") % values
        else:
            subject = gettext("Referral %(ref)s from the 1300 Social Assistance Center") % values
            text = gettext("1300 refers case %(ref)s to you: %(service)s. Please open %(link)s "
                           "to acknowledge and answer.") % values
    _deliver(ctx, agency, referral.channel or channel_for(agency), subject=subject, text=text)


@task(ACTION_REMINDER, label=N_("Reminder of an overdue plan action"))
def action_reminder_job(ctx: JobContext, payload: dict) -> None:
    """The reminder of an overdue action to its owner, unless it was done since."""
    from flask_babel import force_locale, gettext

    from cases.enums import ActionStatus
    from console.labels import format_be_date

    session = ctx.session
    action = session.get(PlanAction, payload["action_id"])
    if action is None or action.status not in (ActionStatus.PLANNED, ActionStatus.IN_PROGRESS):
        raise Skip
    case = session.get(Case, action.case_id)
    agency = session.get(Agency, action.owner_agency_id) if action.owner_agency_id else None
    owner = None if agency else session.get(User, action.owner_user_id or case.assigned_to_id)
    locale = "th" if agency or owner is None else owner.locale or "th"
    with force_locale(locale):
        values = {"title": action.title, "ref": case.ref, "due": format_be_date(action.due_on)}
        subject = gettext("Reminder: action %(title)s of case %(ref)s is overdue") % values
        text = gettext("1300 reminder: the action %(title)s of case %(ref)s was due on "
                       "%(due)s.") % values
        if agency is None:
            text += " " + gettext("Open: %(link)s") % {
                "link": payload["link_base"].rstrip("/") + f"/desk/cases/{case.id}"}
    if agency is not None:
        _deliver(ctx, agency, channel_for(agency), subject=subject, text=text)
        return
    if owner is None or not owner.active or not owner.phone:
        raise Skip
    from telephony import service as telephony_service

    provider = ctx.app.extensions["telephony"]
    result = provider.send_sms(owner.phone, text)
    telephony_service.record_sms(session=session, provider=provider, to=owner.phone, body=text,
                                 result=result, recipient_id=owner.id)
    if not result.ok:
        raise JobFailed(result.reason or "error", result.error or "")
