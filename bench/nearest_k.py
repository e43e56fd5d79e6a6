"""Nearest-k responder queries on 300,000 live positions (prints figures, asserts no timing).

python bench/nearest_k.py [--positions 300000] [--queries 5000] [--k 5] [--seed 1300]

Loads seeded random positions within Thailand's bbox -- dense around Bangkok, Chiang Mai and
Khon Kaen like the population, plus a uniform share -- with 85% of them seen in the last
10 minutes and 15% up to 6 hours old. Times upsert_many, then nearest(k, fresh_after=now-15 min)
from random query points (half uniform in the bbox, half where people live), and reports
p50/p95/p99/max in ms and memory: tracemalloc for MemoryIndex, the Redis INFO used_memory delta
for RedisGeoIndex. Runs RedisGeoIndex too when REDIS_URL is set and points at this machine
(loopback or a unix socket), under a key prefix of its own that it deletes at the end; then it
also prints the Redis/memory ratios and checks that both gave the same answers.
"""

from __future__ import annotations

import argparse
import gc
import ipaddress
import math
import os
import random
import sys
import time
import tracemalloc
import uuid
from pathlib import Path
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from geo.spatial import Hit, MemoryIndex, RedisGeoIndex  # noqa: E402

BBOX = (5.5, 97.3, 20.5, 105.7)  # min_lat, min_lon, max_lat, max_lon (geo.gazetteer)
# (name, lat, lon, sigma in degrees, share of the positions); the rest are uniform in the bbox.
CLUSTERS = [
    ("Bangkok", 13.7563, 100.5018, 0.25, 0.35),
    ("Chiang Mai", 18.7883, 98.9853, 0.12, 0.08),
    ("Khon Kaen", 16.4419, 102.8360, 0.12, 0.07),
]
NOW = 1_767_225_600.0  # a fixed "now" (2026-01-01 UTC) so runs are repeatable


def pct(values: list[float], p: float) -> float:
    """The p-th percentile (nearest rank)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(p / 100 * len(ordered)) - 1))]


def place(rng: random.Random, uniform_only: bool = False) -> tuple[float, float]:
    """A random point in the bbox: from a city cluster or uniform, by the population mix."""
    min_lat, min_lon, max_lat, max_lon = BBOX
    roll = 1.0 if uniform_only else rng.random()
    for _name, lat, lon, sigma, share in CLUSTERS:
        if roll < share:
            while True:
                la, lo = rng.gauss(lat, sigma), rng.gauss(lon, sigma)
                if min_lat <= la <= max_lat and min_lon <= lo <= max_lon:
                    return la, lo
        roll -= share
    return rng.uniform(min_lat, max_lat), rng.uniform(min_lon, max_lon)


def positions(n: int, seed: int) -> list[tuple[str, float, float, float]]:
    """n rows (id, lat, lon, seen_at): 5% teams, the rest volunteers."""
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        lat, lon = place(rng)
        age = rng.uniform(0, 600) if rng.random() < 0.85 else rng.uniform(600, 6 * 3600)
        kind = "team" if i % 20 == 0 else "vol"
        rows.append((f"{kind}-{i:06d}", lat, lon, NOW - age))
    return rows


def queries(n: int, seed: int) -> list[tuple[float, float]]:
    """n query points: half uniform in the bbox, half where people live."""
    rng = random.Random(seed + 1)
    return [place(rng, uniform_only=i % 2 == 0) for i in range(n)]


class GcPauses:
    """Collects the garbage collector's pauses (ms) while active, to explain outliers."""

    def __init__(self) -> None:
        self.pauses: list[float] = []
        self._start = 0.0

    def _callback(self, phase: str, _info: dict) -> None:
        if phase == "start":
            self._start = time.perf_counter()
        else:
            self.pauses.append((time.perf_counter() - self._start) * 1000)

    def __enter__(self) -> GcPauses:
        gc.callbacks.append(self._callback)
        return self

    def __exit__(self, *_exc) -> None:
        gc.callbacks.remove(self._callback)


