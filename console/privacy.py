"""Small pure helpers of the PDPA work: national IDs typed into free text are masked on desks
that do not need them, secrets kept for a replay are sealed, erased text is scrubbed."""

from __future__ import annotations

import base64
import os
import re

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

_THAI_DIGITS = str.maketrans("๐๑๒๓๔๕๖๗๘๙", "0123456789")
_DIGIT = "[0-9๐-๙]"
_SEP = "[ \\-]"
# 13 digits in a row, or grouped the way the card prints them (1-2345-67890-12-3, with dashes or
# spaces), not part of a longer run of digits.
_NID_RE = re.compile(
    rf"(?<![0-9๐-๙])({_DIGIT}{{13}}|{_DIGIT}{_SEP}{_DIGIT}{{4}}{_SEP}{_DIGIT}{{5}}{_SEP}"
    rf"{_DIGIT}{{2}}{_SEP}{_DIGIT})(?![0-9๐-๙])")


def thai_id_is_valid(value: str) -> bool:
    """The Thai national ID check digit: (11 - sum(d_i * (13 - i)) % 11) % 10."""
    # NOTE: the same rule as cases.schemas.thai_id_is_valid; kept here so the payload builders
    # of every package can mask without importing case management.
    if len(value) != 13 or not value.isdigit():
        return False
    total = sum(int(value[i]) * (13 - i) for i in range(12))
    return (11 - total % 11) % 10 == int(value[12])


def _masked(match: re.Match) -> str:
    digits = re.sub(r"[ \-]", "", match.group(1)).translate(_THAI_DIGITS)
    if not thai_id_is_valid(digits):
        return match.group(0)
    return f"x-xxxx-xxxxx-{digits[10:12]}-{digits[12]}"


def mask_national_ids(text: str | None) -> str | None:
    """Free text with every valid 13-digit Thai national ID (with or without dashes or spaces,
    Thai or Arabic digits) masked to its last three digits; other numbers are left alone."""
    if not text:
        return text
    return _NID_RE.sub(_masked, text)


def national_ids_in(text: str | None) -> list[str]:
    """The valid national IDs written in a text, as 13 digits."""
    found = []
    for match in _NID_RE.finditer(text or ""):
        digits = re.sub(r"[ \-]", "", match.group(1)).translate(_THAI_DIGITS)
        if thai_id_is_valid(digits):
            found.append(digits)
    return found


def phone_tail(number: str | None) -> str:
    """A phone number as the audit log keeps it: its last 4 digits only ('…5678'), as the
    call-back list names a caller; the full number stays on the flag or call it belongs to,
    which retention and erasure anonymise."""
    digits = "".join(ch for ch in number or "" if ch.isdigit())
    return "…" + digits[-4:] if digits else ""


# --- sealing a secret that must be replayed, never stored in plain text -----------------------

def derived_key(secret: str, purpose: str) -> bytes:
    """A 256-bit key for one purpose, derived from the app's secret."""
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=b"console-1300",
                info=purpose.encode()).derive(secret.encode())


def seal(text: str, *, key: bytes, context: str) -> str:
    """Encrypt a short secret for storage, bound to its row (`context`)."""
    nonce = os.urandom(12)
    box = AESGCM(key).encrypt(nonce, text.encode(), context.encode())
    return "v1:" + base64.urlsafe_b64encode(nonce + box).decode()


def unseal(blob: str | None, *, key: bytes, context: str) -> str | None:
    """The sealed secret, or None when absent or unreadable (another key or row)."""
    if not blob or not blob.startswith("v1:"):
        return None
    try:
        raw = base64.urlsafe_b64decode(blob[3:].encode())
        return AESGCM(key).decrypt(raw[:12], raw[12:], context.encode()).decode()
    except (InvalidTag, ValueError):
        return None


# --- erasure -----------------------------------------------------------------------------------

ERASED = "[ลบตามคำขอ]"


def scrub(text: str | None, needles: list[str]) -> str | None:
    """Replace every occurrence of a person's name, number or ID in free text (case-insensitive);
    needles shorter than 3 characters are ignored (they would hit ordinary words)."""
    if not text:
        return text
    for needle in sorted({n for n in needles if n and len(n.strip()) >= 3}, key=len,
                         reverse=True):
        text = re.sub(re.escape(needle.strip()), ERASED, text, flags=re.IGNORECASE)
    return text
