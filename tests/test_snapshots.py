"""A pot's snapshot stays small: contributions live in the log, and the rules ask its PastContributions for them.

Also: snapshots taken before that (which carried every contribution and ref)
still load, with their reversals.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable
from datetime import date
from decimal import Decimal

import pytest

from domain.errors import NotFound, Refused
from domain.past import Contribution
from domain.pot import Pot
from domain.state import PotState

DAY = date(2026, 1, 5)


def new_pot() -> Pot:
    return Pot.open(
        slug="p", name="P", currency="EUR", digits=2, quorum=Decimal("0.5"), voting_days=7, treasurer="Ana", today=DAY
    )


def restored(pot: Pot) -> Pot:
    """The pot as a later process gets it: from a snapshot through JSON, with nothing folded since."""
    snapshot = Pot.Snapshot.take(pot)
    data = json.loads(snapshot.model_dump_json())
    again: Pot = Pot.Snapshot.model_validate(data).mutate(None)
    return again


class DictPast:
    """PastContributions kept in a dict, as the ledger's StoredPast reads the store."""

    def __init__(self, contributions: list[Contribution]) -> None:
        self.by_no = {c.no: c for c in contributions}
        self.asked: list[str] = []

    def contribution(self, no: int) -> Contribution | None:
        return self.by_no.get(no)

    def by_refs(self, refs: Collection[str]) -> dict[str, Contribution]:
        self.asked.extend(refs)
        return {c.ref: c for c in self.by_no.values() if c.ref is not None and c.ref in refs}

    def keep(self, contributions: Iterable[Contribution]) -> None:
        self.by_no.update((c.no, c) for c in contributions)


def test_a_snapshot_does_not_grow_with_contributions() -> None:
    few, many = new_pot(), new_pot()
    for pot, n in ((few, 10), (many, 2_000)):
        for i in range(n):
            pot.contribute(actor="Ana", member="Ana", amount_minor=2500, on=DAY, today=DAY, ref=f"bank-{i}")
    size_few = len(Pot.Snapshot.take(few).model_dump_json())
    size_many = len(Pot.Snapshot.take(many).model_dump_json())
    # Only the balance's digits differ.
    assert size_many - size_few < 10


def test_a_pot_refuses_a_repeated_ref_and_an_unknown_or_reversed_contribution() -> None:
    pot = new_pot()
    no = pot.contribute(actor="Ana", member="Ana", amount_minor=100, on=DAY, today=DAY, ref="r1")
    with pytest.raises(Refused, match="already recorded"):
        pot.contribute(actor="Ana", member="Ana", amount_minor=100, on=DAY, today=DAY, ref="r1")
    with pytest.raises(NotFound, match="not a contribution"):
        pot.reverse(actor="Ana", contribution_no=no + 1, reason="x", today=DAY)
    pot.reverse(actor="Ana", contribution_no=no, reason="twice", today=DAY)
    assert no in pot.state.reversed_nos
    with pytest.raises(Refused, match="already reversed"):
        pot.reverse(actor="Ana", contribution_no=no, reason="again", today=DAY)


def test_a_restored_pot_asks_its_past_for_what_came_before_the_snapshot() -> None:
    pot = new_pot()
    first = pot.contribute(actor="Ana", member="Ana", amount_minor=700, on=DAY, today=DAY, ref="r1")
    again = restored(pot)
    again.past = DictPast([Contribution(first, "Ana", 700, DAY, "r1")])
    with pytest.raises(Refused, match=rf"already recorded \(event {first}\)"):
        again.contribute(actor="Ana", member="Ana", amount_minor=700, on=DAY, today=DAY, ref="r1")
    # What was folded after the snapshot is answered from memory, the past is not asked.
    later = again.contribute(actor="Ana", member="Ana", amount_minor=300, on=DAY, today=DAY, ref="r2")
    again.past.asked.clear()
    assert again.recorded_refs(["r2"]) == {"r2": Contribution(later, "Ana", 300, DAY, "r2")}
    assert "r2" not in again.past.asked
    again.reverse(actor="Ana", contribution_no=first, reason="typo", today=DAY)
    assert again.state.balance_minor == 300


def test_a_pot_hands_what_it_folded_to_its_past_once_it_is_stored() -> None:
    """As a long import does after each stored part, so it never holds the whole file."""
    again = restored(new_pot())
    past = DictPast([])
    again.past = past
    first = again.contribute(actor="Ana", member="Ana", amount_minor=700, on=DAY, today=DAY, ref="r1")
    again.release_recent()  # Not stored yet: nothing is handed over.
    assert past.by_no == {}
    again.collect_events()
    again.release_recent()
    assert past.by_no == {first: Contribution(first, "Ana", 700, DAY, "r1")}
    # From now on the past answers for it.
    with pytest.raises(Refused, match=rf"already recorded \(event {first}\)"):
        again.contribute(actor="Ana", member="Ana", amount_minor=1, on=DAY, today=DAY, ref="r1")
    assert "r1" in past.asked
    again.reverse(actor="Ana", contribution_no=first, reason="bounced", today=DAY)
    assert again.state.balance_minor == 0


