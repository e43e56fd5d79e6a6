"""Pages and endpoints of the case workflow's partners: agency users (their referral list) and
อพม. volunteers (their tasks, with an account or through a signed link). Thin: validate, call
cases/agency.py or cases/tasks.py, commit, answer."""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify, render_template, request, url_for
from flask_babel import gettext
from flask_login import current_user

from cases import agency, referrals, tasks
from cases.partner_schemas import AgencyAnswerIn, VolunteerIn
from cases.schemas import FollowUpDoneIn
from console.access_log import log_read
from console.errors import ValidationFailed
from console.idempotency import commit_answer, idempotent
from console.validation import parse
from console.web import db, desk_required, json_body, translate

bp = Blueprint("partners", __name__)
# A volunteer without an account: the signed link is the key.
task_link = Blueprint("task_link", __name__, url_prefix="/v")
ID = "<int(max=2147483647):item_id>"


def _referral_settings() -> referrals.ReferralSettings:
    from cases.routes import _settings

    return _settings()


def _task_settings() -> tasks.TaskSettings:
    cfg = current_app.config
    return tasks.TaskSettings(secret=cfg["SECRET_KEY"], link_days=cfg["REFERRAL_LINK_DAYS"])


def _page_context() -> dict:
    from console.routes import page_context

    return page_context()


def _with_date(task: dict) -> dict:
    from datetime import date

    return {**task, "due": date.fromisoformat(task["due_on"])}


def _no_store(response):
    response.headers["Cache-Control"] = "no-store"
    return response


# --- agency users ---------------------------------------------------------------------------

@bp.get("/desk/agency")
@desk_required("agency")
def agency_desk():
    """An agency user's referral list (the rows only; each referral's data opens on demand)."""
    session = db()
    found = agency.list_referrals(session=session, user=current_user)
    log_read("agency_referrals", entity="referral",
             subjects={"referral": [r.id for r in found], "case": [r.case_id for r in found]})
    mine = agency.agency_of(session=session, user=current_user)
    return _no_store(current_app.make_response(render_template(
        "agency.html", agency=mine, rows=[agency.referral_row(r) for r in found],
        ctx=_page_context())))


@bp.get("/api/agency/referrals")
@desk_required("agency")
def agency_referrals():
    """The list again (the page reads it when a referral changes); the read is logged."""
    found = agency.list_referrals(session=db(), user=current_user)
    log_read("agency_referrals", entity="referral",
             subjects={"referral": [r.id for r in found], "case": [r.case_id for r in found]})
    return _no_store(jsonify([agency.referral_row(r) for r in found]))


@bp.get(f"/api/agency/referrals/{ID}")
@desk_required("agency")
def agency_referral(item_id: int):
    """One referral with what the client's consent let it carry; the open is logged."""
    session = db()
    referral = agency.open_referral(session=session, user=current_user, referral_id=item_id,
                                    ip=request.remote_addr)
    session.commit()
    return _no_store(jsonify(agency.referral_row(referral, with_shared=True)))


@bp.post(f"/api/agency/referrals/{ID}/step")
@desk_required("agency")
@idempotent
def agency_step(item_id: int):
    """Acknowledge, accept, decline (with the reason) or report the outcome."""
    session = db()
    agency.referral_for(session=session, user=current_user, referral_id=item_id)
    data = parse(AgencyAnswerIn, json_body())
    referral = agency.answer(session=session, user=current_user, referral_id=item_id,
                             to=data.to, note=data.note, version=data.version,
                             settings=_referral_settings(), ip=request.remote_addr)
    return commit_answer(session, agency.referral_row(referral))


# --- อพม. volunteers --------------------------------------------------------------------------

@bp.post("/api/cases/<int(max=2147483647):case_id>/follow-ups/<int(max=2147483647):item_id>"
         "/volunteer")
