"""Closed-loop referrals: consent first, a signed expiring link the agency answers without an
account, every open logged, each step back on the case live; revoke, expiry, tampering."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import select, update

from cases.models import Agency, Case, Referral, ReferralEvent
from console.db import utcnow
from console.models import RealtimeEvent
from tests.integration.test_case_workflow import full_assessment, resolved_case


def planned_case(login_as, session):
    case = resolved_case(login_as, session)
    worker = login_as("caseworker")
    worker.post(f"/api/cases/{case.id}/move", json={"to": "fact_finding"})
    worker.put(f"/api/cases/{case.id}/assessment", json=full_assessment())
    assert worker.post(f"/api/cases/{case.id}/move", json={"to": "planning"}).status_code == 200
    worker.post(f"/api/cases/{case.id}/people", json={
        "role": "client", "full_name": "นางบัวผัน ศรีสุข", "no_id_reason": "not_given",
        "phone": "081-234-5678"})
    return case, worker


def agency_page(http, url, **form):
    """GET the agency's page, then (if form) POST a step with its CSRF token."""
    page = http.get(url)
    if not form:
        return page
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.get_data(as_text=True))
    version = re.search(r'name="version" value="(\d+)"', page.get_data(as_text=True))
    data = {"csrf_token": token.group(1) if token else "", **form}
    if version and "version" not in form:
        data["version"] = version.group(1)
    return http.post(url, data=data)


def test_referral_needs_consent_and_the_agency_answers_on_its_link(app, login_as, session):
    case, worker = planned_case(login_as, session)
    agency = session.scalar(select(Agency).where(Agency.province_code == "65"))
    refer = f"/api/cases/{case.id}/referrals"
    too_early = worker.post(refer, json={"agency_id": agency.id, "service": "x",
                                         "items": ["story"]})
    assert too_early.status_code == 422  # no consent yet
    consent = worker.post(f"/api/cases/{case.id}/consents", json={
        "agency_id": agency.id, "items": ["story", "identity"], "given_on": "01/11/2569"})
    assert consent.status_code == 201, consent.json
    assert worker.post(f"/api/cases/{case.id}/consents", json={
        "items": ["story"], "given_on": "01/01/2600"}).status_code == 422  # future date
    not_consented = worker.post(refer, json={"agency_id": agency.id, "service": "x",
                                             "items": ["story", "contact"]})
    assert not_consented.status_code == 422 and "items" in not_consented.json["fields"]
    sent = worker.post(refer, json={"agency_id": agency.id, "service": "รับเข้าบ้านพักฉุกเฉิน",
                                    "items": ["story", "identity"]})
    assert sent.status_code == 201, sent.json
    body = sent.json
    assert body["status"] == "sent" and body["qr"].startswith("data:image/svg+xml")
    link = body["link"]
    path = "/r/" + link.rsplit("/r/", 1)[1]

    agency_http = app.test_client()  # no account
    page = agency_http.get(path, environ_base={"REMOTE_ADDR": "10.1.2.3"})
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and "นางบัวผัน ศรีสุข" in text and case.summary in text
    assert "081-234-5678" not in text and "+66812345678" not in text  # contact not consented
    opened = session.scalars(select(ReferralEvent).where(ReferralEvent.kind == "opened")).all()
    assert [e.ip for e in opened] == ["10.1.2.3"]

    missing_name = agency_page(agency_http, path, to="accepted", name="")
    assert missing_name.status_code == 422 and 'data-field="name"' in missing_name.get_data(
        as_text=True)
    no_reason = agency_page(agency_http, path, to="declined", name="พยาบาล ก")
    assert no_reason.status_code == 422
    session.expire_all()
    assert session.scalar(select(Referral)).status.value == "sent"  # nothing changed
    ack = agency_page(agency_http, path, to="acknowledged", name="นางสาว ข (OSCC)")
    assert ack.status_code == 200 and "data-testid=\"referral-message\"" in ack.get_data(
        as_text=True)
    stale = agency_http.post(path, data={"csrf_token": re.search(
        r'name="csrf_token" value="([^"]+)"', ack.get_data(as_text=True)).group(1),
        "to": "accepted", "name": "อีกคน", "version": "1"})
    assert stale.status_code == 409  # answered with the version the page had before
    accept = agency_page(agency_http, path, to="accepted", name="นางสาว ข (OSCC)")
    assert accept.status_code == 200
    done = agency_page(agency_http, path, to="completed", name="นางสาว ข (OSCC)",
                       note="รับเข้าบ้านพักแล้ว")
    assert done.status_code == 200
    session.expire_all()
    referral = session.scalar(select(Referral))
    assert referral.status.value == "completed" and referral.outcome == "รับเข้าบ้านพักแล้ว"
    assert referral.acknowledged_at and referral.accepted_at and referral.completed_at
    kinds = [e.kind for e in session.get(Case, case.id).timeline]
    assert {"consent", "referral_sent", "referral_acknowledged", "referral_accepted",
            "referral_completed"} <= set(kinds)
    updates = session.scalars(select(RealtimeEvent).where(
        RealtimeEvent.name == "case.updated")).all()
    assert updates and "นางบัวผัน" not in str(updates[-1].payload)  # no personal data live


