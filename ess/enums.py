"""ESS Help Me vocabularies: where a report came from and where it stands."""

from __future__ import annotations

from enum import StrEnum


class ReportSource(StrEnum):
    """The channel a citizen used."""

    LINE = "line"
    APP = "app"


class ReportStatus(StrEnum):
    """RECEIVED: no incident yet (e.g. waiting for a location); LINKED: part of an incident."""

    RECEIVED = "received"
    LINKED = "linked"
