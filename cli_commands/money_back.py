"""`pot` commands for money that comes back and receipts (SPEC §8): refund, receipt."""

from __future__ import annotations

from pathlib import Path

import click

from cli import AMOUNT_ARGS, NUMBER, Session, as_option, confirm, pass_session
from domain.values import parse_text


@click.command(context_settings=AMOUNT_ARGS)
@click.argument("proposal_no", metavar="N", type=NUMBER)
@click.argument("amount")
@click.option("--reason", required=True, help="Why the money came back (a refund, a cancelled booking).")
@as_option
@pass_session
def refund(s: Session, proposal_no: int, amount: str, reason: str) -> None:
    """Record money of a paid proposal that came back (treasurers only); the payout stays in history.

    At most what was paid, less what already came back.

    Example: pot --as Ana refund 3 40 --reason "the shop refunded the broken charger"
    """
    minor = s.amount(amount)
    why = parse_text(reason, "reason", required=True)
    done = s.ledger.refund(
        s.slug, actor=s.actor, proposal_no=proposal_no, amount_minor=minor, reason=why, today=s.today
    )
    confirm(s, done.events)


@click.command()
@click.argument("proposal_no", metavar="N", type=NUMBER)
@click.option(
    "-o", "--output", required=True, type=click.Path(dir_okay=False, path_type=Path), help="Write the receipt here."
)
@pass_session
def receipt(s: Session, proposal_no: int, output: Path) -> None:
    """Save the receipt kept with a proposal's payout to a file.

    Example: pot receipt 3 -o laptop-receipt.pdf
    """
    from ledger.receipts import receipt_of
    from ledger.store import refuse_writing_over_store

    refuse_writing_over_store(s.db, output)
    found = receipt_of(s.ledger, s.info, proposal_no)
    output.write_bytes(found.data)
    click.echo(f"wrote {output}: the receipt of proposal {proposal_no} ({found.media_type}, {len(found.data)} bytes)")
