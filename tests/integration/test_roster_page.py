"""The roster page (issue 14): a week of shifts, adding and removing people, swaps, staffing
minimums, CSV export that imports back unchanged, bad lines named and nothing half-imported,
every change audited, a provincial supervisor kept to their province."""

from __future__ import annotations

from datetime import date

from sqlalchemy import func, select

from console.models import AuditLog, User
from roster.models import DutyAssignment, StaffingLevel

WEEK = "2026-11-30"  # a Monday
DAY = "2026-12-03"
DAY_DATE = date(2026, 12, 3)


def _id(session, username: str) -> int:
    return session.scalar(select(User.id).where(User.username == username))


def _count(session) -> int:
    session.rollback()
    return session.scalar(select(func.count()).select_from(DutyAssignment))


def test_the_week_page_add_swap_remove_and_minimums(login_as, session):
    from datetime import timedelta

    from console.db import utcnow
    from roster.service import local_day

    # A day of next week: the page marks only current and coming shifts short.
    coming = local_day(utcnow()) + timedelta(days=7)
    DAY, WEEK = coming.isoformat(), (coming - timedelta(days=coming.weekday())).isoformat()  # noqa: N806
    sup = login_as("supervisor")
    page = sup.get(f"/desk/roster?week={WEEK}")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "08.30–16.30" in text and "16.30–08.30" in text
    resp = sup.post("/desk/roster/assignments", data={
        "day": DAY, "shift": "08.30-16.30", "role": "call_taker",
        "user_id": _id(session, "calltaker"), "week": WEEK, "csrf_token": sup.token})
    assert resp.status_code == 302
    row = session.scalar(select(DutyAssignment))
    text = sup.get(f"/desk/roster?week={WEEK}").get_data(as_text=True)
    assert "สมศรี รับสาย" in text and f'assignment-{row.id}"' in text
    resp = sup.post(f"/desk/roster/assignments/{row.id}/swap",
                    json={"substitute_id": _id(session, "pmj")})
    assert resp.status_code == 200 and resp.get_json()["substitute_id"] == _id(session, "pmj")
    resp = sup.post("/desk/roster/staffing", json={"call_taker": 2, "dispatcher": 1,
                                                   "supervisor": 0})
    assert resp.status_code == 200
    session.rollback()
    assert session.get(StaffingLevel, ("65", "call_taker")).minimum == 2
    text = sup.get(f"/desk/roster?week={WEEK}").get_data(as_text=True)
    assert f"short-{DAY}-call_taker" in text
    bad = sup.post("/desk/roster/staffing", json={"call_taker": "many"})
    assert bad.status_code == 422 and "call_taker" in bad.get_json()["fields"]
    assert sup.post(f"/desk/roster/assignments/{row.id}/remove", json={}).status_code == 200
    assert _count(session) == 0
    actions = session.scalars(select(AuditLog.action).where(AuditLog.entity == "roster",
                              AuditLog.action.like("roster.%")).order_by(AuditLog.id)).all()
    assert actions == ["roster.assigned", "roster.swap_approved", "roster.staffing",
                       "roster.unassigned"]


def test_bad_input_is_refused_with_the_field_and_nothing_written(login_as, session):
    sup = login_as("supervisor")
    resp = sup.post("/desk/roster/assignments", json={"day": "tomorrow", "shift": "x",
                                                       "role": "call_taker"})
    assert resp.status_code == 422
    assert {"day", "shift", "user_id"} <= set(resp.get_json()["fields"])
    # A dispatcher cannot be rostered as the supervisor on duty.
    resp = sup.post("/desk/roster/assignments", json={
        "day": DAY, "shift": "08.30-16.30", "role": "supervisor",
        "user_id": _id(session, "dispatcher")})
    assert resp.status_code == 422 and "user" in resp.get_json()["fields"]
    assert _count(session) == 0


