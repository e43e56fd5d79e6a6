"""ESS Help Me HTTP: the mobile-app API v1 (API key, idempotent) and the desk's report tools."""

from __future__ import annotations

import hashlib
import json
import logging
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from flask import Blueprint, current_app, g, jsonify, request
from flask_babel import force_locale
from flask_login import current_user, login_required
from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from console.access_log import log_read
from console.db import utcnow
from console.errors import N_, DomainError, NotFound, ValidationFailed
from console.extensions import csrf, limiter
from console.limits import loads_json, request_json
from console.privacy import derived_key, seal, unseal
from console.validation import parse
from console.web import db, desk_required, error_response, translate
from dispatch.fusion import FusionSettings
from ess import flows as ess_flows
from ess import service as ess_service
from ess.enums import ReportSource
from ess.models import IdempotencyRecord
from ess.schemas import MergeIn, ReportIn, SplitMergeIn

api = Blueprint("ess_api", __name__, url_prefix="/api/v1")
csrf.exempt(api)
desk = Blueprint("ess_desk", __name__, url_prefix="/api")

_OPEN_ENDPOINTS = frozenset({"ess_api.openapi", "ess_api.docs"})


class BadInput(DomainError):
    """The request body could not be read at all."""

    status = 400


class TooLarge(DomainError):
    """More bytes than the photo limits allow."""

    status = 413


def _lang() -> str:
    """Thai unless the client's Accept-Language prefers English."""
    return request.accept_languages.best_match(current_app.config["LANGUAGES"], default="th")


def _api_error(status: int, message: str, params: dict | None = None,
               fields: dict | None = None):
    with force_locale(_lang()):
        if fields is not None:
            fields = {k: translate(m, p) for k, (m, p) in fields.items()}
        return error_response(status, message, params, fields=fields)


@api.errorhandler(ValidationFailed)
def _validation(exc: ValidationFailed):
    return _api_error(exc.status, exc.message, fields=exc.errors)


@api.errorhandler(DomainError)
def _domain(exc: DomainError):
    return _api_error(exc.status, exc.message, exc.params)


@api.errorhandler(429)
def _too_many(_exc):
    return _api_error(429, N_("Too many requests. Wait a moment and try again."))


@api.errorhandler(413)
def _too_large(_exc):
    return _api_error(413, N_("The upload is too large."))


@api.errorhandler(404)
def _not_found(_exc):
    return _api_error(404, N_("Not found."))


@api.errorhandler(405)
def _not_allowed(_exc):
    return _api_error(405, N_("This action is not allowed here."))


def _key_scope() -> str:
    """Rate-limit key: the API key's hash (requests without one share the address's bucket)."""
    key = request.headers.get("X-Api-Key")
    if key:
        return "key:" + ess_service.hash_secret(key)
    return "nokey:" + (request.remote_addr or "")


def _key_limit() -> str:
    return current_app.config["ESS_API_KEY_LIMIT"]


def _ip_limit() -> str:
    return current_app.config["ESS_API_IP_LIMIT"]


@api.before_request
def _authenticate():
    if request.endpoint in _OPEN_ENDPOINTS:
        return None
    client_id = _client_id(request.headers.get("X-Api-Key"))
    if client_id is None:
        return _api_error(401, N_("A valid API key is required."))
    g.ess_client_id = client_id
    return None


# NOTE: an active key is remembered by this process for a few seconds (a round trip and ~1 ms
# of CPU a report at hundreds of reports/s): a key disabled in the database stops working in
# every process within CLIENT_CACHE_SECONDS. Unknown or disabled keys are never remembered,
# so a new key works at once.
CLIENT_CACHE_SECONDS = 10.0
CLIENT_CACHE_SIZE = 1024


def _client_id(key: str | None) -> int | None:
    """The id of the active client holding this API key (None: none)."""
    if not key:
        return None
    cache = current_app.extensions.setdefault("ess_api_clients", {})
    digest = ess_service.hash_secret(key)
    now = time.monotonic()
    known = cache.get(digest)
    if known is not None and known[1] > now:
        return known[0]
    client = ess_service.authenticate_client(session=db(), key=key)
    client_id = client.id if client is not None else None
    # NOTE: end the read transaction now: on SQLite a later write from an old read snapshot
    # fails at once instead of waiting, which would break the idempotency race handling.
    db().rollback()
    if client_id is None:
        cache.pop(digest, None)
        return None
    if len(cache) >= CLIENT_CACHE_SIZE:
        cache.clear()
    cache[digest] = (client_id, now + current_app.config.get(
        "ESS_API_CLIENT_CACHE_SECONDS", CLIENT_CACHE_SECONDS))
    return client_id


