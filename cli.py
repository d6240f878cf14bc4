"""`pot`: the command line. Parse, call the ledger, render text or JSON; nothing else.

Errors are one line on stderr starting `error: `; exit 1 when a rule refuses,
2 for bad input or usage (SPEC §4).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterable
from datetime import date
from typing import Any, NoReturn, TypeVar

import click
from pydantic import BaseModel

from domain.errors import BadInput, PotError
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

    @property
    def ledger(self) -> Any:
        if self._ledger is None:
            from ledger.app import Ledger
            from ledger.store import resolve

            self._ledger = Ledger(resolve(self.db))
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
            raise BadInput(f"{what}: {e}") from None

    def money(self, minor: int) -> str:
        return format_amount(minor, self.info.digits)

    def command(self, decide: Callable[[Any], Any]) -> Any:
        return self.ledger.command(self.slug, decide)


pass_session = click.make_pass_decorator(Session)


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
    title = parse_text(name, "pot name", max_len=200, required=True)
    opened = s.ledger.open_pot(
        slug=parse_slug(slug) if slug else slugify(title),
        name=title,
        currency=parse_currency(currency),
        quorum=parse_quorum(quorum),
        voting_days=voting_days,
        treasurer=s.actor,
        today=s.today,
    )
    click.echo(f"opened pot {opened} ({title}, {currency.upper()}) with treasurer {s.actor}")


@main.command()
def where() -> None:
    """Print where the default store lives (override with --db or POT_DB).

    Example: pot where
    """
    ctx = click.get_current_context()
    db = ctx.find_object(Session).db if ctx.find_object(Session) else None  # type: ignore[union-attr]
    from ledger.store import default_path

    click.echo(db if db else str(default_path()))


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
    removed = s.command(lambda pot: pot.remove_member(actor=s.actor, name=who, today=s.today))
    click.echo(f"removed {removed}")


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
@main.command()
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
    reference = parse_text(ref, "ref", max_len=200, required=True) if ref is not None else None
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
@click.argument("event_no", type=int)
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
@main.command()
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
    to = parse_text(recipient, "recipient", max_len=200) if recipient is not None else None
    no = s.command(
        lambda pot: pot.propose(
            actor=s.actor, amount_minor=minor, purpose=why, recipient=to, closes=closes, today=s.today
        )
    )
    click.echo(f"proposal {no}")


@main.command()
@click.argument("proposal_no", metavar="N", type=int)
@click.argument("position", type=click.Choice(["agree", "abstain", "disagree", "block"]))
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
    click.echo(
        f"{s.actor} voted {position} on proposal {proposal_no}" + ("" if status == "open" else f"; it is {status}")
    )


@main.command()
@click.argument("proposal_no", metavar="N", type=int)
@as_option
@pass_session
def close(s: Session, proposal_no: int) -> None:
    """Decide a proposal after its closing date.

    Example: pot --as Ana close 2
    """
    status = s.command(lambda pot: pot.close(actor=s.actor, proposal_no=proposal_no, today=s.today))
    click.echo(f"proposal {proposal_no} is {status}")


@main.command()
@click.argument("proposal_no", metavar="N", type=int)
@as_option
@pass_session
def cancel(s: Session, proposal_no: int) -> None:
    """Cancel your own open proposal.

    Example: pot --as Bo cancel 3
    """
    s.command(lambda pot: pot.cancel(actor=s.actor, proposal_no=proposal_no, today=s.today))
    click.echo(f"proposal {proposal_no} is cancelled")


@main.command()
@click.argument("proposal_no", metavar="N", type=int)
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
@click.argument("proposal_no", metavar="N", type=int)
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
@main.command()
@click.option("--digest", metavar="D", help="A digest written down earlier: prove history up to it is unchanged.")
@json_option
@pass_session
def verify(s: Session, digest: str | None, as_json: bool) -> None:
    """Recompute the hash chain and re-fold the views; exit 1 on any mismatch.

    Example: pot verify --digest 3f9a0c1e5b7d2a4f
    """
    from ledger.integrity import verify as run_verify

    report = run_verify(s.ledger, s.info, digest)
    if as_json:
        emit_json(report.contract())
    elif report.ok:
        click.echo(f"ok: {report.events} events, head digest {report.head}")
        if digest:
            click.echo(f"the history up to digest {digest} is unchanged")
    if not report.ok:
        fail(f"verify failed: {report.problem}", 1)


@main.command()
@pass_session
def rebuild(s: Session) -> None:
    """Rebuild every view from the event log.

    Example: pot rebuild
    """
    count = s.ledger.rebuild()
    click.echo(f"rebuilt the views from {count} events")


@main.command()
@as_option
@pass_session
def demo(s: Session) -> None:
    """Create a sample crew with a year of history, and show it.

    Example: pot --db demo.sqlite demo
    """
    from ledger.demo import DEMO_SLUG, build_demo

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
    ctx.invoke(proposals, status=None, as_json=False)
    click.echo("")
    ctx.invoke(verify, digest=None, as_json=False)
    click.echo(f"\ntry: pot --db {s.db or '<store>'} --pot {DEMO_SLUG} history")


if __name__ == "__main__":  # pragma: no cover
    main()
