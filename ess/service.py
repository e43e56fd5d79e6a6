"""ESS Help Me: citizen reports become incidents (or join an open one), with their photos."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import func, insert, or_, select, update
from sqlalchemy.orm import Session, make_transient_to_detached

from console.db import utcnow
from console.errors import N_, Conflict, Forbidden, NotFound, ValidationFailed
from console.models import User
from console.privacy import mask_national_ids
from console.service import record_audit
from dispatch import events as dispatch_events
from dispatch import fusion
from dispatch import intake as dispatch_intake
from dispatch import service as dispatch_service
from dispatch.enums import OPEN_STATUSES, Category, IncidentStatus, Priority, Source
from dispatch.models import Incident, TimelineEntry
from dispatch.schemas import IncidentIn, LocationIn
from ess import events, images
from ess.enums import ReportSource, ReportStatus
from ess.models import ApiClient, Attachment, LineFollower, Report
from ess.schemas import ReportIn
from geo import service as geo_service

# Magic bytes of the photo formats accepted.
_MAGIC: tuple[tuple[bytes, int, str], ...] = (
    (b"\xff\xd8\xff", 0, "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", 0, "image/png"),
)
_URGENT = frozenset({Category.SUICIDE_RISK, Category.TRAFFICKING})

# Incident status -> what the reporter is told (no internal notes, no team names).
PUBLIC_STATUS: dict[IncidentStatus, str] = {
    IncidentStatus.NEW: "received",
    IncidentStatus.ASSIGNED: "team_assigned",
    IncidentStatus.ACKNOWLEDGED: "team_assigned",
    IncidentStatus.EN_ROUTE: "team_on_the_way",
    IncidentStatus.ON_SCENE: "team_arrived",
    IncidentStatus.RESOLVED: "resolved",
    IncidentStatus.HANDED_OVER: "handed_to_case_worker",
    IncidentStatus.CANCELLED: "closed",
}


@dataclass(frozen=True)
class Photo:
    """An uploaded photo, already checked."""

    content_type: str
    data: bytes


@dataclass
class Submitted:
    """A stored report, the reporter's one-time token and the files written for it."""

    report: Report
    token: str
    created_incident: bool
    files: list[Path] = field(default_factory=list)
    incident: Incident | None = None


def hash_secret(value: str) -> str:
    """sha256 hex of an API key or reporter token (only hashes are stored)."""
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


def create_api_client(*, session: Session, name: str) -> tuple[ApiClient, str]:
    """Register an app; the key is returned once and only its hash is kept."""
    key = secrets.token_urlsafe(32)
    client = ApiClient(name=name, key_hash=hash_secret(key), active=True)
    session.add(client)
    session.flush()
    return client, key


def authenticate_client(*, session: Session, key: str | None) -> ApiClient | None:
    """The active client holding this API key, if any."""
    if not key:
        return None
    client = session.scalar(select(ApiClient).where(ApiClient.key_hash == hash_secret(key)))
    return client if client is not None and client.active else None


def sniff_photo(data: bytes) -> str | None:
    """JPEG, PNG or WebP by magic bytes (never by the declared type or name), else None."""
    for magic, offset, kind in _MAGIC:
        if data[offset:offset + len(magic)] == magic:
            return kind
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


