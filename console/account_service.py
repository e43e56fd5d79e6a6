"""User accounts: the administrators' users desk (create, edit, disable, reset password, sign
out everywhere, reset two-step login), the user's own password change and the first national
administrator (`python -m console.cli create-admin`). Every change is audited.

Scope: a national administrator manages every user; a provincial one only the users of their
province, and cannot create or move anyone to national scope or another province."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from console import passwords, twofactor
from console import service as console_service
from console.account_schemas import NewUserIn, UserIn
from console.db import utcnow
from console.enums import Role
from console.errors import N_, Conflict, Forbidden, NotFound, ValidationFailed
from console.models import User

_verifier = PasswordHasher()

OUT_OF_SCOPE = N_("You can manage only the users of your own province.")
TAKEN = N_("This username is already taken. Please choose another.")


def password_matches(user: User, password: str) -> bool:
    """Whether `password` is the user's current password."""
    try:
        return _verifier.verify(user.password_hash, password or "")
    except (VerificationError, InvalidHashError):
        return False


def _can_manage(actor: User, user: User) -> bool:
    return actor.is_national or (user.province_code is not None
                                 and user.province_code == actor.province_code)


def list_users(*, session: Session, actor: User, province_code: str | None = None,
               role: Role | None = None, active: bool | None = None, text: str | None = None,
               limit: int = 500) -> list[User]:
    """The users this administrator manages, filtered, by province then username."""
    query = select(User)
    if not actor.is_national:
        query = query.where(User.province_code == actor.province_code)
    elif province_code == "national":
        query = query.where(User.province_code.is_(None))
    elif province_code:
        query = query.where(User.province_code == province_code)
    if role is not None:
        query = query.where(User.role == role)
    if active is not None:
        query = query.where(User.active.is_(active))
    if text:
        like = f"%{text.strip().lower()}%"
        query = query.where(or_(User.username.like(like),
                                func.lower(User.display_name).like(like)))
    query = query.order_by(User.province_code.is_(None).desc(), User.province_code,
                           User.username).limit(limit)
    return list(session.scalars(query))


def managed_user(*, session: Session, actor: User, user_id: int) -> User:
    """A user this administrator may manage; NotFound otherwise (nothing leaks)."""
    user = session.get(User, user_id)
    if user is None or not _can_manage(actor, user):
        raise NotFound("user")
    return user


def _check_assignment(*, session: Session, actor: User, data: UserIn) -> None:
    """Scope, team and role rules for what an administrator sets on a user."""
    from dispatch.models import Team

    if not actor.is_national and data.province_code != actor.province_code:
        raise Forbidden(OUT_OF_SCOPE)
    errors: dict[str, tuple[str, dict]] = {}
    if data.role is Role.FIELD_MEMBER:
        team = session.get(Team, data.team_id) if data.team_id is not None else None
        if data.province_code is None:
            errors["province_code"] = (N_("A field team member belongs to a province."), {})
        elif team is None:
            errors["team_id"] = (N_("Please choose the member's team."), {})
        elif team.province_code != data.province_code:
            errors["team_id"] = (N_("This team is in another province. Please choose a team of "
                                    "the user's province."), {})
    elif data.team_id is not None:
        errors["team_id"] = (N_("Only field team members belong to a team. Please leave the team "
                                "empty."), {})
    _check_agency(session=session, data=data, errors=errors)
    if errors:
        raise ValidationFailed(errors)


def _check_agency(*, session: Session, data: UserIn, errors: dict) -> None:
    """An agency user answers for one agency that serves their province; an อพม. volunteer
    belongs to a province; nobody else has an agency."""
    from cases.models import Agency

    if data.role is Role.AGENCY:
        agency = session.get(Agency, data.agency_id) if data.agency_id is not None else None
        if agency is None:
            errors["agency_id"] = (N_("Please choose the agency this user answers for."), {})
        elif agency.province_code is not None and agency.province_code != data.province_code:
            errors["agency_id"] = (N_("This agency serves another province. Please choose an "
                                      "agency of the user's province."), {})
    elif data.agency_id is not None:
        errors["agency_id"] = (N_("Only agency users belong to an agency. Please leave the "
                                  "agency empty."), {})
    if data.role is Role.VOLUNTEER and data.province_code is None:
        errors["province_code"] = (N_("A social development volunteer belongs to a province."), {})


def create_user(*, session: Session, actor: User, data: NewUserIn,
                min_length: int = passwords.MIN_LENGTH) -> tuple[User, str]:
    """Create a user with a temporary password (returned, shown once; changed at first login)."""
    _check_assignment(session=session, actor=actor, data=data)
    if session.scalar(select(User.id).where(User.username == data.username)) is not None:
        raise ValidationFailed({"username": (TAKEN, {})})
    temporary = _temporary_for(data.username, min_length)
    user = console_service.create_user(
        session=session, username=data.username, password=temporary,
        display_name=data.display_name, role=data.role, province_code=data.province_code,
        team_id=data.team_id if data.role is Role.FIELD_MEMBER else None, phone=data.phone)
    user.must_change_password = True
    user.agency_id = data.agency_id if data.role is Role.AGENCY else None
    console_service.record_audit(
        session=session, actor_id=actor.id, action="user.created", entity="user",
        entity_id=user.id, detail={"username": user.username, "role": user.role.value,
                                   "province_code": user.province_code, "team_id": user.team_id,
                                   "agency_id": user.agency_id})
    return user, temporary


