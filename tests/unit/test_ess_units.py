"""ESS Help Me pure logic: photo sniffing and limits, LINE signatures, public statuses."""

from __future__ import annotations

import json

import pytest
from linebot.v3 import WebhookParser
from linebot.v3.exceptions import InvalidSignatureError

from console.errors import ValidationFailed
from dispatch.enums import IncidentStatus
from ess import service as ess_service
from ess.openapi import document
from tests.ess_helpers import line_event, line_signature, png_bytes


def test_photos_are_recognised_by_magic_bytes_only():
    assert ess_service.sniff_photo(b"\xff\xd8\xff\xe0" + b"\x00" * 10) == "image/jpeg"
    assert ess_service.sniff_photo(png_bytes()) == "image/png"
    assert ess_service.sniff_photo(b"RIFF\x00\x00\x00\x00WEBPVP8 ") == "image/webp"
    for other in (b"GIF89a", b"<svg>", b"%PDF-1.7", b"", b"RIFF\x00\x00\x00\x00AVI "):
        assert ess_service.sniff_photo(other) is None


def test_photo_limits_name_the_field():
    ok = ess_service.check_photos([png_bytes()], max_count=1, max_bytes=1000, max_total=1000,
                                  max_pixels=10_000)
    assert ok[0].content_type == "image/png"
    with pytest.raises(ValidationFailed) as exc:
        ess_service.check_photos([png_bytes()] * 2, max_count=1, max_bytes=1000, max_total=1000,
                                 max_pixels=10_000)
    assert set(exc.value.errors) == {"photos"}
    with pytest.raises(ValidationFailed) as exc:
        ess_service.check_photos([png_bytes(), b"nope"], max_count=3, max_bytes=1000,
                                 max_total=9000, max_pixels=10_000)
    assert set(exc.value.errors) == {"photos.1"}


def test_line_signature_is_what_the_sdk_verifies():
    body = json.dumps({"destination": "U", "events": [
        line_event("text", event_id="e", at_ms=1, text="สวัสดี")]}, ensure_ascii=False)
    parser = WebhookParser("secret")
    events = parser.parse(body, line_signature("secret", body.encode()))
    assert events[0].webhook_event_id == "e" and events[0].message.text == "สวัสดี"
    with pytest.raises(InvalidSignatureError):
        parser.parse(body, line_signature("other", body.encode()))
    with pytest.raises(InvalidSignatureError):
        parser.parse(body + " ", line_signature("secret", body.encode()))


def test_every_incident_status_has_a_public_status_in_the_document():
    assert set(ess_service.PUBLIC_STATUS) == set(IncidentStatus)
    enum = document()["components"]["schemas"]["ReportStatus"]["properties"]["status"]["enum"]
    assert set(ess_service.PUBLIC_STATUS.values()) == set(enum)


def test_hashes_not_keys_are_kept():
    key = "abc"
    assert ess_service.hash_secret(key) != key and len(ess_service.hash_secret(key)) == 64
