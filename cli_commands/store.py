"""`pot` commands that keep a store: where, verify, rebuild, export, import, demo."""

from __future__ import annotations

import shlex
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import click

from cli import (
    Session,
    as_option,
    emit_json,
    fail,
    json_option,
    pass_session,
)
from domain.errors import BadInput

if TYPE_CHECKING:
    from ledger.statement_csv import Progress
    from projections.verification import VerifyReport


@click.command()
@json_option
def where(as_json: bool) -> None:
    """Print where the default store lives (override with --db or POT_DB).

    Example: pot where
    """
    ctx = click.get_current_context()
    db = ctx.find_object(Session).db if ctx.find_object(Session) else None  # type: ignore[union-attr]
    from ledger.store import default_path, display_location

    location = display_location(db) if db else str(default_path())
    if as_json:
        return emit_json({"store": location})
    click.echo(location)


# --------------------------------------------------------------------------- integrity
@click.command()
@click.option("--digest", metavar="D", help="A digest written down earlier: prove history up to it is unchanged.")
@click.option(
    "--file",
    "file",
    metavar="F.jsonl",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Check an exported JSON Lines file alone, with no store.",
)
@json_option
@pass_session
def verify(s: Session, digest: str | None, as_json: bool, file: Path | None = None) -> None:
    """Recompute the hash chain and re-fold the views; exit 1 on any mismatch.

    Example: pot verify --digest 3f9a0c1e5b7d2a4f   (or: pot verify --file pot-2026.jsonl)
    """
    from domain.chain import parse_digest
    from ledger.jsonl import verify_file

    if digest is not None:
        digest = parse_digest(digest)
    if file is not None:
        report = verify_file(file, digest)
    else:
        report = s.ledger.verify(s.ledger.resolve_pot(s.pot_slug, even_if_views_fail=True), digest=digest)
    if as_json:
        emit_json(report.contract())
    elif report.ok:
        click.echo(f"ok: {report.events} events, head digest {report.head}; {signature_counts(report)}")
        if digest:
            click.echo(f"the history up to digest {digest} is unchanged")
    if not report.ok:
        fail(f"verify failed: {report.problem}", 1)


def signature_counts(report: VerifyReport) -> str:
    """SPEC §7's counts in words: "41 signed, 3 unsigned, no bad signature"."""
    bad = len(report.bad_signatures)
    return f"{report.signed} signed, {report.unsigned} unsigned, {bad or 'no'} bad signature{'s' if bad > 1 else ''}"


@click.command()
@click.option(
    "--force",
    is_flag=True,
    help="Rebuild even when a pot's newest event differs from the head digest the views recorded.",
)
@json_option
@pass_session
def rebuild(s: Session, force: bool, as_json: bool) -> None:
    """Rebuild every view from the event log.

    A pot's newest event is vouched for only by the head digest the views
    recorded, which a rebuild overwrites: if that event has changed, the rebuild
    is refused, so the evidence stays for `pot verify`.

    Example: pot rebuild
    """
    count = s.ledger.rebuild_views(force=force)
    if as_json:
        return emit_json({"events": count})
    click.echo(f"rebuilt the views from {count} events")


@click.command()
@pass_session
def demo(s: Session) -> None:
    """Create a sample crew with a year of history, and show it.

    Example: pot --db demo.sqlite demo
    """
    from cli_commands.crew import members
    from cli_commands.deciding import proposals
    from cli_commands.game import trust
    from cli_commands.looking_back import balance
    from cli_commands.money import pledges
    from ledger.demo import DEMO_SLUG, build_demo

    if s.db is None:
        # Never into the crew's real default store: the demo gets a file of its own beside it.
        from ledger.store import default_path

        default_path().parent.mkdir(parents=True, exist_ok=True)
        s.db = str(default_path().with_name("demo.sqlite"))
        click.echo(f"the demo crew goes into its own store: {s.db}")
    s.may_create = True
    created = build_demo(s.ledger, s.today)
    s.pot_slug = DEMO_SLUG
    if not created:
        click.echo(f"the demo pot {DEMO_SLUG!r} is already in this store; showing it")
    ctx = click.get_current_context()
    for shown, options in (
        (members, {}),
        (balance, {"as_of": None}),
        (pledges, {"as_of": None}),
        (proposals, {"status": None}),
        (trust, {"as_of": None}),
        (verify, {"digest": None}),
    ):
        click.echo("")
        ctx.invoke(shown, as_json=False, **options)
    # Quoted as a shell needs it, so the hint works when pasted.
    again = f"pot --db {shlex.quote(s.db)} --pot {DEMO_SLUG}"
    click.echo(f"\ntry: {again} history")
    click.echo(f" or: {again} report -o demo.html  (one page to share)")


