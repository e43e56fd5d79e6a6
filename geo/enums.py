"""Geography vocabulary."""

from __future__ import annotations

from enum import StrEnum


class Level(StrEnum):
    """Administrative level of a place."""

    PROVINCE = "province"
    DISTRICT = "district"
    SUBDISTRICT = "subdistrict"
