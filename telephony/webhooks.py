"""Twilio voice webhooks: the voice menu, queues, voice messages and status callbacks.

Every request must carry a valid X-Twilio-Signature for the public URL Twilio called
(PUBLIC_BASE_URL when set, else the request URL after TRUST_PROXY_HOPS proxies); anything
else is answered 403 and stores nothing. CSRF does not apply: Twilio cannot send a token.
"""

from __future__ import annotations

import logging
from functools import wraps

from flask import Blueprint, Response, current_app, request, url_for
from flask_babel import force_locale, gettext
from twilio.request_validator import RequestValidator
from twilio.twiml.voice_response import Gather, VoiceResponse

from console.errors import N_
from console.extensions import csrf
from console.web import db, error_response
from telephony import lines, service
from telephony.enums import CallReason, FlagLevel
from telephony.schemas import twilio_recording_url

log = logging.getLogger(__name__)
bp = Blueprint("twilio_hooks", __name__, url_prefix="/telephony/twilio")
csrf.exempt(bp)

LANG = "th-TH"
VOICE_LOCALE = "th"  # NOTE: callers hear Thai whatever the console's language.

GREETING = N_("Social Assistance Center hotline 1300, Ministry of Social Development and Human "
              "Security.")
MENU = N_("If someone is in danger now, press 1. For advice or your rights, press 2. About an "
          "existing case, press 3.")
WARNING = N_("This line is for people who need help. Nuisance calls delay help for others and "
             "are recorded.")
ASK_CASE = N_("Key in your case number, then press the hash key.")
CASE_FOUND = N_("Thank you. We found your case.")
CASE_NOT_FOUND = N_("We could not find that number. An officer will help you.")
HOLD = N_("Please hold. An officer will answer you as soon as possible.")
LEAVE_MESSAGE = N_("All our officers are busy. Leave your name, where you are and what "
                   "happened after the tone. We will call you back.")
THANKS = N_("Thank you. We will call you back as soon as possible.")
CALLING_BACK = N_("This is the 1300 hotline returning your call. Please hold for an officer.")
# Every prompt a caller hears (each ends with ค่ะ in Thai); a call opens with one of OPENINGS,
# which start with the greeting "สวัสดีค่ะ ศูนย์ช่วยเหลือสังคม สายด่วน 1300".
PROMPTS = (GREETING, MENU, WARNING, ASK_CASE, CASE_FOUND, CASE_NOT_FOUND, HOLD, LEAVE_MESSAGE,
           THANKS, CALLING_BACK)
OPENINGS = (GREETING, CALLING_BACK)


def public_url() -> str:
    """The URL Twilio called, as Twilio signed it."""
    base = current_app.config.get("PUBLIC_BASE_URL")
    if not base:
        return request.url
    query = request.query_string.decode()
    return base + request.path + ("?" + query if query else "")


def signed(view):
    """Refuse (403, nothing stored) any request not signed with the provider's token."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        signature = request.headers.get("X-Twilio-Signature", "")
        token = current_app.extensions["telephony"].webhook_token
        if not signature or not token or not RequestValidator(token).validate(
                public_url(), request.form, signature):
            return error_response(403, N_("The request signature is not valid."))
        return view(*args, **kwargs)

    return wrapper


def say(verb, message: str) -> None:
    """Speak a translatable message in Thai."""
    with force_locale(VOICE_LOCALE):
        verb.say(gettext(message), language=LANG)


def twiml(resp: VoiceResponse) -> Response:
    """Answer with TwiML."""
    return Response(str(resp), mimetype="text/xml")


def _url(endpoint: str) -> str:
    """A webhook URL as Twilio should call it (the public base when configured)."""
    if endpoint.startswith("."):
        endpoint = bp.name + endpoint  # NOTE: also called from other blueprints' views.
    base = current_app.config.get("PUBLIC_BASE_URL")
    path = url_for(endpoint)
    return base + path if base else url_for(endpoint, _external=True)


def _form(name: str, limit: int = 64) -> str:
    return (request.form.get(name) or "").strip()[:limit]


def _call():
    """The call of this webhook (created on first sight, repeats return it)."""
    cfg = current_app.config
    provider = current_app.extensions["telephony"]
    simulated = getattr(provider, "province_of", None)
    # NOTE: the lines are data (telephony/lines.py, /admin/lines); TWILIO_NUMBERS seeds them once.
    province = (simulated(service.carrier_number(_form("To"))) if simulated else None) or \
        lines.province_for_called(session=db(), called=_form("To"),
                                  default=cfg.get("TELEPHONY_DEFAULT_PROVINCE"),
                                  seed=cfg.get("TWILIO_NUMBERS", ""))
    return service.start_inbound_call(session=db(), call_sid=_form("CallSid"),
                                      from_=_form("From"), to=_form("To"),
                                      province_code=province)


def _sid_required():
    if not _form("CallSid"):
        return error_response(400, N_("The request could not be read."))
    return None


def _enqueue(resp: VoiceResponse, call) -> None:
    queue = service.queue_call(session=db(), call=call)
    db().commit()
    resp.enqueue(queue, wait_url=_url(".wait"), wait_url_method="POST",
                 action=_url(".queue_result"), method="POST")


@bp.post("/voice")
@signed
def voice():
    """A call arrives: greeting (and warning for a flagged number), then the one-key menu."""
    if (bad := _sid_required()) is not None:
        return bad
    session = db()
    call = _call()
    ctx = service.caller_context(session=session, number=call.number, exclude_call_id=call.id,
                                 call_province=call.province_code)
    session.commit()
    resp = VoiceResponse()
    gather = Gather(num_digits=1, timeout=5, action=_url(".menu"), method="POST",
                    action_on_empty_result=True, language=LANG)
    # NOTE: the greeting always comes first; a flagged caller hears the warning after it.
    if ctx.applied_level is FlagLevel.WARN:
        say(resp, GREETING)
        say(resp, WARNING)
    else:
        say(gather, GREETING)
    say(gather, MENU)
    resp.append(gather)
    return twiml(resp)


@bp.post("/menu")
@signed
def menu():
    """The caller's key: 1 (or nothing) danger, 2 advice, 3 existing case (asks its number)."""
    if (bad := _sid_required()) is not None:
        return bad
    call = _call()
    reason = service.choose_reason(session=db(), call=call, digits=_form("Digits", 4))
    resp = VoiceResponse()
    if reason is CallReason.EXISTING and not call.queue:
        db().commit()
        gather = Gather(finish_on_key="#", timeout=10, action=_url(".case"), method="POST",
                        action_on_empty_result=True, language=LANG)
        say(gather, ASK_CASE)
        resp.append(gather)
        return twiml(resp)
    _enqueue(resp, call)
    return twiml(resp)


