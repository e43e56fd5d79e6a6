"""Thai that reads like the ministry wrote it (issue 15): the glossary's terms and register in
the catalogue, templates and scripts; every string the code uses translated; voice prompts; the
Thai time format in the Python and JavaScript formatters.

The terms come from the table of the shared glossary (GLOSSARY.md, "Words to use"): each rule
below is one of its "Not" cells. A rule lists the longer phrases that contain its word and are
right (เหตุ inside เรื่องแจ้งเหตุ, ที่เกิดเหตุ, เหตุผล...), so only the wrong uses fail.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from datetime import UTC, date, datetime, time

import pytest
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po
from flask import Flask
from flask_babel import Babel, force_locale, gettext

from console.config import BASE_DIR

TH_PO = BASE_DIR / "console" / "translations" / "th" / "LC_MESSAGES" / "messages.po"
TEMPLATES = BASE_DIR / "console" / "templates"
SCRIPTS = BASE_DIR / "static" / "js"

# (the glossary row, the wrong word as a regex, the longer phrases holding it that are right)
NOT_TERMS: list[tuple[str, str, tuple[str, ...]]] = [
    ("incident (staff side): เรื่องแจ้งเหตุ, not เหตุ alone", "เหตุ",
     ("เรื่องแจ้งเหตุ", "รับแจ้งเหตุ", "แจ้งเหตุ", "ที่เกิดเหตุ", "เหตุผล", "เหตุการณ์", "เหตุใด",
      "สาเหตุ", "หมายเหตุ")),
    ("incident (staff side): เรื่องแจ้งเหตุ, not งาน", "งาน",
     ("หน่วยงาน", "ปฏิบัติงาน", "ใช้งาน", "ทำงาน", "รายงาน", "สำนักงาน", "พนักงาน", "แรงงาน",
      "ตอบรับงาน", "รับทราบงาน", "รับงาน")),
    ("case: เคส, not เรื่องที่ยังดำเนินการ", "เรื่องที่ยังดำเนินการ", ()),
    ("case management: การดูแลช่วยเหลือรายกรณี / ส่งต่อดูแลรายกรณี", "การจัดการรายกรณี", ()),
    ("close: ยุติปัญหา / ยุติเรื่อง, not ยุติ alone", "ยุติ", ("ยุติปัญหา", "ยุติเรื่อง")),
    ("close: ยุติเรื่อง, not ปิดสาย (= hang up)", "ปิดสาย", ()),
    ("received a report: รับแจ้ง / รับแจ้งเหตุ, not สร้าง", "สร้าง", ()),
    ("dispatch: สั่งการ / มอบหมาย, not เสนองาน / ข้อเสนองาน", "เสนองาน|ข้อเสนอ", ()),
    ("rapid-response unit: หน่วยเคลื่อนที่เร็ว", "ทีมเคลื่อนที่เร็ว", ()),
    ("provincial office: สนง.พมจ., not สำนักงานจังหวัด", "สำนักงานจังหวัด", ()),
    ("escalation: การแจ้งต่อตามลำดับขั้น, not ยกระดับ", "ยกระดับ", ()),
    ("coordinate: ประสาน / ขอประสานความช่วยเหลือ, not ขอความช่วยเหลือ", "ขอความช่วยเหลือ",
     ("สัญญาณขอความช่วยเหลือ",)),
    ("flag: เฝ้าระวัง, not ติดธง / ธง", "ธง(?!า)", ()),  # ธงาน: the end of ปฏิเสธ + งาน
    ("hoax: ก่อกวน/แจ้งเรื่องเท็จ, not ก่อกวน alone", "ก่อกวน",
     ("ก่อกวน/แจ้งเรื่องเท็จ", "ก่อกวนหรือแจ้งเรื่องเท็จ")),
    ("homeless: คนไร้ที่พึ่ง, not คนไร้บ้าน", "ไร้บ้าน", ()),
    ("people involved: ผู้ประสบปัญหา, not ผู้เกี่ยวข้อง", "ผู้เกี่ยวข้อง", ()),
    ("busy line: ขณะนี้คู่สายไม่ว่าง … เจ้าหน้าที่จะติดต่อกลับ", "ทุกคนติดสาย|เราจะโทรกลับ", ()),
    ("volunteer: อพม., not อาสาสมัคร alone", "อาสาสมัคร",
     ("อาสาสมัครพัฒนาสังคมและความมั่นคงของมนุษย์",)),
    ("register: ท่าน, never คุณ", "(?<!ขอบ)คุณ(?!ภาพ|สมบัติ|ค่า)", ()),
    ("register: ท่าน, never ฉัน", "ฉัน", ()),
    ("register: ask politely (กรุณาระบุ…), not …เพราะอะไร", "เพราะอะไร", ()),
    ("errors say what to do, without IT words", "แบบฟอร์มหมดอายุ|เว็บฮุก|ออบเจกต์", ()),
]

THAI = re.compile(r"[\u0E00-\u0E7F]")


def glossary_breaches(text: str) -> list[str]:
    """The glossary rows a Thai text breaks (empty when it follows them)."""
    found = []
    for row, pattern, allowed in NOT_TERMS:
        rest = text
        for phrase in sorted(allowed, key=len, reverse=True):
            rest = rest.replace(phrase, " ")
        if re.search(pattern, rest):
            found.append(row)
    return found


def thai_catalogue():
    with TH_PO.open("rb") as fh:
        return read_po(fh)


def msgstr_texts(message) -> list[str]:
    return [s for s in (message.string if isinstance(message.string, tuple | list)
                        else [message.string]) if s]


# --- the checker itself: right uses pass, wrong ones fail -------------------------------------

@pytest.mark.parametrize("text", [
    "เรื่องแจ้งเหตุ I65-000012 รับแจ้งเหตุแล้ว", "ทีมถึงที่เกิดเหตุแล้ว", "กรุณาระบุเหตุผล",
    "ลำดับเหตุการณ์", "หมายเหตุถึงทีม", "ผู้ใช้งาน หน่วยงาน รายงาน ปฏิบัติงาน", "รอทีมตอบรับงาน",
    "ยุติเรื่องแล้ว", "เมื่อยุติปัญหา", "ทีมส่งสัญญาณขอความช่วยเหลือ (SOS)", "ปฏิเสธการมอบหมาย",
    "ก่อกวน/แจ้งเรื่องเท็จ", "อพม. (อาสาสมัครพัฒนาสังคมและความมั่นคงของมนุษย์)",
    "ขอบคุณค่ะ", "สนง.พมจ. (สำนักงานพัฒนาสังคมและความมั่นคงของมนุษย์จังหวัด)",
])
def test_right_uses_pass_the_checker(text):
    assert glossary_breaches(text) == []


def test_a_word_inside_another_is_not_a_breach():
    # ปฏิเสธงาน holds ธง (ธ + ง) but is no flag; it still breaks the งาน rule, as it should.
    assert glossary_breaches("ปฏิเสธงาน") == ["incident (staff side): เรื่องแจ้งเหตุ, not งาน"]


@pytest.mark.parametrize(("text", "row"), [
    ("แยกมาจากเหตุอื่น", "เหตุ alone"), ("มีงานใหม่!", "not งาน"), ("ยุติ", "ยุติ alone"),
    ("บันทึกและปิดสายแล้ว", "ปิดสาย"), ("สร้างเรื่องแจ้งเหตุแล้ว", "สร้าง"),
    ("ได้รับข้อเสนองาน", "เสนองาน"), ("เจ้าหน้าที่ทีมเคลื่อนที่เร็ว", "หน่วยเคลื่อนที่เร็ว"),
    ("โทรแจ้งสำนักงานจังหวัด", "สำนักงานจังหวัด"), ("การยกระดับ", "ยกระดับ"),
    ("1300 ขอความช่วยเหลือ", "ขอประสาน"), ("หมายเลขที่ติดธง", "เฝ้าระวัง"), ("ก่อกวน", "ก่อกวน alone"),
    ("คนไร้บ้าน", "คนไร้ที่พึ่ง"), ("ผู้เกี่ยวข้อง", "ผู้ประสบปัญหา"),
    ("เจ้าหน้าที่ทุกคนติดสาย", "คู่สายไม่ว่าง"), ("อาสาสมัคร", "อพม."),
    ("ไม่มีทีมในจังหวัดของคุณ", "never คุณ"), ("ทีมของฉัน", "never ฉัน"),
    ("ยกเลิกธงนี้เพราะอะไร", "politely"), ("แบบฟอร์มหมดอายุ", "IT words"),
])
def test_wrong_uses_fail_the_checker(text, row):
    assert any(row in breach for breach in glossary_breaches(text)), glossary_breaches(text)


# --- the catalogue, templates and scripts -----------------------------------------------------

def test_the_thai_catalogue_uses_the_glossary_terms_and_register():
    bad = [(m.id, text, glossary_breaches(text)) for m in thai_catalogue() if m.id
           for text in msgstr_texts(m) if glossary_breaches(text)]
    assert bad == []


@pytest.mark.parametrize("folder,suffix", [(TEMPLATES, "*.html"), (SCRIPTS, "*.js")])
def test_templates_and_scripts_use_the_glossary_terms(folder, suffix):
    bad = []
    for path in sorted(folder.glob(suffix)):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if THAI.search(line) and glossary_breaches(line):
                bad.append((path.name, number, glossary_breaches(line)))
    assert bad == []


def extracted_messages() -> dict[tuple[str | None, str], str]:
    """What `pybabel extract -F babel.cfg -k N_ -k _l` finds: (context, msgid) -> where."""
    with (BASE_DIR / "babel.cfg").open(encoding="utf-8") as fh:
        method_map, options_map = parse_mapping_cfg(fh, "babel.cfg")
    keywords = dict(DEFAULT_KEYWORDS, N_=None, _l=None)
    found = {}
    for filename, lineno, message, _comments, context in extract_from_dir(
            str(BASE_DIR), method_map, options_map, keywords=keywords):
        msgid = message[0] if isinstance(message, tuple | list) else message
        if msgid:
            found.setdefault((context, msgid), f"{filename}:{lineno}")
    return found


def test_every_string_the_code_uses_has_thai_and_none_is_fuzzy():
    catalogue = {(m.context, m.id[0] if isinstance(m.id, tuple | list) else m.id): m
                 for m in thai_catalogue() if m.id}
    used = extracted_messages()
    assert len(used) > 500  # the extractor really read the code and the templates
    missing = sorted(f"{where}: {msgid!r}" for (ctx, msgid), where in used.items()
                     if (ctx, msgid) not in catalogue)
    empty = sorted(msgid for key, msgid in ((k, k[1]) for k in used)
                   if key in catalogue and not msgstr_texts(catalogue[key]))
    fuzzy = sorted(m.id if isinstance(m.id, str) else m.id[0] for m in catalogue.values()
                   if m.fuzzy)
    assert missing == [] and empty == [] and fuzzy == []


def test_thai_keeps_every_placeholder():
    named = re.compile(r"%\((\w+)\)s")
    bad = []
    for m in thai_catalogue():
        if not m.id:
            continue
        ids = m.id if isinstance(m.id, tuple | list) else (m.id,)
        wanted = set().union(*(named.findall(i) for i in ids))
        bad += [(ids[0], text) for text in msgstr_texts(m) if set(named.findall(text)) != wanted]
    assert bad == []


# --- translations at run time: labels, voice prompts, LINE texts ------------------------------

@pytest.fixture(scope="module")
def babel_app():
    """Just Flask-Babel on the console's catalogues (no database)."""
    app = Flask(__name__)
    app.config["BABEL_TRANSLATION_DIRECTORIES"] = str(BASE_DIR / "console" / "translations")
    app.config["BABEL_DEFAULT_LOCALE"] = "th"
    Babel(app)
    with app.test_request_context():
        yield app


