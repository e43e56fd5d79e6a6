"""Slow third-party work of the ESS domain: the LINE Messaging API through line-bot-sdk.

Replies, status pushes and photo downloads are jobs (jobs/): the webhook and the dispatch
requests only queue them, in their own transaction; the job worker calls LINE with a timeout
per call, retries with back-off and gives up visibly. A photo whose download keeps failing is
never lost: its LINE message id stays in the job, which is tried again from it."""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from linebot.v3.messaging import (
    ApiClient,
    Configuration,
    LocationAction,
    MessagingApi,
    MessagingApiBlob,
    PushMessageRequest,
    QuickReply,
    QuickReplyItem,
    ReplyMessageRequest,
    TextMessage,
)

from console.errors import N_
from jobs.service import JobContext, JobFailed, Skip, enqueue, task

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LineMessenger:
    """Replies, pushes and content downloads for one LINE channel (base URLs configurable)."""

    access_token: str
    api_base: str
    data_api_base: str
    timeout: float = 10.0

    @classmethod
    def from_config(cls, config) -> LineMessenger | None:
        """The channel's messenger, or None when LINE is not configured."""
        if not config.get("LINE_CHANNEL_ACCESS_TOKEN"):
            return None
        return cls(config["LINE_CHANNEL_ACCESS_TOKEN"], config["LINE_API_BASE"].rstrip("/"),
                   config["LINE_DATA_API_BASE"].rstrip("/"),
                   float(config.get("OUTBOUND_TIMEOUT_SECONDS") or 10))

    def _client(self, host: str) -> ApiClient:
        from urllib3.util.retry import Retry

        configuration = Configuration(host=host, access_token=self.access_token)
        # NOTE: urllib3 retries a timed-out GET 3 more times by itself (4 x the timeout: a
        # photo webhook once took 50 s); the job queue retries instead, with back-off.
        configuration.retries = Retry(total=None, connect=0, read=0, status=0, other=0,
                                      redirect=3)
        return ApiClient(configuration)

    @staticmethod
    def _text(text: str, ask_location: str | None) -> TextMessage:
        if not ask_location:
            return TextMessage(text=text)
        return TextMessage(text=text, quick_reply=QuickReply(items=[
            QuickReplyItem(action=LocationAction(label=ask_location[:20]))]))

    def reply(self, reply_token: str, text: str, ask_location: str | None = None) -> None:
        """Answer one webhook event (the reply token is single-use)."""
        with self._client(self.api_base) as client:
            MessagingApi(client).reply_message(ReplyMessageRequest(
                reply_token=reply_token, messages=[self._text(text, ask_location)]),
                _request_timeout=self.timeout)

    def push(self, to: str, text: str, retry_key: str | None = None) -> None:
        """Send a message to a LINE user outside any webhook event. With a retry key, LINE
        sends a retried push once however many tries reach it (409 on the later ones)."""
        from linebot.v3.messaging.exceptions import ApiException

        with self._client(self.api_base) as client:
            try:
                MessagingApi(client).push_message(PushMessageRequest(
                    to=to, messages=[TextMessage(text=text)]), x_line_retry_key=retry_key,
                    _request_timeout=self.timeout)
            except ApiException as exc:
                if retry_key and exc.status == 409:
                    return  # NOTE: an earlier try (one that timed out here) was accepted.
                raise

    def content(self, message_id: str) -> bytes:
        """The bytes of an image a user sent (from the LINE content endpoint)."""
        with self._client(self.data_api_base) as client:
            return bytes(MessagingApiBlob(client).get_message_content(
                message_id, _request_timeout=self.timeout))


# --- jobs -----------------------------------------------------------------------------------

LINE_PUSH = "line.push"
LINE_REPLY = "line.reply"
LINE_IMAGE = "line.image"


def _failure(exc: Exception):
    """A LINE call that failed, as a failed try of its job (timeout, unreachable, refused)."""
    from linebot.v3.messaging.exceptions import ApiException
    from urllib3.exceptions import (
        MaxRetryError,
        NewConnectionError,
        ProtocolError,
    )
    from urllib3.exceptions import TimeoutError as Urllib3Timeout

    if isinstance(exc, ApiException):
        status = exc.status or 0
        if status == 429 or status >= 500:
            return JobFailed("service_error", f"LINE {status} {exc.reason or ''}".strip())
        return JobFailed("refused", f"LINE {status} {exc.reason or ''}".strip(), retry=False)
    cause = exc.reason if isinstance(exc, MaxRetryError) else exc
    if isinstance(cause, Urllib3Timeout) or isinstance(exc, Urllib3Timeout):
        return JobFailed("timeout", str(exc)[:500])
    if isinstance(cause, (NewConnectionError, ProtocolError, ConnectionError, OSError)):
        return JobFailed("unreachable", str(exc)[:500])
    return JobFailed("error", f"{exc.__class__.__name__}: {exc}"[:500])


