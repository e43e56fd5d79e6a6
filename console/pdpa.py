"""PDPA desk (supervisors and administrators): search the access log by person, phone number
or user; export or erase one person's data on request. Also the relay loop's housekeeping:
the Socket.IO read summaries and the retention job."""

from __future__ import annotations

import json
import logging
from datetime import date, datetime, time, timedelta

from flask import Blueprint, Response, current_app, render_template, request, url_for
from flask_babel import get_locale, gettext
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from console import access_log, data_subjects
from console.db import BANGKOK, utcnow
from console.errors import N_, ValidationFailed
from console.labels import format_be, labels_json
from console.web import db, desk_required, translate, wants_json

log = logging.getLogger(__name__)

bp = Blueprint("pdpa", __name__)

ACTION_LABELS = {
    "read.board": _l("Board: incidents and teams"),
    "read.call_list": _l("Recent calls list"),
    "read.case_list": _l("Case list"),
    "read.agency_referrals": _l("Referral list of an agency user"),
    "read.agency_referral": _l("A referral opened by an agency user"),
    "read.volunteer_tasks": _l("Tasks list of a social development volunteer"),
    "read.volunteer_task": _l("A volunteer's task opened by its link"),
    "read.referral_list": _l("Referral list of the case desk"),
    "read.referral_letter": _l("Printed a referral letter (its link)"),
    "read.screen_pop": _l("Screen pop and caller history"),
    "read.callbacks": _l("Call-back list"),
    "read.flags": _l("Watched numbers"),
    "read.reports": _l("Citizen reports: contact and LINE id"),
    "read.messages": _l("SMS of an incident"),
    "read.map": _l("Map"),
    "read.alarms": _l("Alarms"),
    "read.teams": _l("Team positions"),
    "read.users": _l("User list"),
    "read.user": _l("A user's details"),
    "read.export": _l("Export of a person's data"),
    "read.access_log": _l("Access log search"),
    "read.socket": _l("Live updates sent to a console"),
    "incident.viewed": _l("Opened an incident"),
    "case.viewed": _l("Opened a case"),
    "attachment.viewed": _l("Viewed a photo"),
    "case.national_id_revealed": _l("Showed a national ID in full"),
    "read.person_duplicates": _l("Possible duplicates of a person"),
    "read.incident_duplicates": _l("Likely duplicates of an incident"),
    "read.case_transfers": _l("Case transfers waiting for the province"),
    "read.case_handovers": _l("Cases offered to me or by me (hand-over)"),
    "read.subsidies": _l("Subsidy requests of a case"),
    "read.subsidy_document": _l("A subsidy request's document"),
    "read.subsidy_waiting": _l("Subsidies waiting for approval"),
    "read.fact_finding_pdf": _l("Fact-finding printed (PDF)"),
    "read.caller_contact": _l("Caller's or reporter's number and name of an incident"),
    "read.intake_answers": _l("Questions asked at intake and the caller's answers (an incident)"),
    "read.case_intake_answers": _l("Questions asked at intake and the caller's answers (a case)"),
}
ENTITY_LABELS = {
    "incident": _l("incidents"), "call": _l("calls"), "case": _l("cases"),
    "case_person": _l("persons in cases"), "caller_flag": _l("watched numbers"),
    "person": _l("person records (with merged ones)"),
    "report": _l("citizen reports"), "attachment": _l("photos"),
    "outbound_message": _l("SMS"), "team": _l("teams"), "alarm": _l("alarms"),
    "user": _l("users"), "socket": _l("live connection"),
    "incident_joined": _l("incidents their reports joined"),
    "idempotency": _l("app resend records"), "outbound_job": _l("queued messages"),
    "line_follower": _l("LINE follow records"),
    "referral": _l("referrals"), "follow_up": _l("follow-ups"),
    "subsidy": _l("subsidy requests"), "audit_log": _l("access log searches"),
    "subject": _l("a person's data"), "province": _l("provinces"),
}


def thai_time(value) -> str:
    """Date and time the Thai official way: '1 ธ.ค. 2569 09.26 น.' ('1 Dec 2569 BE 09:26')."""
    if value is None:
        return ""
    return format_be(value, lang=str(get_locale() or "th"))


def row_summary(row) -> str:
    """What a read showed, in words: its object, or the counts of a list."""
    counts = (row.detail or {}).get("count") or {}
    if row.action == "read.socket":
        total = (row.detail or {}).get("total", 0)
        return gettext("%(count)s live updates", count=total)
    if counts:
        return ", ".join(f"{ENTITY_LABELS.get(k, k)} {n}" for k, n in counts.items())
    if row.entity_id is not None:
        return f"{ENTITY_LABELS.get(row.entity, row.entity)} #{row.entity_id}"
    return str(ENTITY_LABELS.get(row.entity, row.entity))


