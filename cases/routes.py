"""Case endpoints for the case worker desk: thin, validate, call the service, commit, answer."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

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
    HandoverAnswerIn,
    HandoverIn,
    MergeIn,
    MoveIn,
    NewCaseIn,
    PersonIn,
    PlaceIn,
    ReferralIn,
    RevokeIn,
    SubsidyDecisionIn,
    SubsidyIn,
    SubsidyPaidIn,
    SubsidySettingsIn,
    TransferAnswerIn,
    TransferIn,
)
from console.idempotency import commit_answer, idempotent
from console.validation import parse
from console.web import db, desk_required, json_body

bp = Blueprint("cases", __name__, url_prefix="/api/cases")
# The agency's referral page: no account, the signed link is the key.
link = Blueprint("referral_link", __name__, url_prefix="/r")
ID = "<int(max=2147483647):case_id>"


def case_write(schema, *, status: int = 200, checked: bool = True) -> Callable:
    """The shape of every case write: the case's access checked before any input is read (a
    case outside the user's role and province is 404; `checked=False` for routes without a
    case in their path, whose service checks what they touch), the JSON body parsed by
    `schema`, the view called as view(session, data, **url arguments) to do the change and
    return the answer's body, then the change committed with that answer (which an
    Idempotency-Key replays on a retry)."""

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def wrapper(**kwargs):
            session = db()
            if checked:
                service.check_access(session=session, case_id=kwargs["case_id"],
                                     user=current_user)
            data = parse(schema, json_body())
            return commit_answer(session, view(session, data, **kwargs), status)

        return wrapper

    return decorator


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
@case_write(AssignIn)
def assign(session, data, case_id: int):
    """Take a case, or (supervisor) give it to a worker of the province."""
    case = service.assign(session=session, case_id=case_id, user_id=data.user_id,
                          by=current_user)
    return events.case_payload(case)


@bp.post("")
@desk_required("cases")
@idempotent
@case_write(NewCaseIn, status=201, checked=False)
def open_case(session, data):
    """Open a case on the desk (walk-in, letter, another agency, a volunteer)."""
    return events.case_payload(service.open_case(session=session, data=data, by=current_user))


@bp.post(f"/{ID}/move")
@desk_required("cases")
@idempotent
@case_write(MoveIn)
def move(session, data, case_id: int):
    """Move the case along the workflow (with the reason when the move needs one)."""
    case = service.move(session=session, case_id=case_id, to=data.to, reason=data.reason,
                        by=current_user, version=data.version,
                        client_feedback=data.client_feedback,
                        lessons_learned=data.lessons_learned,
                        with_open_actions=data.with_open_actions)
    return events.case_payload(case)


@bp.post(f"/{ID}/people")
@desk_required("cases")
@idempotent
@case_write(PersonIn, status=201)
def add_person(session, data, case_id: int):
    """Add the client or a household member."""
    person = service.add_person(session=session, case_id=case_id, data=data, by=current_user)
    return events.person_payload(person)


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
@case_write(MergeIn, checked=False)
def merge_persons(session, data):
    """Merge a person into another (case workers and supervisors of their province)."""
    from cases import persons

    kept = persons.merge(session=session, keep_person_id=data.keep_person_id,
                         merge_person_id=data.merge_person_id, reason=data.reason,
                         by=current_user)
    return {"person_id": kept.id, "merged_person_id": data.merge_person_id}


@bp.post(f"/{ID}/transfer")
@desk_required("cases")
@idempotent
@case_write(TransferIn, status=201)
def propose_transfer(session, data, case_id: int):
    """Propose the case's transfer to another province, with the reason."""
    from cases import transfers

    transfer = transfers.propose(session=session, case_id=case_id, to_province=data.to_province,
                                 reason=data.reason, by=current_user, version=data.version)
    return events.transfer_payload(transfer, _case_row(transfer.case_id))


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
@case_write(TransferAnswerIn, checked=False)
def answer_transfer(session, data, transfer_id: int, answer: str):
    """Accept a transfer (the case comes into this province's queue) or decline it (reason)."""
    from cases import transfers

    transfer = transfers.answer(session=session, transfer_id=transfer_id,
                                accept=answer == "accept", reason=data.reason,
                                by=current_user, version=data.version)
    return events.transfer_payload(transfer, _case_row(transfer.case_id))