def check_photos(files: list[bytes], *, max_count: int, max_bytes: int,
                 max_total: int, max_pixels: int) -> list[Photo]:
    """Accept photos by type, size, pixels and count, re-encoded without their metadata (only
    the new bytes are ever stored), or raise ValidationFailed naming the photo."""
    if len(files) > max_count:
        raise ValidationFailed({"photos": (N_("Too many photos: at most %(max)s."),
                                           {"max": max_count})})
    photos: list[Photo] = []
    total = 0
    for index, data in enumerate(files):
        total += len(data)
        if len(data) > max_bytes:
            raise ValidationFailed({f"photos.{index}": (
                N_("This photo is too large: at most %(max)s MB."),
                {"max": round(max_bytes / 1048576, 1)})})
        kind = sniff_photo(data)
        if kind is None:
            raise ValidationFailed({f"photos.{index}": (
                N_("Only JPEG, PNG or WebP photos are accepted."), {})})
        try:
            new_kind, clean = images.reencode(data, max_pixels=max_pixels)
        except images.BadImage as exc:
            raise ValidationFailed({f"photos.{index}": (exc.message, exc.params)}) from None
        if new_kind != kind:  # NOTE: the magic bytes said one format, the decoder another.
            raise ValidationFailed({f"photos.{index}": (
                N_("Only JPEG, PNG or WebP photos are accepted."), {})})
        photos.append(Photo(kind, clean))
    if total > max_total:
        raise ValidationFailed({"photos": (N_("The photos are too large together: at most "
                                              "%(max)s MB."),
                                           {"max": round(max_total / 1048576, 1)})})
    return photos


def _store_photos(session: Session, report: Report, photos: list[Photo],
                  directory: Path) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for photo in photos:
        name = secrets.token_hex(16)
        path = directory / name
        path.write_bytes(photo.data)
        written.append(path)
        report.attachments.append(Attachment(
            stored_name=name, content_type=photo.content_type, size=len(photo.data),
            sha256=hashlib.sha256(photo.data).hexdigest()))
    return written


def discard_files(paths: list[Path]) -> None:
    """Remove files written for a report whose transaction did not commit."""
    for path in paths:
        path.unlink(missing_ok=True)


def _check_position(lat: float, lon: float) -> None:
    try:
        geo_service.resolve_location(lat=lat, lon=lon, province_code=None, district_code=None,
                                     subdistrict_code=None)
    except ValidationFailed as exc:
        raise ValidationFailed({"position." + k: v for k, v in exc.errors.items()}) from None


def report_count(*, session: Session, incident_id: int) -> int:
    """How many citizen reports an incident gathers."""
    return session.scalar(select(func.count()).select_from(Report)
                          .where(Report.incident_id == incident_id)) or 0


def _reporter_clause(report: Report):
    """Reports of the same reporter (LINE user or contact) as this one; None: anonymous."""
    who = []
    if report.line_user_id:
        who.append(Report.line_user_id == report.line_user_id)
    if report.contact:
        who.append(Report.contact == report.contact)
    return or_(*who) if who else None


def report_province(report: Report) -> str | None:
    """The province a located report falls in (None: no position, or outside Thailand)."""
    if report.lat is None or report.lon is None:
        return None
    try:
        return geo_service.resolve_location(lat=report.lat, lon=report.lon, province_code=None,
                                            district_code=None,
                                            subdistrict_code=None).province_code
    except ValidationFailed:
        return None


def find_open_incident(*, session: Session, report: Report, settings: fusion.FusionSettings,
                       now: datetime) -> Incident | None:
    """The open incident a located report joins: in the province the report falls in, within
    ESS_DEDUPE_METERS of it and opened within ESS_DEDUPE_MINUTES, and either already holding a
    report of the same reporter (LINE user or contact; any category) or of the same category.

    NOTE: the reporter is who the report says it is (a typed contact proves nothing): the same
    reporter never joins an incident elsewhere, which would show them its number and status.
    """
    province = report_province(report)
    if province is None:
        return None
    # NOTE: only the incidents inside the box around the report are read, and only the columns
    # the choice needs (at 300 reports/s a province holds thousands of open incidents from the
    # last 30 minutes; loading them all was most of the time of a report). The exact distance
    # is still checked below.
    lat_span, lon_span = _box(report.lat, settings.meters)
    candidates = session.execute(select(
        Incident.id, Incident.lat, Incident.lon, Incident.category).where(
        Incident.province_code == province, Incident.status.in_(OPEN_STATUSES),
        Incident.created_at >= now - timedelta(minutes=settings.minutes),
        Incident.lat.between(report.lat - lat_span, report.lat + lat_span),
        Incident.lon.between(report.lon - lon_span, report.lon + lon_span))).all()
    near = []
    for incident_id, lat, lon, category in candidates:
        km = geo_service.haversine_km(report.lat, report.lon, lat, lon)
        if km * 1000 <= settings.meters:
            near.append((km, incident_id, category))
    if not near:
        return None
    who = _reporter_clause(report)
    mine: set[int] = set()
    if who is not None:
        mine = set(session.scalars(select(Report.incident_id).where(
            who, Report.id != report.id,
            Report.incident_id.in_([incident_id for _, incident_id, _ in near]))))
    for wanted in (lambda i_id, _c: i_id in mine, lambda _i, c: c == report.category):
        found = sorted((km, i_id) for km, i_id, category in near if wanted(i_id, category))
        if found:
            return session.get(Incident, found[0][1])
    return None


