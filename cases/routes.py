"""Case endpoints for the case worker desk: thin, validate, call the service, commit, answer."""

from __future__ import annotations

from flask import Blueprint, jsonify, request
from flask_login import current_user

from cases import events, service
from cases.schemas import (
    ActionIn,
    ActionUpdateIn,
    AssessmentIn,
    AssignIn,
    CaseFilterIn,
    MoveIn,
    NewCaseIn,
    PersonIn,
)
from console.idempotency import commit_answer, idempotent
from console.validation import parse
from console.web import db, desk_required, json_body

bp = Blueprint("cases", __name__, url_prefix="/api/cases")
ID = "<int(max=2147483647):case_id>"


@bp.get("")
@desk_required("cases")
def list_cases():
    """One page of the caseload (?view=mine|unassigned, filters, page, per_page)."""
    filters = parse(CaseFilterIn, request.args.to_dict())
    found, total = service.search_cases(session=db(), user=current_user, filters=filters)
    return jsonify({"items": [events.case_payload(c) for c in found], "total": total,
                    "page": filters.page, "per_page": filters.per_page})


@bp.post(f"/{ID}/assign")
@desk_required("cases")
@idempotent
def assign(case_id: int):
    """Take a case, or (supervisor) give it to a worker of the province."""
    service.check_access(session=db(), case_id=case_id, user=current_user)
    session = db()
    case = service.assign(session=session, case_id=case_id,
                          user_id=parse(AssignIn, json_body()).user_id, by=current_user)
    return commit_answer(session, events.case_payload(case))


@bp.post("")
@desk_required("cases")
@idempotent
def open_case():
    """Open a case on the desk (walk-in, letter, another agency, a volunteer)."""
    session = db()
    case = service.open_case(session=session, data=parse(NewCaseIn, json_body()),
                             by=current_user)
    return commit_answer(session, events.case_payload(case), 201)


@bp.post(f"/{ID}/move")
@desk_required("cases")
@idempotent
def move(case_id: int):
    """Move the case along the workflow (with the reason when the move needs one)."""
    service.check_access(session=db(), case_id=case_id, user=current_user)
    data = parse(MoveIn, json_body())
    session = db()
    case = service.move(session=session, case_id=case_id, to=data.to, reason=data.reason,
                        by=current_user, version=data.version,
                        client_feedback=data.client_feedback,
                        lessons_learned=data.lessons_learned,
                        with_open_actions=data.with_open_actions)
    return commit_answer(session, events.case_payload(case))


@bp.post(f"/{ID}/people")
@desk_required("cases")
@idempotent
def add_person(case_id: int):
    """Add the client or a household member."""
    service.check_access(session=db(), case_id=case_id, user=current_user)
    session = db()
    person = service.add_person(session=session, case_id=case_id,
                                data=parse(PersonIn, json_body()), by=current_user)
    return commit_answer(session, events.person_payload(person), 201)


@bp.post(f"/{ID}/people/<int(max=2147483647):person_id>/national-id")
@desk_required("cases")
def reveal_national_id(case_id: int, person_id: int):
    """A person's full national ID (case roles only; the reveal is written to the access log)."""
    session = db()
    value = service.reveal_national_id(session=session, case_id=case_id, person_id=person_id,
                                       by=current_user)
    session.commit()
    response = jsonify({"national_id": value})
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.put(f"/{ID}/assessment")
@desk_required("cases")
@idempotent
def save_assessment(case_id: int):
    """Save the fact-finding (a draft, or complete with `complete: true`)."""
    service.check_access(session=db(), case_id=case_id, user=current_user)
    session = db()
    case = service.save_assessment(session=session, case_id=case_id,
                                   data=parse(AssessmentIn, json_body()), by=current_user)
    return commit_answer(session, {"case": events.case_payload(case),
                                   "assessment": events.assessment_payload(case.assessment)})


@bp.post(f"/{ID}/actions")
@desk_required("cases")
@idempotent
def add_action(case_id: int):
    """Add an action to the assistance plan."""
    service.check_access(session=db(), case_id=case_id, user=current_user)
    session = db()
    action = service.add_action(session=session, case_id=case_id,
                                data=parse(ActionIn, json_body()), by=current_user)
    return commit_answer(session, events.action_payload(action), 201)


@bp.post(f"/{ID}/actions/<int(max=2147483647):action_id>")
@desk_required("cases")
@idempotent
def update_action(case_id: int, action_id: int):
    """Record an action's progress."""
    service.check_access(session=db(), case_id=case_id, user=current_user)
    session = db()
    action = service.update_action(session=session, case_id=case_id, action_id=action_id,
                                   data=parse(ActionUpdateIn, json_body()), by=current_user)
    return commit_answer(session, events.action_payload(action))