@bp.put(f"/{ID}/assessment")
@desk_required("cases")
@idempotent
@case_write(AssessmentIn)
def save_assessment(session, data, case_id: int):
    """Save the fact-finding (a draft, or complete with `complete: true`)."""
    case = service.save_assessment(session=session, case_id=case_id, data=data, by=current_user)
    return {"case": events.case_payload(case),
            "assessment": events.assessment_payload(case.assessment)}


@bp.post(f"/{ID}/actions")
@desk_required("cases")
@idempotent
@case_write(ActionIn, status=201)
def add_action(session, data, case_id: int):
    """Add an action to the assistance plan."""
    action = service.add_action(session=session, case_id=case_id, data=data, by=current_user)
    return events.action_payload(action)


@bp.post(f"/{ID}/actions/<int(max=2147483647):action_id>")
@desk_required("cases")
@idempotent
@case_write(ActionUpdateIn)
def update_action(session, data, case_id: int, action_id: int):
    """Record an action's progress."""
    action = service.update_action(session=session, case_id=case_id, action_id=action_id,
                                   data=data, by=current_user)
    return events.action_payload(action)


def _link_base() -> str:
    return current_app.config["PUBLIC_BASE_URL"] or request.host_url.rstrip("/")


def _settings() -> referrals.ReferralSettings:
    from cases.reminders import ReminderSettings

    cfg = current_app.config
    return referrals.ReferralSettings(secret=cfg["SECRET_KEY"],
                                      link_days=cfg["REFERRAL_LINK_DAYS"],
                                      deadlines=ReminderSettings.from_config(cfg),
                                      link_base=_link_base())


@bp.post(f"/{ID}/consents")
@desk_required("cases")
@idempotent
@case_write(ConsentIn, status=201)
def record_consent(session, data, case_id: int):
    """Record the client's consent to share (what, with which agency, given when)."""
    consent = referrals.record_consent(session=session, case_id=case_id, data=data,
                                       by=current_user)
    return {"id": consent.id, "items": consent.items, "agency_id": consent.agency_id}


@bp.post(f"/{ID}/referrals")
@desk_required("cases")
@idempotent
@case_write(ReferralIn, status=201)
def send_referral(session, data, case_id: int):
    """Refer the case to an agency; the answer carries the agency's link (shown once)."""
    from console.twofactor import qr_data_uri

    referral, token = referrals.send_referral(session=session, case_id=case_id, data=data,
                                              by=current_user, settings=_settings())
    url = _link_base() + url_for("referral_link.page", token=token)
    # NOTE: the link is in the stored idempotent answer so a retried send shows the same link.
    return {**events.referral_payload(referral), "link": url, "qr": qr_data_uri(url)}


@bp.post(f"/{ID}/referrals/<int(max=2147483647):referral_id>/revoke")
@desk_required("cases")
@idempotent
@case_write(RevokeIn)
def revoke_referral(session, data, case_id: int, referral_id: int):
    """Withdraw a referral: its link stops working at once."""
    referral = referrals.revoke(session=session, case_id=case_id, referral_id=referral_id,
                                reason=data.reason, by=current_user)
    return events.referral_payload(referral)


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
@case_write(FollowUpIn, status=201)
def schedule_follow_up(session, data, case_id: int):
    """Schedule a follow-up visit or call."""
    follow_up = service.schedule_follow_up(session=session, case_id=case_id, data=data,
                                           by=current_user)
    return events.follow_up_payload(follow_up)


@bp.post(f"/{ID}/follow-ups/<int(max=2147483647):follow_up_id>/done")
@desk_required("cases")
@idempotent
@case_write(FollowUpDoneIn)
def complete_follow_up(session, data, case_id: int, follow_up_id: int):
    """Record what a follow-up found and the client's feedback."""
    follow_up = service.complete_follow_up(session=session, case_id=case_id,
                                           follow_up_id=follow_up_id, data=data,
                                           by=current_user)
    return events.follow_up_payload(follow_up)


# --- the desk's referral views, the agencies' times, the printed letter ---------------------

desk = Blueprint("case_referrals", __name__, url_prefix="/desk/cases")


@bp.get("/referrals")
@desk_required("cases")
def referral_list():
    """Referrals 'sent by me', 'by my team' or 'waiting for action' (?view=), newest first."""
    from cases import referral_views
    from console.access_log import log_read
    from console.db import utcnow

    view = request.args.get("view", "sent_by_me")
    if view not in referral_views.VIEWS:
        view = "sent_by_me"
    now = utcnow()
    rows = referral_views.list_referrals(session=db(), user=current_user, view=view, now=now)
    log_read("referral_list", entity="case", view=view,
             subjects={"case": sorted({c.id for _r, c in rows})})
    db().commit()
    return jsonify({"view": view,
                    "items": [events.referral_row_payload(r, c, now) for r, c in rows]})