def _settings() -> FusionSettings:
    return FusionSettings.from_config(current_app.config)


def _read_submission() -> tuple[dict, list[bytes]]:
    """The report JSON and raw photo bytes, from a JSON body or a multipart form."""
    config = current_app.config
    limit = config["ESS_MAX_TOTAL_BYTES"] + 1024 * 1024
    if request.content_length is not None and request.content_length > limit:
        raise TooLarge(N_("The upload is too large."))
    if request.mimetype == "multipart/form-data":
        raw = request.form.get("report")
        if raw is None:
            raise ValidationFailed({"report": (N_("This field is required."), {})})
        data = loads_json(raw)
        if data is None:
            raise BadInput(N_("Send the data as JSON."))
        files = [f.read(config["ESS_MAX_PHOTO_BYTES"] + 1)
                 for f in request.files.getlist("photos")]
        return data, files
    data = request_json()
    if data is None:
        raise BadInput(N_("Send the data as JSON."))
    return data, []


def _body_hash(data: object, files: list[bytes]) -> str:
    digest = hashlib.sha256(json.dumps(data, sort_keys=True, ensure_ascii=False).encode())
    for blob in files:
        digest.update(hashlib.sha256(blob).digest())
    return digest.hexdigest()


@api.post("/reports")
@limiter.limit(_key_limit, key_func=_key_scope)
@limiter.limit(_ip_limit)
def create_report():
    """A citizen's report from the app; Idempotency-Key makes retries safe."""
    data, files = _read_submission()
    key = request.headers.get("Idempotency-Key")
    if key is not None and not 1 <= len(key.strip()) <= 255:
        raise ValidationFailed({"Idempotency-Key": (N_("This value is not valid."), {})})
    report_in = parse(ReportIn, data)
    config = current_app.config
    photos = ess_service.check_photos(files, max_count=config["ESS_MAX_PHOTOS"],
                                      max_bytes=config["ESS_MAX_PHOTO_BYTES"],
                                      max_total=config["ESS_MAX_TOTAL_BYTES"],
                                      max_pixels=config["ESS_MAX_PHOTO_PIXELS"])
    session = db()
    client_id = g.ess_client_id
    record_id = None
    if key is not None:
        body_hash = _body_hash(data, files)
        # NOTE: the idempotency row goes in first, in the same transaction as the report: a
        # concurrent twin waits on the unique constraint, then replays the committed answer.
        # Core statements (the row is written, then answered): no ORM unit of work for it.
        try:
            record_id = session.connection().execute(
                insert(_IDEMPOTENCY).values(client_id=client_id, key=key, body_hash=body_hash,
                                            created_at=utcnow())
                .returning(_IDEMPOTENCY.c.id)).scalar_one()
        except IntegrityError:
            session.rollback()
            earlier = session.scalar(select(IdempotencyRecord).where(
                IdempotencyRecord.client_id == client_id, IdempotencyRecord.key == key))
            if earlier is None or earlier.body_hash != body_hash:
                return _api_error(409, N_("This Idempotency-Key was already used with a "
                                          "different request."))
            return jsonify(_replayed(earlier)), earlier.response_status
    submitted = ess_service.submit_report(
        session=session, data=report_in, source=ReportSource.APP, settings=_settings(),
        attachment_dir=Path(config["ESS_ATTACHMENT_DIR"]), photos=photos,
        client_id=client_id)
    report, incident = submitted.report, submitted.incident
    body = {"id": report.id, "number": incident.ref, "token": submitted.token,
            "status": ess_service.PUBLIC_STATUS[incident.status],
            "attachments": len(submitted.files),
            "created_at": report.created_at.isoformat()}
    if record_id is not None:
        # NOTE: the reporter's token is never stored in plain text: the replayed body is kept
        # without it, the token sealed to this row (a database copy alone cannot use it).
        session.connection().execute(
            update(_IDEMPOTENCY).where(_IDEMPOTENCY.c.id == record_id).values(
                response_status=201,
                response_body={k: v for k, v in body.items() if k != "token"},
                token_sealed=seal(submitted.token, key=_token_key(),
                                  context=f"ess-idempotency:{record_id}")))
        if record_id % PRUNE_EVERY == 0:
            keep = timedelta(hours=config["ESS_IDEMPOTENCY_HOURS"])
            session.execute(delete(IdempotencyRecord).where(
                IdempotencyRecord.created_at < utcnow() - keep))
    try:
        session.commit()
    except Exception:
        ess_service.discard_files(submitted.files)
        raise
    return jsonify(body), 201


