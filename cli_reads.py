"""The read commands (balance, members, proposals, proposal, history, trust, pledges, rules), without click.

Each read is declared here once: its options (`READS`, from which `cli.read_command`
builds the click command and `cli_quick` parses the same arguments without click) and
its body (what to ask, how to show it as text or JSON), which both run (issue 22).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING

from cli_shared import Session, echo, emit_json, table
from domain.values import parse_date

if TYPE_CHECKING:
    from projections.pledges_report import MemberPledge
    from projections.proposal_queries import ProposalDetail, ProposalRow

# Event and proposal numbers: from 1 to the largest a PostgreSQL INTEGER column holds,
# so a mistyped huge number is one usage error on every backend, never a driver's overflow.
LARGEST_NUMBER = 2**31 - 1


def option_date(text: str) -> date:
    """A DATE option's value (`--as-of`, `--since`, …), as every command reads one."""
    return parse_date(text, "date")


def number(text: str) -> int:
    """An event or proposal number N, as `cli.NUMBER` takes it (a ValueError where click refuses it)."""
    value = int(text)
    if not 1 <= value <= LARGEST_NUMBER:
        raise ValueError(f"{value} is not in the range 1<=x<={LARGEST_NUMBER}.")
    return value


class Option:
    """One option of a read command: `--flag VALUE` (parsed by `parse`), a flag, or a repeatable option."""

    __slots__ = ("choices", "dest", "flag", "help", "is_flag", "metavar", "multiple", "parse")

    def __init__(
        self,
        flag: str,
        dest: str,
        *,
        help: str | None = None,
        metavar: str | None = None,
        parse: Callable[[str], object] | None = None,
        is_flag: bool = False,
        multiple: bool = False,
        choices: tuple[str, ...] | None = None,
    ) -> None:
        self.flag, self.dest, self.help, self.metavar = flag, dest, help, metavar
        self.parse, self.is_flag, self.multiple, self.choices = parse, is_flag, multiple, choices


class Argument:
    """A read command's one positional argument (`pot proposal N`)."""

    __slots__ = ("dest", "metavar", "parse")

    def __init__(self, dest: str, metavar: str, parse: Callable[[str], object]) -> None:
        self.dest, self.metavar, self.parse = dest, metavar, parse


class Read:
    """A read command: its body, its argument if any, and its options in the order `--help` lists them."""

    __slots__ = ("argument", "body", "options")

    def __init__(
        self, body: Callable[..., None], options: tuple[Option, ...], argument: Argument | None = None
    ) -> None:
        self.body, self.options, self.argument = body, options, argument

    @property
    def help(self) -> str:
        return self.body.__doc__ or ""


# --------------------------------------------------------------------------- the bodies
def balance(s: Session, as_of: date | None, as_json: bool) -> None:
    """Balance, reserved, available, and each member's contributions and share.

    Example: pot balance --as-of 2026-03-31 --json
    """
    report = s.reads.balance(s.info, as_of=as_of, today=s.today)
    if as_json:
        return emit_json(report)
    echo(f"{s.info.name} ({report.currency}) as of {report.as_of}")
    echo(
        f"balance {report.balance}   reserved {report.reserved}   available {report.available}   "
        f"contributed {report.contributed}   paid out {report.paid_out}"
    )
    # Available never shows below zero (issue 21): what approvals lack beyond the balance is said as such.
    if Decimal(report.shortfall):
        echo(f"short {report.shortfall}: approved proposals wait for more money than the pot holds")
    table(
        None,
        ["member", "contributed", "share %", "received"],
        [(m.name, m.contributed, m.share_pct, m.received) for m in report.members],
    )
    return None


def members(s: Session, as_json: bool) -> None:
    """List the crew, past and present.

    Example: pot members --json
    """
    rows = s.reads.members(s.slug)
    if as_json:
        return emit_json(rows)
    table(None, ["name", "role", "joined", "left"], [(m.name, m.role, m.joined, m.left) for m in rows])
    return None


def proposals(s: Session, status: str | None, as_json: bool) -> None:
    """List proposals with their tallies.

    Example: pot proposals --status open --json
    """
    rows = s.reads.proposals(s.info, status=status)
    if as_json:
        return emit_json(rows)
    from dataclasses import astuple

    table(
        None,
        ["no", "amount", "purpose", "recipient", "when", "status", "agree", "abstain", "disagree", "block"],
        [(p.no, p.amount, purpose(p), p.recipient, p.when, p.status, *astuple(p.votes)) for p in rows],
    )
    return None


def proposal(s: Session, proposal_no: int, as_json: bool) -> None:
    """Show one proposal with every vote cast.

    Example: pot proposal 1
    """
    found = s.reads.proposal(s.info, proposal_no)
    if as_json:
        return emit_json(found)
    v = found.votes
    # A rule change (SPEC §8) pays nobody: it says which rules it would set instead.
    what = f"{found.amount} {s.info.currency} to {found.recipient}" if found.rules is None else "a rule change"
    echo(
        f"proposal {found.no} by {found.proposer}: {what} "
        f"for {purpose(found)}\nstatus {found.status}, {found.when}; "
        f"{v.agree} agree, {v.abstain} abstain, {v.disagree} disagree, {v.block} block"
    )
    table(None, ["on", "member", "position", "reason"], [(b.on, b.member, b.position, b.reason) for b in found.ballots])
    if found.refunded_minor:
        echo(f"money back: {s.money(found.refunded_minor)} {s.info.currency} (see `pot history --type money back`)")
    if found.receipt_sha256:
        echo(f"receipt kept, sha256 {found.receipt_sha256}: `pot receipt {found.no} -o FILE` saves it")
    for line in standing_lines(found, s.info.currency):
        echo(line)
    return None


