"""Photos from the ESS app and LINE are redrawn with Pillow (issue 12): metadata and passengers
stripped, orientation applied; whatever does not decode, or is too many pixels, is refused
and nothing is stored."""

from __future__ import annotations

import hashlib
import io
import json
import time
import zipfile
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy import func, select

from dispatch.models import Incident
from ess.models import Attachment, Report
from tests.ess_helpers import (
    LineServer,
    image_bytes,
    line_event,
    line_signature,
    make_api_key,
    report_body,
)
from tests.jobs_helpers import run_jobs

GPS_IFD = 0x8825
ORIENTATION = 0x0112
SECRET = "line-channel-secret"


@pytest.fixture
def api(app, tmp_path):
    app.config["ESS_ATTACHMENT_DIR"] = str(tmp_path / "att")
    return app.test_client(), {"X-Api-Key": make_api_key(app), "Accept-Language": "en"}


def count(session, model) -> int:
    session.expire_all()
    return session.scalar(select(func.count()).select_from(model))


def stored_files(app) -> list[Path]:
    folder = Path(app.config["ESS_ATTACHMENT_DIR"])
    return sorted(folder.iterdir()) if folder.exists() else []


def post_photos(http, key, photos: list[bytes]):
    return http.post("/api/v1/reports", data={
        "report": json.dumps(report_body()),
        "photos": [(io.BytesIO(data), f"photo{i}.jpg") for i, data in enumerate(photos)]},
        content_type="multipart/form-data", headers=key)