PRUNE_EVERY = 200
_IDEMPOTENCY = IdempotencyRecord.__table__


def _token_key() -> bytes:
    return derived_key(current_app.secret_key, "ess-idempotency-token v1")


def _replayed(record: IdempotencyRecord) -> dict:
    """The first answer again, with the reporter's token unsealed (absent when unreadable)."""
    body = dict(record.response_body or {})
    token = unseal(record.token_sealed, key=_token_key(),
                   context=f"ess-idempotency:{record.id}")
    if token is not None:
        body["token"] = token
    return body


@api.get("/reports/<int(max=2147483647):report_id>")
@limiter.limit(_key_limit, key_func=_key_scope)
@limiter.limit(_ip_limit)
def report_status(report_id: int):
    """The reporter's view of a report: status and public updates (token from creation)."""
    token = request.headers.get("X-Report-Token")  # NOTE: never in the URL (logs keep URLs).
    body = ess_service.report_status(session=db(), report_id=report_id, token=token)
    return jsonify(body)


@api.get("/openapi.json")
def openapi():
    """The OpenAPI 3 document of this API."""
    from ess.openapi import document

    return jsonify(document())


@api.get("/docs")
def docs():
    """A readable page rendering the OpenAPI document, served entirely offline."""
    from ess.openapi import docs_html

    return docs_html(), 200, {"Content-Type": "text/html; charset=utf-8"}


@desk.get("/incidents/<int(max=2147483647):incident_id>/reports")
@desk_required("dispatch")
def incident_reports(incident_id: int):
    """Citizen reports gathered by an incident, with their count (dispatcher desk)."""
    reports = ess_service.list_reports(session=db(), incident_id=incident_id, user=current_user)
    log_read("reports", entity="incident", entity_id=incident_id,
             subjects={"report": [r.id for r in reports]})
    return jsonify({"incident_id": incident_id, "report_count": len(reports),
                    "reports": [ess_service.report_payload(r) for r in reports]})


@desk.post("/incidents/<int(max=2147483647):incident_id>/merge")
@desk_required("dispatch")
def merge(incident_id: int):
    """Merge a duplicate incident into this one."""
    from dispatch import events as dispatch_events

    data = parse(MergeIn, request_json())
    keep = ess_service.merge_incidents(session=db(), keep_id=incident_id,
                                       duplicate_id=data.duplicate_id, by=current_user)
    db().commit()
    return jsonify(dispatch_events.incident_payload(keep))


@desk.post("/incidents/<int(max=2147483647):incident_id>/split")
@desk_required("dispatch")
def split_merge(incident_id: int):
    """Split an incident merged into this one off again: it is restored, its reports go back,
    and the pair is never suggested again."""
    from dispatch import events as dispatch_events

    data = parse(SplitMergeIn, request_json())
    keep, restored = ess_service.split_merge(session=db(), keep_id=incident_id,
                                             merged_id=data.merged_id, by=current_user,
                                             reason=data.reason)
    db().commit()
    return jsonify({"kept": dispatch_events.incident_payload(keep),
                    "restored": dispatch_events.incident_payload(restored)})


@desk.post("/ess/reports/<int(max=2147483647):report_id>/split")
@desk_required("dispatch")
def split(report_id: int):
    """Split a wrongly attached report into its own incident."""
    from dispatch import events as dispatch_events

    incident = ess_service.split_report(session=db(), report_id=report_id, by=current_user)
    db().commit()
    return jsonify(dispatch_events.incident_payload(incident)), 201


@desk.get("/ess/attachments/<int(max=2147483647):attachment_id>")
@login_required
def attachment(attachment_id: int):
    """A report's photo, only for those who may see its incident (audited, never cached)."""
    from flask import send_file

    session = db()
    item = ess_service.read_attachment(session=session, attachment_id=attachment_id,
                                       user=current_user)
    session.commit()
    path = Path(current_app.config["ESS_ATTACHMENT_DIR"]) / item.stored_name
    if not path.is_file():
        raise NotFound("attachment")
    response = send_file(path, mimetype=item.content_type, max_age=0, conditional=False)
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


line = Blueprint("ess_line", __name__, url_prefix="/line")
csrf.exempt(line)
log = logging.getLogger(__name__)


