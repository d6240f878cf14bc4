"""The data of `pot report`: one pot's figures, members, trust, proposals and audit trail, as plain models.

`build_report` only gathers what the other queries answer (balance, members,
trust, proposals with their tallies, the audit trail and its reflections), as
of a day; `ledger.report` draws the charts and renders the HTML page from it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from itertools import accumulate
from typing import Any

from domain.values import format_amount
from domain.vocabulary import MONEY_TYPES, RULE_CHANGE_PROPOSED, WITHDRAWAL_PROPOSED, plain_word
from projections.describe import describe
from projections.models import BalanceReport, PotInfo
from projections.pledges_report import PledgesReport, pledges_report
from projections.proposal_queries import Leavers, ProposalDetail, proposal_details
from projections.queries import balance, dated_after, history_items, member_rows, pot_info
from projections.replay import Reflection, reflections_on
from projections.sql import Rows
from projections.trust_report import TrustReport, trust_report


@dataclass(frozen=True, kw_only=True)
class MemberLine:
    name: str
    role: str
    joined: date
    left: date | None
    contributed: str
    share_pct: str
    received: str
    # None for members who have left: `pot trust` counts current members only.
    trust_total: int | None
    trust_level: int | None


@dataclass(frozen=True, kw_only=True)
class HistoryLine:
    no: int
    on: date
    type: str
    # The type's plain word ("contribution"), which is what people read.
    word: str
    actor: str
    what: str
    # Signed change to the balance ("+25.00", "-120.00"), empty when there is none.
    change: str
    balance_after: str
    digest: str
    reflections: list[Reflection]


@dataclass(frozen=True, kw_only=True)
class BalancePoint:
    """The balance at the end of a day, and the types of the money-moving events that day (`MONEY_TYPES`)."""

    on: date
    balance_minor: int
    marks: tuple[str, ...]


@dataclass(frozen=True, kw_only=True)
class Count:
    """How many reflections name a feeling, or are about an event of a kind (its plain word)."""

    what: str
    reflections: int


@dataclass(frozen=True, kw_only=True)
class Feelings:
    """`pot triggers` in short, as of the report's day: reflections by feeling and by kind of event."""

    reflections: int
    by_feeling: list[Count]
    by_word: list[Count]


@dataclass(frozen=True, kw_only=True)
class PotReport:
    pot: str
    name: str
    currency: str
    digits: int
    as_of: date
    # The store the report was made from: all its events and its head digest.
    events: int
    head: str
    # Events dated on or before `as_of`: the ones the figures count.
    counted: int
    balance: BalanceReport
    members: list[MemberLine]
    trust: TrustReport
    proposals: list[ProposalDetail]
    # Open proposal number -> its eligible voters still here who have not voted, in joining order.
    waiting: dict[int, list[str]]
    pledges: PledgesReport
    feelings: Feelings
    # Newest first.
    history: list[HistoryLine]
    # In date order.
    timeline: list[BalancePoint]


def build_report(db: Rows, info: PotInfo, as_of: date | None, today: date) -> PotReport:
    """The report's plain data, from the materialized tables only."""
    # Read the pot's totals in the same snapshot as everything else.
    info = pot_info(db, info.slug) or info
    # Without --as-of the report is as of today and says so: when some event is dated after
    # today (`--today` in the past), count only those up to today, as `--as-of today` would.
    if as_of is None and dated_after(db, info.slug, today):
        as_of = today
    figures = balance(db, info, as_of, today)
    trust = trust_report(db, info.slug, as_of or today)
    items = list(history_items(db, info, until=as_of))
    # A reflection is itself an event of the trail, so as of a past day only those noted by then count.
    noted = reflections_on(db, info.slug, as_of=as_of)
    shown = proposal_details(db, info, as_of)
    return PotReport(
        pot=info.slug,
        name=info.name,
        currency=info.currency,
        digits=info.digits,
        as_of=figures.as_of,
        events=info.events,
        head=info.head,
        counted=len(items),
        balance=figures,
        members=_members(db, info, as_of, figures, trust),
        trust=trust,
        proposals=shown,
        waiting=_waiting(db, info, shown, items, as_of),
        pledges=pledges_report(db, info, as_of or today),
        feelings=_feelings(items, noted),
        history=_history(items, noted, info.digits),
        timeline=_timeline(items),
    )


