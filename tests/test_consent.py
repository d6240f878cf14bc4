"""Withdrawals by consent through `pot`: proposals, votes, decisions, reserved funds, payouts."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from domain.consent import tally
from tests.conftest import Result, pot, refused


@pytest.fixture
def funded(crew: Path) -> Path:
    """The crew with 200.00 in the pot (Ana 100, Bo 100), on 2026-03-01."""
    assert pot(crew, "--as", "Ana", "contribute", "Ana", "100").code == 0
    assert pot(crew, "--as", "Ana", "contribute", "Bo", "100").code == 0
    return crew


def vote(db: Path, who: str, n: int, position: str, *extra: str, today: str = "2026-03-01") -> Result:
    return pot(db, "--as", who, "vote", str(n), position, *extra, today=today)


def proposal(db: Path, n: int) -> Any:
    return pot(db, "proposal", str(n), "--json").json()


def test_a_proposal_is_numbered_and_defaults_to_the_proposer_and_voting_days(funded: Path) -> None:
    result = pot(funded, "--as", "Bo", "propose", "120", "--purpose", "Dee's laptop repair", "--to", "dee")
    assert result.out == "event 8: Bo proposed 120.00 EUR to Dee for Dee's laptop repair (proposal 1)\n"
    assert pot(funded, "--as", "Cy", "propose", "5", "--purpose", "tea").out.endswith("(proposal 2)\n")
    first, second = pot(funded, "proposals", "--json").json()
    assert first == {
        "no": 1,
        "proposer": "Bo",
        "amount": "120.00",
        "purpose": "Dee's laptop repair",
        "recipient": "Dee",
        "closes": "2026-03-08",
        "status": "open",
        "votes": {"agree": 0, "abstain": 0, "disagree": 0, "block": 0},
    }
    assert second["recipient"] == "Cy"


def test_the_last_eligible_vote_decides_at_once(funded: Path) -> None:
    pot(funded, "--as", "Bo", "propose", "120", "--purpose", "repair", "--to", "Dee")
    for who in ("Ana", "Bo", "Cy"):
        assert vote(funded, who, 1, "agree").code == 0
    assert proposal(funded, 1)["status"] == "open"
    last = vote(funded, "Dee", 1, "abstain")
    assert "approved" in last.out
    decided = proposal(funded, 1)
    assert decided["status"] == "approved"
    assert decided["votes"] == {"agree": 3, "abstain": 1, "disagree": 0, "block": 0}
    report = pot(funded, "balance", "--json").json()
    assert (report["balance"], report["reserved"], report["available"]) == ("200.00", "120.00", "80.00")
    decision = pot(funded, "history", "--type", "proposal_decided", "--json").json()[0]
    assert (decision["outcome"], decision["agree"], decision["abstain"], decision["all_voted"]) == (
        "approved",
        3,
        1,
        True,
    )


def test_one_block_rejects(funded: Path) -> None:
    pot(funded, "--as", "Bo", "propose", "50", "--purpose", "party")
    vote(funded, "Ana", 1, "agree")
    vote(funded, "Bo", 1, "agree")
    vote(funded, "Dee", 1, "agree")
    vote(funded, "Cy", 1, "block", "--reason", "we said no spending before March")
    assert proposal(funded, 1)["status"] == "rejected"


def test_a_member_may_change_their_vote_and_every_vote_stays_in_history(funded: Path) -> None:
    pot(funded, "--as", "Bo", "propose", "50", "--purpose", "party")
    vote(funded, "Cy", 1, "block", "--reason", "not now")
    vote(funded, "Cy", 1, "agree", "--reason", "convinced")
    detail = proposal(funded, 1)
    assert detail["votes"]["agree"] == 1
    assert detail["votes"]["block"] == 0
    assert [(b["member"], b["position"], b["reason"]) for b in detail["ballots"]] == [
        ("Cy", "block", "not now"),
        ("Cy", "agree", "convinced"),
    ]


def test_close_before_the_closing_date_is_refused_and_after_it_decides(funded: Path) -> None:
    pot(funded, "--as", "Bo", "propose", "50", "--purpose", "party", "--closes", "2026-03-05")
    vote(funded, "Ana", 1, "agree")
    vote(funded, "Bo", 1, "agree")
    refused(funded, "--as", "Cy", "close", "1", code=1, says="open for votes until 2026-03-05", today="2026-03-04")
    assert pot(funded, "--as", "Cy", "close", "1", today="2026-03-06").code == 0
    assert proposal(funded, 1)["status"] == "approved"  # 2 of 4 voted meets quorum 0.5


def test_close_on_the_closing_day_itself_is_refused(funded: Path) -> None:
    # SPEC §1: a proposal closes *after* its closing date; that day is still open for votes.
    pot(funded, "--as", "Bo", "propose", "50", "--purpose", "party", "--closes", "2026-03-05")
    vote(funded, "Bo", 1, "agree")
    refused(funded, "--as", "Cy", "close", "1", code=1, says="open for votes until 2026-03-05", today="2026-03-05")
    assert vote(funded, "Ana", 1, "agree", today="2026-03-05").code == 0
    assert proposal(funded, 1)["status"] == "open"
    assert "approved" in pot(funded, "--as", "Cy", "close", "1", today="2026-03-06").out


def test_quorum_not_met_rejects(funded: Path) -> None:
    pot(funded, "--as", "Bo", "propose", "50", "--purpose", "party", "--closes", "2026-03-05")
    vote(funded, "Bo", 1, "agree")
    pot(funded, "--as", "Ana", "close", "1", today="2026-03-06")
    assert proposal(funded, 1)["status"] == "rejected"


def test_pay_takes_the_money_out_once(funded: Path) -> None:
    pot(funded, "--as", "Bo", "propose", "120", "--purpose", "repair", "--to", "Dee")
    for who in ("Ana", "Bo", "Cy", "Dee"):
        vote(funded, who, 1, "agree")
    assert pot(funded, "--as", "Ana", "pay", "1").code == 0
    report = pot(funded, "balance", "--json").json()
    assert (report["balance"], report["paid_out"], report["reserved"], report["available"]) == (
        "80.00",
        "120.00",
        "0.00",
        "80.00",
    )
    assert report["members"][3] == {"name": "Dee", "contributed": "0.00", "share_pct": "0.00", "received": "120.00"}
    assert proposal(funded, 1)["status"] == "paid"
    refused(funded, "--as", "Ana", "pay", "1", code=1, says="already paid")


def test_the_proposer_may_cancel_an_open_proposal(funded: Path) -> None:
    pot(funded, "--as", "Bo", "propose", "50", "--purpose", "party")
    refused(funded, "--as", "Cy", "cancel", "1", code=1, says="only Bo")
    assert pot(funded, "--as", "Bo", "cancel", "1").code == 0
    assert proposal(funded, 1)["status"] == "cancelled"
    assert [p["no"] for p in pot(funded, "proposals", "--status", "cancelled", "--json").json()] == [1]


def test_members_who_joined_after_the_proposal_may_not_vote(funded: Path) -> None:
    pot(funded, "--as", "Bo", "propose", "50", "--purpose", "party")
    pot(funded, "--as", "Ana", "member", "add", "Eve")
    refused(funded, "--as", "Eve", "vote", "1", "agree", code=1, says="not a member when proposal 1 was made")


def test_a_member_who_left_may_not_vote_and_the_rest_decide(funded: Path) -> None:
    pot(funded, "--as", "Bo", "propose", "50", "--purpose", "party")
    for who in ("Ana", "Bo", "Cy"):
        vote(funded, who, 1, "agree")
    assert pot(funded, "--as", "Dee", "member", "remove", "Dee").code == 0
    refused(funded, "--as", "Dee", "vote", "1", "agree", code=1, says="left")
    detail = proposal(funded, 1)
    assert detail["status"] == "approved"


def test_a_vote_dated_before_the_proposal_was_made_is_refused(funded: Path) -> None:
    pot(funded, "--as", "Bo", "propose", "50", "--purpose", "party", today="2026-03-03")
    refused(funded, "--as", "Cy", "vote", "1", "agree", code=1, says="made on 2026-03-03", today="2026-03-02")
    assert vote(funded, "Cy", 1, "agree", today="2026-03-03").code == 0


def test_votes_are_taken_on_the_closing_day_and_refused_after_it(funded: Path) -> None:
    pot(funded, "--as", "Bo", "propose", "50", "--purpose", "party", "--closes", "2026-03-05")
    assert vote(funded, "Cy", 1, "agree", today="2026-03-05").code == 0
    late = refused(funded, "--as", "Ana", "vote", "1", "agree", code=1, says="closed on 2026-03-05", today="2026-03-06")
    assert "pot close 1" in late.err
    # A late vote cannot tip it: close decides on the votes cast in time (1 of 4 misses quorum).
    assert "rejected" in pot(funded, "--as", "Ana", "close", "1", today="2026-03-06").out
    assert [b["member"] for b in proposal(funded, 1)["ballots"]] == ["Cy"]


@pytest.fixture
def decided(funded: Path) -> Path:
    """Proposal 1 approved (60.00), proposal 2 rejected, proposal 3 open."""
    pot(funded, "--as", "Bo", "propose", "60", "--purpose", "repair")
    pot(funded, "--as", "Bo", "propose", "70", "--purpose", "party")
    pot(funded, "--as", "Bo", "propose", "80", "--purpose", "tea")
    for who in ("Ana", "Bo", "Cy", "Dee"):
        vote(funded, who, 1, "agree")
        vote(funded, who, 2, *(["block", "--reason", "not yet"] if who == "Cy" else ["agree"]))
    return funded


BAD = [
    (("--as", "Ana", "vote", "9", "agree"), 2, "no proposal 9"),
    (("--as", "Ana", "vote", "3", "maybe"), 2, "maybe"),
    (("--as", "Ana", "vote", "1", "agree"), 1, "approved"),
    (("--as", "Ana", "vote", "2", "agree"), 1, "rejected"),
    (("--as", "Zed", "vote", "3", "agree"), 2, "not a member"),
    (("--as", "Ana", "close", "1"), 1, "no longer open"),
    # Proposal 1 is approved and may be cancelled (SPEC §1 edge cases); a rejected one may not.
    (("--as", "Bo", "cancel", "2"), 1, "proposal 2 is rejected"),
    (("--as", "Ana", "pay", "2"), 1, "not approved"),
    (("--as", "Ana", "pay", "3"), 1, "not approved"),
    (("--as", "Bo", "pay", "1"), 1, "only a treasurer"),
    (("--as", "Ana", "pay", "9"), 2, "no proposal 9"),
    (("--as", "Bo", "propose", "10", "--purpose", "x", "--closes", "2026-02-28"), 2, "in the past"),
    (("--as", "Bo", "propose", "10", "--purpose", "  "), 2, "purpose"),
    (("--as", "Bo", "propose", "10"), 2, "--purpose"),
    (("--as", "Bo", "propose", "0", "--purpose", "x"), 2, "zero"),
    (("--as", "Bo", "propose", "-3", "--purpose", "x"), 2, "negative"),
    (("--as", "Bo", "propose", "1.234", "--purpose", "x"), 2, "decimals"),
    (("--as", "Zed", "propose", "10", "--purpose", "x"), 2, "not a member"),
    (("proposal", "9"), 2, "no proposal 9"),
]


@pytest.mark.parametrize(("args", "code", "says"), BAD, ids=[" ".join(a) for a, _, _ in BAD])
def test_bad_consent_input_is_refused_and_stores_nothing(
    decided: Path, args: tuple[str, ...], code: int, says: str
) -> None:
    refused(decided, *args, code=code, says=says)


def test_paying_more_than_the_balance_is_refused(funded: Path) -> None:
    pot(funded, "--as", "Bo", "propose", "150", "--purpose", "a")
    pot(funded, "--as", "Bo", "propose", "150", "--purpose", "b")
    for who in ("Ana", "Bo", "Cy", "Dee"):
        vote(funded, who, 1, "agree")
        vote(funded, who, 2, "agree")
    assert pot(funded, "--as", "Ana", "pay", "1").code == 0
    refused(funded, "--as", "Ana", "pay", "2", code=1, says="insufficient funds")


@pytest.mark.parametrize(
    ("votes", "eligible", "quorum", "outcome"),
    [
        (["agree"], 1, "0.5", "approved"),
        (["agree", "disagree"], 2, "0.5", "rejected"),  # agree must outnumber disagree
        (["agree", "agree", "disagree"], 3, "0.5", "approved"),
        (["agree", "block", "agree"], 3, "0.5", "rejected"),
        (["abstain", "abstain"], 2, "0.5", "rejected"),
        (["agree", "abstain"], 5, "0.5", "rejected"),  # ceil(2.5) = 3 needed
        (["agree", "abstain", "abstain"], 5, "0.5", "approved"),
        (["agree"], 7, "0.1", "approved"),  # ceil(0.7) = 1
        (["agree"] * 3, 3, "1", "approved"),
        (["agree"] * 2, 3, "1", "rejected"),
    ],
)
def test_the_consent_rule(votes: list[str], eligible: int, quorum: str, outcome: str) -> None:
    assert tally(votes, eligible).outcome(Decimal(quorum)) == outcome


def test_a_quorum_with_too_many_decimals_says_so(db: Path) -> None:
    third = "0.333333333333333333333"
    refused(db, "init", "Crew", "--currency", "EUR", "--as", "Ana", "--quorum", third, code=2, says="more than 4")
    assert pot(db, "init", "Crew", "--currency", "EUR", "--as", "Ana", "--quorum", "0.3333").code == 0


def test_a_vote_is_reported_under_the_voters_own_name(funded: Path) -> None:
    pot(funded, "--as", "Bo", "propose", "50", "--purpose", "party")
    assert vote(funded, "cY", 1, "agree").out.strip() == "event 9: Cy voted agree on proposal 1"


def test_leaving_that_completes_a_proposal_says_how_it_was_decided(funded: Path) -> None:
    pot(funded, "--as", "Bo", "propose", "50", "--purpose", "party")
    for who in ("Ana", "Bo", "Cy"):
        assert vote(funded, who, 1, "agree").code == 0
    # Only Dee had not voted: her leaving completes the proposal.
    left = pot(funded, "--as", "Dee", "member", "remove", "Dee")
    assert left.out.strip() == (
        "event 12: Dee left the crew; event 13: proposal 1 approved (3 agree, 0 abstain, 0 disagree, 0 block)"
    )
    assert proposal(funded, 1)["status"] == "approved"
