"""Demo data for `make run`: Phitsanulok with teams, a user for every role, agencies;
Chiang Mai beside it so province isolation can be seen.

This is the only place demo users are made. They share a published password, so they are
flagged `demo` (and need no second factor: the demo can be tried without a phone), and the
loader refuses a database that has real users but no demo users: a production database,
started with `python -m console.cli create-admin`, never gets them (and create-admin refuses a
database that holds them)."""

from __future__ import annotations

import os

from sqlalchemy import select
from sqlalchemy.orm import Session

from cases.enums import AgencyKind
from cases.models import Agency
from console.db import utcnow
from console.enums import Role
from console.models import User
from console.service import hash_password
from dispatch.enums import TeamStatus
from dispatch.models import EscalationStep, Team

DEMO_PASSWORD = os.environ.get("DEMO_PASSWORD", "demo1300")

TEAMS = [
    # code, name, province, status, skills, lat, lon
    ("PSL-1", "ทีม พม. หนึ่งเดียว พิษณุโลก 1", "65", TeamStatus.AVAILABLE,
     ["child_protection", "domestic_violence"], 16.8211, 100.2659),
    ("PSL-2", "ทีม พม. หนึ่งเดียว พิษณุโลก 2", "65", TeamStatus.AVAILABLE,
     ["elderly", "disability"], 16.7770, 100.2100),
    ("PSL-3", "ทีม พม. หนึ่งเดียว วังทอง", "65", TeamStatus.OFF_DUTY,
     ["homeless", "psychiatric"], 16.8260, 100.4300),
    ("CMI-1", "ทีม พม. หนึ่งเดียว เชียงใหม่ 1", "50", TeamStatus.AVAILABLE,
     ["child_protection", "trafficking"], 18.7883, 98.9853),
    ("CMI-2", "ทีม พม. หนึ่งเดียว เชียงใหม่ 2", "50", TeamStatus.AVAILABLE,
     ["elderly"], 18.8000, 99.0200),
]

# Demo phones are made-up numbers; the simulator never sends anything.
PHONES = {"calltaker": "+66800001310", "supervisor": "+66800001300", "team1": "+66800001301",
          "team2": "+66800001302", "cm.team1": "+66800001501"}

USERS = [
    # username, display name, role, province, team code
    ("calltaker", "สมศรี รับสาย", Role.CALL_TAKER, "65", None),
    ("dispatcher", "วิชัย สั่งการ", Role.DISPATCHER, "65", None),
    ("supervisor", "อรุณี หัวหน้าเวร", Role.SUPERVISOR, "65", None),
    ("team1", "ประเสริฐ ทีมหนึ่ง", Role.FIELD_MEMBER, "65", "PSL-1"),
    ("team2", "มาลี ทีมสอง", Role.FIELD_MEMBER, "65", "PSL-2"),
    ("caseworker", "นภา นักสังคมสงเคราะห์", Role.CASE_WORKER, "65", None),
    ("cm.dispatcher", "สุริยา สั่งการเชียงใหม่", Role.DISPATCHER, "50", None),
    ("cm.team1", "ดวงใจ ทีมเชียงใหม่", Role.FIELD_MEMBER, "50", "CMI-1"),
    ("national", "ศรส. ส่วนกลาง", Role.SUPERVISOR, None, None),
    # The provincial office (สนง.พมจ.) level of Phitsanulok's subsidy approvals.
    ("pmj", "สุดารัตน์ สนง.พมจ.พิษณุโลก", Role.SUPERVISOR, "65", None),
    ("admin", "ผู้ดูแลระบบ", Role.ADMIN, None, None),
]

AGENCIES = [
    ("ศูนย์พึ่งได้ (OSCC) โรงพยาบาลพุทธชินราช", "OSCC Buddhachinaraj Hospital", AgencyKind.OSCC,
     "055-270-300", "65"),
    ("สถานีตำรวจภูธรเมืองพิษณุโลก", "Mueang Phitsanulok Police Station", AgencyKind.POLICE,
     "055-258-777", "65"),
    ("ศูนย์ดำรงธรรมจังหวัดพิษณุโลก", "Phitsanulok Damrongtham Centre", AgencyKind.DAMRONGTHAM,
     "055-252-741", "65"),
    ("สำนักงานพัฒนาสังคมและความมั่นคงของมนุษย์จังหวัดพิษณุโลก", "Phitsanulok MSDHS office",
     AgencyKind.MSDHS, "055-245-054", "65"),
    ("ศูนย์ดำรงธรรมจังหวัดเชียงใหม่", "Chiang Mai Damrongtham Centre", AgencyKind.DAMRONGTHAM,
     "053-112-500", "50"),
    ("สายด่วนตำรวจ 191", "Police emergency 191", AgencyKind.POLICE, "191", None),
    ("สายด่วนการแพทย์ฉุกเฉิน 1669", "Emergency medical services 1669", AgencyKind.HOSPITAL,
     "1669", None),
    ("สายด่วนสุขภาพจิต 1323", "Mental health hotline 1323", AgencyKind.HOSPITAL, "1323", None),
    ("ศูนย์ดำรงธรรม สายด่วน 1567", "Damrongtham hotline 1567", AgencyKind.DAMRONGTHAM, "1567",
     None),
]


