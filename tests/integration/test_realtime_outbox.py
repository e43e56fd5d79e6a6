"""The realtime outbox: events are numbered as their transaction commits, sent only after it."""

import threading

import pytest
from sqlalchemy import select

from console import realtime
from console.models import RealtimeEvent
from console.rooms import desk_rooms


@pytest.fixture
def sent(app):
    """Every (name, envelope, rooms) the app's sender was given, in order."""
    got: list[tuple[str, dict, list[str]]] = []
    factory = app.extensions["db_factory"]
    original = factory.kw["info"][realtime.SENDER_KEY]
    factory.kw["info"][realtime.SENDER_KEY] = lambda name, env, rooms: got.append(
        (name, env, rooms))
    yield got
    factory.kw["info"][realtime.SENDER_KEY] = original


def outbox(session) -> list[tuple[int, str]]:
    return [(e.seq, e.payload["data"]["id"]) for e in session.scalars(
        select(RealtimeEvent).where(RealtimeEvent.name == "test.event")
        .order_by(RealtimeEvent.seq))]


def test_events_are_numbered_in_commit_order_and_sent_after_commit(app, sent):
    factory = app.extensions["db_factory"]
    first, second = factory(), factory()
    realtime.publish(first, "test.event", {"id": 1}, desk_rooms("65"))
    realtime.publish(second, "test.event", {"id": 2}, desk_rooms("65"))
    realtime.publish(second, "test.event", {"id": 3}, desk_rooms("65"))
    assert sent == []
    second.commit()  # published later, committed first: numbered first
    assert [env["data"]["id"] for _, env, _ in sent] == [2, 3]
    first.commit()
    seqs = [env["seq"] for _, env, _ in sent]
    assert [env["data"]["id"] for _, env, _ in sent] == [2, 3, 1]
    assert seqs == sorted(seqs) and len(set(seqs)) == 3 and seqs[1] == seqs[0] + 1
    check = factory()
    assert outbox(check) == [(seqs[0], 2), (seqs[1], 3), (seqs[2], 1)]
    assert realtime.head(check) == seqs[2]
    for s in (first, second, check):
        s.close()


def test_a_savepoint_neither_sends_nor_drops_the_events_before_it(app, sent):
    factory = app.extensions["db_factory"]
    s = factory()
    realtime.publish(s, "test.event", {"id": 10}, desk_rooms("65"))
    with s.begin_nested():
        pass  # released: not the real commit
    assert sent == []
    nested = s.begin_nested()
    realtime.publish(s, "test.event", {"id": 11}, desk_rooms("65"))
    nested.rollback()  # rolled back: its event goes, the one before it stays
    assert sent == []
    with s.begin_nested():
        realtime.publish(s, "test.event", {"id": 12}, desk_rooms("65"))
    s.commit()
    assert [env["data"]["id"] for _, env, _ in sent] == [10, 12]
    assert [i for _, i in outbox(s)] == [10, 12]
    s.close()


def test_a_rolled_back_transaction_writes_and_sends_nothing(app, sent):
    factory = app.extensions["db_factory"]
    s = factory()
    before = realtime.head(s)
    s.rollback()
    realtime.publish(s, "test.event", {"id": 20}, desk_rooms("65"))
    s.rollback()
    s.commit()
    assert sent == [] and outbox(s) == [] and realtime.head(s) == before
    s.close()


@pytest.mark.parametrize("backend", ["postgresql"])
def test_a_transaction_that_publishes_does_not_hold_up_another_until_it_commits(app, sent,
                                                                                backend):
    """The counter row is locked only while committing: a slow request blocks nobody."""
    factory = app.extensions["db_factory"]
    slow = factory()
    realtime.publish(slow, "test.event", {"id": 30}, desk_rooms("65"))
    slow.flush()
    done = threading.Event()

    def other():
        s = factory()
        realtime.publish(s, "test.event", {"id": 31}, desk_rooms("65"))
        s.commit()
        s.close()
        done.set()

    worker = threading.Thread(target=other)
    worker.start()
    assert done.wait(10), "a publishing transaction waited for another one still open"
    slow.commit()
    worker.join(5)
    assert [env["data"]["id"] for _, env, _ in sent] == [31, 30]
    slow.close()


def test_the_outbox_keeps_each_envelope_as_sent_and_starts_its_counter(app, sent):
    """The outbox rows hold exactly what was sent (number, name, time, data, rooms), written
    in one statement on PostgreSQL; a database without a counter row starts one."""
    from console.models import RealtimeCounter

    factory = app.extensions["db_factory"]
    s = factory()
    s.query(RealtimeCounter).delete()
    s.commit()
    data = [{"id": 40, "text": "เด็ก \"ร้อง\" ไห้ {seq}", "n": [1.5, None, True]},
            {"id": 41, "nested": {"seq": "x", "rooms": []}}, {"id": 42}]
    for item, province in zip(data, ("65", "10", "65"), strict=True):
        realtime.publish(s, "test.event", item, desk_rooms(province))
    s.commit()
    assert [env["seq"] for _, env, _ in sent] == [1, 2, 3]
    for i, item in enumerate(data):  # one transaction of two events, then one of one
        realtime.publish(s, "test.event", {**item, "again": True}, desk_rooms("65"))
        if i % 2:
            s.commit()
    s.commit()
    assert [env["seq"] for _, env, _ in sent] == [1, 2, 3, 4, 5, 6]
    s.expire_all()
    rows = s.scalars(select(RealtimeEvent).order_by(RealtimeEvent.seq)).all()
    assert [(r.seq, r.name, sorted(r.rooms), r.payload) for r in rows] == \
        [(env["seq"], name, sorted(rooms), env) for name, env, rooms in sent]
    assert realtime.head(s) == 6
    s.close()
