"""Tests of the in-process position index (geo.spatial.MemoryIndex)."""

from __future__ import annotations

import math
import random
import threading

import pytest

from geo.spatial import (
    EARTH_RADIUS_KM,
    MAX_LAT,
    Hit,
    MemoryIndex,
    PositionIndex,
    RedisGeoIndex,
    haversine_km,
    make_index,
)

BBOX = (5.5, 97.3, 20.5, 105.7)  # Thailand: min_lat, min_lon, max_lat, max_lon


def brute(rows, lat, lon, *, k=5, max_km=None, fresh_after=None, where=None) -> list[Hit]:
    """The answer by definition: every row, exact haversine, sorted by (round(d, 6), id)."""
    hits = []
    for id_, la, lo, seen in rows:
        if fresh_after is not None and seen < fresh_after:
            continue
        if where is not None and not where(id_):
            continue
        d = haversine_km(lat, lon, la, lo)
        if max_km is not None and d > max_km:
            continue
        hits.append(Hit(id_, la, lo, d, seen))
    hits.sort(key=lambda h: (round(h.distance_km, 6), h.id))
    return hits[:k]


def thai_points(n: int, seed: int) -> list[tuple[str, float, float, float]]:
    """n random rows in Thailand's bbox, with seen_at spread over 0..1000."""
    rng = random.Random(seed)
    return [(f"r{i:05d}", rng.uniform(BBOX[0], BBOX[2]), rng.uniform(BBOX[1], BBOX[3]),
             float(rng.randrange(1000))) for i in range(n)]


def random_query(rng: random.Random) -> dict:
    """A random query point in the bbox with random k and filters."""
    where = rng.choice([None, None, lambda i: int(i[-1]) % 3 == 0, lambda i: i.endswith("7")])
    return {
        "lat": rng.uniform(BBOX[0], BBOX[2]),
        "lon": rng.uniform(BBOX[1], BBOX[3]),
        "k": rng.choice([1, 3, 5, 5, 10, 40]),
        "max_km": rng.choice([None, None, 2.0, 15.0, 60.0, 400.0]),
        "fresh_after": rng.choice([None, None, 500.0, 950.0]),
        "where": where,
    }


@pytest.fixture
def index() -> MemoryIndex:
    return MemoryIndex()


# --------------------------------------------------------------------------- basics


def test_haversine_matches_the_app_formula() -> None:
    """Same Earth radius and formula as geo.service: Bangkok to Chiang Mai, one degree."""
    from geo.service import haversine_km as service_haversine

    args = (13.7563, 100.5018, 18.7883, 98.9853)
    assert haversine_km(*args) == service_haversine(*args)
    assert haversine_km(0, 100, 1, 100) == pytest.approx(EARTH_RADIUS_KM * math.pi / 180)


def test_satisfies_the_protocol_and_make_index() -> None:
    assert isinstance(MemoryIndex(), PositionIndex)
    assert isinstance(make_index(None), MemoryIndex)
    assert isinstance(make_index(""), MemoryIndex)
    # Building the Redis index does not connect yet.
    redis_index = make_index("redis://127.0.0.1:1/0", prefix="test:spatial:x")
    assert isinstance(redis_index, RedisGeoIndex) and isinstance(redis_index, PositionIndex)
    assert redis_index.geo_key == "test:spatial:x:geo"


def test_empty_index(index: MemoryIndex) -> None:
    assert len(index) == 0
    assert index.nearest(13.75, 100.5) == []
    assert index.get("nobody") is None
    index.remove("nobody")  # no error


def test_upsert_get_len(index: MemoryIndex) -> None:
    index.upsert("team-1", 13.75, 100.5, 1000.0)
    index.upsert_many([("vol-1", 18.79, 98.98, 990.0), ("vol-2", 16.44, 102.84, 980.0)])
    assert len(index) == 3
    assert index.get("team-1") == Hit("team-1", 13.75, 100.5, 0.0, 1000.0)
    assert index.get("vol-2") == Hit("vol-2", 16.44, 102.84, 0.0, 980.0)


