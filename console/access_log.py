"""The PDPA access log: who read which personal data, when and from which address.

Every read of personal data writes one audit row whose action starts with `read.` (the four
reads logged before this module keep their names: incident.viewed, case.viewed,
attachment.viewed, case.national_id_revealed). A list is one row per request: `subjects` names
every object it showed (" incident:12 call:5 ") and `detail` the counts and the filter, so the
log can be searched by person, phone number or user without a row per item.

What Socket.IO sends is summarised per connection (`SocketReads`): the client manager counts
each domain event once per emit in memory (no database work on the fan-out path); the relay
loop (every ACCESS_LOG_FLUSH_SECONDS) writes one `read.socket` row per connection when it
ends, and for a connection that stays open as soon as its summary covers
ACCESS_LOG_SOCKET_MINUTES or ACCESS_LOG_SOCKET_EVENTS events, whichever comes first, with the
counts per event kind; then its counts start again.

The counts live in the process's memory until written: a process killed without warning
(kill -9, power loss) loses, per connection, at most what it was sent in the last
ACCESS_LOG_SOCKET_MINUTES (2) plus ACCESS_LOG_FLUSH_SECONDS (10 s), and past
ACCESS_LOG_SOCKET_EVENTS (500) events no more than what came within one flush interval. While
the database cannot be reached the summaries wait in memory (and the bound grows by that time).
A connection sent nothing writes no row.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from console.service import record_audit

log = logging.getLogger(__name__)

READ_PREFIX = "read."
# Reads logged under their own names before the access log had a prefix.
LEGACY_READS = ("incident.viewed", "case.viewed", "attachment.viewed",
                "case.national_id_revealed")
# A list read names at most this many objects (the count is always complete).
MAX_SUBJECTS = 1000


def subjects_text(refs: Mapping[str, Iterable[int]] | None) -> tuple[str | None, dict, bool]:
    """The `subjects` column for some objects (" kind:id ... "), their counts per kind, and
    whether the list was cut at MAX_SUBJECTS."""
    if not refs:
        return None, {}, False
    tokens: list[str] = []
    counts: dict[str, int] = {}
    for kind, ids in refs.items():
        unique = sorted({int(i) for i in ids if i is not None})
        counts[kind] = len(unique)
        tokens.extend(f"{kind}:{i}" for i in unique)
    cut = len(tokens) > MAX_SUBJECTS
    tokens = tokens[:MAX_SUBJECTS]
    return (" " + " ".join(tokens) + " ") if tokens else None, counts, cut


def record_read(*, session: Session, actor_id: int | None, what: str, entity: str,
                entity_id: int | None = None, subjects: Mapping[str, Iterable[int]] | None = None,
                detail: dict[str, Any] | None = None, ip: str | None = None,
                at: datetime | None = None):
    """One access-log row for one read (a list: one row naming every object it showed)."""
    text, counts, cut = subjects_text(subjects)
    body = dict(detail or {})
    if counts:
        body["count"] = counts
    if cut:
        body["subjects_cut"] = True
    return record_audit(session=session, actor_id=actor_id, action=READ_PREFIX + what,
                        entity=entity, entity_id=entity_id, detail=body, at=at, ip=ip,
                        subjects=text)


def log_read(what: str, *, entity: str, entity_id: int | None = None,
             subjects: Mapping[str, Iterable[int]] | None = None, **detail: Any) -> None:
    """In a request: record the logged-in user's read and commit it (no log, no data)."""
    from flask_login import current_user

    from console.web import db

    record_read(session=db(), actor_id=current_user.id, what=what, entity=entity,
                entity_id=entity_id, subjects=subjects,
                detail={k: v for k, v in detail.items() if v not in (None, "", [], {})})
    db().commit()


# --- Socket.IO: what each connection was sent, summarised -----------------------------------

@dataclass
class _Connection:
    user_id: int
    ip: str | None
    rooms: frozenset[str]
    since: datetime
    base: dict[tuple[tuple[str, ...], str], int]
    direct: dict[str, int] = field(default_factory=dict)


def _envelope(data: Any) -> dict | None:
    if isinstance(data, list | tuple) and data:
        data = data[0]
    if isinstance(data, dict) and isinstance(data.get("seq"), int):
        return data
    return None