def test_a_pot_without_a_past_keeps_what_it_folded() -> None:
    pot = new_pot()
    first = pot.contribute(actor="Ana", member="Ana", amount_minor=700, on=DAY, today=DAY, ref="r1")
    pot.collect_events()
    pot.release_recent()
    assert pot.contribution(first) == Contribution(first, "Ana", 700, DAY, "r1")
    with pytest.raises(Refused, match="already recorded"):
        pot.contribute(actor="Ana", member="Ana", amount_minor=1, on=DAY, today=DAY, ref="r1")


def test_a_restored_pot_without_a_past_fails_loudly_instead_of_missing_a_rule() -> None:
    pot = new_pot()
    pot.contribute(actor="Ana", member="Ana", amount_minor=700, on=DAY, today=DAY, ref="r1")
    again = restored(pot)
    with pytest.raises(RuntimeError, match="no past contributions"):
        again.contribute(actor="Ana", member="Ana", amount_minor=700, on=DAY, today=DAY, ref="r1")


def state() -> dict[str, object]:
    """A state as older snapshots held it: with no `reversed_nos` and no `ended`."""
    s = PotState(slug="p", name="P", currency="EUR", digits=2, quorum="0.5", voting_days=7)
    return s.model_dump(mode="json", exclude={"reversed_nos", "ended"})


def test_a_snapshot_holding_one_object_per_contribution_still_loads_with_its_reversals() -> None:
    old = {
        **state(),
        "contributions": {
            "3": {"member": "Bo", "amount_minor": 500, "on": "2026-01-05", "ref": "x", "reversed": True},
            "4": {"member": "Bo", "amount_minor": 500, "on": "2026-01-05", "ref": None, "reversed": False},
        },
        "refs": {"x": 3},
    }
    assert PotState.model_validate(old).reversed_nos == {3}


def test_a_snapshot_holding_packed_contributions_still_loads_with_its_reversals() -> None:
    # [names, numbers, amounts, days, members (base64 arrays), reversed numbers]
    old = {**state(), "contributions": [["Bo"], "AwAAAAAAAAA=", "9AEAAAAAAAA=", "AAAAAA==", "AAAAAA==", [3]]}
    old["refs"] = ["AwAAAAAAAAA=", ["x"]]
    assert PotState.model_validate(old).reversed_nos == {3}


def test_an_ended_proposal_leaves_only_how_it_ended_in_the_snapshot() -> None:
    pot = new_pot()
    pot.contribute(actor="Ana", member="Ana", amount_minor=100_000, on=DAY, today=DAY)
    base = len(Pot.Snapshot.take(pot).model_dump_json())
    for _ in range(100):
        no = pot.propose(
            actor="Ana", amount_minor=500, purpose="a long purpose " * 5, recipient=None, closes=None, today=DAY
        )
        pot.cancel(actor="Ana", proposal_no=no, today=DAY)
    paid = pot.propose(actor="Ana", amount_minor=500, purpose="bus", recipient=None, closes=None, today=DAY)
    assert pot.vote(actor="Ana", proposal_no=paid, position="agree", reason="", today=DAY) == "approved"
    pot.pay(actor="Ana", proposal_no=paid, today=DAY)
    again = restored(pot)
    assert again.state.proposals == {}
    assert again.state.ended[1] == "cancelled"
    assert again.state.ended[paid] == "paid"
    assert again.proposal_count == 101
    # `"57":"cancelled",` and the like: under 20 bytes for each ended proposal.
    assert len(Pot.Snapshot.take(again).model_dump_json()) - base < 101 * 20
    with pytest.raises(Refused, match="already paid"):
        again.pay(actor="Ana", proposal_no=paid, today=DAY)
    with pytest.raises(Refused, match="proposal 7 is cancelled: it is no longer open"):
        again.vote(actor="Ana", proposal_no=7, position="agree", reason="", today=DAY)
    assert again.propose(actor="Ana", amount_minor=1, purpose="next", recipient=None, closes=None, today=DAY) == 102


def test_a_snapshot_holding_every_proposal_in_full_still_loads() -> None:
    proposal = {"proposer": "Ana", "amount_minor": 500, "purpose": "p", "recipient": "Ana", "closes": "2026-01-09"}
    old = {
        **state(),
        "proposals": {
            "1": {**proposal, "no": 1, "eligible": ["Ana"], "votes": {"Ana": "agree"}, "status": "paid"},
            "2": {**proposal, "no": 2, "eligible": ["Ana"], "votes": {}, "status": "open"},
        },
    }
    loaded = PotState.model_validate(old)
    assert list(loaded.proposals) == [2]
    assert loaded.ended == {1: "paid"}
