"""RedisGeoIndex against a real Redis (REDIS_URL): the same answers as MemoryIndex and as brute
force. Skips with a reason without Redis; fails instead under REQUIRE_SERVICES=1.

Each test works under a key prefix of its own and deletes its keys afterwards.
"""

from __future__ import annotations

import math
import random
import uuid

import pytest

from geo.spatial import MAX_LAT, Hit, MemoryIndex, RedisGeoIndex, haversine_km
from tests.conftest import REDIS_URL, need
from tests.unit.test_spatial import BBOX, brute, random_query

pytestmark = pytest.mark.redis


@pytest.fixture
def redis_index():
    """A RedisGeoIndex under a unique key prefix, its keys deleted afterwards."""
    need("Redis", bool(REDIS_URL), "REDIS_URL is not set")
    index = RedisGeoIndex(REDIS_URL, prefix=f"test:spatial:{uuid.uuid4().hex}")
    try:
        index.client.ping()
    except Exception as exc:  # noqa: BLE001
        need("Redis", False, f"cannot reach {REDIS_URL}: {exc}")
    yield index
    index.clear()
    assert index.client.exists(index.geo_key, index.pos_key) == 0
    index.client.close()


def mixed_points(n: int, seed: int) -> list[tuple[str, float, float, float]]:
    """n rows in Thailand's bbox: mostly uniform, a fifth packed within ~2 km of central
    Bangkok (so COUNT cuts Redis's answer), a few sharing a spot (ties)."""
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        if i % 5 == 0:
            lat, lon = rng.gauss(13.7563, 0.02), rng.gauss(100.5018, 0.02)
        else:
            lat, lon = rng.uniform(BBOX[0], BBOX[2]), rng.uniform(BBOX[1], BBOX[3])
        rows.append((f"r{i:05d}", lat, lon, float(rng.randrange(1000))))
    for i in range(0, min(100, n - 1), 5):
        rows[i + 1] = (rows[i + 1][0], rows[i][1], rows[i][2], rows[i + 1][3])
    return rows


def assert_same(got: list[Hit], want: list[Hit]) -> None:
    """Same ids in the same order, same distances (to 1e-3 km; in fact exactly)."""
    assert [h.id for h in got] == [h.id for h in want]
    for g, w in zip(got, want, strict=True):
        assert abs(g.distance_km - w.distance_km) <= 1e-3
        assert (g.lat, g.lon, g.seen_at) == (w.lat, w.lon, w.seen_at)
    assert got == want  # recomputed from the exact lat/lon kept in the hash


def test_same_answers_as_memory_and_brute_force(redis_index: RedisGeoIndex) -> None:
    rows = mixed_points(5000, seed=1300)
    memory = MemoryIndex()
    memory.upsert_many(rows)
    redis_index.upsert_many(rows)
    assert len(redis_index) == len(memory) == 5000
    rng = random.Random(2024)
    for n in range(200):
        q = random_query(rng)
        if n % 4 == 0:  # a quarter of the queries in the dense Bangkok cluster
            q["lat"], q["lon"] = rng.gauss(13.7563, 0.02), rng.gauss(100.5018, 0.02)
        lat, lon = q.pop("lat"), q.pop("lon")
        want = brute(rows, lat, lon, **q)
        assert_same(memory.nearest(lat, lon, **q), want)
        assert_same(redis_index.nearest(lat, lon, **q), want)


def test_large_k_and_heavy_filters(redis_index: RedisGeoIndex) -> None:
    """Answers that need several rounds: COUNT cuts, radius grows, most ids rejected."""
    rows = mixed_points(3000, seed=7)
    memory = MemoryIndex()
    memory.upsert_many(rows)
    redis_index.upsert_many(rows)
    queries = [
        {"k": 200},
        {"k": 50, "where": lambda i: i.endswith("99")},
        {"k": 5, "fresh_after": 990.0},
        {"k": 30, "max_km": 3.0},
        {"k": 3000},
        {"k": 5, "where": lambda i: False},
    ]
    for lat, lon in [(13.7563, 100.5018), (18.79, 98.98), (6.0, 105.5)]:
        for q in queries:
            want = brute(rows, lat, lon, **q)
            assert_same(redis_index.nearest(lat, lon, **q), want)
            assert_same(memory.nearest(lat, lon, **q), want)


