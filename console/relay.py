"""Every committed realtime event reaches every console, whatever fails in between.

The outbox (`console.realtime`) stores each event in the transaction of its change; after the
commit it is sent through Socket.IO (and the Redis message queue to the other processes). That
send can be lost: the process dies between commit and send, Redis is down or restarting, the
queue listener is reconnecting. So each server process keeps a `DeliveryLog` of the sequence
numbers its own sockets were handed (whichever process sent them) and runs a relay pass every
second: any committed event older than a short grace that never reached this process is sent to
its local sockets straight from the outbox (`ignore_queue`: it works while Redis is down, and no
other process is involved, so no claim across processes is needed). Consoles de-duplicate by
sequence number.

After each pass the process tells its consoles `sync {upto}`: every event numbered up to `upto`
for their rooms has been handed to their socket, so a console connected since its last replay
may treat itself as complete up to there. A console that stops hearing `sync` (process stuck,
database down) says it is not live and replays from the outbox itself.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import socketio as python_socketio
from sqlalchemy import select
from sqlalchemy.orm import Session

from console import realtime
from console.access_log import SocketReads
from console.models import RealtimeEvent

log = logging.getLogger(__name__)

SYNC_EVENT = "sync"
# Rows one relay pass reads at most (the rest waits for the next pass, a second later).
PASS_ROWS = 2000
# How long the queue listener waits before subscribing again after Redis went away.
RESUBSCRIBE_SECONDS = 0.5


def _seq_of(data: Any) -> int | None:
    """The sequence number of an event envelope (None for other packets)."""
    if isinstance(data, list | tuple) and data:
        data = data[0]
    if isinstance(data, dict):
        seq = data.get("seq")
        if isinstance(seq, int) and not isinstance(seq, bool):
            return seq
    return None


class DeliveryLog:
    """Sequence numbers this process handed to its own sockets, above the relay's cursor."""

    def __init__(self) -> None:
        self._seqs: set[int] = set()
        self._lock = threading.Lock()

    def note(self, data: Any) -> None:
        """Record an envelope being handed to this process's sockets."""
        seq = _seq_of(data)
        if seq is not None:
            with self._lock:
                self._seqs.add(seq)

    def has(self, seq: int) -> bool:
        """Whether this sequence number already reached this process."""
        with self._lock:
            return seq in self._seqs

    def forget_upto(self, seq: int) -> None:
        """Drop what the relay's cursor has passed."""
        with self._lock:
            self._seqs = {s for s in self._seqs if s > seq}

    def __len__(self) -> int:
        with self._lock:
            return len(self._seqs)


class TrackingManager(python_socketio.Manager):
    """The in-process client manager (one server process, no message queue), logging deliveries."""

    def __init__(self) -> None:
        super().__init__()
        self.delivery = DeliveryLog()
        self.reads = SocketReads()
        self.queue_ok = True

    def emit(self, event, data, namespace, room=None, skip_sid=None, callback=None, to=None,
             **kwargs):
        self.delivery.note(data)
        self.reads.note(data, to or room)
        return super().emit(event, data, namespace, room=room, skip_sid=skip_sid,
                            callback=callback, to=to, **kwargs)


class TrackingRedisManager(python_socketio.RedisManager):
    """The Redis message queue, logging deliveries, with health and a fast re-subscribe.

    The stock listener backs off 1-2-4-…-60 s, so after a Redis restart the process stayed deaf
    for seconds to a minute; this one retries every RESUBSCRIBE_SECONDS.
    """

    def __init__(self, url: str, *, channel: str) -> None:
        super().__init__(url, channel=channel, write_only=False,
                         redis_options={"socket_connect_timeout": 2, "health_check_interval": 30})
        self.delivery = DeliveryLog()
        self.reads = SocketReads()
        self.queue_ok = True

    def emit(self, event, data, namespace=None, room=None, skip_sid=None, callback=None,
             to=None, **kwargs):
        if kwargs.get("ignore_queue"):
            # NOTE: handed straight to this process's sockets (the relay); the others are
            # counted as they come back through _handle_emit.
            self.reads.note(data, to or room)
        return super().emit(event, data, namespace=namespace, room=room, skip_sid=skip_sid,
                            callback=callback, to=to, **kwargs)

    def _handle_emit(self, message):
        self.delivery.note(message.get("data"))
        self.reads.note(message.get("data"), message.get("room"))
        return super()._handle_emit(message)

    def _publish(self, data):
        # NOTE: one attempt with a fresh connection on error; a failed publish is not retried
        # here: the other processes' relays send the event from the outbox instead.
        for attempt in (1, 2):
            try:
                if not self.connected:
                    self._redis_connect()
                result = self.redis.publish(self.channel, self.json.dumps(data))
                return result
            except Exception as exc:  # noqa: BLE001
                self.connected = False
                self.queue_ok = False
                if attempt == 2:
                    log.warning("message queue publish failed (%s); the outbox relay will "
                                "deliver the event", exc)
        return None

    def _redis_listen_with_retries(self):  # pragma: no cover (exercised by the fault tests)
        while True:
            try:
                self._redis_connect()
                self.pubsub.subscribe(self.channel)
                self.queue_ok = True
                yield from self.pubsub.listen()
            except Exception as exc:  # noqa: BLE001
                if self.queue_ok:
                    log.error("message queue lost (%s); subscribing again every %.1f s",
                              exc, RESUBSCRIBE_SECONDS)
                self.queue_ok = False
                time.sleep(RESUBSCRIBE_SECONDS)