def _box(lat: float, meters: float) -> tuple[float, float]:
    """Half the sides (degrees of latitude, of longitude) of a box holding every point within
    `meters` of a point at `lat`, with a margin (the exact distance is checked after)."""
    from math import cos, radians

    lat_span = meters / 111_000 * 1.01 + 1e-6
    lon_span = lat_span / max(cos(radians(min(abs(lat) + lat_span, 89.0))), 0.01)
    return lat_span, lon_span


def reporter_open_incident(*, session: Session, report: Report) -> Incident | None:
    """The latest open incident already holding a report of the same reporter (any place)."""
    who = _reporter_clause(report)
    if who is None:
        return None
    return session.scalar(
        select(Incident).join(Report, Report.incident_id == Incident.id)
        .where(who, Incident.status.in_(OPEN_STATUSES), Report.id != report.id)
        .order_by(Incident.created_at.desc(), Incident.id.desc()).limit(1))


def _incident_for(session: Session, report: Report, *, by: User | None = None,
                  same_reporter: Incident | None = None,
                  report_count: int | None = None) -> Incident:
    """Open a new incident for a report (its position is reverse-geocoded). With
    `report_count` (intake) its incident.created event carries the count."""
    source = Source.LINE if report.source is ReportSource.LINE else Source.APP
    data = IncidentIn(
        category=report.category,
        priority=Priority.P1 if report.category in _URGENT else Priority.P2,
        location=LocationIn(lat=report.lat, lon=report.lon),
        notes=report.description,
    )
    summary = (report.description or "").strip()[:200] or f"ESS Help Me ({source.value})"
    try:
        if report_count is not None and by is None:
            return dispatch_intake.open_incident(
                session=session, data=data, source=source, summary=summary,
                same_reporter=same_reporter, report_count=report_count)
        return dispatch_service.create_incident_from_report(
            session=session, data=data, source=source, summary=summary, by=by,
            same_reporter=same_reporter)
    except ValidationFailed as exc:
        raise ValidationFailed({k.replace("location.", "position.", 1): v
                                for k, v in exc.errors.items()}) from None


def link_report(*, session: Session, report: Report, settings: fusion.FusionSettings,
                now: datetime | None = None) -> bool:
    """Attach a located report to an open incident or open one; True when one was opened.
    A new incident of a reporter who has another open one is marked "same reporter"."""
    return _link(session, report, settings, now or utcnow())[1]


def _link(session: Session, report: Report, settings: fusion.FusionSettings,
          now: datetime) -> tuple[Incident, bool]:
    """link_report, answering the incident too. A report not yet stored (the app's, a LINE
    user's first message with its place) is written here once, already linked."""
    # NOTE: nothing is flushed while choosing: the report's own row is written once, after.
    with session.no_autoflush:
        incident = find_open_incident(session=session, report=report, settings=settings,
                                      now=now)
        same = (reporter_open_incident(session=session, report=report)
                if incident is None else None)
    created = incident is None
    if incident is None:
        # NOTE: the new incident holds this report alone: its incident.created event says
        # report_count 1, so no incident.reports event follows it (one event per report).
        incident = _incident_for(session, report, same_reporter=same, report_count=1)
    report.incident_id = incident.id
    report.status = ReportStatus.LINKED
    _write_report(session, report)
    if not created:
        dispatch_intake.timeline_rows(session, incident.id, kind="report_joined", at=now,
                                      detail={"report_id": report.id})
        events.incident_reports(session=session, incident=incident,
                                report_count=report_count(session=session,
                                                          incident_id=incident.id))
    return incident, created


