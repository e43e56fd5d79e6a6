"""What the roster's "who is on duty now" does for the rest of the console (issue 14): alarms
go to the supervisor on duty (every supervisor of the province only when nobody is, and the
alarm says so), dispatch suggests teams on call first, the short-shift alarm keeps its facts
and is read in the reader's language; the roster page shows each holder the same way."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import select

from console.db import utcnow
from console.models import User
from roster import service as roster
from roster.enums import DutyRole
from tests.integration.test_migrations import empty_url  # noqa: F401


def _user(session, username: str) -> User:
    return session.scalar(select(User).where(User.username == username))


def _current_shift(session, sup: User, role: DutyRole, **who) -> None:
    """Put someone (or a team) on the province's shift holding this instant."""
    now = utcnow()
    for p in roster.patterns(session, "65"):
        for day in (roster.local_day(now) - timedelta(days=1), roster.local_day(now)):
            starts, ends = roster.shift_window(day, p.start_minute, p.end_minute)
            if starts <= now < ends:
                roster.assign(session=session, actor=sup, province_code="65", day=day,
                              start_minute=p.start_minute, end_minute=p.end_minute, role=role,
                              **who)
                return
    raise AssertionError("no shift holds now")


def test_the_roster_page_shows_teams_and_swapped_people_alike_now_and_in_the_week(
        login_as, session):
    from dispatch.models import Team

    sup = _user(session, "supervisor")
    team = session.scalar(select(Team).where(Team.code == "PSL-1"))
    _current_shift(session, sup, DutyRole.TEAM, team_id=team.id)
    _current_shift(session, sup, DutyRole.CALL_TAKER, user_id=_user(session, "calltaker").id,
                   substitute_id=_user(session, "pmj").id)
    session.commit()
    text = login_as("supervisor").get("/desk/roster").get_data(as_text=True)
    # Nobody on duty as supervisor: the page says where alarms go meanwhile.
    assert ("ขณะนี้ไม่มีหัวหน้าเวรที่อยู่เวร สัญญาณเตือน (SMS) จึงส่งถึงหัวหน้าเวรทุกคนของจังหวัด"
            in text)
    now_line = re.search(r'data-testid="roster-now">(.*?)</p>', text, re.S).group(1)
    assert team.name in now_line
    assert "<s>สมศรี รับสาย</s> → สุดารัตน์ สนง.พมจ.พิษณุโลก" in now_line
    week = text[text.index('data-testid="roster-week"'):text.index("</table>")]
    assert f">{team.code}" in week.replace("\n", "").replace(" ", "")
    assert "<s>สมศรี รับสาย</s> → สุดารัตน์ สนง.พมจ.พิษณุโลก" in week
    # Each entry's forms go back to the same week, with the page's token.
    assert week.count('name="csrf_token"') == 4  # team: remove; person: remove, attendance, swap


# --- 1. alarms go to the supervisor on duty ---------------------------------------------------

def _alarm_sms_to(session, alarm_id: int) -> list[int]:
    from jobs.models import OutboundJob

    return sorted(j.payload["user_id"] for j in session.scalars(select(OutboundJob).where(
        OutboundJob.kind == "sms.alarm")) if j.payload["alarm_id"] == alarm_id)


def _sos(login_as) -> dict:
    resp = login_as("team1").post("/api/teams/me/sos", json={"note": "ช่วยด้วย"})
    assert resp.status_code == 201, resp.json
    return resp.json


