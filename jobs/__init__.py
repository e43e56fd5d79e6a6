"""The outbound job queue: slow work outside the machine (SMS, LINE, Twilio) as table rows.

A change enqueues its jobs in its own transaction (`service.enqueue`); a worker in each server
process (or `python -m console.cli worker`) claims due rows exactly once, runs them with a
timeout per call, retries with exponential back-off and ends a job that keeps failing in a
visible dead state. Domain packages register what each kind does (`service.task`).
"""
