"""`pot` commands for deciding together: propose, vote, close, cancel, pay, proposals, proposal."""

from __future__ import annotations

from datetime import date
from pathlib import Path

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
from domain.values import parse_text
from domain.vocabulary import POSITIONS


# --------------------------------------------------------------------------- proposals
@click.command(context_settings=AMOUNT_ARGS)
@click.argument("amount")
@click.option("--purpose", required=True, help="What the money is for.")
@click.option("--to", "recipient", help="Who receives it: a member or free text (default you).")
@click.option(
    "--closes", metavar="DATE", callback=parse_option_date, help="Closing date (default today + voting days)."
)
@as_option
@pass_session
def propose(s: Session, amount: str, purpose: str, recipient: str | None, closes: date | None) -> None:
    """Propose a withdrawal; prints its number.

    Example: pot --as Bo propose 120 --purpose "Dee's laptop repair" --to Dee
    """
    minor = s.amount(amount)
    why = parse_text(purpose, "purpose", required=True)
    to = parse_text(recipient, "recipient", max_len=200, one_line=True) if recipient is not None else None
    made = s.ledger.propose(
        s.slug, actor=s.actor, amount_minor=minor, purpose=why, recipient=to, closes=closes, today=s.today
    )
    confirm(s, made.events)
    # Accepted all the same (SPEC §1: the crew may be saving up); said on stderr, so stdout stays the confirmation.
    if made.amount_minor > made.available_minor:
        click.echo(
            f"warning: {s.money(made.amount_minor)} {s.info.currency} is more than the "
            f"{s.money(max(made.available_minor, 0))} {s.info.currency} available now; "
            "it can be paid only once the pot holds it",
            err=True,
        )


@click.command()
@click.argument("proposal_no", metavar="N", type=NUMBER)
@click.argument("position", metavar="|".join(POSITIONS).upper(), type=click.Choice(POSITIONS))
@click.option("--reason", default="", help="Why, in a sentence.")
@as_option
@pass_session
def vote(s: Session, proposal_no: int, position: str, reason: str) -> None:
    """Vote on an open proposal as yourself; you may change your vote while it is open.

    Example: pot --as Cy vote 1 block --reason "we said no spending before March"
    """
    why = parse_text(reason, "reason")
    done = s.ledger.vote(s.slug, actor=s.actor, proposal_no=proposal_no, position=position, reason=why, today=s.today)
    if done.repeated:
        click.echo(f"{done.voter} already votes {position} on proposal {proposal_no} for that reason: nothing stored")
        return
    # A last vote decides the proposal in the same command: its decision is confirmed too.
    confirm(s, done.events)


@click.command()
@click.argument("proposal_no", metavar="N", type=NUMBER)
@as_option
@pass_session
def close(s: Session, proposal_no: int) -> None:
    """Decide a proposal after its closing date.

    Example: pot --as Ana close 2
    """
    closed = s.ledger.close_proposal(s.slug, actor=s.actor, proposal_no=proposal_no, today=s.today)
    confirm(s, closed.events)


@click.command()
@click.argument("proposal_no", metavar="N", type=NUMBER)
@as_option
@pass_session
def cancel(s: Session, proposal_no: int) -> None:
    """Cancel your own proposal while it is open, or approved and not yet paid.

    Example: pot --as Bo cancel 3
    """
    cancelled = s.ledger.cancel_proposal(s.slug, actor=s.actor, proposal_no=proposal_no, today=s.today)
    released = cancelled.released_minor
    confirm(s, cancelled.events, *([f"{s.money(released)} {s.info.currency} no longer reserved"] if released else []))


@click.command()
@click.argument("proposal_no", metavar="N", type=NUMBER)
@click.option(
    "--receipt",
    "receipt_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Keep this receipt with the payout: a PDF, PNG or JPEG of at most 10 MB.",
)
@as_option
@pass_session
def pay(s: Session, proposal_no: int, receipt_file: Path | None) -> None:
    """Pay out an approved proposal, in full, once (treasurers only).

    Example: pot --as Ana pay 1 --receipt laptop-repair.pdf
    """
    from ledger.receipts import read_file

    receipt = None if receipt_file is None else read_file(receipt_file)
    paid = s.ledger.pay(s.slug, actor=s.actor, proposal_no=proposal_no, today=s.today, receipt=receipt)
    confirm(s, paid.events)


proposals = read_command("proposals")
proposal = read_command("proposal")