# What each demo agency serves (intake categories), for the directory (admin/).
AGENCY_SERVICES = {
    "OSCC Buddhachinaraj Hospital": ["children", "domestic_violence", "suicide_risk"],
    "Mueang Phitsanulok Police Station": ["domestic_violence", "trafficking", "labour"],
    "Phitsanulok Damrongtham Centre": ["welfare_request", "other"],
    "Phitsanulok MSDHS office": ["children", "elderly", "disability", "homeless",
                                 "welfare_request"],
    "Chiang Mai Damrongtham Centre": ["welfare_request", "other"],
    "Mental health hotline 1323": ["suicide_risk"],
}


# Who holds which subsidy approval level in Phitsanulok (the default chain: team head, then
# the provincial office): username, province, level.
SUBSIDY_APPROVERS = [("supervisor", "65", "team_head"), ("pmj", "65", "provincial_office")]

# Phitsanulok's P1 ladder: two team offers, the supervisors, the provincial office, the police.
P1_LADDER_65 = [
    ("team", 60, "", None),
    ("team", 60, "", None),
    ("supervisor", 120, "", None),
    ("provincial_office", 300, "พมจ.พิษณุโลก (เวรนอกเวลา)", "+6655245054"),
    ("outside_responder", 300, "ตำรวจ 191", "191"),
]


class NotADemoDatabase(RuntimeError):
    """The database has real (non-demo) users: demo users must never join them."""


def _check_demo_database(session: Session) -> None:
    """Refuse a database that has real users and no demo users (a production database); flag
    the demo users of a database loaded before the flag existed (a demo username that still
    has the demo password). Users added on the demo's own users desk do not make it real."""
    from argon2 import PasswordHasher
    from argon2.exceptions import InvalidHashError, VerificationError

    demo_names = {row[0] for row in USERS}
    real = []
    for user in session.scalars(select(User).where(User.demo.is_(False))):
        try:
            legacy = user.username in demo_names and PasswordHasher().verify(
                user.password_hash, DEMO_PASSWORD)
        except (VerificationError, InvalidHashError):
            legacy = False
        if legacy:
            user.demo = True
        else:
            real.append(user.username)
    has_demo = session.scalar(select(User.id).where(User.demo.is_(True)).limit(1)) is not None
    if real and not has_demo:
        raise NotADemoDatabase(
            f"this database has {len(real)} real user(s) ({', '.join(sorted(real)[:5])}); demo "
            "users (published password) are loaded only into a database of their own")


def load_demo(session: Session, *, password_hash: str | None = None) -> dict[str, int]:
    """Insert what is missing (safe to run again); returns how many rows were added. Raises
    NotADemoDatabase on a production database (real users, no demo users)."""
    _check_demo_database(session)
    # One argon2 hash serves every demo user (same password, one salt): loading stays fast.
    password_hash = password_hash or hash_password(DEMO_PASSWORD)
    added = {"teams": 0, "users": 0, "agencies": 0}
    teams: dict[str, Team] = {t.code: t for t in session.scalars(select(Team))}
    now = utcnow()
    for code, name, prov, status, skills, lat, lon in TEAMS:
        if code not in teams:
            teams[code] = Team(code=code, name=name, province_code=prov, status=status,
                               skills=skills, lat=lat, lon=lon, position_at=now,
                               status_changed_at=now)
            session.add(teams[code])
            added["teams"] += 1
    session.flush()
    existing = set(session.scalars(select(User.username)))
    for username, display, role, prov, team_code in USERS:
        if username not in existing:
            session.add(User(username=username, display_name=display, role=role,
                             province_code=prov, password_hash=password_hash, demo=True,
                             phone=PHONES.get(username),
                             team_id=teams[team_code].id if team_code else None))
            added["users"] += 1
    session.flush()
    from cases.models import SubsidyApprover

    if session.scalar(select(SubsidyApprover.id).limit(1)) is None:
        ids = dict(session.execute(select(User.username, User.id)).all())
        for username, prov, level in SUBSIDY_APPROVERS:
            session.add(SubsidyApprover(user_id=ids[username], province_code=prov,
                                        level_code=level, granted_at=now))
    known = set(session.scalars(select(Agency.name_en)))
    from admin.schemas import agency_phone

    for name_th, name_en, kind, phone, prov in AGENCIES:
        if name_en not in known:
            session.add(Agency(name_th=name_th, name_en=name_en, kind=kind,
                               phone=agency_phone(phone), province_code=prov,
                               services=AGENCY_SERVICES.get(name_en, [])))
            added["agencies"] += 1
    if session.scalar(select(EscalationStep.id).where(EscalationStep.province_code == "65")
                      .limit(1)) is None:
        for position, (action, wait, name, phone) in enumerate(P1_LADDER_65):
            session.add(EscalationStep(province_code="65", priority="P1", position=position,
                                       action=action, wait_seconds=wait, contact_name=name,
                                       contact_phone=phone, updated_at=now))
    session.flush()
    return added
