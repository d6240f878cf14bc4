"""`pot` commands that open and keep a store: init, where, verify, rebuild, demo, export, import."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

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
from domain.values import parse_currency, parse_quorum, parse_slug, parse_text, slugify


# --------------------------------------------------------------------------- pots
@click.command()
@click.argument("name")
@click.option("--currency", required=True, help="ISO 4217 code, e.g. EUR.")
@click.option("--slug", help="Short id for --pot (default: from the name).")
@click.option("--quorum", default="0.5", show_default=True, help="Fraction of eligible voters who must vote.")
@click.option("--voting-days", default=7, show_default=True, type=int, help="Days a proposal stays open.")
@as_option
@pass_session
def init(s: Session, name: str, currency: str, slug: str | None, quorum: str, voting_days: int) -> None:
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
    )
    click.echo(f"opened pot {opened} ({title}, {currency.upper()}) with treasurer {s.actor}")


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
    from ledger.interchange import verify_file

    if digest is not None:
        digest = parse_digest(digest)
    report = verify_file(file, digest) if file is not None else s.ledger.verify(s.info, digest=digest)
    if as_json:
        emit_json(report.contract())
    elif report.ok:
        click.echo(f"ok: {report.events} events, head digest {report.head}")
        if digest:
            click.echo(f"the history up to digest {digest} is unchanged")
    if not report.ok:
        fail(f"verify failed: {report.problem}", 1)


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
@as_option
@pass_session
def demo(s: Session) -> None:
    """Create a sample crew with a year of history, and show it.

    Example: pot --db demo.sqlite demo
    """
    from cli_commands.deciding import proposals
    from cli_commands.game import trust
    from cli_commands.members import members
    from cli_commands.money import balance, pledges
    from ledger.demo import DEMO_SLUG, build_demo

    s.may_create = True
    created = build_demo(s.ledger, s.today)
    s.pot_slug = DEMO_SLUG
    if not created:
        click.echo(f"the demo pot {DEMO_SLUG!r} is already in this store; showing it")
    ctx = click.get_current_context()
    click.echo("")
    ctx.invoke(members, as_json=False)
    click.echo("")
    ctx.invoke(balance, as_of=None, as_json=False)
    click.echo("")
    ctx.invoke(pledges, as_of=None, as_json=False)
    click.echo("")
    ctx.invoke(proposals, status=None, as_json=False)
    click.echo("")
    ctx.invoke(trust, as_of=None, as_json=False)
    click.echo("")
    ctx.invoke(verify, digest=None, as_json=False)
    click.echo(f"\ntry: pot --db {s.db or '<store>'} --pot {DEMO_SLUG} history")
    click.echo(f" or: pot --db {s.db or '<store>'} --pot {DEMO_SLUG} report -o demo.html  (one page to share)")


# --------------------------------------------------------------------------- interchange
# Statements with more rows than this show a progress bar on a terminal.
PROGRESS_ROWS = 2000


@click.command("export")
@click.option("--format", "fmt", type=click.Choice(["jsonl", "csv", "journal"]), default="jsonl", show_default=True)
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="Write to FILE, not stdout.")
@json_option
@pass_session
def export_(s: Session, fmt: str, output: Path | None, as_json: bool) -> None:
    """Export the pot: every event with its digest (jsonl), the audit trail (csv) or an hledger journal.

    Example: pot export --format journal | hledger -f - bal
    """
    from ledger.store import refuse_writing_over_store

    if as_json and output is None:
        raise BadInput("--json describes the written file: give -o FILE too")
    if output is not None:
        refuse_writing_over_store(s.db, output)
    done = s.ledger.export(s.info, fmt, output, sys.stdout)
    if output is None:
        return None
    if as_json:
        return emit_json({"pot": s.slug, "format": fmt, "file": str(output), "events": done.events, "head": done.head})
    click.echo(f"exported {done.events} {'events' if fmt != 'journal' else 'transactions'} to {output}")
    return None


def _import_progress(path: Path) -> Any:
    """A rich progress bar on stderr for long statements on a terminal; None otherwise."""
    from contextlib import nullcontext

    from ledger.interchange import count_rows

    if not sys.stderr.isatty() or count_rows(path) < PROGRESS_ROWS:
        return nullcontext(None)
    from contextlib import contextmanager

    from rich.console import Console
    from rich.progress import Progress

    @contextmanager
    def bar() -> Any:
        with Progress(console=Console(stderr=True), transient=True) as progress:
            tasks: dict[str, Any] = {}

            def tick(phase: str, done: int, total: int) -> None:
                if phase not in tasks:
                    tasks[phase] = progress.add_task(phase, total=total or None)
                progress.update(tasks[phase], completed=done)

            yield tick

    return bar()


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
        s.may_create = True
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
    click.echo(f"{result.new} new, {result.already_recorded} already recorded")
    return None