@bp.get("/referral-times")
@desk_required("cases")
def referral_times():
    """Per agency: median and p90 hours to acknowledge, to answer and to report the outcome,
    for referrals sent in the last ?days= (1-366, default 90). Supervisors only."""
    from datetime import timedelta

    from cases import referral_views
    from cases.schemas import PeriodIn
    from console.db import utcnow

    days = parse(PeriodIn, request.args.to_dict()).days
    now = utcnow()
    rows = referral_views.referral_times(session=db(), user=current_user,
                                         since=now - timedelta(days=days), until=now)
    return jsonify({"days": days, "agencies": rows})


@desk.get("/referrals")
@desk_required("cases")
def referrals_desk():
    """The desk's referral views, live; the agencies' times for supervisors."""
    from console.routes import page_context

    return render_template("case_referrals.html", ctx=page_context(),
                           supervisor=current_user.role.value in ("supervisor", "admin"))


@desk.get(f"/{ID}/referrals/<int(max=2147483647):referral_id>/letter")
@desk_required("cases")
def referral_letter(case_id: int, referral_id: int):
    """A printable letter with the link and its QR code, for hand delivery to the agency."""
    from cases import flows
    from cases.models import Agency, Referral
    from console.access_log import log_read
    from console.errors import N_, Conflict, NotFound
    from console.routes import page_context
    from console.twofactor import qr_data_uri

    session = db()
    case = service.read_case(session=session, case_id=case_id, user=current_user)
    referral = session.get(Referral, referral_id)
    if referral is None or referral.case_id != case.id:
        raise NotFound("referral")
    path = flows.link_path(referral, secret=current_app.config["SECRET_KEY"])
    if path is None:
        raise Conflict(N_("This referral is finished or withdrawn: its link no longer works, "
                          "so there is no letter to print."))
    log_read("referral_letter", entity="case", subjects={"case": [case.id]})
    session.commit()
    url = _link_base() + path
    response = current_app.make_response(render_template(
        "referral_letter.html", case=case, referral=referral,
        agency=session.get(Agency, referral.agency_id), url=url, qr=qr_data_uri(url),
        ctx=page_context()))
    response.headers["Cache-Control"] = "no-store"
    return response


# --- subsidies (เงินสงเคราะห์) and the fact-finding PDF --------------------------------------

SUBSIDY = "/<int(max=2147483647):subsidy_id>"


def _subsidy_settings():
    from cases import subsidies

    return subsidies.settings_from(current_app.config)


def _subsidy_body(session, subsidy) -> dict:
    """A subsidy as the case page shows it: the payload, its reason, decisions and documents,
    and whether the one asking may decide it now."""
    from cases import subsidies

    body = events.subsidy_payload(subsidy)
    body.update(reason=subsidy.reason, reject_reason=subsidy.reject_reason,
                payment_ref=subsidy.payment_ref,
                amount=subsidies.baht(subsidy.amount_satang),
                may_decide=subsidies.may_decide(session, subsidy, current_user),
                approvals=[{"step": a.step, "level": a.level_code, "approved": a.approved,
                            "by_id": a.by_id, "at": a.at.isoformat(), "note": a.note}
                           for a in subsidy.approvals],
                document_list=[{"id": d.id, "title": d.title, "content_type": d.content_type,
                                "size": d.size} for d in subsidy.documents])
    return body


@bp.get(f"/{ID}/subsidies")
@desk_required("cases")
def list_subsidies(case_id: int):
    """A case's subsidy requests with their reasons and decisions (read logged)."""
    from cases import subsidies
    from cases.models import Case
    from console.access_log import log_read

    session = db()
    service.check_access(session=session, case_id=case_id, user=current_user)
    found = subsidies.for_case(session=session, case_id=case_id)
    body = {"items": [_subsidy_body(session, s) for s in found],
            "budget_lines": subsidies.budget_lines_for(
                session, session.get(Case, case_id).province_code),
            "max_baht": _subsidy_settings().max_baht}
    log_read("subsidies", entity="case", entity_id=case_id,
             subjects={"case": [case_id], "subsidy": [s.id for s in found]})
    return jsonify(body)