_REPORT = Report.__table__


def _write_report(session: Session, report: Report) -> None:
    """Store a report: a new one (not in the session) by one Core INSERT ... RETURNING, then
    kept in the session as if loaded (photos added to it after are flushed as usual); one
    already stored by the session's flush."""
    if report in session or report.id is not None:
        if report not in session:
            session.add(report)
        session.flush()
        return
    values = {}
    for column in _REPORT.columns:
        if column.key == "id":
            continue
        value = getattr(report, column.key)
        if value is None and column.default is not None:
            continue  # NOTE: the column's default is written (and read if ever asked).
        values[column.key] = value
    report.id = session.connection().execute(
        insert(_REPORT).returning(_REPORT.c.id), values).scalar_one()
    for key, value in values.items():
        setattr(report, key, value)  # NOTE: set, so nothing is read back later
    if "attachments" not in report.__dict__:
        report.attachments = []
    make_transient_to_detached(report)
    session.add(report)


def submit_report(
    *, session: Session, data: ReportIn, source: ReportSource, settings: fusion.FusionSettings,
    attachment_dir: Path, photos: list[Photo] = (), client: ApiClient | None = None,
    line_user_id: str | None = None, client_id: int | None = None,
) -> Submitted:
    """Store a report with its photos and link it to an incident; the token is shown once."""
    _check_position(data.position.lat, data.position.lon)
    token = secrets.token_urlsafe(24)
    now = utcnow()
    report = Report(
        source=source, api_client_id=client.id if client else client_id, contact=data.contact,
        line_user_id=line_user_id, lat=data.position.lat, lon=data.position.lon,
        accuracy_m=data.position.accuracy_m, category=data.category,
        description=data.description, client_time=data.client_time,
        status=ReportStatus.RECEIVED, token_hash=hash_secret(token), created_at=now,
        attachments=[],  # NOTE: a new report has none yet: adding photos reads nothing.
    )
    # NOTE: the report is written once, already linked (one INSERT, no UPDATE after it).
    incident, created = _link(session, report, settings, now)
    files = _store_photos(session, report, list(photos), attachment_dir)
    try:
        session.flush()
    except Exception:
        discard_files(files)
        raise
    return Submitted(report=report, token=token, created_incident=created, files=files,
                     incident=incident)


def report_status(*, session: Session, report_id: int, token: str | None) -> dict:
    """What the reporter may see: status and public updates, never internal notes."""
    report = session.get(Report, report_id)
    if report is None or not token or report.token_hash is None or not secrets.compare_digest(
            report.token_hash, hash_secret(token)):
        raise NotFound("report")
    body: dict = {"id": report.id, "number": None, "status": "received",
                  "created_at": report.created_at.isoformat(), "updates": []}
    if report.incident_id is None:
        return body
    incident = session.get(Incident, report.incident_id)
    body["number"] = incident.ref
    body["status"] = PUBLIC_STATUS[incident.status]
    entries = session.scalars(select(TimelineEntry).where(
        TimelineEntry.incident_id == incident.id, TimelineEntry.to_status.is_not(None),
        TimelineEntry.at >= report.created_at).order_by(TimelineEntry.id))
    for entry in entries:
        public = PUBLIC_STATUS[IncidentStatus(entry.to_status)]
        if not body["updates"] or body["updates"][-1]["status"] != public:
            body["updates"].append({"at": entry.at.isoformat(), "status": public})
    return body


def list_reports(*, session: Session, incident_id: int, user: User) -> list[Report]:
    """The citizen reports of an incident the user may see (desk roles)."""
    if user.role not in dispatch_service.DISPATCH_ROLES:
        raise Forbidden(N_("Your role cannot use this desk."))
    dispatch_service.get_incident(session=session, incident_id=incident_id, user=user)
    return list(session.scalars(select(Report).where(Report.incident_id == incident_id)
                                .order_by(Report.id)))


