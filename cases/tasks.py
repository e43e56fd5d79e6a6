"""อพม. volunteers' tasks: a follow-up visit or call of a case given to a volunteer, either a
user with the volunteer role in the case's province (their task list) or a volunteer without an
account, reached by a signed, expiring, single-purpose link (like a referral's: the hash of its
nonce is kept, revoking forgets it). The volunteer sees only the task's minimum: the client's
first name, the area and address of the visit, the phone only when the worker shares it, and
what to check; never the national ID or the case's history. They record the outcome from a
phone; it reaches the case timeline live. Every open is in the access log."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from itsdangerous import URLSafeTimedSerializer
from sqlalchemy import select
from sqlalchemy.orm import Session

from cases import events
from cases import service as case_service
from cases.enums import CaseStatus, PersonRole
from cases.models import Case, CaseTimelineEntry, FollowUp
from cases.partner_schemas import VolunteerIn
from cases.referrals import LinkRefused, nonce_hash, signed_row
from cases.schemas import FollowUpDoneIn
from console.access_log import record_read
from console.db import utcnow
from console.enums import Role
from console.errors import N_, Conflict, IllegalTransition, NotFound, ValidationFailed
from console.models import User
from console.service import record_audit
from dispatch.events import place_names

SALT = "volunteer-task"
# Thai titles that come before a first name (the volunteer sees the first name only).
_TITLES = re.compile(r"^(นางสาว|นาง|นาย|เด็กชาย|เด็กหญิง|ด\.ช\.|ด\.ญ\.|น\.ส\.)\s*")


@dataclass(frozen=True)
class TaskSettings:
    """The secret links are signed with, and how long they work."""

    secret: str
    link_days: int = 14


def _serializer(settings: TaskSettings) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(settings.secret, salt=SALT)


def first_name(full_name: str) -> str:
    """The first name of a Thai full name ("นางบัวผัน ศรีสุข" -> "บัวผัน")."""
    name = _TITLES.sub("", (full_name or "").strip())
    return name.split()[0] if name.split() else ""


def volunteers(*, session: Session, province_code: str) -> list[User]:
    """Active อพม. volunteers with an account in a province."""
    return list(session.scalars(select(User).where(
        User.active.is_(True), User.role == Role.VOLUNTEER,
        User.province_code == province_code).order_by(User.display_name)))


def assign(*, session: Session, case_id: int, follow_up_id: int, data: VolunteerIn, by: User,
           settings: TaskSettings) -> tuple[FollowUp, str | None]:
    """Give a follow-up to a volunteer (case roles). Returns the follow-up and, for a volunteer
    without an account, the link's token (shown once)."""
    case = case_service._open_for_work(session, case_id, by)
    follow_up = next((f for f in case.follow_ups if f.id == follow_up_id), None)
    if follow_up is None:
        raise NotFound("follow-up")
    if follow_up.done_at is not None:
        raise Conflict(N_("This follow-up was already recorded."))
    if data.user_id is None and not data.name:
        raise ValidationFailed({"name": (N_("Please choose the volunteer, or type the name "
                                            "and phone of one without an account."), {})})
    if data.user_id is not None and (data.name or data.phone):
        raise ValidationFailed({"name": (N_("Choose a volunteer from the list, or type the name "
                                            "of one without an account, not both."), {})})
    token = None
    now = utcnow()
    if data.user_id is not None:
        volunteer = session.get(User, data.user_id)
        if volunteer is None or not volunteer.active or volunteer.role is not Role.VOLUNTEER \
                or volunteer.province_code != case.province_code:
            raise ValidationFailed({"user_id": (N_("Choose a volunteer of this province."),
                                                {})})
        follow_up.assigned_to_id = volunteer.id
        follow_up.volunteer_name = volunteer.display_name
        follow_up.volunteer_phone = volunteer.phone
        follow_up.nonce_hash = None
        follow_up.link_expires_at = None
    else:
        if data.phone is None:
            raise ValidationFailed({"phone": (N_("Please give the volunteer's phone number: the "
                                                 "link is sent to it."), {})})
        nonce = secrets.token_urlsafe(24)
        follow_up.volunteer_name = data.name
        follow_up.volunteer_phone = data.phone
        follow_up.nonce_hash = nonce_hash(nonce)
        follow_up.link_expires_at = now + timedelta(days=settings.link_days)
        token = _serializer(settings).dumps({"f": follow_up.id, "n": nonce})
    follow_up.share_phone = data.share_phone
    case.timeline.append(CaseTimelineEntry(
        at=now, actor_id=by.id, source="case", kind="follow_up_volunteer",
        note=follow_up.volunteer_name,
        detail={"follow_up_id": follow_up.id, "user_id": data.user_id,
                "share_phone": data.share_phone}))
    record_audit(session=session, actor_id=by.id, action="case.follow_up_volunteer",
                 entity="case", entity_id=case.id,
                 detail={"follow_up_id": follow_up.id, "user_id": data.user_id,
                         "link": token is not None, "share_phone": data.share_phone}, at=now)
    session.flush()
    events.case_updated(session=session, case=case)
    if data.user_id is not None:
        events.volunteer_task(session=session, follow_up=follow_up)
    return follow_up, token


