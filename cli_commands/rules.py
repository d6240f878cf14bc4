"""`pot` commands for the crew's rules (SPEC §8): propose-rule, rules."""

from __future__ import annotations

import click

from cli import Session, as_option, confirm, pass_session, read_command
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


rules = read_command("rules")