class SocketReads:
    """Per process: counts of the domain events sent to each room set, and the connections
    whose share of them is summarised into the access log."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._sent: dict[tuple[tuple[str, ...], str], int] = {}
        self._connections: dict[str, _Connection] = {}
        self._ended: list[dict[str, Any]] = []

    def note(self, data: Any, room: Any) -> None:
        """An emit handed to this process's sockets (the hot path: one dict increment)."""
        envelope = _envelope(data)
        if envelope is None:
            return  # NOTE: only domain events (numbered) carry personal data; not hello/sync.
        if room is None:
            rooms: tuple[str, ...] = ("*",)
        elif isinstance(room, str):
            rooms = (room,)
        else:
            rooms = tuple(room)
        key = (rooms, str(envelope.get("name")))
        with self._lock:
            self._sent[key] = self._sent.get(key, 0) + 1

    def _matching(self, rooms: frozenset[str]) -> dict[tuple[tuple[str, ...], str], int]:
        return {k: v for k, v in self._sent.items() if "*" in k[0] or rooms.intersection(k[0])}

    def connected(self, sid: str, *, user_id: int, ip: str | None, rooms: Iterable[str],
                  now: datetime) -> None:
        """A console connected with these rooms."""
        rooms = frozenset(rooms)
        with self._lock:
            self._connections[sid] = _Connection(user_id, ip, rooms, now, self._matching(rooms))

    def direct(self, sid: str, names: Iterable[str]) -> None:
        """Events handed to one socket outside the rooms (a replay page)."""
        with self._lock:
            conn = self._connections.get(sid)
            if conn is None:
                return
            for name in names:
                conn.direct[name] = conn.direct.get(name, 0) + 1

    def _summary(self, conn: _Connection, now: datetime, ended: bool) -> dict[str, Any] | None:
        events: dict[str, int] = {}
        for key, count in self._matching(conn.rooms).items():
            delta = count - conn.base.get(key, 0)
            if delta:
                events[key[1]] = events.get(key[1], 0) + delta
        for name, count in conn.direct.items():
            events[name] = events.get(name, 0) + count
        if not events:
            return None
        return {"user_id": conn.user_id, "ip": conn.ip, "since": conn.since, "until": now,
                "events": dict(sorted(events.items())), "total": sum(events.values()),
                "rooms": sorted(conn.rooms), "ended": ended}

    def disconnected(self, sid: str, *, now: datetime) -> None:
        """A console went away: its summary waits for the next flush."""
        with self._lock:
            conn = self._connections.pop(sid, None)
            if conn is None:
                return
            summary = self._summary(conn, now, ended=True)
            if summary is not None:
                self._ended.append(summary)

    def take(self, *, now: datetime, every: timedelta,
             max_events: int = 0) -> list[dict[str, Any]]:
        """Summaries to write: ended connections, and open ones last summarised `every` ago or
        sent `max_events` events since (0: no such limit); their counts start again from now."""
        with self._lock:
            out, self._ended = self._ended, []
            for conn in self._connections.values():
                timed = now - conn.since >= every
                if not timed and max_events <= 0:
                    continue
                summary = self._summary(conn, now, ended=False)
                if not timed and (summary is None or summary["total"] < max_events):
                    continue
                conn.since, conn.base, conn.direct = now, self._matching(conn.rooms), {}
                if summary is not None:
                    out.append(summary)
            return out

    def give_back(self, summaries: list[dict[str, Any]]) -> None:
        """Summaries whose write failed: written at the next flush."""
        with self._lock:
            self._ended[:0] = summaries

    def open_connections(self) -> int:
        """How many consoles this process counts for."""
        with self._lock:
            return len(self._connections)


def reads_of(manager: Any) -> SocketReads | None:
    """The client manager's read counter (None for a manager without one)."""
    return getattr(manager, "reads", None)


def flush_socket_reads(*, session: Session, reads: SocketReads, now: datetime,
                       every: timedelta, max_events: int = 0) -> list[dict[str, Any]]:
    """Write the due Socket.IO summaries (one `read.socket` row per connection) and return
    them; the caller commits, and on failure hands them back with `reads.give_back`."""
    summaries = reads.take(now=now, every=every, max_events=max_events)
    for s in summaries:
        record_read(session=session, actor_id=s["user_id"], what="socket", entity="socket",
                    ip=s["ip"], at=now,
                    detail={"events": s["events"], "total": s["total"], "rooms": s["rooms"],
                            "since": s["since"].isoformat(), "until": s["until"].isoformat(),
                            "ended": s["ended"]})
    return summaries


# --- the supervisor's search ------------------------------------------------------------------

SEARCH_KINDS = ("person", "phone", "line", "user")
PAGE_SIZE = 50
# At most this many objects of each kind are looked for in the log (the most recent).
MAX_REFS_PER_KIND = 200


@dataclass
class SearchResult:
    """One page of access-log rows about a person, a phone number or a user."""

    rows: list
    total: int
    page: int
    pages: int
    matched: dict[str, int]
    users: dict[int, Any]
    refs: dict[str, list[int]]