def test_a_provincial_supervisor_changes_only_their_province(login_as, session):
    sup = login_as("supervisor")
    from dispatch.models import Team

    cm_team = session.scalar(select(Team.id).where(Team.code == "CMI-1"))
    resp = sup.post("/desk/roster/assignments?province=50", json={
        "day": DAY, "shift": "08.30-16.30", "role": "team", "team_id": cm_team})
    # The province a provincial supervisor works on is always their own: CMI's team is refused.
    assert resp.status_code == 422 and _count(session) == 0
    nat = login_as("national")
    assert nat.get(f"/desk/roster?province=50&week={WEEK}").status_code == 200
    resp = sup.post("/desk/roster/import", data=(
        "province_code,date,start,end,role,who,substitute,attendance\r\n"
        f"50,{DAY},08.30,16.30,dispatcher,cm.dispatcher,,\r\n").encode(),
        headers={"Content-Type": "text/csv", "Accept": "application/json"})
    assert resp.status_code == 422 and _count(session) == 0


def test_csv_export_imports_back_unchanged_and_bad_lines_change_nothing(login_as, session):
    sup = login_as("supervisor")
    good = ("province_code,date,start,end,role,who,substitute,attendance\r\n"
            f"65,{DAY},08.30,16.30,call_taker,calltaker,,checked_in\r\n"
            f"65,{DAY},16.30,08.30,dispatcher,dispatcher,,\r\n"
            f"65,{DAY},16.30,08.30,call_taker,supervisor,pmj,\r\n"
            f"65,{DAY},08.30,16.30,team,PSL-1,,\r\n")
    headers = {"Content-Type": "text/csv", "Accept": "application/json"}
    resp = sup.post("/desk/roster/import", data=good.encode(), headers=headers)
    assert resp.status_code == 200, resp.get_data(as_text=True)
    assert resp.get_json() == {"created": 4, "updated": 0, "unchanged": 0}
    exported = sup.get(f"/desk/roster/export.csv?week={WEEK}")
    assert exported.status_code == 200
    text = exported.get_data(as_text=True)
    assert text.startswith("\ufeffprovince_code,date,start,end,role,who,substitute,attendance")
    assert "65,2026-12-03,16.30,08.30,call_taker,supervisor,pmj," in text
    again = sup.post("/desk/roster/import", data=text.encode("utf-8"), headers=headers)
    assert again.get_json() == {"created": 0, "updated": 0, "unchanged": 4}
    bad = ("province_code,date,start,end,role,who,substitute,attendance\r\n"
           "65,2026-12-04,08.30,16.30,call_taker,calltaker,,\r\n"
           "65,04/12/2026,8.30,16.30,cook,calltaker,,\r\n"
           "65,2026-12-04,08.30,16.30,call_taker,nobody,,late\r\n"
           "X9,2026-12-04,08.30,16.30,call_taker,calltaker,,\r\n")
    resp = sup.post("/desk/roster/import", data=bad.encode(), headers=headers)
    assert resp.status_code == 422
    lines = resp.get_json()["lines"]
    assert {(p["line"], p["field"]) for p in lines} == {
        (3, "date"), (3, "role"), (4, "who"), (4, "attendance"), (5, "province_code")}
    assert _count(session) == 4  # nothing of the bad file stayed
    th = sup.post("/desk/roster/import", data=bad.encode(),
                  headers={**headers, "Accept-Language": "th"})
    assert th.status_code == 422


def test_custom_shifts_of_the_day_and_the_page_in_thai(login_as, session):
    sup = login_as("supervisor")
    resp = sup.post("/desk/roster/patterns", json={"patterns": "07.00-19.00, 19.00-07.00"})
    assert resp.status_code == 200 and resp.get_json()["patterns"] == ["07.00–19.00",
                                                                      "19.00–07.00"]
    bad = sup.post("/desk/roster/patterns", json={"patterns": "07.00-20.00, 19.00-07.00"})
    assert bad.status_code == 422 and "patterns" in bad.get_json()["fields"]
    bad = sup.post("/desk/roster/patterns", json={"patterns": "morning"})
    assert bad.status_code == 422
    sup.http.set_cookie("lang", "th")
    text = sup.get(f"/desk/roster?week={WEEK}").get_data(as_text=True)
    assert "ตารางเวร" in text and "07.00–19.00 น." in text and "19.00–07.00 น." in text
    nat = login_as("national")
    assert nat.get(f"/desk/roster?week={WEEK}").status_code == 200  # the first province
    assert nat.get(f"/desk/roster?province=99&week={WEEK}").status_code == 422
    assert nat.get(f"/desk/roster?province=65&week={WEEK}").status_code == 200


