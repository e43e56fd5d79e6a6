"""Live responder positions with nearest-k queries: in-process grid or Redis GEO.

Two implementations of one interface (`PositionIndex`) that give the same answers on the same
data:

* `MemoryIndex` keeps positions in a grid of lat/lon cells and searches growing rings of cells
  around the query point until no unvisited cell can hold anything nearer than the k-th answer.
* `RedisGeoIndex` keeps them in a Redis GEO set (GEOADD / GEOSEARCH) plus a hash with the exact
  lat/lon and the time of each position, and searches growing radii.

Both order answers by the haversine distance (Earth radius 6371.0088 km) recomputed from the exact
stored lat/lon, rounded to 6 decimals (1 mm), ties broken by id; so their `Hit` lists are equal.
Redis stores positions as 52-bit geohashes (about 0.6 m off) and measures with another Earth
radius: its own distances are only used to know how far a search is complete.

`where` is asked lazily, nearest candidates first, at most once per id per query: a filter
that rejects nearly everything makes a query look at everything (within max_km when given), so
give such queries a max_km, or keep an index per kind of responder.

Latitudes are limited to +-85.05 (inside the Redis GEO / Web Mercator limit) in both
implementations; Thailand is at 5.5-20.5 N. Bad input raises ValueError and stores nothing.
"""

from __future__ import annotations

import heapq
import math
import numbers
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:
    import redis

__all__ = [
    "EARTH_RADIUS_KM",
    "MAX_LAT",
    "Hit",
    "MemoryIndex",
    "PositionIndex",
    "RedisGeoIndex",
    "haversine_km",
    "make_index",
]

EARTH_RADIUS_KM = 6371.0088
# Both implementations take latitudes within +-MAX_LAT: just inside Redis GEO's +-85.05112878
# (Redis 7.0's GEOSEARCH never finds a point stored at exactly +85.05112878).
MAX_LAT = 85.05
HALF_CIRCUMFERENCE_KM = math.pi * EARTH_RADIUS_KM  # no two points are farther apart
# Distances within TIE_KM of the k-th answer are looked at before answering, so that a point
# whose distance rounds (to 1 mm) to the same value but whose id sorts first is never missed.
TIE_KM = 1e-5
# Redis measures with this Earth radius (src/geohash_helper.c), so its km are a bit longer.
_REDIS_EARTH_RADIUS_KM = 6372.797560856
_REDIS_SCALE = EARTH_RADIUS_KM / _REDIS_EARTH_RADIUS_KM  # our km per Redis km
# Geohash error (< 0.6 m) plus Redis's 4-decimal WITHDIST output, generously.
_REDIS_SLACK_KM = 0.005
_BOUND_EPS_KM = 1e-6  # float noise allowance for the grid's cell-edge bounds


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in kilometres (the same formula as geo.service.haversine_km)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(a)))


@dataclass(frozen=True, slots=True)
class Hit:
    """One position: where a responder was, when, and how far from the query point."""

    id: str
    lat: float
    lon: float
    distance_km: float  # haversine, Earth radius 6371.0088 km; 0 from get()
    seen_at: float  # unix time of the position


@runtime_checkable
class PositionIndex(Protocol):
    """Live positions of responders with nearest-k queries."""

    def upsert(self, id: str, lat: float, lon: float, seen_at: float) -> None:
        """Store or move one position."""
        ...

    def upsert_many(self, rows: Iterable[tuple[str, float, float, float]]) -> None:
        """Store many (id, lat, lon, seen_at) rows; all are checked before any is stored."""
        ...

    def remove(self, id: str) -> None:
        """Forget a position (no error when unknown)."""
        ...

    def needs_load(self) -> bool:
        """True when the index must be (re)loaded from the database."""
        ...

    def mark_loaded(self) -> None:
        """Record that the index holds every known position."""
        ...

    def mark_missed(self) -> None:
        """A write could not be stored: load everything again when possible."""
        ...

    def get(self, id: str) -> Hit | None:
        """The stored position of an id (distance_km 0), or None."""
        ...

    def nearest(
        self,
        lat: float,
        lon: float,
        *,
        k: int = 5,
        max_km: float | None = None,
        fresh_after: float | None = None,
        where: Callable[[str], bool] | None = None,
    ) -> list[Hit]:
        """k nearest by haversine distance, ascending (ties broken by id), ignoring positions
        older than fresh_after (unix time) and ids failing `where`; within max_km when given."""
        ...

    def __len__(self) -> int:
        """How many positions are stored."""
        ...


