"""Two-step login: TOTP codes from an authenticator app (pyotp), QR codes drawn here (segno, no
outside service) and ten one-time recovery codes. The TOTP secret is stored encrypted with
AES-GCM under a key derived from TOTP_ENCRYPTION_KEY (default SECRET_KEY), bound to its user;
recovery codes are kept as hashes only. A code is never accepted twice: the last time step
used is stored and only a later one passes."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
from datetime import datetime

import pyotp
import segno
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.orm import Session

from console.db import utcnow
from console.enums import Role
from console.models import RecoveryCode, User

RECOVERY_CODES = 10
# Codes of the step before and after now are accepted too (clocks a little off).
VALID_WINDOW = 1
_RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"


def required_for(user: User) -> bool:
    """Supervisors, administrators and national users must use a second factor (not the demo's
    own users, which exist only on a demo database: console/demo.py)."""
    if user.demo:
        return False
    return user.role in (Role.SUPERVISOR, Role.ADMIN) or user.province_code is None


def enabled(user: User) -> bool:
    """Whether the user has a confirmed authenticator."""
    return user.totp_secret is not None and user.totp_enabled_at is not None


def asks_second_factor(user: User) -> bool:
    """A login of this user needs a code (or enrolment) before the session starts."""
    return enabled(user) or required_for(user)


# --- the secret, encrypted at rest -----------------------------------------------------------

def encryption_key(config) -> bytes:
    """The AES-256 key for TOTP secrets, derived from TOTP_ENCRYPTION_KEY or SECRET_KEY."""
    material = (config.get("TOTP_ENCRYPTION_KEY") or config["SECRET_KEY"]).encode()
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=b"console-1300",
                info=b"totp-secret v1").derive(material)


def seal(secret: str, *, key: bytes, user_id: int) -> str:
    """Encrypt a TOTP secret for storage on one user's row."""
    nonce = os.urandom(12)
    box = AESGCM(key).encrypt(nonce, secret.encode(), f"user:{user_id}".encode())
    return "v1:" + base64.urlsafe_b64encode(nonce + box).decode()


def unseal(blob: str | None, *, key: bytes, user_id: int) -> str | None:
    """The TOTP secret, or None when absent or unreadable (another key, another user's row)."""
    if not blob or not blob.startswith("v1:"):
        return None
    try:
        raw = base64.urlsafe_b64decode(blob[3:].encode())
        return AESGCM(key).decrypt(raw[:12], raw[12:], f"user:{user_id}".encode()).decode()
    except (InvalidTag, ValueError):
        return None


def new_secret() -> str:
    """A random base32 TOTP secret (160 bits)."""
    return pyotp.random_base32()


def provisioning_uri(secret: str, *, username: str, issuer: str) -> str:
    """The otpauth:// address an authenticator app reads from the QR code."""
    return pyotp.TOTP(secret).provisioning_uri(name=username, issuer_name=issuer)


def qr_data_uri(text: str) -> str:
    """A QR code of `text` as an inline SVG data: URI (drawn here; nothing leaves the server)."""
    return segno.make(text, error="m").svg_data_uri(scale=5, border=2, dark="#000",
                                                     light="#fff")


def grouped(secret: str) -> str:
    """The secret in groups of four, for typing it into an app by hand."""
    return " ".join(secret[i:i + 4] for i in range(0, len(secret), 4))


def matching_step(secret: str, code: str, *, now: datetime) -> int | None:
    """The time step whose code this is (within the window), or None."""
    code = "".join(ch for ch in code if not ch.isspace())
    if len(code) != 6 or not code.isdigit():
        return None
    totp = pyotp.TOTP(secret)
    current = totp.timecode(now)
    for step in range(current - VALID_WINDOW, current + VALID_WINDOW + 1):
        if hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None


def looks_like_totp(code: str) -> bool:
    """Six digits (an app's code) rather than a recovery code."""
    code = "".join(ch for ch in (code or "") if not ch.isspace())
    return len(code) == 6 and code.isdigit()


# --- enrolment and verification (service functions) ------------------------------------------

