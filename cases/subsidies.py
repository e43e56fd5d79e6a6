"""Subsidies (เงินสงเคราะห์) on a case: the worker asks for an amount from a budget line of the
province, with the reason and documents, linked to the urgent phase of the plan; the request
climbs the province's approval chain (levels are data: subsidy_level rows, else the default team
head -> provincial office), one level at a time, each by a user holding that level in that
province and never by the one who asked; a rejection with its reason ends it; an approved
subsidy is paid with a date and a reference. Every step is audited, on the case timeline and
pushed live after commit. Two approvers at once: one wins (version), the other is told."""

from __future__ import annotations

import hashlib
import secrets
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from cases import events
from cases.enums import (
    DEFAULT_BUDGET_LINES,
    DEFAULT_SUBSIDY_LEVELS,
    SUBSIDY_TRANSITIONS,
    ActionStatus,
    CaseStatus,
    PlanPhase,
    SubsidyStatus,
)
from cases.models import (
    Case,
    CaseTimelineEntry,
    Subsidy,
    SubsidyApproval,
    SubsidyApprover,
    SubsidyBudgetLine,
    SubsidyDocument,
    SubsidyLevel,
)
from cases.schemas import SubsidyDecisionIn, SubsidyIn, SubsidyPaidIn
from cases.service import CASE_ROLES, _case_for_work, _open_for_work
from console.db import BANGKOK, utcnow
from console.enums import Role
from console.errors import N_, Conflict, Forbidden, IllegalTransition, NotFound, ValidationFailed
from console.labels import label
from console.models import User
from console.service import record_audit

# Documents: PDF scans and photos, recognised by their first bytes (never the declared type).
_DOC_MAGIC = ((b"%PDF-", "application/pdf"), (b"\xff\xd8\xff", "image/jpeg"),
              (b"\x89PNG\r\n\x1a\n", "image/png"))


@dataclass(frozen=True)
class SubsidySettings:
    """The ceiling of one request (baht) and the limits on its documents."""

    max_baht: int = 50000
    doc_max_bytes: int = 5 * 1024 * 1024
    doc_max_count: int = 10
    attachment_dir: str | None = None


def settings_from(config) -> SubsidySettings:
    """The subsidy settings of the app's configuration."""
    return SubsidySettings(max_baht=int(config["SUBSIDY_MAX_BAHT"]),
                           doc_max_bytes=int(config["SUBSIDY_DOC_MAX_BYTES"]),
                           doc_max_count=int(config["SUBSIDY_DOC_MAX_COUNT"]),
                           attachment_dir=config["ESS_ATTACHMENT_DIR"])


# ---- the province's data: levels, approvers, budget lines -------------------------------------

def levels_for(session: Session, province_code: str) -> list[str]:
    """The approval chain of a province, first level first (the default when it set none)."""
    rows = list(session.scalars(select(SubsidyLevel.code)
                                .where(SubsidyLevel.province_code == province_code)
                                .order_by(SubsidyLevel.step)))
    return rows or list(DEFAULT_SUBSIDY_LEVELS)


def budget_lines_for(session: Session, province_code: str) -> list[str]:
    """The budget lines a province pays subsidies from (the default when it set none)."""
    rows = list(session.scalars(select(SubsidyBudgetLine.code).where(
        SubsidyBudgetLine.province_code == province_code,
        SubsidyBudgetLine.active.is_(True)).order_by(SubsidyBudgetLine.id)))
    return rows or list(DEFAULT_BUDGET_LINES)


def names_for(session: Session, province_code: str | None) -> dict[str, str]:
    """Labels of the levels and budget lines a province named itself (code -> name in the
    current language); the default ones are labelled in console/labels.py."""
    from flask_babel import get_locale

    thai = str(get_locale() or "th").startswith("th")
    names: dict[str, str] = {}
    for model in (SubsidyLevel, SubsidyBudgetLine):
        stmt = select(model.code, model.name_th, model.name_en)
        if province_code:
            stmt = stmt.where(model.province_code == province_code)
        for code, th, en in session.execute(stmt):
            if th or en:
                names[code] = (th or en) if thai else (en or th)
    return names