def _line_input(ev, image: bytes | None) -> ess_service.LineInput | None:
    """Reduce a verified SDK event to the domain's input (None: an event we do not handle)."""
    from linebot.v3.webhooks import (
        FollowEvent,
        ImageMessageContent,
        LocationMessageContent,
        MessageEvent,
        StickerMessageContent,
        TextMessageContent,
        UnfollowEvent,
    )

    user_id = getattr(ev.source, "user_id", None)
    if not user_id:
        return None
    at = datetime.fromtimestamp(ev.timestamp / 1000, UTC)
    if isinstance(ev, FollowEvent):
        return ess_service.LineInput("follow", user_id, at)
    if isinstance(ev, UnfollowEvent):
        return ess_service.LineInput("unfollow", user_id, at)
    if not isinstance(ev, MessageEvent):
        return None
    msg = ev.message
    if isinstance(msg, TextMessageContent):
        return ess_service.LineInput("text", user_id, at, text=msg.text.replace("\x00", ""))
    if isinstance(msg, LocationMessageContent):
        return ess_service.LineInput("location", user_id, at, lat=msg.latitude,
                                     lon=msg.longitude)
    if isinstance(msg, ImageMessageContent):
        return ess_service.LineInput("image", user_id, at, image=image)
    if isinstance(msg, StickerMessageContent):
        return ess_service.LineInput("sticker", user_id, at)
    return None


@line.post("/webhook")
def line_webhook():
    """LINE Official Account webhook: signed by LINE; redeliveries are ignored. Nothing here
    calls LINE: the answer, and the download of a photo, are queued as jobs (ess/flows.py)."""
    from linebot.v3 import WebhookParser
    from linebot.v3.exceptions import InvalidSignatureError
    from linebot.v3.webhooks import ImageMessageContent, MessageEvent

    from ess.models import LineEvent

    config = current_app.config
    if not config["LINE_CHANNEL_SECRET"]:
        return error_response(404, N_("Not found."))
    body = request.get_data(as_text=True)
    try:
        events = WebhookParser(config["LINE_CHANNEL_SECRET"]).parse(
            body, request.headers.get("X-Line-Signature", ""))
    except InvalidSignatureError:
        return error_response(400, N_("Invalid signature."))
    except Exception:  # noqa: BLE001  (signed, but not a body we can read)
        return error_response(400, N_("The request could not be read."))
    answering = bool(config.get("LINE_CHANNEL_ACCESS_TOKEN"))
    session = db()
    for ev in events:
        event_id = getattr(ev, "webhook_event_id", None)
        if not event_id:
            continue
        # NOTE: a redelivery is refused by the unique event id itself (one round trip instead
        # of a look-up first); earlier events of this body are already committed.
        session.rollback()
        try:
            session.connection().execute(insert(LineEvent.__table__),
                                         {"webhook_event_id": event_id, "received_at": utcnow()})
        except IntegrityError:
            session.rollback()  # NOTE: a concurrent redelivery got there first.
            continue
        token = getattr(ev, "reply_token", None)
        item = _line_input(ev, None)
        if (item is not None and item.kind == "image" and answering
                and isinstance(ev, MessageEvent) and isinstance(ev.message, ImageMessageContent)):
            # NOTE: the photo is fetched by the job worker (tried again from its message id
            # while LINE is slow or down); the user's report takes it when it arrives.
            province, incident_id = ess_service.report_place(
                session=session, report=ess_service.current_line_report(
                    session=session, user_id=item.user_id, at=item.at,
                    window_minutes=config["ESS_LINE_WINDOW_MINUTES"]))
            ess_flows.queue_image(session, message_id=ev.message.id, user_id=item.user_id,
                                  at=item.at, reply_token=token, province_code=province,
                                  incident_id=incident_id)
            session.commit()
            continue
        outcome = None
        if item is not None:
            outcome = ess_service.handle_line(
                session=session, item=item, settings=_settings(),
                window_minutes=config["ESS_LINE_WINDOW_MINUTES"],
                attachment_dir=Path(config["ESS_ATTACHMENT_DIR"]),
                max_photo_bytes=config["ESS_MAX_PHOTO_BYTES"],
                max_photo_pixels=config["ESS_MAX_PHOTO_PIXELS"])
        if outcome is not None and outcome.message is not None and answering:
            with force_locale("th"):
                text = translate(outcome.message, outcome.params)
                label = (translate(ess_service.LINE_SEND_LOCATION) if outcome.ask_location
                         else None)
            province, incident_id = ess_service.report_place(
                session=session, report=outcome.report, incident=outcome.incident)
            ess_flows.queue_reply(session, reply_token=token, user_id=item.user_id, text=text,
                                  ask_location=label, province_code=province,
                                  incident_id=incident_id)
        try:
            session.commit()
        except Exception:
            if outcome is not None:
                ess_service.discard_files(outcome.files)
            raise
    return jsonify({"ok": True})