# --------------------------------------------------------------------------- interchange
# Statements with more rows than this show a progress bar on a terminal.
PROGRESS_ROWS = 2000


@click.command("export")
@click.option("--format", "fmt", type=click.Choice(["jsonl", "csv", "journal"]), default="jsonl", show_default=True)
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="Write to FILE, not stdout.")
@click.option(
    "--with-receipts", is_flag=True, help="jsonl: carry the payouts' receipts too, so `verify --file` checks them."
)
@json_option
@pass_session
def export_(s: Session, fmt: str, output: Path | None, with_receipts: bool, as_json: bool) -> None:
    """Export the pot: every event with its digest (jsonl), the audit trail (csv) or an hledger journal.

    Example: pot export --format journal | hledger -f - bal
    """
    from ledger.store import refuse_writing_over_store

    if as_json and output is None:
        raise BadInput("--json describes the written file: give -o FILE too")
    if output is not None:
        refuse_writing_over_store(s.db, output)
    # The jsonl export reads the log alone: it gets a pot's evidence out even when the views cannot fold it.
    info = s.ledger.resolve_pot(s.pot_slug, even_if_views_fail=fmt == "jsonl")
    done = s.ledger.export(info, fmt, output, sys.stdout, with_receipts=with_receipts)
    if output is None:
        return None
    if as_json:
        return emit_json(
            {"pot": info.slug, "format": fmt, "file": str(output), "events": done.events, "head": done.head}
        )
    click.echo(f"exported {done.events} {'events' if fmt != 'journal' else 'transactions'} to {output}")
    return None


@contextmanager
def _import_progress(path: Path) -> Iterator[Progress | None]:
    """A rich progress bar on stderr for long statements on a terminal; None otherwise."""
    from ledger.statement_csv import count_rows

    if not sys.stderr.isatty() or count_rows(path) < PROGRESS_ROWS:
        yield None
        return
    from rich.console import Console
    from rich.progress import Progress as Bar
    from rich.progress import TaskID

    with Bar(console=Console(stderr=True), transient=True) as bar:
        tasks: dict[str, TaskID] = {}

        def tick(phase: str, done: int, total: int) -> None:
            if phase not in tasks:
                tasks[phase] = bar.add_task(phase, total=total or None)
            bar.update(tasks[phase], completed=done)

        yield tick


@click.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--format", "fmt", type=click.Choice(["csv", "jsonl"]), help="csv (contributions) or jsonl (a whole pot)."
)
@as_option
@json_option
@pass_session
def import_(s: Session, file: Path, fmt: str | None, as_json: bool) -> None:
    """Import contributions from a statement (CSV header member,amount,on,note,ref), or a pot's jsonl export.

    All rows or none; rows already recorded (same ref) are skipped, so importing twice adds nothing.

    Example: pot --as Ana import bank-2026-03.csv
    """
    from ledger.interchange import guess_format

    if (fmt or guess_format(file)) == "jsonl":
        from ledger.jsonl import no_store_left_if_refused
        from ledger.store import sqlite_file

        s.may_create = True
        with no_store_left_if_refused(sqlite_file(s.db), lambda: s.ledger.close()):
            slug, done = s.ledger.import_jsonl(file)
        if as_json:
            return emit_json({"pot": slug, "events": done.events, "head": done.head})
        click.echo(f"imported pot {slug}: {done.events} events, head digest {done.head}")
        return None
    actor = s.actor
    with _import_progress(file) as progress:
        result = s.ledger.import_statement(s.slug, actor=actor, path=file, today=s.today, progress=progress)
    if as_json:
        return emit_json({"pot": s.slug, "new": result.new, "already_recorded": result.already_recorded})
    # Confirmed as every stored event is (`event N: …`), naming the range of new events.
    if result.new == 0:
        click.echo(f"nothing new: 0 new, {result.already_recorded} already recorded")
    else:
        last = result.first_no + result.new - 1
        where = f"event {last}" if result.new == 1 else f"events {result.first_no}-{last}"
        click.echo(f"{where}: {result.new} new, {result.already_recorded} already recorded")
    return None