def _refs_for_phone(session: Session, text: str, scope: str | None) -> dict[str, list[int]]:
    from console.data_subjects import find
    from console.errors import ValidationFailed

    try:
        subject = find(session=session, scope=scope, phone=text)
    except ValidationFailed as exc:
        raise ValidationFailed({"q": next(iter(exc.errors.values()))}) from exc
    return subject.refs()


def _refs_for_line(session: Session, text: str, scope: str | None) -> dict[str, list[int]]:
    from console.data_subjects import find
    from console.errors import ValidationFailed

    try:
        subject = find(session=session, scope=scope, line_user_id=text)
    except ValidationFailed as exc:
        raise ValidationFailed({"q": next(iter(exc.errors.values()))}) from exc
    return subject.refs()


def _refs_for_person(session: Session, text: str, scope: str | None) -> dict[str, list[int]]:
    from sqlalchemy import select

    from cases.models import Case, CasePerson

    digits = "".join(ch for ch in text if ch.isdigit())
    stmt = select(CasePerson.id, CasePerson.case_id).join(Case, Case.id == CasePerson.case_id)
    if len(digits) == 13:
        stmt = stmt.where(CasePerson.national_id == digits)
    else:
        pattern = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        stmt = stmt.where(CasePerson.full_name.ilike(pattern, escape="\\"))
    if scope is not None:
        stmt = stmt.where(Case.province_code == scope)
    rows = session.execute(stmt.order_by(CasePerson.id.desc()).limit(MAX_REFS_PER_KIND)).all()
    return {"case_person": [r[0] for r in rows], "case": sorted({r[1] for r in rows})}


def _users_for(session: Session, text: str, scope: str | None) -> list[int]:
    from sqlalchemy import or_, select

    from console.models import User

    pattern = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    stmt = select(User.id).where(or_(User.username == text.lower(),
                                     User.display_name.ilike(pattern, escape="\\")))
    if scope is not None:
        stmt = stmt.where(User.province_code == scope)
    return list(session.scalars(stmt.limit(MAX_REFS_PER_KIND)))


def _ref_clause(refs: dict[str, list[int]]):
    from sqlalchemy import and_, false, or_

    from console.models import AuditLog

    clauses = []
    for kind, ids in refs.items():
        ids = sorted(ids, reverse=True)[:MAX_REFS_PER_KIND]
        if not ids:
            continue
        clauses.append(and_(AuditLog.entity == kind, AuditLog.entity_id.in_(ids)))
        clauses.extend(AuditLog.subjects.like(f"% {kind}:{i} %") for i in ids)
    return or_(*clauses) if clauses else false()


def search(*, session: Session, user, by: str, text: str, page: int = 1,
           since: datetime | None = None, until: datetime | None = None) -> SearchResult:
    """Reads of personal data about a person (name or national ID of a case person), a phone
    number, a LINE user id, or by a user, within the searcher's province (national: all),
    newest first."""
    from sqlalchemy import func, or_, select

    from console.errors import N_, ValidationFailed
    from console.models import AuditLog, User

    scope = None if user.is_national else user.province_code
    text = (text or "").strip()
    if by not in SEARCH_KINDS:
        raise ValidationFailed({"by": (N_("This value is not valid."), {})})
    if len(text) < 2:
        raise ValidationFailed({"q": (N_("Please type at least 2 characters."), {})})
    if by == "phone":
        refs = _refs_for_phone(session, text, scope)
        condition = _ref_clause(refs)
    elif by == "line":
        refs = _refs_for_line(session, text, scope)
        condition = _ref_clause(refs)
    elif by == "person":
        refs = _refs_for_person(session, text, scope)
        condition = _ref_clause(refs)
    else:
        ids = _users_for(session, text, scope)
        refs = {"user": ids}
        condition = AuditLog.actor_id.in_(ids)
    reads = or_(AuditLog.action.like(READ_PREFIX + "%"), AuditLog.action.in_(LEGACY_READS))
    conditions = [reads, condition]
    if since is not None:
        conditions.append(AuditLog.at >= since)
    if until is not None:
        conditions.append(AuditLog.at < until)
    total = session.scalar(select(func.count()).select_from(AuditLog).where(*conditions)) or 0
    pages = max(1, -(-total // PAGE_SIZE))
    page = min(max(page, 1), pages)
    rows = list(session.scalars(select(AuditLog).where(*conditions)
                                .order_by(AuditLog.at.desc(), AuditLog.id.desc())
                                .offset((page - 1) * PAGE_SIZE).limit(PAGE_SIZE)))
    actor_ids = {r.actor_id for r in rows if r.actor_id is not None}
    users = {u.id: u for u in session.scalars(select(User).where(User.id.in_(actor_ids)))} \
        if actor_ids else {}
    return SearchResult(rows=rows, total=total, page=page, pages=pages,
                        matched={k: len(v) for k, v in refs.items()}, users=users,
                        refs=refs)
