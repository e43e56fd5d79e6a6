"""Fusion on the desk (issue 14): the open incidents that are likely the same matter as another
(same caller number, a citizen report's contact included; same place within the dedupe distance
and time window, the ESS dedupe settings; same category as an added reason), never across
provinces. The dispatcher merges them with the existing merge route (ess/routes.py), or marks a
pair "not a duplicate": a dismissed pair (fusion_dismissal, also written when a merge is split
again) is never suggested again, on any desk, in any process."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from math import cos, floor, radians

from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from console.db import utcnow
from console.enums import DESK_STAFF
from console.errors import N_, Conflict, Forbidden, NotFound, ValidationFailed
from console.models import User
from console.privacy import mask_national_ids
from console.service import record_audit
from dispatch import events
from dispatch.enums import OPEN_STATUSES, Category, Precision
from dispatch.events import place_names
from dispatch.models import FusionDismissal, Incident, TimelineEntry
from dispatch.service import DISPATCH_ROLES, get_incident
from geo import service as geo_service

# Places precise enough to compare: a point, or a subdistrict's centre (two incidents placed in
# the same subdistrict at the same time). A district or province centre says too little.
_PLACED = frozenset({Precision.POINT, Precision.SUBDISTRICT})
REASONS = ("same_caller", "same_place", "same_category")


@dataclass(frozen=True)
class FusionSettings:
    """How near and how close in time two incidents (or a report and an open incident) must be
    to count as the same place: one setting for the board's suggestions and for a citizen
    report joining an open incident (ess/service.py), ESS_DEDUPE_METERS / ESS_DEDUPE_MINUTES."""

    meters: float = 300.0
    minutes: float = 30.0

    @classmethod
    def from_config(cls, config) -> FusionSettings:
        """The settings of an app's config (or any mapping with the two keys)."""
        return cls(meters=config["ESS_DEDUPE_METERS"], minutes=config["ESS_DEDUPE_MINUTES"])


@dataclass(frozen=True)
class Row:
    """What the suggestion needs of one incident."""

    id: int
    province_code: str
    lat: float | None
    lon: float | None
    precision: Precision
    place_unknown: bool
    category: Category
    created_at: datetime
    # The caller's number (E.164) and the contacts citizen reports gave, read as Thai numbers.
    numbers: frozenset[str] = frozenset()


@dataclass
class Duplicate:
    """A likely duplicate of an incident, with the reasons and how far apart they are."""

    incident_id: int
    reasons: list[str] = field(default_factory=list)
    distance_m: float | None = None
    incident: Incident | None = None


def _placed(row: Row) -> bool:
    return (row.lat is not None and row.lon is not None and not row.place_unknown
            and row.precision in _PLACED)


def _reasons(a: Row, b: Row, settings: FusionSettings) -> tuple[list[str], float | None]:
    """Why b may be the same matter as a ([] when it is not a likely duplicate)."""
    if a.id == b.id or a.province_code != b.province_code:
        return [], None
    reasons: list[str] = []
    if a.numbers & b.numbers:
        reasons.append("same_caller")
    distance = None
    if _placed(a) and _placed(b):
        distance = geo_service.haversine_km(a.lat, a.lon, b.lat, b.lon) * 1000
        close_in_time = abs((a.created_at - b.created_at).total_seconds()) <= settings.minutes * 60
        if distance <= settings.meters and close_in_time:
            reasons.append("same_place")
    if not reasons:
        return [], None
    if a.category == b.category:
        reasons.append("same_category")
    return reasons, distance