def test_upsert_many_last_row_of_an_id_wins(index: MemoryIndex) -> None:
    index.upsert_many([("a", 13.0, 100.0, 1.0), ("a", 14.0, 101.0, 2.0)])
    assert len(index) == 1
    assert index.get("a") == Hit("a", 14.0, 101.0, 0.0, 2.0)


# --------------------------------------------------------------------------- ordering, k, ties


def test_nearest_ascending_with_exact_distances(index: MemoryIndex) -> None:
    rows = [("far", 14.5, 100.5, 0.0), ("near", 13.76, 100.5, 0.0), ("mid", 13.9, 100.6, 0.0)]
    index.upsert_many(rows)
    hits = index.nearest(13.75, 100.5, k=5)
    assert [h.id for h in hits] == ["near", "mid", "far"]
    for hit in hits:
        assert hit.distance_km == haversine_km(13.75, 100.5, hit.lat, hit.lon)
    assert hits == brute(rows, 13.75, 100.5, k=5)


def test_k_limits_the_answer(index: MemoryIndex) -> None:
    rows = thai_points(300, seed=1)
    index.upsert_many(rows)
    for k in (1, 2, 7, 300, 1000):
        hits = index.nearest(13.75, 100.5, k=k)
        assert len(hits) == min(k, 300)
        assert hits == brute(rows, 13.75, 100.5, k=k)


def test_ties_broken_by_id(index: MemoryIndex) -> None:
    # Three responders at the same spot, and two mirrored about the query point along the
    # meridian whose distances agree to the millimetre.
    index.upsert_many([("c", 13.8, 100.5, 0.0), ("a", 13.8, 100.5, 0.0), ("b", 13.8, 100.5, 0.0)])
    index.upsert_many([("north", 13.7, 100.55, 0.0), ("south", 13.7, 100.45, 0.0)])
    hits = index.nearest(13.8, 100.5, k=3)
    assert [h.id for h in hits] == ["a", "b", "c"]
    assert {h.distance_km for h in hits} == {0.0}
    mirrored = index.nearest(13.7, 100.5, k=2)
    assert round(mirrored[0].distance_km, 6) == round(mirrored[1].distance_km, 6)
    assert [h.id for h in mirrored] == ["north", "south"]


def test_tie_at_the_kth_place_is_decided_by_id(index: MemoryIndex) -> None:
    """Distances equal to the millimetre tie; the smaller id wins the k-th place even when the
    other is a hair nearer and in another cell."""
    # "z" west of the query, "a" east and 0.01 mm farther; 0.02 degree cells.
    index.upsert_many([("z", 13.75, 100.49, 0.0), ("a", 13.75, 100.5100000001, 0.0)])
    west = haversine_km(13.75, 100.5, 13.75, 100.49)
    east = haversine_km(13.75, 100.5, 13.75, 100.5100000001)
    assert west < east and round(west, 6) == round(east, 6)
    assert [h.id for h in index.nearest(13.75, 100.5, k=1)] == ["a"]
    assert [h.id for h in index.nearest(13.75, 100.5, k=2)] == ["a", "z"]
    # One more, clearly nearer: then the tie is for second place.
    index.upsert("m", 13.75, 100.501, 0.0)
    assert [h.id for h in index.nearest(13.75, 100.5, k=2)] == ["m", "a"]


# --------------------------------------------------------------------------- filters


def test_max_km(index: MemoryIndex) -> None:
    rows = [("a", 13.75, 100.51, 0.0), ("b", 13.75, 100.6, 0.0), ("c", 13.75, 101.5, 0.0)]
    index.upsert_many(rows)
    assert [h.id for h in index.nearest(13.75, 100.5, max_km=15)] == ["a", "b"]
    assert index.nearest(13.75, 100.5, max_km=0.5) == []
    exact = haversine_km(13.75, 100.5, 13.75, 100.6)
    assert [h.id for h in index.nearest(13.75, 100.5, max_km=exact)] == ["a", "b"]  # inclusive
    assert len(index.nearest(13.75, 100.5, max_km=math.inf)) == 3
    assert index.nearest(13.75, 100.51, max_km=0) == [Hit("a", 13.75, 100.51, 0.0, 0.0)]