def test_tampered_revoked_and_expired_links_get_a_clear_page_and_change_nothing(
        app, login_as, session):
    case, worker = planned_case(login_as, session)
    agency = session.scalar(select(Agency).where(Agency.province_code == "65"))
    worker.post(f"/api/cases/{case.id}/consents", json={"items": ["story"],
                                                        "given_on": "01/11/2569"})
    sent = worker.post(f"/api/cases/{case.id}/referrals", json={
        "agency_id": agency.id, "service": "x", "items": ["story"]}).json
    path = "/r/" + sent["link"].rsplit("/r/", 1)[1]
    http = app.test_client()
    tampered = http.get(path[:-3] + ("AAA" if not path.endswith("AAA") else "BBB"))
    assert tampered.status_code == 410 and "ไม่ถูกต้อง" in tampered.get_data(as_text=True)
    assert http.get("/r/not-a-token").status_code == 410
    # A supervisor withdraws it: the link stops working at once.
    supervisor = login_as("supervisor")
    assert supervisor.post(f"/api/cases/{case.id}/referrals/{sent['id']}/revoke",
                           json={"reason": ""}).status_code == 422
    assert supervisor.post(f"/api/cases/{case.id}/referrals/{sent['id']}/revoke",
                           json={"reason": "ส่งผิดหน่วยงาน"}).status_code == 200
    revoked = http.get(path)
    assert revoked.status_code == 410 and "ยกเลิก" in revoked.get_data(as_text=True)
    # An expired link (another referral) is refused the same way.
    second = worker.post(f"/api/cases/{case.id}/referrals", json={
        "agency_id": agency.id, "service": "y", "items": ["story"]}).json
    session.execute(update(Referral).where(Referral.id == second["id"]).values(
        link_expires_at=utcnow() - timedelta(minutes=1)))
    session.commit()
    expired = http.post("/r/" + second["link"].rsplit("/r/", 1)[1],
                        data={"to": "accepted", "name": "x"})
    assert expired.status_code in (400, 410)  # no form token, or the expired link: nothing
    session.expire_all()
    assert session.get(Referral, second["id"]).status.value == "sent"
    assert login_as("cm.dispatcher").get(path).status_code == 410  # a login is no key either


