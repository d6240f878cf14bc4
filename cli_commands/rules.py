"""`pot` commands for the crew's rules (SPEC §8): propose-rule, rules."""

from __future__ import annotations

from datetime import date

import click

from cli import Session, as_option, confirm, emit_json, json_option, parse_option_date, pass_session
from domain.values import parse_quorum, parse_text


@click.command("propose-rule")
@click.option("--quorum", help="The fraction of eligible voters who must vote, from 0 to 1 (e.g. 0.75).")
@click.option("--voting-days", type=int, help="How many days a new proposal stays open for votes (1-365).")
@click.option(
    "--signed-votes",
    type=click.Choice(["on", "off"]),
    help="on: only signed votes are taken and counted; off: any vote is.",
)
@click.option("--purpose", required=True, help="Why the crew should change its rules.")
@as_option
@pass_session
def propose_rule(
    s: Session, quorum: str | None, voting_days: int | None, signed_votes: str | None, purpose: str
) -> None:
    """Propose new rules, decided like a withdrawal; prints its number.

    Proposals made before it is approved are still decided under the rules they were made under.

    Example: pot --as Bo propose-rule --quorum 0.75 --purpose "big spends need most of us"
    """
    made = s.ledger.propose_rules(
        s.slug,
        actor=s.actor,
        purpose=parse_text(purpose, "purpose", required=True),
        quorum=None if quorum is None else parse_quorum(quorum),
        voting_days=voting_days,
        signed_votes=None if signed_votes is None else signed_votes == "on",
        today=s.today,
    )
    confirm(s, made.events)


@click.command()
@click.option("--as-of", metavar="DATE", callback=parse_option_date, help="The rules in force on this day.")
@json_option
@pass_session
def rules(s: Session, as_of: date | None, as_json: bool) -> None:
    """Show the rules in force: quorum, voting days, signed votes.

    Example: pot rules --as-of 2026-03-01
    """
    found = s.reads.rules(s.info, as_of=as_of)
    if as_json:
        return emit_json(found)
    by = "the pot opened" if found.proposal_no is None else f"proposal {found.proposal_no} approved"
    click.echo(
        f"quorum {found.quorum}, voting days {found.voting_days}, signed votes {'on' if found.signed_votes else 'off'}"
        f"\nin force since {found.since} (event {found.since_event}: {by})"
    )