def _retry_key(ctx: JobContext) -> str:
    """The LINE retry key of a push job: the same for every try of the job."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"outbound_job:{ctx.job.id}"))


def _messenger(ctx: JobContext) -> LineMessenger:
    messenger = LineMessenger.from_config(ctx.app.config)
    if messenger is None:
        raise JobFailed("refused", "LINE is not configured", retry=False)
    return messenger


def queue_reply(session, *, reply_token: str | None, user_id: str, text: str,
                ask_location: str | None, province_code: str | None = None,
                incident_id: int | None = None) -> None:
    """Queue the answer to a LINE user (the reply token, else a push when it has expired)."""
    enqueue(session, LINE_REPLY, {"reply_token": reply_token, "to": user_id, "text": text,
                                  "ask_location": ask_location},
            province_code=province_code, incident_id=incident_id, recipient="LINE")


def queue_image(session, *, message_id: str, user_id: str, at: datetime,
                reply_token: str | None, province_code: str | None = None,
                incident_id: int | None = None) -> None:
    """Queue downloading a photo a LINE user sent; the message id is what a retry needs."""
    enqueue(session, LINE_IMAGE, {"message_id": message_id, "user_id": user_id,
                                  "at": at.isoformat(), "reply_token": reply_token},
            province_code=province_code, incident_id=incident_id, recipient="LINE")


@task(LINE_REPLY, label=N_("LINE answer to a reporter"), max_attempts=3)
def reply_job(ctx: JobContext, payload: dict) -> None:
    """Answer with the reply token; one that LINE refuses (expired) becomes a push."""
    from linebot.v3.messaging.exceptions import ApiException

    messenger = _messenger(ctx)
    try:
        if payload.get("reply_token"):
            try:
                messenger.reply(payload["reply_token"], payload["text"],
                                ask_location=payload.get("ask_location"))
                return
            except ApiException as exc:
                if exc.status != 400:
                    raise
                # NOTE: a reply token works once and only for a short time: after an
                # outage the answer still reaches the reporter, as a push.
                payload["reply_token"] = None
        messenger.push(payload["to"], payload["text"], retry_key=_retry_key(ctx))
    except Exception as exc:  # noqa: BLE001
        raise _failure(exc) from exc

@task(LINE_PUSH, label=N_("LINE status message to a reporter"))
def push_job(ctx: JobContext, payload: dict) -> None:
    """Tell a LINE reporter a status change of their report's incident."""
    from flask_babel import force_locale
    from sqlalchemy import select

    from console.web import translate
    from dispatch.enums import IncidentStatus
    from ess.models import LineFollower
    from ess.service import PUSH_MESSAGES

    following = ctx.session.scalar(select(LineFollower.following).where(
        LineFollower.line_user_id == payload["to"]))
    message = PUSH_MESSAGES.get(IncidentStatus(payload["status"]))
    if following is False or message is None:
        raise Skip  # NOTE: unfollowed since: LINE refuses pushes to them anyway.
    with force_locale("th"):
        text = translate(message, {"number": f"ESS-{payload['report_id']:06d}"})
    try:
        _messenger(ctx).push(payload["to"], text, retry_key=_retry_key(ctx))
    except Exception as exc:  # noqa: BLE001
        raise _failure(exc) from exc

@task(LINE_IMAGE, label=N_("LINE photo download"))
def image_job(ctx: JobContext, payload: dict) -> None:
    """Download the photo, keep it with the user's report, then answer the user."""
    from flask_babel import force_locale

    from console.web import translate
    from dispatch.fusion import FusionSettings
    from ess import service as ess_service

    try:
        image = _messenger(ctx).content(payload["message_id"])
    except Exception as exc:  # noqa: BLE001
        raise _failure(exc) from exc
    config = ctx.app.config
    item = ess_service.LineInput("image", payload["user_id"],
                                 datetime.fromisoformat(payload["at"]).astimezone(UTC),
                                 image=image)
    outcome = ess_service.handle_line(
        session=ctx.session, item=item,
        settings=FusionSettings.from_config(config),
        window_minutes=config["ESS_LINE_WINDOW_MINUTES"],
        attachment_dir=Path(config["ESS_ATTACHMENT_DIR"]),
        max_photo_bytes=config["ESS_MAX_PHOTO_BYTES"],
        max_photo_pixels=config["ESS_MAX_PHOTO_PIXELS"])
    ctx.on_rollback.append(lambda: ess_service.discard_files(outcome.files))
    if outcome.message is None:
        return
    with force_locale("th"):
        text = translate(outcome.message, outcome.params)
        label = (translate(ess_service.LINE_SEND_LOCATION) if outcome.ask_location
                 else None)
    report = outcome.report
    incident = report.incident_id if report is not None else None
    queue_reply(ctx.session, reply_token=payload.get("reply_token"),
                user_id=payload["user_id"], text=text, ask_location=label,
                province_code=ctx.job.province_code, incident_id=incident)

