"""The job queue's settings and back-off, without a database."""

from __future__ import annotations

import pytest

from jobs.config import JobsConfigError, JobSettings, settings_from
from jobs.service import REASONS, RETRYABLE_REASONS, JobFailed, backoff


def test_defaults_and_values_from_the_environment():
    assert settings_from({}) == JobSettings()
    got = settings_from({"JOBS_ENABLED": "0", "JOBS_MAX_ATTEMPTS": "3",
                         "JOBS_BACKOFF_SECONDS": "2.5", "OUTBOUND_TIMEOUT_SECONDS": 4})
    assert (got.enabled, got.max_attempts, got.backoff_seconds, got.timeout_seconds) == (
        False, 3, 2.5, 4.0)


@pytest.mark.parametrize("config,words", [
    ({"JOBS_CONCURRENCY": "2.5"}, "JOBS_CONCURRENCY must be a whole number from 1 to 64"),
    ({"JOBS_POLL_SECONDS": "nan"}, "JOBS_POLL_SECONDS must be a number"),
    ({"JOBS_MAX_ATTEMPTS": ""}, "JOBS_MAX_ATTEMPTS"),
    ({"JOBS_RETENTION_DAYS": "0"}, "JOBS_RETENTION_DAYS"),
    ({"JOBS_ENABLED": "sometimes"}, "JOBS_ENABLED must be 1 or 0"),
    ({"JOBS_LEASE_SECONDS": "20", "OUTBOUND_TIMEOUT_SECONDS": "10"}, "sent twice"),
])
def test_settings_that_cannot_work_are_refused_by_name(config, words):
    with pytest.raises(JobsConfigError, match=words):
        settings_from(config)


def test_back_off_doubles_up_to_the_cap_with_jitter():
    s = JobSettings(backoff_seconds=5, backoff_max_seconds=30)
    for tries, base in ((1, 5), (2, 10), (3, 20), (4, 30), (9, 30)):
        for _ in range(20):
            assert base * 0.8 <= backoff(tries, None, s) <= base * 1.2


def test_failure_reasons_decide_whether_to_try_again():
    assert JobFailed("timeout").retry and JobFailed("service_error").retry
    assert not JobFailed("bad_number").retry and not JobFailed("refused").retry
    assert JobFailed("who knows").reason == "error"  # an unknown reason is labelled anyway
    assert RETRYABLE_REASONS <= set(REASONS)
