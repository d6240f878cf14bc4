"""`pot` commands for the reciprocity game (SPEC §2): game listening/money/meeting/conflict/co-own, trust."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

import click

from cli import (
    F,
    Session,
    as_option,
    confirm,
    parse_option_date,
    pass_session,
    read_command,
)
from domain.errors import BadInput
from domain.values import parse_name

if TYPE_CHECKING:
    from domain.events import PotEvent


# --------------------------------------------------------------------------- the reciprocity game
def parse_names(text: str, what: str) -> tuple[str, ...]:
    """A comma-separated list of member names (`Ana,Bo,Cy`); the pot checks who they are."""
    names = tuple(parse_name(part, f"{what} name") for part in text.split(","))
    if not names:
        raise BadInput(f"{what}: name at least one member")
    return names


def on_option(f: F) -> F:
    return click.option(
        "--on", "on", metavar="DATE", callback=parse_option_date, help="When it happened (default today)."
    )(f)


def record_game(
    s: Session,
    game: str,
    on: date | None,
    *,
    participants: tuple[str, ...] = (),
    asker: str | None = None,
    offered: tuple[str, ...] = (),
    missed: tuple[str, ...] = (),
    resolved: bool | None = None,
) -> tuple[PotEvent, ...]:
    """Record one game event; the events stored, for the confirmation."""
    done = s.ledger.play_game(
        s.slug,
        actor=s.actor,
        game=game,
        on=on or s.today,
        today=s.today,
        participants=participants,
        asker=asker,
        offered=offered,
        missed=missed,
        resolved=resolved,
    )
    return done.events


@click.group()
def game() -> None:
    """Record reciprocity-game events: listening, money talks, meetings, conflicts, co-owning.

    Example: pot --as Ana game listening --with Ana,Bo,Cy,Dee
    """


@game.command("listening")
@click.option("--with", "people", required=True, metavar="A,B", help="Everyone who listened.")
@on_option
@as_option
@pass_session
def game_listening(s: Session, people: str, on: date | None) -> None:
    """A listening circle in which everyone listened: +1 each.

    Example: pot --as Ana game listening --with Ana,Bo,Cy,Dee --on 2026-02-01
    """
    who = parse_names(people, "--with")
    events = record_game(s, "listening", on, participants=who)
    confirm(s, events)


@game.command("money")
@click.option("--asker", required=True, metavar="NAME", help="Who asked for something they need.")
@click.option("--offered", required=True, metavar="B,C", help="Who offered something.")
@on_option
@as_option
@pass_session
def game_money(s: Session, asker: str, offered: str, on: date | None) -> None:
    """A money talk: +5 to the asker and each offerer, +1 respect bonus to each.

    Example: pot --as Ana game money --asker Cy --offered Ana,Bo
    """
    who = parse_name(asker, "--asker name")
    offers = parse_names(offered, "--offered")
    events = record_game(s, "money", on, asker=who, offered=offers)
    confirm(s, events)


@game.command("meeting")
@click.option("--attended", required=True, metavar="A,B", help="Who came.")
@click.option("--missed", metavar="C", help="Who missed it.")
@on_option
@as_option
@pass_session
def game_meeting(s: Session, attended: str, missed: str | None, on: date | None) -> None:
    """A crew meeting: attending earns 1, 3, then 5; missing one costs 5.

    Example: pot --as Ana game meeting --attended Ana,Bo,Cy --missed Dee --on 2026-03-01
    """
    came = parse_names(attended, "--attended")
    away = parse_names(missed, "--missed") if missed is not None else ()
    events = record_game(s, "meeting", on, participants=came, missed=away)
    confirm(s, events)


@game.command("conflict")
@click.option("--between", required=True, metavar="A,B", help="The parties.")
@click.option("--resolved", is_flag=True, help="It ended in apology, amends and forgiveness: +10 each.")
@click.option("--unresolved", is_flag=True, help="No mutually agreeable resolution: -20 each.")
@on_option
@as_option
@pass_session
def game_conflict(s: Session, between: str, resolved: bool, unresolved: bool, on: date | None) -> None:
    """A conflict and how it ended.

    Example: pot --as Ana game conflict --between Bo,Cy --resolved
    """
    if resolved == unresolved:
        raise BadInput("say how the conflict ended: exactly one of --resolved and --unresolved")
    parties = parse_names(between, "--between")
    events = record_game(s, "conflict", on, participants=parties, resolved=resolved)
    confirm(s, events)


@game.command("co-own")
@click.option("--with", "people", required=True, metavar="A,B", help="The co-owners.")
@on_option
@as_option
@pass_session
def game_co_own(s: Session, people: str, on: date | None) -> None:
    """Formally sharing ownership of an asset or company: +100 each.

    Example: pot --as Ana game co-own --with Ana,Bo
    """
    who = parse_names(people, "--with")
    events = record_game(s, "co-own", on, participants=who)
    confirm(s, events)


trust = read_command("trust")
