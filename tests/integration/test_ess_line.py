"""The LINE Official Account webhook on SQLite and PostgreSQL, against a local LINE stand-in."""

from __future__ import annotations

import json
import time

import pytest
from sqlalchemy import func, select

from dispatch.models import Incident, Team
from ess.models import Attachment, LineEvent, LineFollower, Report
from tests.ess_helpers import LineServer, line_event, line_signature, png_bytes
from tests.jobs_helpers import run_jobs

SECRET = "line-channel-secret"
USER = "U1234567890abcdef"


@pytest.fixture
def line(app, tmp_path):
    """The app pointed at a recording LINE server; returns (send, server)."""
    server = LineServer(content=png_bytes())
    app.config.update(LINE_CHANNEL_SECRET=SECRET, LINE_CHANNEL_ACCESS_TOKEN="token",
                      LINE_API_BASE=server.url, LINE_DATA_API_BASE=server.url,
                      ESS_ATTACHMENT_DIR=str(tmp_path / "att"))
    http = app.test_client()

    def send(*events, signature: str | None = None, work: bool = True):
        """Post a webhook delivery, then let the job worker answer (unless work=False)."""
        body = json.dumps({"destination": "Ubot", "events": list(events)},
                          ensure_ascii=False).encode()
        resp = http.post("/line/webhook", data=body, content_type="application/json",
                         headers={"X-Line-Signature": signature or line_signature(SECRET, body)})
        if work:
            run_jobs(app)
        return resp

    yield send, server
    server.close()


def now_ms(minutes_ago: float = 0) -> int:
    return int((time.time() - minutes_ago * 60) * 1000)


def count(session, model) -> int:
    session.expire_all()
    return session.scalar(select(func.count()).select_from(model))


def replies(server) -> list[str]:
    return [b["messages"][0]["text"] for b in server.posted("/v2/bot/message/reply")]


def test_bad_signature_is_refused_and_nothing_is_stored(line, session):
    send, server = line
    resp = send(line_event("text", event_id="e1", at_ms=now_ms(), text="ช่วยด้วย"),
                signature="AAAA")
    assert resp.status_code == 400
    assert count(session, Report) == 0 and count(session, LineEvent) == 0 and server.calls == []


def test_text_then_location_build_one_report_that_becomes_an_incident(line, session):
    send, server = line
    assert send(line_event("text", event_id="e1", at_ms=now_ms(), text="มีเด็กถูกทิ้ง")
                ).status_code == 200
    report = session.scalar(select(Report))
    assert report.incident_id is None and report.source.value == "line"
    first = server.posted("/v2/bot/message/reply")[0]
    assert first["replyToken"] == "r-e1" and first["_auth"] == "Bearer token"
    assert "ESS-" in first["messages"][0]["text"] and "ตำแหน่ง" in first["messages"][0]["text"]
    assert first["messages"][0]["quickReply"]["items"][0]["action"]["type"] == "location"

    send(line_event("location", event_id="e2", at_ms=now_ms(), latitude=16.815,
                    longitude=100.26, address="พิษณุโลก"))
    assert count(session, Report) == 1
    session.expire_all()
    report = session.scalar(select(Report))
    incident = session.get(Incident, report.incident_id)
    assert incident.source.value == "line" and incident.province_code == "65"
    assert incident.summary == "มีเด็กถูกทิ้ง"
    assert f"ESS-{report.id:06d}" in replies(server)[1] and "ตำแหน่ง" not in replies(server)[1]


def test_redelivered_events_are_ignored(line, session):
    send, server = line
    event = line_event("text", event_id="same", at_ms=now_ms(), text="ช่วยด้วย")
    send(event)
    event["deliveryContext"]["isRedelivery"] = True
    send(event)
    session.expire_all()
    assert count(session, LineEvent) == 1
    assert session.scalar(select(Report)).description == "ช่วยด้วย"
    assert len(server.posted("/v2/bot/message/reply")) == 1


