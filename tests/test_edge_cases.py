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
from tests.conftest import fingerprint, pot, refused


@pytest.fixture
def funded(crew: Path) -> Path:
    """The crew with 200.00 in the pot (Ana 100, Bo 100), on 2026-03-01."""
    assert pot(crew, "--as", "Ana", "contribute", "Ana", "100").code == 0
    assert pot(crew, "--as", "Ana", "contribute", "Bo", "100").code == 0
    return crew


def vote(db: Path, who: str, n: int, position: str, *reason: str) -> None:
    result = pot(db, "--as", who, "vote", str(n), position, *reason)
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
    vote(funded, "Cy", 1, "block", "--reason", "not yet")
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
    crew.vote(actor="Cy", proposal_no=1, position="block", reason="not yet", today=day)
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
    vote(funded, "Cy", 2, "block", "--reason", "not yet")
    for who in ("Ana", "Bo", "Dee"):
        vote(funded, who, 2, "agree")
    refused(funded, "--as", "Bo", "cancel", "2", code=1, says="proposal 2 is rejected")


# --------------------------------------------------------------------------- back-dated money, every view alike
def test_money_dated_before_the_pot_opened_counts_alike_in_balance_pledges_and_trust(crew: Path) -> None:
    """Bo (joined 2026-01-01) brings in a contribution from June 2025, under a pledge from that month."""
    assert pot(crew, "--as", "Ana", "pledge", "Bo", "--monthly", "10", "--from", "2025-06").code == 0
    assert pot(crew, "--as", "Ana", "contribute", "Bo", "20", "--on", "2025-06-15").code == 0
    day = "2025-06-30"
    balance = pot(crew, "balance", "--as-of", day, "--json").json()
    pledges = pot(crew, "pledges", "--as-of", day, "--json").json()
    trust = pot(crew, "trust", "--as-of", day, "--json").json()
    assert [(m["name"], m["contributed"]) for m in balance["members"]] == [("Bo", "20.00")]
    assert [(m["name"], m["contributed"], m["pledged"]) for m in pledges["members"]] == [("Bo", "20.00", "10.00")]
    assert pledges["members"][0]["pledge"] == {"kind": "monthly", "value": "10.00", "from": "2025-06"}
    # One contributed month earns 1; no month before Bo joined costs anything.
    assert [(m["name"], m["points"]["3"]) for m in trust["members"]] == [("Bo", 1)]
    # A day before the money: no money in any view; the pledge had started, so `pledges` shows it.
    before = "2025-06-14"
    assert pot(crew, "balance", "--as-of", before, "--json").json()["members"] == []
    pledged = pot(crew, "pledges", "--as-of", before, "--json").json()["members"]
    assert [(m["name"], m["contributed"], m["pledged"]) for m in pledged] == [("Bo", "0.00", "10.00")]
    assert pot(crew, "trust", "--as-of", before, "--json").json()["members"] == []


def test_a_game_dated_before_joining_is_scored_as_of_its_date(crew: Path) -> None:
    assert pot(crew, "--as", "Ana", "game", "listening", "--with", "Ana,Bo", "--on", "2025-11-02").code == 0
    trust = pot(crew, "trust", "--as-of", "2025-11-30", "--json").json()
    assert [(m["name"], m["points"]["1"]) for m in trust["members"]] == [("Ana", 1), ("Bo", 1)]


# --------------------------------------------------------------------------- pledges: from, ahead, stop
def test_a_pledge_from_an_earlier_month_counts_from_that_month(crew: Path) -> None:
    """Defect 8: the README's pledge typed later still counts from its month."""
    done = pot(crew, "--as", "Bo", "pledge", "Bo", "--percent", "10", "--from", "2026-01", today="2026-11-20")
    assert done.code == 0, done.err
    pledges = pot(crew, "pledges", "--as-of", "2026-06-30", "--json", today="2026-11-20").json()
    bo = next(m for m in pledges["members"] if m["name"] == "Bo")
    assert bo["pledge"] == {"kind": "percent", "value": "10.00", "from": "2026-01"}


def test_a_pledge_may_start_up_to_12_months_ahead_and_not_later(crew: Path) -> None:
    ahead = pot(crew, "--as", "Bo", "pledge", "Bo", "--monthly", "30", "--from", "2027-03")
    assert ahead.code == 0, ahead.err
    refused(crew, "--as", "Bo", "pledge", "Bo", "--monthly", "30", "--from", "2027-04", code=2, says="12 months")
    # Not in force yet: as of today nothing is pledged, and money given counts as without a pledge.
    assert pot(crew, "--as", "Ana", "contribute", "Bo", "5").code == 0
    bo = next(m for m in pot(crew, "pledges", "--json").json()["members"] if m["name"] == "Bo")
    assert (bo["pledge"], bo["pledged"], bo["contributed"]) == (None, "0.00", "5.00")


def test_pledge_stop_ends_a_pledge_from_a_month(crew: Path) -> None:
    assert pot(crew, "--as", "Bo", "pledge", "Bo", "--monthly", "10", "--from", "2026-01").code == 0
    stopped = pot(crew, "--as", "Bo", "pledge", "Bo", "--stop", "--from", "2026-03", today="2026-05-02")
    assert stopped.code == 0, stopped.err
    assert stopped.out == "event 7: Bo ended their pledge from 2026-03\n"
    event = pot(crew, "history", "--json", today="2026-05-02").json()[-1]
    assert (event["type"], event["kind"], event["percent"], event["monthly"]) == ("pledge_set", "none", None, None)
    bo = next(m for m in pot(crew, "pledges", "--json", today="2026-05-02").json()["members"] if m["name"] == "Bo")
    # January and February only.
    assert (bo["pledge"], bo["pledged"]) == (None, "20.00")
    refused(crew, "--as", "Bo", "pledge", "Bo", "--stop", "--monthly", "5", code=2, says="--stop")
    # verify re-applies the rules (domain.lawful) to the history, the stop among it.
    assert pot(crew, "verify").code == 0