def holds_level(session: Session, user: User, province_code: str, level: str) -> bool:
    """Whether this active user holds this approval level in this province."""
    if not user.active or user.role not in CASE_ROLES or not user.can_see_province(province_code):
        return False
    return session.scalar(select(SubsidyApprover.id).where(
        SubsidyApprover.user_id == user.id, SubsidyApprover.province_code == province_code,
        SubsidyApprover.level_code == level)) is not None


def grant_level(*, session: Session, user_id: int, province_code: str, level: str,
                by: User | None) -> SubsidyApprover:
    """Give a user an approval level in a province (audited)."""
    user = session.get(User, user_id)
    if user is None or user.role not in CASE_ROLES or not user.can_see_province(province_code):
        raise ValidationFailed({"user_id": (N_("Choose a worker of this province."), {})})
    if level not in levels_for(session, province_code):
        raise ValidationFailed({"level": (N_("Choose one of the listed options."), {})})
    held = session.scalar(select(SubsidyApprover).where(
        SubsidyApprover.user_id == user.id, SubsidyApprover.province_code == province_code,
        SubsidyApprover.level_code == level))
    if held is not None:
        return held
    row = SubsidyApprover(user_id=user.id, province_code=province_code, level_code=level,
                          granted_at=utcnow(), granted_by_id=by.id if by else None)
    session.add(row)
    session.flush()
    record_audit(session=session, actor_id=by.id if by else None,
                 action="subsidy.level_granted", entity="user", entity_id=user.id,
                 detail={"province_code": province_code, "level": level})
    return row


_CODE = r"[a-z0-9_]{1,32}"


def _entry_errors(session: Session, province_code: str, items: list[tuple[str, str, str]],
                  field: str) -> dict[str, tuple[str, dict]]:
    """What is wrong with a list of codes and names (levels or budget lines), per field
    (`levels.0.code`, `budget_lines.1.name_th`, or the list itself): a code of 1-32 small
    letters, digits or _, each once; a Thai name unless the code is one of the defaults (which
    are labelled); at least one. A level that requests still wait on cannot go."""
    import re

    from console.labels import LABELS

    group = "subsidy_level" if field == "levels" else "budget_line"
    errors: dict[str, tuple[str, dict]] = {}
    if not items:
        errors[field] = (N_("Add at least one."), {})
    seen: set[str] = set()
    for i, (code, th, en) in enumerate(items):
        if not re.fullmatch(_CODE, code or ""):
            errors[f"{field}.{i}.code"] = (N_("Use 1 to 32 small English letters, digits or _ "
                                              "(for example team_head)."), {})
        elif code in seen:
            errors[f"{field}.{i}.code"] = (N_("This code is already used above."), {})
        seen.add(code)
        if not (th or "").strip() and code not in LABELS.get(group, {}):
            errors[f"{field}.{i}.name_th"] = (N_("Please give the Thai name."), {})
        for key, value in (("name_th", th), ("name_en", en)):
            if len(value or "") > 120:
                errors[f"{field}.{i}.{key}"] = (N_("Too long: at most %(max_length)s "
                                                   "characters."), {"max_length": 120})
    if field == "levels" and not errors:
        still = _levels_still_needed(session, province_code) - seen
        if still:
            errors[field] = (N_("Requests waiting for approval still need the level "
                                "%(levels)s: keep it until they are decided."),
                             {"levels": ", ".join(sorted(still))})
    return errors


def _levels_still_needed(session: Session, province_code: str) -> set[str]:
    """The levels that pending requests of the province have yet to pass."""
    needed: set[str] = set()
    for levels, step in session.execute(select(Subsidy.levels, Subsidy.step).where(
            Subsidy.province_code == province_code, Subsidy.status == SubsidyStatus.PENDING)):
        needed.update((levels or [])[step - 1:])
    return needed


def _entries(session: Session, province_code: str, items: list[tuple[str, str, str]],
             field: str) -> list[tuple[str, str, str]]:
    """Codes with their names, checked (see _entry_errors), names trimmed."""
    errors = _entry_errors(session, province_code, items, field)
    if errors:
        raise ValidationFailed(errors)
    return [(c, (th or "").strip(), (en or "").strip()) for c, th, en in items]


