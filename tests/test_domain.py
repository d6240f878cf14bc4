"""Unit tests of the Pot aggregate: rules checked before anything changes, events chained. No I/O."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from domain import chain
from domain.errors import BadInput, InsufficientFunds, NotAuthorized, Refused
from domain.events import ContributionRecorded, MemberJoined, PotOpened, record_of
from domain.pot import Pot, pot_id

TODAY = date(2026, 3, 1)


@pytest.fixture
def pot() -> Pot:
    p = Pot.open(
        slug="crew",
        name="Crew",
        currency="EUR",
        digits=2,
        quorum=Decimal("0.5"),
        voting_days=7,
        treasurer="Ana",
        today=TODAY,
    )
    p.add_member(actor="Ana", name="Bo", treasurer=False, today=TODAY)
    p.collect_events()
    return p


def test_opening_a_pot_makes_its_opener_the_first_treasurer() -> None:
    p = Pot.open(
        slug="crew",
        name="Crew",
        currency="EUR",
        digits=2,
        quorum=Decimal("0.5"),
        voting_days=7,
        treasurer="Ana",
        today=TODAY,
    )
    opened, joined = p.collect_events()
    assert isinstance(opened, PotOpened)
    assert isinstance(joined, MemberJoined)
    assert (joined.member, joined.role) == ("Ana", "treasurer")
    assert p.id == pot_id("crew")
    assert p.version == 2


def test_pots_get_the_same_id_from_the_same_slug() -> None:
    assert pot_id("crew") == pot_id("crew")
    assert pot_id("crew") != pot_id("crew2")


def test_each_event_commits_to_the_one_before(pot: Pot) -> None:
    pot.contribute(actor="Ana", member="Bo", amount_minor=500, on=TODAY, today=TODAY)
    pot.contribute(actor="Ana", member="bo", amount_minor=700, on=TODAY, today=TODAY)
    first, second = pot.collect_events()
    assert isinstance(first, ContributionRecorded)
    assert isinstance(second, ContributionRecorded)
    assert second.prev == chain.digest(record_of(first))
    assert pot.state.head == chain.digest(record_of(second))
    assert second.member == "Bo"  # the stored spelling, whatever case was typed


def test_a_refused_command_changes_nothing(pot: Pot) -> None:
    no = pot.contribute(actor="Ana", member="Bo", amount_minor=500, on=TODAY, today=TODAY)
    pot.propose(actor="Bo", amount_minor=400, purpose="x", recipient=None, closes=None, today=TODAY)
    pot.vote(actor="Ana", proposal_no=1, position="agree", reason="", today=TODAY)
    pot.vote(actor="Bo", proposal_no=1, position="agree", reason="", today=TODAY)
    pot.pay(actor="Ana", proposal_no=1, today=TODAY)
    pot.collect_events()
    before, version = pot.state.model_dump(), pot.version
    with pytest.raises(NotAuthorized):
        pot.contribute(actor="Bo", member="Bo", amount_minor=500, on=TODAY, today=TODAY)
    with pytest.raises(BadInput, match="future"):
        pot.contribute(actor="Ana", member="Bo", amount_minor=500, on=date(2026, 3, 2), today=TODAY)
    with pytest.raises(InsufficientFunds, match="already spent"):
        pot.reverse(actor="Ana", contribution_no=no, reason="spent", today=TODAY)
    with pytest.raises(Refused, match="already paid"):
        pot.pay(actor="Ana", proposal_no=1, today=TODAY)
    assert pot.state.model_dump() == before
    assert pot.version == version
    assert pot.pending_events == []


def test_the_last_vote_decides_in_the_same_command(pot: Pot) -> None:
    pot.propose(actor="Bo", amount_minor=100, purpose="tea", recipient=None, closes=None, today=TODAY)
    pot.vote(actor="Ana", proposal_no=1, position="agree", reason="", today=TODAY)
    assert pot.proposal(1).status == "open"
    status = pot.vote(actor="Bo", proposal_no=1, position="disagree", reason="", today=TODAY)
    assert status == "rejected"
    assert [type(e).__name__ for e in pot.collect_events()][-2:] == ["VoteCast", "ProposalDecided"]


def test_a_pot_always_keeps_a_treasurer(pot: Pot) -> None:
    with pytest.raises(Refused, match="only treasurer"):
        pot.remove_member(actor="Ana", name="Ana", today=TODAY)
    with pytest.raises(Refused, match="only treasurer"):
        pot.change_role(actor="Ana", name="Ana", treasurer=False, today=TODAY)
    pot.change_role(actor="Ana", name="Bo", treasurer=True, today=TODAY)
    pot.remove_member(actor="Ana", name="Ana", today=TODAY)
    ana = pot.find_member("Ana")
    assert ana is not None
    assert ana.left == TODAY


def test_snapshots_restore_the_whole_state(pot: Pot) -> None:
    pot.contribute(actor="Ana", member="Bo", amount_minor=500, on=TODAY, today=TODAY, ref="bank-1")
    snapshot = Pot.Snapshot.take(pot)
    again = Pot.Snapshot.model_validate(snapshot.model_dump(mode="json")).mutate(None)
    assert again.state == pot.state
    assert again.version == pot.version
