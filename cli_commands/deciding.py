"""`pot` commands for deciding together: propose, vote, close, cancel, pay, proposals, proposal."""

from __future__ import annotations

from datetime import date

import click

from cli import (
    AMOUNT_ARGS,
    NUMBER,
    Session,
    as_option,
    emit_json,
    json_option,
    parse_option_date,
    pass_session,
    table,
)
from domain.consent import POSITIONS
from domain.values import parse_text


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
    click.echo(f"proposal {made.proposal_no}")


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
    status = "" if done.status == "open" else f"; it is {done.status}"
    click.echo(f"{done.voter} voted {position} on proposal {proposal_no}{status}")


@click.command()
@click.argument("proposal_no", metavar="N", type=NUMBER)
@as_option
@pass_session
def close(s: Session, proposal_no: int) -> None:
    """Decide a proposal after its closing date.

    Example: pot --as Ana close 2
    """
    closed = s.ledger.close_proposal(s.slug, actor=s.actor, proposal_no=proposal_no, today=s.today)
    click.echo(f"proposal {proposal_no} is {closed.status}")


@click.command()
@click.argument("proposal_no", metavar="N", type=NUMBER)
@as_option
@pass_session
def cancel(s: Session, proposal_no: int) -> None:
    """Cancel your own open proposal.

    Example: pot --as Bo cancel 3
    """
    cancelled = s.ledger.cancel_proposal(s.slug, actor=s.actor, proposal_no=proposal_no, today=s.today)
    click.echo(f"proposal {proposal_no} is {cancelled.status}")


@click.command()
@click.argument("proposal_no", metavar="N", type=NUMBER)
@as_option
@pass_session
def pay(s: Session, proposal_no: int) -> None:
    """Pay out an approved proposal, in full, once (treasurers only).

    Example: pot --as Ana pay 1
    """
    paid = s.ledger.pay(s.slug, actor=s.actor, proposal_no=proposal_no, today=s.today)
    click.echo(f"event {paid.no}: paid proposal {proposal_no}")


@click.command()
@click.option("--status", type=click.Choice(["open", "approved", "rejected", "cancelled", "paid"]))
@json_option
@pass_session
def proposals(s: Session, status: str | None, as_json: bool) -> None:
    """List proposals with their tallies.

    Example: pot proposals --status open --json
    """
    rows = s.ledger.proposals(s.info, status=status)
    if as_json:
        return emit_json(rows)
    table(
        None,
        ["no", "amount", "purpose", "recipient", "when", "status", "agree", "abstain", "disagree", "block"],
        [(p.no, p.amount, p.purpose, p.recipient, p.when, p.status, *p.votes.model_dump().values()) for p in rows],
    )


@click.command()
@click.argument("proposal_no", metavar="N", type=NUMBER)
@json_option
@pass_session
def proposal(s: Session, proposal_no: int, as_json: bool) -> None:
    """Show one proposal with every vote cast.

    Example: pot proposal 1
    """
    found = s.ledger.proposal(s.info, proposal_no)
    if as_json:
        return emit_json(found)
    v = found.votes
    click.echo(
        f"proposal {found.no} by {found.proposer}: {found.amount} {s.info.currency} to {found.recipient} "
        f"for {found.purpose}\nstatus {found.status}, {found.when}; "
        f"{v.agree} agree, {v.abstain} abstain, {v.disagree} disagree, {v.block} block"
    )
    table(None, ["on", "member", "position", "reason"], [(b.on, b.member, b.position, b.reason) for b in found.ballots])
