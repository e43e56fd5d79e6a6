"""Slow third-party work of the ESS domain: the LINE Messaging API through line-bot-sdk."""

from __future__ import annotations

import logging
from dataclasses import dataclass

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
                   config["LINE_DATA_API_BASE"].rstrip("/"))

    def _client(self, host: str) -> ApiClient:
        return ApiClient(Configuration(host=host, access_token=self.access_token))

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

    def push(self, to: str, text: str) -> None:
        """Send a message to a LINE user outside any webhook event."""
        with self._client(self.api_base) as client:
            MessagingApi(client).push_message(PushMessageRequest(
                to=to, messages=[TextMessage(text=text)]), _request_timeout=self.timeout)

    def content(self, message_id: str) -> bytes:
        """The bytes of an image a user sent (from the LINE content endpoint)."""
        with self._client(self.data_api_base) as client:
            return bytes(MessagingApiBlob(client).get_message_content(
                message_id, _request_timeout=self.timeout))