def test_fresh_after_ignores_older_positions(index: MemoryIndex) -> None:
    index.upsert_many([("old", 13.75, 100.5, 100.0), ("edge", 13.8, 100.5, 200.0),
                       ("new", 14.5, 100.5, 300.0)])
    assert [h.id for h in index.nearest(13.75, 100.5, fresh_after=200.0)] == ["edge", "new"]
    assert [h.id for h in index.nearest(13.75, 100.5, fresh_after=250.0)] == ["new"]
    assert index.nearest(13.75, 100.5, fresh_after=1e12) == []
    # A newer position makes it fresh again.
    index.upsert("old", 13.75, 100.5, 400.0)
    assert index.nearest(13.75, 100.5, k=1, fresh_after=250.0)[0].id == "old"


def test_where_filter_is_asked_once_per_id_and_nearest_first(index: MemoryIndex) -> None:
    rows = thai_points(2000, seed=2)
    index.upsert_many(rows)
    asked: list[str] = []

    def teams_only(id_: str) -> bool:
        asked.append(id_)
        return id_.endswith("3")

    hits = index.nearest(13.75, 100.5, k=4, where=teams_only)
    assert hits == brute(rows, 13.75, 100.5, k=4, where=lambda i: i.endswith("3"))
    assert all(h.id.endswith("3") for h in hits)
    assert len(asked) == len(set(asked))  # at most once per id
    assert len(asked) < 200  # lazily, not the whole index
    assert index.nearest(13.75, 100.5, where=lambda _id: False) == []


def test_filters_combined(index: MemoryIndex) -> None:
    rows = thai_points(3000, seed=3)
    index.upsert_many(rows)
    query = {"k": 6, "max_km": 120.0, "fresh_after": 600.0, "where": lambda i: i < "r01500"}
    assert index.nearest(15.0, 101.0, **query) == brute(rows, 15.0, 101.0, **query)


# --------------------------------------------------------------------------- moves and removal


def test_moving_an_id_leaves_its_old_cell(index: MemoryIndex) -> None:
    index.upsert("team-9", 13.75, 100.5, 1.0)
    old_key = index._pos["team-9"][3]
    index.upsert("team-9", 18.79, 98.98, 2.0)  # Bangkok -> Chiang Mai
    assert len(index) == 1
    assert index.nearest(13.75, 100.5, max_km=50) == []
    assert [h.id for h in index.nearest(18.79, 98.98, max_km=1)] == ["team-9"]
    assert old_key not in index._cells  # the emptied cell is gone
    assert sum(len(cell) for cell in index._cells.values()) == 1
    # A small move within the same cell keeps one entry too.
    index.upsert("team-9", 18.7901, 98.9801, 3.0)
    assert sum(len(cell) for cell in index._cells.values()) == 1
    assert index.get("team-9") == Hit("team-9", 18.7901, 98.9801, 0.0, 3.0)


def test_remove(index: MemoryIndex) -> None:
    index.upsert_many([("a", 13.75, 100.5, 0.0), ("b", 13.76, 100.5, 0.0)])
    index.remove("a")
    assert len(index) == 1
    assert index.get("a") is None
    assert [h.id for h in index.nearest(13.75, 100.5)] == ["b"]
    index.remove("a")  # again: no error
    index.remove("b")
    assert len(index) == 0 and index._cells == {}
    assert index.nearest(13.75, 100.5) == []


# --------------------------------------------------------------------------- cell borders