def test_follow_ups_and_the_one_week_rule_after_a_referral(app, login_as, session):
    from cases.models import FollowUp

    case, worker = planned_case(login_as, session)
    agency = session.scalar(select(Agency).where(Agency.province_code == "65"))
    worker.post(f"/api/cases/{case.id}/consents", json={"items": ["story"],
                                                        "given_on": "01/11/2569"})
    sent = worker.post(f"/api/cases/{case.id}/referrals", json={
        "agency_id": agency.id, "service": "x", "items": ["story"]}).json
    path = "/r/" + sent["link"].rsplit("/r/", 1)[1]
    assert agency_page(app.test_client(), path, to="accepted", name="ก").status_code == 200
    assert worker.get("/api/cases?past_week=1").json["items"] == []
    session.execute(update(Referral).values(accepted_at=utcnow() - timedelta(days=8)))
    session.commit()
    assert [c["id"] for c in worker.get("/api/cases?past_week=1").json["items"]] == [case.id]
    assert 'data-testid="past-week"' in worker.get(f"/desk/cases/{case.id}").get_data(
        as_text=True)

    url = f"/api/cases/{case.id}/follow-ups"
    assert worker.post(url, json={"kind": "visit", "due_on": "01/01/2560"}).status_code == 422
    other = login_as("cm.dispatcher")
    assert other.post(url, json={"kind": "visit", "due_on": "31/12/2599"}).status_code == 403
    made = worker.post(url, json={"kind": "call", "due_on": "31/12/2599", "purpose": "สอบถามผล"})
    assert made.status_code == 201 and made.json["done_at"] is None
    done_url = f"{url}/{made.json['id']}/done"
    assert worker.post(done_url, json={"outcome": ""}).status_code == 422
    done = worker.post(done_url, json={"outcome": "ได้รับการช่วยเหลือแล้ว",
                                       "client_feedback": "พอใจมาก"})
    assert done.status_code == 200 and done.json["client_feedback"] == "พอใจมาก"
    assert worker.post(done_url, json={"outcome": "อีกครั้ง"}).status_code == 409
    session.expire_all()
    assert session.get(FollowUp, made.json["id"]).outcome == "ได้รับการช่วยเหลือแล้ว"
    closed = worker.post(f"/api/cases/{case.id}/move", json={
        "to": "closed", "reason": "ช่วยเหลือครบแล้ว", "client_feedback": "พอใจมาก"})
    assert closed.status_code == 200
    assert worker.get("/api/cases?past_week=1").json["items"] == []  # closed: no longer late


def test_retention_anonymises_referrals_and_follow_ups_of_old_closed_cases_and_old_sessions(
        app, login_as, session):
    from cases.models import FollowUp
    from console.models import UserSession
    from console.retention import RetentionSettings, enforce_retention

    case, worker = planned_case(login_as, session)
    agency = session.scalar(select(Agency).where(Agency.province_code == "65"))
    worker.post(f"/api/cases/{case.id}/consents", json={"items": ["story", "identity"],
                                                        "given_on": "01/11/2569"})
    sent = worker.post(f"/api/cases/{case.id}/referrals", json={
        "agency_id": agency.id, "service": "บ้านพัก", "items": ["story", "identity"]}).json
    agency_page(app.test_client(), "/r/" + sent["link"].rsplit("/r/", 1)[1],
                to="declined", name="นาง ก", note="เตียงเต็ม")
    worker.post(f"/api/cases/{case.id}/follow-ups", json={
        "kind": "visit", "due_on": "31/12/2599", "purpose": "เยี่ยมบ้านนางบัวผัน"})
    assert worker.post(f"/api/cases/{case.id}/move", json={
        "to": "closed", "reason": "ย้ายออก"}).status_code == 200
    later = utcnow() + timedelta(days=3651)
    settings = RetentionSettings(cases_days=3650, sessions_days=90)
    enforce_retention(session=session, now=later, settings=settings)
    session.commit()
    session.expire_all()
    referral = session.get(Referral, sent["id"])
    assert referral.shared == {} and referral.responder_name == "" and referral.decline_reason == ""
    assert referral.status.value == "declined" and referral.agency_id == agency.id  # statistics
    assert all(e.ip is None for e in referral.events)
    follow_up = session.scalar(select(FollowUp))
    assert follow_up.purpose == "" and follow_up.kind.value == "visit"
    # Logins older than the sessions' retention are gone (they hold addresses and browsers).
    assert session.scalars(select(UserSession)).all() == []