def time_queries(index, points, k: int, fresh_after: float, where=None):
    """Run nearest() for every point; (latencies in ms, answers, GC pauses in ms)."""
    for lat, lon in points[:50]:  # warm up
        index.nearest(lat, lon, k=k, fresh_after=fresh_after, where=where)
    latencies: list[float] = []
    answers: list[list[Hit]] = []
    with GcPauses() as gc_pauses:
        for lat, lon in points:
            start = time.perf_counter()
            hits = index.nearest(lat, lon, k=k, fresh_after=fresh_after, where=where)
            latencies.append((time.perf_counter() - start) * 1000)
            answers.append(hits)
    return latencies, answers, gc_pauses.pauses


def summary(latencies: list[float]) -> dict[str, float]:
    """p50/p95/p99/max in ms."""
    return {f"p{p}": pct(latencies, p) for p in (50, 95, 99)} | {"max": max(latencies)}


def show(label: str, stats: dict[str, float], gc_pauses: list[float]) -> None:
    """One line of latency figures, and the GC pauses that fell into the timed loop."""
    longest = f", longest {max(gc_pauses):.1f} ms" if gc_pauses else ""
    print(f"  {label:<34}" + "  ".join(f"{name} {value:7.3f} ms" for name, value in stats.items())
          + f"  (GC ran {len(gc_pauses)}x{longest})")


def same(a: list[Hit], b: list[Hit]) -> bool:
    """Equal ids in the same order, distances within 1e-3 km."""
    return [h.id for h in a] == [h.id for h in b] and all(
        abs(x.distance_km - y.distance_km) <= 1e-3 for x, y in zip(a, b, strict=True))


def loopback(url: str) -> bool:
    """True if a Redis URL points at this machine."""
    parts = urlsplit(url)
    if parts.scheme == "unix":
        return True
    host = parts.hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def run_memory(rows, points, args, fresh_after, teams) -> dict:
    """Load, query and measure MemoryIndex."""
    print(f"MemoryIndex (cell {args.cell_deg} deg)")
    index = MemoryIndex(cell_deg=args.cell_deg)
    start = time.perf_counter()
    index.upsert_many(rows)
    load_s = time.perf_counter() - start
    print(f"  upsert_many({len(rows):,})               {load_s:7.2f} s "
          f"({len(rows) / load_s:,.0f} rows/s), {len(index):,} stored")
    latencies, answers, pauses = time_queries(index, points, args.k, fresh_after)
    stats = summary(latencies)
    show(f"nearest k={args.k} fresh ({len(points):,})", stats, pauses)
    team_lat, team_answers, pauses = time_queries(index, points[:args.where_queries], args.k,
                                                  fresh_after, teams)
    show(f"  + where=teams ({args.where_queries:,})", summary(team_lat), pauses)
    del index
    gc.collect()
    # Memory: the rows are made while tracing, then dropped, so what stays is the index alone.
    tracemalloc.start()
    traced_rows = positions(args.positions, args.seed)
    traced = MemoryIndex(cell_deg=args.cell_deg)
    traced.upsert_many(traced_rows)
    del traced_rows
    gc.collect()
    held, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(f"  memory (tracemalloc)               {held / 2**20:7.1f} MiB held "
          f"({held / len(rows):.0f} B/position), peak {peak / 2**20:.1f} MiB while loading")
    del traced
    gc.collect()
    return {"load_s": load_s, "stats": stats, "answers": answers, "team_answers": team_answers,
            "memory": held, "team_stats": summary(team_lat)}