@pytest.mark.parametrize("cell_deg", [0.1, 0.02])
def test_points_straddling_cell_borders(cell_deg: float) -> None:
    index = MemoryIndex(cell_deg=cell_deg)
    # Query just inside the north-east corner of a cell; the nearest responders sit just across
    # the borders (east, north, diagonal), a farther one inside the query's own cell.
    lat, lon = 13.8 - 1e-4, 100.6 - 1e-4
    rows = [
        ("own-cell", 13.8 - cell_deg / 2, 100.6 - cell_deg / 2, 0.0),
        ("east", lat, 100.6 + 2e-4, 0.0),
        ("north", 13.8 + 3e-4, lon, 0.0),
        ("diagonal", 13.8 + 1e-4, 100.6 + 1e-4, 0.0),
        ("west-far", lat, 100.6 - 3 * cell_deg, 0.0),
    ]
    index.upsert_many(rows)
    hits = index.nearest(lat, lon, k=5)
    assert [h.id for h in hits] == ["diagonal", "east", "north", "own-cell", "west-far"]
    assert hits == brute(rows, lat, lon, k=5)
    # Exactly on a border, both ways.
    index.upsert("on-border", 13.8, 100.6, 0.0)
    assert index.nearest(13.8, 100.6, k=1)[0].id == "on-border"
    assert index.nearest(13.8 - 1e-9, 100.6 - 1e-9, k=1)[0].id == "on-border"


@pytest.mark.parametrize("cell_deg", [0.1, 0.02])
def test_ring_corner_is_not_nearer_than_the_next_ring(cell_deg: float) -> None:
    """A point in the first ring's far corner must lose to one just beyond the ring's side."""
    index = MemoryIndex(cell_deg=cell_deg)
    lat, lon = 13.0 + cell_deg / 2, 100.0 + cell_deg / 2  # a cell's centre
    rows = [
        ("corner", lat + 1.45 * cell_deg, lon + 1.45 * cell_deg, 0.0),  # ring 1, diagonal
        ("side", lat, lon + 1.6 * cell_deg, 0.0),  # ring 2, straight east: nearer
    ]
    index.upsert_many(rows)
    assert [h.id for h in index.nearest(lat, lon, k=1)] == ["side"]
    assert index.nearest(lat, lon, k=2) == brute(rows, lat, lon, k=2)


def test_far_query_and_antimeridian() -> None:
    """Outside Thailand the answers stay exact (a full scan when rings would be too many)."""
    index = MemoryIndex()
    rows = thai_points(500, seed=4) + [("fiji", -17.7, 179.99, 0.0), ("samoa", -13.8, -179.99, 0)]
    index.upsert_many(rows)
    for lat, lon in [(51.5, -0.12), (-17.7, -179.9), (-13.8, 179.9), (MAX_LAT, 180.0)]:
        assert index.nearest(lat, lon, k=3) == brute(rows, lat, lon, k=3)


# --------------------------------------------------------------------------- brute force


@pytest.mark.parametrize("cell_deg", [0.02, 0.1])
def test_matches_brute_force_on_5000_points(cell_deg: float) -> None:
    rows = thai_points(5000, seed=1300)
    rng = random.Random(77)
    # Some responders share a spot, to exercise ties.
    for n in range(20):
        src = rows[rng.randrange(len(rows))]
        rows.append((f"d{n:05d}", src[1], src[2], src[3]))
    index = MemoryIndex(cell_deg=cell_deg)
    index.upsert_many(rows)
    assert len(index) == len(rows)
    for _ in range(200):
        q = random_query(rng)
        lat, lon = q.pop("lat"), q.pop("lon")
        assert index.nearest(lat, lon, **q) == brute(rows, lat, lon, **q), (lat, lon, q)


# --------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("a", 91.0, 100.0, 0.0), "lat must be between"),
        (("a", MAX_LAT + 0.01, 100.0, 0.0), "lat must be between"),
        (("a", -90.0, 100.0, 0.0), "lat must be between"),
        (("a", 13.0, 180.5, 0.0), "lon must be between"),
        (("a", 13.0, -181.0, 0.0), "lon must be between"),
        (("a", math.nan, 100.0, 0.0), "lat must be a finite number"),
        (("a", 13.0, math.nan, 0.0), "lon must be a finite number"),
        (("a", math.inf, 100.0, 0.0), "lat must be a finite number"),
        (("a", "13.0", 100.0, 0.0), "lat must be a number"),
        (("a", 13.0, 100.0, math.nan), "seen_at must be a finite number"),
        (("a", None, 100.0, 0.0), "lat must be a number"),
        (("", 13.0, 100.0, 0.0), "id must be a non-empty string"),
        ((7, 13.0, 100.0, 0.0), "id must be a non-empty string"),
        (("a\nb", 13.0, 100.0, 0.0), "id must be printable"),
    ],
)
def test_bad_upsert_raises_and_stores_nothing(index: MemoryIndex, args, message) -> None:
    with pytest.raises(ValueError, match=message):
        index.upsert(*args)
    assert len(index) == 0 and index._cells == {}
    with pytest.raises(ValueError, match=f"row 1: .*{message}"):
        index.upsert_many([("good", 13.0, 100.0, 0.0), args, ("good2", 14.0, 100.0, 0.0)])
    assert len(index) == 0 and index.get("good") is None