def task_data(follow_up: FollowUp, case: Case) -> dict[str, Any]:
    """What the volunteer sees of a task: the minimum for the visit or call."""
    client = next((p for p in case.people if p.role is PersonRole.CLIENT), None)
    data: dict[str, Any] = {
        "id": follow_up.id, "kind": follow_up.kind.value,
        "due_on": follow_up.due_on.isoformat(), "purpose": follow_up.purpose,
        "first_name": first_name(client.full_name) if client else "",
        "area": place_names(case.province_code, case.district_code, case.subdistrict_code),
        "address": (client.address_text if client and client.address_text
                    else case.address_text) or "",
        "phone": client.phone if client is not None and follow_up.share_phone else None,
        "done": follow_up.done_at is not None,
        "done_at": follow_up.done_at.isoformat() if follow_up.done_at else None,
    }
    if data["done"]:
        # NOTE: once recorded, the task shows that it is done and nothing about the person.
        data.update(first_name="", address="", phone=None)
    return data


def my_tasks(*, session: Session, user: User) -> list[tuple[FollowUp, Case]]:
    """The volunteer's tasks of open cases in their province: open ones first, by due date."""
    if user.role is not Role.VOLUNTEER:
        return []
    rows = session.execute(
        select(FollowUp, Case).join(Case, Case.id == FollowUp.case_id)
        .where(FollowUp.assigned_to_id == user.id, Case.province_code == user.province_code,
               Case.status != CaseStatus.CLOSED)
        .order_by(FollowUp.done_at.is_not(None), FollowUp.due_on, FollowUp.id).limit(200))
    return [(f, c) for f, c in rows]


def _user_task(session: Session, user: User, follow_up_id: int) -> tuple[FollowUp, Case]:
    follow_up = session.get(FollowUp, follow_up_id)
    case = session.get(Case, follow_up.case_id) if follow_up is not None else None
    if follow_up is None or user.role is not Role.VOLUNTEER \
            or follow_up.assigned_to_id != user.id or case.province_code != user.province_code \
            or case.status is CaseStatus.CLOSED:
        raise NotFound("task")
    return follow_up, case


def log_tasks(*, session: Session, user: User, tasks: list[tuple[FollowUp, Case]],
              ip: str | None) -> None:
    """The volunteer's list read, in the access log (the cases whose minimum it showed)."""
    record_read(session=session, actor_id=user.id, what="volunteer_tasks", entity="case",
                subjects={"case": [c.id for _f, c in tasks],
                          "follow_up": [f.id for f, _c in tasks]}, ip=ip)


def record_by_user(*, session: Session, user: User, follow_up_id: int, data: FollowUpDoneIn
                   ) -> FollowUp:
    """A volunteer with an account records their task's outcome."""
    follow_up, case = _user_task(session, user, follow_up_id)
    return case_service.finish_follow_up(session=session, case=case, follow_up=follow_up,
                                         data=data, actor_id=user.id,
                                         done_by=user.display_name)


def open_link(*, session: Session, token: str, settings: TaskSettings, ip: str | None,
              for_step: bool = False) -> tuple[FollowUp, Case]:
    """The task a link names, if its signature holds, it has not expired and was not taken
    back; every open is in the access log with the address."""
    expired = N_("This task link has expired. Please ask the social worker who sent it for a "
                 "new one.")
    follow_up = signed_row(session, token, secret=settings.secret, salt=SALT,
                           days=settings.link_days, key="f", model=FollowUp, words=(
                               expired,
                               N_("This task link is not valid. Please check that it was copied "
                                  "whole, or ask the social worker who sent it."),
                               N_("This task link was withdrawn. Please ask the social worker "
                                  "who sent it.")))
    if follow_up.link_expires_at is None or utcnow() > follow_up.link_expires_at:
        raise LinkRefused(expired)
    case = session.get(Case, follow_up.case_id)
    if case.status is CaseStatus.CLOSED:
        raise LinkRefused(N_("This case is closed: the task is no longer needed. Thank you."))
    if not for_step:
        record_read(session=session, actor_id=None, what="volunteer_task", entity="case",
                    entity_id=case.id, subjects={"case": [case.id],
                                                 "follow_up": [follow_up.id]},
                    detail={"via": "link", "volunteer": follow_up.volunteer_name}, ip=ip)
    return follow_up, case


def record_by_link(*, session: Session, token: str, data: FollowUpDoneIn,
                   settings: TaskSettings, ip: str | None) -> FollowUp:
    """A volunteer without an account records the outcome on their link."""
    follow_up, case = open_link(session=session, token=token, settings=settings, ip=ip,
                                for_step=True)
    if case.status is CaseStatus.CLOSED:
        raise IllegalTransition(N_("This case is closed: reopen it first."))
    return case_service.finish_follow_up(session=session, case=case, follow_up=follow_up,
                                         data=data, actor_id=None,
                                         done_by=follow_up.volunteer_name)