def thai(message: str) -> str:
    with force_locale("th"):
        return gettext(message)


def test_voice_prompts_open_with_the_greeting_and_end_with_kha(babel_app):
    from telephony import webhooks

    assert set(webhooks.OPENINGS) <= set(webhooks.PROMPTS)
    for prompt in webhooks.PROMPTS:
        text = thai(prompt)
        assert THAI.search(text) and text.endswith("ค่ะ"), (prompt, text)
        assert "เคส" not in text and glossary_breaches(text) == [], text  # callers: เรื่อง
    for prompt in webhooks.OPENINGS:
        assert thai(prompt).startswith("สวัสดีค่ะ ศูนย์ช่วยเหลือสังคม สายด่วน 1300"), prompt
    # The menu on the call-taker's screen says what the caller heard.
    from console.labels import LABELS

    menu = thai(webhooks.MENU)
    for digit, reason in (("1", "danger"), ("2", "advice"), ("3", "existing")):
        with force_locale("th"):
            words = str(LABELS["call_reason"][reason])
        assert f"{words} กด {digit}" in menu, (words, menu)


def test_line_texts_to_callers_say_เรื่อง_never_เคส(babel_app):
    from ess import service

    texts = [v for k, v in vars(service).items() if k.startswith("LINE_") and isinstance(v, str)]
    texts += list(service.PUSH_MESSAGES.values())
    assert len(texts) >= 8
    for message in texts:
        text = thai(message)
        assert THAI.search(text) and "เคส" not in text and glossary_breaches(text) == [], text


