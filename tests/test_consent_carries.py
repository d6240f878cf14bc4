"""Consent that carries a crew (SPEC §8, issue 21 part A), through `pot`.

- who still has to vote, and what a proposal needs now (quorum reached, how it would end if closed now, who blocks);
- a `block` or `disagree` needs a reason;
- two to sign: a treasurer does not pay a proposal they proposed or receive while another treasurer could;
- approved beyond the pot: payouts go in order of approval, `available` never shows below zero, the
  shortfall is shown as such, and a proposal approved while the pot cannot cover it waits for money.

A history recorded before these rules (a block without a reason, a treasurer paying their own proposal,
a later approval paid first) still imports and verifies.
"""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from domain import chain, lawful
from domain.errors import PotError
from domain.events import PotEvent, VoteCast, WithdrawalPaid, record_of
from domain.pot import Pot
from tests.conftest import pot, refused

DAY = date(2026, 3, 1)


def vote(db: Path, who: str, n: int, position: str, *reason: str) -> None:
    result = pot(db, "--as", who, "vote", str(n), position, *reason)
    assert result.code == 0, result.err


def proposal(db: Path, n: int) -> Any:
    return pot(db, "proposal", str(n), "--json").json()


def contribute(db: Path, amount: str) -> None:
    assert pot(db, "--as", "Ana", "contribute", "Bo", amount).code == 0


def approve(db: Path, amount: str, *, by: str = "Bo") -> int:
    """A proposal by `by` that everyone agrees to at once: its number."""
    made = pot(db, "--as", by, "propose", amount, "--purpose", f"tools {amount}")
    assert made.code == 0, made.err
    no = len(pot(db, "proposals", "--json").json())
    for who in ("Ana", "Bo", "Cy", "Dee"):
        vote(db, who, no, "agree")
    assert proposal(db, no)["status"] == "approved"
    return no


# --------------------------------------------------------------------------- who still has to vote
def test_pot_proposal_says_who_still_has_to_vote_and_what_it_needs_now(crew: Path) -> None:
    contribute(crew, "100")
    assert pot(crew, "--as", "Bo", "propose", "40", "--purpose", "paint").code == 0
    fresh = proposal(crew, 1)
    assert (fresh["waiting"], fresh["quorum_reached"], fresh["if_closed_now"]) == (
        ["Ana", "Bo", "Cy", "Dee"],
        False,
        "rejected",
    )
    vote(crew, "Bo", 1, "agree")
    vote(crew, "Ana", 1, "agree")
    # Quorum 0.5 of four is two votes: reached, and closed now it would pass.
    now = proposal(crew, 1)
    assert (now["waiting"], now["quorum_reached"], now["if_closed_now"]) == (["Cy", "Dee"], True, "approved")
    vote(crew, "Cy", 1, "block", "--reason", "we said no paint before the roof")
    blocked = proposal(crew, 1)
    assert (blocked["waiting"], blocked["if_closed_now"]) == (["Dee"], "rejected")
    text = pot(crew, "proposal", "1").out
    assert "waiting for: Dee" in text
    assert "quorum reached; if closed now: rejected" in text
    assert "blocked by: Cy" in text
    # Who blocks is for people: SPEC §4's JSON has only the three fields.
    assert "blocked_by" not in blocked


def test_a_member_who_left_is_not_waited_for(crew: Path) -> None:
    assert pot(crew, "--as", "Bo", "propose", "40", "--purpose", "paint").code == 0
    vote(crew, "Cy", 1, "block", "--reason", "not now")
    assert pot(crew, "--as", "Dee", "member", "remove", "Dee").code == 0
    assert pot(crew, "--as", "Cy", "member", "remove", "Cy").code == 0
    now = proposal(crew, 1)
    # Cy's block left with Cy: nobody blocks now, and only Ana and Bo are eligible (quorum 1 of 2).
    assert (now["waiting"], now["quorum_reached"], now["if_closed_now"]) == (["Ana", "Bo"], False, "rejected")
    assert "blocked by" not in pot(crew, "proposal", "1").out


def test_a_decided_proposal_waits_for_nobody_and_has_no_if_closed_now(crew: Path) -> None:
    contribute(crew, "100")
    approve(crew, "40")
    decided = proposal(crew, 1)
    assert (decided["waiting"], decided["quorum_reached"], decided["if_closed_now"]) == ([], True, None)
    assert "waiting for" not in pot(crew, "proposal", "1").out


