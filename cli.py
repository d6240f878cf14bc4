"""`pot`: the command line. Parse, call the ledger, render text or JSON; nothing else.

Errors are one line on stderr starting `error: `; exit 1 when a rule refuses,
2 for bad input or usage (SPEC §4).
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Callable, Iterable
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import click
from pydantic import BaseModel

from domain.errors import BadInput, PotError, Tampered
from domain.values import (
    format_amount,
    parse_amount,
    parse_currency,
    parse_date,
    parse_name,
    parse_quorum,
    parse_slug,
    parse_text,
    slugify,
)

F = TypeVar("F", bound=Callable[..., Any])


# --------------------------------------------------------------------------- errors
def fail(message: str, code: int) -> NoReturn:
    click.echo(f"error: {' '.join(message.split())}", err=True)
    sys.exit(code)


class PotGroup(click.Group):
    """A group that turns every failure into one `error:` line and SPEC's exit code."""

    def main(self, *args: Any, **kwargs: Any) -> Any:
        from eventsourcing.persistence import OperationalError as StoreBusy
        from sqlalchemy.exc import OperationalError as SQLBusy

        kwargs["standalone_mode"] = False
        try:
            result = super().main(*args, **kwargs)
        except PotError as e:
            fail(str(e), e.exit_code)
        except click.UsageError as e:
            fail(e.format_message(), 2)
        except click.ClickException as e:
            fail(e.format_message(), e.exit_code)
        except click.Abort:
            fail("aborted", 1)
        except (StoreBusy, SQLBusy) as e:
            fail(f"the store is busy or unreachable: {e}", 1)
        sys.exit(result if isinstance(result, int) else 0)


# --------------------------------------------------------------------------- context
class Session:
    """What every command shares: global options and the ledger, opened on first use."""

    def __init__(self, db: str | None, pot: str | None, actor: str | None, today: date) -> None:
        self.db, self.pot_slug, self.actor_name, self.today = db, pot, actor, today
        self._ledger: Any = None
        self._info: Any = None
        # Only commands that make pots (init, demo, import) may create a new store file.
        self.may_create = False

    @property
    def ledger(self) -> Any:
        if self._ledger is None:
            from ledger.app import Ledger
            from ledger.store import resolve

            self._ledger = Ledger(resolve(self.db, create=self.may_create))
            click.get_current_context().call_on_close(self._ledger.close)
        return self._ledger

    @property
    def info(self) -> Any:
        if self._info is None:
            self._info = self.ledger.resolve_pot(self.pot_slug)
        return self._info

    @property
    def slug(self) -> str:
        return str(self.info.slug)

    @property
    def actor(self) -> str:
        if not self.actor_name:
            raise click.UsageError("say who you are: --as NAME (or set POT_AS)")
        return parse_name(self.actor_name, "--as name")

    def amount(self, text: str, what: str = "amount") -> int:
        try:
            return parse_amount(text, self.info.digits)
        except BadInput as e:
            # parse_amount already says "amount …"; name other fields (income) explicitly.
            raise BadInput(str(e) if what == "amount" else f"{what}: {e}") from None

    def money(self, minor: int) -> str:
        return format_amount(minor, self.info.digits)

    def command(self, decide: Callable[[Any], Any]) -> Any:
        return self.ledger.command(self.slug, decide)


pass_session = click.make_pass_decorator(Session)


def past_as_of(s: Session, as_of: date | None, what: str) -> date:
    """An `--as-of` for figures that count months (missed ones, pledged ones): today or earlier.

    Months after today have not happened: counted, they would charge every member
    for contributions nobody could have made yet.
    """
    if as_of is not None and as_of > s.today:
        raise BadInput(f"--as-of {as_of} is after today ({s.today}): {what} counts months that have happened")
    return as_of or s.today


# Event and proposal numbers: from 1 to the largest a PostgreSQL INTEGER column holds,
# so a mistyped huge number is one usage error on every backend, never a driver's overflow.
NUMBER = click.IntRange(1, 2**31 - 1)