def pairs(rows: list[Row], settings: FusionSettings) -> dict[int, list[Duplicate]]:
    """Every row's likely duplicates among the rows: most reasons first, then nearest, then
    newest. Pure: rows in, suggestions out (same province only)."""
    by_province: dict[str, list[Row]] = {}
    for row in rows:
        by_province.setdefault(row.province_code, []).append(row)
    found: dict[int, list[Duplicate]] = {}
    window = timedelta(minutes=settings.minutes)
    for group in by_province.values():
        group.sort(key=lambda r: (r.created_at, r.id))
        by_number: dict[str, list[Row]] = {}
        for row in group:
            for number in row.numbers:
                by_number.setdefault(number, []).append(row)
        candidates: dict[int, set[int]] = {}
        for same in by_number.values():
            for a in same:
                candidates.setdefault(a.id, set()).update(b.id for b in same if b.id != a.id)
        _near_pairs(group, settings, window, candidates)
        index = {r.id: r for r in group}
        for a_id, others in candidates.items():
            for b_id in others:
                reasons, distance = _reasons(index[a_id], index[b_id], settings)
                if reasons:
                    found.setdefault(a_id, []).append(Duplicate(b_id, reasons, distance))
    for items in found.values():
        items.sort(key=lambda d: (-len(d.reasons), d.distance_m if d.distance_m is not None
                                  else float("inf"), -d.incident_id))
    return found


def _near_pairs(group: list[Row], settings: FusionSettings, window: timedelta,
                candidates: dict[int, set[int]]) -> None:
    """Add the placed rows near each other in place and time to `candidates`.

    NOTE: a grid of cells at least `meters` wide: only rows in the same or a neighbouring cell
    can be within the distance, so a bad day's board (a thousand open incidents of one
    province within the window) is not compared pair by pair (1.5 s; now a few ms)."""
    placed = [r for r in group if _placed(r)]
    if len(placed) < 2:
        return
    lat_cell = settings.meters / 111_000 * 1.01 + 1e-9
    widest = min(max(abs(r.lat) for r in placed) + 1.0, 89.0)
    lon_cell = lat_cell / max(cos(radians(widest)), 0.01)
    grid: dict[tuple[int, int], list[Row]] = {}
    for row in placed:
        grid.setdefault((floor(row.lat / lat_cell), floor(row.lon / lon_cell)), []).append(row)
    for (x, y), rows in grid.items():
        for dx in (-1, 0, 1):
            for dy in (-1, 0, 1):
                for a in rows:
                    for b in grid.get((x + dx, y + dy), ()):
                        if a.id < b.id and abs(a.created_at - b.created_at) <= window:
                            candidates.setdefault(a.id, set()).add(b.id)
                            candidates.setdefault(b.id, set()).add(a.id)


def _rows_stmt():
    from telephony.models import Call

    return (select(Incident.id, Incident.province_code, Incident.lat, Incident.lon,
                   Incident.precision, Incident.place_unknown, Incident.category,
                   Incident.created_at, Call.number)
            .outerjoin(Call, Call.id == Incident.call_id))


def _row(values) -> Row:
    *fields, number = values
    return Row(*fields, numbers=frozenset({number}) if number else frozenset())


def _phone(text: str | None) -> str | None:
    from telephony.schemas import FieldError, normalize_thai_phone

    try:
        return normalize_thai_phone(text or "")
    except FieldError:
        return None


def _spellings(number: str) -> list[str]:
    """How a citizen may have typed this E.164 Thai number as their report's contact."""
    from telephony.schemas import format_thai_phone

    national = "0" + number[3:] if number.startswith("+66") else number
    return sorted({number, national, format_thai_phone(number), national.replace("-", " ")})


def _with_report_numbers(session: Session, rows: list[Row]) -> list[Row]:
    """The rows with the contacts of their citizen reports added to their numbers."""
    from ess.models import Report

    ids = [r.id for r in rows]
    extra: dict[int, set[str]] = {}
    for start in range(0, len(ids), 1000):
        for incident_id, contact in session.execute(
                select(Report.incident_id, Report.contact).where(
                    Report.incident_id.in_(ids[start:start + 1000]),
                    Report.contact.is_not(None))):
            number = _phone(contact)
            if number:
                extra.setdefault(incident_id, set()).add(number)
    return [replace(r, numbers=r.numbers | frozenset(extra[r.id])) if r.id in extra else r
            for r in rows]


def _attach(session: Session, found: list[Duplicate]) -> list[Duplicate]:
    ids = list({d.incident_id for d in found})
    if ids:
        loaded = {i.id: i for i in session.scalars(select(Incident).where(Incident.id.in_(ids)))}
        for d in found:
            d.incident = loaded.get(d.incident_id)
    return [d for d in found if d.incident is not None]


def _check_role(user: User) -> None:
    if user.role not in DESK_STAFF:
        raise Forbidden(N_("Your role cannot use this desk."))