def standing_lines(found: ProposalDetail, currency: str) -> list[str]:
    """What an open proposal needs now, or what an approved one waits for, in a crew's words (SPEC §8, issue 21)."""
    if found.status == "approved" and found.short is not None:
        return [
            f"approved and waiting for money: the pot lacks {found.short} {currency} once earlier approvals are paid"
        ]
    if found.status != "open":
        return []
    waiting = ", ".join(found.waiting) if found.waiting else "nobody: everyone has voted"
    lines = [
        f"waiting for: {waiting}",
        f"quorum {'reached' if found.quorum_reached else 'not reached yet'}; if closed now: {found.if_closed_now}",
    ]
    if found.blocked_by:
        lines.append(f"blocked by: {', '.join(found.blocked_by)}")
    return lines


def purpose(p: ProposalRow) -> str:
    """The purpose, and for a rule change (SPEC §8) the rules it would set: "faster (sets voting days 3)"."""
    if p.rules is None:
        return p.purpose
    from projections.describe import rule_words

    return f"{p.purpose} (sets {rule_words(p.rules)})"


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

    Example: pot history --member Bo --type contribution --json
    """
    from domain.values import parse_name

    who = parse_name(member_name) if member_name else None
    limit = min(d for d in (until, as_of) if d is not None) if (until or as_of) else None
    items = s.reads.history(s.info, member=who, types=types, since=since, until=limit)
    if as_json:
        return emit_json(items)
    from domain.vocabulary import plain_word
    from projections.describe import describe

    table(
        None,
        ["no", "on", "type", "actor", "what"],
        [(i["no"], i["on"], plain_word(i["type"]), i["actor"], describe(i)) for i in items],
    )
    return None


def trust(s: Session, as_of: date | None, as_json: bool) -> None:
    """Reciprocity points per level, totals and levels, per member and for the crew.

    Example: pot trust --as-of 2026-06-30 --json
    """
    report = s.reads.trust(s.info, as_of=as_of, today=s.today)
    if as_json:
        return emit_json(report)
    from domain.game import LEVEL_NAMES

    echo(f"trust in {s.info.name} as of {report.as_of}")
    table(
        None,
        ["member", *(f"{level} {name}" for level, name in LEVEL_NAMES.items()), "total", "level"],
        [(m.name, *m.points.values(), m.total, m.level) for m in report.members],
    )
    echo(f"crew: {report.crew.total} points, level {report.crew.level}")
    return None


def pledges(s: Session, as_of: date | None, as_json: bool) -> None:
    """Each member's pledge, what they pledged and contributed to date, and how it is kept.

    Example: pot pledges --as-of 2026-06-30 --json
    """
    report = s.reads.pledges(s.info, as_of=as_of, today=s.today)
    if as_json:
        return emit_json(report)
    currency = s.info.currency

    def terms(m: MemberPledge) -> str:
        if m.pledge is None:
            return "none"
        if m.pledge.kind == "percent":
            return f"{m.pledge.value}% of income"
        return f"{m.pledge.value} {currency} a month"

    echo(f"{s.info.name} ({currency}) pledges as of {report.as_of}")
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
            echo(
                f"{m.name}: no income declared for {', '.join(m.months_without_income)}; "
                f"{those} nothing to a percent pledge"
            )
    return None


def rules(s: Session, as_of: date | None, as_json: bool) -> None:
    """Show the rules in force: quorum, voting days, signed votes.

    Example: pot rules --as-of 2026-03-01
    """
    found = s.reads.rules(s.info, as_of=as_of)
    if as_json:
        return emit_json(found)
    by = "the pot opened" if found.proposal_no is None else f"proposal {found.proposal_no} approved"
    echo(
        f"quorum {found.quorum}, voting days {found.voting_days}, signed votes {'on' if found.signed_votes else 'off'}"
        f"\nin force since {found.since} (event {found.since_event}: {by})"
    )
    return None


# --------------------------------------------------------------------------- the options
JSON = Option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")


def as_of(help: str = "Every event dated on or before DATE.") -> Option:
    """`--as-of DATE` (SPEC §1 Dates)."""
    return Option("--as-of", "as_of", metavar="DATE", parse=option_date, help=help)


STATUSES = ("open", "approved", "rejected", "cancelled", "paid")

# Each read command by its name, as `pot --help` lists it.
READS: dict[str, Read] = {
    "balance": Read(balance, (as_of(), JSON)),
    "members": Read(members, (JSON,)),
    "proposals": Read(proposals, (Option("--status", "status", choices=STATUSES), JSON)),
    "proposal": Read(proposal, (JSON,), Argument("proposal_no", "N", number)),
    "history": Read(
        history,
        (
            Option("--member", "member_name", metavar="NAME", help="Only events by or about this member."),
            Option(
                "--type",
                "types",
                multiple=True,
                metavar="TYPE",
                help="Only events of this type, a plain word (contribution, vote…) or the JSON type (repeatable).",
            ),
            Option("--since", "since", metavar="DATE", parse=option_date, help="Only events dated on or after DATE."),
            Option("--until", "until", metavar="DATE", parse=option_date, help="Only events dated on or before DATE."),
            as_of("Same as --until."),
            JSON,
        ),
    ),
    "trust": Read(trust, (as_of(), JSON)),
    "pledges": Read(pledges, (as_of(), JSON)),
    "rules": Read(rules, (as_of("The rules in force on this day."), JSON)),
}
