"""Running the outbound job queue in tests (the server processes' worker loops are off)."""

from __future__ import annotations


def run_jobs(app, *, name: str = "test-worker") -> int:
    """Run every outbound job due now, as a worker would; returns how many ran."""
    from jobs.worker import drain

    return drain(app, name=name)