def likely_duplicates(*, session: Session, incident_id: int, user: User,
                      settings: FusionSettings) -> list[Duplicate]:
    """The open incidents of the same province that are likely the same matter as this one."""
    from ess.models import Report
    from telephony.models import Call

    _check_role(user)
    incident = get_incident(session=session, incident_id=incident_id, user=user)
    subject = _with_report_numbers(session, [
        _row(session.execute(_rows_stmt().where(Incident.id == incident.id)).one())])[0]
    window = timedelta(minutes=settings.minutes)
    wanted = [Incident.created_at.between(incident.created_at - window,
                                          incident.created_at + window)]
    if subject.numbers:
        spellings = sorted({s for n in subject.numbers for s in _spellings(n)})
        wanted += [Call.number.in_(sorted(subject.numbers)), Incident.id.in_(
            select(Report.incident_id).where(Report.contact.in_(spellings)))]
    stmt = _rows_stmt().where(Incident.province_code == incident.province_code,
                              Incident.status.in_(OPEN_STATUSES), Incident.id != incident.id,
                              or_(*wanted))
    rows = [subject, *_with_report_numbers(session, [_row(r) for r in session.execute(stmt)])]
    found = _without_dismissed(session, {incident.id: pairs(rows, settings).get(incident.id, [])})
    return _attach(session, found.get(incident.id, []))


def board_duplicates(*, session: Session, user: User,
                     settings: FusionSettings) -> dict[int, list[Duplicate]]:
    """For each open incident of the user's scope, its likely duplicates (ids and reasons)."""
    _check_role(user)
    stmt = _rows_stmt().where(Incident.status.in_(OPEN_STATUSES))
    if not user.is_national:
        stmt = stmt.where(Incident.province_code == user.province_code)
    rows = _with_report_numbers(session, [_row(r) for r in session.execute(stmt)])
    found = _without_dismissed(session, pairs(rows, settings))
    _attach(session, [d for items in found.values() for d in items])
    return found


def duplicate_payload(d: Duplicate) -> dict:
    """A suggestion as the desks show it (no caller number: the reasons say it is the same)."""
    body: dict = {"incident_id": d.incident_id, "reasons": list(d.reasons),
                  "distance_m": round(d.distance_m) if d.distance_m is not None else None}
    i = d.incident
    if i is not None:
        body.update({"ref": i.ref, "status": i.status.value, "category": i.category.value,
                     "priority": i.priority.value, "source": i.source.value,
                     "summary": mask_national_ids(i.summary),
                     "created_at": i.created_at.isoformat(),
                     "place": place_names(i.province_code, i.district_code,
                                          i.subdistrict_code)})
    return body


def open_merges(incident: Incident) -> list[TimelineEntry]:
    """The merges into this incident not split again (each its "merged" timeline entry; the
    merge itself is ess/service.merge_incidents, the split ess/service.split_merge)."""
    found: dict[int, TimelineEntry] = {}
    for entry in incident.timeline:
        other = (entry.detail or {}).get("merged_from")
        if entry.kind == "merged" and other is not None:
            found[other] = entry
        elif entry.kind == "merge_split" and other is not None:
            found.pop(other, None)
    return list(found.values())


# --- Not a duplicate ------------------------------------------------------------------------


def pair_key(a: int, b: int) -> tuple[int, int]:
    """The stored order of an unordered pair: the lower id first."""
    return (a, b) if a < b else (b, a)


def dismissed_pairs(session: Session, ids) -> set[tuple[int, int]]:
    """The dismissed pairs (lower id first) that hold one of these incidents."""
    ids = sorted(set(ids))
    found: set[tuple[int, int]] = set()
    for start in range(0, len(ids), 1000):
        chunk = ids[start:start + 1000]
        found.update((a, b) for a, b in session.execute(
            select(FusionDismissal.incident_a_id, FusionDismissal.incident_b_id).where(
                or_(FusionDismissal.incident_a_id.in_(chunk),
                    FusionDismissal.incident_b_id.in_(chunk)))))
    return found