def test_the_supervisor_desk_shift_report_shows_who_is_on_duty_and_attendance(login_as,
                                                                               session):
    from datetime import timedelta

    from console.db import utcnow
    from roster import service as roster
    from roster.enums import Attendance, DutyRole

    sup_user = session.scalar(select(User).where(User.username == "supervisor"))
    now = utcnow()
    day, minute = roster.local_day(now), roster.minute_of(now)
    start, end = (510, 990) if 510 <= minute < 990 else (990, 510)
    if minute < 510:
        day -= timedelta(days=1)
    row = roster.assign(session=session, actor=sup_user, province_code="65", day=day,
                        start_minute=start, end_minute=end, role=DutyRole.CALL_TAKER,
                        user_id=_id(session, "calltaker"))
    roster.record_attendance(session=session, actor=sup_user, assignment_id=row.id,
                             attendance=Attendance.CHECKED_IN)
    roster.set_staffing(session=session, actor=sup_user, province_code="65",
                        minimums={DutyRole.DISPATCHER: 1})
    session.commit()
    sup = login_as("supervisor")
    text = sup.get("/desk/supervisor").get_data(as_text=True)
    assert 'data-testid="duty-list"' in text and "สมศรี รับสาย" in text
    assert "ลงเวลาแล้ว 1 คน ไม่มา 0 คน ยังไม่บันทึก 0 คน" in text
    assert 'data-testid="duty-short-dispatcher"' in text
    # A national supervisor's desk has no single province's roster.
    assert 'data-testid="duty-list"' not in login_as("national").get(
        "/desk/supervisor").get_data(as_text=True)


def test_a_call_taker_asks_for_a_swap_and_a_supervisor_approves_it(login_as, session):
    from datetime import timedelta

    from console.db import utcnow
    from roster import service as roster
    from roster.enums import DutyRole

    sup_user = session.scalar(select(User).where(User.username == "supervisor"))
    tomorrow = roster.local_day(utcnow()) + timedelta(days=1)
    row = roster.assign(session=session, actor=sup_user, province_code="65", day=tomorrow,
                        start_minute=510, end_minute=990, role=DutyRole.CALL_TAKER,
                        user_id=_id(session, "calltaker"))
    session.commit()
    taker = login_as("calltaker")
    page = taker.get("/desk/roster/mine")
    assert page.status_code == 200 and f'duty-{row.id}"' in page.get_data(as_text=True)
    # Only the person on the duty may ask; a dispatcher cannot stand in for a call-taker.
    assert login_as("dispatcher").post(f"/desk/roster/assignments/{row.id}/request-swap",
                                       json={"substitute_id": _id(session, "pmj")}
                                       ).status_code == 404
    bad = taker.post(f"/desk/roster/assignments/{row.id}/request-swap",
                     json={"substitute_id": _id(session, "dispatcher")})
    assert bad.status_code == 422 and "substitute_id" in bad.get_json()["fields"]
    resp = taker.post(f"/desk/roster/assignments/{row.id}/request-swap",
                      json={"substitute_id": _id(session, "pmj")})
    assert resp.status_code == 200 and resp.get_json()["approved"] is False
    at = roster.shift_window(tomorrow, 600, 990)[0]
    session.expire_all()
    assert [d.user_id for d in roster.on_duty(session, "65", at)] == [_id(session, "calltaker")]
    week = (tomorrow - timedelta(days=tomorrow.weekday())).isoformat()
    sup = login_as("supervisor")
    assert f"swap-asked-{row.id}" in sup.get(f"/desk/roster?week={week}").get_data(as_text=True)
    assert sup.post(f"/desk/roster/assignments/{row.id}/swap",
                    json={"substitute_id": _id(session, "pmj")}).status_code == 200
    session.expire_all()
    assert [d.user_id for d in roster.on_duty(session, "65", at)] == [_id(session, "pmj")]
    late = taker.post(f"/desk/roster/assignments/{row.id}/request-swap", json={})
    assert late.status_code == 409  # approved: only a supervisor changes it now