def parse_option_date(_ctx: click.Context, _param: click.Parameter, value: str | None) -> date | None:
    return None if value is None else parse_date(value, "date")


def as_option(f: F) -> F:
    """`--as NAME` after the command too (`pot vote 1 agree --as Bo`)."""

    def callback(ctx: click.Context, _param: click.Parameter, value: str | None) -> None:
        if value is not None:
            ctx.ensure_object(Session).actor_name = value

    return click.option(
        "--as", "as_", metavar="NAME", expose_value=False, callback=callback, help="Act as this member."
    )(f)


def json_option(f: F) -> F:
    return click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")(f)


def emit_json(data: Any) -> None:
    if isinstance(data, BaseModel):
        data = data.model_dump(mode="json")
    elif isinstance(data, list):
        data = [d.model_dump(mode="json") if isinstance(d, BaseModel) else d for d in data]
    click.echo(json.dumps(data, ensure_ascii=False, indent=2))


def console() -> Any:
    from rich.console import Console

    # Piped output is read by people and scripts alike: never truncate a cell.
    return Console(highlight=False, soft_wrap=True, width=None if sys.stdout.isatty() else 200)


def table(title: str | None, columns: Iterable[str], rows: Iterable[Iterable[Any]]) -> None:
    from rich.table import Table

    t = Table(title=title, title_justify="left", box=None, header_style="bold")
    for column in columns:
        t.add_column(column, justify="right" if column in NUMERIC else "left")
    for row in rows:
        t.add_row(*["" if v is None else str(v) for v in row])
    console().print(t)


NUMERIC = {"no", "contributed", "share %", "received", "amount", "agree", "abstain", "disagree", "block", "balance"}
NUMERIC |= {"1 listening", "2 money", "3 consistency", "4 conflict", "5 co-owners", "total", "level"}