@desk_required("cases")
@idempotent
def give_to_volunteer(case_id: int, item_id: int):
    """Give a follow-up to an อพม. volunteer; one without an account gets a link (shown once)."""
    from cases import events
    from cases import service as case_service
    from console.twofactor import qr_data_uri

    case_service.check_access(session=db(), case_id=case_id, user=current_user)
    session = db()
    follow_up, token = tasks.assign(session=session, case_id=case_id, follow_up_id=item_id,
                                    data=parse(VolunteerIn, json_body()), by=current_user,
                                    settings=_task_settings())
    body = events.follow_up_payload(follow_up)
    if token is not None:
        base = current_app.config["PUBLIC_BASE_URL"] or request.host_url.rstrip("/")
        url = base + url_for("task_link.page", token=token)
        # NOTE: the link is in the stored idempotent answer so a retry shows the same link.
        body.update(link=url, qr=qr_data_uri(url))
    return commit_answer(session, body)


@bp.get("/desk/tasks")
@desk_required("tasks")
def tasks_desk():
    """An อพม. volunteer's tasks: the minimum of each visit or call, and its outcome form."""
    session = db()
    found = tasks.my_tasks(session=session, user=current_user)
    tasks.log_tasks(session=session, user=current_user, tasks=found, ip=request.remote_addr)
    session.commit()
    return _no_store(current_app.make_response(render_template(
        "tasks.html", tasks=[_with_date(tasks.task_data(f, c)) for f, c in found],
        ctx=_page_context())))


@bp.get("/api/tasks")
@desk_required("tasks")
def my_tasks():
    """The volunteer's tasks again (read when one is given or recorded); the read is logged."""
    session = db()
    found = tasks.my_tasks(session=session, user=current_user)
    tasks.log_tasks(session=session, user=current_user, tasks=found, ip=request.remote_addr)
    session.commit()
    return _no_store(jsonify([tasks.task_data(f, c) for f, c in found]))


@bp.post(f"/api/tasks/{ID}/done")
@desk_required("tasks")
@idempotent
def task_done(item_id: int):
    """The volunteer records what the visit or call found."""
    from cases import events

    session = db()
    tasks._user_task(session, current_user, item_id)
    follow_up = tasks.record_by_user(session=session, user=current_user, follow_up_id=item_id,
                                     data=parse(FollowUpDoneIn, json_body()))
    events.volunteer_task(session=session, follow_up=follow_up)
    return commit_answer(session, {"id": follow_up.id, "done": True})


def _task_page(follow_up, case, *, message=None, error=None, fields=None, status=200):
    response = current_app.make_response((render_template(
        "task_link.html", task=_with_date(tasks.task_data(follow_up, case)), message=message,
        error=error,
        fields=fields or {}), status))
    return _no_store(response)


@task_link.get("/<token>")
def page(token: str):
    """The volunteer's phone page: the task's minimum and the outcome form."""
    session = db()
    follow_up, case = tasks.open_link(session=session, token=token, settings=_task_settings(),
                                      ip=request.remote_addr)
    session.commit()
    return _task_page(follow_up, case)


@task_link.post("/<token>")
def record(token: str):
    """The volunteer records the outcome (and the client's words)."""
    session = db()
    form = {k: v for k, v in request.form.to_dict().items() if k != "csrf_token"}
    try:
        data = parse(FollowUpDoneIn, form)
        follow_up = tasks.record_by_link(session=session, token=token, data=data,
                                         settings=_task_settings(), ip=request.remote_addr)
    except ValidationFailed as exc:
        session.rollback()
        follow_up, case = tasks.open_link(session=session, token=token,
                                          settings=_task_settings(), ip=request.remote_addr,
                                          for_step=True)
        fields = {k: translate(m, p) for k, (m, p) in exc.errors.items()}
        return _task_page(follow_up, case, error=translate(exc.message), fields=fields,
                          status=422)
    session.commit()
    from cases.models import Case

    return _task_page(follow_up, db().get(Case, follow_up.case_id),
                      message=gettext("Thank you. What you found was sent to the social "
                                      "worker."))
