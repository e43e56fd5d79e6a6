"""Realtime delivery: an outbox written with the change, sent only after the commit.

Domain `events.py` modules call `publish()`; nothing else emits. Each event gets a sequence
number from a counter row that is locked until the transaction ends, so sequence order equals
commit order and a reconnecting client can ask for everything after the last number it saw.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, event, func, select, update
from sqlalchemy.orm import Session

from console.db import utcnow
from console.models import RealtimeCounter, RealtimeEvent

log = logging.getLogger(__name__)

OUTBOX_KEY = "realtime_outbox"
# Events are kept for replay this long, then pruned (checked every PRUNE_EVERY events).
RETENTION = timedelta(hours=float(os.environ.get("REALTIME_RETENTION_HOURS", "24")))
PRUNE_EVERY = 200
SENDER_KEY = "realtime_sender"

Sender = Callable[[str, dict[str, Any], list[str]], None]


def next_seq(session: Session) -> int:
    """Take the next sequence number; the counter row stays locked until commit or rollback."""
    # NOTE: UPDATE takes the row lock at once (PostgreSQL) or the write lock (SQLite), so two
    # transactions that publish events commit in the order of their sequence numbers.
    value = session.execute(
        update(RealtimeCounter)
        .where(RealtimeCounter.id == 1)
        .values(value=RealtimeCounter.value + 1)
        .returning(RealtimeCounter.value)
    ).scalar_one_or_none()
    if value is None:
        session.add(RealtimeCounter(id=1, value=1))
        session.flush()
        value = 1
    return value


def publish(session: Session, name: str, data: dict[str, Any], rooms: Iterable[str]) -> dict:
    """Store an event in the outbox and queue it for sending after this session commits."""
    rooms = sorted(set(rooms))
    seq = next_seq(session)
    at = utcnow()
    envelope = {"seq": seq, "name": name, "at": at.isoformat(), "data": data}
    session.add(RealtimeEvent(seq=seq, name=name, rooms=rooms, payload=envelope, created_at=at))
    session.info.setdefault(OUTBOX_KEY, []).append((envelope, rooms))
    if seq % PRUNE_EVERY == 0:
        prune(session, older_than=at - RETENTION)
    return envelope


def head(session: Session) -> int:
    """The last sequence number handed out (0 when none)."""
    value = session.scalar(select(RealtimeCounter.value).where(RealtimeCounter.id == 1))
    return value or 0


def prune(session: Session, *, older_than: datetime) -> int:
    """Forget events older than a time (they hold incident details: keep them no longer)."""
    result = session.execute(delete(RealtimeEvent).where(RealtimeEvent.created_at < older_than))
    return result.rowcount or 0


def missed(session: Session, *, since: int, rooms: set[str], limit: int) -> tuple[list[dict], bool]:
    """Events after `since` addressed to any of `rooms`, oldest first.

    False (reload your board instead) when more than `limit` match, when `since` is ahead of
    the server (a restored database) or when events after it were already pruned.
    """
    last = head(session)
    if since > last or last - since > limit * 20:
        return [], False
    oldest = session.scalar(select(func.min(RealtimeEvent.seq)))
    if oldest is not None and oldest > since + 1:
        return [], False
    out: list[dict] = []
    stmt = (
        select(RealtimeEvent)
        .where(RealtimeEvent.seq > since)
        .order_by(RealtimeEvent.seq)
        .execution_options(yield_per=200)
    )
    for row in session.scalars(stmt):
        if rooms.intersection(row.rooms):
            if len(out) >= limit:
                return out, False
            out.append(row.payload)
    return out, True


@event.listens_for(Session, "after_commit")
def _send_after_commit(session: Session) -> None:
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


@event.listens_for(Session, "after_rollback")
def _drop_after_rollback(session: Session) -> None:
    session.info.pop(OUTBOX_KEY, None)