def set_levels(*, session: Session, province_code: str, levels: list[tuple[str, str, str]],
               by: User | None) -> list[str]:
    """Replace a province's approval chain (code, Thai name, English name; first level first).
    Requests already asked keep the chain they were asked under (a level they still wait on
    cannot be removed)."""
    from sqlalchemy import delete

    levels = _entries(session, province_code, levels, "levels")
    session.execute(delete(SubsidyLevel).where(SubsidyLevel.province_code == province_code))
    session.flush()
    for step, (code, th, en) in enumerate(levels, start=1):
        session.add(SubsidyLevel(province_code=province_code, step=step, code=code,
                                 name_th=th, name_en=en))
    session.flush()
    record_audit(session=session, actor_id=by.id if by else None, action="subsidy.levels_set",
                 entity="province", entity_id=None,
                 detail={"province_code": province_code, "levels": [c for c, _, _ in levels]})
    return [c for c, _, _ in levels]


def set_budget_lines(*, session: Session, province_code: str,
                     lines: list[tuple[str, str, str]], by: User | None) -> list[str]:
    """A province's budget lines: these active (added or renamed), any other of its own
    inactive (its past requests keep their line for the totals)."""
    lines = _entries(session, province_code, lines, "budget_lines")
    rows = {r.code: r for r in session.scalars(select(SubsidyBudgetLine).where(
        SubsidyBudgetLine.province_code == province_code))}
    for row in rows.values():
        row.active = False
    for code, th, en in lines:
        row = rows.get(code) or SubsidyBudgetLine(province_code=province_code, code=code)
        row.name_th, row.name_en, row.active = th, en, True
        session.add(row)
    session.flush()
    record_audit(session=session, actor_id=by.id if by else None,
                 action="subsidy.budget_lines_set", entity="province", entity_id=None,
                 detail={"province_code": province_code, "lines": [c for c, _, _ in lines]})
    return [c for c, _, _ in lines]


def revoke_level(*, session: Session, user_id: int, province_code: str, level: str,
                 by: User | None) -> bool:
    """Take an approval level from a user (audited); False when they did not hold it."""
    row = session.scalar(select(SubsidyApprover).where(
        SubsidyApprover.user_id == user_id, SubsidyApprover.province_code == province_code,
        SubsidyApprover.level_code == level))
    if row is None:
        return False
    session.delete(row)
    session.flush()
    record_audit(session=session, actor_id=by.id if by else None,
                 action="subsidy.level_revoked", entity="user", entity_id=user_id,
                 detail={"province_code": province_code, "level": level})
    return True


# ---- the settings desk: one province's chain, approvers and budget lines, saved at once ---------

def may_set(user: User, province_code: str) -> bool:
    """A supervisor of the province (or a national one) or an administrator."""
    return (user.active and user.role in (Role.SUPERVISOR, Role.ADMIN)
            and user.can_see_province(province_code))


def approver_candidates(session: Session, province_code: str) -> list[User]:
    """Who may hold a level of a province: its active case roles (and national ones)."""
    return list(session.scalars(select(User).where(
        User.active.is_(True), User.role.in_(tuple(CASE_ROLES)),
        (User.province_code == province_code) | User.province_code.is_(None))
        .order_by(User.display_name, User.id)))


