"""Input limits: every request body is capped by its path (chunked ones too), JSON by its depth.

The caps (bytes, from configuration, see console/config.py):
- ``/api/v1/reports``: ``MAX_CONTENT_LENGTH`` (the ESS app's photos: ``ESS_MAX_TOTAL_BYTES`` plus
  1 MiB for the report and the multipart framing);
- ``/telephony/twilio/...``: ``TWILIO_WEBHOOK_MAX_BYTES`` (a Twilio form post is 1-3 KB);
- ``/line/...``: ``LINE_WEBHOOK_MAX_BYTES`` (one LINE delivery may batch several events, each
  text up to 5,000 characters, ~30 KB once escaped);
- everything else (desk JSON, login forms, Socket.IO polling): ``MAX_BODY_BYTES``.

A body that says it is larger is refused with 413 before a byte of it is read; a body without
Content-Length (Transfer-Encoding: chunked) is counted while it is read and refused with 413 at
the first byte past the cap, so at most the cap is ever held in memory.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterator
from typing import Any

from flask import Flask, request

from console.errors import N_, DomainError

LIMIT_KEY = "console.body_limit"
TOO_LARGE_KEY = "console.body_too_large"
# Deepest JSON nesting accepted (the deepest real body, a call with an incident, has 4 levels).
MAX_JSON_DEPTH = 32
_PIECE = 64 * 1024


def human_size(n: int) -> str:
    """A byte count as people read it: 64 KB, 16 MB."""
    if n >= 1024 * 1024:
        value = n / (1024 * 1024)
        return f"{value:.0f} MB" if value == int(value) else f"{value:.1f} MB"
    return f"{max(1, round(n / 1024))} KB"


class BodyTooLarge(DomainError):
    """More bytes were sent than this address accepts."""

    status = 413

    def __init__(self, limit: int) -> None:
        super().__init__(N_("Too much data was sent: at most %(size)s. Send less and try again."),
                         size=human_size(limit))
        self.limit = limit


class JsonTooDeep(DomainError):
    """JSON nested deeper than any real request."""

    status = 400

    def __init__(self) -> None:
        super().__init__(N_("The data sent is nested too deeply. Send it in the documented "
                            "form."))


def body_limit(path: str, config) -> int:
    """The largest body accepted on this path (bytes)."""
    if path.startswith("/telephony/twilio/"):
        return config["TWILIO_WEBHOOK_MAX_BYTES"]
    if path.startswith("/line/"):
        return config["LINE_WEBHOOK_MAX_BYTES"]
    if path.startswith("/api/v1/reports"):
        return config["MAX_CONTENT_LENGTH"]
    if path.startswith("/api/cases/") and path.endswith("/documents"):
        # A subsidy's document upload: one file plus the multipart framing.
        return config["SUBSIDY_DOC_MAX_BYTES"] + 64 * 1024
    return config["MAX_BODY_BYTES"]


class CappedInput:
    """A wsgi.input that raises BodyTooLarge as soon as more than `limit` bytes are read."""

    def __init__(self, stream, limit: int) -> None:
        self._stream = stream
        self._limit = limit
        self.consumed = 0

    def _allow(self, size: int | None) -> int:
        # NOTE: ask the server for at most one byte past the cap, never more.
        room = self._limit - self.consumed + 1
        return room if size is None or size < 0 else min(size, room)

    def _count(self, data: bytes) -> bytes:
        self.consumed += len(data)
        if self.consumed > self._limit:
            raise BodyTooLarge(self._limit)
        return data

    def read(self, size: int | None = -1) -> bytes:
        if size is not None and size >= 0:
            return self._count(self._stream.read(self._allow(size)))
        pieces = []
        while True:  # NOTE: an unbounded read goes piece by piece so it stops at the cap.
            piece = self._count(self._stream.read(self._allow(_PIECE)))
            if not piece:
                return b"".join(pieces)
            pieces.append(piece)

    def readline(self, size: int | None = -1) -> bytes:
        return self._count(self._stream.readline(self._allow(size)))

    def readlines(self, hint: int = -1) -> list[bytes]:
        lines, total = [], 0
        for line in self:
            lines.append(line)
            total += len(line)
            if 0 < hint <= total:
                break
        return lines

    def readinto(self, buffer) -> int:
        data = self.read(len(buffer))
        buffer[:len(data)] = data
        return len(data)

    def __iter__(self) -> Iterator[bytes]:
        while line := self.readline():
            yield line

    def close(self) -> None:
        close = getattr(self._stream, "close", None)
        if close is not None:
            close()

    def __getattr__(self, name: str) -> Any:
        # NOTE: servers' own attributes (gevent's rfile, eventlet's 100-continue) pass through,
        # but no way of reading around the count does.
        if name.startswith(("read", "peek")):
            raise AttributeError(name)
        return getattr(self._stream, name)


class BodyLimit:
    """WSGI middleware: cap every request body by its path (declared or chunked)."""

    def __init__(self, wsgi_app: Callable, app: Flask) -> None:
        self.wsgi_app = wsgi_app
        self.app = app

    def __call__(self, environ: dict, start_response: Callable):
        limit = body_limit(environ.get("PATH_INFO") or "/", self.app.config)
        environ[LIMIT_KEY] = limit
        raw_length = (environ.get("CONTENT_LENGTH") or "").strip()
        declared = int(raw_length) if raw_length.isdigit() else None
        if declared is not None and declared > limit:
            # Refused before reading (the first before_request answers 413).
            environ[TOO_LARGE_KEY] = True
            environ["wsgi.input"] = io.BytesIO()
            environ["CONTENT_LENGTH"] = "0"
        elif environ.get("REQUEST_METHOD") == "GET" and environ.get("HTTP_UPGRADE"):
            pass  # NOTE: a websocket handshake: the server hands its raw socket over (gevent
            # through wsgi.input), so it stays as it is; request.max_content_length still holds.
        else:
            environ["wsgi.input"] = CappedInput(environ["wsgi.input"], limit)
            if declared is None and "chunked" in environ.get("HTTP_TRANSFER_ENCODING", "").lower():
                # NOTE: werkzeug reads a body without Content-Length only when the server says
                # it ends the stream; gevent and werkzeug's server say so, eventlet decodes
                # chunked bodies too but does not say it. The cap above bounds it either way.
                environ.setdefault("wsgi.input_terminated", True)
        return self.wsgi_app(environ, start_response)


def _apply_body_limit() -> None:
    """Refuse a declared oversized body; let this path's cap, not Flask's, end a chunked one."""
    limit = request.environ.get(LIMIT_KEY)
    if limit is None:
        return
    if request.environ.get(TOO_LARGE_KEY):
        raise BodyTooLarge(limit)
    # NOTE: werkzeug stops a stream at max_content_length by cutting it short (a truncated
    # body, no error); one byte more lets CappedInput see the cap passed and answer 413.
    request.max_content_length = limit + 1


def install(app: Flask) -> None:
    """Wrap the app in the body limits; an oversized declared body is refused first thing."""
    app.wsgi_app = BodyLimit(app.wsgi_app, app)
    # NOTE: first of all before_request hooks: before CSRF or the login read anything.
    app.before_request_funcs.setdefault(None, []).insert(0, _apply_body_limit)


def _depth(data: Any) -> int:
    """How deeply lists and objects nest (a scalar is 0); stops counting past the maximum."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(data, 1)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, dict):
            children = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        deepest = max(deepest, level)
        if deepest > MAX_JSON_DEPTH:
            return deepest
        stack.extend((child, level + 1) for child in children)
    return deepest


def loads_json(raw: bytes | str) -> Any | None:
    """Parsed JSON, None when it is not JSON; JsonTooDeep when nested past MAX_JSON_DEPTH."""
    try:
        data = json.loads(raw)
    except RecursionError:
        raise JsonTooDeep() from None
    except ValueError:
        return None
    if _depth(data) > MAX_JSON_DEPTH:
        raise JsonTooDeep()
    return data


def request_json() -> Any | None:
    """The request's JSON body (as request.get_json(silent=True)), with its depth capped."""
    if not request.is_json:
        return None
    return loads_json(request.get_data(cache=True))
