"""The job queue's settings, checked once at start: a bad value stops the server with a clear
message instead of a worker that never runs, loops, or runs a job twice."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


class JobsConfigError(ValueError):
    """A job queue setting that cannot work; the message names the variable and the fix."""


@dataclass(frozen=True)
class JobSettings:
    """How the workers run jobs (see README: "Outbound work")."""

    enabled: bool = True
    concurrency: int = 4
    poll_seconds: float = 1.0
    max_attempts: int = 5
    backoff_seconds: float = 5.0
    backoff_max_seconds: float = 300.0
    lease_seconds: float = 120.0
    timeout_seconds: float = 10.0
    retention_days: float = 7.0


_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def _flag(name: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE | _FALSE:
        return text in _TRUE
    raise JobsConfigError(f"{name} must be 1 or 0 (got {value!r})")


def _number(name: str, value: Any, *, low: float, high: float, whole: bool = False) -> float:
    try:
        number = float(value) if not isinstance(value, bool) else float("nan")
    except (TypeError, ValueError):
        number = float("nan")
    if whole and number == number and number != int(number):
        number = float("nan")
    if not (low <= number <= high):  # NOTE: NaN fails every comparison, so it lands here.
        kind = "a whole number" if whole else "a number"
        raise JobsConfigError(f"{name} must be {kind} from {low:g} to {high:g} (got {value!r})")
    return int(number) if whole else number


def settings_from(config: dict[str, Any]) -> JobSettings:
    """Read and check the JOBS_* and OUTBOUND_TIMEOUT_SECONDS settings."""
    d = JobSettings()
    get = config.get
    settings = JobSettings(
        enabled=_flag("JOBS_ENABLED", get("JOBS_ENABLED", d.enabled)),
        concurrency=_number("JOBS_CONCURRENCY", get("JOBS_CONCURRENCY", d.concurrency),
                            low=1, high=64, whole=True),
        poll_seconds=_number("JOBS_POLL_SECONDS", get("JOBS_POLL_SECONDS", d.poll_seconds),
                             low=0.05, high=60),
        max_attempts=_number("JOBS_MAX_ATTEMPTS", get("JOBS_MAX_ATTEMPTS", d.max_attempts),
                             low=1, high=50, whole=True),
        backoff_seconds=_number("JOBS_BACKOFF_SECONDS",
                                get("JOBS_BACKOFF_SECONDS", d.backoff_seconds),
                                low=0, high=3600),
        backoff_max_seconds=_number("JOBS_BACKOFF_MAX_SECONDS",
                                    get("JOBS_BACKOFF_MAX_SECONDS", d.backoff_max_seconds),
                                    low=0, high=86400),
        lease_seconds=_number("JOBS_LEASE_SECONDS", get("JOBS_LEASE_SECONDS", d.lease_seconds),
                              low=1, high=86400),
        timeout_seconds=_number("OUTBOUND_TIMEOUT_SECONDS",
                                get("OUTBOUND_TIMEOUT_SECONDS", d.timeout_seconds),
                                low=0.1, high=300),
        retention_days=_number("JOBS_RETENTION_DAYS",
                               get("JOBS_RETENTION_DAYS", d.retention_days), low=1, high=3650),
    )
    if settings.backoff_max_seconds < settings.backoff_seconds:
        raise JobsConfigError(
            f"JOBS_BACKOFF_MAX_SECONDS ({settings.backoff_max_seconds:g}) must not be below "
            f"JOBS_BACKOFF_SECONDS ({settings.backoff_seconds:g})")
    # NOTE: a lease shorter than a job's calls would let a second worker take a job that is
    # still running (sent twice). One job makes one outside call, bounded by the timeout.
    if settings.lease_seconds < 3 * settings.timeout_seconds:
        raise JobsConfigError(
            f"JOBS_LEASE_SECONDS ({settings.lease_seconds:g}) must be at least 3 x "
            f"OUTBOUND_TIMEOUT_SECONDS ({settings.timeout_seconds:g}): a job still running "
            "would be taken by another worker and sent twice")
    return settings