# --------------------------------------------------------------------------- the group
@click.group(cls=PotGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--db", envvar="POT_DB", metavar="URL_OR_PATH", help="SQLite file or database URL (env POT_DB).")
@click.option("--pot", "pot", envvar="POT_NAME", metavar="SLUG", help="Which pot (env POT_NAME).")
@click.option("--as", "actor", envvar="POT_AS", metavar="NAME", help="Act as this member (env POT_AS).")
@click.option("--today", metavar="DATE", callback=parse_option_date, help="Take this date as today (YYYY-MM-DD).")
@click.version_option(package_name="commonpot", prog_name="pot")
@click.pass_context
def main(ctx: click.Context, db: str | None, pot: str | None, actor: str | None, today: date | None) -> None:
    """commonpot: a crew's shared money pot, decided by consent, audited by all.

    \b
    Example:
      pot --db crew.sqlite init "Maastricht crew" --currency EUR --as Ana
      pot --db crew.sqlite --as Ana contribute Ana 25 --note January
      pot --db crew.sqlite balance
    """
    if pot is not None:
        parse_slug(pot)
    ctx.obj = Session(db, pot, actor, today or date.today())


# --------------------------------------------------------------------------- pots
@main.command()
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


@main.command()
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


# --------------------------------------------------------------------------- members
@main.group()
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
    added = s.command(lambda pot: pot.add_member(actor=s.actor, name=who, treasurer=treasurer, today=s.today))
    click.echo(f"added {added}{' as treasurer' if treasurer else ''}")


@member.command("remove")
@click.argument("name")
@as_option
@pass_session
def member_remove(s: Session, name: str) -> None:
    """Remove a member (treasurers, or a member removing themself); their history stays.

    Example: pot --as Ana member remove Bo
    """
    who = parse_name(name)

    def remove(pot: Any) -> tuple[str, list[str]]:
        removed = pot.remove_member(actor=s.actor, name=who, today=s.today)
        # Leaving can complete a proposal that waited only for this member's vote: say so, as a last vote does.
        decided = [
            f"proposal {e.proposal_no} is {e.outcome}" for e in pot.pending_events if e.TYPE == "proposal_decided"
        ]
        return removed, decided

    removed, decided = s.command(remove)
    click.echo("; ".join([f"removed {removed}", *decided]))


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
    changed = s.command(
        lambda pot: pot.change_role(actor=s.actor, name=who, treasurer=role == "treasurer", today=s.today)
    )
    click.echo(f"{changed} is now a {role}")


@main.command()
@json_option
@pass_session
def members(s: Session, as_json: bool) -> None:
    """List the crew, past and present.

    Example: pot members --json
    """
    from projections.queries import member_rows

    with s.ledger.read() as conn:
        rows = member_rows(conn, s.slug)
    if as_json:
        return emit_json(rows)
    table(None, ["name", "role", "joined", "left"], [(m.name, m.role, m.joined, m.left) for m in rows])


# --------------------------------------------------------------------------- money in
# Amounts may start with "-": let them through to say "negative" rather than "no such option".
AMOUNT_ARGS = {"ignore_unknown_options": True}


@main.command(context_settings=AMOUNT_ARGS)
@click.argument("member_name", metavar="MEMBER")
@click.argument("amount")
@click.option("--on", "on", metavar="DATE", callback=parse_option_date, help="Value date (default today).")
@click.option("--note", default="", help="A note for the crew.")
@click.option("--ref", help="External reference, unique in the pot (makes imports idempotent).")
@click.option("--income", metavar="AMOUNT", help="The income this contribution was drawn from.")
@as_option
@pass_session
def contribute(
    s: Session, member_name: str, amount: str, on: date | None, note: str, ref: str | None, income: str | None
) -> None:
    """Record a contribution (treasurers only).

    Example: pot --as Ana contribute Bo 25.00 --on 2026-01-05 --note January
    """
    who = parse_name(member_name)
    minor = s.amount(amount)
    income_minor = s.amount(income, "income") if income is not None else None
    text = parse_text(note, "note")
    reference = parse_text(ref, "ref", max_len=200, required=True, one_line=True) if ref is not None else None
    no = s.command(
        lambda pot: pot.contribute(
            actor=s.actor,
            member=who,
            amount_minor=minor,
            on=on or s.today,
            today=s.today,
            note=text,
            ref=reference,
            income_minor=income_minor,
        )
    )
    click.echo(f"event {no}: recorded {s.money(minor)} {s.info.currency} from {s.ledger.member_name(s.slug, who)}")


@main.command()
@click.argument("event_no", type=NUMBER)
@click.option("--reason", required=True, help="Why the contribution is reversed.")
@as_option
@pass_session
def reverse(s: Session, event_no: int, reason: str) -> None:
    """Reverse a recorded contribution (treasurers only); the original stays in history.

    Example: pot --as Ana reverse 7 --reason "recorded twice"
    """
    why = parse_text(reason, "reason", required=True)
    no = s.command(lambda pot: pot.reverse(actor=s.actor, contribution_no=event_no, reason=why, today=s.today))
    click.echo(f"event {no}: reversed contribution {event_no}")


# --------------------------------------------------------------------------- proposals
@main.command(context_settings=AMOUNT_ARGS)
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
    no = s.command(
        lambda pot: pot.propose(
            actor=s.actor, amount_minor=minor, purpose=why, recipient=to, closes=closes, today=s.today
        )
    )
    click.echo(f"proposal {no}")


@main.command()
@click.argument("proposal_no", metavar="N", type=NUMBER)
@click.argument("position", metavar="POSITION", type=click.Choice(["agree", "abstain", "disagree", "block"]))
@click.option("--reason", default="", help="Why, in a sentence.")
@as_option
@pass_session
def vote(s: Session, proposal_no: int, position: str, reason: str) -> None:
    """Vote on an open proposal as yourself; you may change your vote while it is open.

    Example: pot --as Cy vote 1 block --reason "we said no spending before March"
    """
    why = parse_text(reason, "reason")
    status = s.command(
        lambda pot: pot.vote(actor=s.actor, proposal_no=proposal_no, position=position, reason=why, today=s.today)
    )
    voter = s.ledger.member_name(s.slug, s.actor)  # as they joined, however --as was typed
    click.echo(
        f"{voter} voted {position} on proposal {proposal_no}" + ("" if status == "open" else f"; it is {status}")
    )


@main.command()
@click.argument("proposal_no", metavar="N", type=NUMBER)
@as_option
@pass_session
def close(s: Session, proposal_no: int) -> None:
    """Decide a proposal after its closing date.

    Example: pot --as Ana close 2
    """
    status = s.command(lambda pot: pot.close(actor=s.actor, proposal_no=proposal_no, today=s.today))
    click.echo(f"proposal {proposal_no} is {status}")


@main.command()
@click.argument("proposal_no", metavar="N", type=NUMBER)
@as_option
@pass_session
def cancel(s: Session, proposal_no: int) -> None:
    """Cancel your own open proposal.

    Example: pot --as Bo cancel 3
    """
    s.command(lambda pot: pot.cancel(actor=s.actor, proposal_no=proposal_no, today=s.today))
    click.echo(f"proposal {proposal_no} is cancelled")


@main.command()
@click.argument("proposal_no", metavar="N", type=NUMBER)
@as_option
@pass_session
def pay(s: Session, proposal_no: int) -> None:
    """Pay out an approved proposal, in full, once (treasurers only).

    Example: pot --as Ana pay 1
    """
    no = s.command(lambda pot: pot.pay(actor=s.actor, proposal_no=proposal_no, today=s.today))
    click.echo(f"event {no}: paid proposal {proposal_no}")


@main.command()
@click.option("--status", type=click.Choice(["open", "approved", "rejected", "cancelled", "paid"]))
@json_option
@pass_session
def proposals(s: Session, status: str | None, as_json: bool) -> None:
    """List proposals with their tallies.

    Example: pot proposals --status open --json
    """
    from projections.queries import proposal_rows

    with s.ledger.read() as conn:
        rows = proposal_rows(conn, s.info, status)
    if as_json:
        return emit_json(rows)
    table(
        None,
        ["no", "amount", "purpose", "recipient", "closes", "status", "agree", "abstain", "disagree", "block"],
        [(p.no, p.amount, p.purpose, p.recipient, p.closes, p.status, *p.votes.model_dump().values()) for p in rows],
    )


@main.command()
@click.argument("proposal_no", metavar="N", type=NUMBER)
@json_option
@pass_session
def proposal(s: Session, proposal_no: int, as_json: bool) -> None:
    """Show one proposal with every vote cast.

    Example: pot proposal 1
    """
    from projections.queries import proposal_detail

    with s.ledger.read() as conn:
        found = proposal_detail(conn, s.info, proposal_no)
    if found is None:
        raise PotError(f"there is no proposal {proposal_no} in pot {s.slug!r}")
    if as_json:
        return emit_json(found)
    v = found.votes
    click.echo(
        f"proposal {found.no} by {found.proposer}: {found.amount} {s.info.currency} to {found.recipient} "
        f"for {found.purpose}\nstatus {found.status}, closes {found.closes}; "
        f"{v.agree} agree, {v.abstain} abstain, {v.disagree} disagree, {v.block} block"
    )
    table(None, ["on", "member", "position", "reason"], [(b.on, b.member, b.position, b.reason) for b in found.ballots])


# --------------------------------------------------------------------------- reading
@main.command()
@click.option("--as-of", metavar="DATE", callback=parse_option_date, help="Every event dated on or before DATE.")
@json_option
@pass_session
def balance(s: Session, as_of: date | None, as_json: bool) -> None:
    """Balance, reserved, available, and each member's contributions and share.

    Example: pot balance --as-of 2026-03-31 --json
    """
    from projections.queries import balance as balance_report

    with s.ledger.read() as conn:
        report = balance_report(conn, s.info, as_of, s.today)
    if as_json:
        return emit_json(report)
    click.echo(f"{s.info.name} ({report.currency}) as of {report.as_of}")
    click.echo(
        f"balance {report.balance}   reserved {report.reserved}   available {report.available}   "
        f"contributed {report.contributed}   paid out {report.paid_out}"
    )
    table(
        None,
        ["member", "contributed", "share %", "received"],
        [(m.name, m.contributed, m.share_pct, m.received) for m in report.members],
    )


@main.command()
@click.option("--member", "member_name", metavar="NAME", help="Only events by or about this member.")
@click.option("--type", "types", multiple=True, metavar="TYPE", help="Only events of this type (repeatable).")
@click.option("--since", metavar="DATE", callback=parse_option_date, help="Only events dated on or after DATE.")
@click.option("--until", metavar="DATE", callback=parse_option_date, help="Only events dated on or before DATE.")
@click.option("--as-of", metavar="DATE", callback=parse_option_date, help="Same as --until.")
@json_option
@pass_session
def history(
    s: Session,
    member_name: str | None,
    types: tuple[str, ...],
    since: date | None,
    until: date | None,
    as_of: date | None,
    as_json: bool,
) -> None:
    """The audit trail: every event, in order.

    Example: pot history --member Bo --type contribution_recorded --json
    """
    from domain.events import EVENT_TYPES
    from projections.describe import describe
    from projections.queries import history_items

    unknown = [t for t in types if t not in EVENT_TYPES]
    if unknown:
        raise BadInput(f"unknown event type {unknown[0]!r}: one of {', '.join(EVENT_TYPES)}")
    who = s.ledger.member_name(s.slug, parse_name(member_name)) if member_name else None
    limit = min(d for d in (until, as_of) if d is not None) if (until or as_of) else None
    with s.ledger.read() as conn:
        items = [item for item, _ in history_items(conn, s.info, member=who, types=types, since=since, until=limit)]
    if as_json:
        return emit_json(items)
    table(
        None,
        ["no", "on", "type", "actor", "what"],
        [(i["no"], i["on"], i["type"], i["actor"], describe(i)) for i in items],
    )


# --------------------------------------------------------------------------- integrity
# A head digest is the hex SHA-256 of the last chain record: 64 characters at most.
DIGEST_MAX = 64


def parse_digest(text: str) -> str:
    """A digest written down earlier: hex, long enough to name one event, lower-cased.

    A malformed digest is a typo, not evidence of tampering: it must not reach
    `verify`, whose failure (exit 1) says the history changed.
    """
    from ledger.integrity import MIN_DIGEST_PREFIX

    raw = text.strip().lower()
    if not re.fullmatch(r"[0-9a-f]+", raw, re.ASCII):
        raise BadInput(f"--digest {text!r} is not a digest: use the hex characters (0-9, a-f) `pot verify` printed")
    if len(raw) < MIN_DIGEST_PREFIX:
        raise BadInput(f"--digest {text!r} is too short: give at least {MIN_DIGEST_PREFIX} hex characters")
    if len(raw) > DIGEST_MAX:
        raise BadInput(f"--digest {text!r} is too long: a digest has at most {DIGEST_MAX} hex characters")
    return raw


@main.command()
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
    from ledger.integrity import verify as run_verify
    from ledger.jsonl import verify_file

    if digest is not None:
        digest = parse_digest(digest)
    report = verify_file(file, digest) if file is not None else run_verify(s.ledger, s.info, digest)
    if as_json:
        emit_json(report.contract())
    elif report.ok:
        click.echo(f"ok: {report.events} events, head digest {report.head}")
        if digest:
            click.echo(f"the history up to digest {digest} is unchanged")
    if not report.ok:
        fail(f"verify failed: {report.problem}", 1)


@main.command()
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
    from ledger.integrity import unrecorded_heads

    changed = unrecorded_heads(s.ledger)
    if changed and not force:
        raise Tampered(
            f"{changed[0]}: a rebuild would make the views agree with the changed log and hide that."
            " Run `pot verify`, restore the store from a backup, or rebuild anyway with --force"
        )
    count = s.ledger.rebuild()
    if as_json:
        return emit_json({"events": count})
    click.echo(f"rebuilt the views from {count} events")


@main.command()
@as_option
@pass_session
def demo(s: Session) -> None:
    """Create a sample crew with a year of history, and show it.

    Example: pot --db demo.sqlite demo
    """
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


# --------------------------------------------------------------------------- replay and reflection
@main.command()
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
    from projections.reflections import replay as replay_steps

    if from_no is not None and to_no is not None and from_no > to_no:
        raise BadInput(f"--from {from_no} is after --to {to_no}")
    if step and as_json:
        raise BadInput("--step shows one event at a time as text: leave out --json")
    if step and not sys.stdin.isatty():
        raise BadInput("--step waits for a key between events, so it needs a terminal: run it without --step here")
    with s.ledger.read() as conn:
        steps = replay_steps(conn, s.info, from_no=from_no, to_no=to_no, as_of=as_of)
        if as_json:
            for one in steps:
                click.echo(json.dumps(one.contract(s.info.digits), ensure_ascii=False))
            return
        if step:
            # Read it all first: no transaction stays open while the crew talks.
            steps = iter(list(steps))
        else:
            _show_replay(s, steps, as_of, None)
            return
    with _Keys() as keys:
        _show_replay(s, steps, as_of, keys)


def _show_replay(s: Session, steps: Iterable[Any], as_of: date | None, keys: _Keys | None) -> None:
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


def _show_step(s: Session, one: Any) -> None:
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
        self.saved: Any = None
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
        click.echo(self.PROMPT, nl=False)
        while (key := self.key()) not in ("\r", "\n", " ", "q", "Q", "\x04"):
            pass
        # Wipe the prompt so the replay reads as one list.
        click.echo("\r" + " " * len(self.PROMPT) + "\r", nl=False)
        return key in ("\r", "\n", " ")


@main.command()
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
    no = s.command(lambda pot: pot.reflect(actor=s.actor, event_no=event_no, feeling=word, note=text, today=s.today))
    click.echo(f"event {no}: {s.ledger.member_name(s.slug, s.actor)} reflected on event {event_no}: {word}")


@main.command()
@json_option
@pass_session
def triggers(s: Session, as_json: bool) -> None:
    """Reflections by event type and feeling, and the events that drew the most.

    Example: pot triggers --json
    """
    from projections.reflections import triggers as triggers_report

    with s.ledger.read() as conn:
        report = triggers_report(conn, s.info)
    if as_json:
        return emit_json(report)
    if not report.reflections:
        click.echo("no reflections yet: add one with `pot reflect EVENT_NO --feeling WORD`")
        return None
    click.echo(f"{report.reflections} reflections in {s.info.name}")
    click.echo("")
    table("by event type", ["type", "reflections"], report.by_type.items())
    click.echo("")
    table("by feeling", ["feeling", "reflections"], report.by_feeling.items())
    click.echo("")
    table(
        "the events that drew most",
        ["no", "on", "reflections", "feelings", "what"],
        [(e.no, e.on, e.reflections, ", ".join(e.feelings), e.description) for e in report.most],
    )
    return None


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


def record_game(s: Session, game: str, on: date | None, **fields: Any) -> int:
    return int(
        s.command(lambda pot: pot.play_game(actor=s.actor, game=game, on=on or s.today, today=s.today, **fields))
    )


@main.group()
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
    no = record_game(s, "listening", on, participants=who)
    click.echo(f"event {no}: listening circle recorded")


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
    no = record_game(s, "money", on, asker=who, offered=offers)
    click.echo(f"event {no}: money talk recorded")


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
    no = record_game(s, "meeting", on, participants=came, missed=away)
    click.echo(f"event {no}: meeting recorded")


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
    no = record_game(s, "conflict", on, participants=parties, resolved=resolved)
    click.echo(f"event {no}: conflict recorded as {'resolved' if resolved else 'unresolved'}")


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
    no = record_game(s, "co-own", on, participants=who)
    click.echo(f"event {no}: co-ownership recorded")


@main.command()
@click.option("--as-of", metavar="DATE", callback=parse_option_date, help="Trust as of this date (default today).")
@json_option
@pass_session
def trust(s: Session, as_of: date | None, as_json: bool) -> None:
    """Reciprocity points per level, totals and levels, per member and for the crew.

    Example: pot trust --as-of 2026-06-30 --json
    """
    from projections.trust import trust_report

    day = past_as_of(s, as_of, "trust")
    with s.ledger.read() as conn:
        report = trust_report(conn, s.slug, day)
    if as_json:
        return emit_json(report)
    click.echo(f"trust in {s.info.name} as of {report.as_of}")
    table(
        None,
        ["member", "1 listening", "2 money", "3 consistency", "4 conflict", "5 co-owners", "total", "level"],
        [(m.name, *m.points.values(), m.total, m.level) for m in report.members],
    )
    click.echo(f"crew: {report.crew.total} points, level {report.crew.level}")


# --------------------------------------------------------------------------- pledges
NUMERIC.update({"pledged", "fulfilment %", "income %"})


def _parse_percent(text: str) -> Decimal:
    """A plain decimal percentage; the pot checks its range and decimals."""
    raw = text.strip()
    if not re.fullmatch(r"[0-9]+(\.[0-9]+)?", raw, re.ASCII):
        raise BadInput(f"percent {text!r} is not a plain decimal above 0: use digits and a dot, e.g. 7.5")
    return Decimal(raw)


@main.command()
@click.argument("member_name", metavar="MEMBER")
@click.option("--percent", metavar="P", help="Pledge P% of the incomes you declare (0 < P <= 100).")
@click.option("--monthly", metavar="AMOUNT", help="Pledge a fixed amount every month.")
@click.option("--from", "from_month", metavar="YYYY-MM", help="First month of the pledge (default this month).")
@as_option
@pass_session
def pledge(s: Session, member_name: str, percent: str | None, monthly: str | None, from_month: str | None) -> None:
    """Set a member's pledge from a month on; it replaces their earlier pledge from that month.

    A member sets their own pledge; a treasurer may set anyone's.

    Example: pot --as Bo pledge Bo --percent 10 --from 2026-01
    """
    who = parse_name(member_name)
    if (percent is None) == (monthly is None):
        raise BadInput("give exactly one of --percent and --monthly")
    share = _parse_percent(percent) if percent is not None else None
    minor = s.amount(monthly, "monthly") if monthly is not None else None
    month = from_month.strip() if from_month is not None else s.today.strftime("%Y-%m")
    no = s.command(
        lambda pot: pot.set_pledge(
            actor=s.actor, member=who, percent=share, monthly_minor=minor, from_month=month, today=s.today
        )
    )
    what = f"{share.quantize(Decimal('0.01'))}% of declared income" if share is not None else None
    what = what or f"{s.money(minor or 0)} {s.info.currency} a month"
    click.echo(f"event {no}: {s.ledger.member_name(s.slug, who)} pledges {what} from {month}")


@main.command()
@click.option("--as-of", metavar="DATE", callback=parse_option_date, help="Every event dated on or before DATE.")
@json_option
@pass_session
def pledges(s: Session, as_of: date | None, as_json: bool) -> None:
    """Each member's pledge, what they pledged and contributed to date, and how it is kept.

    Example: pot pledges --as-of 2026-06-30 --json
    """
    from projections.pledges import pledges_report

    day = past_as_of(s, as_of, "pledges")
    with s.ledger.read() as conn:
        report = pledges_report(conn, s.info, day)
    if as_json:
        return emit_json(report)
    currency = s.info.currency

    def terms(m: Any) -> str:
        if m.pledge is None:
            return "none"
        if m.pledge.kind == "percent":
            return f"{m.pledge.value}% of income"
        return f"{m.pledge.value} {currency} a month"

    click.echo(f"{s.info.name} ({currency}) pledges as of {report.as_of}")
    table(
        None,
        ["member", "pledge", "from", "pledged", "contributed", "fulfilment %", "income %"],
        [
            (
                m.name,
                terms(m),
                m.pledge.from_month if m.pledge else None,
                m.pledged,
                m.contributed,
                m.fulfilment_pct or "-",
                m.income_pct or "-",
            )
            for m in report.members
        ],
    )
    for m in report.members:
        if m.months_without_income:
            those = "that month adds" if len(m.months_without_income) == 1 else "those months add"
            click.echo(
                f"{m.name}: no income declared for {', '.join(m.months_without_income)}; "
                f"{those} nothing to a percent pledge"
            )


# --------------------------------------------------------------------------- interchange
# Statements with more rows than this show a progress bar on a terminal.
PROGRESS_ROWS = 2000


@main.command("export")
@click.option("--format", "fmt", type=click.Choice(["jsonl", "csv", "journal"]), default="jsonl", show_default=True)
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="Write to FILE, not stdout.")
@json_option
@pass_session
def export_(s: Session, fmt: str, output: Path | None, as_json: bool) -> None:
    """Export the pot: every event with its digest (jsonl), the audit trail (csv) or an hledger journal.

    Example: pot export --format journal | hledger -f - bal
    """
    from ledger.interchange import write_export
    from ledger.store import refuse_writing_over_store

    if as_json and output is None:
        raise BadInput("--json describes the written file: give -o FILE too")
    if output is not None:
        refuse_writing_over_store(s.db, output)
    done = write_export(s.ledger, s.info, fmt, output, sys.stdout)
    if output is None:
        return None
    if as_json:
        return emit_json({"pot": s.slug, "format": fmt, "file": str(output), "events": done.events, "head": done.head})
    click.echo(f"exported {done.events} {'events' if fmt != 'journal' else 'transactions'} to {output}")
    return None