# --------------------------------------------------------------------------- input checks


def _number(name: str, value: object) -> float:
    """A finite float, or ValueError naming the argument."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"{name} must be a number, got {value!r}")
    result = float(value)
    if not math.isfinite(result):
        raise ValueError(f"{name} must be a finite number, got {value!r}")
    return result


def _check_id(value: object) -> str:
    if not isinstance(value, str) or not value:
        raise ValueError(f"id must be a non-empty string, got {value!r}")
    if not value.isprintable():
        raise ValueError(f"id must be printable text (no line breaks or tabs), got {value!r}")
    return value


def _check_point(lat: object, lon: object) -> tuple[float, float]:
    la, lo = _number("lat", lat), _number("lon", lon)
    if not -MAX_LAT <= la <= MAX_LAT:
        raise ValueError(f"lat must be between -{MAX_LAT} and {MAX_LAT} degrees, got {lat!r}")
    if not -180.0 <= lo <= 180.0:
        raise ValueError(f"lon must be between -180 and 180 degrees, got {lon!r}")
    return la, lo


def _check_row(row: object) -> tuple[str, float, float, float]:
    try:
        id_, lat, lon, seen_at = row  # type: ignore[misc]
    except (TypeError, ValueError):
        raise ValueError(f"a row must be (id, lat, lon, seen_at), got {row!r}") from None
    la, lo = _check_point(lat, lon)
    return _check_id(id_), la, lo, _number("seen_at", seen_at)


def _check_rows(rows: Iterable[tuple[str, float, float, float]]) -> dict[str, tuple]:
    """All rows checked (ValueError names the first bad one); the last row of an id wins."""
    checked: dict[str, tuple[str, float, float, float]] = {}
    for n, row in enumerate(rows):
        try:
            good = _check_row(row)
        except ValueError as exc:
            raise ValueError(f"row {n}: {exc}") from None
        checked[good[0]] = good
    return checked


@dataclass(frozen=True, slots=True)
class _Query:
    lat: float
    lon: float
    k: int
    max_km: float  # math.inf when not given
    fresh_after: float  # -math.inf when not given
    where: Callable[[str], bool] | None


def _check_query(lat, lon, k, max_km, fresh_after, where) -> _Query:
    la, lo = _check_point(lat, lon)
    if isinstance(k, bool) or not isinstance(k, numbers.Integral) or k < 1:
        raise ValueError(f"k must be an integer of at least 1, got {k!r}")
    if max_km is None:
        limit = math.inf
    else:
        if isinstance(max_km, bool) or not isinstance(max_km, numbers.Real):
            raise ValueError(f"max_km must be a number, got {max_km!r}")
        limit = float(max_km)
        if math.isnan(limit) or limit < 0:
            raise ValueError(f"max_km must be a distance of 0 km or more, got {max_km!r}")
    if fresh_after is None:
        fresh = -math.inf
    else:
        if isinstance(fresh_after, bool) or not isinstance(fresh_after, numbers.Real):
            raise ValueError(f"fresh_after must be a unix time, got {fresh_after!r}")
        fresh = float(fresh_after)
        if math.isnan(fresh):
            raise ValueError("fresh_after must be a unix time, got nan")
    if where is not None and not callable(where):
        raise ValueError(f"where must be a callable taking an id, got {where!r}")
    return _Query(la, lo, int(k), limit, fresh, where)


# --------------------------------------------------------------------------- shared selection


class _Picker:
    """Chooses the answer from candidates fed in ascending distance order.

    feed() takes candidates nearer than `complete_below` km, below which the caller's search
    guarantees that every stored position has been offered (in this or an earlier feed); later
    feeds only offer candidates at least as far as the earlier `complete_below`. `where` is asked
    lazily, nearest first, at most once per id (the verdicts cache may be shared).
    """

    __slots__ = ("kth", "picked", "q", "verdicts")

    def __init__(self, q: _Query, verdicts: dict[str, bool] | None = None) -> None:
        self.q = q
        self.picked: list[tuple[float, str]] = []  # passed, in feed order
        self.kth = math.inf  # distance of the k-th that passed
        self.verdicts = {} if verdicts is None else verdicts

    def feed(self, ordered: Iterable[tuple[float, str]], complete_below: float) -> int:
        """Take candidates until one is at or beyond complete_below; return how many were taken.
        Stops early, once the rest cannot change the answer."""
        k, max_km, where, verdicts = self.q.k, self.q.max_km, self.q.where, self.verdicts
        picked, kth = self.picked, self.kth
        taken = 0
        for d, pid in ordered:
            if d >= complete_below or d > kth + TIE_KM or d > max_km + 1e-9:
                break  # beyond the guarantee, or past the k-th and anything tying with it
            taken += 1
            if d > max_km:
                continue
            if where is not None:
                ok = verdicts.get(pid)
                if ok is None:
                    ok = verdicts[pid] = bool(where(pid))
                if not ok:
                    continue
            picked.append((d, pid))
            if len(picked) == k:
                kth = d
        self.kth = kth
        return taken

    def answer(self, complete_below: float) -> list[tuple[float, str]] | None:
        """The k best (distance, id) sorted by (distance to 1 mm, id), or None while positions
        at or beyond complete_below could still change it."""
        q = self.q
        if len(self.picked) >= q.k:
            if self.kth + TIE_KM >= complete_below:
                return None  # something unseen could tie with the k-th
        elif complete_below != math.inf and q.max_km >= complete_below:
            return None  # fewer than k so far, and more may be found
        best = sorted(self.picked, key=lambda t: (round(t[0], 6), t[1]))
        return best[:q.k]


def _chord2(km: float) -> float:
    """Squared straight-line distance between unit vectors `km` apart on the sphere."""
    if km >= HALF_CIRCUMFERENCE_KM:
        return 4.0
    return (2.0 * math.sin(km / (2.0 * EARTH_RADIUS_KM))) ** 2


def _unit(lat: float, lon: float) -> tuple[float, float, float]:
    p, lam = math.radians(lat), math.radians(lon)
    cp = math.cos(p)
    return cp * math.cos(lam), cp * math.sin(lam), math.sin(p)


# --------------------------------------------------------------------------- in-process grid


class MemoryIndex:
    """Positions in a grid of cell_deg x cell_deg cells, searched in growing rings.

    Candidates are ranked by chord length (monotone in great-circle distance, no trigonometry per
    point); the answer is then ordered by the exact haversine like RedisGeoIndex. After each ring
    the search knows a lower bound of the distance to every cell it has not visited (latitude gap
    to the rows, distance to the meridian of the nearest unvisited column) and stops once k
    answers, and anything that could tie with the k-th, are nearer than that bound. Rings that
    cannot reach an occupied row or column are skipped; when the rings would visit more cells
    than hold positions, it looks at the remaining occupied cells instead.

    The default 0.02 degree cells (about 2.2 km) keep central Bangkok's cells small: with 0.1
    degree cells, 300,000 responders clustered like the population gave a p99 of 15 ms, with
    0.02 under 1 ms (bench/nearest_k.py).

    Thread-safe: one re-entrant lock around every operation (`where` runs under it).
    """

    def __init__(self, *, cell_deg: float = 0.02) -> None:
        self._loaded = False
        cell = _number("cell_deg", cell_deg)
        ncols = round(360.0 / cell) if cell > 0 else 0
        if not 0 < cell <= 10 or abs(ncols * cell - 360.0) > 1e-9:
            raise ValueError(f"cell_deg must divide 360 and be at most 10, got {cell_deg!r}")
        self.cell_deg = cell
        self._ncols = ncols
        self._nrows = math.ceil(180.0 / cell)
        self._lock = threading.RLock()
        # id -> (lat, lon, seen_at, cell key); cell key -> {id: (x, y, z, seen_at)}
        self._pos: dict[str, tuple[float, float, float, int]] = {}
        self._cells: dict[int, dict[str, tuple[float, float, float, float]]] = {}
        self._reset_extent()

    def _reset_extent(self) -> None:
        # Rows / columns that held a position since the index was last empty (never shrinks).
        self._min_row, self._max_row = self._nrows, -1
        self._min_col, self._max_col = self._ncols, -1

    def _cell_of(self, lat: float, lon: float) -> tuple[int, int]:
        row = min(self._nrows - 1, int(math.floor((lat + 90.0) / self.cell_deg)))
        col = int(math.floor((lon + 180.0) / self.cell_deg)) % self._ncols
        return row, col

    # ------------------------------------------------------------------ writes

    def _put(self, id_: str, lat: float, lon: float, seen_at: float) -> None:
        """Store one checked row; the caller holds the lock."""
        row, col = self._cell_of(lat, lon)
        key = row * self._ncols + col
        old = self._pos.get(id_)
        if old is not None and old[3] != key:
            self._drop_from_cell(id_, old[3])
        x, y, z = _unit(lat, lon)
        self._pos[id_] = (lat, lon, seen_at, key)
        cell = self._cells.get(key)
        if cell is None:
            cell = self._cells[key] = {}
        cell[id_] = (x, y, z, seen_at)
        if row < self._min_row:
            self._min_row = row
        if row > self._max_row:
            self._max_row = row
        if col < self._min_col:
            self._min_col = col
        if col > self._max_col:
            self._max_col = col

    def _drop_from_cell(self, id_: str, key: int) -> None:
        cell = self._cells[key]
        del cell[id_]
        if not cell:
            del self._cells[key]

    def upsert(self, id: str, lat: float, lon: float, seen_at: float) -> None:
        """Store or move one position."""
        id_, la, lo, seen = _check_row((id, lat, lon, seen_at))
        with self._lock:
            self._put(id_, la, lo, seen)

    def upsert_many(self, rows: Iterable[tuple[str, float, float, float]]) -> None:
        """Store many (id, lat, lon, seen_at) rows; all are checked before any is stored."""
        checked = _check_rows(rows)
        with self._lock:
            for id_, la, lo, seen in checked.values():
                self._put(id_, la, lo, seen)

    def remove(self, id: str) -> None:
        """Forget a position (no error when unknown)."""
        id_ = _check_id(id)
        with self._lock:
            old = self._pos.pop(id_, None)
            if old is not None:
                self._drop_from_cell(id_, old[3])
                if not self._pos:
                    self._reset_extent()

    def clear(self) -> None:
        """Forget every position."""
        with self._lock:
            self._pos.clear()
            self._cells.clear()
            self._reset_extent()

    def needs_load(self) -> bool:
        """False once loaded: the index lives and dies with this process."""
        return not self._loaded

    def mark_loaded(self) -> None:
        """Record that the index holds every known position."""
        self._loaded = True

    def mark_missed(self) -> None:
        """Nothing to do: writes to process memory do not fail."""

    # ------------------------------------------------------------------ reads

    def get(self, id: str) -> Hit | None:
        """The stored position of an id (distance_km 0), or None."""
        id_ = _check_id(id)
        with self._lock:
            rec = self._pos.get(id_)
        return None if rec is None else Hit(id_, rec[0], rec[1], 0.0, rec[2])

    def __len__(self) -> int:
        return len(self._pos)

    def nearest(
        self,
        lat: float,
        lon: float,
        *,
        k: int = 5,
        max_km: float | None = None,
        fresh_after: float | None = None,
        where: Callable[[str], bool] | None = None,
    ) -> list[Hit]:
        """k nearest by haversine distance, ascending (ties broken by id), ignoring positions
        older than fresh_after (unix time) and ids failing `where`; within max_km when given."""
        q = _check_query(lat, lon, k, max_km, fresh_after, where)
        with self._lock:
            picked = self._search(q)
            pos = self._pos
            return [Hit(pid, pos[pid][0], pos[pid][1], d, pos[pid][2]) for d, pid in picked]

    def _search(self, q: _Query) -> list[tuple[float, str]]:
        if not self._pos:
            return []
        cell, ncols, nrows = self.cell_deg, self._ncols, self._nrows
        cells = self._cells
        pos = self._pos
        qlat, qlon = q.lat, q.lon
        qx, qy, qz = _unit(qlat, qlon)
        ci, cj = self._cell_of(qlat, qlon)
        fresh = q.fresh_after
        c2max = _chord2(q.max_km + 1e-6) if q.max_km != math.inf else 5.0
        cos_lat = math.cos(math.radians(qlat))
        picker = _Picker(q)
        pending: list[tuple[float, str]] = []  # (chord squared, id) not taken by the picker yet

        def scan(bucket: dict[str, tuple[float, float, float, float]]) -> None:
            append = pending.append
            for pid, (x, y, z, seen) in bucket.items():
                if seen < fresh:
                    continue
                dx, dy, dz = x - qx, y - qy, z - qz
                c2 = dx * dx + dy * dy + dz * dz
                if c2 <= c2max:
                    append((c2, pid))

        def feed(complete_below: float) -> list[tuple[float, str]] | None:
            pending.sort()
            taken = picker.feed(
                ((haversine_km(qlat, qlon, pos[pid][0], pos[pid][1]), pid) for _, pid in pending),
                complete_below,
            )
            del pending[:taken]
            return picker.answer(complete_below)

        def finish() -> list[tuple[float, str]]:
            # Everything is in `pending` now, maybe most of the index. Without `where` only the
            # first k or so are taken: a heap, popped lazily, beats sorting it all.
            if q.where is not None:
                return feed(math.inf) or []
            heapq.heapify(pending)

            def popped():
                while pending:
                    pid = heapq.heappop(pending)[1]
                    yield haversine_km(qlat, qlon, pos[pid][0], pos[pid][1]), pid

            picker.feed(popped(), math.inf)
            return picker.answer(math.inf) or []

        wide = False  # rings wider than the globe visit columns twice
        seen_cols: set[tuple[int, int]] = set()
        # Rings that reach no occupied row or no occupied column are empty: start past them.
        row_gap = max(self._min_row - ci, ci - self._max_row, 0)
        col_gap = 0
        if not self._min_col <= cj <= self._max_col:
            col_gap = min((self._min_col - cj) % ncols, (cj - self._max_col) % ncols)
        r = max(row_gap, col_gap)
        while True:
            # ---- visit ring r: the cells whose row or column is r away from the query's
            rows_lo, rows_hi = ci - r, ci + r
            if 2 * r + 1 > ncols:
                wide = True
            for i in range(max(rows_lo, 0), min(rows_hi, nrows - 1) + 1):
                if i in (rows_lo, rows_hi):
                    js = range(cj - r, cj + r + 1)
                else:
                    js = (cj - r, cj + r)
                base = i * ncols
                for j in js:
                    col = j % ncols
                    if wide:
                        if (i, col) in seen_cols:
                            continue
                        seen_cols.add((i, col))
                    bucket = cells.get(base + col)
                    if bucket is not None:
                        scan(bucket)
            # ---- lower bound of the distance to anything not visited yet
            south = (
                math.inf if rows_lo <= self._min_row
                else math.radians(qlat - (rows_lo * cell - 90.0)) * EARTH_RADIUS_KM
            )
            north = (
                math.inf if rows_hi >= self._max_row
                else math.radians((rows_hi + 1) * cell - 90.0 - qlat) * EARTH_RADIUS_KM
            )
            if wide or (cj - r <= self._min_col and cj + r >= self._max_col):
                side = math.inf
            else:
                east_west = min(qlon + 180.0 - (cj - r) * cell, (cj + r + 1) * cell - qlon - 180.0)
                side = EARTH_RADIUS_KM * math.asin(
                    min(1.0, cos_lat * math.sin(math.radians(min(east_west, 90.0))))
                )
            bound = min(south, north, side)
            if bound == math.inf:
                return finish()
            bound -= _BOUND_EPS_KM
            if pending or bound > q.max_km:
                found = feed(bound)
                if found is not None:
                    return found
            if (2 * r + 3) ** 2 > len(cells) + 64:
                # The next ring would take the visits past the number of occupied cells: look at
                # every occupied cell outside the square visited so far instead, and finish.
                for key, bucket in cells.items():
                    i, j = divmod(key, ncols)
                    if not (rows_lo <= i <= rows_hi and (wide or (j - cj + r) % ncols <= 2 * r)):
                        scan(bucket)
                return finish()
            r += 1


# --------------------------------------------------------------------------- Redis GEO


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


# One search round inside Redis: GEOSEARCH, then the exact positions of what it found from the
# hash, keeping the fresh ones. Returns {found, Redis distance of the last found, fresh rows as
# one string "lat lon seen_at id" per line}: one round trip and one bulk string to parse,
# instead of two round trips and two RESP elements per position (redis-py parses those in
# Python, about 5 us each). KEYS: geo, pos. ARGV: lon, lat, radius km, count, fresh_after or ''.
_ROUND_LUA = r"""
local found = redis.call('GEOSEARCH', KEYS[1], 'FROMLONLAT', ARGV[1], ARGV[2],
                         'BYRADIUS', ARGV[3], 'km', 'ASC', 'COUNT', ARGV[4], 'WITHDIST')