def settings_view(session: Session, province_code: str) -> dict:
    """A province's approval chain (in order), who holds each level, its budget lines and the
    people who may be given a level; `version` names this state (a save from an older screen
    is refused)."""
    import json

    levels = [{"code": r.code, "name_th": r.name_th, "name_en": r.name_en} for r in
              session.scalars(select(SubsidyLevel).where(
                  SubsidyLevel.province_code == province_code).order_by(SubsidyLevel.step))]
    own_levels = bool(levels)
    levels = levels or [{"code": c, "name_th": "", "name_en": ""}
                        for c in DEFAULT_SUBSIDY_LEVELS]
    lines = [{"code": r.code, "name_th": r.name_th, "name_en": r.name_en} for r in
             session.scalars(select(SubsidyBudgetLine).where(
                 SubsidyBudgetLine.province_code == province_code,
                 SubsidyBudgetLine.active.is_(True)).order_by(SubsidyBudgetLine.id))]
    own_lines = bool(lines)
    lines = lines or [{"code": c, "name_th": "", "name_en": ""} for c in DEFAULT_BUDGET_LINES]
    approvers: dict[str, list[int]] = defaultdict(list)
    for user_id, level in session.execute(select(SubsidyApprover.user_id,
                                                 SubsidyApprover.level_code).where(
            SubsidyApprover.province_code == province_code).order_by(SubsidyApprover.user_id)):
        approvers[level].append(user_id)
    state = {"levels": levels, "budget_lines": lines, "approvers": dict(approvers),
             "own": [own_levels, own_lines]}
    version = hashlib.sha256(json.dumps(state, sort_keys=True).encode()).hexdigest()[:16]
    return {"province_code": province_code, "levels": levels, "budget_lines": lines,
            "own_levels": own_levels, "own_budget_lines": own_lines,
            "approvers": {lv["code"]: approvers.get(lv["code"], []) for lv in levels},
            "candidates": [{"id": u.id, "name": u.display_name, "role": u.role.value}
                           for u in approver_candidates(session, province_code)],
            "waiting_levels": sorted(_levels_still_needed(session, province_code)),
            "version": version}


def save_settings(*, session: Session, province_code: str, levels: list[tuple[str, str, str]],
                  lines: list[tuple[str, str, str]], approvers: dict[str, list[int]], by: User,
                  version: str | None = None) -> dict:
    """The desk's save: the chain, the budget lines and who holds each level, checked as a
    whole first (every wrong field named, nothing written), then written through the same
    functions as the command line (set_levels, set_budget_lines, grant_level, revoke_level),
    each change audited. A level needs at least one holder; a holder is a case role of the
    province (the one who asks for a subsidy never approves it: checked when deciding)."""
    if not may_set(by, province_code):
        raise Forbidden(N_("Only a supervisor of this province or an administrator sets its "
                           "subsidy approvals."))
    before = settings_view(session, province_code)
    if version and version != before["version"]:
        raise Conflict(N_("Someone else changed these settings at the same moment. Your screen "
                          "has the latest state; check it and save again."))
    errors = _entry_errors(session, province_code, levels, "levels")
    errors.update(_entry_errors(session, province_code, lines, "budget_lines"))
    codes = [c for c, _th, _en in levels]
    eligible = {u["id"] for u in before["candidates"]}
    for key in approvers:
        if key not in codes:
            errors[f"approvers.{key}"] = (N_("Choose one of the listed options."), {})
    for i, code in enumerate(codes):
        held = approvers.get(code) or []
        if not held:
            errors[f"approvers.{i}"] = (N_("Give this level at least one approver."), {})
        elif any(uid not in eligible for uid in held):
            errors[f"approvers.{i}"] = (N_("Choose a worker of this province."), {})
    if errors:
        raise ValidationFailed(errors)
    trimmed = [(c, (th or "").strip(), (en or "").strip()) for c, th, en in levels]
    if trimmed != [(lv["code"], lv["name_th"], lv["name_en"]) for lv in before["levels"]] \
            or not before["own_levels"]:
        set_levels(session=session, province_code=province_code, levels=levels, by=by)
    trimmed = [(c, (th or "").strip(), (en or "").strip()) for c, th, en in lines]
    if trimmed != [(ln["code"], ln["name_th"], ln["name_en"]) for ln in before["budget_lines"]] \
            or not before["own_budget_lines"]:
        set_budget_lines(session=session, province_code=province_code, lines=lines, by=by)
    held = {(uid, lv) for uid, lv in session.execute(select(
        SubsidyApprover.user_id, SubsidyApprover.level_code).where(
            SubsidyApprover.province_code == province_code))}
    wanted = {(uid, code) for code in codes for uid in approvers.get(code) or []}
    for uid, level in sorted(held - wanted):
        revoke_level(session=session, user_id=uid, province_code=province_code, level=level,
                     by=by)
    for uid, level in sorted(wanted - held):
        grant_level(session=session, user_id=uid, province_code=province_code, level=level,
                    by=by)
    session.flush()
    return settings_view(session, province_code)


# ---- the request and its chain -----------------------------------------------------------------