def test_basics_on_redis(redis_index: RedisGeoIndex) -> None:
    assert len(redis_index) == 0
    assert redis_index.nearest(13.75, 100.5) == []
    redis_index.upsert("team-1", 13.75, 100.5, 100.0)
    redis_index.upsert_many([("b", 13.8, 100.5, 200.0), ("a", 13.8, 100.5, 200.0),
                             ("far", 18.79, 98.98, 300.0)])
    assert len(redis_index) == 4
    assert redis_index.get("team-1") == Hit("team-1", 13.75, 100.5, 0.0, 100.0)
    assert redis_index.get("nobody") is None
    # Ties by id, exact distances.
    hits = redis_index.nearest(13.8, 100.5, k=3)
    assert [h.id for h in hits] == ["a", "b", "team-1"]
    assert hits[2].distance_km == haversine_km(13.8, 100.5, 13.75, 100.5)
    # fresh_after keeps positions seen at that very time.
    assert [h.id for h in redis_index.nearest(13.8, 100.5, fresh_after=200.0)] == ["a", "b", "far"]
    assert redis_index.nearest(13.8, 100.5, fresh_after=math.inf) == []
    # max_km is inclusive.
    exact = haversine_km(13.8, 100.5, 13.75, 100.5)
    assert [h.id for h in redis_index.nearest(13.8, 100.5, max_km=exact)] == ["a", "b", "team-1"]
    # Moving: gone from the old place, one entry.
    redis_index.upsert("team-1", 18.8, 98.99, 400.0)
    assert len(redis_index) == 4
    assert [h.id for h in redis_index.nearest(13.75, 100.5, max_km=20)] == ["a", "b"]
    assert redis_index.nearest(18.8, 98.99, k=1)[0] == Hit("team-1", 18.8, 98.99, 0.0, 400.0)
    # Removing.
    redis_index.remove("team-1")
    redis_index.remove("team-1")
    assert len(redis_index) == 3 and redis_index.get("team-1") is None
    assert redis_index.client.hlen(redis_index.pos_key) == 3


def test_max_km_boundary_is_exact_despite_geohash(redis_index: RedisGeoIndex) -> None:
    """A responder exactly max_km away is in, though Redis keeps it ~0.5 m off and measures
    with a larger Earth radius (0.03% longer km)."""
    rows = mixed_points(60, seed=11)
    redis_index.upsert_many(rows)
    rng = random.Random(5)
    for id_, lat, lon, _ in rows:
        qlat, qlon = rng.uniform(BBOX[0], BBOX[2]), rng.uniform(BBOX[1], BBOX[3])
        exact = haversine_km(qlat, qlon, lat, lon)
        got = redis_index.nearest(qlat, qlon, k=100, max_km=exact)
        assert id_ in [h.id for h in got]
        assert got == brute(rows, qlat, qlon, k=100, max_km=exact)


def test_far_query_and_edges(redis_index: RedisGeoIndex) -> None:
    rows = mixed_points(300, seed=3) + [("fiji", -17.7, 179.99, 0.0),
                                         ("north", MAX_LAT, 10.0, 0.0)]
    redis_index.upsert_many(rows)
    for lat, lon in [(51.5, -0.12), (-17.7, -179.9), (-MAX_LAT, -180.0)]:
        assert_same(redis_index.nearest(lat, lon, k=3), brute(rows, lat, lon, k=3))


def test_bad_input_stores_nothing_in_redis(redis_index: RedisGeoIndex) -> None:
    for bad in [("a", 91.0, 100.0, 0.0), ("a", math.nan, 100.0, 0.0), ("a", 13.0, 181.0, 0.0),
                ("a", 86.0, 100.0, 0.0), ("", 13.0, 100.0, 0.0), ("a", 13.0, 100.0, math.inf)]:
        with pytest.raises(ValueError):
            redis_index.upsert(*bad)
        with pytest.raises(ValueError, match="row 1"):
            redis_index.upsert_many([("ok", 13.0, 100.0, 0.0), bad])
    assert len(redis_index) == 0
    assert redis_index.client.exists(redis_index.geo_key, redis_index.pos_key) == 0
    for kwargs in [{"k": 0}, {"lat": math.nan}, {"lon": 200.0}, {"max_km": -1}]:
        query = {"lat": 13.0, "lon": 100.0} | kwargs
        with pytest.raises(ValueError):
            redis_index.nearest(query.pop("lat"), query.pop("lon"), **query)
