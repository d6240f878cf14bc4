"""The pot's compact contribution state: same answers as before, smaller snapshots, old snapshots still load."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal

import pytest

from domain.book import ContributionBook, ContributionState, RefIndex
from domain.errors import Refused
from domain.pot import Pot, PotState

DAY = date(2026, 1, 5)


def state() -> PotState:
    return PotState(slug="p", name="P", currency="EUR", digits=2, quorum="0.5", voting_days=7)


def test_a_book_answers_by_event_number_like_the_dict_it_replaces() -> None:
    book = ContributionBook()
    book.add(3, "Bo", 500, DAY)
    book.add(9, "Cy", 700, date(2026, 2, 1))
    book.mark_reversed(3)
    assert book.get(3) == ContributionState(member="Bo", amount_minor=500, on=DAY, reversed=True)
    assert book[9].member == "Cy"
    assert not book[9].reversed
    assert book.get(4) is None
    assert 4 not in book
    assert 9 in book
    assert list(book) == [3, 9]
    assert len(book) == 2


def test_a_state_survives_a_json_round_trip_through_its_packed_form() -> None:
    s = state()
    s.contributions.add(3, "Bo", 500, DAY)
    s.contributions.mark_reversed(3)
    s.refs.add("bank-1", 3)
    again = PotState.model_validate(json.loads(json.dumps(s.model_dump(mode="json"))))
    assert dict(again.contributions) == dict(s.contributions)
    assert dict(again.refs) == {"bank-1": 3}
    assert "bank-1" in again.refs
    assert again.refs.get("bank-2") is None


def test_a_snapshot_taken_before_the_packed_form_still_loads() -> None:
    old = {
        **state().model_dump(mode="json"),
        "contributions": {"3": {"member": "Bo", "amount_minor": 500, "on": "2026-01-05", "ref": "x", "reversed": True}},
        "refs": {"x": 3},
    }
    loaded = PotState.model_validate(old)
    assert loaded.contributions[3] == ContributionState(member="Bo", amount_minor=500, on=DAY, reversed=True)
    assert dict(loaded.refs) == {"x": 3}


def test_a_long_lived_pot_snapshot_stays_small() -> None:
    s = state()
    for no in range(10, 10_010):
        s.contributions.add(no, "Bo", 2500, DAY)
        s.refs.add(f"bank-{no}", no)
    size = len(json.dumps(s.model_dump(mode="json")))
    # About 32 packed bytes plus the ref itself per contribution, instead of an object each.
    assert size < 10_000 * 60


def test_a_ref_index_learns_refs_added_after_its_first_lookup() -> None:
    refs = RefIndex()
    refs.add("a", 1)
    assert refs.get("a") == 1
    refs.add("b", 2)
    assert refs["b"] == 2
    assert len(refs) == 2


def test_a_pot_refuses_a_repeated_ref_and_an_unknown_or_reversed_contribution() -> None:
    pot = Pot.open(
        slug="p", name="P", currency="EUR", digits=2, quorum=Decimal("0.5"), voting_days=7, treasurer="Ana", today=DAY
    )
    no = pot.contribute(actor="Ana", member="Ana", amount_minor=100, on=DAY, today=DAY, ref="r1")
    with pytest.raises(Refused, match="already recorded"):
        pot.contribute(actor="Ana", member="Ana", amount_minor=100, on=DAY, today=DAY, ref="r1")
    with pytest.raises(Refused, match="not a contribution"):
        pot.reverse(actor="Ana", contribution_no=no + 1, reason="x", today=DAY)
    pot.reverse(actor="Ana", contribution_no=no, reason="twice", today=DAY)
    assert pot.state.contributions[no].reversed
    with pytest.raises(Refused, match="already reversed"):
        pot.reverse(actor="Ana", contribution_no=no, reason="again", today=DAY)
