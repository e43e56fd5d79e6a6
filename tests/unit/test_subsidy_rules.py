"""Subsidy rules without a database: amounts typed in baht, the status moves."""

from __future__ import annotations

import pytest

from cases.enums import SUBSIDY_TRANSITIONS, SubsidyStatus
from cases.schemas import parse_baht
from console.validation import FieldError


@pytest.mark.parametrize(("typed", "satang"), [
    ("1500", 150000), ("1,500.50", 150050), (" 2 000 ", 200000), ("700บาท", 70000),
    (1500, 150000), (99.9, 9990), ("0.01", 1), ("999999999.99", 99999999999)])
def test_amounts_as_typed_become_satang(typed, satang):
    assert parse_baht(typed) == satang


@pytest.mark.parametrize("typed", [
    "-5", "0", "0.00", "abc", "1e5", "1.234", "", None, True, "NaN", "inf", "1,5,0,0.5.0",
    "1000000000", float("nan")])
def test_bad_amounts_are_refused_with_a_message(typed):
    with pytest.raises(FieldError) as refused:
        parse_baht(typed)
    assert refused.value.message


def test_rejected_and_paid_end_a_request_and_only_approved_is_paid():
    assert SUBSIDY_TRANSITIONS[SubsidyStatus.REJECTED] == frozenset()
    assert SUBSIDY_TRANSITIONS[SubsidyStatus.PAID] == frozenset()
    assert SUBSIDY_TRANSITIONS[SubsidyStatus.APPROVED] == {SubsidyStatus.PAID}
    assert SubsidyStatus.PAID not in SUBSIDY_TRANSITIONS[SubsidyStatus.PENDING]