# What leaves the console as text: SMS to teams, supervisors, police/EMS and agencies, LINE
# answers, voice prompts, the job queue's words for a failed send.
OUTWARD_MODULES = ("dispatch/flows.py", "telephony/service.py", "telephony/webhooks.py",
                   "ess/service.py", "cases/flows.py", "cases/reminders.py", "jobs/service.py",
                   "jobs/routes.py")
BARE_PRIORITY = re.compile(r"(?<![A-Za-z0-9])P[1-4](?![0-9])")
COLON_TIME = re.compile(r"(?<![\d:])\d{1,2}:\d{2}(?![\d:])")
CENTRE = "ศูนย์ช่วยเหลือสังคม 1300"


def outward_messages() -> list[str]:
    from babel.messages.extract import extract_from_file

    keywords = dict(DEFAULT_KEYWORDS, N_=None, _l=None)
    found = []
    for module in OUTWARD_MODULES:
        path = BASE_DIR / module
        if not path.exists():  # NOTE: a module another change brings may not be here yet
            continue
        for _line, message, _comments, _context in extract_from_file(
                "python", str(path), keywords=keywords):
            found.append(message[0] if isinstance(message, tuple | list) else message)
    return found


def test_texts_that_leave_the_console_follow_the_glossary(babel_app):
    """SMS, LINE and voice texts in Thai: the glossary's terms, the priority never a bare code,
    no time written 09:26, and a message from the centre to people outside it (police, EMS,
    agencies) names the centre in full (ศูนย์ช่วยเหลือสังคม 1300 ขอประสาน…)."""
    messages = outward_messages()
    assert len(messages) > 40 and any("1300 asks for help" in m for m in messages)
    bad = []
    for message in messages:
        text = thai(message)
        if glossary_breaches(text) or BARE_PRIORITY.search(text) or COLON_TIME.search(text):
            bad.append((message, text))
        sender = message.startswith("1300 ") and not message.startswith("1300 ALARM")
        if sender and not text.startswith(CENTRE):
            bad.append((message, text, "names the centre"))
    assert bad == []