def split_report(*, session: Session, report_id: int, by: User) -> Incident:
    """A wrongly attached report becomes its own incident; both timelines say so."""
    if by.role not in dispatch_service.DISPATCH_ROLES:
        raise Forbidden(N_("Only dispatchers and supervisors split or merge incidents."))
    report = session.get(Report, report_id)
    if report is None or report.incident_id is None:
        raise NotFound("report")
    old = dispatch_service.get_incident(session=session, incident_id=report.incident_id,
                                        user=by, lock=True)
    if report_count(session=session, incident_id=old.id) < 2:
        raise Conflict(N_("This report is the only one of its incident; nothing to split."))
    new = _incident_for(session, report, by=by)
    report.incident_id = new.id
    now = utcnow()
    dispatch_service._timeline(session, old, kind="report_split", by=by, at=now,
                               note=new.ref or "", detail={"report_id": report.id,
                                                           "incident_id": new.id})
    dispatch_service._timeline(session, new, kind="split_from", by=by, at=now,
                               note=old.ref or "", detail={"report_id": report.id,
                                                           "incident_id": old.id})
    session.flush()
    for incident in (old, new):
        events.incident_reports(session=session, incident=incident, report_count=report_count(
            session=session, incident_id=incident.id))
    return new


def merge_incidents(*, session: Session, keep_id: int, duplicate_id: int, by: User) -> Incident:
    """The duplicate is cancelled pointing at the kept incident, and its reports move there."""
    if by.role not in dispatch_service.DISPATCH_ROLES:
        raise Forbidden(N_("Only dispatchers and supervisors split or merge incidents."))
    if keep_id == duplicate_id:
        raise Conflict(N_("An incident cannot be merged into itself."))
    keep = dispatch_service.get_incident(session=session, incident_id=keep_id, user=by, lock=True)
    duplicate = dispatch_service.get_incident(session=session, incident_id=duplicate_id, user=by)
    if keep.status not in OPEN_STATUSES:
        raise Conflict(N_("Incident %(ref)s is already closed."), ref=keep.ref)
    dispatch_service.cancel_incident(session=session, incident_id=duplicate.id, by=by,
                                     reason=f"merged into {keep.ref}")
    now = utcnow()
    duplicate.timeline[-1].detail = {"merged_into": keep.id, "ref": keep.ref}
    # NOTE: the reports moved are recorded on the merge, so that a split moves back just these.
    moved = sorted(session.scalars(select(Report.id).where(Report.incident_id == duplicate.id)))
    session.execute(update(Report).where(Report.incident_id == duplicate.id)
                    .values(incident_id=keep.id))
    dispatch_service._timeline(session, keep, kind="merged", by=by, at=now,
                               note=duplicate.ref or "",
                               detail={"merged_from": duplicate.id, "ref": duplicate.ref,
                                       "report_ids": moved})
    session.flush()
    events.incident_reports(session=session, incident=keep,
                            report_count=report_count(session=session, incident_id=keep.id))
    return keep


def _merged_reports(session: Session, merge: TimelineEntry, merged: Incident,
                    keep: Incident) -> tuple[list[int], bool]:
    """The reports to move back: those the merge moved (recorded since issue 14), still on the
    kept incident. A merge recorded before that names none: the reports the merged incident's
    own timeline names (joined or split to it) are moved back; `False` says the list may miss
    the report that opened it."""
    recorded = (merge.detail or {}).get("report_ids")
    complete = recorded is not None
    if recorded is None:
        recorded = [e.detail.get("report_id") for e in merged.timeline
                    if e.kind in ("report_joined", "split_from") and e.detail]
    ids = [i for i in recorded if isinstance(i, int)]
    if not ids:
        return [], complete
    return sorted(session.scalars(select(Report.id).where(
        Report.id.in_(ids), Report.incident_id == keep.id))), complete