def test_an_alarm_goes_to_the_supervisor_on_duty_only(login_as, session):
    sup, pmj = _user(session, "supervisor"), _user(session, "pmj")
    pmj.phone = "+66800001399"  # both supervisors of the province can get SMS
    _current_shift(session, sup, DutyRole.SUPERVISOR, user_id=pmj.id)
    _current_shift(session, sup, DutyRole.CALL_TAKER, user_id=_user(session, "calltaker").id)
    session.commit()
    alarm = _sos(login_as)
    session.expire_all()
    assert _alarm_sms_to(session, alarm["id"]) == [pmj.id]
    assert alarm["facts"] == {}  # no notice: it reached the supervisor on duty
    page = login_as("supervisor").get("/desk/roster").get_data(as_text=True)
    assert "สัญญาณเตือน (SMS) ส่งถึงหัวหน้าเวรที่อยู่เวร" in page
    # The one function every alarm goes through says the same (roster alarms, case alarms...).
    from dispatch import service as dispatch_service

    chosen = dispatch_service.alarm_recipients(session=session, province_code="65", at=utcnow())
    assert [u.id for u in chosen.people] == [pmj.id] and chosen.fallback is None
    # An incident nobody offered in time: the timer pass's alarm goes the same way.
    from dispatch import flows
    from dispatch.enums import AlarmKind
    from dispatch.models import Alarm, Incident
    from tests.conftest import incident_body

    made = login_as("calltaker").post("/api/calls", json=incident_body()).json["incident"]
    session.get(Incident, made["id"]).created_at = utcnow() - timedelta(hours=1)
    session.commit()
    fired = dispatch_service.fire_due_timers(session=session, now=utcnow(),
                                             policy=dispatch_service.EscalationPolicy())
    flows.after_timers(session=session, fired=fired, link_base="http://localhost")
    late = session.scalar(select(Alarm).where(Alarm.kind == AlarmKind.UNOFFERED,
                                              Alarm.incident_id == made["id"]))
    assert _alarm_sms_to(session, late.id) == [pmj.id] and late.facts is None
    # And the roster's own alarm (a coming shift short of a dispatcher).
    from roster import flows as roster_flows

    roster.set_staffing(session=session, actor=sup, province_code="65",
                        minimums={DutyRole.DISPATCHER: 1})
    assert roster_flows.check_upcoming(session=session, now=utcnow(), lead=timedelta(days=1),
                                       link_base="http://localhost")
    for short in session.scalars(select(Alarm).where(Alarm.kind == AlarmKind.ROSTER_SHORT)):
        assert _alarm_sms_to(session, short.id) == [pmj.id]
        assert "sent_to_all" not in short.facts


def test_with_nobody_on_duty_as_supervisor_every_supervisor_gets_it_and_the_alarm_says_so(
        app, login_as, session):
    from telephony.models import OutboundMessage
    from tests.jobs_helpers import run_jobs

    sup, pmj = _user(session, "supervisor"), _user(session, "pmj")
    pmj.phone, pmj.locale = "+66800001399", "en"
    # A roster in use (a call-taker on duty), but no supervisor on duty now.
    _current_shift(session, sup, DutyRole.CALL_TAKER, user_id=_user(session, "calltaker").id)
    session.commit()
    alarm = _sos(login_as)
    session.expire_all()
    assert _alarm_sms_to(session, alarm["id"]) == sorted([sup.id, pmj.id])
    assert alarm["facts"] == {"sent_to_all": "nobody_on_duty"}
    listed = login_as("dispatcher").get("/api/alarms").json
    assert [a["facts"] for a in listed if a["id"] == alarm["id"]] == [
        {"sent_to_all": "nobody_on_duty"}]
    assert run_jobs(app) >= 2
    session.expire_all()
    bodies = {m.recipient_id: m.body for m in session.scalars(select(OutboundMessage).where(
        OutboundMessage.body.like("1300%"), OutboundMessage.recipient_id.in_([sup.id, pmj.id])))}
    assert "ขณะนี้ไม่มีหัวหน้าเวรที่อยู่เวรตามตารางเวร จึงแจ้งหัวหน้าเวรทุกคนของจังหวัด" in bodies[sup.id]
    assert ("No supervisor is on duty by the roster now: sent to every supervisor of the "
            "province") in bodies[pmj.id]


def test_a_province_without_a_roster_for_now_alarms_every_supervisor_without_a_notice(
        login_as, session):
    sup, pmj = _user(session, "supervisor"), _user(session, "pmj")
    pmj.phone = "+66800001399"
    session.commit()
    alarm = _sos(login_as)
    session.expire_all()
    assert _alarm_sms_to(session, alarm["id"]) == sorted([sup.id, pmj.id])
    assert not (alarm["facts"] or {}).get("sent_to_all")


def test_a_supervisor_on_duty_without_a_phone_leaves_the_sms_to_every_supervisor(
        login_as, session):
    sup, pmj = _user(session, "supervisor"), _user(session, "pmj")
    assert pmj.phone is None
    _current_shift(session, sup, DutyRole.SUPERVISOR, user_id=pmj.id)
    session.commit()
    alarm = _sos(login_as)
    session.expire_all()
    assert _alarm_sms_to(session, alarm["id"]) == [sup.id]
    assert alarm["facts"] == {"sent_to_all": "no_phone"}


