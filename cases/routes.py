"""Case endpoints for the case worker desk: thin, validate, call the service, commit, answer."""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify, render_template, request, url_for
from flask_login import current_user

from cases import events, referrals, service
from cases.schemas import (
    ActionIn,
    ActionUpdateIn,
    AgencyStepIn,
    AssessmentIn,
    AssignIn,
    CaseFilterIn,
    ConsentIn,
    FollowUpDoneIn,
    FollowUpIn,
    MoveIn,
    NewCaseIn,
    PersonIn,
    ReferralIn,
    RevokeIn,
)
from console.idempotency import commit_answer, idempotent
from console.validation import parse
from console.web import db, desk_required, json_body

bp = Blueprint("cases", __name__, url_prefix="/api/cases")
# The agency's referral page: no account, the signed link is the key.
link = Blueprint("referral_link", __name__, url_prefix="/r")
ID = "<int(max=2147483647):case_id>"


@bp.get("")
@desk_required("cases")
def list_cases():
    """One page of the caseload (?view=mine|unassigned, filters, page, per_page)."""
    filters = parse(CaseFilterIn, request.args.to_dict())
    found, total = service.search_cases(session=db(), user=current_user, filters=filters)
    from console.access_log import log_read  # PDPA: the caseload read, in one access-log row

    log_read("case_list", entity="case", view=filters.view, page=filters.page,
             text_search=bool(filters.q.strip()), subjects={"case": [c.id for c in found]})
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


@bp.post(f"/{ID}/people/duplicates")
@desk_required("cases")
def person_duplicates(case_id: int):
    """Possible duplicates of the person being entered on this case's form (the same national
    ID, or a name that sounds the same with the same birth year or district), with the reasons;
    national IDs masked; the read is written to the access log."""
    from cases import persons
    from cases.schemas import DuplicateCheckIn
    from console.access_log import log_read

    session = db()
    service.check_access(session=session, case_id=case_id, user=current_user)
    case = _case_row(case_id)
    data = parse(DuplicateCheckIn, json_body())
    probe = persons.Probe(full_name=data.full_name, national_id=data.national_id,
                          birth_date=data.born(), age_years=data.age_years,
                          province_code=data.province_code or case.province_code,
                          district_code=data.district_code or case.district_code)
    found = persons.find_duplicates(session=session, user=current_user, probe=probe)
    log_read("person_duplicates", entity="case", entity_id=case.id,
             subjects={"case_person": [f["case_person_id"] for f in found]})
    return jsonify({"candidates": found})


@bp.post("/persons/merge")
@desk_required("cases")
@idempotent
def merge_persons():
    """Merge a person into another (case workers and supervisors of their province)."""
    from cases import persons
    from cases.schemas import MergeIn

    data = parse(MergeIn, json_body())
    session = db()
    kept = persons.merge(session=session, keep_person_id=data.keep_person_id,
                         merge_person_id=data.merge_person_id, reason=data.reason,
                         by=current_user)
    return commit_answer(session, {"person_id": kept.id,
                                   "merged_person_id": data.merge_person_id})


@bp.post(f"/{ID}/transfer")
@desk_required("cases")
@idempotent
def propose_transfer(case_id: int):
    """Propose the case's transfer to another province, with the reason."""
    from cases import transfers
    from cases.schemas import TransferIn

    service.check_access(session=db(), case_id=case_id, user=current_user)
    data = parse(TransferIn, json_body())
    session = db()
    transfer = transfers.propose(session=session, case_id=case_id, to_province=data.to_province,
                                 reason=data.reason, by=current_user, version=data.version)
    return commit_answer(session, events.transfer_payload(transfer, _case_row(transfer.case_id)),
                         201)


def _case_row(case_id: int):
    """A case by its id (its access already checked)."""
    from cases.models import Case

    return db().get(Case, case_id)


@bp.get("/transfers")
@desk_required("cases")
def incoming_transfers():
    """Transfers waiting for the user's province to accept or decline."""
    from cases import transfers
    from console.access_log import log_read

    rows = transfers.incoming(session=db(), user=current_user)
    log_read("case_transfers", entity="case", subjects={"case": [c.id for _t, c in rows]})
    return jsonify({"items": [events.transfer_payload(t, c) for t, c in rows]})


@bp.post("/transfers/<int(max=2147483647):transfer_id>/<any(accept, decline):answer>")
@desk_required("cases")
@idempotent
def answer_transfer(transfer_id: int, answer: str):
    """Accept a transfer (the case comes into this province's queue) or decline it (reason)."""
    from cases import transfers
    from cases.schemas import TransferAnswerIn

    data = parse(TransferAnswerIn, json_body())
    session = db()
    transfer = transfers.answer(session=session, transfer_id=transfer_id,
                                accept=answer == "accept", reason=data.reason,
                                by=current_user, version=data.version)
    return commit_answer(session, events.transfer_payload(transfer, _case_row(transfer.case_id)))


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


