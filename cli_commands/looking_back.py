"""`pot` commands for looking back: balance, history, replay, reflect, triggers, report."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from cli import (
    NUMBER,
    Session,
    as_of_option,
    as_option,
    confirm,
    emit_json,
    json_option,
    parse_option_date,
    pass_session,
    read_command,
    table,
)
from domain.errors import BadInput
from domain.values import parse_text

if TYPE_CHECKING:
    from projections.replay import ReplayStep


balance = read_command("balance")


history = read_command("history")


# --------------------------------------------------------------------------- replay and reflection
@click.command()
@click.option("--from", "from_no", type=NUMBER, metavar="N", help="Start at event N.")
@click.option("--to", "to_no", type=NUMBER, metavar="N", help="Stop after event N.")
@click.option("--as-of", metavar="DATE", callback=parse_option_date, help="Only events dated on or before DATE.")
@click.option("--step", is_flag=True, help="In a terminal: one event at a time (Enter or space: next, q: stop).")
@json_option
@pass_session
def replay(s: Session, from_no: int | None, to_no: int | None, as_of: date | None, step: bool, as_json: bool) -> None:
    """Walk the history: each event, the balance after it, what changed, and the reflections it drew.

    Example: pot replay --from 10 --to 20
    """
    if step and as_json:
        raise BadInput("--step shows one event at a time as text: leave out --json")
    if step and not sys.stdin.isatty():
        raise BadInput("--step waits for a key between events, so it needs a terminal: run it without --step here")
    steps = s.reads.replay(s.info, from_no=from_no, to_no=to_no, as_of=as_of)
    if as_json:
        for one in steps:
            click.echo(json.dumps(one.contract(s.info.digits), ensure_ascii=False))
    elif step:
        # Read it all first: no transaction stays open while the crew talks.
        everything = list(steps)
        with _Keys() as keys:
            _show_replay(s, everything, as_of, keys)
    else:
        _show_replay(s, steps, as_of, None)


def _show_replay(s: Session, steps: Iterable[ReplayStep], as_of: date | None, keys: _Keys | None) -> None:
    click.echo(f"replay of {s.info.name} ({s.info.currency})" + (f" as of {as_of}" if as_of else ""))
    click.echo(_replay_line("no", "on", "actor", "balance", "change", "what"))
    shown = None
    for one in steps:
        if shown is not None and keys is not None and not keys.go_on():
            click.echo(f"stopped after event {shown}")
            return
        _show_step(s, one)
        shown = one.item["no"]
    if shown is None:
        click.echo("no events in this range")
    elif shown < s.info.events and as_of is None:
        # Stopped by --to: "the end" would tell the crew there is nothing after it.
        click.echo(f"end of the replay at event {shown}: the history goes on to event {s.info.events}")
    else:
        click.echo("end of the history" + (f" as of {as_of}" if as_of else ""))


def _replay_line(no: object, on: object, actor: object, balance: object, change: object, what: object) -> str:
    return f"{no!s:>5}  {on!s:<10}  {actor!s:<8}  {balance!s:>12}  {change!s:>10}  {what}"


def _show_step(s: Session, one: ReplayStep) -> None:
    from projections.describe import describe

    item = one.item
    delta = one.change_minor
    change = "" if delta == 0 else ("+" if delta > 0 else "-") + s.money(abs(delta))
    click.echo(
        _replay_line(item["no"], item["on"], item["actor"], s.money(one.balance_after_minor), change, describe(item))
    )
    for r in one.reflections:
        note = f": {' '.join(r.note.split())}" if r.note else ""  # one line, under the event it is about
        click.echo(f"{'':7}↳ {r.member} felt {r.feeling}{note}")


class _Keys:
    """Single key presses from the terminal for a whole `--step` replay.

    The terminal stays in cbreak mode throughout (not only while waiting, as
    click.getchar does), so a key pressed while an event is printing is kept
    rather than flushed, and output still ends lines normally.
    """

    PROMPT = "  [Enter/space: next event, q: stop]"

    def __init__(self) -> None:
        self.fd = sys.stdin.fileno()
        self.saved: list[Any] | None = None
        self.typed = ""

    def __enter__(self) -> _Keys:
        try:
            import termios
            import tty
        except ImportError:  # pragma: no cover - Windows: fall back to click.getchar
            return self
        self.saved = termios.tcgetattr(self.fd)
        tty.setcbreak(self.fd, termios.TCSANOW)
        return self

    def __exit__(self, *_exc: object) -> None:
        if self.saved is not None:
            import termios

            termios.tcsetattr(self.fd, termios.TCSADRAIN, self.saved)

    def key(self) -> str:
        if self.saved is None:  # pragma: no cover - Windows
            return click.getchar()
        import os

        while not self.typed:
            chunk = os.read(self.fd, 32)
            if not chunk:
                return "q"
            self.typed = chunk.decode(errors="replace")
        key, self.typed = self.typed[0], self.typed[1:]
        return key

    def go_on(self) -> bool:
        """Wait for Enter or space (True) or q (False); Ctrl-D stops too, other keys are ignored."""
        try:
            # Inside the try: a Ctrl-C pressed as soon as the prompt shows may land before the wait begins.
            click.echo(self.PROMPT, nl=False)
            while (key := self.key()) not in ("\r", "\n", " ", "q", "Q", "\x04"):
                pass
        except KeyboardInterrupt:
            key = "q"  # Ctrl-C is how many people say "stop": stop as q does, quietly.
        # Wipe the prompt so the replay reads as one list.
        click.echo("\r" + " " * len(self.PROMPT) + "\r", nl=False)
        return key in ("\r", "\n", " ")


@click.command()
@click.argument("event_no", type=NUMBER)
@click.option("--feeling", required=True, metavar="WORD", help="One word: anxious, relieved, guilty, generous…")
@click.option("--note", default="", help="What it brought up, in a sentence (at most 500 characters).")
@as_option
@pass_session
def reflect(s: Session, event_no: int, feeling: str, note: str) -> None:
    """Attach a reflection to an event: how that money moment felt.

    Example: pot --as Bo reflect 14 --feeling anxious --note "first time I asked the crew for money"
    """
    from domain.values import parse_feeling

    word = parse_feeling(feeling)
    text = parse_text(note, "note")
    done = s.ledger.reflect(s.slug, actor=s.actor, event_no=event_no, feeling=word, note=text, today=s.today)
    confirm(s, done.events)


@click.command()
@json_option
@pass_session
def triggers(s: Session, as_json: bool) -> None:
    """Reflections by event type and feeling, and the events that drew the most.

    Example: pot triggers --json
    """
    report = s.reads.triggers(s.info)
    if as_json:
        return emit_json(report)
    if not report.reflections:
        click.echo("no reflections yet: add one with `pot reflect EVENT_NO --feeling WORD`")
        return None
    click.echo(f"{report.reflections} reflections in {s.info.name}")
    click.echo("")
    from domain.vocabulary import plain_word

    table("by event type", ["type", "reflections"], [(plain_word(t), n) for t, n in report.by_type.items()])
    click.echo("")
    table("by feeling", ["feeling", "reflections"], report.by_feeling.items())
    click.echo("")
    table(
        "the events that drew most",
        ["no", "on", "reflections", "feelings", "what"],
        [(e.no, e.on, e.reflections, ", ".join(e.feelings), e.description) for e in report.most],
    )
    return None


# --------------------------------------------------------------------------- report
@click.command("report")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False, path_type=Path), help="HTML file.")
@as_of_option
@json_option
@pass_session
def report_(s: Session, output: Path, as_of: date | None, as_json: bool) -> None:
    """Write one self-contained HTML file: figures, charts, members, proposals and the full history.

    Example: pot report -o pot.html --as-of 2026-03-31
    """
    from ledger.store import refuse_writing_over_store

    refuse_writing_over_store(s.db, output)
    done = s.ledger.write_report(s.info, as_of=as_of, today=s.today, output=output)
    if as_json:
        return emit_json(done)
    click.echo(f"wrote {output}: {s.info.name} as of {done.as_of}, head digest {done.head}")
    return None