# --- 2. dispatch suggests teams on call first ------------------------------------------------

def test_suggestions_and_escalation_put_teams_on_call_first(app, login_as, session):
    from dispatch import service as dispatch_service
    from dispatch.enums import TeamStatus
    from dispatch.models import Incident, Team
    from geo.service import TravelSettings
    from tests.conftest import incident_body

    sup = _user(session, "supervisor")
    # Two more child-protection teams, 5 and 20 km from the incident; the far one is on call.
    mid, far = (Team(code=c, name=c, province_code="65", skills=["child_protection"],
                     lat=lat, lon=100.26, position_at=utcnow())
                for c, lat in (("MID", 16.865), ("FAR", 17.0)))
    session.add_all([mid, far])
    session.flush()
    _current_shift(session, sup, DutyRole.TEAM, team_id=far.id)
    # A team on call that is off duty stays out, as every off-duty team does.
    off = session.scalar(select(Team).where(Team.code == "PSL-3"))
    off.skills, off.lat, off.lon, off.position_at = (["child_protection"], 16.8201, 100.2601,
                                                      utcnow())
    assert off.status is TeamStatus.OFF_DUTY
    _current_shift(session, sup, DutyRole.TEAM, team_id=off.id)
    session.commit()
    index = app.extensions["positions"]
    for team in (mid, far, off):
        dispatch_service.index_position(index=index, team=team)
    body = incident_body()
    body["incident"]["location"] = {"province_code": "65", "lat": 16.82, "lon": 100.26}
    incident = login_as("calltaker").post("/api/calls", json=body).json["incident"]
    got = login_as("dispatcher").get(f"/api/incidents/{incident['id']}/recommendations").json
    # FAR is on call: first although farthest; then the others nearest first (PSL-1, MID).
    assert [(s["team"]["code"], s["on_call"]) for s in got] == [
        ("FAR", True), ("PSL-1", False), ("MID", False)]
    # The escalation's next team is the one on call too, unless it already refused.
    choose = dispatch_service.choose_next_team(index, TravelSettings(), 30)
    row = session.get(Incident, incident["id"])
    assert choose(session, row, frozenset(), utcnow()).code == "FAR"
    assert choose(session, row, frozenset({far.id}), utcnow()).code == "PSL-1"
    # Without a roster the order is by travel time alone, as before.
    two = dispatch_service.recommend_teams(
        session=session, incident_id=incident["id"], user=_user(session, "dispatcher"),
        index=index, travel=TravelSettings(), max_age_minutes=30,
        now=utcnow() + timedelta(days=30))
    assert [s.team.code for s in two] == []  # positions are stale a month later
    assert [s.team.code for s in dispatch_service.recommend_teams(
        session=session, incident_id=incident["id"], user=_user(session, "dispatcher"),
        index=index, travel=TravelSettings(), max_age_minutes=60 * 24 * 60,
        now=utcnow() + timedelta(days=30))] == ["PSL-1", "MID", "FAR"]


# --- 3. the short-shift alarm keeps its facts, read in each reader's language ----------------