def test_the_sms_as_sent_spell_the_priority_out(babel_app):
    from dispatch.enums import Category, Priority
    from dispatch.flows import contact_sms_text
    from dispatch.models import Incident
    from telephony.service import alarm_sms_text, team_sms_text

    for priority in Priority:
        incident = Incident(ref="I65-000012", category=Category.CHILDREN, priority=priority,
                            province_code="65", district_code="6501", subdistrict_code=None,
                            lat=16.8211, lon=100.2659)
        for text in (team_sms_text(incident=incident, link_base="https://1300.example",
                                   locale="th"),
                     contact_sms_text(incident)):
            assert not BARE_PRIORITY.search(text) and "ด่วน" in text, text
            assert glossary_breaches(text) == [] and "เด็กและเยาวชน" in text, text
        assert contact_sms_text(incident).startswith(f"{CENTRE} ขอประสาน")
        english = team_sms_text(incident=incident, link_base="https://1300.example",
                                locale="en")
        assert not BARE_PRIORITY.search(english) and "urgent" in english.lower(), english
    alarm = alarm_sms_text(kind_label="ทีมไม่รับทราบงานภายในเวลาที่กำหนด", team_name="PSL-1",
                           incident_ref="I65-000012", link_base="https://1300.example",
                           locale="th")
    assert "I65-000012" in alarm and glossary_breaches(alarm) == [], alarm