def _settings() -> referrals.ReferralSettings:
    cfg = current_app.config
    return referrals.ReferralSettings(secret=cfg["SECRET_KEY"],
                                      link_days=cfg["REFERRAL_LINK_DAYS"])


@bp.post(f"/{ID}/consents")
@desk_required("cases")
@idempotent
def record_consent(case_id: int):
    """Record the client's consent to share (what, with which agency, given when)."""
    service.check_access(session=db(), case_id=case_id, user=current_user)
    session = db()
    consent = referrals.record_consent(session=session, case_id=case_id,
                                       data=parse(ConsentIn, json_body()), by=current_user)
    return commit_answer(session, {"id": consent.id, "items": consent.items,
                                   "agency_id": consent.agency_id}, 201)


@bp.post(f"/{ID}/referrals")
@desk_required("cases")
@idempotent
def send_referral(case_id: int):
    """Refer the case to an agency; the answer carries the agency's link (shown once)."""
    from console.twofactor import qr_data_uri

    service.check_access(session=db(), case_id=case_id, user=current_user)
    session = db()
    referral, token = referrals.send_referral(session=session, case_id=case_id,
                                              data=parse(ReferralIn, json_body()),
                                              by=current_user, settings=_settings())
    base = current_app.config["PUBLIC_BASE_URL"] or request.host_url.rstrip("/")
    url = base + url_for("referral_link.page", token=token)
    body = {**events.referral_payload(referral), "link": url, "qr": qr_data_uri(url)}
    # NOTE: the link is in the stored idempotent answer so a retried send shows the same link.
    return commit_answer(session, body, 201)


@bp.post(f"/{ID}/referrals/<int(max=2147483647):referral_id>/revoke")
@desk_required("cases")
@idempotent
def revoke_referral(case_id: int, referral_id: int):
    """Withdraw a referral: its link stops working at once."""
    service.check_access(session=db(), case_id=case_id, user=current_user)
    session = db()
    referral = referrals.revoke(session=session, case_id=case_id, referral_id=referral_id,
                                reason=parse(RevokeIn, json_body()).reason, by=current_user)
    return commit_answer(session, events.referral_payload(referral))


def _agency_page(referral, *, message=None, error=None, fields=None, status=200):
    from cases.models import Agency
    from console.web import db as _db

    agency = _db().get(Agency, referral.agency_id)
    return render_template("referral_link.html", referral=referral, agency=agency,
                           shared=referral.shared or {}, message=message, error=error,
                           fields=fields or {}), status


@link.get("/<token>")
def page(token: str):
    """The agency's phone-friendly page: what was shared, and its next step."""
    session = db()
    referral = referrals.open_link(session=session, token=token, settings=_settings(),
                                   ip=request.remote_addr)
    session.commit()
    response = _agency_page(referral)
    return response


@link.post("/<token>")
def step(token: str):
    """The agency acknowledges, accepts, declines (with the reason) or reports the outcome."""
    from console.errors import ValidationFailed
    from console.web import translate

    session = db()
    data = parse(AgencyStepIn, request.form.to_dict())
    try:
        referral = referrals.agency_step(session=session, token=token, to=data.to,
                                         name=data.name, note=data.note, settings=_settings(),
                                         ip=request.remote_addr, version=data.version)
    except ValidationFailed as exc:
        session.rollback()
        referral = referrals.open_link(session=session, token=token, settings=_settings(),
                                       ip=request.remote_addr, for_step=True)
        fields = {k: translate(m, p) for k, (m, p) in exc.errors.items()}
        return _agency_page(referral, error=translate(exc.message), fields=fields, status=422)
    session.commit()
    from flask_babel import gettext

    return _agency_page(referral, message=gettext("Thank you. Your answer was sent to the "
                                                  "social worker."))


@bp.post(f"/{ID}/follow-ups")
@desk_required("cases")
@idempotent
def schedule_follow_up(case_id: int):
    """Schedule a follow-up visit or call."""
    service.check_access(session=db(), case_id=case_id, user=current_user)
    session = db()
    follow_up = service.schedule_follow_up(session=session, case_id=case_id,
                                           data=parse(FollowUpIn, json_body()), by=current_user)
    return commit_answer(session, events.follow_up_payload(follow_up), 201)


@bp.post(f"/{ID}/follow-ups/<int(max=2147483647):follow_up_id>/done")
@desk_required("cases")
@idempotent
def complete_follow_up(case_id: int, follow_up_id: int):
    """Record what a follow-up found and the client's feedback."""
    service.check_access(session=db(), case_id=case_id, user=current_user)
    session = db()
    follow_up = service.complete_follow_up(session=session, case_id=case_id,
                                           follow_up_id=follow_up_id,
                                           data=parse(FollowUpDoneIn, json_body()),
                                           by=current_user)
    return commit_answer(session, events.follow_up_payload(follow_up))