def _stamp(session: Session, case: Case, subsidy: Subsidy, by: User | None, kind: str,
           note: str = "", **detail) -> None:
    """One step of a subsidy: on the case timeline, in the audit log, live after commit."""
    now = utcnow()
    body = {"subsidy_id": subsidy.id, "amount": baht(subsidy.amount_satang),
            "budget_line": subsidy.budget_line, **detail}
    case.timeline.append(CaseTimelineEntry(at=now, actor_id=by.id if by else None,
                                           source="case", kind=kind, note=note, detail=body))
    record_audit(session=session, actor_id=by.id if by else None, action=kind.replace("_", ".", 1),
                 entity="case", entity_id=case.id, detail=body, at=now)


def baht(satang: int) -> str:
    """An amount for people: 1,500.00."""
    return f"{satang / 100:,.2f}"


def request_subsidy(*, session: Session, case_id: int, data: SubsidyIn, by: User,
                    settings: SubsidySettings) -> Subsidy:
    """A worker asks for a subsidy on a case of the assistance plan (planning or later)."""
    case = _open_for_work(session, case_id, by)
    if case.status in (CaseStatus.INTAKE, CaseStatus.FACT_FINDING):
        raise IllegalTransition(N_("Ask for a subsidy once the fact-finding is done (assistance "
                                   "plan or later)."))
    errors: dict[str, tuple[str, dict]] = {}
    if data.amount > settings.max_baht * 100:
        errors["amount"] = (N_("At most %(max)s baht per request. For more, ask the provincial "
                               "social development office how to proceed."),
                            {"max": f"{settings.max_baht:,}"})
    if data.budget_line not in budget_lines_for(session, case.province_code):
        errors["budget_line"] = (N_("Choose a budget line of this province."), {})
    action = None
    if data.plan_action_id is not None:
        action = next((a for a in case.actions if a.id == data.plan_action_id), None)
        if action is None or action.phase is not PlanPhase.URGENT \
                or action.status is ActionStatus.CANCELLED:
            errors["plan_action_id"] = (N_("Choose an action of the urgent phase of this "
                                           "case's plan."), {})
    if errors:
        raise ValidationFailed(errors)
    if action is None:  # linked to the urgent phase's first open action, when there is one
        action = next((a for a in case.actions if a.phase is PlanPhase.URGENT
                       and a.status in (ActionStatus.PLANNED, ActionStatus.IN_PROGRESS)), None)
    now = utcnow()
    subsidy = Subsidy(case_id=case.id, province_code=case.province_code,
                      amount_satang=data.amount, reason=data.reason,
                      budget_line=data.budget_line,
                      plan_action_id=action.id if action else None,
                      status=SubsidyStatus.PENDING,
                      levels=levels_for(session, case.province_code), step=1,
                      requested_at=now, requested_by_id=by.id)
    session.add(subsidy)
    session.flush()
    _stamp(session, case, subsidy, by, "subsidy_requested", note=data.reason,
           level=subsidy.levels[0])
    session.flush()
    events.case_updated(session=session, case=case)
    events.subsidy_updated(session=session, subsidy=subsidy)
    return subsidy


def _subsidy_of(session: Session, case_id: int, subsidy_id: int, by: User
                ) -> tuple[Case, Subsidy]:
    case = _case_for_work(session, case_id, by)
    subsidy = session.get(Subsidy, subsidy_id)
    if subsidy is None or subsidy.case_id != case.id:
        raise NotFound("subsidy")
    return case, subsidy


_RACE = N_("Someone else decided this request at the same moment. Your screen has the latest "
           "state; check it.")


def _check_move(subsidy: Subsidy, to: SubsidyStatus, version: int | None) -> None:
    if to not in SUBSIDY_TRANSITIONS[subsidy.status]:
        raise Conflict(N_("This request has already been decided (%(status)s)."),
                       status=label("subsidy_status", subsidy.status))
    if version is not None and version != subsidy.version:
        raise Conflict(_RACE)