# --------------------------------------------------------------------------- history --member
def test_history_member_lists_every_event_the_member_did_or_is_named_in(funded: Path) -> None:
    crew = funded
    assert pot(crew, "--as", "Ana", "pledge", "Dee", "--monthly", "10").code == 0  # 8: set for Dee by Ana
    assert pot(crew, "--as", "Ana", "game", "listening", "--with", "Ana,Dee").code == 0  # 9
    assert pot(crew, "--as", "Ana", "game", "money", "--asker", "Bo", "--offered", "Dee").code == 0  # 10
    assert pot(crew, "--as", "Ana", "game", "meeting", "--attended", "Ana,Bo", "--missed", "Dee").code == 0  # 11
    assert pot(crew, "--as", "Ana", "game", "listening", "--with", "Ana,Bo").code == 0  # 12: not Dee
    assert pot(crew, "--as", "Bo", "propose", "20", "--purpose", "Dee's bike", "--to", "Dee").code == 0  # 13
    for who in ("Ana", "Bo", "Cy"):
        vote(crew, who, 1, "agree")  # 14, 15, 16
    vote(crew, "Dee", 1, "agree")  # 17, and the decision 18, which Dee's vote made
    assert pot(crew, "--as", "Ana", "pay", "1").code == 0  # 19: paid to Dee
    assert pot(crew, "--as", "Cy", "reflect", "19", "--feeling", "relief").code == 0  # 20: Cy's, not Dee's
    assert pot(crew, "--as", "Dee", "reflect", "19", "--feeling", "gratitude").code == 0  # 21
    listed = pot(crew, "history", "--member", "dee", "--json").json()
    assert [e["no"] for e in listed] == [5, 8, 9, 10, 11, 13, 17, 18, 19, 21]
    # Only Dee's events, though Ana acted in most of them.
    assert [e["no"] for e in pot(crew, "history", "--member", "Cy", "--json").json()] == [4, 16, 20]


# --------------------------------------------------------------------------- the same vote again
def test_the_same_vote_again_is_a_no_op_that_says_so(funded: Path) -> None:
    """Issue 18, defect 9: same position and reason again stores nothing; another reason is a new vote."""
    pot(funded, "--as", "Bo", "propose", "50", "--purpose", "tools")
    first = pot(funded, "--as", "Cy", "vote", "1", "agree", "--reason", "fine")
    assert first.out == "event 9: Cy voted agree on proposal 1: fine\n"
    before = fingerprint(funded)
    again = pot(funded, "--as", "cy", "vote", "1", "agree", "--reason", " fine ")
    assert (again.code, again.err) == (0, "")
    assert again.out == "Cy already votes agree on proposal 1 for that reason: nothing stored\n"
    assert fingerprint(funded) == before
    assert len(proposal(funded, 1)["ballots"]) == 1
    # Another reason, or another position, is a vote of its own.
    assert pot(funded, "--as", "Cy", "vote", "1", "agree", "--reason", "fine by me").out.startswith("event 10: ")
    assert pot(funded, "--as", "Cy", "vote", "1", "abstain", "--reason", "fine by me").out.startswith("event 11: ")
    assert len(proposal(funded, 1)["ballots"]) == 3


# --------------------------------------------------------------------------- plain words for event types
def test_history_shows_plain_words_and_type_takes_either_while_json_keeps_spec_types(funded: Path) -> None:
    assert pot(funded, "--as", "Bo", "reflect", "6", "--feeling", "proud").code == 0
    text = pot(funded, "history").out
    assert "contribution" in text
    assert "reflection" in text
    for internal in ("contribution_recorded", "reflection_noted", "member_joined"):
        assert internal not in text
    by_word = pot(funded, "history", "--type", "contribution", "--json").json()
    by_type = pot(funded, "history", "--type", "contribution_recorded", "--json").json()
    assert by_word == by_type
    assert [e["type"] for e in by_word] == ["contribution_recorded", "contribution_recorded"]
    assert [e["no"] for e in pot(funded, "history", "--type", "Member Joined", "--json").json()] == [2, 3, 4, 5]
    refused(funded, "history", "--type", "gift", code=2, says="contribution")
    triggers = pot(funded, "triggers").out
    assert "contribution " in triggers
    assert "contribution_recorded" not in triggers
    assert pot(funded, "triggers", "--json").json()["by_type"] == {"contribution_recorded": 1}


def test_a_back_dated_meeting_missed_before_joining_costs_nothing(crew: Path) -> None:
    """The crew joined on 2026-01-01; a meeting in December 2025 that Bo missed is no charge to Bo."""
    done = pot(crew, "--as", "Ana", "game", "meeting", "--attended", "Ana", "--missed", "Bo", "--on", "2025-12-01")
    assert done.code == 0, done.err
    assert (
        pot(crew, "--as", "Ana", "game", "meeting", "--attended", "Ana", "--missed", "Bo", "--on", "2026-01-10").code
        == 0
    )
    meetings = {
        m["name"]: m["points"]["3"] for m in pot(crew, "trust", "--as-of", "2026-01-10", "--json").json()["members"]
    }
    # Ana attended twice (1, then 3); Bo missed only the January meeting (-5); neither has a contributed month.
    assert (meetings["Ana"], meetings["Bo"]) == (4, -5)