@bp.post("/case")
@signed
def case():
    """The case number the caller keyed in: link the call to it when found, then queue."""
    if (bad := _sid_required()) is not None:
        return bad
    call = _call()
    links = service.link_by_ref(session=db(), call=call, digits=_form("Digits", 32))
    resp = VoiceResponse()
    say(resp, CASE_FOUND if links else CASE_NOT_FOUND)
    _enqueue(resp, call)
    return twiml(resp)


@bp.post("/wait")
@signed
def wait():
    """Hold music for the queue; after TELEPHONY_HOLD_SECONDS, leave it to record a message."""
    try:
        waited = int(_form("QueueTime", 10) or 0)
    except ValueError:
        waited = 0
    resp = VoiceResponse()
    if waited >= current_app.config["TELEPHONY_HOLD_SECONDS"]:
        resp.leave()
        return twiml(resp)
    say(resp, HOLD)
    resp.pause(length=15)
    return twiml(resp)


@bp.post("/queue-result")
@signed
def queue_result():
    """The caller left the queue: connected (done), hung up, or nobody came (voice message)."""
    if (bad := _sid_required()) is not None:
        return bad
    result = _form("QueueResult", 32)
    resp = VoiceResponse()
    call = service.find_call(session=db(), call_sid=_form("CallSid"))
    if result == "bridged":
        if call is not None:
            service.mark_bridged(session=db(), call=call)
            db().commit()
        resp.hangup()
        return twiml(resp)
    if result == "hangup":
        resp.hangup()
        return twiml(resp)
    say(resp, LEAVE_MESSAGE)
    resp.record(max_length=120, timeout=5, play_beep=True, action=_url(".recorded"),
                method="POST", recording_status_callback=_url(".recording"),
                recording_status_callback_method="POST")
    say(resp, THANKS)
    resp.hangup()
    return twiml(resp)


def _recording(kind: str) -> None:
    session = db()
    sid = _form("CallSid")
    call = service.find_call(session=session, call_sid=sid)
    if call is None or not _form("RecordingUrl", 500):
        return
    if twilio_recording_url(request.form.get("RecordingUrl")) is None:
        # NOTE: signed, yet not a Twilio https address: ignored, nothing stored.
        log.warning("recording URL of call %s is not a Twilio https address; ignored", sid)
        return
    params = {k: request.form.get(k, "")[:500] for k in (
        "RecordingSid", "RecordingUrl", "RecordingDuration", "RecordingStatus")}
    if service.callback_once(session=session, call_sid=sid, kind=kind, params=params):
        service.attach_recording(session=session, call=call, url=params["RecordingUrl"],
                                 seconds=params["RecordingDuration"])
        session.commit()


@bp.post("/recorded")
@signed
def recorded():
    """The voice message is recorded (Record action): keep it, thank the caller."""
    if (bad := _sid_required()) is not None:
        return bad
    _recording("recorded")
    resp = VoiceResponse()
    say(resp, THANKS)
    resp.hangup()
    return twiml(resp)


@bp.post("/recording")
@signed
def recording():
    """Recording status callback: the recording's final URL and length."""
    if (bad := _sid_required()) is not None:
        return bad
    status = _form("RecordingStatus", 24) or "completed"
    if status == "completed":
        _recording("recording-" + status)
    return twiml(VoiceResponse())


@bp.post("/status")
@signed
def status():
    """Call status callback: ringing, in-progress, completed, busy, no-answer, failed."""
    if (bad := _sid_required()) is not None:
        return bad
    new = service.carrier_status(_form("CallStatus", 24))
    if new is None:
        return error_response(400, N_("The request could not be read."))
    session = db()
    sid = _form("CallSid")
    params = {k: request.form.get(k, "")[:64] for k in (
        "CallStatus", "CallDuration", "From", "To", "Timestamp", "SequenceNumber")}
    if service.callback_once(session=session, call_sid=sid, kind="status-" + new.value,
                             params=params):
        call = _call()
        service.apply_status(session=session, call=call, status=new)
        session.commit()
    return twiml(VoiceResponse())


def connect_twiml(agent_phone: str, caller_id: str | None) -> str:
    """TwiML that takes a waiting caller out of the queue to the accepting officer's phone."""
    resp = VoiceResponse()
    resp.dial(agent_phone, caller_id=caller_id) if caller_id else resp.dial(agent_phone)
    return str(resp)


def callback_twiml(agent_phone: str | None, queue: str) -> str:
    """TwiML of a call-back: tell the caller, then connect the officer's phone or queue them."""
    resp = VoiceResponse()
    say(resp, CALLING_BACK)
    if agent_phone:
        resp.dial(agent_phone)
    else:
        resp.enqueue(queue, wait_url=_url(".wait"), wait_url_method="POST")
    return str(resp)