@bp.post(f"/{ID}/subsidies")
@desk_required("cases")
@idempotent
@case_write(SubsidyIn, status=201)
def request_subsidy(session, data, case_id: int):
    """Ask for a subsidy: amount, reason, budget line (and the urgent plan action it serves)."""
    from cases import subsidies

    subsidy = subsidies.request_subsidy(session=session, case_id=case_id, data=data,
                                        by=current_user, settings=_subsidy_settings())
    return _subsidy_body(session, subsidy)


@bp.post(f"/{ID}/subsidies{SUBSIDY}/approve")
@desk_required("cases")
@idempotent
@case_write(SubsidyDecisionIn)
def approve_subsidy(session, data, case_id: int, subsidy_id: int):
    """Approve the level now waiting (a holder of that level, never the one who asked)."""
    from cases import subsidies

    return _subsidy_body(session, subsidies.approve(
        session=session, case_id=case_id, subsidy_id=subsidy_id, data=data, by=current_user))


@bp.post(f"/{ID}/subsidies{SUBSIDY}/reject")
@desk_required("cases")
@idempotent
@case_write(SubsidyDecisionIn)
def reject_subsidy(session, data, case_id: int, subsidy_id: int):
    """Reject at the level now waiting, with the reason: the request ends."""
    from cases import subsidies

    return _subsidy_body(session, subsidies.reject(
        session=session, case_id=case_id, subsidy_id=subsidy_id, data=data, by=current_user))


@bp.post(f"/{ID}/subsidies{SUBSIDY}/paid")
@desk_required("cases")
@idempotent
@case_write(SubsidyPaidIn)
def subsidy_paid(session, data, case_id: int, subsidy_id: int):
    """Record the payment of an approved subsidy: date and reference."""
    from cases import subsidies

    return _subsidy_body(session, subsidies.mark_paid(
        session=session, case_id=case_id, subsidy_id=subsidy_id, data=data, by=current_user))


@bp.post(f"/{ID}/subsidies{SUBSIDY}/documents")
@desk_required("cases")
def attach_subsidy_document(case_id: int, subsidy_id: int):
    """Attach one document (PDF, JPEG or PNG) to a subsidy request (multipart: file, title)."""
    from cases import subsidies
    from console.errors import N_, ValidationFailed

    service.check_access(session=db(), case_id=case_id, user=current_user)
    upload = request.files.get("file")
    if upload is None:
        raise ValidationFailed({"file": (N_("Choose a file to attach."), {})})
    title = (request.form.get("title") or upload.filename or "").strip()[:200]
    session = db()
    doc, path = subsidies.attach_document(session=session, case_id=case_id,
                                          subsidy_id=subsidy_id, data=upload.read(),
                                          title=title, by=current_user,
                                          settings=_subsidy_settings())
    try:
        session.commit()
    except Exception:
        path.unlink(missing_ok=True)  # NOTE: no row, no file.
        raise
    return jsonify({"id": doc.id, "title": doc.title, "content_type": doc.content_type,
                    "size": doc.size}), 201


@bp.get(f"/{ID}/subsidies{SUBSIDY}/documents/<int(max=2147483647):document_id>")
@desk_required("cases")
def subsidy_document(case_id: int, subsidy_id: int, document_id: int):
    """One document of a subsidy request (the read is written to the access log)."""
    from flask import Response

    from cases import subsidies
    from console.access_log import log_read

    session = db()
    doc, data = subsidies.read_document(session=session, case_id=case_id, subsidy_id=subsidy_id,
                                        document_id=document_id, by=current_user,
                                        settings=_subsidy_settings())
    log_read("subsidy_document", entity="case", entity_id=case_id,
             subjects={"case": [case_id], "subsidy": [subsidy_id]}, document_id=doc.id)
    response = Response(data, mimetype=doc.content_type)
    response.headers["Cache-Control"] = "no-store"
    response.headers["Content-Disposition"] = f'attachment; filename="document-{doc.id}"'
    return response


@bp.get(f"/{ID}/fact-finding.pdf")
@desk_required("cases")
def fact_finding_pdf(case_id: int):
    """The fact-finding form as the 2-page Thai A4 PDF (each download in the access log)."""
    from flask import Response

    from cases import pdf
    from console.access_log import log_read

    session = db()
    case = service.read_case(session=session, case_id=case_id, user=current_user)
    data = pdf.fact_finding_pdf(case, workers=service.case_workers(
        session=session, province_code=case.province_code))
    log_read("fact_finding_pdf", entity="case", entity_id=case.id, subjects={"case": [case.id]})
    response = Response(data, mimetype="application/pdf")
    response.headers["Cache-Control"] = "no-store"
    response.headers["Content-Disposition"] = (
        f'attachment; filename="fact-finding-{case.ref or case.id}.pdf"')
    return response


