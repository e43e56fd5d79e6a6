"""Helpers shared by the ESS Help Me tests."""

from __future__ import annotations

import struct
import zlib

# Phitsanulok city (province 65), and a point about 110 m north of it.
PSL = (16.8150, 100.2600)
PSL_NEAR = (16.8160, 100.2600)
PSL_FAR = (16.8300, 100.2600)  # ~1.7 km
TOKYO = (35.68, 139.69)


def png_bytes(size: int = 0) -> bytes:
    """A real 1x1 PNG, padded to about `size` bytes when asked."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))
    raw = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0))
           + chunk(b"IDAT", zlib.compress(b"\x00\xff\x00\x00")) + chunk(b"IEND", b""))
    return raw + b"\x00" * max(0, size - len(raw))


def report_body(lat_lon=PSL, **over) -> dict:
    """A valid app report."""
    body = {"category": "children", "description": "เด็กร้องไห้ในบ้านร้าง",
            "position": {"lat": lat_lon[0], "lon": lat_lon[1], "accuracy_m": 15},
            "contact": None}
    body.update(over)
    return body


def make_api_key(app, name: str = "test app") -> str:
    """Register an API client and return its key."""
    from ess import service as ess_service

    session = app.extensions["db_factory"]()
    try:
        _, key = ess_service.create_api_client(session=session, name=name)
        session.commit()
    finally:
        session.close()
    return key


class LineServer:
    """A stand-in for the LINE Messaging API on 127.0.0.1 that records every call."""

    def __init__(self, content: bytes = b"") -> None:
        import json
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        self.calls: list[tuple[str, str, dict]] = []
        self.content = content
        self.delay = 0.0  # seconds every answer waits (a hanging LINE API)
        self.fail_status: int | None = None  # answer every call with this status instead
        self.retry_keys: set[str] = set()  # X-Line-Retry-Key values already accepted
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *_args):
                pass

            def _answer(self, status: int, body: bytes, kind: str) -> None:
                if server.delay:
                    import time

                    time.sleep(server.delay)
                if server.fail_status:
                    status, body, kind = server.fail_status, b'{"message":"fault"}', (
                        "application/json")
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", kind)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except OSError:
                    pass  # NOTE: the client gave up waiting (its timeout) and hung up.

            def do_GET(self):
                server.calls.append(("GET", self.path, {}))
                self._answer(200, server.content, "image/png")

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                data = json.loads(self.rfile.read(length) or b"{}")
                data["_auth"] = self.headers.get("Authorization")
                key = data["_retry_key"] = self.headers.get("X-Line-Retry-Key")
                server.calls.append(("POST", self.path, data))
                if key and key in server.retry_keys:
                    # NOTE: as LINE does: a retry key already accepted is not sent again.
                    self._answer(409, b'{"message":"The retry key is already accepted"}',
                                 "application/json")
                    return
                if key:
                    server.retry_keys.add(key)
                self._answer(200, b'{"sentMessages":[{"id":"1","quoteToken":"q"}]}',
                             "application/json")

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def posted(self, path: str) -> list[dict]:
        """Bodies POSTed to a path, in order."""
        return [body for method, p, body in self.calls if method == "POST" and p == path]

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def line_signature(secret: str, body: bytes) -> str:
    """Sign a webhook body exactly as LINE does: base64 of HMAC-SHA256 with the secret."""
    import base64
    import hashlib
    import hmac

    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def line_event(kind: str, user: str = "U1234567890abcdef", *, event_id: str, at_ms: int,
               **message) -> dict:
    """One LINE webhook event of a user (message kinds: text, location, image, sticker)."""
    base = {"webhookEventId": event_id, "deliveryContext": {"isRedelivery": False},
            "timestamp": at_ms, "source": {"type": "user", "userId": user}, "mode": "active"}
    if kind == "follow":
        return {**base, "type": "follow", "replyToken": f"r-{event_id}",
                "follow": {"isUnblocked": False}}
    if kind == "unfollow":
        return {**base, "type": "unfollow"}
    content = {"type": kind, "id": f"m-{event_id}", **message}
    if kind in {"text", "image", "sticker"}:
        content.setdefault("quoteToken", "q")
    if kind == "image":
        content.setdefault("contentProvider", {"type": "line"})
    if kind == "sticker":
        content.update(packageId="1", stickerId="1", stickerResourceType="STATIC")
    return {**base, "type": "message", "replyToken": f"r-{event_id}", "message": content}


def image_bytes(fmt: str = "JPEG", size: tuple[int, int] = (8, 6), **save) -> bytes:
    """A real image made with Pillow (JPEG, PNG or WEBP), with any save options (exif=...)."""
    import io

    from PIL import Image

    image = Image.new("RGB", size, (200, 30, 30))
    out = io.BytesIO()
    image.save(out, format=fmt, **save)
    return out.getvalue()


def same_pixels(a: bytes, b: bytes) -> bool:
    """Two lossless images (PNG) hold the same pixels."""
    import io

    from PIL import Image

    with Image.open(io.BytesIO(a)) as first, Image.open(io.BytesIO(b)) as second:
        return first.convert("RGB").tobytes() == second.convert("RGB").tobytes() and (
            first.size == second.size)