def begin_enrolment(*, session: Session, user: User, key: bytes) -> str:
    """A new secret waiting for its first code; returns it to show (once more on reload)."""
    pending = unseal(user.totp_pending, key=key, user_id=user.id)
    if pending is None:
        pending = new_secret()
        user.totp_pending = seal(pending, key=key, user_id=user.id)
        session.flush()
    return pending


def _claim_step(*, session: Session, user: User, step: int) -> bool:
    """Record the step as used; False when it (or a later one) was used already."""
    # NOTE: one conditional UPDATE, so two requests with the same code cannot both pass.
    result = session.execute(
        update(User).where(User.id == user.id,
                           or_(User.totp_last_step.is_(None), User.totp_last_step < step))
        .values(totp_last_step=step).execution_options(synchronize_session=False))
    if result.rowcount:
        user.totp_last_step = step
        return True
    return False


def confirm_enrolment(*, session: Session, user: User, code: str, key: bytes,
                      now: datetime | None = None) -> list[str] | None:
    """Switch the pending secret on when the code matches; returns the new recovery codes (to
    show once), or None when the code is wrong."""
    now = now or utcnow()
    pending = unseal(user.totp_pending, key=key, user_id=user.id)
    if pending is None:
        return None
    step = matching_step(pending, code, now=now)
    if step is None:
        return None
    user.totp_secret = user.totp_pending
    user.totp_pending = None
    user.totp_enabled_at = now
    user.totp_last_step = step  # NOTE: the enrolment code cannot log in a second time.
    session.flush()
    return new_recovery_codes(session=session, user=user, now=now)


def verify(*, session: Session, user: User, code: str, key: bytes,
           now: datetime | None = None) -> str | None:
    """Check a second-factor code: 'totp' or 'recovery' when accepted, None when wrong,
    already used or the user has no authenticator."""
    now = now or utcnow()
    if not enabled(user):
        return None
    if looks_like_totp(code):
        secret = unseal(user.totp_secret, key=key, user_id=user.id)
        step = matching_step(secret, code, now=now) if secret else None
        if step is not None and _claim_step(session=session, user=user, step=step):
            return "totp"
        return None
    return "recovery" if use_recovery_code(session=session, user=user, code=code, now=now) \
        else None


def _normalize_recovery(code: str) -> str:
    return "".join(ch for ch in (code or "").lower() if ch.isalnum())


def _recovery_hash(user_id: int, code: str) -> str:
    return hashlib.sha256(f"recovery:{user_id}:{_normalize_recovery(code)}".encode()).hexdigest()


def new_recovery_codes(*, session: Session, user: User, now: datetime | None = None) -> list[str]:
    """Replace the user's recovery codes with ten new ones; returns them (shown once)."""
    session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    codes = []
    for _ in range(RECOVERY_CODES):
        raw = "".join(secrets.choice(_RECOVERY_ALPHABET) for _ in range(10))
        codes.append(f"{raw[:5]}-{raw[5:]}")
    session.add_all(RecoveryCode(user_id=user.id, code_hash=_recovery_hash(user.id, c),
                                 created_at=now or utcnow()) for c in codes)
    session.flush()
    return codes


def use_recovery_code(*, session: Session, user: User, code: str,
                      now: datetime | None = None) -> bool:
    """Spend one recovery code; False when unknown or already used."""
    if len(_normalize_recovery(code)) != 10:
        return False
    result = session.execute(
        update(RecoveryCode)
        .where(RecoveryCode.user_id == user.id,
               RecoveryCode.code_hash == _recovery_hash(user.id, code),
               RecoveryCode.used_at.is_(None))
        .values(used_at=now or utcnow()).execution_options(synchronize_session=False))
    return bool(result.rowcount)


def recovery_codes_left(*, session: Session, user_id: int) -> int:
    """How many unused recovery codes the user has."""
    return session.scalar(select(func.count()).select_from(RecoveryCode).where(
        RecoveryCode.user_id == user_id, RecoveryCode.used_at.is_(None))) or 0


def reset(*, session: Session, user: User) -> None:
    """Forget the authenticator and recovery codes (a lost phone): enrol again at next login."""
    user.totp_secret = None
    user.totp_pending = None
    user.totp_enabled_at = None
    user.totp_last_step = None
    session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    session.flush()