def _check_approver(session: Session, subsidy: Subsidy, by: User) -> str:
    """The level now waiting, if this user may decide it; else Forbidden, saying why."""
    level = subsidy.levels[subsidy.step - 1]
    if by.id == subsidy.requested_by_id:
        raise Forbidden(N_("You asked for this subsidy, so another person must decide it."))
    if any(a.by_id == by.id for a in subsidy.approvals):
        raise Forbidden(N_("You already approved this request at another level; another "
                           "person must decide this level."))
    if not holds_level(session, by, subsidy.province_code, level):
        raise Forbidden(N_("Deciding at this level needs a person who holds it in this "
                           "province."))
    return level


def _flush_decision(session: Session) -> None:
    """Write the decision; a concurrent one that got there first makes this one a Conflict."""
    try:
        session.flush()
    except (StaleDataError, IntegrityError):
        # NOTE: the session is spoilt; the error answer rolls it back (console/web.py).
        raise Conflict(_RACE) from None


def approve(*, session: Session, case_id: int, subsidy_id: int, data: SubsidyDecisionIn,
            by: User) -> Subsidy:
    """Approve the level now waiting: the next level waits, or (the last) it is approved."""
    case, subsidy = _subsidy_of(session, case_id, subsidy_id, by)
    last = subsidy.step >= len(subsidy.levels)
    to = SubsidyStatus.APPROVED if last else SubsidyStatus.PENDING
    _check_move(subsidy, to, data.version)
    if subsidy.status is not SubsidyStatus.PENDING:
        raise Conflict(N_("This request has already been decided (%(status)s)."),
                       status=label("subsidy_status", subsidy.status))
    level = _check_approver(session, subsidy, by)
    now = utcnow()
    subsidy.approvals.append(SubsidyApproval(step=subsidy.step, level_code=level, approved=True,
                                             by_id=by.id, at=now, note=data.note))
    if last:
        subsidy.status, subsidy.decided_at = SubsidyStatus.APPROVED, now
    else:
        subsidy.step += 1
    _flush_decision(session)
    _stamp(session, case, subsidy, by, "subsidy_approved", note=data.note, level=level,
           step=len(subsidy.approvals), final=last)
    session.flush()
    events.case_updated(session=session, case=case)
    events.subsidy_updated(session=session, subsidy=subsidy)
    return subsidy


def reject(*, session: Session, case_id: int, subsidy_id: int, data: SubsidyDecisionIn,
           by: User) -> Subsidy:
    """Reject at the level now waiting, with the reason: the request ends there."""
    case, subsidy = _subsidy_of(session, case_id, subsidy_id, by)
    _check_move(subsidy, SubsidyStatus.REJECTED, data.version)
    level = _check_approver(session, subsidy, by)
    if not data.note.strip():
        raise ValidationFailed({"note": (N_("Please give the reason for rejecting."), {})})
    now = utcnow()
    subsidy.approvals.append(SubsidyApproval(step=subsidy.step, level_code=level, approved=False,
                                             by_id=by.id, at=now, note=data.note))
    subsidy.status, subsidy.decided_at, subsidy.reject_reason = (SubsidyStatus.REJECTED, now,
                                                                 data.note)
    _flush_decision(session)
    _stamp(session, case, subsidy, by, "subsidy_rejected", note=data.note, level=level)
    session.flush()
    events.case_updated(session=session, case=case)
    events.subsidy_updated(session=session, subsidy=subsidy)
    return subsidy


def mark_paid(*, session: Session, case_id: int, subsidy_id: int, data: SubsidyPaidIn,
              by: User) -> Subsidy:
    """Record the payment of an approved subsidy (a supervisor, or a holder of a level of the
    province): the date and the finance reference."""
    case, subsidy = _subsidy_of(session, case_id, subsidy_id, by)
    _check_move(subsidy, SubsidyStatus.PAID, data.version)
    if by.role not in (Role.SUPERVISOR, Role.ADMIN) and not any(
            holds_level(session, by, subsidy.province_code, lv) for lv in subsidy.levels):
        raise Forbidden(N_("Only a supervisor or an approver of this province records "
                           "payments."))
    paid_on = date.fromisoformat(data.paid_on)
    if subsidy.decided_at and paid_on < subsidy.decided_at.astimezone(BANGKOK).date():
        raise ValidationFailed({"paid_on": (N_("The payment date cannot be before the "
                                               "approval."), {})})
    subsidy.status, subsidy.paid_on = SubsidyStatus.PAID, paid_on
    subsidy.payment_ref, subsidy.paid_by_id = data.payment_ref, by.id
    _flush_decision(session)
    _stamp(session, case, subsidy, by, "subsidy_paid", note=data.payment_ref,
           paid_on=data.paid_on)
    session.flush()
    events.case_updated(session=session, case=case)
    events.subsidy_updated(session=session, subsidy=subsidy)
    return subsidy


