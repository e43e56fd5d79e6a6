"""The dedupe query's box (ess/service.py): every point within the distance lies inside it, so
reading only the box never misses an incident the exact distance would join."""

from __future__ import annotations

import math
import random

from ess.service import _box
from geo.service import haversine_km


def test_every_point_within_the_distance_is_inside_the_box():
    rng = random.Random(7)
    for _ in range(3000):
        lat, lon = rng.uniform(5.5, 20.5), rng.uniform(97.3, 105.7)  # Thailand
        meters = rng.choice([50.0, 300.0, 1000.0, 5000.0])
        lat_span, lon_span = _box(lat, meters)
        bearing = rng.uniform(0, 2 * math.pi)
        # a point at exactly `meters` (the farthest that still joins), in any direction
        d = meters / 1000 / haversine_km(0, 0, 1, 0)
        p_lat = lat + d * math.cos(bearing)
        p_lon = lon + d * math.sin(bearing) / math.cos(math.radians(p_lat))
        scale = meters / 1000 / haversine_km(lat, lon, p_lat, p_lon)
        p_lat, p_lon = lat + (p_lat - lat) * scale, lon + (p_lon - lon) * scale
        assert haversine_km(lat, lon, p_lat, p_lon) * 1000 <= meters * 1.0001
        assert abs(p_lat - lat) <= lat_span, (lat, meters, bearing)
        assert abs(p_lon - lon) <= lon_span, (lat, meters, bearing)
    # and it is not much larger than needed (a box, not the whole province)
    lat_span, lon_span = _box(16.8, 300.0)
    assert lat_span < 0.003 and lon_span < 0.003
