"""Call log endpoints for the call-taker desk."""

from __future__ import annotations

import secrets

from flask import Blueprint, current_app, jsonify, request
from flask_babel import gettext
from flask_login import current_user

from console.access_log import log_read
from console.errors import N_, DomainError
from console.idempotency import commit_answer, idempotent
from console.privacy import mask_national_ids
from console.validation import parse
from console.web import db, desk_required, json_body
from dispatch.events import incident_payload
from dispatch.schemas import CallWithIncidentIn
from telephony import flows, service
from telephony.events import call_state_payload
from telephony.models import CallerFlag, OutboundMessage
from telephony.providers import SimulatorProvider
from telephony.schemas import (
    CloseCallIn,
    EmptyIn,
    FlagIn,
    LiftFlagIn,
    SimulatedCallIn,
    format_thai_phone,
)

bp = Blueprint("telephony", __name__, url_prefix="/api/calls")
api = Blueprint("telephony_api", __name__, url_prefix="/api")
ID = "<int(max=2147483647):{}>"


@bp.post("")
@desk_required("calls")
@idempotent
def log_call():
    """Log a call: `action` 'close' (with an outcome) or 'incident' (with the incident)."""
    body = json_body()
    action = body.pop("action", None) if isinstance(body, dict) else None
    session = db()
    if action == "close":
        call = service.close_at_intake(session=session, data=parse(CloseCallIn, body),
                                       by=current_user)
        return commit_answer(session, {"call_id": call.id, "outcome": call.outcome.value}, 201)
    if action == "incident":
        call, incident = service.log_call_with_incident(
            session=session, data=parse(CallWithIncidentIn, body), by=current_user
        )
        return commit_answer(session, {"call_id": call.id, "incident": incident_payload(incident)},
                             201)
    raise DomainError(N_("Choose whether to close the call or create an incident."))


def _iso(value) -> str | None:
    return value.isoformat() if value is not None else None


def _call_item(call, scope: str | None) -> dict:
    """A voice call as the desk lists it (the caller's number included: call-taker desk);
    the incidents/cases it was linked to only when `scope` (the user's province) covers them."""
    return {
        **call_state_payload(call),
        "number": call.number,
        "number_display": format_thai_phone(call.number),
        "reason": call.reason.value if call.reason else None,
        "ring_at": _iso(call.ring_at),
        "created_at": _iso(call.created_at),
        "recording_url": call.recording_url,
        "recording_seconds": call.recording_seconds,
        "links": [link.ref for link in service.visible_links(
            session=db(), links=service.call_links(session=db(), call=call), scope=scope)],
    }


def _flag_item(flag: CallerFlag) -> dict:
    return {"id": flag.id, "number": flag.number, "number_display": format_thai_phone(
        flag.number), "level": flag.level.value,
        "reason": mask_national_ids(flag.reason),
        "expires_at": _iso(flag.expires_at), "created_at": _iso(flag.created_at),
        "created_by_id": flag.created_by_id, "province_code": flag.province_code,
        "active": flag.active}


def _message_item(msg: OutboundMessage) -> dict:
    return {"id": msg.id, "kind": msg.kind.value, "to": msg.to_number, "status": msg.status,
            "error": msg.error, "provider_sid": msg.provider_sid,
            "recipient_id": msg.recipient_id, "created_at": _iso(msg.created_at)}


def _no_body() -> None:
    """Actions without input still refuse a body that is not an empty JSON object."""
    if request.get_data():
        data = json_body()
        if data != {}:
            parse(EmptyIn, data)


@bp.post(f"/{ID.format('call_id')}/accept")
@desk_required("calls")
def accept(call_id: int):
    """Take a ringing call from the screen pop; the call form then completes this record."""
    _no_body()
    session = db()
    call = service.accept_call(session=session, call_id=call_id, by=current_user)
    from telephony.webhooks import connect_twiml

    provider = current_app.extensions["telephony"]
    # NOTE: only queued here, in the same transaction: the job worker puts the caller through
    # (a Twilio call update), so this answer never waits on the carrier.
    queued = flows.request_connect(
        session=session, call=call, by=current_user,
        twiml=connect_twiml(current_user.phone, provider.number) if current_user.phone else "")
    session.commit()
    body = _call_item(call, service.user_scope(current_user))
    body["connecting"] = queued
    body["connect_error"] = None if queued else gettext(
        "No phone on file for you: the caller stays in the queue.")
    return jsonify(body)


@bp.post(f"/{ID.format('call_id')}/callback")
@desk_required("calls")
def call_back(call_id: int):
    """Call a missed caller back through the provider (queued; every try is kept)."""
    from telephony.webhooks import callback_twiml

    _no_body()
    session = db()
    call = service.check_call_back(session=session, call_id=call_id, by=current_user)
    twiml = callback_twiml(current_user.phone, call.queue or service.queue_name(
        province_code=call.province_code, level=None))
    # NOTE: queued in this transaction; the job worker places the call and keeps each try.
    flows.request_call_back(session=session, call=call, by=current_user, twiml=twiml)
    session.commit()
    return jsonify({"call_id": call.id, "queued": True}), 202