def split_merge(*, session: Session, keep_id: int, merged_id: int, by: User,
                reason: str = "") -> tuple[Incident, Incident]:
    """Undo a merge: the merged-away incident is open again (new: its team, if it had one, was
    released by the merge), the reports the merge moved go back to it, both timelines and the
    audit say so, and the pair is marked not a duplicate (never suggested again)."""
    if by.role not in dispatch_service.DISPATCH_ROLES:
        raise Forbidden(N_("Only dispatchers and supervisors split or merge incidents."))
    if keep_id == merged_id:
        raise ValidationFailed({"merged_id": (
            N_("Choose the incident that was merged into this one, not this one itself."), {})})

    def merged_one() -> Incident:
        try:
            return dispatch_service.get_incident(session=session, incident_id=merged_id,
                                                 user=by, lock=True)
        except NotFound:
            raise ValidationFailed({"merged_id": (
                N_("No incident you can see has this number."), {})}) from None

    # NOTE: both rows locked, the lower id first (as a dismissal does).
    if keep_id < merged_id:
        keep = dispatch_service.get_incident(session=session, incident_id=keep_id, user=by,
                                             lock=True)
        merged = merged_one()
    else:
        merged = merged_one()
        keep = dispatch_service.get_incident(session=session, incident_id=keep_id, user=by,
                                             lock=True)
    merge = next((e for e in fusion.open_merges(keep) if e.detail.get("merged_from") == merged.id),
                 None)
    if merge is None:
        if any(e.kind == "merge_split" and (e.detail or {}).get("merged_from") == merged.id
               for e in keep.timeline):
            raise Conflict(N_("Incident %(dup)s was already split from %(keep)s."),
                           dup=merged.ref, keep=keep.ref)
        raise Conflict(N_("Incident %(dup)s was not merged into %(keep)s: there is nothing to "
                          "split."), dup=merged.ref, keep=keep.ref)
    if merged.status is not IncidentStatus.CANCELLED:
        raise Conflict(N_("Incident %(dup)s was already split from %(keep)s."),
                       dup=merged.ref, keep=keep.ref)
    if keep.status not in OPEN_STATUSES:
        raise Conflict(N_("Incident %(ref)s is already closed."), ref=keep.ref)
    now = utcnow()
    closing = next((e for e in reversed(merged.timeline)
                    if e.to_status == IncidentStatus.CANCELLED.value), None)
    before = closing.from_status if closing is not None else None
    released = merged.team_id
    report_ids, complete = _merged_reports(session, merge, merged, keep)
    if report_ids:
        session.execute(update(Report).where(Report.id.in_(report_ids))
                        .values(incident_id=merged.id))
    merged.status = IncidentStatus.NEW
    merged.cancelled_at = None
    merged.team_id = None
    merged.offer_due_at = merged.checkin_due_at = None
    merged.updated_at = keep.updated_at = now
    detail = {"merged_from": merged.id, "ref": merged.ref, "report_ids": report_ids,
              "reports_recorded": complete, "reason": reason}
    note = f"{merged.ref}: {reason}" if reason else (merged.ref or "")
    dispatch_service._timeline(session, keep, kind="merge_split", by=by, at=now, note=note,
                               detail=detail)
    dispatch_service._timeline(
        session, merged, kind="restored", by=by, at=now, from_status=IncidentStatus.CANCELLED,
        to_status=IncidentStatus.NEW, note=f"{keep.ref}: {reason}" if reason else (keep.ref or ""),
        detail={"split_from": keep.id, "ref": keep.ref, "report_ids": report_ids,
                "status_before_merge": before, "team_released": released})
    session.flush()
    fusion.record_dismissal(session=session, a=keep, b=merged, by=by, reason=reason, via="split")
    for incident in (keep, merged):
        dispatch_events.incident_updated(session=session, incident=incident)
        events.incident_reports(session=session, incident=incident, report_count=report_count(
            session=session, incident_id=incident.id))
    return keep, merged


