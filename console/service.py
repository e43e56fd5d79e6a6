"""Users, authentication and the audit log."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import event, select
from sqlalchemy.orm import Session

from console.db import utcnow
from console.enums import Role
from console.errors import N_, DomainError, NotFound
from console.models import AuditLog, User

_hasher = PasswordHasher()
# A real hash to verify against when the username is unknown, so timing does not reveal it.
_DUMMY_HASH = _hasher.hash("not-a-real-password")


def hash_password(password: str) -> str:
    """Argon2id hash of a password."""
    return _hasher.hash(password)


# Session.info key: the address of the client whose request this session serves (console.web).
CLIENT_IP = "client_ip"


def audit_values(
    *,
    session: Session,
    actor_id: int | None,
    action: str,
    entity: str,
    entity_id: int | None,
    detail: dict[str, Any] | None = None,
    at: datetime | None = None,
    ip: str | None = None,
    subjects: str | None = None,
) -> dict[str, Any]:
    """The columns of one audit row (record_audit's), for a Core INSERT where the hot path
    writes without the ORM's unit of work (the report intake)."""
    return {
        "actor_id": actor_id,
        "action": action,
        "entity": entity,
        "entity_id": entity_id,
        "detail": detail or {},
        "at": at or utcnow(),
        "ip": ip if ip is not None else session.info.get(CLIENT_IP),
        "subjects": subjects,
    }


def record_audit(
    *,
    session: Session,
    actor_id: int | None,
    action: str,
    entity: str,
    entity_id: int | None,
    detail: dict[str, Any] | None = None,
    at: datetime | None = None,
    ip: str | None = None,
    subjects: str | None = None,
) -> AuditLog:
    """Append one audit row with the client's address (that of the request the session serves,
    unless given); rows are never updated, and deleted only by the retention job."""
    row = AuditLog(**audit_values(session=session, actor_id=actor_id, action=action,
                                  entity=entity, entity_id=entity_id, detail=detail, at=at,
                                  ip=ip, subjects=subjects))
    session.add(row)
    return row


@event.listens_for(Session, "before_flush")
def _audit_is_append_only(session: Session, _ctx, _instances) -> None:
    for obj in list(session.dirty) + list(session.deleted):
        if isinstance(obj, AuditLog):
            raise DomainError(N_("The audit log is append-only."))


def authenticate(*, session: Session, username: str, password: str,
                 record_login: bool = True) -> User | None:
    """Return the active user whose password matches, else None (constant-time-ish). With
    record_login=False the login is recorded later, once the second factor passed too."""
    username = (username or "").strip().lower()
    user = None
    if username and "\x00" not in username and "\x00" not in (password or ""):
        user = session.scalar(select(User).where(User.username == username))
    if user is None or not user.active:
        try:
            _hasher.verify(_DUMMY_HASH, password or "x")
        except VerificationError:
            pass
        return None
    try:
        _hasher.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        record_audit(
            session=session, actor_id=user.id, action="login.failed", entity="user",
            entity_id=user.id,
        )
        return None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
    if record_login:
        user.last_login_at = utcnow()
        record_audit(session=session, actor_id=user.id, action="login", entity="user",
                     entity_id=user.id)
    return user


def create_user(
    *,
    session: Session,
    username: str,
    password: str,
    display_name: str,
    role: Role,
    province_code: str | None,
    team_id: int | None = None,
    phone: str | None = None,
) -> User:
    """Create a user with an argon2 password hash."""
    user = User(
        username=username.strip().lower(),
        display_name=display_name,
        password_hash=hash_password(password),
        role=role,
        province_code=province_code,
        team_id=team_id,
        phone=phone,
    )
    session.add(user)
    session.flush()
    return user


def get_user(*, session: Session, user_id: int) -> User:
    """Load a user or raise NotFound."""
    user = session.get(User, user_id)
    if user is None:
        raise NotFound("user")
    return user


def sign_out_everywhere(*, session: Session, user_id: int, by_id: int | None,
                        reason: str = "signed_out") -> int:
    """End every session of a user (their open desks close within seconds); audited."""
    from console import sessions

    get_user(session=session, user_id=user_id)
    ended = sessions.end_all(session=session, user_id=user_id, reason=reason)
    record_audit(session=session, actor_id=by_id, action="sessions.ended", entity="user",
                 entity_id=user_id, detail={"reason": reason, "sessions": ended})
    return ended


def set_user_active(*, session: Session, user_id: int, active: bool, by_id: int | None) -> User:
    """Disable a user (every session ends) or enable them again; audited."""
    user = get_user(session=session, user_id=user_id)
    user.active = active
    record_audit(session=session, actor_id=by_id, action="user.enabled" if active
                 else "user.disabled", entity="user", entity_id=user_id)
    if not active:
        sign_out_everywhere(session=session, user_id=user_id, by_id=by_id, reason="disabled")
    return user


def change_password(*, session: Session, user_id: int, new_password: str,
                    by_id: int | None) -> User:
    """Set a new password; every session of the user ends (log in again with it); audited."""
    user = get_user(session=session, user_id=user_id)
    user.password_hash = hash_password(new_password)
    record_audit(session=session, actor_id=by_id, action="password.changed", entity="user",
                 entity_id=user_id)
    sign_out_everywhere(session=session, user_id=user_id, by_id=by_id,
                        reason="password_changed")
    return user
