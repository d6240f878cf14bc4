"""`pot demo`: a sample crew of four with a year of history, built through the real commands.

Dates run back from `today`, so the demo always shows a full recent year; the
same `--today` always gives the same history (timestamps aside).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal

from ledger.app import Ledger

Run = Callable[..., object]

DEMO_SLUG = "demo-crew"
CREW = ("Ana", "Bo", "Cy", "Dee")
# Monthly amounts in cents, "within their stated capacity": Cy works part-time.
MONTHLY = {"Ana": 5000, "Bo": 4000, "Cy": 2500, "Dee": 4500}
# Bo pledges a percentage, so his contributions carry the income they come from (cents).
INCOME = {"Bo": 160000}


def _month_start(day: date, months_back: int) -> date:
    index = day.year * 12 + day.month - 1 - months_back
    return date(index // 12, index % 12 + 1, 1)


def build_demo(ledger: Ledger, today: date) -> bool:
    """Create the demo pot in `ledger`; False if it is already there."""
    if ledger._exists(DEMO_SLUG):
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

    def run(day: date, action: str, **kw: object) -> object:
        return ledger.command(DEMO_SLUG, lambda pot: getattr(pot, action)(today=day, **kw))

    for name in CREW[1:]:
        run(start, "add_member", actor="Ana", name=name, treasurer=False)
    _pledges(run, start, today)

    for months_back in range(12, 0, -1):
        first = _month_start(today, months_back)
        for offset, name in enumerate(CREW):
            # Dee skipped one month in the summer: the history is honest about it.
            if name == "Dee" and months_back == 6:
                continue
            on = first + timedelta(days=2 + offset)
            run(
                on,
                "contribute",
                actor="Ana",
                member=name,
                amount_minor=MONTHLY[name],
                on=on,
                note=first.strftime("%B"),
                income_minor=INCOME.get(name),
            )
        if months_back == 10:
            # Bo's payment was entered twice by mistake, then reversed.
            on = first + timedelta(days=3)
            no = run(
                on, "contribute", actor="Ana", member="Bo", amount_minor=MONTHLY["Bo"], on=on, note="duplicate entry"
            )
            run(on + timedelta(days=1), "reverse", actor="Ana", contribution_no=no, reason="entered twice by mistake")
        if months_back == 8:
            day = first + timedelta(days=10)
            n = run(
                day,
                "propose",
                actor="Bo",
                amount_minor=12000,
                purpose="Dee's laptop repair",
                recipient="Dee",
                closes=None,
            )
            run(day, "vote", actor="Ana", proposal_no=n, position="agree", reason="of course")
            run(day + timedelta(days=1), "vote", actor="Cy", proposal_no=n, position="agree", reason="")
            run(day + timedelta(days=1), "vote", actor="Dee", proposal_no=n, position="abstain", reason="it's for me")
            run(day + timedelta(days=2), "vote", actor="Bo", proposal_no=n, position="agree", reason="")
            run(day + timedelta(days=3), "pay", actor="Ana", proposal_no=n)
        if months_back == 4:
            day = first + timedelta(days=12)
            n = run(
                day,
                "propose",
                actor="Dee",
                amount_minor=30000,
                purpose="crew retreat deposit",
                recipient="Hostel De Kat",
                closes=None,
            )
            run(day, "vote", actor="Ana", proposal_no=n, position="agree", reason="")
            run(
                day + timedelta(days=1),
                "vote",
                actor="Cy",
                proposal_no=n,
                position="block",
                reason="we said no spending before the reserve reaches 1000",
            )
            run(day + timedelta(days=8), "close", actor="Ana", proposal_no=n)
    day = today - timedelta(days=2)
    n = run(day, "propose", actor="Cy", amount_minor=8000, purpose="bike repair", recipient=None, closes=None)
    run(day, "vote", actor="Ana", proposal_no=n, position="agree", reason="")
    _games(run, start, today)
    _reflections(ledger, run, today)
    return True


def _pledges(run: Run, start: date, today: date) -> None:
    """Pledges of both kinds, set when the crew starts (see the pledges issue)."""
    month = start.strftime("%Y-%m")

    def pledge(member: str, percent: Decimal | None = None, monthly_minor: int | None = None) -> None:
        run(
            start,
            "set_pledge",
            actor=member,
            member=member,
            percent=percent,
            monthly_minor=monthly_minor,
            from_month=month,
        )

    # Bo gives 2.5% of his income; Ana keeps her 50 a month; Dee pledged 50 but pays 45, so is behind.
    pledge("Bo", percent=Decimal("2.5"))
    pledge("Ana", monthly_minor=5000)
    pledge("Dee", monthly_minor=5000)


def _games(run: Run, start: date, today: date) -> None:
    """Reciprocity-game events over the year (see the trust issue)."""

    def play(day: date, game: str, **kw: object) -> None:
        run(day, "play_game", actor="Ana", game=game, on=day, **kw)

    play(start + timedelta(days=7), "listening", participants=CREW)
    play(_month_start(today, 9) + timedelta(days=14), "meeting", participants=CREW)
    # Dee missed the summer meeting as well as that month's contribution.
    play(_month_start(today, 6) + timedelta(days=14), "meeting", participants=CREW[:3], missed=("Dee",))
    play(_month_start(today, 3) + timedelta(days=9), "money", asker="Cy", offered=("Ana", "Dee"))
    # Cy's block of the retreat deposit hurt; Dee and Cy talked it through.
    play(_month_start(today, 3) + timedelta(days=16), "conflict", participants=("Dee", "Cy"), resolved=True)


def _reflections(ledger: Ledger, run: Run, today: date) -> None:
    """Reflections on the moments money triggered feelings (see the replay issue).

    The crew replayed its year together yesterday. Event numbers are looked up
    in the history view, since the events before them vary with the demo.
    """
    from projections.queries import history_items

    with ledger.read() as conn:
        items = [item for item, _ in history_items(conn, ledger.resolve_pot(DEMO_SLUG))]

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
            run(today - timedelta(days=1), "reflect", actor=member, event_no=no, feeling=feeling, note=note)