def test_bad_row_shape(index: MemoryIndex) -> None:
    with pytest.raises(ValueError, match=r"row 0: a row must be \(id, lat, lon, seen_at\)"):
        index.upsert_many([("a", 13.0, 100.0)])
    assert len(index) == 0


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"lat": 95.0}, "lat must be between"),
        ({"lat": math.nan}, "lat must be a finite number"),
        ({"lon": 200.0}, "lon must be between"),
        ({"lon": math.nan}, "lon must be a finite number"),
        ({"k": 0}, "k must be an integer of at least 1"),
        ({"k": -3}, "k must be an integer of at least 1"),
        ({"k": 2.5}, "k must be an integer of at least 1"),
        ({"k": True}, "k must be an integer of at least 1"),
        ({"max_km": -1.0}, "max_km must be a distance of 0 km or more"),
        ({"max_km": math.nan}, "max_km must be a distance of 0 km or more"),
        ({"max_km": "5"}, "max_km must be a number"),
        ({"fresh_after": math.nan}, "fresh_after must be a unix time"),
        ({"where": "teams"}, "where must be a callable"),
    ],
)
def test_bad_query_raises(index: MemoryIndex, kwargs, message) -> None:
    index.upsert("a", 13.75, 100.5, 0.0)
    query = {"lat": 13.75, "lon": 100.5} | kwargs
    lat, lon = query.pop("lat"), query.pop("lon")
    with pytest.raises(ValueError, match=message):
        index.nearest(lat, lon, **query)


def test_bad_cell_size() -> None:
    for cell_deg in (0, -0.1, 0.07, 45, math.nan):
        with pytest.raises(ValueError, match="cell_deg"):
            MemoryIndex(cell_deg=cell_deg)


# --------------------------------------------------------------------------- threads


def test_concurrent_moves_and_queries_stay_consistent() -> None:
    index = MemoryIndex()
    rows = thai_points(2000, seed=5)
    index.upsert_many(rows)
    errors: list[BaseException] = []
    stop = threading.Event()

    def mover(seed: int) -> None:
        rng = random.Random(seed)
        try:
            for n in range(3000):
                id_ = f"r{rng.randrange(2000):05d}"
                if n % 50 == 0:
                    index.remove(id_)
                index.upsert(id_, rng.uniform(BBOX[0], BBOX[2]), rng.uniform(BBOX[1], BBOX[3]),
                             float(n))
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    def reader(seed: int) -> None:
        rng = random.Random(seed)
        try:
            while not stop.is_set():
                q = random_query(rng)
                hits = index.nearest(q.pop("lat"), q.pop("lon"), **q)
                assert [h.distance_km for h in hits] == sorted(h.distance_km for h in hits)
                assert len({h.id for h in hits}) == len(hits)
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    movers = [threading.Thread(target=mover, args=(s,)) for s in range(3)]
    readers = [threading.Thread(target=reader, args=(10 + s,)) for s in range(3)]
    for t in movers + readers:
        t.start()
    for t in movers:
        t.join()
    stop.set()
    for t in readers:
        t.join()
    assert not errors, errors[:3]
    assert len(index) == 2000
    assert sum(len(cell) for cell in index._cells.values()) == 2000
    for id_, rec in index._pos.items():
        assert id_ in index._cells[rec[3]]
    final = [(id_, rec[0], rec[1], rec[2]) for id_, rec in index._pos.items()]
    assert index.nearest(13.75, 100.5, k=10) == brute(final, 13.75, 100.5, k=10)