def test_messages_outside_the_window_start_a_new_report(app, line, session):
    send, _ = line
    app.config["ESS_LINE_WINDOW_MINUTES"] = 10
    send(line_event("text", event_id="a", at_ms=now_ms(30), text="หนึ่ง"))
    send(line_event("text", event_id="b", at_ms=now_ms(25), text="สอง"))
    send(line_event("text", event_id="c", at_ms=now_ms(), text="สาม"))
    send(line_event("text", user="Uother", event_id="d", at_ms=now_ms(), text="คนอื่น"))
    rows = session.scalars(select(Report).order_by(Report.id)).all()
    assert [r.description for r in rows] == ["หนึ่ง\nสอง", "สาม", "คนอื่น"]


def test_image_is_fetched_through_the_content_api_and_kept_as_an_attachment(line, session):
    send, server = line
    send(line_event("image", event_id="i1", at_ms=now_ms()))
    assert ("GET", "/v2/bot/message/m-i1/content", {}) in server.calls
    row = session.scalar(select(Attachment))
    assert row.content_type == "image/png" and row.size > 0  # re-encoded (test_photos.py)


def test_sticker_outside_location_and_follow(line, session):
    send, server = line
    send(line_event("follow", event_id="f1", at_ms=now_ms()))
    assert session.scalar(select(LineFollower)).following is True
    assert "ESS Help Me" in replies(server)[0]
    send(line_event("sticker", event_id="s1", at_ms=now_ms()))
    assert "ตำแหน่ง" in replies(server)[1]
    send(line_event("location", event_id="l1", at_ms=now_ms(), latitude=35.68,
                    longitude=139.69))
    assert "ประเทศไทย" in replies(server)[2]
    assert count(session, Incident) == 0
    send(line_event("unfollow", event_id="u1", at_ms=now_ms()))
    session.expire_all()
    assert session.scalar(select(LineFollower)).following is False


def test_status_changes_are_pushed_to_the_reporter(app, line, login_as, session):
    send, server = line
    send(line_event("location", event_id="l1", at_ms=now_ms(), latitude=16.815,
                    longitude=100.26))
    report = session.scalar(select(Report))
    team_id = session.scalar(select(Team.id).where(Team.code == "PSL-1"))
    dispatcher, member = login_as("dispatcher"), login_as("team1")
    assert dispatcher.post(f"/api/incidents/{report.incident_id}/assign",
                           json={"team_id": team_id}).status_code == 200
    for step in ("acknowledge", "en-route", "on-scene", "resolve"):
        assert member.post(f"/api/incidents/{report.incident_id}/steps/{step}",
                           json={"note": ""}).status_code == 200
    assert server.posted("/v2/bot/message/push") == []  # queued, not sent by the request
    run_jobs(app)
    pushes = server.posted("/v2/bot/message/push")
    assert [p["to"] for p in pushes] == [USER] * 3
    texts = [p["messages"][0]["text"] for p in pushes]
    number = f"ESS-{report.id:06d}"
    assert all(number in t for t in texts)
    assert "กำลังเดินทาง" in texts[0] and "ถึงที่เกิดเหตุ" in texts[1]
    assert "นักสังคมสงเคราะห์" in texts[2]


def test_no_push_after_unfollow(app, line, login_as, session):
    send, server = line
    send(line_event("location", event_id="l1", at_ms=now_ms(), latitude=16.815,
                    longitude=100.26))
    send(line_event("unfollow", event_id="u1", at_ms=now_ms()))
    report = session.scalar(select(Report))
    team_id = session.scalar(select(Team.id).where(Team.code == "PSL-1"))
    login_as("dispatcher").post(f"/api/incidents/{report.incident_id}/assign",
                                json={"team_id": team_id})
    member = login_as("team1")
    for step in ("acknowledge", "en-route"):
        member.post(f"/api/incidents/{report.incident_id}/steps/{step}", json={"note": ""})
    run_jobs(app)
    assert server.posted("/v2/bot/message/push") == []
