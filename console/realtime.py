"""Realtime delivery: an outbox written with the change, sent only after the commit.

Domain `events.py` modules call `publish()`; nothing else emits. As the transaction commits,
its events get sequence numbers from a counter row that stays locked until the commit, so
sequence order equals commit order and a reconnecting client can ask for everything after the
last number it saw.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, event, func, insert, select, text, update
from sqlalchemy.orm import Session

from console.db import utcnow
from console.models import RealtimeCounter, RealtimeEvent

log = logging.getLogger(__name__)

OUTBOX_KEY = "realtime_outbox"
PENDING_KEY = "realtime_pending"
MARKS_KEY = "realtime_savepoints"
# Events are kept for replay this long, then pruned (checked every PRUNE_EVERY events).
RETENTION = timedelta(hours=float(os.environ.get("REALTIME_RETENTION_HOURS", "24")))
PRUNE_EVERY = 200
SENDER_KEY = "realtime_sender"

Sender = Callable[[str, dict[str, Any], list[str]], None]
_COUNTER = RealtimeCounter.__table__
_EVENT = RealtimeEvent.__table__


def take_seqs(session: Session, count: int) -> int:
    """Take `count` sequence numbers, return the last; the counter row stays locked until commit."""
    # NOTE: UPDATE takes the row lock at once (PostgreSQL) or the write lock (SQLite), so two
    # transactions that publish events commit in the order of their sequence numbers.
    # NOTE: a Core statement on the session's connection (same transaction): the ORM's bulk
    # UPDATE path (session synchronisation, result processing) cost ~1 ms of CPU a commit.
    value = session.connection().execute(
        update(_COUNTER)
        .where(_COUNTER.c.id == 1)
        .values(value=_COUNTER.c.value + count)
        .returning(_COUNTER.c.value)
    ).scalar_one_or_none()
    if value is None:
        session.add(RealtimeCounter(id=1, value=count))
        session.flush()
        value = count
    return value


def publish(session: Session, name: str, data: dict[str, Any], rooms: Iterable[str]) -> dict:
    """Queue an event: written to the outbox as this session commits, and sent after the commit.

    The envelope's sequence number is set at commit time (see `_number_before_commit`).
    """
    session.connection()  # NOTE: joins the event to the transaction: a rollback drops it.
    rooms = sorted(set(rooms))
    at = utcnow()
    envelope = {"seq": None, "name": name, "at": at.isoformat(), "data": data}
    session.info.setdefault(PENDING_KEY, []).append((envelope, rooms, at))
    return envelope


@event.listens_for(Session, "before_commit")
def _number_before_commit(session: Session) -> None:
    """Number this transaction's events and write them to the outbox, last thing before commit.

    Taking the counter last holds its lock for the commit only (not for the whole request), so
    transactions that publish no longer queue behind each other's work, and the counter is
    always the last lock taken (no lock-order deadlock with incident or team rows).
    """
    if session.in_nested_transaction():
        return  # NOTE: a SAVEPOINT released; the events wait for the real commit.
    pending = session.info.pop(PENDING_KEY, None)
    if not pending:
        return
    last = None
    if session.connection().dialect.name == "postgresql":
        last = _number_and_write_postgresql(session, pending)
    if last is None:
        last = take_seqs(session, len(pending))
        first = last - len(pending) + 1
        rows = []
        for seq, (envelope, rooms, at) in enumerate(pending, start=first):
            envelope["seq"] = seq
            rows.append({"seq": seq, "name": envelope["name"], "rooms": rooms,
                         "payload": envelope, "created_at": at})
        session.connection().execute(insert(_EVENT), rows)
    first = last - len(pending) + 1
    session.info.setdefault(OUTBOX_KEY, []).extend((env, rooms) for env, rooms, _at in pending)
    if last // PRUNE_EVERY != (first - 1) // PRUNE_EVERY:
        prune(session, older_than=utcnow() - RETENTION)


# NOTE: PostgreSQL: the counter taken and the events written in one statement (one round trip
# fewer while the counter's row lock is held, which every publishing commit waits for: under
# load that hold, not the work, bounded intake). The envelope is stored with its number first:
# '{"seq": N, ' + the rest of its JSON.
_NUMBER_AND_WRITE = text("""
    WITH c AS (UPDATE realtime_counter SET value = value + :n WHERE id = 1 RETURNING value)
    INSERT INTO realtime_event (seq, name, rooms, payload, created_at)
    SELECT c.value - :n + r.ord, r.name, CAST(r.rooms AS json),
           CAST('{"seq": ' || (c.value - :n + r.ord) || ', ' || r.rest AS json), r.at
    FROM c, unnest(CAST(:names AS text[]), CAST(:rooms AS text[]), CAST(:rests AS text[]),
                   CAST(:ats AS timestamptz[])) WITH ORDINALITY AS r(name, rooms, rest, at, ord)
    RETURNING seq""")


def _number_and_write_postgresql(session: Session, pending: list) -> int | None:
    """Number `pending` and write them to the outbox in one statement; the last number, or
    None when the counter row does not exist yet (the caller creates it)."""
    rests = []
    for envelope, _rooms, _at in pending:
        body = json.dumps({k: v for k, v in envelope.items() if k != "seq"})
        rests.append(body[1:])  # NOTE: '"name": ..., "data": ...}' after '{"seq": N, '
    seqs = session.connection().execute(_NUMBER_AND_WRITE, {
        "n": len(pending), "names": [env["name"] for env, _r, _a in pending],
        "rooms": [json.dumps(rooms) for _e, rooms, _a in pending], "rests": rests,
        "ats": [at for _e, _r, at in pending]}).scalars().all()
    if not seqs:
        return None
    last = max(seqs)
    for seq, (envelope, _rooms, _at) in enumerate(pending, start=last - len(pending) + 1):
        envelope["seq"] = seq
    return last


def head(session: Session) -> int:
    """The last sequence number handed out (0 when none)."""
    value = session.scalar(select(RealtimeCounter.value).where(RealtimeCounter.id == 1))
    return value or 0


def prune(session: Session, *, older_than: datetime) -> int:
    """Forget events older than a time (they hold incident details: keep them no longer)."""
    result = session.execute(delete(RealtimeEvent).where(RealtimeEvent.created_at < older_than))
    return result.rowcount or 0


def missed(session: Session, *, since: int, rooms: set[str], limit: int) -> dict[str, Any]:
    """One page of the events after `since` addressed to any of `rooms`, oldest first.

    Answers {events, upto, complete, gone, head}: the client is complete up to `upto` once it
    applied `events`, and asks again from there until `complete`. `gone` (reload the board
    instead) when events after `since` were already pruned, or `since` is ahead of the server
    (a restored database). A page scans at most 20 x `limit` rows, so a console far behind on a
    busy server pages through instead of one huge answer.
    """
    last = head(session)
    answer: dict[str, Any] = {"events": [], "upto": last, "complete": True, "gone": False,
                              "head": last}
    if since > last:
        answer["gone"] = True
        return answer
    if since == last:
        return answer
    oldest = session.scalar(select(func.min(RealtimeEvent.seq)))
    if oldest is None or oldest > since + 1:
        answer["gone"] = True
        return answer
    scan = max(limit, 1) * 20
    rows = session.execute(
        select(RealtimeEvent.seq, RealtimeEvent.rooms)
        .where(RealtimeEvent.seq > since, RealtimeEvent.seq <= last)
        .order_by(RealtimeEvent.seq)
        .limit(scan)
    ).all()
    wanted: list[int] = []
    upto = rows[-1][0] if len(rows) == scan else last
    for seq, row_rooms in rows:
        if rooms.intersection(row_rooms):
            wanted.append(seq)
            if len(wanted) == limit:
                upto = seq
                break
    if wanted:
        answer["events"] = list(session.scalars(
            select(RealtimeEvent.payload).where(RealtimeEvent.seq.in_(wanted))
            .order_by(RealtimeEvent.seq)))
    answer["upto"] = upto
    answer["complete"] = upto >= last
    return answer


@event.listens_for(Session, "after_commit")
def _send_after_commit(session: Session) -> None:
    if session.in_nested_transaction():
        return
    outbox = session.info.pop(OUTBOX_KEY, None)
    sender: Sender | None = session.info.get(SENDER_KEY)
    if not outbox or sender is None:
        return
    for envelope, rooms in outbox:
        try:
            sender(envelope["name"], envelope, rooms)
        except Exception:  # noqa: BLE001
            # NOTE: the change is committed and the event is in the outbox; consoles get it by
            # replay when they reconnect. A failed send must not turn a saved change into a 500.
            log.exception("realtime send failed for seq %s", envelope["seq"])


@event.listens_for(Session, "after_transaction_create")
def _mark_savepoint(session: Session, transaction) -> None:
    if transaction.nested:
        marks = session.info.setdefault(MARKS_KEY, {})
        marks[transaction] = len(session.info.get(PENDING_KEY, ()))


@event.listens_for(Session, "after_soft_rollback")
def _forget_savepoint_events(session: Session, previous_transaction) -> None:
    """A SAVEPOINT rolled back: so are the events published inside it."""
    mark = session.info.get(MARKS_KEY, {}).pop(previous_transaction, None)
    if mark is not None and PENDING_KEY in session.info:
        del session.info[PENDING_KEY][mark:]


@event.listens_for(Session, "after_rollback")
def _drop_after_rollback(session: Session) -> None:
    if session.in_nested_transaction():
        return  # NOTE: a SAVEPOINT rolled back; what was published before it still stands.
    session.info.pop(OUTBOX_KEY, None)
    session.info.pop(PENDING_KEY, None)
