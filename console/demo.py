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
          "team2": "+66800001302", "cm.team1": "+66800001501", "volunteer": "+66800001320"}

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
    # A partner agency's officer: answers the referrals sent to their agency (AGENCY_OF).
    ("oscc", "พยาบาลวิชาชีพ ศูนย์พึ่งได้ รพ.พุทธชินราช", Role.AGENCY, "65", None),
    # An อพม. volunteer: sees only the follow-up visits given to them.
    ("volunteer", "บุญมี อพม.ตำบลอรัญญิก", Role.VOLUNTEER, "65", None),
]
# Which agency of the directory (by its English name) each agency user answers for.
AGENCY_OF = {"oscc": "OSCC Buddhachinaraj Hospital"}

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


# Opening hours of the demo agencies, as the directory shows them on the guided-intake panel.
AGENCY_HOURS = {
    "OSCC Buddhachinaraj Hospital": "ตลอด 24 ชั่วโมง",
    "Mueang Phitsanulok Police Station": "ตลอด 24 ชั่วโมง",
    "Phitsanulok Damrongtham Centre": "จ.–ศ. 08.30–16.30 น.",
    "Phitsanulok MSDHS office": "จ.–ศ. 08.30–16.30 น.",
    "Chiang Mai Damrongtham Centre": "จ.–ศ. 08.30–16.30 น.",
    "Mental health hotline 1323": "ตลอด 24 ชั่วโมง",
}