def _page(**extra):
    from console.routes import page_context

    extra.setdefault("date_from", "")
    extra.setdefault("date_to", "")
    return render_template("access_log.html", action_labels=ACTION_LABELS,
                           thai_time=thai_time, row_summary=row_summary,
                           kinds=access_log.SEARCH_KINDS, ctx=page_context(), **extra)


def _day(text: str, field: str) -> date | None:
    """A date typed on the search (day/month/year, the year in พ.ศ. or ค.ศ.), or None."""
    from cases.schemas import parse_thai_date
    from console.validation import FieldError

    if not text:
        return None
    try:
        day = parse_thai_date(text)
    except FieldError as exc:
        raise ValidationFailed({field: (exc.message, exc.params)}) from None
    if not 2000 <= day.year <= 2200:
        raise ValidationFailed({field: (N_("Please check the year: type it in B.E., e.g. "
                                           "%(year)s."), {"year": utcnow().year + 543})})
    return day


def date_range(date_from: str, date_to: str) -> tuple[datetime | None, datetime | None]:
    """The instants a search by Bangkok dates covers: from the start of `date_from` to the end
    of `date_to` (both days included; either may be blank)."""
    errors: dict = {}
    days: dict[str, date | None] = {}
    for field, text in (("from", date_from), ("to", date_to)):
        try:
            days[field] = _day(text, field)
        except ValidationFailed as exc:
            errors.update(exc.errors)
    if errors:
        raise ValidationFailed(errors)
    first, last = days["from"], days["to"]
    if first and last and first > last:
        raise ValidationFailed({"to": (N_("The end date is before the start date: please "
                                          "check the dates."), {})})
    since = datetime.combine(first, time(), BANGKOK) if first else None
    until = datetime.combine(last + timedelta(days=1), time(), BANGKOK) if last else None
    return since, until


@bp.get("/desk/access-log")
@desk_required("supervisor")
def access_log_page():
    """Search the access log by person, phone number or user, between two dates (Bangkok
    days, both included); the search is logged too."""
    by = request.args.get("by", "person")
    if by not in access_log.SEARCH_KINDS:
        by = "person"
    text = (request.args.get("q") or "").strip()[:120]
    date_from = (request.args.get("from") or "").strip()[:20]
    date_to = (request.args.get("to") or "").strip()[:20]
    try:
        page = max(1, min(int(request.args.get("page", "1")), 100000))
    except ValueError:
        page = 1
    result, fields = None, {}
    if text:
        try:
            since, until = date_range(date_from, date_to)
            result = access_log.search(session=db(), user=current_user, by=by, text=text,
                                       page=page, since=since, until=until)
        except ValidationFailed as exc:
            db().rollback()
            fields = {k: translate(m, p) for k, (m, p) in exc.errors.items()}
        else:
            # NOTE: the search term is personal data itself: the row names what it matched.
            access_log.log_read("access_log", entity="audit_log", by=by, page=result.page,
                                found=result.total, subjects=result.refs,
                                since=since.isoformat() if since else None,
                                until=until.isoformat() if until else None)

    def page_link(number: int) -> str:
        args = {"by": by, "q": text, "from": date_from, "to": date_to, "page": number}
        return url_for("pdpa.access_log_page", **{k: v for k, v in args.items() if v})

    return _page(by=by, q=text, date_from=date_from, date_to=date_to, result=result,
                 fields=fields, page_link=page_link, message=request.args.get("done"))


def _subject_args(source) -> dict:
    phone = str(source.get("phone") or "").strip()[:40]
    national_id = str(source.get("national_id") or "").strip()[:40]
    line_user_id = str(source.get("line_user_id") or "").strip()[:64]
    person = source.get("person_id")
    try:
        person_id = int(person) if person not in (None, "") else None
    except (TypeError, ValueError):
        raise ValidationFailed({"person_id": (N_("This value is not valid."), {})}) from None
    return {"phone": phone or None, "national_id": national_id or None, "person_id": person_id,
            "line_user_id": line_user_id or None}


def _scope() -> str | None:
    return None if current_user.is_national else current_user.province_code


# The label groups of the codes an export holds (its legend).
EXPORT_LABELS = ("category", "priority", "status", "outcome", "call_reason", "call_status",
                 "age_group", "sex", "vulnerable_group", "flag_level", "person_role",
                 "target_group", "case_status")


