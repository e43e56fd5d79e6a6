"""Case management rules without a database: the workflow table, Thai IDs, Buddhist-era dates."""

from __future__ import annotations

from datetime import date

import pytest

from cases.enums import CASE_TRANSITIONS, REASON_REQUIRED, CaseStatus
from cases.schemas import mask_thai_id, parse_birth_date, thai_id_is_valid
from console.validation import FieldError


def with_check_digit(first12: str) -> str:
    total = sum(int(first12[i]) * (13 - i) for i in range(12))
    return first12 + str((11 - total % 11) % 10)


def test_thai_id_check_digit():
    good = with_check_digit("110170020345")
    assert thai_id_is_valid(good)
    bad = good[:-1] + str((int(good[-1]) + 1) % 10)
    assert not thai_id_is_valid(bad)
    assert not thai_id_is_valid("12345")
    assert not thai_id_is_valid("abcdefghijklm")
    assert mask_thai_id(good) == f"x-xxxx-xxxxx-{good[10:12]}-{good[12]}"
    assert mask_thai_id(None) is None


def test_birth_dates_in_buddhist_era_or_gregorian():
    today = date(2026, 12, 1)
    assert parse_birth_date("12/05/2530", today=today) == date(1987, 5, 12)
    assert parse_birth_date("2530-05-12", today=today) == date(1987, 5, 12)
    assert parse_birth_date("1987-05-12", today=today) == date(1987, 5, 12)
    for bad in ("31/02/2530", "12/05/2570", "x", "1/1/1800"):
        with pytest.raises(FieldError):
            parse_birth_date(bad, today=today)


def test_workflow_moves_and_reasons():
    assert CaseStatus.FACT_FINDING in CASE_TRANSITIONS[CaseStatus.INTAKE]
    assert CaseStatus.FOLLOW_UP not in CASE_TRANSITIONS[CaseStatus.INTAKE]
    assert set(CASE_TRANSITIONS) == set(CaseStatus)  # every state has its moves
    # Every state can be closed, and closing and reopening always need a reason.
    for state in CaseStatus:
        if state is not CaseStatus.CLOSED:
            assert CaseStatus.CLOSED in CASE_TRANSITIONS[state]
            assert (state, CaseStatus.CLOSED) in REASON_REQUIRED
    assert all((CaseStatus.CLOSED, to) in REASON_REQUIRED
               for to in CASE_TRANSITIONS[CaseStatus.CLOSED])
    assert (CaseStatus.INTAKE, CaseStatus.FACT_FINDING) not in REASON_REQUIRED


def test_dispatch_hands_over_by_domain_event_not_by_calling_cases():
    from pathlib import Path

    source = (Path(__file__).resolve().parents[2] / "dispatch" / "service.py").read_text()
    assert "cases import service" not in source and "cases.service" not in source
    assert "domain_events.INCIDENT_RESOLVED" in source
