"""Failed logins per username: a few are free, then each further failure makes the next attempt
wait twice as long, up to a cap. Kept in the database, so every server process sees the same
count; the username is stored hashed (people type passwords into the username box). The right
password after the wait works: the owner is never locked out for good. (The per-address limit
across usernames lives with Flask-Limiter in console/extensions.py.)"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from console.db import utcnow
from console.models import LoginThrottle


@dataclass(frozen=True)
class DelayPolicy:
    """How failures of one username slow its next attempts."""

    free_failures: int = 5
    base_seconds: float = 2.0
    max_seconds: float = 300.0
    # A username whose last failure is older than this starts again from zero.
    forget_after: timedelta = timedelta(hours=24)


def policy_from(config) -> DelayPolicy:
    """The delay policy from configuration."""
    return DelayPolicy(free_failures=max(1, int(config["LOGIN_FREE_FAILURES"])),
                       base_seconds=float(config["LOGIN_DELAY_BASE_SECONDS"]),
                       max_seconds=float(config["LOGIN_DELAY_MAX_SECONDS"]))


def key(username: str) -> str:
    """What is stored of a username (the same for a known or an unknown one)."""
    return hashlib.sha256(f"login:{(username or '').strip().lower()}".encode()).hexdigest()


def delay_after(failures: int, policy: DelayPolicy) -> float:
    """Seconds the next attempt must wait after this many failures in a row."""
    if failures < policy.free_failures:
        return 0.0
    return min(policy.base_seconds * 2 ** (failures - policy.free_failures), policy.max_seconds)


def _row(session: Session, username: str) -> LoginThrottle | None:
    return session.execute(select(LoginThrottle).where(LoginThrottle.key == key(username))
                           .execution_options(populate_existing=True)).scalar_one_or_none()


def wait_seconds(*, session: Session, username: str, policy: DelayPolicy,
                 now: datetime | None = None) -> float:
    """Seconds before this username may try again; 0 when it may try now. When a wait has just
    ended, the attempt is claimed (one at a time until its outcome is recorded): commit before
    checking the password so parallel attempts see the claim."""
    now = now or utcnow()
    row = _row(session, username)
    if row is None or row.not_before is None or now - row.last_failure_at >= policy.forget_after:
        return 0.0
    if row.not_before > now:
        return max(1.0, math.ceil((row.not_before - now).total_seconds()))
    hold = now + timedelta(seconds=max(delay_after(row.failures, policy), 1.0))
    # NOTE: a conditional UPDATE: of several attempts arriving together only one gets through.
    claimed = session.execute(
        update(LoginThrottle)
        .where(LoginThrottle.key == row.key, LoginThrottle.not_before <= now)
        .values(not_before=hold).execution_options(synchronize_session=False)).rowcount
    if claimed:
        return 0.0
    row = _row(session, username)
    if row is None or row.not_before is None:
        return 0.0
    return max(1.0, math.ceil((row.not_before - now).total_seconds()))


def record_failure(*, session: Session, username: str, policy: DelayPolicy,
                   now: datetime | None = None) -> int:
    """Count one more failure for the username; returns the failures in a row."""
    now = now or utcnow()
    session.execute(delete(LoginThrottle).where(
        LoginThrottle.last_failure_at < now - policy.forget_after))
    for _attempt in range(2):
        row = session.execute(select(LoginThrottle).where(LoginThrottle.key == key(username))
                              .with_for_update()
                              .execution_options(populate_existing=True)).scalar_one_or_none()
        if row is not None:
            failures = row.failures + 1
            wait = delay_after(failures, policy)
            row.failures = failures
            row.last_failure_at = now
            row.not_before = now + timedelta(seconds=wait) if wait else None
            session.flush()
            return failures
        wait = delay_after(1, policy)
        try:
            with session.begin_nested():
                session.add(LoginThrottle(key=key(username), failures=1, last_failure_at=now,
                                          not_before=now + timedelta(seconds=wait)
                                          if wait else None))
            return 1
        except IntegrityError:
            continue  # NOTE: another request inserted the row first: count on it.
    return 0


def record_success(*, session: Session, username: str) -> None:
    """The right password (and second factor): the username starts again from zero."""
    session.execute(delete(LoginThrottle).where(LoginThrottle.key == key(username)))