def _import_progress(path: Path) -> Any:
    """A rich progress bar on stderr for long statements on a terminal; None otherwise."""
    from contextlib import nullcontext

    from ledger.statement_csv import count_rows

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


@main.command("import")
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
    from ledger import interchange, jsonl, statement_csv

    if (fmt or interchange.guess_format(file)) == "jsonl":
        s.may_create = True
        slug, done = jsonl.import_jsonl(s.ledger, file)
        if as_json:
            return emit_json({"pot": slug, "events": done.events, "head": done.head})
        click.echo(f"imported pot {slug}: {done.events} events, head digest {done.head}")
        return None
    actor = s.actor
    with _import_progress(file) as progress:
        result = statement_csv.import_csv(s.ledger, s.slug, actor=actor, path=file, today=s.today, progress=progress)
    if as_json:
        return emit_json({"pot": s.slug, "new": result.new, "already_recorded": result.already_recorded})
    click.echo(f"{result.new} new, {result.already_recorded} already recorded")
    return None


# --------------------------------------------------------------------------- report
@main.command("report")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False, path_type=Path), help="HTML file.")
@click.option("--as-of", metavar="DATE", callback=parse_option_date, help="Every event dated on or before DATE.")
@json_option
@pass_session
def report_(s: Session, output: Path, as_of: date | None, as_json: bool) -> None:
    """Write one self-contained HTML file: figures, charts, members, proposals and the full history.

    Example: pot report -o pot.html --as-of 2026-03-31
    """
    from ledger.report import write_report
    from ledger.store import refuse_writing_over_store

    refuse_writing_over_store(s.db, output)
    if as_of is not None:
        past_as_of(s, as_of, "the report's trust")
    done = write_report(s.ledger, s.slug, as_of, s.today, output)
    if as_json:
        return emit_json(done)
    click.echo(f"wrote {output}: {s.info.name} as of {done.as_of}, head digest {done.head}")
    return None


if __name__ == "__main__":  # pragma: no cover
    main()
