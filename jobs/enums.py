"""States of an outbound job."""

from __future__ import annotations

from enum import StrEnum


class JobState(StrEnum):
    """Where a job stands: waiting (first try or a retry), running under a lease, finished."""

    PENDING = "pending"
    RUNNING = "running"
    DONE = "done"
    DEAD = "dead"  # gave up: its last reason is shown to supervisors
    CANCELLED = "cancelled"  # no longer needed when its turn came (the offer was withdrawn)


FINISHED = frozenset({JobState.DONE, JobState.DEAD, JobState.CANCELLED})