@bp.get("/waiting")
@desk_required("calls")
def waiting():
    """Screen pops of the calls waiting now (a console that opens late sees them too), each
    with only what the user's province may see of the caller (national users: everything)."""
    from telephony.events import screen_pop_payload

    session = db()
    scope = service.user_scope(current_user)
    out = []
    for call in service.waiting_calls(session=session, user=current_user):
        ctx = service.caller_context(session=session, number=call.number,
                                     exclude_call_id=call.id, call_province=call.province_code)
        links = service.call_links(session=session, call=call)
        out.append(screen_pop_payload(
            call, service.visible_context(session=session, ctx=ctx, scope=scope),
            service.visible_links(session=session, links=links, scope=scope)))
    log_read("screen_pop", entity="call", subjects={
        "call": [p["id"] for p in out] + [c["id"] for p in out for c in p["last_contacts"]],
        "incident": [i["id"] for p in out for i in p["open_incidents"]],
        "case": [c["id"] for p in out for c in p["open_cases"]],
        "caller_flag": [f["id"] for p in out for f in p["flags"]]})
    return jsonify(out)


@api.get("/callbacks")
@desk_required("calls")
def callbacks():
    """Missed calls and voice messages to call back, by priority then age."""
    scope = service.user_scope(current_user)
    items = [_call_item(c, scope) for c in service.callbacks(session=db(), user=current_user)]
    log_read("callbacks", entity="call", subjects={"call": [c["id"] for c in items]})
    return jsonify(items)


@api.get("/flags")
@desk_required("calls")
def flags():
    """The review list: the flags acting now in the user's province (national users: all)."""
    items = [_flag_item(f) for f in service.list_active_flags(session=db(), user=current_user)]
    log_read("flags", entity="caller_flag", subjects={"caller_flag": [f["id"] for f in items]})
    return jsonify(items)


@api.post("/flags")
@desk_required("calls")
@idempotent
def create_flag():
    """Flag a number (nuisance levels, or at risk); audited."""
    session = db()
    flag = service.create_flag(session=session, data=parse(FlagIn, json_body()),
                               by=current_user)
    return commit_answer(session, _flag_item(flag), 201)


@api.post(f"/flags/{ID.format('flag_id')}/lift")
@desk_required("calls")
@idempotent
def lift_flag(flag_id: int):
    """Lift a flag; audited."""
    data = parse(LiftFlagIn, json_body() if request.get_data() else {})
    session = db()
    flag = service.lift_flag(session=session, flag_id=flag_id, reason=data.reason,
                             by=current_user)
    session.commit()
    return jsonify(_flag_item(flag))


@api.get(f"/incidents/{ID.format('incident_id')}/messages")
@desk_required("dispatch")
def incident_messages(incident_id: int):
    """The SMS sent about an incident, with their results."""
    items = [_message_item(m) for m in service.messages_for_incident(
        session=db(), incident_id=incident_id, user=current_user)]
    log_read("messages", entity="incident", entity_id=incident_id,
             subjects={"outbound_message": [m["id"] for m in items]})
    return jsonify(items)


@api.post("/simulator/incoming-call")
@desk_required("supervisor")
def simulate_incoming_call():
    """Play a call through the real webhooks, signed like Twilio signs (simulator only)."""
    from twilio.request_validator import RequestValidator

    provider = current_app.extensions["telephony"]
    if not isinstance(provider, SimulatorProvider):
        raise DomainError(N_("The simulator is off: a real telephony provider is configured."))
    data = parse(SimulatedCallIn, json_body())
    # NOTE: read before the webhooks below: their requests, made from inside this one, can
    # leave `current_user` anonymous.
    scope = service.user_scope(current_user)
    base = current_app.config.get("PUBLIC_BASE_URL") or request.host_url.rstrip("/")
    validator = RequestValidator(provider.webhook_token)
    sid = "CA" + secrets.token_hex(16)
    province = data.province_code or current_user.province_code
    called = data.called or (provider.line_for(province) if province else provider.number)
    common = {"CallSid": sid, "AccountSid": "AC" + "0" * 32, "From": data.number,
              "To": called, "Direction": "inbound"}
    client = current_app.test_client()
    db().rollback()  # NOTE: end this request's read snapshot; the webhooks commit their own.
    steps = [("status", {"CallStatus": "ringing"}), ("voice", {"CallStatus": "ringing"}),
             ("status", {"CallStatus": "in-progress"}),
             ("menu", {"CallStatus": "in-progress", "Digits": data.digit})]
    if data.digit == "3":
        steps.append(("case", {"CallStatus": "in-progress", "Digits": data.case_ref}))
    for path, extra in steps:
        params = {**common, **extra}
        url = f"{base}/telephony/twilio/{path}"
        resp = client.post(f"/telephony/twilio/{path}", data=params, base_url=base, headers={
            "X-Twilio-Signature": validator.compute_signature(url, params)})
        if resp.status_code != 200:
            raise DomainError(N_("The simulated call was refused by the webhooks."))
    call = service.find_call(session=db(), call_sid=sid)
    return jsonify(_call_item(call, scope)), 201


@api.post("/simulator/calls/<int(max=2147483647):call_id>/hangup")
@desk_required("supervisor")
def simulate_hangup(call_id: int):
    """The simulated caller hangs up while waiting (simulator only): the call joins the
    call-back list and its pop leaves every desk."""
    from telephony import simulator

    if not isinstance(current_app.extensions["telephony"], SimulatorProvider):
        raise DomainError(N_("The simulator is off: a real telephony provider is configured."))
    session = db()
    call = simulator.hang_up(session=session, call_id=call_id, by=current_user)
    session.commit()
    return jsonify(_call_item(call, service.user_scope(current_user)))


@bp.get("/answer-times")
@desk_required("supervisor")
def answer_times():
    """This shift's NENA figure: calls answered within 15 s / 20 s of ringing."""
    from console.db import utcnow
    from console.routes import shift_start

    return jsonify(service.answer_time_stats(session=db(), user=current_user,
                                             since=shift_start(utcnow())))