def _members(
    db: Rows, info: PotInfo, as_of: date | None, figures: BalanceReport, trust: TrustReport
) -> list[MemberLine]:
    money = {m.name: m for m in figures.members}
    points = {m.name: m for m in trust.members}
    lines = []
    for m in member_rows(db, info.slug, as_of):
        share, standing = money.get(m.name), points.get(m.name)
        lines.append(
            MemberLine(
                name=m.name,
                role=m.role,
                joined=m.joined,
                left=m.left,
                contributed=share.contributed if share else format_amount(0, info.digits),
                share_pct=share.share_pct if share else "0.00",
                received=share.received if share else format_amount(0, info.digits),
                trust_total=standing.total if standing else None,
                trust_level=standing.level if standing else None,
            )
        )
    return lines


# The audit trail's items, each with its signed change to the balance (`history_items`).
Trail = Iterable[tuple[dict[str, Any], int]]


def _waiting(
    db: Rows, info: PotInfo, shown: list[ProposalDetail], items: Trail, as_of: date | None
) -> dict[int, list[str]]:
    """Who has not voted on each open proposal: its eligible voters still here, without a ballot."""
    # A rule change (SPEC §8) is voted on like a withdrawal, by the members when it was made.
    proposed = (WITHDRAWAL_PROPOSED, RULE_CHANGE_PROPOSED)
    eligible = {int(item["proposal_no"]): list(item["eligible"]) for item, _ in items if item["type"] in proposed}
    leavers = Leavers(db, info.slug)
    waiting = {}
    for p in shown:
        if p.status == "open":
            voted = {b.member for b in p.ballots}
            waiting[p.no] = [n for n in leavers.still_here(eligible.get(p.no, []), as_of) if n not in voted]
    return waiting


def _feelings(items: Trail, noted: dict[int, list[Reflection]]) -> Feelings:
    """Reflections counted by feeling and by the plain word of the event they are about, most first."""
    kinds = {int(item["no"]): plain_word(item["type"]) for item, _ in items}
    feelings = Counter(r.feeling for found in noted.values() for r in found)
    words = Counter(kinds.get(no, "event") for no, found in noted.items() for _ in found)

    def ranked(counts: Counter[str]) -> list[Count]:
        return [Count(what=k, reflections=n) for k, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))]

    return Feelings(reflections=sum(feelings.values()), by_feeling=ranked(feelings), by_word=ranked(words))


def _history(items: Trail, noted: dict[int, list[Reflection]], digits: int) -> list[HistoryLine]:
    lines = []
    running = 0
    for item, delta in items:
        running += delta
        sign = "+" if delta > 0 else "-"
        lines.append(
            HistoryLine(
                no=item["no"],
                on=date.fromisoformat(item["on"]),
                type=item["type"],
                word=plain_word(item["type"]),
                actor=item["actor"],
                what=describe(item),
                change="" if delta == 0 else sign + format_amount(abs(delta), digits),
                balance_after=format_amount(running, digits),
                digest=item["digest"],
                reflections=noted.get(int(item["no"]), []),
            )
        )
    lines.reverse()
    return lines


def _timeline(items: Trail) -> list[BalancePoint]:
    """The balance at the end of each day with an event; events may be back-dated, so by date, not number."""
    days: dict[date, tuple[int, list[str]]] = {}
    for item, change in sorted(items, key=lambda pair: (pair[0]["on"], pair[0]["no"])):
        on = date.fromisoformat(item["on"])
        delta, marks = days.get(on, (0, []))
        if item["type"] in MONEY_TYPES:
            marks.append(item["type"])
        days[on] = (delta + change, marks)
    ordered = sorted(days.items())
    balances = accumulate(delta for _, (delta, _) in ordered)
    return [
        BalancePoint(on=on, balance_minor=bal, marks=tuple(marks))
        for (on, (_, marks)), bal in zip(ordered, balances, strict=True)
    ]
