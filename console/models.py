"""Users, the append-only audit log and the realtime event outbox."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask_login import UserMixin
from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column

from console.db import Base, UTCDateTime, str_enum, utcnow
from console.enums import Role


class User(UserMixin, Base):
    """A console user with one role, scoped to one province or national (province_code NULL)."""

    __tablename__ = "user_account"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(120))
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[Role] = mapped_column(str_enum(Role))
    province_code: Mapped[str | None] = mapped_column(String(2))
    team_id: Mapped[int | None] = mapped_column(ForeignKey("team.id"))
    # The agency of the directory an agency user answers for (role agency only).
    agency_id: Mapped[int | None] = mapped_column(ForeignKey("agency.id"), index=True)
    phone: Mapped[str | None] = mapped_column(String(20))
    locale: Mapped[str | None] = mapped_column(String(5))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Accounts (console/accounts.py): a temporary password must be changed at the next login.
    must_change_password: Mapped[bool] = mapped_column(default=False, server_default=false())
    password_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # NOTE: TOTP secrets are stored encrypted (console/twofactor.py) and never shown or logged.
    totp_secret: Mapped[str | None] = mapped_column(String(255))
    totp_pending: Mapped[str | None] = mapped_column(String(255))
    totp_enabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # The last TOTP time step accepted: a code (or an older one) is never accepted twice.
    totp_last_step: Mapped[int | None] = mapped_column(Integer)
    # Created by the demo loader (console/demo.py) only: no second factor asked of it.
    demo: Mapped[bool] = mapped_column(default=False, server_default=false())

    @property
    def is_active(self) -> bool:  # type: ignore[override]
        return self.active

    @property
    def is_national(self) -> bool:
        """True when the user sees every province."""
        return self.province_code is None

    def can_see_province(self, code: str | None) -> bool:
        """Whether this user's scope covers a province."""
        return self.is_national or code == self.province_code


class AuditLog(Base):
    """Append-only record of who did or read what, when and from which address (PDPA).

    Reads are actions named `read.*` (console/access_log.py); a read of a list is one row whose
    `subjects` names every object it showed (" incident:12 call:5 "), so the access log can be
    searched by person, phone number or user without one row per item.
    """

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_entity_entity_id", "entity", "entity_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"), index=True)
    action: Mapped[str] = mapped_column(String(64))
    entity: Mapped[str] = mapped_column(String(32))
    entity_id: Mapped[int | None] = mapped_column(Integer)
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # The client's address (after TRUST_PROXY_HOPS proxies); None for the CLI and the timers.
    ip: Mapped[str | None] = mapped_column(String(45))
    subjects: Mapped[str | None] = mapped_column(Text)


class AuditPurge(Base):
    """A permit, inside the retention job's own transaction, to delete audit rows older than
    `cutoff`: the database refuses every other UPDATE or DELETE of the audit log."""

    __tablename__ = "audit_purge"

    id: Mapped[int] = mapped_column(primary_key=True)
    cutoff: Mapped[datetime] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class RealtimeCounter(Base):
    """One row whose value is the last realtime sequence number handed out."""

    __tablename__ = "realtime_counter"

    id: Mapped[int] = mapped_column(primary_key=True)
    value: Mapped[int] = mapped_column(Integer, default=0)


class RealtimeEvent(Base):
    """Outbox of realtime events, written in the same transaction as the change they announce."""

    __tablename__ = "realtime_event"

    seq: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    name: Mapped[str] = mapped_column(String(64))
    rooms: Mapped[list[str]] = mapped_column(JSON)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)


class UserSession(Base):
    """One login: the cookie carries a random token whose hash is stored here, so logout,
    expiry, a password change, disabling the user or "sign out everywhere" end it for good."""

    __tablename__ = "user_session"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    revoked_reason: Mapped[str | None] = mapped_column(String(32))
    ip: Mapped[str | None] = mapped_column(String(45))
    user_agent: Mapped[str | None] = mapped_column(String(200))


class DeskIdempotency(Base):
    """The answer given to one desk write (user + Idempotency-Key), replayed on a retry whose
    first answer was lost; pruned after a day."""

    __tablename__ = "desk_idempotency"
    __table_args__ = (UniqueConstraint("user_id", "key", name="uq_desk_idempotency_user_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    key: Mapped[str] = mapped_column(String(64))
    request_hash: Mapped[str] = mapped_column(String(64))
    response_status: Mapped[int | None] = mapped_column(Integer)
    response_body: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)


class RecoveryCode(Base):
    """A one-time code that stands in for the authenticator app; only its hash is kept."""

    __tablename__ = "recovery_code"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class LoginThrottle(Base):
    """Failed logins of one username (known or not; stored hashed): each failure past the free
    ones makes the next attempt wait longer, up to a cap; the owner is never locked out."""

    __tablename__ = "login_throttle"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    last_failure_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    not_before: Mapped[datetime | None] = mapped_column(UTCDateTime())