# ---- documents -------------------------------------------------------------------------------

def sniff_document(data: bytes) -> str | None:
    """PDF, JPEG or PNG by their first bytes, else None."""
    return next((kind for magic, kind in _DOC_MAGIC if data.startswith(magic)), None)


def attach_document(*, session: Session, case_id: int, subsidy_id: int, data: bytes,
                    title: str, by: User, settings: SubsidySettings) -> tuple[SubsidyDocument,
                                                                              Path]:
    """Attach a document to a request still open (pending or approved); photos are re-encoded
    without their metadata like the ESS photos. Returns the row and the file written (the caller
    removes it if the transaction does not commit)."""
    from ess import images

    case, subsidy = _subsidy_of(session, case_id, subsidy_id, by)
    if case.status is CaseStatus.CLOSED:
        raise IllegalTransition(N_("This case is closed: reopen it first."))
    if subsidy.status not in (SubsidyStatus.PENDING, SubsidyStatus.APPROVED):
        raise Conflict(N_("This request has already been decided (%(status)s)."),
                       status=label("subsidy_status", subsidy.status))
    if len(subsidy.documents) >= settings.doc_max_count:
        raise ValidationFailed({"file": (N_("Too many documents: at most %(max)s."),
                                         {"max": settings.doc_max_count})})
    if not data:
        raise ValidationFailed({"file": (N_("Choose a file to attach."), {})})
    if len(data) > settings.doc_max_bytes:
        raise ValidationFailed({"file": (N_("This file is too large: at most %(max)s MB."),
                                         {"max": round(settings.doc_max_bytes / 1048576, 1)})})
    kind = sniff_document(data)
    if kind is None:
        raise ValidationFailed({"file": (N_("Only PDF, JPEG or PNG files are accepted."), {})})
    if kind != "application/pdf":
        try:
            new_kind, data = images.reencode(data, max_pixels=40_000_000)
        except images.BadImage as exc:
            raise ValidationFailed({"file": (exc.message, exc.params)}) from None
        if new_kind != kind:
            raise ValidationFailed({"file": (N_("Only PDF, JPEG or PNG files are accepted."),
                                             {})})
    if not settings.attachment_dir:
        raise Conflict(N_("Documents cannot be stored on this server."))
    directory = Path(settings.attachment_dir)
    directory.mkdir(parents=True, exist_ok=True)
    name = secrets.token_hex(16)
    path = directory / name
    path.write_bytes(data)
    doc = SubsidyDocument(stored_name=name, content_type=kind, size=len(data),
                          sha256=hashlib.sha256(data).hexdigest(), title=title[:200],
                          uploaded_at=utcnow(), uploaded_by_id=by.id)
    subsidy.documents.append(doc)
    session.flush()
    _stamp(session, case, subsidy, by, "subsidy_document", note=title[:200],
           document_id=doc.id)
    session.flush()
    events.case_updated(session=session, case=case)
    return doc, path


def read_document(*, session: Session, case_id: int, subsidy_id: int, document_id: int,
                  by: User, settings: SubsidySettings) -> tuple[SubsidyDocument, bytes]:
    """A document's bytes for a case role of the province (the caller logs the read)."""
    _case, subsidy = _subsidy_of(session, case_id, subsidy_id, by)
    doc = next((d for d in subsidy.documents if d.id == document_id), None)
    if doc is None or not settings.attachment_dir:
        raise NotFound("document")
    path = Path(settings.attachment_dir) / doc.stored_name
    if not path.is_file():
        raise NotFound("document")
    return doc, path.read_bytes()


# ---- desks ----------------------------------------------------------------------------------

def for_case(*, session: Session, case_id: int) -> list[Subsidy]:
    """A case's subsidy requests, oldest first."""
    return list(session.scalars(select(Subsidy).where(Subsidy.case_id == case_id)
                                .order_by(Subsidy.id)))