def make_client_manager(url: str | None, channel: str) -> python_socketio.Manager:
    """The Socket.IO client manager for this process; a queue we cannot track fails at start."""
    if not url:
        return TrackingManager()
    if url.startswith(("redis://", "rediss://", "unix://")):
        return TrackingRedisManager(url, channel=channel)
    raise RuntimeError(
        f"SOCKETIO_MESSAGE_QUEUE={url.split('://')[0]}://…: only a Redis message queue "
        "(redis:// or rediss://) is supported, because delivery to every console is checked "
        "against it. Unset it for one process, or point it at Redis.")


@dataclass
class RelayState:
    """One process's relay: how far every event has reached its sockets."""

    cursor: int | None = None
    last_sync_sent: float = 0.0
    last_sync_upto: int = -1
    relayed: int = 0
    errors: int = 0
    db_ok: bool = True
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class PassResult:
    """What one relay pass did."""

    cursor: int
    relayed: list[int]


def relay_pass(*, session: Session, state: RelayState, delivery: DeliveryLog, now: datetime,
               grace: timedelta, send_local: Callable[[str, dict, list[str]], None]) -> PassResult:
    """Send to this process's sockets every committed event that never reached them.

    An event not yet seen is left alone while younger than `grace` (its normal send may still
    be on the way); older, it is sent from the outbox. The cursor stops before the first event
    it has to wait for, so nothing is skipped.
    """
    head = realtime.head(session)
    if state.cursor is None or head < state.cursor:
        # NOTE: the first pass starts at the head (consoles that connect later replay what came
        # before); a head that went back means a restored database: start again from there.
        state.cursor = head
        return PassResult(head, [])
    rows = session.execute(
        select(RealtimeEvent.seq, RealtimeEvent.created_at)
        .where(RealtimeEvent.seq > state.cursor, RealtimeEvent.seq <= head)
        .order_by(RealtimeEvent.seq)
        .limit(PASS_ROWS)
    ).all()
    cutoff = now - grace
    advance = state.cursor
    missing: list[int] = []
    for seq, created_at in rows:
        if not delivery.has(seq):
            if created_at > cutoff:
                break
            missing.append(seq)
        advance = seq
    if not rows and head > state.cursor:
        advance = head  # NOTE: the rows were pruned (retention): nothing left to deliver.
    if missing:
        found = session.execute(
            select(RealtimeEvent.seq, RealtimeEvent.rooms, RealtimeEvent.payload)
            .where(RealtimeEvent.seq.in_(missing))
            .order_by(RealtimeEvent.seq)
        ).all()
        for seq, rooms, payload in found:
            send_local(payload["name"], payload, list(rooms))
            delivery.note(payload)
            log.info("relayed event %s from the outbox (its send never reached this process)",
                     seq)
        state.relayed += len(found)
    state.cursor = advance
    delivery.forget_upto(advance)
    return PassResult(advance, missing)


def sync_payload(*, upto: int, queue_ok: bool, db_ok: bool) -> dict[str, Any]:
    """The `sync` packet: consoles are complete up to `upto`; whether delivery is degraded."""
    return {"upto": upto, "queue": "ok" if queue_ok else "down", "db": "ok" if db_ok else "down"}
