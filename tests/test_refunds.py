"""Money back (SPEC §8): `pot refund N AMOUNT --reason T` records a paid withdrawal's money that came back."""

from __future__ import annotations

import subprocess
from decimal import Decimal
from pathlib import Path

import pytest

from ledger.app import Ledger, PotApplication
from ledger.store import resolve
from tests.conftest import head, pot, refused
from tests.test_interchange import HLEDGER, forged, hledger_balances, needs_hledger


def ok(db: Path, *args: str, today: str | None = "2026-03-01") -> str:
    result = pot(db, *args, today=today)
    assert result.code == 0, (args, result.code, result.out, result.err)
    return result.out


@pytest.fixture
def paid(crew: Path) -> Path:
    """The crew with 500.00 in, and proposal 1 (120.00 to Bo for a laptop) approved and paid on 2026-02-10."""
    ok(crew, "--as", "Ana", "contribute", "Ana", "500", today="2026-02-01")
    ok(crew, "--as", "Bo", "propose", "120", "--purpose", "laptop", today="2026-02-01")
    for name in ("Ana", "Bo", "Cy", "Dee"):
        ok(crew, "--as", name, "vote", "1", "agree", today="2026-02-01")
    ok(crew, "--as", "Ana", "pay", "1", today="2026-02-10")
    return crew


def balance(db: Path, *args: str) -> dict[str, object]:
    return dict(pot(db, "balance", "--json", *args).json())


def test_money_back_goes_into_the_pot_and_the_payout_stays(paid: Path) -> None:
    out = ok(paid, "--as", "Ana", "refund", "1", "20", "--reason", "the shop refunded the case")
    assert "20.00 EUR back from Bo (proposal 1)" in out
    figures = balance(paid)
    assert (figures["balance"], figures["paid_out"], figures["contributed"]) == ("400.00", "100.00", "500.00")
    assert {m["name"]: m["received"] for m in figures["members"]}["Bo"] == "100.00"  # type: ignore[attr-defined]
    types = [item["type"] for item in pot(paid, "history", "--json").json()]
    assert types[-2:] == ["withdrawal_paid", "withdrawal_refunded"]
    refund = pot(paid, "history", "--json", "--type", "withdrawal_refunded").json()[0]
    assert (refund["proposal_no"], refund["amount"], refund["recipient"]) == (1, "20.00", "Bo")
    assert refund["reason"] == "the shop refunded the case"
    # As of the day before the money came back, it had not.
    assert balance(paid, "--as-of", "2026-02-28")["balance"] == "380.00"
    assert "money back: 20.00 EUR" in ok(paid, "proposal", "1")
    assert pot(paid, "verify").code == 0


def test_money_back_is_at_most_what_was_paid_less_what_already_came_back(paid: Path) -> None:
    refused(paid, "--as", "Ana", "refund", "1", "120.01", "--reason", "x", code=1, says="at most 120.00 can come back")
    ok(paid, "--as", "Ana", "refund", "1", "100", "--reason", "most of it")
    refused(paid, "--as", "Ana", "refund", "1", "20.01", "--reason", "x", code=1, says="at most 20.00 can come back")
    ok(paid, "--as", "Ana", "refund", "1", "20", "--reason", "the rest")
    refused(paid, "--as", "Ana", "refund", "1", "0.01", "--reason", "x", code=1, says="at most 0.00")
    assert balance(paid)["paid_out"] == "0.00"


def test_money_back_is_refused_to_members_unpaid_proposals_and_without_a_reason(paid: Path) -> None:
    before = head(paid)
    refused(paid, "--as", "Bo", "refund", "1", "10", "--reason", "x", code=1, says="only a treasurer")
    refused(paid, "--as", "Ana", "refund", "1", "10", "--reason", "  ", code=2, says="reason")
    refused(paid, "--as", "Ana", "refund", "1", "-5", "--reason", "x", code=2, says="amount")
    refused(paid, "--as", "Ana", "refund", "2", "10", "--reason", "x", code=2, says="no proposal 2")
    ok(paid, "--as", "Bo", "propose", "10", "--purpose", "train")
    refused(paid, "--as", "Ana", "refund", "2", "10", "--reason", "x", code=1, says="is open, not paid")
    refused(
        paid,
        "--as",
        "Ana",
        "refund",
        "1",
        "10",
        "--reason",
        "x",
        code=1,
        says="money back cannot be dated",
        today="2026-02-09",
    )
    assert head(paid) != before  # only the proposal was stored
    assert pot(paid, "proposals", "--json").code == 0