# Guided-intake scripts (admin/scripts.py), version 1 of a few categories: the questions to
# ask and the rights and benefits to explain, in Thai and English (same order).
INTAKE_SCRIPTS = {
    "welfare_request": {
        "questions_th": [
            "กรุณาสอบถามชื่อ อายุ และที่อยู่ปัจจุบันของผู้ประสบปัญหา (จังหวัด อำเภอ)",
            "ผู้ประสบปัญหาเดือดร้อนเรื่องใด ตั้งแต่เมื่อใด",
            "ครอบครัวมีรายได้เดือนละเท่าใด และมีผู้ที่ต้องดูแลกี่คน",
            "เคยได้รับเงินสงเคราะห์หรือสวัสดิการอื่นแล้วหรือไม่ (เช่น เบี้ยยังชีพ "
            "บัตรสวัสดิการแห่งรัฐ)",
            "ผู้ประสบปัญหามีบัตรประจำตัวประชาชนและทะเบียนบ้านหรือไม่",
        ],
        "questions_en": [
            "Ask for the name, age and current address of the person in need (province, "
            "district).",
            "What is the hardship, and since when?",
            "What is the household's monthly income, and how many people does it support?",
            "Have they already received a relief subsidy or other welfare (e.g. an allowance, "
            "the state welfare card)?",
            "Do they have a national ID card and a house registration?",
        ],
        "rights_th": [
            "ผู้มีรายได้น้อยที่ประสบความเดือดร้อนยื่นขอรับเงินสงเคราะห์ได้ที่ สนง.พมจ. "
            "หรือองค์กรปกครองส่วนท้องถิ่นในพื้นที่",
            "เจ้าหน้าที่จะเยี่ยมบ้านเพื่อสอบข้อเท็จจริงก่อนพิจารณาให้เงินสงเคราะห์",
            "เอกสารที่ควรเตรียม: บัตรประจำตัวประชาชน ทะเบียนบ้าน และสมุดบัญชีเงินฝากธนาคาร "
            "(ถ้ามี)",
            "กรุณาอย่ารับรองจำนวนเงินหรือวันที่จะได้รับ: แจ้งผู้โทรว่าเป็นไปตามผลการพิจารณา",
        ],
        "rights_en": [
            "People on a low income in hardship can apply for a relief subsidy at the "
            "provincial social development office or their local government.",
            "An officer visits the home to establish the facts before a subsidy is decided.",
            "Documents to prepare: national ID card, house registration and a bank book "
            "(if any).",
            "Never promise an amount or a date: tell the caller it depends on the decision.",
        ],
    },
    "children": {
        "questions_th": [
            "เด็กหรือเยาวชนอายุเท่าใด ขณะนี้อยู่ที่ใดและอยู่กับผู้ใด",
            "ขณะนี้เด็กได้รับบาดเจ็บหรืออยู่ในอันตรายหรือไม่ (หากใช่ กรุณารับแจ้งเหตุ"
            "เพื่อสั่งการหน่วยเคลื่อนที่เร็ว)",
            "เรื่องนี้เกิดขึ้นบ่อยเพียงใด และผู้กระทำเป็นใคร",
            "มีผู้ใหญ่ที่ไว้ใจได้ช่วยดูแลเด็กในขณะนี้หรือไม่",
            "ผู้แจ้งประสงค์ให้เจ้าหน้าที่ติดต่อกลับหรือไม่ ทางหมายเลขใด",
        ],
        "questions_en": [
            "How old is the child, where are they now and who is with them?",
            "Is the child hurt or in danger now? (If so, log an incident so that a "
            "rapid-response unit is dispatched.)",
            "How often has it happened, and who is doing it?",
            "Is a trusted adult looking after the child now?",
            "Would the caller like an officer to call back, and on which number?",
        ],
        "rights_th": [
            "เด็กมีสิทธิได้รับการคุ้มครองตาม พ.ร.บ.คุ้มครองเด็ก พ.ศ. 2546 ผู้แจ้งโดยสุจริต"
            "ได้รับความคุ้มครอง",
            "ข้อมูลของผู้แจ้งและของเด็กจะถูกเก็บเป็นความลับ",
            "ครอบครัวที่ยากจนขอรับเงินสงเคราะห์เพื่อการเลี้ยงดูเด็กได้ที่ สนง.พมจ.",
            "เด็กแรกเกิดในครัวเรือนรายได้น้อยมีสิทธิได้รับเงินอุดหนุนเพื่อการเลี้ยงดูเด็กแรกเกิด "
            "ลงทะเบียนที่องค์กรปกครองส่วนท้องถิ่น",
        ],
        "rights_en": [
            "Children are protected under the Child Protection Act B.E. 2546 (2003); "
            "whoever reports in good faith is protected.",
            "The caller's and the child's details are kept confidential.",
            "Poor families can apply for a child-support subsidy at the provincial social "
            "development office.",
            "Newborns in low-income households are entitled to the child support grant: "
            "register at the local government.",
        ],
    },
    "elderly": {
        "questions_th": [
            "ผู้สูงอายุอายุเท่าใด อาศัยอยู่กับผู้ใด หรืออยู่ลำพัง",
            "ขณะนี้ผู้สูงอายุเจ็บป่วยหรือต้องการความช่วยเหลือเร่งด่วนหรือไม่",
            "ได้รับเบี้ยยังชีพผู้สูงอายุแล้วหรือไม่",
            "มีญาติหรือผู้ดูแลที่ติดต่อได้หรือไม่",
        ],
        "questions_en": [
            "How old is the older person, and do they live with someone or alone?",
            "Are they ill now, or do they need help urgently?",
            "Do they already receive the old-age allowance?",
            "Is there a relative or carer who can be reached?",
        ],
        "rights_th": [
            "ผู้มีอายุ 60 ปีขึ้นไปมีสิทธิได้รับเบี้ยยังชีพผู้สูงอายุ ลงทะเบียนที่องค์กรปกครอง"
            "ส่วนท้องถิ่นตามทะเบียนบ้าน",
            "ผู้สูงอายุที่ประสบความเดือดร้อนขอรับเงินสงเคราะห์ผู้สูงอายุได้ที่ สนง.พมจ.",
            "ผู้สูงอายุที่ถูกทารุณกรรม ถูกแสวงหาประโยชน์โดยมิชอบ หรือถูกทอดทิ้ง ได้รับความคุ้มครอง"
            "ตาม พ.ร.บ.ผู้สูงอายุ พ.ศ. 2546",
        ],
        "rights_en": [
            "People aged 60 and over are entitled to the old-age allowance: register at the "
            "local government of their house registration.",
            "Older people in hardship can apply for an elderly relief subsidy at the provincial "
            "social development office.",
            "Older people who are abused, exploited or abandoned are protected under the Older "
            "Persons Act B.E. 2546 (2003).",
        ],
    },
    "domestic_violence": {
        "questions_th": [
            "ขณะนี้ผู้ประสบปัญหาปลอดภัยหรือไม่ ผู้กระทำยังอยู่ที่นั่นหรือไม่ (หากไม่ปลอดภัย "
            "กรุณารับแจ้งเหตุทันที)",
            "มีผู้บาดเจ็บที่ต้องรักษาพยาบาลหรือไม่",
            "มีเด็กและเยาวชน ผู้สูงอายุ หรือคนพิการอยู่ในบ้านด้วยหรือไม่",
            "ความรุนแรงเกิดขึ้นครั้งแรกหรือเกิดซ้ำ",
        ],
        "questions_en": [
            "Is the person safe now, and is the one who hurt them still there? (If not safe, "
            "log an incident at once.)",
            "Is anyone hurt and in need of medical care?",
            "Are there children, older people or people with disabilities in the home?",
            "Is this the first time, or has it happened before?",
        ],
        "rights_th": [
            "ผู้ถูกกระทำด้วยความรุนแรงในครอบครัวได้รับความคุ้มครองตาม พ.ร.บ.ส่งเสริมการพัฒนา"
            "และคุ้มครองสถาบันครอบครัว พ.ศ. 2562 และร้องทุกข์ต่อพนักงานสอบสวนได้",
            "ผู้บาดเจ็บรับการรักษาและความช่วยเหลือได้ที่ศูนย์พึ่งได้ (OSCC) ของโรงพยาบาล",
            "หากต้องการที่พักที่ปลอดภัย เจ้าหน้าที่ประสานบ้านพักเด็กและครอบครัวจังหวัดให้ได้",
        ],
        "rights_en": [
            "Victims of domestic violence are protected under the Promotion of Family "
            "Institution Development and Protection Act B.E. 2562 (2019) and can file a "
            "complaint with the police.",
            "The injured get care and help at the hospital's One Stop Crisis Centre (OSCC).",
            "If they need a safe place to stay, the officer can arrange the provincial "
            "Children and Family Shelter.",
        ],
    },
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
                               services=AGENCY_SERVICES.get(name_en, []),
                               hours=AGENCY_HOURS.get(name_en, "")))
            added["agencies"] += 1
    session.flush()
    agency_ids = dict(session.execute(select(Agency.name_en, Agency.id)).all())
    for user in session.scalars(select(User).where(User.username.in_(AGENCY_OF),
                                                   User.agency_id.is_(None))):
        user.agency_id = agency_ids[AGENCY_OF[user.username]]
    from admin.models import IntakeScript

    scripted = set(session.scalars(select(IntakeScript.category)))
    for category, content in INTAKE_SCRIPTS.items():
        if category not in scripted:
            session.add(IntakeScript(category=category, version=1, note="", **content))
    if session.scalar(select(EscalationStep.id).where(EscalationStep.province_code == "65")
                      .limit(1)) is None:
        for position, (action, wait, name, phone) in enumerate(P1_LADDER_65):
            session.add(EscalationStep(province_code="65", priority="P1", position=position,
                                       action=action, wait_seconds=wait, contact_name=name,
                                       contact_phone=phone, updated_at=now))
    session.flush()
    return added