# The supervisors' subsidy desk: what waits for their approval, and the totals.
subsidy_desk = Blueprint("subsidy_desk", __name__, url_prefix="/desk/subsidies")


def _year_arg() -> int:
    """?year= as typed (พ.ศ. or ค.ศ.), else this year; a year outside 2000-2200 A.D. is this
    year."""
    from console.db import BANGKOK, utcnow

    this = utcnow().astimezone(BANGKOK).year
    raw = (request.args.get("year") or "").strip()
    year = int(raw) if raw.isdigit() and len(raw) == 4 else this
    year = year - 543 if year > 2300 else year
    return year if 2000 <= year <= 2200 else this


def _province_arg() -> str | None:
    raw = (request.args.get("province") or "").strip()
    return raw if len(raw) == 2 and raw.isdigit() else None


@subsidy_desk.get("")
@desk_required("supervisor")
def subsidy_page():
    """Subsidies waiting for my approval, and the totals per month, province and budget line."""
    from cases import subsidies
    from cases.models import Case
    from console.access_log import log_read
    from console.routes import page_context

    session = db()
    waiting = subsidies.waiting_for(session=session, user=current_user)
    cases = {c.id: c for c in session.query(Case).filter(
        Case.id.in_([s.case_id for s in waiting]))} if waiting else {}
    year = _year_arg()
    totals = subsidies.monthly_totals(session=session, user=current_user, year=year,
                                      province_code=_province_arg())
    names = subsidies.names_for(session, None if current_user.is_national
                                else current_user.province_code)
    log_read("subsidy_waiting", entity="case",
             subjects={"case": [s.case_id for s in waiting], "subsidy": [s.id for s in waiting]})
    return render_template("subsidies.html", waiting=waiting, cases=cases, totals=totals,
                           year=year, names=names, baht=subsidies.baht,
                           province=_province_arg(), months=_months(), ctx=page_context())


@subsidy_desk.get("/settings")
@desk_required("supervisor")
def subsidy_settings_page():
    """The province's approval chain, who approves at each level, and its budget lines
    (supervisors of the province, administrators; static/js/subsidy_settings.js)."""
    from console.routes import page_context
    from geo import gazetteer

    code = _province_arg() if current_user.is_national else current_user.province_code
    provinces = gazetteer.provinces() if current_user.is_national else []
    return render_template("subsidy_settings.html", province_code=code or "65",
                           provinces=provinces, ctx=page_context())


def _settings_province(province: str) -> str:
    """The province of a settings request, if the user may set it (403 otherwise)."""
    from cases import subsidies
    from console.errors import N_, Forbidden

    if not (province.isdigit() and subsidies.may_set(current_user, province)):
        raise Forbidden(N_("Only a supervisor of this province or an administrator sets its "
                           "subsidy approvals."))
    return province


@bp.get("/subsidy-settings/<string(length=2):province>")
@desk_required("supervisor")
def subsidy_settings(province: str):
    """A province's subsidy settings: levels in order, their holders, budget lines."""
    from cases import subsidies

    return jsonify(subsidies.settings_view(db(), _settings_province(province)))


@bp.put("/subsidy-settings/<string(length=2):province>")
@desk_required("supervisor")
@idempotent
def save_subsidy_settings(province: str):
    """Save a province's chain, holders and budget lines at once (all checked first)."""
    from cases import subsidies

    code = _settings_province(province)  # NOTE: refused (403) before any input is read
    data = parse(SubsidySettingsIn, json_body())
    session = db()
    body = subsidies.save_settings(session=session, province_code=code,
                                   levels=[e.item() for e in data.levels],
                                   lines=[e.item() for e in data.budget_lines],
                                   approvers=data.approvers, by=current_user,
                                   version=data.version or None)
    return commit_answer(session, body)


def _months() -> tuple[str, ...]:
    from flask_babel import get_locale

    from console import labels

    thai = str(get_locale() or "th").startswith("th")
    return labels._TH_MONTHS if thai else labels._EN_MONTHS


