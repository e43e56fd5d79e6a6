"""The ESS Help Me app API on SQLite and PostgreSQL: reports, idempotency, limits, photos."""

from __future__ import annotations

import hashlib
import io
import threading
from pathlib import Path

import pytest
from sqlalchemy import func, select

from dispatch.models import Incident
from ess.models import Attachment, IdempotencyRecord, Report
from tests.ess_helpers import (
    TOKYO,
    image_bytes,
    make_api_key,
    png_bytes,
    report_body,
    same_pixels,
)


@pytest.fixture
def api(app, tmp_path):
    """A test client and a valid API key; photos go to a temporary directory."""
    app.config["ESS_ATTACHMENT_DIR"] = str(tmp_path / "attachments")
    return app.test_client(), {"X-Api-Key": make_api_key(app)}


def count(session, model) -> int:
    session.expire_all()
    return session.scalar(select(func.count()).select_from(model))


def test_report_becomes_an_incident_and_the_reporter_can_follow_it(api, session):
    http, key = api
    resp = http.post("/api/v1/reports", json=report_body(contact="0812345678"), headers=key)
    assert resp.status_code == 201, resp.json
    body = resp.json
    assert body["number"].startswith("65-") and body["status"] == "received"
    report = session.get(Report, body["id"])
    incident = session.get(Incident, report.incident_id)
    assert incident.source.value == "app" and incident.province_code == "65"
    assert incident.precision.value == "point" and incident.subdistrict_code == "650101"
    assert incident.created_by_id is None and incident.timeline[0].kind == "created"
    assert report.token_hash == hashlib.sha256(body["token"].encode()).hexdigest()

    status = http.get(f"/api/v1/reports/{body['id']}",
                      headers={**key, "X-Report-Token": body["token"]})
    assert status.status_code == 200
    assert status.json["status"] == "received" and status.json["number"] == body["number"]
    assert "notes" not in status.json and "description" not in status.json
    wrong = http.get(f"/api/v1/reports/{body['id']}", headers={**key, "X-Report-Token": "x"})
    assert wrong.status_code == 404


def test_api_key_is_required(api, session):
    http, _ = api
    assert http.post("/api/v1/reports", json=report_body()).status_code == 401
    resp = http.post("/api/v1/reports", json=report_body(), headers={"X-Api-Key": "nope"})
    assert resp.status_code == 401 and count(session, Report) == 0


def test_bad_input_gets_a_message_per_field_in_thai_or_english(api, session):
    http, key = api
    resp = http.post("/api/v1/reports", json={"category": "x", "position": {"lat": "a"}},
                     headers=key)
    assert resp.status_code == 422
    assert set(resp.json["fields"]) >= {"category", "position.lat", "position.lon"}
    assert any("\u0e00" <= ch <= "\u0e7f" for ch in resp.json["error"])  # Thai by default
    resp = http.post("/api/v1/reports", json={"category": "x", "position": {"lat": "a"}},
                     headers={**key, "Accept-Language": "en-US,en;q=0.9"})
    assert resp.json["fields"]["category"] == "Choose one of the listed options."
    resp = http.post("/api/v1/reports", data="not json", content_type="application/json",
                     headers=key)
    assert resp.status_code == 400
    resp = http.post("/api/v1/reports", json=report_body(lat_lon=TOKYO),
                     headers={**key, "Accept-Language": "en"})
    assert resp.status_code == 422
    assert resp.json["fields"]["position.lat"] == "These coordinates are outside Thailand."
    assert count(session, Report) == 0 and count(session, Incident) == 0


def test_same_idempotency_key_replays_the_first_answer(api, session):
    http, key = api
    headers = {**key, "Idempotency-Key": "k-1"}
    first = http.post("/api/v1/reports", json=report_body(), headers=headers)
    again = http.post("/api/v1/reports", json=report_body(), headers=headers)
    assert first.status_code == again.status_code == 201
    assert first.json == again.json
    assert count(session, Report) == 1 and count(session, Incident) == 1
    other = http.post("/api/v1/reports", json=report_body(description="อื่น"), headers=headers)
    assert other.status_code == 409
    assert count(session, Report) == 1