def test_every_label_group_the_pages_ask_for_exists():
    """label(group, value) shows the raw value when the group is unknown: every group the
    templates and scripts name must be one of LABELS."""
    from console.labels import LABELS

    asked = set()
    for path in [*TEMPLATES.glob("*.html"), *SCRIPTS.glob("*.js")]:
        asked |= {(path.name, g) for g in re.findall(r"""label\(\s*["'](\w+)["']""",
                                                      path.read_text(encoding="utf-8"))}
    assert len(asked) > 30
    assert sorted((name, g) for name, g in asked if g not in LABELS) == []


def test_categories_and_target_groups_as_the_seeds_name_them(babel_app):
    from console.labels import FIELD_LABELS, LABELS

    with force_locale("th"):
        assert str(LABELS["category"]["children"]) == "เด็กและเยาวชน"
        assert str(LABELS["category"]["homeless"]) == "คนไร้ที่พึ่ง / ขอทาน"
        assert str(LABELS["vulnerable_group"]["homeless"]) == "คนไร้ที่พึ่ง"
        assert str(LABELS["target_group"]["children_youth"]) == "เด็กและเยาวชน"
        assert str(FIELD_LABELS["vulnerable_group"]) == "กลุ่มเป้าหมาย"
        assert str(LABELS["role"]["field_member"]) == "เจ้าหน้าที่หน่วยเคลื่อนที่เร็ว"
        # One English word, two meanings: a call in progress is not a plan action in progress.
        assert str(LABELS["call_status"]["in_progress"]) != str(
            LABELS["action_status"]["in_progress"])
        assert str(LABELS["outcome"]["advice_given"]) != str(FIELD_LABELS["advice"])
        # Outside readers get the priority in words, never a bare code.
        from console.labels import PRIORITY_WORDS

        for words in PRIORITY_WORDS.values():
            assert THAI.search(str(words)) and not re.search(r"P\d", str(words))


def test_every_label_group_is_translated_in_both_languages(babel_app):
    from console.labels import FIELD_LABELS, LABELS

    groups = dict(LABELS, fields=FIELD_LABELS)
    for group, items in groups.items():
        for key, value in items.items():
            with force_locale("th"):
                assert THAI.search(str(value)), (group, key, str(value))
            with force_locale("en"):
                assert not THAI.search(str(value)), (group, key, str(value))


def test_every_read_the_access_log_lists_has_a_label():
    """The access log names what was read by its label: each log_read()/record_read() kind the
    code writes has one in console/pdpa.py ACTION_LABELS (else the page says "Other action")."""
    from console.pdpa import ACTION_LABELS

    kinds = set()
    for package in ("console", "dispatch", "cases", "telephony", "ess", "geo", "jobs"):
        for path in (BASE_DIR / package).rglob("*.py"):
            kinds |= set(re.findall(r'(?:log_read\(\s*|what=)"([a-z_]+)"',
                                    path.read_text(encoding="utf-8")))
    assert {"board", "export", "socket"} <= kinds
    assert sorted(f"read.{k}" for k in kinds if f"read.{k}" not in ACTION_LABELS) == []


def test_every_timeline_kind_the_code_writes_has_a_label():
    from cases.enums import ReferralStatus
    from console.labels import LABELS

    kinds = set()
    for module in ("dispatch/service.py", "ess/service.py", "cases/service.py",
                   "cases/referrals.py"):
        for line in (BASE_DIR / module).read_text(encoding="utf-8").splitlines():
            if "ReferralEvent(" in line:
                continue
            for found in re.finditer(r'kind\s*=\s*(f?"[\w{}.]+"(?:\s+if\s+[^"]+\s+else\s+"\w+")?)',
                                     line):
                kinds.update(re.findall(r'"([\w{}.]+)"', found.group(1)))
    expanded = set()
    for kind in kinds:
        if "{to.value}" in kind:
            expanded |= {kind.replace("{to.value}", s.value) for s in ReferralStatus
                         if s.value not in ("sent", "revoked")}
        else:
            expanded.add(kind)
    assert {"created", "escalated", "offer_lapsed", "checkin", "opened"} <= expanded
    assert expanded - {"status"} - set(LABELS["timeline"]) == set()