local n = #found
if n == 0 then return {0, '', ''} end
local fresh = tonumber(ARGV[5])
local ids, out = {}, {}
for i = 1, n do ids[i] = found[i][1] end
for s = 1, n, 1000 do
  local e = math.min(s + 999, n)
  local rows = redis.call('HMGET', KEYS[2], unpack(ids, s, e))
  for j = 1, #rows do
    local row = rows[j]
    if row and (fresh == nil or tonumber(string.match(row, '(%S+)$')) >= fresh) then
      out[#out + 1] = row .. ' ' .. ids[s + j - 1]
    end
  end
end
return {n, found[n][2], table.concat(out, '\n')}
"""


class RedisGeoIndex:
    """Positions in Redis: a GEO set `<prefix>:geo` and a hash `<prefix>:pos` (id -> "lat lon
    seen_at", exact floats), written together in MULTI/EXEC.

    nearest() runs rounds of GEOSEARCH ... BYRADIUS r km ASC COUNT m WITHDIST + HMGET of the
    found ids (one Lua script per round, so the two agree and it is one round trip), drops stale
    positions in Redis, recomputes distances with haversine_km from the exact lat/lon and stops
    once k answers (and anything that could tie with the k-th) pass the filters nearer than the
    distance the round is complete to: r, or the last found when COUNT cut the answer. Else the
    next round is aimed at k passing positions from the density seen so far, up to max_km (or
    max_search_km; the default covers the whole Earth).
    """

    def __init__(
        self,
        client: redis.Redis | str,
        *,
        prefix: str = "console:positions",
        initial_km: float = 1.0,
        max_search_km: float = HALF_CIRCUMFERENCE_KM + 1.0,
        batch: int = 5000,
    ) -> None:
        if isinstance(client, str):
            import redis as redis_lib

            client = redis_lib.Redis.from_url(client, decode_responses=True)
        if not isinstance(prefix, str) or not prefix:
            raise ValueError(f"prefix must be a non-empty string, got {prefix!r}")
        self.client = client
        self.prefix = prefix
        self.geo_key = f"{prefix}:geo"
        self.pos_key = f"{prefix}:pos"
        self.loaded_key = f"{prefix}:loaded"
        self._missed_write = False
        self.initial_km = _number("initial_km", initial_km)
        self.max_search_km = _number("max_search_km", max_search_km)
        if self.initial_km <= 0 or self.max_search_km <= 0:
            raise ValueError("initial_km and max_search_km must be more than 0")
        if batch < 1:
            raise ValueError(f"batch must be at least 1, got {batch!r}")
        self.batch = batch
        self._round = client.register_script(_ROUND_LUA)

    # ------------------------------------------------------------------ writes

    def _write(self, rows: list[tuple[str, float, float, float]]) -> None:
        pipe = self.client.pipeline(transaction=True)
        geo: list[Any] = []
        for id_, la, lo, _ in rows:
            geo.extend((lo, la, id_))
        pipe.geoadd(self.geo_key, geo)
        pipe.hset(self.pos_key, mapping={
            id_: f"{la!r} {lo!r} {seen!r}" for id_, la, lo, seen in rows
        })
        pipe.execute()

    def upsert(self, id: str, lat: float, lon: float, seen_at: float) -> None:
        """Store or move one position."""
        self._write([_check_row((id, lat, lon, seen_at))])

    def upsert_many(self, rows: Iterable[tuple[str, float, float, float]]) -> None:
        """Store many (id, lat, lon, seen_at) rows; all are checked before any is stored.
        Each batch of rows is one MULTI/EXEC transaction."""
        checked = list(_check_rows(rows).values())
        for start in range(0, len(checked), self.batch):
            self._write(checked[start:start + self.batch])

    def remove(self, id: str) -> None:
        """Forget a position (no error when unknown)."""
        id_ = _check_id(id)
        pipe = self.client.pipeline(transaction=True)
        pipe.zrem(self.geo_key, id_)
        pipe.hdel(self.pos_key, id_)
        pipe.execute()

    def clear(self) -> None:
        """Delete this index's keys."""
        self.client.delete(self.geo_key, self.pos_key, self.loaded_key)

    def needs_load(self) -> bool:
        """True when the index was never loaded, missed a write, or Redis lost it (a restart
        keeps nothing)."""
        return self._missed_write or not self.client.exists(self.loaded_key)

    def mark_loaded(self) -> None:
        """Record that the index holds every known position (see needs_load)."""
        self.client.set(self.loaded_key, "1")
        self._missed_write = False

    def mark_missed(self) -> None:
        """A write failed (Redis unreachable): load everything again once it is back."""
        self._missed_write = True

    # ------------------------------------------------------------------ reads

    def get(self, id: str) -> Hit | None:
        """The stored position of an id (distance_km 0), or None."""
        id_ = _check_id(id)
        value = self.client.hget(self.pos_key, id_)
        if value is None:
            return None
        la, lo, seen = _text(value).split()
        return Hit(id_, float(la), float(lo), 0.0, float(seen))

    def __len__(self) -> int:
        return int(self.client.zcard(self.geo_key))

    def nearest(
        self,
        lat: float,
        lon: float,
        *,
        k: int = 5,
        max_km: float | None = None,
        fresh_after: float | None = None,
        where: Callable[[str], bool] | None = None,
    ) -> list[Hit]:
        """k nearest by haversine distance, ascending (ties broken by id), ignoring positions
        older than fresh_after (unix time) and ids failing `where`; within max_km when given."""
        q = _check_query(lat, lon, k, max_km, fresh_after, where)
        if q.fresh_after == math.inf:
            return []  # nothing is seen after the end of time
        if self.max_search_km < q.max_km:
            q = _Query(q.lat, q.lon, q.k, self.max_search_km, q.fresh_after, q.where)
        fresh_arg = "" if q.fresh_after == -math.inf else repr(q.fresh_after)
        stop_km = q.max_km
        radius = min(self.initial_km, stop_km)
        count = max(4 * q.k, 32)
        known: dict[str, tuple[float, float, float]] = {}
        verdicts: dict[str, bool] = {}  # `where`, asked once per id across rounds
        while True:
            found, last, rows = self._round(
                keys=[self.geo_key, self.pos_key],
                args=[repr(q.lon), repr(q.lat), repr((radius + _REDIS_SLACK_KM) / _REDIS_SCALE),
                      count, fresh_arg],
            )
            found = int(found)
            cut = found >= count
            if cut:
                complete_below = float(_text(last)) * _REDIS_SCALE - _REDIS_SLACK_KM
            elif radius >= stop_km:
                complete_below = math.inf  # everything within max_km / max_search_km
            else:
                complete_below = radius
            cands: list[tuple[float, str]] = []
            rows = _text(rows)
            if rows:
                for line in rows.split("\n"):
                    la, lo, seen, pid = line.split(" ", 3)
                    rec = known[pid] = (float(la), float(lo), float(seen))
                    cands.append((haversine_km(q.lat, q.lon, rec[0], rec[1]), pid))
            cands.sort()
            picker = _Picker(q, verdicts)
            picker.feed(cands, complete_below)
            best = picker.answer(complete_below)
            if best is not None:
                return [Hit(pid, known[pid][0], known[pid][1], d, known[pid][2])
                        for d, pid in best]
            picked = picker.picked
            # Not done: every candidate nearer than complete_below was judged, and `picked`
            # holds those that passed. Aim the next round at k passing ones (with margin), from
            # the density of passing positions so far, and ask for as many as that radius should
            # hold, so that COUNT rarely cuts it again.
            reach = max(complete_below, 1e-3)
            passed = len(picked) or (1.0 if cands else 0.3)  # none yet: guess low
            wanted = reach * math.sqrt(1.5 * q.k / passed)
            if cut:
                radius = min(stop_km, max(radius, min(wanted, 8 * reach)))
                floor = 2 * count
            else:
                radius = min(stop_km, max(1.5 * radius, min(wanted, 8 * radius)))
                floor = count
            count = max(floor, math.ceil(1.25 * found * (radius / reach) ** 2) + 16)


def make_index(redis_url: str | None, *, prefix: str = "console:positions") -> PositionIndex:
    """RedisGeoIndex on redis_url when given (shared by every server process), else MemoryIndex."""
    if redis_url:
        return RedisGeoIndex(redis_url, prefix=prefix)
    return MemoryIndex()
