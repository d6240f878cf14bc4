"""`pot` commands for money in: contribute, reverse, pledge, pledges."""

from __future__ import annotations

from datetime import date

import click

from cli import (
    AMOUNT_ARGS,
    NUMBER,
    Session,
    as_option,
    confirm,
    parse_option_date,
    pass_session,
    read_command,
)
from domain.errors import BadInput
from domain.pledges import month_of
from domain.values import parse_name, parse_percent, parse_text

# --------------------------------------------------------------------------- money in


@click.command(context_settings=AMOUNT_ARGS)
@click.argument("member_name", metavar="MEMBER")
@click.argument("amount")
@click.option("--on", "on", metavar="DATE", callback=parse_option_date, help="Value date (default today).")
@click.option("--note", default="", help="A note for the crew.")
@click.option("--ref", help="External reference, unique in the pot (makes imports idempotent).")
@click.option("--income", metavar="AMOUNT", help="The income this contribution was drawn from.")
@as_option
@pass_session
def contribute(
    s: Session, member_name: str, amount: str, on: date | None, note: str, ref: str | None, income: str | None
) -> None:
    """Record a contribution (treasurers only).

    Example: pot --as Ana contribute Bo 25.00 --on 2026-01-05 --note January
    """
    who = parse_name(member_name)
    minor = s.amount(amount)
    income_minor = s.amount(income, "income") if income is not None else None
    text = parse_text(note, "note")
    reference = parse_text(ref, "ref", max_len=200, required=True, one_line=True) if ref is not None else None
    done = s.ledger.contribute(
        s.slug,
        actor=s.actor,
        member=who,
        amount_minor=minor,
        on=on or s.today,
        today=s.today,
        note=text,
        ref=reference,
        income_minor=income_minor,
    )
    confirm(s, done.events)


@click.command()
@click.argument("event_no", type=NUMBER)
@click.option("--reason", required=True, help="Why the contribution is reversed.")
@as_option
@pass_session
def reverse(s: Session, event_no: int, reason: str) -> None:
    """Reverse a recorded contribution (treasurers only); the original stays in history.

    Example: pot --as Ana reverse 7 --reason "recorded twice"
    """
    why = parse_text(reason, "reason", required=True)
    done = s.ledger.reverse(s.slug, actor=s.actor, contribution_no=event_no, reason=why, today=s.today)
    confirm(s, done.events)


@click.command()
@click.argument("member_name", metavar="MEMBER")
@click.option("--percent", metavar="P", help="Pledge P% of the incomes you declare (0 < P <= 100).")
@click.option("--monthly", metavar="AMOUNT", help="Pledge a fixed amount every month.")
@click.option("--stop", is_flag=True, help="End the member's pledge from the month given (default this month).")
@click.option(
    "--from",
    "from_month",
    metavar="YYYY-MM",
    help="First month of the pledge (default this month; an earlier month counts from then, a later one "
    "up to 12 months ahead).",
)
@as_option
@pass_session
def pledge(
    s: Session, member_name: str, percent: str | None, monthly: str | None, stop: bool, from_month: str | None
) -> None:
    """Set a member's pledge from a month on; it replaces their earlier pledge from that month.

    A member sets their own pledge; a treasurer may set anyone's. A pledge
    --from an earlier month counts from that month, as the member meant it.

    Example: pot --as Bo pledge Bo --percent 10 --from 2026-01
    """
    who = parse_name(member_name)
    if stop and (percent is not None or monthly is not None):
        raise BadInput("--stop ends a pledge: give it without --percent or --monthly")
    if not stop and (percent is None) == (monthly is None):
        raise BadInput("give exactly one of --percent and --monthly (or --stop)")
    share = parse_percent(percent) if percent is not None else None
    minor = s.amount(monthly, "monthly") if monthly is not None else None
    month = from_month.strip() if from_month is not None else month_of(s.today)
    done = s.ledger.set_pledge(
        s.slug,
        actor=s.actor,
        member=who,
        percent=share,
        monthly_minor=minor,
        from_month=month,
        today=s.today,
        stop=stop,
    )
    confirm(s, done.events)


pledges = read_command("pledges")