def update_user(*, session: Session, actor: User, user_id: int, data: UserIn) -> User:
    """Change a user's name, role, province, team and phone; audited with what changed."""
    user = managed_user(session=session, actor=actor, user_id=user_id)
    _check_assignment(session=session, actor=actor, data=data)
    if user.id == actor.id and (data.role is not user.role
                                or data.province_code != user.province_code):
        raise Conflict(N_("You cannot change your own role or province. Please ask another "
                          "administrator."))
    new = {"display_name": data.display_name, "role": data.role,
           "province_code": data.province_code,
           "team_id": data.team_id if data.role is Role.FIELD_MEMBER else None,
           "agency_id": data.agency_id if data.role is Role.AGENCY else None,
           "phone": data.phone}
    changed: dict[str, object] = {}
    for field, value in new.items():
        old = getattr(user, field)
        if old != value:
            # NOTE: the audit keeps which personal fields changed, not the phone number itself.
            changed[field] = True if field == "phone" else [
                getattr(old, "value", old), getattr(value, "value", value)]
            setattr(user, field, value)
    if changed:
        console_service.record_audit(session=session, actor_id=actor.id, action="user.updated",
                                     entity="user", entity_id=user.id,
                                     detail={"changed": changed})
    session.flush()
    return user


def _temporary_for(username: str, min_length: int) -> str:
    while True:
        candidate = passwords.temporary_password()
        if not passwords.problems(candidate, username=username, min_length=min_length):
            return candidate


def reset_password(*, session: Session, actor: User, user_id: int,
                   min_length: int = passwords.MIN_LENGTH) -> str:
    """Give the user a temporary password (returned, shown once) to change at the next login;
    every session of theirs ends."""
    user = managed_user(session=session, actor=actor, user_id=user_id)
    temporary = _temporary_for(user.username, min_length)
    console_service.change_password(session=session, user_id=user.id, new_password=temporary,
                                    by_id=actor.id)
    user.must_change_password = True
    user.password_changed_at = utcnow()
    console_service.record_audit(session=session, actor_id=actor.id, action="password.reset",
                                 entity="user", entity_id=user.id)
    return temporary


def set_active(*, session: Session, actor: User, user_id: int, active: bool) -> User:
    """Disable a user (their sessions end) or enable them again."""
    user = managed_user(session=session, actor=actor, user_id=user_id)
    if user.id == actor.id and not active:
        raise Conflict(N_("You cannot disable your own account. Please ask another "
                          "administrator."))
    return console_service.set_user_active(session=session, user_id=user.id, active=active,
                                           by_id=actor.id)


def sign_out(*, session: Session, actor: User, user_id: int) -> int:
    """End every session of the user; returns how many ended."""
    user = managed_user(session=session, actor=actor, user_id=user_id)
    return console_service.sign_out_everywhere(session=session, user_id=user.id, by_id=actor.id)


def reset_two_factor(*, session: Session, actor: User, user_id: int) -> User:
    """Forget the user's authenticator and recovery codes (a lost phone): they enrol again at
    their next login; every session of theirs ends."""
    user = managed_user(session=session, actor=actor, user_id=user_id)
    twofactor.reset(session=session, user=user)
    console_service.record_audit(session=session, actor_id=actor.id, action="2fa.reset",
                                 entity="user", entity_id=user.id)
    console_service.sign_out_everywhere(session=session, user_id=user.id, by_id=actor.id,
                                        reason="2fa_reset")
    return user


def change_own_password(*, session: Session, user: User, current: str, new: str, confirm: str,
                        min_length: int = passwords.MIN_LENGTH) -> User:
    """The user sets a new password; every session of theirs ends (the caller starts a new one
    for this browser). Wrong current password, a mismatch or a weak password: ValidationFailed."""
    if not password_matches(user, current):
        raise ValidationFailed({"current_password": (
            N_("This is not your current password. Please type it again."), {})})
    passwords.check(new, username=user.username, min_length=min_length, field="new_password")
    if new != confirm:
        raise ValidationFailed({"confirm_password": (
            N_("The two new passwords are not the same. Please type it again."), {})})
    if password_matches(user, new):
        raise ValidationFailed({"new_password": (
            N_("Please choose a password different from the current one."), {})})
    console_service.change_password(session=session, user_id=user.id, new_password=new,
                                    by_id=user.id)
    user.must_change_password = False
    user.password_changed_at = utcnow()
    return user


def create_admin(*, session: Session, username: str, password: str, display_name: str,
                 min_length: int = passwords.MIN_LENGTH) -> User:
    """The first (or another) national administrator, from the command line."""
    from console.validation import parse

    data = parse(NewUserIn, {"username": username or "", "role": Role.ADMIN.value,
                             "display_name": display_name or username or ""})
    username, display_name = data.username, data.display_name
    passwords.check(password, username=username, min_length=min_length)
    if session.scalar(select(User.id).where(User.username == username)) is not None:
        raise ValidationFailed({"username": (TAKEN, {})})
    user = console_service.create_user(session=session, username=username, password=password,
                                       display_name=display_name, role=Role.ADMIN,
                                       province_code=None)
    user.password_changed_at = utcnow()
    console_service.record_audit(session=session, actor_id=None, action="user.created",
                                 entity="user", entity_id=user.id,
                                 detail={"username": username, "role": "admin",
                                         "province_code": None, "by": "cli"})
    return user


def record_login(*, session: Session, user: User, second_factor: str | None) -> None:
    """The login is complete (password, and the second factor when asked): audited."""
    user.last_login_at = utcnow()
    console_service.record_audit(session=session, actor_id=user.id, action="login",
                                 entity="user", entity_id=user.id,
                                 detail={"second_factor": second_factor} if second_factor else {})


def demo_users_active(*, session: Session) -> int:
    """How many demo users (published password) can log in on this database."""
    return session.scalar(select(func.count()).select_from(User).where(
        User.demo.is_(True), User.active.is_(True))) or 0
