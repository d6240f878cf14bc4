"""`pot` commands for the crew itself: init (open a pot), member add, remove and role; members."""

from __future__ import annotations

import click

from cli import (
    Session,
    as_option,
    confirm,
    pass_session,
    read_command,
)
from domain.values import parse_currency, parse_name, parse_quorum, parse_slug, parse_text, slugify


@click.command()
@click.argument("name")
@click.option("--currency", required=True, help="ISO 4217 code, e.g. EUR.")
@click.option("--slug", help="Short id for --pot (default: from the name).")
@click.option("--quorum", default="0.5", show_default=True, help="Fraction of eligible voters who must vote.")
@click.option("--voting-days", default=7, show_default=True, type=int, help="Days a proposal stays open.")
@click.option("--signed-votes", is_flag=True, help="Take signed votes only, and count only those (SPEC §7).")
@as_option
@pass_session
def init(
    s: Session, name: str, currency: str, slug: str | None, quorum: str, voting_days: int, signed_votes: bool = False
) -> None:
    """Open a pot; the --as member is its first treasurer.

    Example: pot init "Maastricht crew" --currency EUR --as Ana
    """
    title = parse_text(name, "pot name", max_len=200, required=True, one_line=True)
    # Every input is read before the store is opened, so a typo leaves no new store file behind.
    pot_slug = parse_slug(slug) if slug else slugify(title)
    code, fraction, treasurer = parse_currency(currency), parse_quorum(quorum), s.actor
    s.may_create = True
    opened = s.ledger.open_pot(
        slug=pot_slug,
        name=title,
        currency=code,
        quorum=fraction,
        voting_days=voting_days,
        treasurer=treasurer,
        today=s.today,
        signed_votes=signed_votes,
    )
    click.echo(f"events 1-2: opened pot {opened} ({title}, {currency.upper()}) with treasurer {s.actor}")


@click.group()
def member() -> None:
    """Add or remove crew members.

    Example: pot --as Ana member add Bo
    """


@member.command("add")
@click.argument("name")
@click.option("--treasurer", is_flag=True, help="Make the new member a treasurer.")
@as_option
@pass_session
def member_add(s: Session, name: str, treasurer: bool) -> None:
    """Add a member (treasurers only).

    Example: pot --as Ana member add Bo --treasurer
    """
    who = parse_name(name)
    added = s.ledger.add_member(s.slug, actor=s.actor, name=who, treasurer=treasurer, today=s.today)
    confirm(s, added.events)


@member.command("remove")
@click.argument("name")
@as_option
@pass_session
def member_remove(s: Session, name: str) -> None:
    """Remove a member (treasurers, or a member removing themself); their history stays.

    Example: pot --as Ana member remove Bo
    """
    removed = s.ledger.remove_member(s.slug, actor=s.actor, name=parse_name(name), today=s.today)
    # Leaving can complete a proposal that waited only for this member's vote: its decision is confirmed too.
    confirm(s, removed.events)


@member.command("role")
@click.argument("name")
@click.argument("role", type=click.Choice(["member", "treasurer"]))
@as_option
@pass_session
def member_role(s: Session, name: str, role: str) -> None:
    """Make a member a treasurer, or a treasurer a member (treasurers only).

    Example: pot --as Ana member role Bo treasurer
    """
    who = parse_name(name)
    changed = s.ledger.change_role(s.slug, actor=s.actor, name=who, treasurer=role == "treasurer", today=s.today)
    confirm(s, changed.events)


members = read_command("members")


# Reminders (SPEC §8): `pot member email`, kept with `pot notify` in its own module.
from cli_commands.notify import member_email  # noqa: E402

member.add_command(member_email)