def run_redis(url, rows, points, args, fresh_after, teams) -> dict:
    """Load, query and measure RedisGeoIndex under a key prefix of its own; delete it after."""
    prefix = f"bench:nearest_k:{uuid.uuid4().hex[:12]}"
    index = RedisGeoIndex(url, prefix=prefix)
    print(f"RedisGeoIndex ({url}, prefix {prefix})")
    try:
        index.client.ping()
        before = int(index.client.info("memory")["used_memory"])
        start = time.perf_counter()
        index.upsert_many(rows)
        load_s = time.perf_counter() - start
        after = int(index.client.info("memory")["used_memory"])
        print(f"  upsert_many({len(rows):,})               {load_s:7.2f} s "
              f"({len(rows) / load_s:,.0f} rows/s), {len(index):,} stored")
        latencies, answers, pauses = time_queries(index, points, args.k, fresh_after)
        stats = summary(latencies)
        show(f"nearest k={args.k} fresh ({len(points):,})", stats, pauses)
        team_lat, team_answers, pauses = time_queries(index, points[:args.where_queries], args.k,
                                                      fresh_after, teams)
        show(f"  + where=teams ({args.where_queries:,})", summary(team_lat), pauses)
        print(f"  memory (INFO used_memory delta)    {(after - before) / 2**20:7.1f} MiB "
              f"({(after - before) / len(rows):.0f} B/position)")
    finally:
        index.clear()
        left = index.client.exists(index.geo_key, index.pos_key)
        print(f"  cleaned up: {index.geo_key}, {index.pos_key} deleted ({left} left)")
    return {"load_s": load_s, "stats": stats, "answers": answers, "team_answers": team_answers,
            "memory": after - before, "team_stats": summary(team_lat)}


def main() -> None:
    """Run the benchmark and print its figures."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--positions", type=int, default=300_000)
    parser.add_argument("--queries", type=int, default=5000)
    parser.add_argument("--where-queries", type=int, default=1000)
    parser.add_argument("--k", type=int, default=5)
    parser.add_argument("--seed", type=int, default=1300)
    parser.add_argument("--cell-deg", type=float, default=0.02)
    args = parser.parse_args()
    assert args.positions <= 1_000_000 and args.queries <= 50_000, "bounded benchmark"
    args.where_queries = min(args.where_queries, args.queries)

    began = time.perf_counter()
    rows = positions(args.positions, args.seed)
    points = queries(args.queries, args.seed)
    fresh_after = NOW - 15 * 60
    fresh = sum(1 for row in rows if row[3] >= fresh_after)
    print(f"{len(rows):,} positions ({fresh / len(rows):.0%} fresh), {len(points):,} queries, "
          f"k={args.k}, fresh_after=now-15min, seed {args.seed}")

    def teams(pid: str) -> bool:
        return pid.startswith("team-")

    mem = run_memory(rows, points, args, fresh_after, teams)
    url = os.environ.get("REDIS_URL", "")
    if not url:
        print("RedisGeoIndex: skipped (REDIS_URL is not set)")
    elif not loopback(url):
        print(f"RedisGeoIndex: skipped ({url} is not on this machine; loopback only)")
    else:
        red = run_redis(url, rows, points, args, fresh_after, teams)
        print("Redis / memory")
        ratios = [(f"nearest {name}", red["stats"][name] / mem["stats"][name])
                  for name in ("p50", "p95", "p99")]
        ratios += [("where=teams p99", red["team_stats"]["p99"] / mem["team_stats"]["p99"]),
                   ("upsert_many", red["load_s"] / mem["load_s"]),
                   ("memory", red["memory"] / mem["memory"])]
        for name, ratio in ratios:
            print(f"  {name:<33}{ratio:7.2f} x")
        agree = sum(map(same, mem["answers"], red["answers"]))
        agree_teams = sum(map(same, mem["team_answers"], red["team_answers"]))
        print(f"  {'same answers':<33}{agree:,}/{len(points):,} "
              f"(where=teams {agree_teams:,}/{len(mem['team_answers']):,})")
    print(f"total {time.perf_counter() - began:.1f} s")


if __name__ == "__main__":
    main()