def test_another_provinces_assignment_cannot_be_changed(login_as, session):
    from dispatch.models import Team
    from roster import service as roster
    from roster.enums import DutyRole

    national = session.scalar(select(User).where(User.username == "national"))
    team = session.scalar(select(Team.id).where(Team.code == "CMI-1"))
    row = roster.assign(session=session, actor=national, province_code="50",
                        day=DAY_DATE, start_minute=510,
                        end_minute=990, role=DutyRole.TEAM, team_id=team)
    session.commit()
    sup = login_as("supervisor")
    assert sup.post(f"/desk/roster/assignments/{row.id}/remove", json={}).status_code == 403
    assert sup.post(f"/desk/roster/assignments/{row.id}/attendance",
                    json={"attendance": "absent"}).status_code == 403
    assert sup.get("/desk/roster/export.csv?province=50").get_data(as_text=True).count(
        "CMI-1") == 0  # the supervisor's own province only
    assert _count(session) == 1


def test_logging_in_during_ones_duty_checks_one_in(login_as, session):
    from datetime import timedelta

    from console.db import utcnow
    from roster import service as roster
    from roster.enums import Attendance, DutyRole

    sup_user = session.scalar(select(User).where(User.username == "supervisor"))
    now = utcnow()
    day, minute = roster.local_day(now), roster.minute_of(now)
    start, end = (510, 990) if 510 <= minute < 990 else (990, 510)
    if minute < 510:
        day -= timedelta(days=1)
    mine = roster.assign(session=session, actor=sup_user, province_code="65", day=day,
                         start_minute=start, end_minute=end, role=DutyRole.CALL_TAKER,
                         user_id=_id(session, "calltaker"))
    swapped = roster.assign(session=session, actor=sup_user, province_code="65", day=day,
                            start_minute=start, end_minute=end, role=DutyRole.DISPATCHER,
                            user_id=_id(session, "dispatcher"),
                            substitute_id=_id(session, "pmj"))
    session.commit()
    login_as("calltaker")
    login_as("dispatcher")  # swapped out: not checked in by their login
    session.expire_all()
    assert session.get(DutyAssignment, mine.id).attendance is Attendance.CHECKED_IN
    assert session.get(DutyAssignment, swapped.id).attendance is None
    login_as("pmj")  # the approved substitute's login checks the duty in
    session.expire_all()
    assert session.get(DutyAssignment, swapped.id).attendance is Attendance.CHECKED_IN


def test_malformed_requests_are_refused_cleanly(login_as, session):
    sup = login_as("supervisor")
    assert sup.post("/desk/roster/assignments", json=[1, 2]).status_code == 422
    resp = sup.post("/desk/roster/assignments", json={
        "day": DAY, "shift": "08.30-16.30", "role": "call_taker", "user_id": "9" * 30})
    assert resp.status_code == 422 and "user_id" in resp.get_json()["fields"]
    assert sup.post(f"/desk/roster/assignments/{'9' * 30}/remove", json={}).status_code == 404
    assert sup.post("/desk/roster/assignments/2147483647/swap",
                    json={"substitute_id": "๑"}).status_code == 404
    assert sup.post("/desk/roster/staffing", json={"call_taker": "9" * 30}).status_code == 422
    assert _count(session) == 0
