"""Hotline lines: which province's queue a call to each number joins, stored in the database
(hotline_line, kept on the admin pages). TWILIO_NUMBERS is read once, as a seed, while no line
was ever stored; after that the variable is ignored."""

from __future__ import annotations

import re

from sqlalchemy import select
from sqlalchemy.orm import Session

from console.errors import N_
from console.validation import FieldError
from telephony.models import HotlineLine

_SEPARATORS = re.compile(r"[\s\-().]")
_THAI_DIGITS = str.maketrans("๐๑๒๓๔๕๖๗๘๙", "0123456789")
BAD_NUMBER = N_("Enter the line's number as 055-123-4567, 0551234567 or +66 55 123 4567.")
SEEDED = "hotline_line.seeded"


def normalize_line_number(raw: str) -> str:
    """A hotline number typed the Thai way (0551234567, 055-123-4567, 055-123-456,
    +66 55 123 4567, ๐๕๕...) or another country's E.164 number, in E.164. Lines are numbers a
    carrier sells, so any 8 or 9 national digits are accepted (unlike a caller's number)."""
    text = _SEPARATORS.sub("", (raw or "").translate(_THAI_DIGITS))
    if text.startswith("+66"):
        national = text[3:]
    elif text.startswith("0066"):
        national = text[4:]
    elif text.startswith("+"):
        if re.fullmatch(r"\+[1-9][0-9]{7,14}", text):
            return text
        raise FieldError(BAD_NUMBER)
    elif text.startswith("0"):
        national = text[1:]
    else:
        raise FieldError(BAD_NUMBER)
    if not re.fullmatch(r"[1-9][0-9]{7,8}", national):
        raise FieldError(BAD_NUMBER)
    return "+66" + national


def parse_seed(text: str) -> tuple[dict[str, str | None], list[str]]:
    """TWILIO_NUMBERS "0551234567=65,053123456=50" -> ({E.164: province}, items skipped)."""
    lines: dict[str, str | None] = {}
    skipped: list[str] = []
    for item in (text or "").split(","):
        number, sep, code = item.strip().partition("=")
        if not item.strip():
            continue
        try:
            if not sep:
                raise FieldError(BAD_NUMBER)
            lines[normalize_line_number(number.strip())] = code.strip() or None
        except FieldError:
            skipped.append(item.strip()[:40])
    return lines, skipped


def seed_once(*, session: Session, text: str) -> int:
    """Store the lines of TWILIO_NUMBERS when no line was ever stored or seeded; returns how
    many were added (audited as one row, naming any item that could not be read)."""
    from console.models import AuditLog
    from console.service import record_audit

    if not (text or "").strip():
        return 0
    if session.scalar(select(HotlineLine.id).limit(1)) is not None or session.scalar(
            select(AuditLog.id).where(AuditLog.action == SEEDED).limit(1)) is not None:
        return 0
    lines, skipped = parse_seed(text)
    for number, province in lines.items():
        session.add(HotlineLine(number=number, province_code=province,
                                label="TWILIO_NUMBERS"))
    record_audit(session=session, actor_id=None, action=SEEDED, entity="hotline_line",
                 entity_id=None, detail={"lines": lines, "skipped": skipped})
    if skipped:
        import logging

        logging.getLogger("telephony.lines").warning(
            "TWILIO_NUMBERS: items not read (fix them on /admin/lines): %s", skipped)
    session.flush()
    return len(lines)


def province_for_called(*, session: Session, called: str | None, default: str | None,
                        seed: str = "") -> str | None:
    """The province whose queue a call to this line joins: the active line's province (None =
    national), else `default` (TELEPHONY_DEFAULT_PROVINCE; empty = the national queue)."""
    if seed:
        from sqlalchemy.exc import IntegrityError

        try:
            with session.begin_nested():  # NOTE: two first calls at once: one seeds.
                seed_once(session=session, text=seed)
        except IntegrityError:
            pass
    try:
        number = normalize_line_number(called or "")
    except FieldError:
        return default or None
    line = session.scalar(select(HotlineLine).where(HotlineLine.number == number,
                                                    HotlineLine.active.is_(True)))
    if line is None:
        return default or None
    return line.province_code