def test_two_concurrent_identical_requests_make_one_report(app, api, session):
    _, key = api
    headers = {**key, "Idempotency-Key": "same-key"}
    barrier = threading.Barrier(2)
    answers: list = []

    def send():
        http = app.test_client()
        barrier.wait()
        resp = http.post("/api/v1/reports", json=report_body(), headers=headers)
        answers.append((resp.status_code, resp.json))

    threads = [threading.Thread(target=send) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert [a[0] for a in answers] == [201, 201], answers
    assert answers[0][1] == answers[1][1]
    assert count(session, Report) == 1 and count(session, Incident) == 1
    assert count(session, IdempotencyRecord) == 1


def test_rate_limits_per_api_key_and_per_address(app, api):
    http, key = api
    app.config["ESS_API_KEY_LIMIT"] = "2 per minute"
    codes = [http.get("/api/v1/reports/999", headers={**key, "X-Report-Token": "t"}).status_code
             for _ in range(3)]
    assert codes == [404, 404, 429]
    other = {"X-Api-Key": make_api_key(app, "other")}
    assert http.get("/api/v1/reports/999", headers={**other, "X-Report-Token": "t"}
                    ).status_code == 404  # another key has its own budget
    app.config["ESS_API_KEY_LIMIT"] = "100 per minute"
    app.config["ESS_API_IP_LIMIT"] = "2 per minute"
    env = {"REMOTE_ADDR": "10.1.2.3"}
    keys = [{"X-Api-Key": make_api_key(app, f"k{i}"), "X-Report-Token": "t"} for i in range(3)]
    codes = [http.get("/api/v1/reports/999", headers=h, environ_base=env).status_code
             for h in keys]
    assert codes == [404, 404, 429]
    resp = http.get("/api/v1/reports/999", headers={**keys[0], "Accept-Language": "en"},
                    environ_base=env)
    assert resp.json["error"] == "Too many requests. Wait a moment and try again."


def _multipart(body: dict, photos: list[tuple[bytes, str]]) -> dict:
    import json

    return {"report": json.dumps(body),
            "photos": [(io.BytesIO(data), name) for data, name in photos]}


def test_photos_are_stored_privately_with_their_hash(app, api, session):
    http, key = api
    photo = png_bytes()
    resp = http.post("/api/v1/reports", data=_multipart(report_body(), [(photo, "a.jpg")]),
                     content_type="multipart/form-data", headers=key)
    assert resp.status_code == 201, resp.json
    assert resp.json["attachments"] == 1
    row = session.scalar(select(Attachment))
    assert row.content_type == "image/png"  # by magic bytes, not by the file name
    stored = Path(app.config["ESS_ATTACHMENT_DIR"]) / row.stored_name
    kept = stored.read_bytes()  # re-encoded: the same pixels, new bytes
    assert same_pixels(kept, photo) and "a.jpg" not in row.stored_name
    assert row.sha256 == hashlib.sha256(kept).hexdigest() and row.size == len(kept)
    assert http.get(f"/static/{row.stored_name}").status_code == 404


def test_photo_limits(app, api, session):
    http, key = api
    app.config.update(ESS_MAX_PHOTOS=2, ESS_MAX_PHOTO_BYTES=2000, ESS_MAX_TOTAL_BYTES=3000)
    cases = [
        ([(b"GIF89a" + b"\x00" * 50, "x.jpg")], "photos.0"),
        ([(png_bytes(), "1.png")] * 3, "photos"),
        ([(png_bytes(2500), "big.png")], "photos.0"),
        ([(png_bytes(1800), "1.png"), (png_bytes(1800), "2.png")], "photos"),
    ]
    for photos, field in cases:
        resp = http.post("/api/v1/reports", data=_multipart(report_body(), photos),
                         content_type="multipart/form-data", headers=key)
        assert resp.status_code == 422, resp.json
        assert field in resp.json["fields"]
    assert count(session, Report) == 0 and count(session, Attachment) == 0
    webp = image_bytes("WEBP")
    resp = http.post("/api/v1/reports", data=_multipart(report_body(), [(webp, "w")]),
                     content_type="multipart/form-data", headers=key)
    assert resp.status_code == 201


def test_a_report_near_an_open_incident_joins_it(api, login_as, session):
    http, key = api
    first = http.post("/api/v1/reports", json=report_body(), headers=key).json
    near = http.post("/api/v1/reports", json=report_body(lat_lon=(16.8160, 100.2600)),
                     headers=key).json
    far = http.post("/api/v1/reports", json=report_body(lat_lon=(16.8300, 100.2600)),
                    headers=key).json
    other = http.post("/api/v1/reports", json=report_body(category="elderly"), headers=key).json
    assert near["number"] == first["number"]
    assert len({first["number"], far["number"], other["number"]}) == 3
    incident_id = session.get(Report, first["id"]).incident_id
    desk = login_as("dispatcher").get(f"/api/incidents/{incident_id}/reports")
    assert desk.status_code == 200 and desk.json["report_count"] == 2
    assert [r["id"] for r in desk.json["reports"]] == [first["id"], near["id"]]
    assert login_as("cm.dispatcher").get(f"/api/incidents/{incident_id}/reports"
                                         ).status_code == 404
    assert login_as("team1").get(f"/api/incidents/{incident_id}/reports").status_code == 403


def test_the_same_reporter_joins_their_open_incident_nearby_only(api, session):
    http, key = api
    first = http.post("/api/v1/reports", json=report_body(contact="0811111111"), headers=key)
    near = http.post("/api/v1/reports", json=report_body(
        lat_lon=(16.8160, 100.2600), category="other", contact="0811111111"), headers=key)
    assert first.json["number"] == near.json["number"]
    # Farther than ESS_DEDUPE_METERS: a new incident, marked for the desk (test_least_privilege).
    far = http.post("/api/v1/reports", json=report_body(
        lat_lon=(16.90, 100.30), category="other", contact="0811111111"), headers=key)
    assert far.json["number"] != first.json["number"]
    assert session.get(Incident, session.get(Report, far.json["id"]).incident_id
                       ).same_reporter_id == session.get(Report, first.json["id"]).incident_id


def test_a_report_after_the_time_window_opens_a_new_incident(app, api, session):
    http, key = api
    first = http.post("/api/v1/reports", json=report_body(), headers=key).json
    app.config["ESS_DEDUPE_MINUTES"] = 0
    second = http.post("/api/v1/reports", json=report_body(), headers=key).json
    assert first["number"] != second["number"]


def test_dispatcher_merges_and_splits(api, login_as, session):
    http, key = api
    a = http.post("/api/v1/reports", json=report_body(), headers=key).json
    b = http.post("/api/v1/reports", json=report_body(lat_lon=(16.8300, 100.2600)),
                  headers=key).json
    keep_id = session.get(Report, a["id"]).incident_id
    dup_id = session.get(Report, b["id"]).incident_id
    dispatcher = login_as("dispatcher")
    resp = dispatcher.post(f"/api/incidents/{keep_id}/merge", json={"duplicate_id": dup_id})
    assert resp.status_code == 200, resp.json
    session.expire_all()
    dup, keep = session.get(Incident, dup_id), session.get(Incident, keep_id)
    assert dup.status.value == "cancelled"
    assert dup.timeline[-1].note == f"merged into {keep.ref}"
    assert dup.timeline[-1].detail["merged_into"] == keep_id
    assert keep.timeline[-1].kind == "merged" and keep.timeline[-1].detail["merged_from"] == dup_id
    assert session.get(Report, b["id"]).incident_id == keep_id
    assert dispatcher.get(f"/api/incidents/{keep_id}/reports").json["report_count"] == 2
    assert dispatcher.post(f"/api/incidents/{keep_id}/merge",
                           json={"duplicate_id": keep_id}).status_code == 409

    resp = dispatcher.post(f"/api/ess/reports/{b['id']}/split")
    assert resp.status_code == 201, resp.json
    new_id = resp.json["id"]
    session.expire_all()
    assert session.get(Report, b["id"]).incident_id == new_id
    assert session.get(Incident, keep_id).timeline[-1].kind == "report_split"
    assert session.get(Incident, new_id).source.value == "app"
    assert dispatcher.post(f"/api/ess/reports/{b['id']}/split").status_code == 409
    assert login_as("calltaker").post(f"/api/ess/reports/{a['id']}/split").status_code == 403


def test_incident_reports_event_carries_the_count_to_its_province_only(api, session):
    from console.models import RealtimeEvent

    http, key = api
    http.post("/api/v1/reports", json=report_body(), headers=key)
    http.post("/api/v1/reports", json=report_body(lat_lon=(16.8160, 100.2600)), headers=key)
    session.expire_all()
    rows = session.scalars(select(RealtimeEvent).where(
        RealtimeEvent.name.in_(["incident.created", "incident.reports"]))
        .order_by(RealtimeEvent.seq)).all()
    # NOTE: the first report opens the incident: one event, incident.created, says it holds
    # one report (no incident.reports after it); the second, joining, is incident.reports.
    assert [r.name for r in rows] == ["incident.created", "incident.reports"]
    assert [r.payload["data"]["report_count"] for r in rows] == [1, 2]
    assert all(sorted(r.rooms) == ["national", "province:65"] for r in rows)
    assert set(rows[-1].payload["data"]) == {"incident_id", "ref", "report_count"}
    assert rows[0].payload["data"]["id"] == rows[1].payload["data"]["incident_id"]


def test_an_oversized_upload_is_refused_before_it_is_read(app, api, session):
    http, key = api
    app.config.update(ESS_MAX_TOTAL_BYTES=1000)
    resp = http.post("/api/v1/reports", data=_multipart(report_body(), [(png_bytes(3_000_000),
                                                                         "big.png")]),
                     content_type="multipart/form-data", headers=key)
    assert resp.status_code == 413 and count(session, Report) == 0


def test_photos_are_shown_only_to_those_who_may_see_the_incident(app, api, session, login_as):
    from console.models import AuditLog

    http, key = api
    photo = png_bytes()
    resp = http.post("/api/v1/reports", data=_multipart(report_body(), [(photo, "a.png")]),
                     content_type="multipart/form-data", headers=key)
    assert resp.status_code == 201
    row = session.scalar(select(Attachment))
    url = f"/api/ess/attachments/{row.id}"
    assert http.get(url).status_code == 401                       # no login: nothing
    assert login_as("cm.dispatcher").get(url).status_code == 404  # another province
    assert login_as("team2").get(url).status_code == 403          # not their job
    shown = login_as("dispatcher").get(url)
    kept = (Path(app.config["ESS_ATTACHMENT_DIR"]) / row.stored_name).read_bytes()
    assert shown.status_code == 200 and shown.data == kept and same_pixels(kept, photo)
    assert shown.headers["Content-Type"] == "image/png"
    assert "no-store" in shown.headers["Cache-Control"]
    assert login_as("dispatcher").get("/api/ess/attachments/999999").status_code == 404
    viewed = session.scalars(select(AuditLog).where(AuditLog.action == "attachment.viewed"))
    assert [a.entity_id for a in viewed] == [row.id]


def test_the_cli_registers_an_app_whose_key_works(db_url, app, capsys):
    from console.cli import api_key

    key = api_key(db_url, "ESS Help Me")
    assert key in capsys.readouterr().out
    http = app.test_client()
    resp = http.post("/api/v1/reports", json=report_body(), headers={"X-Api-Key": key})
    assert resp.status_code == 201, resp.json