# --------------------------------------------------------------------------- reasons
def test_a_block_or_disagree_without_a_reason_is_refused(crew: Path) -> None:
    assert pot(crew, "--as", "Bo", "propose", "40", "--purpose", "paint").code == 0
    refused(crew, "--as", "Cy", "vote", "1", "block", code=2, says="a block needs a reason")
    refused(crew, "--as", "Cy", "vote", "1", "block", "--reason", "   ", code=2, says="a block needs a reason")
    refused(crew, "--as", "Cy", "vote", "1", "disagree", code=2, says="a disagree vote needs a reason")
    # Agree and abstain keep their reason optional.
    vote(crew, "Cy", 1, "abstain")
    vote(crew, "Dee", 1, "agree")
    vote(crew, "Bo", 1, "disagree", "--reason", "too dear")
    assert [b["reason"] for b in proposal(crew, 1)["ballots"]] == ["", "", "too dear"]


# --------------------------------------------------------------------------- two to sign
def test_a_treasurer_may_not_pay_a_proposal_they_made_while_another_treasurer_could(crew: Path) -> None:
    contribute(crew, "100")
    assert pot(crew, "--as", "Ana", "member", "role", "Cy", "treasurer").code == 0
    approve(crew, "40", by="Ana")
    refused(crew, "--as", "Ana", "pay", "1", code=1, says="Ana may not pay proposal 1: they proposed it")
    assert pot(crew, "--as", "Cy", "pay", "1").code == 0
    assert proposal(crew, 1)["status"] == "paid"


def test_a_treasurer_may_not_pay_a_proposal_that_pays_them(crew: Path) -> None:
    contribute(crew, "100")
    assert pot(crew, "--as", "Ana", "member", "role", "Cy", "treasurer").code == 0
    assert pot(crew, "--as", "Bo", "propose", "30", "--purpose", "train", "--to", "cy").code == 0
    for who in ("Ana", "Bo", "Cy", "Dee"):
        vote(crew, who, 1, "agree")
    refused(crew, "--as", "Cy", "pay", "1", code=1, says="Cy may not pay proposal 1: they receive it")
    assert pot(crew, "--as", "Ana", "pay", "1").code == 0


def test_the_only_treasurer_still_pays_their_own_proposal(crew: Path) -> None:
    contribute(crew, "100")
    approve(crew, "40", by="Ana")
    assert pot(crew, "--as", "Ana", "pay", "1").code == 0


# --------------------------------------------------------------------------- approved beyond the pot
def test_approvals_beyond_the_pot_are_paid_in_order_and_available_never_shows_below_zero(crew: Path) -> None:
    contribute(crew, "500")
    for _ in range(3):
        approve(crew, "300")
    money = pot(crew, "balance", "--json").json()
    assert (money["balance"], money["reserved"], money["available"]) == ("500.00", "900.00", "0.00")
    # SPEC §4's balance fields stay as they are: the shortfall is said in text.
    assert "shortfall" not in money
    assert "short 400.00" in pot(crew, "balance").out
    # The second and third approvals wait: the first one's 300 is not theirs to take.
    assert "approved and waiting for money" not in pot(crew, "proposal", "1").out
    assert "waiting for money: the pot lacks 100.00 EUR" in pot(crew, "proposal", "2").out
    assert "waiting for money: the pot lacks 300.00 EUR" in pot(crew, "proposal", "3").out
    assert proposal(crew, 2)["status"] == "approved"
    refused(crew, "--as", "Ana", "pay", "2", code=1, says="payouts go in order of approval")
    assert pot(crew, "--as", "Ana", "pay", "1").code == 0
    refused(crew, "--as", "Ana", "pay", "2", code=1, says="insufficient funds")
    contribute(crew, "100")
    assert pot(crew, "--as", "Ana", "pay", "2").code == 0
    assert pot(crew, "balance", "--json").json()["available"] == "0.00"
    assert "short 300.00" in pot(crew, "balance").out


def test_cancelling_an_earlier_approval_frees_its_money_for_the_next(crew: Path) -> None:
    contribute(crew, "300")
    approve(crew, "300")
    approve(crew, "200")
    refused(crew, "--as", "Ana", "pay", "2", code=1, says="order of approval")
    assert pot(crew, "--as", "Bo", "cancel", "1").code == 0
    assert pot(crew, "--as", "Ana", "pay", "2").code == 0