def test_the_short_shift_note_is_read_in_english_and_thai(app, login_as, session):
    from datetime import date, datetime

    from dispatch.enums import AlarmKind
    from dispatch.flows import alarm_note
    from dispatch.models import Alarm
    from roster import flows
    from telephony.models import OutboundMessage
    from tests.jobs_helpers import run_jobs

    sup, pmj = _user(session, "supervisor"), _user(session, "pmj")
    pmj.phone, pmj.locale = "+66800001399", "en"
    roster.set_staffing(session=session, actor=sup, province_code="65",
                        minimums={DutyRole.CALL_TAKER: 1, DutyRole.DISPATCHER: 1})
    roster.assign(session=session, actor=sup, province_code="65", day=date(2026, 12, 3),
                  start_minute=990, end_minute=510, role=DutyRole.CALL_TAKER,
                  user_id=_user(session, "calltaker").id)
    before = datetime(2026, 12, 3, 16, 0, tzinfo=roster.BANGKOK)
    [shift_id] = flows.check_upcoming(session=session, now=before, lead=timedelta(hours=1),
                                      link_base="http://localhost")
    alarm = session.scalar(select(Alarm).where(Alarm.kind == AlarmKind.ROSTER_SHORT))
    assert alarm.note == ""  # nothing written in one language only
    # NOTE: at 16.00 no shift of the roster holds the instant: every supervisor gets it, as
    # before rosters, without the "nobody on duty" notice.
    assert alarm.facts == {
        "shift_id": shift_id, "starts_at": "2026-12-03T09:30:00+00:00",
        "ends_at": "2026-12-04T01:30:00+00:00", "short": {"dispatcher": 1}}
    with app.app_context():
        assert alarm_note(alarm, lang="th") == "เวร 3 ธ.ค. 2569 16.30–08.30 น. ขาดผู้สั่งการ 1 คน"
        assert alarm_note(alarm, lang="en") == (
            "Shift of 3 Dec 2569 BE, 16:30–08:30, is short of people: Dispatcher: 1")
        two = Alarm(kind=AlarmKind.ROSTER_SHORT, province_code="65",
                    facts={**alarm.facts, "short": {"call_taker": 1, "supervisor": 2}})
        assert alarm_note(two, lang="th") == (
            "เวร 3 ธ.ค. 2569 16.30–08.30 น. ขาดผู้รับแจ้ง 1 คน หัวหน้าเวร 2 คน")
        assert alarm_note(two, lang="en").endswith(
            "short of people: Call-taker: 1, Supervisor on duty: 2")
        # An alarm written before the facts were kept reads as it was written.
        old = Alarm(kind=AlarmKind.ROSTER_SHORT, province_code="65", raised_at=before,
                    note="เวร 3 ธ.ค. 2569 16.30–08.30 น. ขาดผู้รับแจ้ง 1 คน")
        assert alarm_note(old, lang="en") == old.note
    # The SMS: each supervisor's in their language (the desk's banner: test_alarm_note_js.py).
    session.commit()
    assert run_jobs(app) >= 2
    session.expire_all()
    bodies = {m.recipient_id: m.body for m in session.scalars(select(OutboundMessage))}
    assert "เวร 3 ธ.ค. 2569 16.30–08.30 น. ขาดผู้สั่งการ 1 คน" in bodies[sup.id]
    assert ("Shift of 3 Dec 2569 BE, 16:30–08:30, is short of people: Dispatcher: 1"
            in bodies[_user(session, "pmj").id])


# --- the migration: older alarms stay readable both ways --------------------------------------

def test_the_alarm_facts_migration_keeps_every_alarm_readable(empty_url):  # noqa: F811
    from sqlalchemy import text

    from console.db import make_engine
    from tests.integration.test_migrations import _alembic

    _alembic(empty_url, "upgrade", "f9c0d1e2f3a4")
    engine = make_engine(empty_url)
    insert = ("INSERT INTO alarm (id, kind, province_code, raised_at, note, contact_name, facts) "
              "VALUES (:id, 'roster_short', '65', CURRENT_TIMESTAMP, :note, '', :facts)")
    facts = ('{"shift_id": 1, "starts_at": "2026-12-03T09:30:00+00:00", '
             '"ends_at": "2026-12-04T01:30:00+00:00", "short": {"call_taker": 1, '
             '"dispatcher": 2}, "sent_to_all": "nobody_on_duty"}')
    with engine.begin() as conn:
        conn.execute(text(insert), {"id": 1, "note": "", "facts": facts})
        conn.execute(text(insert), {"id": 2, "note": "เวรเดิม", "facts": None})
    # Down: the alarm with facts gets the Thai note the centre wrote before; the old one keeps it.
    _alembic(empty_url, "downgrade", "f8b9c0d1e2f3")
    with engine.connect() as conn:
        assert conn.execute(text("SELECT note FROM alarm ORDER BY id")).scalars().all() == [
            "เวร 3 ธ.ค. 2569 16.30–08.30 น. ขาดผู้รับแจ้ง 1 คน ผู้สั่งการ 2 คน", "เวรเดิม"]
    _alembic(empty_url, "upgrade", "heads")
    with engine.connect() as conn:
        assert conn.execute(text("SELECT facts FROM alarm")).scalars().all() == [None, None]
    engine.dispose()
