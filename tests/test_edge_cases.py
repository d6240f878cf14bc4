"""SPEC §1 "Edge cases, decided": leavers take their vote, approved proposals may be cancelled,
back-dated money counts alike in every view, `history --member`, pledges ahead and stopped."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from domain import lawful
from domain.events import ProposalDecided
from domain.pot import Pot
from tests.conftest import pot, refused


@pytest.fixture
def funded(crew: Path) -> Path:
    """The crew with 200.00 in the pot (Ana 100, Bo 100), on 2026-03-01."""
    assert pot(crew, "--as", "Ana", "contribute", "Ana", "100").code == 0
    assert pot(crew, "--as", "Ana", "contribute", "Bo", "100").code == 0
    return crew


def vote(db: Path, who: str, n: int, position: str) -> None:
    result = pot(db, "--as", who, "vote", str(n), position)
    assert result.code == 0, result.err


def proposal(db: Path, n: int) -> Any:
    return pot(db, "proposal", str(n), "--json").json()


def decision(db: Path, n: int) -> Any:
    """The stored `proposal_decided` event of proposal n."""
    found = [e for e in pot(db, "history", "--json").json() if e["type"] == "proposal_decided"]
    return next(e for e in found if e["proposal_no"] == n)


def points(db: Path, level: str, today: str = "2026-03-01") -> dict[str, int]:
    report = pot(db, "trust", "--json", today=today).json()
    return {m["name"]: m["points"][level] for m in report["members"]}


# --------------------------------------------------------------------------- a leaver takes their vote
def test_a_block_by_a_member_who_left_no_longer_counts(funded: Path) -> None:
    pot(funded, "--as", "Bo", "propose", "50", "--purpose", "tools")
    vote(funded, "Cy", 1, "block")
    assert pot(funded, "--as", "Cy", "member", "remove", "Cy").code == 0
    for who in ("Ana", "Bo"):
        vote(funded, who, 1, "agree")
    vote(funded, "Dee", 1, "agree")
    decided = proposal(funded, 1)
    assert decided["status"] == "approved"
    assert decided["votes"] == {"agree": 3, "abstain": 0, "disagree": 0, "block": 0}
    # Cy's ballot stays in history.
    assert (decided["ballots"][0]["member"], decided["ballots"][0]["position"]) == ("Cy", "block")
    stored = decision(funded, 1)
    assert (stored["eligible_count"], stored["block"], stored["all_voted"]) == (3, 0, True)


def test_a_leaver_is_not_among_the_eligible_for_everyone_voted_and_the_listening_point(funded: Path) -> None:
    pot(funded, "--as", "Bo", "propose", "50", "--purpose", "tools")
    for who in ("Ana", "Bo", "Cy"):
        vote(funded, who, 1, "agree")
    before = points(funded, "1")
    assert pot(funded, "--as", "Ana", "member", "remove", "Dee").code == 0
    stored = decision(funded, 1)
    assert (stored["outcome"], stored["eligible_count"], stored["all_voted"]) == ("approved", 3, True)
    after = points(funded, "1")
    assert {name: after[name] - before[name] for name in after} == {"Ana": 1, "Bo": 1, "Cy": 1}


def test_a_leaver_is_not_counted_for_quorum(funded: Path) -> None:
    # Quorum 0.5 of 4 would need 2 votes; with Cy and Dee gone it needs 1 of the 2 left.
    pot(funded, "--as", "Bo", "propose", "50", "--purpose", "tools", "--closes", "2026-03-02")
    vote(funded, "Bo", 1, "agree")
    vote(funded, "Cy", 1, "agree")
    vote(funded, "Dee", 1, "agree")
    for who in ("Cy", "Dee"):
        assert pot(funded, "--as", who, "member", "remove", who).code == 0
    assert pot(funded, "--as", "Bo", "close", "1", today="2026-03-03").code == 0
    stored = decision(funded, 1)
    assert (stored["outcome"], stored["agree"], stored["eligible_count"], stored["all_voted"]) == (
        "approved",
        1,
        2,
        False,
    )
    # The offer points go to the voters who stayed, not to the leavers who agreed.
    money = pot(funded, "trust", "--json", today="2026-03-03").json()
    assert [m["name"] for m in money["members"]] == ["Ana", "Bo"]


def test_a_leavers_agree_earns_no_offer_points_in_a_rebuilt_view(funded: Path) -> None:
    pot(funded, "--as", "Bo", "propose", "50", "--purpose", "tools")
    vote(funded, "Cy", 1, "agree")
    assert pot(funded, "--as", "Cy", "member", "remove", "Cy").code == 0
    for who in ("Ana", "Bo", "Dee"):
        vote(funded, who, 1, "agree")
    assert proposal(funded, 1)["votes"]["agree"] == 3
    before = pot(funded, "trust", "--json").json()
    assert pot(funded, "rebuild").code == 0
    assert pot(funded, "trust", "--json").json() == before
    assert pot(funded, "verify").code == 0


def test_an_older_history_that_counted_a_leaver_still_passes_the_import_check() -> None:
    """A decision recorded before the rule changed counted a member who left: an import still accepts it."""
    day = date(2026, 3, 1)
    crew = Pot.open(
        slug="p", name="P", currency="EUR", digits=2, quorum=Decimal("0.5"), voting_days=7, treasurer="Ana", today=day
    )
    for name in ("Bo", "Cy"):
        crew.add_member(actor="Ana", name=name, treasurer=False, today=day)
    crew.propose(actor="Bo", amount_minor=500, purpose="x", recipient=None, closes=day, today=day)
    crew.vote(actor="Cy", proposal_no=1, position="block", reason="", today=day)
    crew.remove_member(actor="Cy", name="Cy", today=day)
    crew.vote(actor="Ana", proposal_no=1, position="agree", reason="", today=day)
    open_ = crew.state.proposals[1]
    older = crew.decision_before_leavers_stopped_counting(open_)
    assert (older["outcome"], older["block"], older["eligible_count"]) == ("rejected", 1, 3)
    assert crew.decision(open_)["outcome"] == "approved"
    crew._emit(ProposalDecided, actor="Ana", on=day + timedelta(days=1), **older)
    followed: Pot | None = None
    for event in crew.collect_events():
        followed = lawful.follow(followed, event)  # type: ignore[arg-type]
    assert followed is not None
    assert followed.proposal_status(1) == "rejected"


# --------------------------------------------------------------------------- cancelling an approved proposal
def test_the_proposer_may_cancel_an_approved_unpaid_proposal_releasing_its_reserve(funded: Path) -> None:
    pot(funded, "--as", "Bo", "propose", "40", "--purpose", "tools")
    for who in ("Ana", "Bo", "Cy", "Dee"):
        vote(funded, who, 1, "agree")
    money = pot(funded, "balance", "--json").json()
    assert (money["reserved"], money["available"]) == ("40.00", "160.00")
    refused(funded, "--as", "Ana", "cancel", "1", code=1, says="only Bo")
    result = pot(funded, "--as", "Bo", "cancel", "1")
    assert result.code == 0, result.err
    assert proposal(funded, 1)["status"] == "cancelled"
    money = pot(funded, "balance", "--json").json()
    assert (money["balance"], money["reserved"], money["available"]) == ("200.00", "0.00", "200.00")
    refused(funded, "--as", "Ana", "pay", "1", code=1, says="cancelled")
    # The rebuilt view agrees with the incremental one.
    assert pot(funded, "rebuild").code == 0
    assert pot(funded, "balance", "--json").json() == money


def test_a_paid_or_rejected_proposal_cannot_be_cancelled(funded: Path) -> None:
    pot(funded, "--as", "Bo", "propose", "40", "--purpose", "tools")
    for who in ("Ana", "Bo", "Cy", "Dee"):
        vote(funded, who, 1, "agree")
    assert pot(funded, "--as", "Ana", "pay", "1").code == 0
    refused(funded, "--as", "Bo", "cancel", "1", code=1, says="proposal 1 is paid")
    pot(funded, "--as", "Bo", "propose", "40", "--purpose", "more tools")
    vote(funded, "Cy", 2, "block")
    for who in ("Ana", "Bo", "Dee"):
        vote(funded, who, 2, "agree")
    refused(funded, "--as", "Bo", "cancel", "2", code=1, says="proposal 2 is rejected")