def two_colour(size=(40, 20)) -> Image.Image:
    """Left half red, right half blue: which way up it is shows after a rotation."""
    image = Image.new("RGB", size, (255, 0, 0))
    image.paste((0, 0, 255), (size[0] // 2, 0, size[0], size[1]))
    return image


def phone_jpeg() -> bytes:
    """A JPEG as a phone writes it: EXIF with GPS, maker and orientation 6, and a comment."""
    exif = Image.Exif()
    exif[ORIENTATION] = 6  # stored sideways: show it turned 90 degrees clockwise
    exif[0x010F] = "PhoneMakerSecret"
    exif[GPS_IFD] = {1: "N", 2: (16.0, 48.0, 54.0), 3: "E", 4: (100.0, 15.0, 36.0)}
    out = io.BytesIO()
    two_colour().save(out, format="JPEG", exif=exif, comment=b"comment-secret", quality=95)
    data = out.getvalue()
    with Image.open(io.BytesIO(data)) as check:  # the crafted file really carries all that
        assert check.getexif().get_ifd(GPS_IFD) and check.getexif()[ORIENTATION] == 6
    return data


def assert_clean(data: bytes, kind: str) -> Image.Image:
    """Stored bytes decode as `kind` and carry no metadata at all."""
    image = Image.open(io.BytesIO(data))
    image.load()
    assert image.format == kind
    exif = image.getexif()
    assert len(exif) == 0 and not exif.get_ifd(GPS_IFD)
    for marker in (b"Exif", b"PhoneMakerSecret", b"comment-secret", b"png-secret", b"XMP"):
        assert marker not in data, marker
    assert not {"exif", "comment", "icc_profile", "xmp", "Comment"} & set(image.info)
    return image


def test_a_phone_photo_is_stored_upright_without_exif_or_gps(app, api, session):
    http, key = api
    resp = post_photos(http, key, [phone_jpeg()])
    assert resp.status_code == 201, resp.json
    row = session.scalar(select(Attachment))
    kept = (Path(app.config["ESS_ATTACHMENT_DIR"]) / row.stored_name).read_bytes()
    image = assert_clean(kept, "JPEG")
    assert row.content_type == "image/jpeg"
    assert row.size == len(kept) and row.sha256 == hashlib.sha256(kept).hexdigest()
    # Orientation applied before the EXIF was dropped: 40x20 sideways -> 20x40, red on top.
    assert image.size == (20, 40)
    top, bottom = image.getpixel((10, 3)), image.getpixel((10, 36))
    assert top[0] > 200 and top[2] < 60 and bottom[2] > 200 and bottom[0] < 60


@pytest.mark.parametrize("fmt", ["PNG", "WEBP"])
def test_png_and_webp_stay_their_format_without_metadata(app, api, session, fmt):
    from PIL import PngImagePlugin

    exif = Image.Exif()
    exif[0x010F] = "PhoneMakerSecret"
    exif[GPS_IFD] = {1: "N", 2: (16.0, 48.0, 54.0)}
    extra = {"exif": exif}
    if fmt == "PNG":
        info = PngImagePlugin.PngInfo()
        info.add_text("Comment", "png-secret")
        extra["pnginfo"] = info
    original = image_bytes(fmt, size=(12, 9), **extra)
    assert b"PhoneMakerSecret" in original
    http, key = api
    resp = post_photos(http, key, [original])
    assert resp.status_code == 201, resp.json
    row = session.scalar(select(Attachment))
    kept = (Path(app.config["ESS_ATTACHMENT_DIR"]) / row.stored_name).read_bytes()
    assert assert_clean(kept, fmt).size == (12, 9)
    assert row.content_type == f"image/{fmt.lower()}"


def truncated(fmt: str) -> bytes:
    out = io.BytesIO()
    Image.effect_noise((120, 120), 64).convert("RGB").save(out, format=fmt)
    data = out.getvalue()
    return data[: len(data) // 2]


def bomb() -> bytes:
    """81 million pixels in about 10 KB (one bit per pixel, all zero)."""
    out = io.BytesIO()
    Image.new("1", (9000, 9000)).save(out, format="PNG")
    data = out.getvalue()
    assert len(data) < 50_000
    return data


def zip_bytes() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("payload.html", "<script>alert(1)</script>")
    return out.getvalue()


UNREADABLE = ("This file is not a photo that can be opened. Please send the photo again as JPEG, "
              "PNG or WebP.")
REFUSED = [
    ("jpeg header then html", b"\xff\xd8\xff\xe0" + b"<html><script>alert(1)</script></html>",
     UNREADABLE),
    ("jpeg header then zip", b"\xff\xd8\xff\xe0" + zip_bytes(), UNREADABLE),
    ("png magic then script", b"\x89PNG\r\n\x1a\n<script>alert(1)</script>", UNREADABLE),
    ("webp magic then junk", b"RIFF\x10\x00\x00\x00WEBPVP8 " + b"\x00" * 40, UNREADABLE),
    ("html named .jpg", b"<html><body>hello</body></html>",
     "Only JPEG, PNG or WebP photos are accepted."),
    ("truncated jpeg", truncated("JPEG"), UNREADABLE),
    ("truncated png", truncated("PNG"), UNREADABLE),
    ("decompression bomb", bomb(),
     "This photo has too many pixels: at most 40 megapixels. Please send a smaller photo."),
]


@pytest.mark.parametrize("name,data,message", REFUSED, ids=[r[0] for r in REFUSED])
def test_what_does_not_decode_is_refused_and_nothing_is_stored(app, api, session, name, data,
                                                               message):
    http, key = api
    # A good photo first: the bad second one must not leave a half-written report behind.
    resp = post_photos(http, key, [image_bytes("JPEG"), data])
    assert resp.status_code == 422, resp.json
    assert resp.json["fields"] == {"photos.1": message}
    assert count(session, Report) == 0 and count(session, Attachment) == 0
    assert count(session, Incident) == 0 and stored_files(app) == []


def test_a_photo_with_a_passenger_appended_is_kept_without_it(app, api, session):
    """A whole JPEG with an archive or page after its end decodes (phones append motion-photo
    data there too): it is accepted, and only the redrawn pixels are kept."""
    http, key = api
    polyglot = image_bytes("JPEG", size=(16, 16)) + zip_bytes() + b"<html>evil</html>"
    resp = post_photos(http, key, [polyglot])
    assert resp.status_code == 201, resp.json
    (kept_path,) = stored_files(app)
    kept = kept_path.read_bytes()
    assert b"PK\x03\x04" not in kept and b"<html>" not in kept and b"payload" not in kept
    assert_clean(kept, "JPEG")


def test_the_pixel_cap_is_configurable(app, api, session):
    http, key = api
    app.config["ESS_MAX_PHOTO_PIXELS"] = 1000
    resp = post_photos(http, key, [image_bytes("PNG", size=(40, 40))])
    assert resp.status_code == 422
    assert "0.001 megapixels" in resp.json["fields"]["photos.0"]
    assert post_photos(http, key, [image_bytes("PNG", size=(30, 30))]).status_code == 201
    th = post_photos(http, {**key, "Accept-Language": "th"}, [image_bytes("PNG", size=(40, 40))])
    assert "ล้านพิกเซล" in th.json["fields"]["photos.0"]


# --- LINE: images downloaded from the content API ------------------------------------------


@pytest.fixture
def line(app, tmp_path):
    """The app pointed at a local LINE stand-in whose image content each test sets."""
    server = LineServer()
    app.config.update(LINE_CHANNEL_SECRET=SECRET, LINE_CHANNEL_ACCESS_TOKEN="token",
                      LINE_API_BASE=server.url, LINE_DATA_API_BASE=server.url,
                      ESS_ATTACHMENT_DIR=str(tmp_path / "att"))
    http = app.test_client()

    def send(*events):
        body = json.dumps({"destination": "U", "events": list(events)},
                          ensure_ascii=False).encode()
        resp = http.post("/line/webhook", data=body, content_type="application/json",
                         headers={"X-Line-Signature": line_signature(SECRET, body)})
        assert resp.status_code == 200, resp.get_data(as_text=True)[:300]
        run_jobs(app)  # NOTE: photos are downloaded and answered by the job worker.

    yield send, server
    server.close()


def now_ms() -> int:
    return int(time.time() * 1000)


def replies(server) -> list[str]:
    return [b["messages"][0]["text"] for b in server.posted("/v2/bot/message/reply")]


def test_a_line_photo_is_kept_without_its_gps(app, line, session):
    send, server = line
    server.content = phone_jpeg()
    send(line_event("image", event_id="p1", at_ms=now_ms()))
    row = session.scalar(select(Attachment))
    kept = (Path(app.config["ESS_ATTACHMENT_DIR"]) / row.stored_name).read_bytes()
    assert assert_clean(kept, "JPEG").size == (20, 40)
    assert row.size == len(kept) and row.sha256 == hashlib.sha256(kept).hexdigest()


def test_a_bad_line_image_opens_no_report_and_is_answered(app, line, session):
    send, server = line
    server.content = b"\xff\xd8\xff\xe0<html><script>alert(1)</script></html>"
    send(line_event("image", event_id="b1", at_ms=now_ms()))
    assert count(session, Report) == 0 and count(session, Attachment) == 0
    assert stored_files(app) == []
    assert "กรุณาส่งรูปภาพอีกครั้ง" in replies(server)[0] and "ESS-" not in replies(server)[0]

    # With a report already open, the refusal names it and leaves it as it was.
    send(line_event("text", event_id="t1", at_ms=now_ms(), text="มีคนหมดสติ"))
    report = session.scalar(select(Report))
    last = report.last_message_at
    server.content = bomb()
    send(line_event("image", event_id="b2", at_ms=now_ms() + 1000))
    session.expire_all()
    report = session.scalar(select(Report))
    assert count(session, Report) == 1 and count(session, Attachment) == 0
    assert report.last_message_at == last and stored_files(app) == []
    assert f"ESS-{report.id:06d}" in replies(server)[-1]