@bp.get("/desk/pdpa/export")
@desk_required("supervisor")
def export():
    """Everything kept about one person (phone number, LINE user id, national ID or case
    person), as a JSON file; the export is written to the access log."""
    subject = data_subjects.find(session=db(), scope=_scope(), **_subject_args(request.args))
    body = data_subjects.export(subject, now=utcnow())
    # The codes stay as they are (data); what each means, in the reader's language.
    every = labels_json()
    body["labels"] = {group: every[group] for group in EXPORT_LABELS}
    access_log.log_read("export", entity="subject", subjects=subject.refs(),
                        kind=subject.kind, request=subject.digest(current_app.secret_key),
                        records_in_other_provinces=subject.outside)
    response = Response(json.dumps(body, ensure_ascii=False, indent=1),
                        mimetype="application/json")
    response.headers["Content-Disposition"] = 'attachment; filename="pdpa-export.json"'
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.post("/desk/pdpa/erase")
@desk_required("supervisor")
def erase():
    """Erase one person's data on request (anonymised; refused while their case is open)."""
    source = request.get_json(silent=True) if request.is_json else request.form
    source = source if isinstance(source, dict) or hasattr(source, "get") else {}
    reason = (source.get("reason") or "").strip()[:500]
    confirmed = source.get("confirm") in (True, "1", "on", "yes")
    errors = {}
    if not reason:
        errors["reason"] = (N_("Please give the reason for this request."), {})
    if not confirmed:
        errors["confirm"] = (N_("Please tick the box to confirm that the data is erased for "
                                "good."), {})
    if errors:
        raise ValidationFailed(errors)
    session = db()
    subject = data_subjects.find(session=session, scope=_scope(), **_subject_args(source))
    counts = data_subjects.erase(session=session, subject=subject, by_id=current_user.id,
                                 reason=reason, secret=current_app.secret_key, now=utcnow())
    session.commit()
    data_subjects.finish(session, current_app.config["ESS_ATTACHMENT_DIR"])
    summary = ", ".join(f"{ENTITY_LABELS.get(k, k)} {n}" for k, n in counts.items()) or "0"
    message = gettext("Erased on request: %(summary)s.", summary=summary)
    if subject.outside:
        message += " " + gettext("%(count)s more records are in other provinces, outside your "
                                 "scope: please ask a national administrator.",
                                 count=subject.outside)
    if wants_json():
        return {"erased": counts, "records_in_other_provinces": subject.outside,
                "message": message}
    return _page(by="person", q="", result=None, fields={}, message=message)


# --- the relay loop's housekeeping -------------------------------------------------------------

def housekeeping(app, manager, marks: dict, now: float) -> None:
    """Called by every relay pass (console._relay_loop): writes the due Socket.IO summaries
    every ACCESS_LOG_FLUSH_SECONDS and starts the retention job every RETENTION_CHECK_MINUTES
    (first a minute after start), each in a task of its own, so the relay never waits for
    them (a slow or unreachable database, a thousand consoles' rows)."""
    from console.extensions import socketio

    config = app.config
    if (now - marks.get("reads_flushed", 0.0) >= config["ACCESS_LOG_FLUSH_SECONDS"]
            and not marks.get("reads_running")):
        marks["reads_flushed"], marks["reads_running"] = now, True
        socketio.start_background_task(_flush_task, app, manager, marks)
    if not config["RETENTION_ENABLED"]:
        return
    every = config["RETENTION_CHECK_MINUTES"] * 60
    marks.setdefault("retention", now - every + 60)
    if now - marks["retention"] >= every and not marks.get("retention_running"):
        marks["retention"], marks["retention_running"] = now, True
        socketio.start_background_task(_retention_task, app, marks)


def flush_reads(app, manager) -> int:
    """Write the Socket.IO read summaries that are due (kept for the next try on failure)."""
    reads = access_log.reads_of(manager)
    if reads is None:
        return 0
    session = app.extensions["db_factory"]()
    summaries = []
    try:
        summaries = access_log.flush_socket_reads(
            session=session, reads=reads, now=utcnow(),
            every=timedelta(minutes=app.config["ACCESS_LOG_SOCKET_MINUTES"]),
            max_events=int(app.config["ACCESS_LOG_SOCKET_EVENTS"]))
        session.commit()
        return len(summaries)
    except Exception:  # noqa: BLE001
        session.rollback()
        reads.give_back(summaries)
        log.warning("socket read summaries not written (database unreachable); retrying")
        return 0
    finally:
        session.close()


def _flush_task(app, manager, marks: dict) -> None:
    try:
        flush_reads(app, manager)
    finally:
        marks["reads_running"] = False


def _retention_task(app, marks: dict) -> None:
    from console import retention

    try:
        retention.run_retention(factory=app.extensions["db_factory"], now=utcnow(),
                                settings=retention.settings_from(app.config))
    except Exception:  # noqa: BLE001
        log.exception("retention pass failed; trying again at the next check")
    finally:
        marks["retention_running"] = False


def register(app) -> None:
    """Attach the PDPA desk."""
    app.register_blueprint(bp)
    app.jinja_env.filters["mask_nid"] = _mask_filter


def _mask_filter(text):
    from console.privacy import mask_national_ids

    return mask_national_ids(text)