def _without_dismissed(session: Session,
                       found: dict[int, list[Duplicate]]) -> dict[int, list[Duplicate]]:
    """The suggestions without the pairs a dispatcher marked not a duplicate."""
    found = {a: items for a, items in found.items() if items}
    gone = dismissed_pairs(session, found) if found else set()
    if not gone:
        return found
    kept: dict[int, list[Duplicate]] = {}
    for a, items in found.items():
        left = [d for d in items if pair_key(a, d.incident_id) not in gone]
        if left:
            kept[a] = left
    return kept


def _other(session: Session, other_id: int, user: User, field: str) -> Incident:
    """The second incident of a pair, refused on its field when the user cannot see it."""
    try:
        return get_incident(session=session, incident_id=other_id, user=user, lock=True)
    except NotFound:
        raise ValidationFailed({field: (N_("No incident you can see has this number."),
                                        {})}) from None


def record_dismissal(*, session: Session, a: Incident, b: Incident, by: User, reason: str = "",
                     via: str = "desk") -> FusionDismissal | None:
    """Store that a and b are not the same matter (None when the pair already was), with its
    audit row and the realtime event the desks drop the suggestion on (sent after commit)."""
    low, high = pair_key(a.id, b.id)
    existing = session.scalar(select(FusionDismissal).where(
        FusionDismissal.incident_a_id == low, FusionDismissal.incident_b_id == high))
    if existing is not None:
        return None
    now = utcnow()
    row = FusionDismissal(incident_a_id=low, incident_b_id=high, dismissed_by_id=by.id,
                          dismissed_at=now, reason=reason, via=via)
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError:
        return None  # NOTE: the same pair dismissed at the same moment (SQLite): the other won.
    if via == "desk":
        for this, other in ((a, b), (b, a)):
            session.add(TimelineEntry(
                incident=this, at=now, actor_id=by.id, kind="not_duplicate",
                note=f"{other.ref}: {reason}" if reason else (other.ref or ""),
                detail={"other_id": other.id, "ref": other.ref}))
    record_audit(session=session, actor_id=by.id, action="incident.not_duplicate",
                 entity="incident", entity_id=low, at=now,
                 detail={"incident_ids": [low, high], "refs": [a.ref, b.ref] if a.id == low
                         else [b.ref, a.ref], "reason": reason, "via": via})
    session.flush()
    events.not_duplicate(session=session, dismissal=row, incidents=(a, b))
    return row


def dismiss(*, session: Session, incident_id: int, other_id: int, by: User,
            reason: str = "") -> FusionDismissal:
    """A dispatcher or supervisor marks two open incidents of a province as not the same
    matter: they are never suggested together again (audited, heard live by the desks)."""
    if by.role not in DISPATCH_ROLES:
        raise Forbidden(N_("Only dispatchers and supervisors mark incidents as not duplicates."))
    if incident_id == other_id:
        raise ValidationFailed({"other_id": (
            N_("Choose the other incident: an incident is always the same matter as itself."),
            {})})
    # NOTE: both rows locked, the lower id first (two dispatchers on the same pair wait in turn).
    if incident_id < other_id:
        subject = get_incident(session=session, incident_id=incident_id, user=by, lock=True)
        other = _other(session, other_id, by, "other_id")
    else:
        other = _other(session, other_id, by, "other_id")
        subject = get_incident(session=session, incident_id=incident_id, user=by, lock=True)
    for incident in (subject, other):
        if incident.status not in OPEN_STATUSES:
            raise Conflict(N_("Incident %(ref)s is already closed."), ref=incident.ref)
    if subject.province_code != other.province_code:
        raise Conflict(N_("Incidents of different provinces are never suggested as duplicates."))
    row = record_dismissal(session=session, a=subject, b=other, by=by, reason=reason)
    if row is None:
        raise Conflict(N_("Incidents %(a)s and %(b)s are already marked as not duplicates."),
                       a=subject.ref, b=other.ref)
    return row


def dismissal_payload(row: FusionDismissal) -> dict:
    """A dismissal as the desks read it."""
    return {"incident_ids": [row.incident_a_id, row.incident_b_id], "via": row.via,
            "reason": mask_national_ids(row.reason),
            "dismissed_at": row.dismissed_at.isoformat(), "dismissed_by_id": row.dismissed_by_id}
