"""`pot demo`: a sample crew of four with a year of history, built through the real commands.

Dates run back from `today`, so the demo always shows a full recent year; the
same `--today` always gives the same history (timestamps aside).
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from domain.pledges import month_index, month_named, month_of
from ledger.app import Ledger

DEMO_SLUG = "demo-crew"
CREW = ("Ana", "Bo", "Cy", "Dee")
# Monthly amounts in cents, "within their stated capacity": Cy works part-time.
MONTHLY = {"Ana": 5000, "Bo": 4000, "Cy": 2500, "Dee": 4500}
# Bo pledges a percentage, so his contributions carry the income they come from (cents).
INCOME = {"Bo": 160000}
S = DEMO_SLUG


def _month_start(day: date, months_back: int) -> date:
    return date.fromisoformat(f"{month_named(month_index(day) - months_back)}-01")


def build_demo(ledger: Ledger, today: date) -> bool:
    """Create the demo pot in `ledger`; False if it is already there."""
    if ledger.exists(DEMO_SLUG):
        return False
    start = _month_start(today, 12)
    ledger.open_pot(
        slug=DEMO_SLUG,
        name="Demo crew",
        currency="EUR",
        quorum=Decimal("0.5"),
        voting_days=7,
        treasurer="Ana",
        today=start,
    )
    for name in CREW[1:]:
        ledger.add_member(S, actor="Ana", name=name, treasurer=False, today=start)
    _pledges(ledger, start)

    for months_back in range(12, 0, -1):
        first = _month_start(today, months_back)
        for offset, name in enumerate(CREW):
            # Dee skipped one month in the summer: the history is honest about it.
            if name == "Dee" and months_back == 6:
                continue
            on = first + timedelta(days=2 + offset)
            ledger.contribute(
                S,
                actor="Ana",
                member=name,
                amount_minor=MONTHLY[name],
                on=on,
                today=on,
                note=first.strftime("%B"),
                income_minor=INCOME.get(name),
            )
        if months_back == 10:
            # Bo's payment was entered twice by mistake, then reversed.
            on = first + timedelta(days=3)
            twice = ledger.contribute(
                S, actor="Ana", member="Bo", amount_minor=MONTHLY["Bo"], on=on, today=on, note="duplicate entry"
            )
            ledger.reverse(
                S,
                actor="Ana",
                contribution_no=twice.no,
                reason="entered twice by mistake",
                today=on + timedelta(days=1),
            )
        if months_back == 8:
            _laptop_repair(ledger, first + timedelta(days=10))
        if months_back == 4:
            _retreat_deposit(ledger, first + timedelta(days=12))
    day = today - timedelta(days=2)
    bike = ledger.propose(
        S, actor="Cy", amount_minor=8000, purpose="bike repair", recipient=None, closes=None, today=day
    ).proposal_no
    ledger.vote(S, actor="Ana", proposal_no=bike, position="agree", reason="", today=day)
    _games(ledger, start, today)
    _reflections(ledger, today)
    return True


def _laptop_repair(ledger: Ledger, day: date) -> None:
    """A proposal everyone agrees to (Dee abstains: it is for her), then paid."""
    n = ledger.propose(
        S, actor="Bo", amount_minor=12000, purpose="Dee's laptop repair", recipient="Dee", closes=None, today=day
    ).proposal_no
    later = day + timedelta(days=1)
    ledger.vote(S, actor="Ana", proposal_no=n, position="agree", reason="of course", today=day)
    ledger.vote(S, actor="Cy", proposal_no=n, position="agree", reason="", today=later)
    ledger.vote(S, actor="Dee", proposal_no=n, position="abstain", reason="it's for me", today=later)
    ledger.vote(S, actor="Bo", proposal_no=n, position="agree", reason="", today=day + timedelta(days=2))
    ledger.pay(S, actor="Ana", proposal_no=n, today=day + timedelta(days=3))


def _retreat_deposit(ledger: Ledger, day: date) -> None:
    """A proposal Cy blocks, closed after its voting days."""
    n = ledger.propose(
        S,
        actor="Dee",
        amount_minor=30000,
        purpose="crew retreat deposit",
        recipient="Hostel De Kat",
        closes=None,
        today=day,
    ).proposal_no
    ledger.vote(S, actor="Ana", proposal_no=n, position="agree", reason="", today=day)
    why = "we said no spending before the reserve reaches 1000"
    ledger.vote(S, actor="Cy", proposal_no=n, position="block", reason=why, today=day + timedelta(days=1))
    ledger.close_proposal(S, actor="Ana", proposal_no=n, today=day + timedelta(days=8))


def _pledges(ledger: Ledger, start: date) -> None:
    """Pledges of both kinds, set when the crew starts (see the pledges issue)."""
    month = month_of(start)

    def pledge(member: str, percent: Decimal | None = None, monthly_minor: int | None = None) -> None:
        ledger.set_pledge(
            S, actor=member, member=member, percent=percent, monthly_minor=monthly_minor, from_month=month, today=start
        )

    # Bo gives 2.5% of his income; Ana keeps her 50 a month; Dee pledged 50 but pays 45, so is behind.
    pledge("Bo", percent=Decimal("2.5"))
    pledge("Ana", monthly_minor=5000)
    pledge("Dee", monthly_minor=5000)


def _games(ledger: Ledger, start: date, today: date) -> None:
    """Reciprocity-game events over the year (see the trust issue)."""

    def play(
        day: date,
        game: str,
        *,
        participants: tuple[str, ...] = (),
        asker: str | None = None,
        offered: tuple[str, ...] = (),
        missed: tuple[str, ...] = (),
        resolved: bool | None = None,
    ) -> None:
        ledger.play_game(
            S,
            actor="Ana",
            game=game,
            on=day,
            today=day,
            participants=participants,
            asker=asker,
            offered=offered,
            missed=missed,
            resolved=resolved,
        )

    play(start + timedelta(days=7), "listening", participants=CREW)
    play(_month_start(today, 9) + timedelta(days=14), "meeting", participants=CREW)
    # Dee missed the summer meeting as well as that month's contribution.
    play(_month_start(today, 6) + timedelta(days=14), "meeting", participants=CREW[:3], missed=("Dee",))
    play(_month_start(today, 3) + timedelta(days=9), "money", asker="Cy", offered=("Ana", "Dee"))
    # Cy's block of the retreat deposit hurt; Dee and Cy talked it through.
    play(_month_start(today, 3) + timedelta(days=16), "conflict", participants=("Dee", "Cy"), resolved=True)


def _reflections(ledger: Ledger, today: date) -> None:
    """Reflections on the moments money triggered feelings (see the replay issue).

    The crew replayed its year together yesterday. Event numbers are looked up
    in the history view, since the events before them vary with the demo.
    """
    items = ledger.history(ledger.resolve_pot(DEMO_SLUG))

    def first(type_: str, **fields: object) -> int | None:
        for item in items:
            if item["type"] == type_ and all(item.get(k) == v for k, v in fields.items()):
                return int(item["no"])
        return None

    moments = (
        ("Bo", "anxious", "first time I asked the crew for money, even for Dee", first("withdrawal_proposed")),
        ("Dee", "relieved", "my laptop was fixed and nobody made me feel small", first("withdrawal_paid")),
        ("Cy", "torn", "the reserve rule felt bigger than us", first("vote_cast", position="block")),
        ("Dee", "hurt", "I knew the rule, and it still stung", first("vote_cast", position="block")),
        ("Bo", "embarrassed", "my payment was counted twice and I did not notice", first("contribution_reversed")),
    )
    for member, feeling, note, no in moments:
        if no is not None:
            ledger.reflect(S, actor=member, event_no=no, feeling=feeling, note=note, today=today - timedelta(days=1))