def test_every_form_field_has_a_label_on_the_error_page(babel_app):
    from console.labels import field_label

    with force_locale("th"):
        assert field_label("incident.location.province_code") == "จังหวัด"
        assert field_label("people.1.vulnerable_group") == "กลุ่มเป้าหมาย (รายการที่ 2)"
        assert field_label("scores.shelter.reason") == "ที่อยู่อาศัย: เหตุผล"
        assert field_label("rungs.0.wait_seconds") == "รอการตอบรับ (วินาที) (รายการที่ 1)"
        assert field_label("__all__") == "" and field_label("zzz_unknown") == ""
    with force_locale("en"):
        assert field_label("summary") == "What happened"


# --- dates, times, durations: Python -----------------------------------------------------------

AT = datetime(2026, 11, 22, 2, 26, 5, tzinfo=UTC)  # 09:26:05 in Bangkok


def test_python_formatters_in_thai(babel_app):
    from console import labels

    assert labels.format_clock(AT, lang="th") == "09.26 น."
    assert labels.format_be(AT, lang="th") == "22 พ.ย. 2569 09.26 น."
    assert labels.format_be(AT.isoformat(), lang="th") == "22 พ.ย. 2569 09.26 น."
    assert labels.format_be(AT, with_time=False, lang="th") == "22 พ.ย. 2569"
    assert labels.format_be_date(date(2026, 11, 1), lang="th") == "1 พ.ย. 2569"
    assert labels.format_clock_range(time(8, 30), time(16, 30), lang="th") == "08.30–16.30 น."
    with force_locale("th"):
        assert labels.format_duration(125) == "2 นาที 5 วินาที"
        assert labels.format_duration(120) == "2 นาที"
        assert labels.format_duration(5) == "5 วินาที"
        assert labels.format_duration(3900) == "1 ชั่วโมง 5 นาที"
        assert labels.minutes_ago(5) == "5 นาทีที่แล้ว" and labels.minutes_ago(1) == "1 นาทีที่แล้ว"


def test_python_formatters_in_english(babel_app):
    from console import labels

    assert labels.format_clock(AT, lang="en") == "09:26"
    assert labels.format_be(AT, lang="en") == "22 Nov 2569 BE 09:26"
    assert labels.format_be_date(date(2026, 11, 1), lang="en") == "1 Nov 2569 BE"
    assert labels.format_clock_range(time(8, 30), time(16, 30), lang="en") == "08:30–16:30"
    with force_locale("en"):
        assert labels.format_duration(125) == "2 min 5 s"
        assert labels.format_duration(3600) == "1 h"
        assert labels.minutes_ago(1) == "1 minute ago" and labels.minutes_ago(5) == "5 minutes ago"
    # An SMS in its reader's language, whatever the current one.
    with force_locale("en"):
        assert labels.format_duration(65, lang="th") == "1 นาที 5 วินาที"


def test_the_shift_is_named_by_its_hours(babel_app):
    from console import labels
    from console.routes import next_shift, shift_start

    day = shift_start(AT)
    night = shift_start(datetime(2026, 11, 22, 15, 0, tzinfo=UTC))  # 22.00 น. in Bangkok
    assert labels.shift_name(day, next_shift(day), lang="th") == "เวรนี้ (08.30–16.30 น.)"
    assert labels.shift_name(night, next_shift(night), lang="th") == "เวรนี้ (16.30–08.30 น.)"
    assert labels.shift_name(day, next_shift(day), lang="en") == "This shift (08:30–16:30)"