def report_payload(report: Report) -> dict:
    """What the dispatcher desk shows about a citizen report (no photo bytes, no token)."""
    return {
        "id": report.id, "source": report.source.value, "category": report.category.value,
        "description": mask_national_ids(report.description), "contact": report.contact,
        "line_user_id": report.line_user_id, "lat": report.lat, "lon": report.lon,
        "accuracy_m": report.accuracy_m, "status": report.status.value,
        "incident_id": report.incident_id, "created_at": report.created_at.isoformat(),
        "client_time": report.client_time.isoformat() if report.client_time else None,
        "attachments": [{"id": a.id, "content_type": a.content_type, "size": a.size,
                         "sha256": a.sha256} for a in report.attachments],
    }


# --- LINE Official Account -----------------------------------------------------------------

LINE_WELCOME = N_("Thank you for adding ESS Help Me 1300. Tell us what happened, send photos "
                  "and share the location pin of where help is needed.")
LINE_RECEIVED = N_("Report %(number)s received. Our officers are on it.")
LINE_NEED_LOCATION = N_("Report %(number)s received. Please share the location pin of where "
                        "help is needed.")
LINE_OUTSIDE = N_("Report %(number)s: that location is outside Thailand. Please share the "
                  "location pin again.")
LINE_BAD_PHOTO = N_("Report %(number)s: only photos (JPEG, PNG or WebP) up to the size limit "
                    "can be attached.")
LINE_BAD_PHOTO_FIRST = N_("Only photos (JPEG, PNG or WebP) up to the size limit can be attached. "
                          "Please send the photo again, or tell us what happened.")
LINE_SEND_LOCATION = N_("Send location")
# Incident status -> the push a LINE reporter receives.
PUSH_MESSAGES: dict[IncidentStatus, str] = {
    IncidentStatus.EN_ROUTE: N_("Report %(number)s: the team is on the way."),
    IncidentStatus.ON_SCENE: N_("Report %(number)s: the team has arrived."),
    IncidentStatus.HANDED_OVER: N_("Report %(number)s: a social worker now takes care of the "
                                   "case and will follow up."),
}


@dataclass(frozen=True)
class LineInput:
    """One LINE webhook event, already verified and reduced to what the domain needs."""

    kind: str  # text | location | image | sticker | follow | unfollow
    user_id: str
    at: datetime
    text: str = ""
    lat: float | None = None
    lon: float | None = None
    image: bytes | None = None


@dataclass
class LineOutcome:
    """What to answer the LINE user (a message and its parameters), if anything."""

    report: Report | None = None
    message: str | None = None
    params: dict = field(default_factory=dict)
    ask_location: bool = False
    files: list[Path] = field(default_factory=list)
    incident: Incident | None = None  # the incident the report was linked to now, if any


def report_number(report: Report) -> str:
    """The number a citizen quotes for their report."""
    return f"ESS-{report.id:06d}"


def _follow(session: Session, user_id: str, following: bool, at: datetime) -> None:
    row = session.scalar(select(LineFollower).where(LineFollower.line_user_id == user_id))
    if row is None:
        session.add(LineFollower(line_user_id=user_id, following=following, changed_at=at))
    else:
        row.following, row.changed_at = following, at
    session.flush()


def _line_report(session: Session, item: LineInput, window_minutes: float,
                 *, create: bool = True, write: bool = True) -> Report | None:
    """The user's report still open to new messages, or a new one (untouched: create=False).
    write=False: nothing is written yet (a new one is not even in the session): the caller
    writes it once, e.g. already linked."""
    report = session.scalar(
        select(Report).where(Report.source == ReportSource.LINE,
                             Report.line_user_id == item.user_id,
                             Report.last_message_at >= item.at - timedelta(minutes=window_minutes))
        .order_by(Report.id.desc()).limit(1))
    if not create:
        return report
    if report is None:
        report = Report(source=ReportSource.LINE, line_user_id=item.user_id,
                        category=Category.OTHER, description="", status=ReportStatus.RECEIVED,
                        created_at=item.at)
        if write:
            session.add(report)
    # NOTE: a photo downloaded late (a retried job) keeps its own time but never pulls the
    # report's window back behind messages that came after it.
    if report.last_message_at is None or item.at > report.last_message_at:
        report.last_message_at = item.at
    if write:
        session.flush()
    return report