def may_decide(session: Session, subsidy: Subsidy, user: User) -> bool:
    """Whether the request waits for this user now (their level, not theirs, not approved by
    them before)."""
    if subsidy.status is not SubsidyStatus.PENDING:
        return False
    try:
        _check_approver(session, subsidy, user)
    except Forbidden:
        return False
    return True


def waiting_for(*, session: Session, user: User, limit: int = 200) -> list[Subsidy]:
    """Pending requests whose level now waiting is one this user holds in its province, not
    asked for by them and not approved by them at an earlier level, oldest first."""
    held = session.execute(select(SubsidyApprover.province_code, SubsidyApprover.level_code)
                           .where(SubsidyApprover.user_id == user.id)).all()
    if not held or not user.active or user.role not in CASE_ROLES:
        return []
    provinces = {p for p, _ in held if user.can_see_province(p)}
    pending = session.scalars(select(Subsidy).where(
        Subsidy.status == SubsidyStatus.PENDING, Subsidy.province_code.in_(provinces),
        Subsidy.requested_by_id.is_distinct_from(user.id))
        .order_by(Subsidy.requested_at, Subsidy.id).limit(limit * 4))
    pairs = set(held)
    found = []
    for subsidy in pending:
        level = subsidy.levels[subsidy.step - 1]
        if (subsidy.province_code, level) in pairs and not any(
                a.by_id == user.id for a in subsidy.approvals):
            found.append(subsidy)
        if len(found) >= limit:
            break
    return found


def monthly_totals(*, session: Session, user: User, year: int,
                   province_code: str | None = None) -> list[dict]:
    """Per month (Bangkok time, by the request's date), province and budget line: how many
    requests, the amount asked, approved (approved or paid) and paid, in satang. Scoped to the
    user's province unless national."""
    start = datetime(year, 1, 1, tzinfo=BANGKOK)
    end = datetime(year + 1, 1, 1, tzinfo=BANGKOK)
    stmt = select(Subsidy.requested_at, Subsidy.province_code, Subsidy.budget_line,
                  Subsidy.status, Subsidy.amount_satang).where(
        Subsidy.requested_at >= start, Subsidy.requested_at < end)
    if not user.is_national:
        stmt = stmt.where(Subsidy.province_code == user.province_code)
    elif province_code:
        stmt = stmt.where(Subsidy.province_code == province_code)
    rows: dict[tuple, dict] = defaultdict(lambda: {"count": 0, "asked": 0, "approved": 0,
                                                   "paid": 0, "rejected": 0})
    for at, province, line, status, amount in session.execute(stmt):
        month = at.astimezone(BANGKOK).month
        row = rows[(month, province, line)]
        row["count"] += 1
        row["asked"] += amount
        if status in (SubsidyStatus.APPROVED, SubsidyStatus.PAID):
            row["approved"] += amount
        if status is SubsidyStatus.PAID:
            row["paid"] += amount
        if status is SubsidyStatus.REJECTED:
            row["rejected"] += 1
    return [{"month": m, "province_code": p, "budget_line": b, **v}
            for (m, p, b), v in sorted(rows.items())]


def anonymise(session: Session, case_ids) -> list[str]:
    """Retention of closed cases: reasons, notes and references blanked, the documents' rows
    deleted (their file names returned, deleted after the commit); amounts, budget lines,
    statuses and dates stay for the totals."""
    from sqlalchemy import delete, update

    quiet = {"synchronize_session": False}
    subsidy_ids = select(Subsidy.id).where(Subsidy.case_id.in_(case_ids))
    names = list(session.scalars(select(SubsidyDocument.stored_name)
                                 .where(SubsidyDocument.subsidy_id.in_(subsidy_ids))))
    session.execute(delete(SubsidyDocument).where(SubsidyDocument.subsidy_id.in_(subsidy_ids)))
    session.execute(update(Subsidy).where(Subsidy.case_id.in_(case_ids)).values(
        reason="", reject_reason="", payment_ref="").execution_options(**quiet))
    session.execute(update(SubsidyApproval).where(SubsidyApproval.subsidy_id.in_(subsidy_ids))
                    .values(note="").execution_options(**quiet))
    return names