def test_no_thai_time_is_written_with_a_colon_and_no_duration_with_a_leading_zero(babel_app):
    from console import labels

    for minute in range(0, 24 * 60, 7):
        at = datetime(2026, 1, 1, tzinfo=UTC).replace(hour=minute // 60, minute=minute % 60)
        assert re.fullmatch(r"\d{2}\.\d{2} น\.", labels.format_clock(at, lang="th"))
        assert ":" not in labels.format_be(at, lang="th")
    with force_locale("th"):
        for seconds in range(0, 7300, 13):
            text = labels.format_duration(seconds)
            assert not re.search(r"(?<!\d)0\d", text) and ":" not in text, text


def test_no_script_writes_times_its_own_way():
    """The desks' scripts write dates, times and durations through console.js only."""
    for path in SCRIPTS.glob("*.js"):
        source = path.read_text(encoding="utf-8")
        assert not re.search(r"toLocale(Date|Time)?String\(", source), path
        if path.name != "console.js":
            assert "Intl.DateTimeFormat" not in source and "padStart(2" not in source, path


# --- dates, times, durations: the page's JavaScript (console.js under Node) -------------------

def run_console_js(page: dict, expressions: dict[str, str]) -> dict:
    node = shutil.which("node") or shutil.which("nodejs")
    if not node:
        pytest.skip("Node.js is not installed (the browser tests run the same formatters)")
    harness = "\n".join([
        f"const PAGE_JSON = {json.dumps(json.dumps(page))};",
        "globalThis.window = globalThis;",
        "globalThis.document = { getElementById: () => ({ textContent: PAGE_JSON }),",
        "  querySelector: () => ({ content: '', addEventListener() {} }), addEventListener() {} };",
        f"const source = require('fs').readFileSync({json.dumps(str(SCRIPTS / 'console.js'))},"
        " 'utf8');",
        f"const exprs = {json.dumps(expressions)};",
        "eval(source + '\\n;globalThis.__out = Object.fromEntries(Object.entries(exprs)' +",
        "  '.map(([k, e]) => [k, eval(e)]));');",
        "process.stdout.write(JSON.stringify(globalThis.__out));",
    ])
    out = subprocess.run([node, "-e", harness], capture_output=True, text=True, timeout=30,
                         check=True)
    return json.loads(out.stdout)


def page_data(lang: str) -> dict:
    from flask_babel import get_translations

    from console.labels import date_formats

    with force_locale(lang):
        def pattern(msg, **names):
            return gettext(msg) % {n: f"%({n})s" for n in names}

        def ngettext(singular, plural_, n, num):
            return get_translations().ungettext(singular, plural_, n) % {"num": num}

        text = {
            "dur_h": pattern("%(hours)s h", hours=1),
            "dur_hm": pattern("%(hours)s h %(minutes)s min", hours=1, minutes=1),
            "dur_m": pattern("%(minutes)s min", minutes=1),
            "dur_ms": pattern("%(minutes)s min %(seconds)s s", minutes=1, seconds=1),
            "dur_s": pattern("%(seconds)s s", seconds=1),
            "ago": {"one": ngettext("%(num)s minute ago", "%(num)s minutes ago", 1,
                                    num="%(num)s"),
                    "other": ngettext("%(num)s minute ago", "%(num)s minutes ago", 2,
                                      num="%(num)s")},
        }
    return {"labels": {}, "lang": lang, "dates": date_formats(lang), "user": None, "text": text}


JS_CASES = {
    "be": 'fmtBE("2026-11-22T02:26:05Z")', "clock": 'fmtClock("2026-11-22T02:26:05Z")',
    "range": 'fmtRange("2026-11-22T01:30:00Z", "2026-11-22T09:30:00Z")',
    "d125": "fmtDuration(125)", "d120": "fmtDuration(120)", "d5": "fmtWait(5.9)",
    "d3900": "fmtDuration(3900)",
    "ago5": "fmtAgo(new Date(Date.now() - 5 * 60000).toISOString())",
    "ago1": "fmtAgo(new Date(Date.now() - 60000).toISOString())",
}


def test_javascript_formatters_in_thai(babel_app):
    out = run_console_js(page_data("th"), JS_CASES)
    assert out == {"be": "22 พ.ย. 2569 09.26 น.", "clock": "09.26 น.", "range": "08.30–16.30 น.",
                   "d125": "2 นาที 5 วินาที", "d120": "2 นาที", "d5": "5 วินาที",
                   "d3900": "1 ชั่วโมง 5 นาที", "ago5": "5 นาทีที่แล้ว", "ago1": "1 นาทีที่แล้ว"}


def test_javascript_formatters_in_english(babel_app):
    out = run_console_js(page_data("en"), JS_CASES)
    assert out == {"be": "22 Nov 2569 BE 09:26", "clock": "09:26", "range": "08:30–16:30",
                   "d125": "2 min 5 s", "d120": "2 min", "d5": "5 s", "d3900": "1 h 5 min",
                   "ago5": "5 minutes ago", "ago1": "1 minute ago"}