def current_line_report(*, session: Session, user_id: str, at: datetime,
                        window_minutes: float) -> Report | None:
    """The LINE user's report still open to new messages at `at`, if any (unchanged)."""
    return _line_report(session, LineInput("text", user_id, at), window_minutes, create=False)


def report_place(*, session: Session, report: Report | None,
                 incident: Incident | None = None) -> tuple[str | None, int | None]:
    """The province and incident of a report: who may see the messages sent about it
    (`incident`: the one it was just linked to, already known)."""
    if report is None or report.incident_id is None:
        return None, None
    if incident is not None and incident.id == report.incident_id:
        return incident.province_code, incident.id
    province = session.scalar(select(Incident.province_code).where(
        Incident.id == report.incident_id))
    return province, report.incident_id


def handle_line(
    *, session: Session, item: LineInput, settings: fusion.FusionSettings, window_minutes: float,
    attachment_dir: Path, max_photo_bytes: int, max_photo_pixels: int,
) -> LineOutcome:
    """Messages within the window build one report; a location links it to an incident.
    A photo that is refused changes nothing (no report is opened for it)."""
    if item.kind in {"follow", "unfollow"}:
        _follow(session, item.user_id, item.kind == "follow", item.at)
        return LineOutcome(message=LINE_WELCOME if item.kind == "follow" else None)
    photos: list[Photo] = []
    if item.kind == "image" and item.image is not None:
        try:
            photos = check_photos([item.image], max_count=1, max_bytes=max_photo_bytes,
                                  max_total=max_photo_bytes, max_pixels=max_photo_pixels)
        except ValidationFailed:
            current = _line_report(session, item, window_minutes, create=False)
            if current is None:
                return LineOutcome(message=LINE_BAD_PHOTO_FIRST)
            return LineOutcome(report=current, message=LINE_BAD_PHOTO,
                               params={"number": report_number(current)})
    # NOTE: each message writes its report once: a new report (a user's first message) is
    # inserted once, with its text or already located and linked; a known one updated once.
    # A photo needs the report in the session first (its attachment row follows it).
    report = _line_report(session, item, window_minutes, write=item.kind == "image")
    out = LineOutcome(report=report)
    if item.kind == "text" and item.text:
        joined = f"{report.description}\n{item.text}" if report.description else item.text
        report.description = joined[:4000]
    elif item.kind == "image" and photos:
        out.files = _store_photos(session, report, photos, attachment_dir)
    elif item.kind == "location" and item.lat is not None and item.lon is not None:
        try:
            _check_position(item.lat, item.lon)
        except ValidationFailed:
            out.message, out.ask_location = LINE_OUTSIDE, True
        else:
            report.lat, report.lon = item.lat, item.lon
    # NOTE: only a located report is linked (joining needs the place: same province, near).
    if out.message is None and report.incident_id is None and report.lat is not None:
        out.incident, _created = _link(session, report, settings, item.at)
    else:
        _write_report(session, report)
    out.params = {"number": report_number(report)}
    if out.message is None:
        if report.incident_id is None:
            out.message, out.ask_location = LINE_NEED_LOCATION, True
        else:
            out.message = LINE_RECEIVED
    return out


def read_attachment(*, session: Session, attachment_id: int, user: User) -> Attachment:
    """A photo for someone allowed to see its incident (desk staff of the province, or the
    team holding the job); the view is written to the audit log. Never public."""
    attachment = session.get(Attachment, attachment_id)
    if attachment is None or attachment.report.incident_id is None:
        raise NotFound("attachment")
    dispatch_service.get_incident(session=session, incident_id=attachment.report.incident_id,
                                  user=user)
    record_audit(session=session, actor_id=user.id, action="attachment.viewed",
                 entity="attachment", entity_id=attachment.id,
                 detail={"incident_id": attachment.report.incident_id})
    return attachment
