"""Server-side login sessions: the cookie holds a random token; its hash, the user and the
session's life are kept here, so logout, expiry, a password change, disabling the user and
"sign out everywhere" end it for good (a saved cookie is worth nothing afterwards)."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from console.db import utcnow
from console.models import User, UserSession

# last_seen_at is written at most this often per session (not on every request).
TOUCH_EVERY = timedelta(seconds=60)


@dataclass(frozen=True)
class Lifetimes:
    """How long a session lives: without activity, and at most from its login."""

    idle: timedelta
    absolute: timedelta


def token_hash(token: str) -> str:
    """What is stored of a session token."""
    return hashlib.sha256(token.encode()).hexdigest()


def start(*, session: Session, user: User, ip: str | None, user_agent: str | None
          ) -> tuple[UserSession, str]:
    """Open a session for a user who just logged in; returns it and the token for the cookie."""
    token = secrets.token_urlsafe(32)
    now = utcnow()
    row = UserSession(token_hash=token_hash(token), user_id=user.id, created_at=now,
                      last_seen_at=now, ip=(ip or "")[:45] or None,
                      user_agent=(user_agent or "")[:200] or None)
    session.add(row)
    session.flush()
    return row, token


def _expired_reason(row: UserSession, now: datetime, life: Lifetimes) -> str | None:
    if now - row.created_at > life.absolute:
        return "expired"
    if now - row.last_seen_at > life.idle:
        return "idle"
    return None


def resume(*, session: Session, writer: Callable[[], Session], user_id: int,
           token: str | None, life: Lifetimes, now: datetime | None = None
           ) -> tuple[User, UserSession] | None:
    """The user and session of a cookie, or None when it was ended, expired or the user is
    disabled. Reads with `session` (the request's); an expired session is ended, and the
    activity time written, in a short transaction of its own from `writer` (never inside the
    request's own transaction)."""
    if not token:
        return None
    now = now or utcnow()
    found = session.execute(
        select(User, UserSession)
        .join(UserSession, UserSession.user_id == User.id)
        .where(UserSession.token_hash == token_hash(token), User.id == user_id)
    ).first()
    if found is None:
        return None
    user, row = found
    if row.revoked_at is not None or not user.active:
        return None
    reason = _expired_reason(row, now, life)
    if reason is None and now - row.last_seen_at < TOUCH_EVERY:
        return user, row
    own = writer()
    try:
        if reason is not None:
            end(session=own, session_id=row.id, reason=reason, now=now)
        else:
            # NOTE: a plain UPDATE: concurrent requests of one session do not conflict.
            own.execute(update(UserSession).where(UserSession.id == row.id)
                        .values(last_seen_at=now))
        own.commit()
    finally:
        own.close()
    return None if reason is not None else (user, row)


def end(*, session: Session, session_id: int, reason: str, now: datetime | None = None) -> bool:
    """End one session (logout, expiry); False when it had already ended."""
    result = session.execute(
        update(UserSession)
        .where(UserSession.id == session_id, UserSession.revoked_at.is_(None))
        .values(revoked_at=now or utcnow(), revoked_reason=reason))
    return bool(result.rowcount)


def end_all(*, session: Session, user_id: int, reason: str, now: datetime | None = None) -> int:
    """End every open session of a user (password change, disabled, sign out everywhere)."""
    result = session.execute(
        update(UserSession)
        .where(UserSession.user_id == user_id, UserSession.revoked_at.is_(None))
        .values(revoked_at=now or utcnow(), revoked_reason=reason))
    return result.rowcount or 0


def ended_among(*, session: Session, session_ids: set[int], life: Lifetimes,
                now: datetime | None = None) -> set[int]:
    """Which of these sessions may no longer be used (ended, expired, or user disabled);
    expired ones are ended on the way. Servers use it to close the sockets of dead sessions."""
    if not session_ids:
        return set()
    now = now or utcnow()
    dead: set[int] = set()
    rows = session.execute(
        select(UserSession, User.active)
        .join(User, User.id == UserSession.user_id)
        .where(UserSession.id.in_(session_ids))
    ).all()
    known = set()
    for row, active in rows:
        known.add(row.id)
        if row.revoked_at is not None or not active:
            dead.add(row.id)
            continue
        reason = _expired_reason(row, now, life)
        if reason is not None:
            end(session=session, session_id=row.id, reason=reason, now=now)
            dead.add(row.id)
    return dead | (session_ids - known)
