"""Money events cannot be dated before what they depend on (SPEC §1: the balance never goes below zero).

A payout dated before its proposal was approved, or a reversal dated before the
contribution it undoes, would make `balance --as-of` a day between show less than zero.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import pot, refused


@pytest.fixture
def approved(db: Path) -> Path:
    """A one-member pot on 2026-03-10: Ana put in 100.00 and proposal 1 (40.00) is approved."""
    for args in (
        ("init", "T", "--currency", "EUR", "--as", "Ana"),
        ("--as", "Ana", "contribute", "Ana", "100"),
        ("--as", "Ana", "propose", "40", "--purpose", "tools"),
        ("--as", "Ana", "vote", "1", "agree"),
    ):
        assert pot(db, *args, today="2026-03-10").code == 0, args
    return db


def balance_on(db: Path, day: str) -> str:
    return str(pot(db, "balance", "--as-of", day, "--json", today="2026-03-31").json()["balance"])


def test_a_payout_dated_before_the_approval_is_refused(approved: Path) -> None:
    refused(approved, "--as", "Ana", "pay", "1", code=1, says="approved on 2026-03-10", today="2026-02-01")
    assert balance_on(approved, "2026-02-15") == "0.00"
    assert pot(approved, "--as", "Ana", "pay", "1", today="2026-03-10").code == 0
    assert balance_on(approved, "2026-03-10") == "60.00"


def test_a_reversal_dated_before_the_contribution_is_refused(approved: Path) -> None:
    refused(
        approved, "--as", "Ana", "reverse", "3", "--reason", "typo", code=1, says="dated 2026-03-10", today="2026-03-09"
    )
    assert pot(approved, "--as", "Ana", "reverse", "3", "--reason", "typo", today="2026-03-10").code == 0
    assert balance_on(approved, "2026-03-10") == "0.00"


def test_a_back_dated_contribution_may_be_reversed_from_its_value_date_on(approved: Path) -> None:
    assert pot(approved, "--as", "Ana", "contribute", "Ana", "5", "--on", "2026-01-15", today="2026-03-10").code == 0
    assert pot(approved, "--as", "Ana", "reverse", "7", "--reason", "typo", today="2026-02-01").code == 0
    assert (balance_on(approved, "2026-01-31"), balance_on(approved, "2026-02-01")) == ("5.00", "0.00")
