"""Properties of the pot that must hold for any history (Hypothesis)."""

from __future__ import annotations

import tempfile
from datetime import date
from decimal import Decimal
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from domain.errors import PotError
from ledger.app import Ledger
from ledger.store import resolve
from projections import queries
from projections.shares import largest_remainder

CREW = ["Ana", "Bo", "Cy", "Dee", "Eve"]
TODAY = date(2026, 6, 1)


@given(st.lists(st.integers(min_value=0, max_value=10**12), min_size=1, max_size=150))
def test_shares_sum_to_exactly_100_whenever_the_total_is_not_zero(amounts: list[int]) -> None:
    """Largest remainder: the shares add up to 100.00 and each is within 0.01 of the exact share."""
    shares = largest_remainder(amounts)
    total = sum(amounts)
    if total == 0:
        assert all(s == Decimal("0.00") for s in shares)
        return
    assert sum(shares) == Decimal("100.00")
    for amount, share in zip(amounts, shares, strict=True):
        exact = Decimal(amount) * 100 / Decimal(total)
        assert abs(share - exact) < Decimal("0.01")
        assert share.as_tuple().exponent == -2


# One step of a history: ("contribute", member index, cents) or ("reverse", which earlier contribution).
steps = st.lists(
    st.one_of(
        st.tuples(st.just("contribute"), st.integers(0, len(CREW) - 1), st.integers(1, 100_000)),
        st.tuples(st.just("reverse"), st.integers(0, 50), st.just(0)),
        st.tuples(st.just("pay"), st.integers(1, 30_000), st.just(0)),
    ),
    max_size=25,
)


def build(path: Path, history: list[tuple[str, int, int]]) -> tuple[Ledger, int, int]:
    """Apply a history through the ledger; return it with the expected contributed and paid totals."""
    ledger = Ledger(resolve(str(path)))
    ledger.open_pot(
        slug="p", name="P", currency="EUR", quorum=Decimal("0.5"), voting_days=7, treasurer="Ana", today=TODAY
    )
    for name in CREW[1:]:
        ledger.add_member("p", actor="Ana", name=name, treasurer=False, today=TODAY)
    recorded: list[tuple[int, int]] = []
    contributed = paid = 0
    for kind, a, b in history:
        try:
            if kind == "contribute":
                done = ledger.contribute("p", actor="Ana", member=CREW[a], amount_minor=b, on=TODAY, today=TODAY)
                recorded.append((done.no, b))
                contributed += b
            elif kind == "reverse" and recorded:
                no, amount = recorded[a % len(recorded)]
                ledger.reverse("p", actor="Ana", contribution_no=no, reason="r", today=TODAY)
                contributed -= amount
            elif kind == "pay":
                n = ledger.propose(
                    "p", actor="Bo", amount_minor=a, purpose="x", recipient=None, closes=None, today=TODAY
                ).proposal_no
                for voter in CREW:
                    ledger.vote("p", actor=voter, proposal_no=n, position="agree", reason="", today=TODAY)
                ledger.pay("p", actor="Ana", proposal_no=n, today=TODAY)
                paid += a
        except PotError:
            pass  # Refused steps (reversing twice, paying beyond the balance) store nothing.
    return ledger, contributed, paid


@settings(max_examples=20, deadline=None)
@given(steps)
def test_balance_is_contributions_less_reversals_less_payouts_and_never_negative(
    history: list[tuple[str, int, int]],
) -> None:
    """balance = contributions − reversals − payouts ≥ 0, and event numbers run 1, 2, 3… without gaps."""
    with tempfile.TemporaryDirectory() as d:
        ledger, contributed, paid = build(Path(d) / "p.sqlite", history)
        with ledger.read() as conn:
            info = queries.pot_info(conn, "p")
            assert info is not None
            report = queries.balance(conn, info, None, TODAY)
            numbers = [item["no"] for item, _ in queries.history_items(conn, info)]
        ledger.close()
    assert Decimal(report.balance) == Decimal(contributed - paid) / 100
    assert Decimal(report.contributed) == Decimal(contributed) / 100
    assert Decimal(report.balance) >= 0
    assert numbers == list(range(1, len(numbers) + 1))
    if contributed:
        assert sum(Decimal(m.share_pct) for m in report.members) == Decimal("100.00")


@settings(max_examples=10, deadline=None)
@given(steps)
def test_rebuilding_every_view_from_scratch_equals_the_incremental_views(history: list[tuple[str, int, int]]) -> None:
    """Every table of every projection is the same after `rebuild` as after incremental catch-up."""
    with tempfile.TemporaryDirectory() as d:
        ledger, _, _ = build(Path(d) / "p.sqlite", history)
        ledger.catch_up()
        before = dump(ledger)
        ledger.rebuild()
        after = dump(ledger)
        ledger.close()
    assert before == after


def dump(ledger: Ledger) -> dict[str, list[tuple[object, ...]]]:
    from sqlalchemy import select

    tables = [t for p in ledger.projections for t in p.tables]
    with ledger.reader.begin() as conn:
        return {t.name: sorted((tuple(r) for r in conn.execute(select(t))), key=repr) for t in tables}