@settings(max_examples=60, deadline=None)
@given(
    balance=st.integers(min_value=1, max_value=1_000),
    amounts=st.lists(st.integers(min_value=1, max_value=600), min_size=1, max_size=6),
    tries=st.lists(st.integers(min_value=0, max_value=5), max_size=12),
)
def test_a_payout_never_takes_money_reserved_for_an_earlier_approval(
    balance: int, amounts: list[int], tries: list[int]
) -> None:
    """Property: whatever order a treasurer tries, a payout leaves at least what earlier approvals reserve.

    And a payout refused for that reason would have left less.
    """
    crew = Pot.open(
        slug="p", name="P", currency="EUR", digits=2, quorum=Decimal("0.5"), voting_days=7, treasurer="Ana", today=DAY
    )
    crew.contribute(actor="Ana", member="Ana", amount_minor=balance, on=DAY, today=DAY)
    for amount in amounts:
        no = crew.propose(actor="Ana", amount_minor=amount, purpose="x", recipient=None, closes=None, today=DAY)
        crew.vote(actor="Ana", proposal_no=no, position="agree", reason="", today=DAY)
    # The event that approved each: every one was approved by its only vote, so each has one.
    order = {no: p.approved_no or 0 for no, p in crew.state.proposals.items()}
    for i in tries:
        no = i % len(amounts) + 1
        if crew.proposal_status(no) != "approved":
            continue
        earlier = sum(p.amount_minor for p in crew.state.proposals.values() if order[p.no] < order[no])
        try:
            crew.pay(actor="Ana", proposal_no=no, today=DAY)
        except PotError:
            assert crew.state.balance_minor - amounts[no - 1] < earlier
        else:
            assert crew.state.balance_minor >= earlier


# --------------------------------------------------------------------------- older histories
def test_an_older_history_without_these_rules_still_imports_and_verifies(tmp_path: Path) -> None:
    """Recorded before SPEC §8: a block without a reason, a treasurer paying their own proposal while
    another treasurer was there, a later approval paid before an earlier one. A backup still restores."""
    crew = Pot.open(
        slug="old",
        name="Old",
        currency="EUR",
        digits=2,
        quorum=Decimal("0.5"),
        voting_days=7,
        treasurer="Ana",
        today=DAY,
    )
    crew.add_member(actor="Ana", name="Bo", treasurer=True, today=DAY)
    crew.contribute(actor="Ana", member="Bo", amount_minor=50_000, on=DAY, today=DAY)
    crew.propose(actor="Ana", amount_minor=40_000, purpose="roof", recipient=None, closes=None, today=DAY)
    crew.propose(actor="Ana", amount_minor=20_000, purpose="paint", recipient=None, closes=None, today=DAY)
    crew.propose(actor="Bo", amount_minor=100, purpose="tea", recipient=None, closes=None, today=DAY)
    # As an older `pot` stored them: the guards of today would refuse each.
    crew._emit(VoteCast, actor="Bo", on=DAY, proposal_no=3, member="Bo", position="block", reason="")
    for no in (1, 2):
        for who in ("Ana", "Bo"):
            crew.vote(actor=who, proposal_no=no, position="agree", reason="", today=DAY)
    crew._emit(WithdrawalPaid, actor="Ana", on=DAY, proposal_no=2, amount_minor=20_000, recipient="Ana")
    events = [e for e in crew.collect_events() if isinstance(e, PotEvent)]
    followed: Pot | None = None
    for event in events:
        followed = lawful.follow(followed, event)
    assert followed is not None
    assert len(events) == crew.version
    export = tmp_path / "old.jsonl"
    lines = [json.dumps({**record_of(e), "digest": chain.digest(record_of(e))}) for e in events]
    export.write_text("\n".join(lines) + "\n", encoding="utf-8")
    db = tmp_path / "restored.sqlite"
    result = pot(db, "import", "--format", "jsonl", str(export))
    assert result.code == 0, result.err
    assert pot(db, "verify").code == 0
    assert [b["reason"] for b in proposal(db, 3)["ballots"]] == [""]
    assert proposal(db, 2)["status"] == "paid"