@subsidy_desk.get("/totals.csv")
@desk_required("supervisor")
def subsidy_totals_csv():
    """The year's totals as CSV (counts and amounts per month, province and budget line: no
    personal data, so no access-log row)."""
    import csv
    import io

    from flask import Response

    from cases import subsidies
    from console.labels import label, province_name

    session = db()
    year = _year_arg()
    rows = subsidies.monthly_totals(session=session, user=current_user, year=year,
                                    province_code=_province_arg())
    names = subsidies.names_for(session, None if current_user.is_national
                                else current_user.province_code)
    out = io.StringIO()
    writer = csv.writer(out)
    from flask_babel import gettext

    writer.writerow([gettext("Month"), gettext("Province"), gettext("Budget line"),
                     gettext("Requests"), gettext("Asked (baht)"), gettext("Approved (baht)"),
                     gettext("Paid (baht)"), gettext("Not approved")])
    for r in rows:
        month = f"{_months()[r['month'] - 1]} {year + 543}"
        writer.writerow([month, province_name(r["province_code"]),
                         names.get(r["budget_line"]) or label("budget_line", r["budget_line"]),
                         r["count"], f"{r['asked'] / 100:.2f}", f"{r['approved'] / 100:.2f}",
                         f"{r['paid'] / 100:.2f}", r["rejected"]])
    # NOTE: a byte-order mark so spreadsheet programs read the Thai as UTF-8.
    response = Response("\ufeff" + out.getvalue(), mimetype="text/csv; charset=utf-8")
    response.headers["Content-Disposition"] = (
        f'attachment; filename="subsidy-totals-{year + 543}.csv"')
    return response


# Hand-over between case workers (cases/handovers.py) and the gaps of province transfers.
HANDOVER = "<int(max=2147483647):handover_id>"


@bp.post(f"/{ID}/handover")
@desk_required("cases")
@idempotent
@case_write(HandoverIn, status=201)
def offer_handover(session, data, case_id: int):
    """Offer the case to another case worker of its province, with a note."""
    from cases import handovers

    handover = handovers.offer(session=session, case_id=case_id, to_user_id=data.to_user_id,
                               note=data.note, by=current_user, version=data.version)
    return events.handover_payload(handover, _case_row(case_id))


@bp.get("/handovers")
@desk_required("cases")
def handover_list():
    """Hand-overs offered to me and by me, waiting for an answer."""
    from cases import handovers
    from console.access_log import log_read

    rows = handovers.waiting(session=db(), user=current_user)
    log_read("case_handovers", entity="case",
             subjects={"case": [c.id for _h, c in rows["to_me"] + rows["by_me"]]})
    return jsonify({key: [events.handover_payload(h, c) for h, c in value]
                    for key, value in rows.items()})


@bp.post(f"/handovers/{HANDOVER}/<any(accept, decline, withdraw):step>")
@desk_required("cases")
@idempotent
@case_write(HandoverAnswerIn, checked=False)
def answer_handover(session, data, handover_id: int, step: str):
    """The receiver accepts or declines (reason); whoever offered it withdraws it."""
    from cases import handovers

    if step == "withdraw":
        handover = handovers.withdraw(session=session, handover_id=handover_id,
                                      by=current_user, version=data.version)
    else:
        handover = handovers.answer(session=session, handover_id=handover_id,
                                    accept=step == "accept", reason=data.reason,
                                    by=current_user, version=data.version)
    return events.handover_payload(handover, _case_row(handover.case_id))


@bp.post("/transfers/<int(max=2147483647):transfer_id>/withdraw")
@desk_required("cases")
@idempotent
@case_write(TransferAnswerIn, checked=False)
def withdraw_transfer(session, data, transfer_id: int):
    """The proposing province takes a pending transfer back."""
    from cases import transfers

    transfer = transfers.withdraw(session=session, transfer_id=transfer_id, by=current_user,
                                  version=data.version)
    return events.transfer_payload(transfer, _case_row(transfer.case_id))


@bp.put(f"/{ID}/place")
@desk_required("cases")
@idempotent
@case_write(PlaceIn)
def set_place(session, data, case_id: int):
    """Set the case's district and subdistrict (codes of its province's gazetteer)."""
    from cases import transfers

    case = transfers.set_place(session=session, case_id=case_id,
                               district_code=data.district_code,
                               subdistrict_code=data.subdistrict_code, by=current_user,
                               version=data.version)
    return events.case_payload(case)