def test_money_back_survives_rebuild_export_and_import(paid: Path, tmp_path: Path) -> None:
    ok(paid, "--as", "Ana", "refund", "1", "20", "--reason", "back")
    figures = balance(paid)
    ok(paid, "rebuild")
    assert balance(paid) == figures
    exported = tmp_path / "crew.jsonl"
    ok(paid, "export", "--format", "jsonl", "-o", str(exported))
    copy = tmp_path / "copy.sqlite"
    ok(copy, "import", str(exported))
    assert balance(copy) == figures
    assert pot(copy, "verify").code == 0
    assert pot(paid, "trust", "--json").code == 0
    assert "+20.00  Ana recorded 20.00 back from Bo" in ok(paid, "replay")


def test_an_import_refuses_money_back_beyond_what_was_paid(paid: Path, tmp_path: Path) -> None:
    ok(paid, "--as", "Ana", "refund", "1", "20", "--reason", "back")
    exported = tmp_path / "crew.jsonl"
    ok(paid, "export", "--format", "jsonl", "-o", str(exported))
    last = len(exported.read_text().splitlines())
    forged(exported, {last: {"fields.amount_minor": 20000}})
    copy = tmp_path / "copy.sqlite"
    result = pot(copy, "import", str(exported))
    assert result.code != 0
    assert "at most 120.00 can come back" in result.err


@needs_hledger
def test_hledger_agrees_with_the_balance_after_money_back(paid: Path, tmp_path: Path) -> None:
    ok(paid, "--as", "Ana", "refund", "1", "20", "--reason", "the shop; refunded | part")
    journal = tmp_path / "crew.journal"
    ok(paid, "export", "--format", "journal", "-o", str(journal))
    assert HLEDGER is not None
    checked = subprocess.run(
        [HLEDGER, "check", "-s", "ordereddates", "-f", str(journal)], capture_output=True, text=True, check=False
    )
    assert checked.returncode == 0, checked.stderr
    figures = balance(paid)
    assert hledger_balances(journal, "assets:pot") == {"assets:pot": Decimal(str(figures["balance"]))}
    assert sum(hledger_balances(journal, "expenses:withdrawals").values()) == Decimal(str(figures["paid_out"]))


def test_money_back_counts_across_snapshots(crew: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(PotApplication, "snapshot_every", 2)  # every command meets a pot loaded from a snapshot
    ok(crew, "--as", "Ana", "contribute", "Ana", "500")
    ok(crew, "--as", "Bo", "propose", "120", "--purpose", "laptop")
    for name in ("Ana", "Bo", "Cy", "Dee"):
        ok(crew, "--as", name, "vote", "1", "agree")
    ok(crew, "--as", "Ana", "pay", "1")
    ok(crew, "--as", "Ana", "refund", "1", "100", "--reason", "most")
    ok(crew, "--as", "Ana", "contribute", "Bo", "1")
    refused(crew, "--as", "Ana", "refund", "1", "21", "--reason", "x", code=1, says="at most 20.00")
    assert pot(crew, "verify").code == 0


def test_a_pot_from_a_snapshot_older_than_payouts_gets_them_from_the_views(paid: Path) -> None:
    ok(paid, "--as", "Ana", "refund", "1", "20", "--reason", "back")
    ledger = Ledger(resolve(str(paid)))
    try:
        loaded = ledger.load("maastricht-crew")
        kept = loaded.state.payouts[1]
        loaded.state.payouts.clear()  # as a snapshot taken before payouts were kept holds it
        ledger._recall_payout(loaded, 1)
        assert loaded.state.payouts[1] == kept
        assert (kept.amount_minor, kept.recipient, kept.refunded_minor) == (12000, "Bo", 2000)
    finally:
        ledger.close()
