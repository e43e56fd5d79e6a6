"""A data subject's requests (PDPA): export everything kept about one person, or erase it.

A person is found by a phone number (the calls from it, the incidents those calls opened, the
citizen reports giving it as contact, the flags on it, the SMS and call-backs sent to it, the
case persons with it), by a LINE user id (the citizen reports sent from it, whether the account
follows us, the LINE answers queued for it) or by a case person (and every case person with the
same national ID). An incident a person's citizen report opened, and that nobody else reported,
is theirs; one their report only joined (opened by a call or another reporter) is listed as
joined: its own text is kept, with the person's number or LINE id scrubbed from it. Recordings
of the person's calls are deleted at Twilio too (a queued job), finished outbound jobs naming
their number or LINE id and the app's idempotency rows of their reports are deleted.
Erasure anonymises: names, numbers, national IDs, contacts, LINE ids, addresses, exact positions
and the person's own free text are blanked, and the person's name, number and ID are scrubbed
from the free text of the cases and incidents they appear in; the rows stay, so counts,
categories, dates and provinces still add up. It is refused while an incident of the person is
open or a case of the person is not closed: close the case first (a protection case must not
lose its client's data while it runs). The audit log is not rewritten (append-only; it names
objects, not people, and goes at RETENTION_AUDIT_DAYS).

Everything is limited to the requester's province (national users: every province); records in
other provinces are counted, not shown, so the requester can hand over to a national user.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, or_, select
from sqlalchemy.orm import Session

from console.errors import N_, Conflict, NotFound, ValidationFailed
from console.privacy import ERASED, scrub


@dataclass
class Subject:
    """Everything found about one person within a province scope (None: national)."""

    kind: str  # phone | line | person
    key: str
    scope: str | None
    needles: list[str] = field(default_factory=list)
    calls: list = field(default_factory=list)
    incidents: list = field(default_factory=list)
    joined: list = field(default_factory=list)  # incidents their reports joined, not theirs
    jobs: list = field(default_factory=list)  # outbound jobs naming their number or LINE id
    followers: list = field(default_factory=list)  # LINE: whether the account follows us
    reports: list = field(default_factory=list)
    flags: list = field(default_factory=list)
    messages: list = field(default_factory=list)
    persons: list = field(default_factory=list)
    cases: list = field(default_factory=list)
    # The person records (cases.models.Person) of those rows, with the tombstones of records
    # merged into them: a merged person's data is the kept person's data.
    person_records: list = field(default_factory=list)
    outside: int = 0

    def refs(self) -> dict[str, list[int]]:
        """The objects found, by kind (for the access log's `subjects`)."""
        attachments = [a.id for r in self.reports for a in r.attachments]
        return {k: v for k, v in {
            "call": [c.id for c in self.calls], "incident": [i.id for i in self.incidents],
            "incident_joined": [i.id for i in self.joined],
            "report": [r.id for r in self.reports], "attachment": attachments,
            "caller_flag": [f.id for f in self.flags],
            "outbound_message": [m.id for m in self.messages],
            "case_person": [p.id for p in self.persons], "case": [c.id for c in self.cases],
            "person": [p.id for p in self.person_records],
        }.items() if v}

    def counts(self) -> dict[str, int]:
        """How many of each kind."""
        return {k: len(v) for k, v in self.refs().items()}

    def digest(self, secret: str) -> str:
        """A keyed hash of who was asked for: the audit log can match a later request without
        keeping the number or ID itself."""
        return hashlib.sha256(f"{secret}:{self.kind}:{self.key}".encode()).hexdigest()[:16]


def _phone_forms(e164: str) -> list[str]:
    """How a number may be written in free text: +66812345678, 0812345678, 081-234-5678."""
    from telephony.schemas import format_thai_phone

    national = "0" + e164[3:] if e164.startswith("+66") else e164
    shown = format_thai_phone(e164)
    return [e164, national, shown, shown.replace("-", " ")]


def _in_scope(scope: str | None, province_code: str | None) -> bool:
    return scope is None or province_code == scope


LINE_USER_ID = re.compile(r"U[0-9a-f]{32}")


def find(*, session: Session, scope: str | None, phone: str | None = None,
         person_id: int | None = None, national_id: str | None = None,
         line_user_id: str | None = None) -> Subject:
    """Everything about a person given by phone number, LINE user id, national ID or case
    person id, within a scope."""
    from cases.models import Case, CasePerson
    from telephony.schemas import normalize_thai_phone

    if sum(1 for v in (phone, person_id, national_id, line_user_id) if v) != 1:
        raise ValidationFailed({"phone": (
            N_("Please give one of: a phone number, a LINE user id or a national ID."), {})})
    if line_user_id:
        line_user_id = line_user_id.strip()
        if not LINE_USER_ID.fullmatch(line_user_id):
            raise ValidationFailed({"line_user_id": (
                N_("This LINE user id is not valid: please copy it whole from the citizen "
                   "report it came with."), {})})
        return _by_line(session, line_user_id, scope)
    if national_id:
        digits = "".join(ch for ch in national_id if ch.isdigit())
        if len(digits) != 13:
            raise ValidationFailed({"national_id": (
                N_("A national ID has 13 digits: please check the number."), {})})
        stmt = select(CasePerson.id).join(Case, Case.id == CasePerson.case_id).where(
            CasePerson.national_id == digits)
        if scope is not None:
            stmt = stmt.where(Case.province_code == scope)
        person_id = session.scalar(stmt.order_by(CasePerson.id).limit(1))
        if person_id is None:
            raise NotFound("case_person")
    if phone:
        from console.validation import FieldError

        try:
            e164 = normalize_thai_phone(phone)
        except FieldError as exc:
            raise ValidationFailed({"phone": (exc.message, exc.params)}) from exc
        return _by_phone(session, e164, scope)
    return _by_person(session, int(person_id), scope)


def _keep(subject: Subject, rows: list, province_of) -> list:
    kept = [r for r in rows if _in_scope(subject.scope, province_of(r))]
    subject.outside += len(rows) - len(kept)
    return kept


def _by_phone(session: Session, e164: str, scope: str | None) -> Subject:
    from cases.models import Case, CasePerson
    from dispatch.models import Incident
    from ess.models import Report
    from telephony.models import Call, CallerFlag, OutboundMessage
    from telephony.schemas import normalize_thai_phone

    subject = Subject(kind="phone", key=e164, scope=scope, needles=_phone_forms(e164))
    calls = list(session.scalars(select(Call).where(Call.number == e164).order_by(Call.id)))
    subject.calls = _keep(subject, calls, lambda c: c.province_code)
    call_ids = [c.id for c in subject.calls]
    if call_ids:
        incidents = list(session.scalars(
            select(Incident).where(Incident.call_id.in_(call_ids)).order_by(Incident.id)))
        subject.incidents = _keep(subject, incidents, lambda i: i.province_code)
    # NOTE: a report's contact is typed freely: candidates by their last digits, then compared
    # as numbers.
    tail = e164[-4:]
    reports = []
    for report in session.scalars(select(Report).where(Report.contact.like(f"%{tail}%"))
                                  .order_by(Report.id)):
        try:
            if normalize_thai_phone(report.contact or "") == e164:
                reports.append(report)
        except ValueError:
            continue
    subject.reports = _keep(subject, reports, lambda r: _report_province(session, r))
    _report_incidents(session, subject)
    subject.jobs = _jobs_naming(session, e164, ("to", "number"))
    flags = list(session.scalars(select(CallerFlag).where(CallerFlag.number == e164)
                                 .order_by(CallerFlag.id)))
    subject.flags = _keep(subject, flags, lambda f: f.province_code)
    messages = list(session.scalars(select(OutboundMessage).where(
        OutboundMessage.to_number == e164).order_by(OutboundMessage.id)))
    subject.messages = _keep(subject, messages, lambda m: _message_province(session, m))
    persons = list(session.scalars(select(CasePerson).where(CasePerson.phone == e164)
                                   .order_by(CasePerson.id)))
    persons, subject.person_records = _with_merged(session, persons)
    subject.persons = _keep(subject, persons,
                            lambda p: session.get(Case, p.case_id).province_code)
    case_ids = {p.case_id for p in subject.persons}
    incident_ids = [i.id for i in subject.incidents]
    conditions = []
    if incident_ids:
        conditions.append(Case.incident_id.in_(incident_ids))
    if call_ids:
        conditions.append(Case.call_id.in_(call_ids))
    if conditions:
        case_ids |= set(session.scalars(select(Case.id).where(or_(*conditions))))
    subject.cases = _keep(subject, [session.get(Case, i) for i in sorted(case_ids)],
                          lambda c: c.province_code)
    subject.needles += [c.caller_name for c in subject.calls if c.caller_name]
    return subject


def _by_line(session: Session, line_user_id: str, scope: str | None) -> Subject:
    from cases.models import Case
    from ess.models import LineFollower, Report

    subject = Subject(kind="line", key=line_user_id, scope=scope, needles=[line_user_id])
    reports = list(session.scalars(select(Report).where(Report.line_user_id == line_user_id)
                                   .order_by(Report.id)))
    subject.reports = _keep(subject, reports, lambda r: _report_province(session, r))
    _report_incidents(session, subject)
    incident_ids = [i.id for i in subject.incidents]
    if incident_ids:
        subject.cases = _keep(subject, list(session.scalars(
            select(Case).where(Case.incident_id.in_(incident_ids)).order_by(Case.id))),
            lambda c: c.province_code)
    subject.followers = list(session.scalars(select(LineFollower).where(
        LineFollower.line_user_id == line_user_id)))
    subject.jobs = _jobs_naming(session, line_user_id, ("to", "user_id"))
    return subject


def _report_incidents(session: Session, subject: Subject) -> None:
    """The incidents of the subject's reports: theirs (nobody else reported it, no call but
    theirs opened it), or only joined."""
    from dispatch.models import Incident
    from ess.models import Report

    mine = {r.id for r in subject.reports}
    calls = {c.id for c in subject.calls}
    known = {i.id for i in subject.incidents}
    for incident_id in sorted({r.incident_id for r in subject.reports if r.incident_id}):
        if incident_id in known:
            continue
        incident = session.get(Incident, incident_id)
        others = set(session.scalars(select(Report.id).where(
            Report.incident_id == incident_id))) - mine
        if not others and (incident.call_id is None or incident.call_id in calls):
            subject.incidents.append(incident)
        else:
            subject.joined.append(incident)


def _jobs_naming(session: Session, key: str, fields: tuple[str, ...]) -> list:
    """Outbound jobs whose payload names this number or LINE id, not running now."""
    from sqlalchemy import String, cast

    from jobs.enums import JobState
    from jobs.models import OutboundJob

    candidates = session.scalars(select(OutboundJob).where(
        OutboundJob.state != JobState.RUNNING,
        cast(OutboundJob.payload, String).like(f"%{key}%")).order_by(OutboundJob.id))
    return [j for j in candidates
            if any((j.payload or {}).get(name) == key for name in fields)]


def _report_province(session: Session, report) -> str | None:
    from dispatch.models import Incident

    incident = session.get(Incident, report.incident_id) if report.incident_id else None
    return incident.province_code if incident else None


def _message_province(session: Session, message) -> str | None:
    from dispatch.models import Incident
    from telephony.models import Call

    if message.incident_id:
        return session.get(Incident, message.incident_id).province_code
    if message.call_id:
        return session.get(Call, message.call_id).province_code
    return None


def _by_person(session: Session, person_id: int, scope: str | None) -> Subject:
    from cases.models import Case, CasePerson

    person = session.get(CasePerson, person_id)
    case = session.get(Case, person.case_id) if person is not None else None
    if person is None or not _in_scope(scope, case.province_code):
        raise NotFound("case_person")
    subject = Subject(kind="person", key=str(person.id), scope=scope)
    persons = [person]
    if person.national_id:
        persons = list(session.scalars(select(CasePerson).where(
            CasePerson.national_id == person.national_id).order_by(CasePerson.id)))
    persons, subject.person_records = _with_merged(session, persons)
    subject.persons = _keep(subject, persons,
                            lambda p: session.get(Case, p.case_id).province_code)
    subject.cases = [session.get(Case, i) for i in sorted({p.case_id for p in subject.persons})]
    for p in subject.persons:
        subject.needles += [p.full_name]
        if p.national_id:
            n = p.national_id
            subject.needles += [n, f"{n[0]}-{n[1:5]}-{n[5:10]}-{n[10:12]}-{n[12]}"]
        if p.phone:
            subject.needles += _phone_forms(p.phone)
    return subject


def _with_merged(session: Session, rows: list) -> tuple[list, list]:
    """The rows of the same person records (a merge moved a tombstone's rows to the kept
    person, whatever their name or ID), and those records with their tombstones."""
    from cases.models import CasePerson, Person

    ids = {r.person_id for r in rows if r.person_id is not None}
    if not ids:
        return rows, []
    records = list(session.scalars(select(Person).where(
        or_(Person.id.in_(ids), Person.merged_into_id.in_(ids))).order_by(Person.id)))
    linked = session.scalars(select(CasePerson).where(
        CasePerson.person_id.in_([r.id for r in records])))
    return sorted({r.id: r for r in [*rows, *linked]}.values(), key=lambda r: r.id), records


# --- export ----------------------------------------------------------------------------------

def _iso(value) -> str | None:
    return value.isoformat() if value is not None else None


def _value(v: Any) -> Any:
    return getattr(v, "value", v)


def export(subject: Subject, *, now: datetime) -> dict[str, Any]:
    """Everything kept about the person (within the scope), as JSON."""
    return {
        "generated_at": now.isoformat(),
        "subject": {"kind": subject.kind, "scope": subject.scope or "national"},
        "records_in_other_provinces": subject.outside,
        "calls": [{
            "id": c.id, "created_at": _iso(c.created_at), "channel": _value(c.channel),
            "number": c.number, "caller_name": c.caller_name, "summary": c.summary,
            "advice": c.advice, "outcome": _value(c.outcome), "province_code": c.province_code,
            "status": _value(c.status), "reason": _value(c.reason), "ring_at": _iso(c.ring_at),
            "answered_at": _iso(c.answered_at), "ended_at": _iso(c.ended_at),
            "has_recording": bool(c.recording_url),
            "intake_answers": [{"script_version_id": a.script_version_id,
                                "category": a.script.category, "version": a.script.version,
                                "question_index": a.question_index,
                                "question": a.question(), "answer": a.answer}
                               for a in c.script_answers]} for c in subject.calls],
        "incidents": [{
            "id": i.id, "ref": i.ref, "created_at": _iso(i.created_at),
            "category": _value(i.category), "priority": _value(i.priority),
            "status": _value(i.status), "summary": i.summary, "notes": i.notes,
            "province_code": i.province_code, "district_code": i.district_code,
            "subdistrict_code": i.subdistrict_code, "address_text": i.address_text,
            "lat": i.lat, "lon": i.lon,
            "people": [{"age_group": _value(p.age_group), "sex": _value(p.sex),
                        "vulnerable_group": _value(p.vulnerable_group)} for p in i.people],
        } for i in subject.incidents],
        "incidents_joined": [{
            "id": i.id, "ref": i.ref, "created_at": _iso(i.created_at),
            "category": _value(i.category), "status": _value(i.status),
            "province_code": i.province_code} for i in subject.joined],
        "reports": [{
            "id": r.id, "source": _value(r.source), "created_at": _iso(r.created_at),
            "contact": r.contact, "line_user_id": r.line_user_id,
            "category": _value(r.category), "description": r.description, "lat": r.lat,
            "lon": r.lon, "incident_id": r.incident_id, "photos": len(r.attachments),
        } for r in subject.reports],
        "caller_flags": [{
            "id": f.id, "level": _value(f.level), "reason": f.reason,
            "created_at": _iso(f.created_at), "expires_at": _iso(f.expires_at),
            "active": f.active, "province_code": f.province_code} for f in subject.flags],
        "messages": [{
            "id": m.id, "kind": _value(m.kind), "created_at": _iso(m.created_at),
            "to": m.to_number, "body": m.body, "status": m.status} for m in subject.messages],
        "case_persons": [{
            "id": p.id, "case_id": p.case_id, "role": _value(p.role),
            "full_name": p.full_name, "national_id": p.national_id,
            "birth_date": _iso(p.birth_date), "age_years": p.age_years, "sex": p.sex,
            "phone": p.phone, "address_text": p.address_text,
            "relationship_to_client": p.relationship_to_client,
            "target_groups": list(p.target_groups or [])} for p in subject.persons],
        "persons": [{
            "id": p.id, "created_at": _iso(p.created_at), "merged_into_id": p.merged_into_id,
            "merged_at": _iso(p.merged_at), "merge_reason": p.merge_reason,
            "merged_case_persons": list(p.merged_rows or [])} for p in subject.person_records],
        "line_follows_us": [f.following for f in subject.followers],
        "outbound_jobs": [{
            "id": j.id, "kind": j.kind, "state": _value(j.state),
            "created_at": _iso(j.created_at)} for j in subject.jobs],
        "cases": [{
            "id": c.id, "ref": c.ref, "status": _value(c.status), "category": c.category,
            "opened_at": _iso(c.opened_at), "closed_at": _iso(c.closed_at),
            "province_code": c.province_code, "summary": c.summary} for c in subject.cases],
    }


# --- erasure ---------------------------------------------------------------------------------

def open_work(subject: Subject) -> list[str]:
    """Numbers of the person's incidents still open and cases not closed (erasure waits)."""
    from cases.enums import CaseStatus
    from dispatch.enums import OPEN_STATUSES

    refs = [i.ref or str(i.id) for i in subject.incidents + subject.joined
            if i.status in OPEN_STATUSES]
    refs += [c.ref or str(c.id) for c in subject.cases if c.status != CaseStatus.CLOSED]
    return refs


def erase(*, session: Session, subject: Subject, by_id: int | None, reason: str,
          secret: str, now: datetime) -> dict[str, int]:
    """Anonymise everything found about the person (refused while their work is open);
    audited with the counts and a keyed hash of the request, never the number or ID."""
    from console.access_log import subjects_text
    from console.service import record_audit
    from ess.models import Attachment
    from jobs.enums import JobState
    from jobs.models import OutboundJob
    from telephony.models import CallEvent

    refs = open_work(subject)
    if refs:
        raise Conflict(N_("The data cannot be erased yet: %(refs)s is still open. Please close "
                          "the case (or the incident) first, then erase."), refs=", ".join(refs))
    needles = subject.needles
    from console.retention import forget_recordings

    recorded = [(c.id, c.recording_url, c.province_code) for c in subject.calls
                if c.recording_url]
    if recorded:  # NOTE: the audio at Twilio goes too (a job queued in this transaction).
        forget_recordings(session, recorded)
    for call in subject.calls:
        if call.call_sid:
            session.execute(delete(CallEvent).where(CallEvent.call_sid == call.call_sid))
        call.number, call.caller_name, call.advice = None, "", ""
        call.summary, call.recording_url = ERASED, None
        for answer in call.script_answers:  # the caller's own words at intake
            answer.answer = ""
    for incident in subject.incidents:
        incident.summary, incident.notes, incident.address_text = ERASED, "", ""
        incident.lat = incident.lon = None
        for entry in incident.timeline:
            entry.note = scrub(entry.note, needles)
    for incident in subject.joined:
        # NOTE: another person's incident: only this person's traces leave its text.
        incident.summary, incident.notes = (scrub(incident.summary, needles),
                                            scrub(incident.notes, needles))
        for entry in incident.timeline:
            entry.note = scrub(entry.note, needles)
    removed = {"idempotency": _forget_idempotency(session, subject.reports),
               "outbound_job": len(subject.jobs), "line_follower": len(subject.followers)}
    if subject.jobs:
        session.execute(delete(OutboundJob).where(
            OutboundJob.id.in_([j.id for j in subject.jobs]),
            OutboundJob.state != JobState.RUNNING))
    for follower in subject.followers:
        session.delete(follower)
    files = []
    for report in subject.reports:
        files += [a.stored_name for a in report.attachments]
        session.execute(delete(Attachment).where(Attachment.report_id == report.id))
        report.contact = report.line_user_id = report.token_hash = None
        report.description, report.lat, report.lon, report.accuracy_m = ERASED, None, None, None
    for flag in subject.flags:
        if flag.active:
            flag.active, flag.lifted_at, flag.lifted_by_id = False, now, by_id
        flag.number, flag.reason, flag.lift_reason = "", ERASED, ""
    for message in subject.messages:
        message.to_number, message.body = "", ERASED
    for person in subject.persons:
        person.full_name, person.national_id, person.phone = ERASED, None, None
        person.birth_date, person.address_text, person.relationship_to_client = None, "", ""
        person.name_key = None  # the name's sound would still find them
    for record in subject.person_records:  # the kept person and the tombstones merged into it
        record.merge_reason = scrub(record.merge_reason, needles)
    for case in subject.cases:
        for name in ("summary", "notes", "address_text", "close_reason", "client_feedback",
                     "lessons_learned"):
            setattr(case, name, scrub(getattr(case, name), needles))
        for entry in case.timeline:
            entry.note = scrub(entry.note, needles)
        if case.assessment is not None:
            for name in ("problem", "living_conditions", "income_debts", "health", "education",
                         "safety_risks", "needs"):
                setattr(case.assessment, name, scrub(getattr(case.assessment, name), needles))
        for action in case.actions:
            action.title, action.note = scrub(action.title, needles), scrub(action.note, needles)
    counts = {k: n for k, n in subject.counts().items() if k != "incident_joined"}
    counts.update({k: n for k, n in removed.items() if n})
    text, _counts, _cut = subjects_text(subject.refs())
    record_audit(session=session, actor_id=by_id, action="pdpa.erased", entity="subject",
                 entity_id=None, at=now, subjects=text,
                 detail={"kind": subject.kind, "request": subject.digest(secret),
                         "reason": reason, "count": counts,
                         "records_in_other_provinces": subject.outside})
    session.flush()
    session.info.setdefault("retention_files", []).extend(files)
    return counts


def _forget_idempotency(session: Session, reports: list) -> int:
    """Delete the app's idempotency rows of these reports (their sealed token opens the
    report's status); they are pruned within ESS_IDEMPOTENCY_HOURS anyway."""
    from ess.models import IdempotencyRecord

    if not reports:
        return 0
    ids = {r.id for r in reports}
    since = min(r.created_at for r in reports) - timedelta(days=1)
    gone = [row.id for row in session.scalars(select(IdempotencyRecord).where(
        IdempotencyRecord.created_at >= since))
        if isinstance(row.response_body, dict) and row.response_body.get("id") in ids]
    if gone:
        session.execute(delete(IdempotencyRecord).where(IdempotencyRecord.id.in_(gone)))
    return len(gone)


def finish(session: Session, attachment_dir: str | None) -> None:
    """After the erasure committed: delete the photo files it let go."""
    from console.retention import delete_attachment_files

    delete_attachment_files(session.info.pop("retention_files", []), attachment_dir)
