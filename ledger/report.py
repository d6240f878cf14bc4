"""`pot report`: one self-contained HTML file a crew can open offline or pass around.

`build_report` gathers plain data from the existing queries (balance, members,
trust, proposals, the audit trail with its reflections); `render_html` draws
the charts with matplotlib as inline SVG and fills a jinja2 template with
autoescaping on, so every name, note and reason shows as text. Matplotlib is
imported only here, and this module only by the `report` command.
"""

from __future__ import annotations

import re
from contextlib import contextmanager
from datetime import date
from importlib import resources
from io import StringIO
from itertools import accumulate
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict
from sqlalchemy import Connection

from domain.errors import BadInput
from domain.values import format_amount
from projections.describe import describe
from projections.queries import balance, history_items, member_rows, pot_info, proposal_detail, proposal_rows
from projections.reflections import Reflection
from projections.reports import BalanceReport, Ballot, PotInfo, ProposalDetail, Votes
from projections.trust import LEVELS, TrustReport, trust_report

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from ledger.app import Ledger

# What each trust level is, as `pot trust` heads its columns.
LEVEL_NAMES = {1: "listening", 2: "money", 3: "consistency", 4: "conflict", 5: "co-owners"}
# The event types marked on the balance chart, and how.
MARKED = {
    "contribution_recorded": ("contribution", "^", "#2e7d32"),
    "contribution_reversed": ("reversal", "x", "#ef6c00"),
    "withdrawal_paid": ("payout", "v", "#c62828"),
}
POSITIONS = ("agree", "abstain", "disagree", "block")


class Plain(BaseModel):
    model_config = ConfigDict(frozen=True)


class MemberLine(Plain):
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


class HistoryLine(Plain):
    no: int
    on: date
    type: str
    actor: str
    what: str
    # Signed change to the balance ("+25.00", "-120.00"), empty when there is none.
    change: str
    balance_after: str
    digest: str
    reflections: list[Reflection]


class BalancePoint(Plain):
    """The balance at the end of a day, and what moved money that day."""

    on: date
    balance_minor: int
    marks: tuple[str, ...]


class PotReport(Plain):
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
    # Newest first.
    history: list[HistoryLine]
    # In date order.
    timeline: list[BalancePoint]


class Written(Plain):
    """What `pot report --json` prints about the file it wrote."""

    pot: str
    file: str
    as_of: date
    events: int
    head: str


# --------------------------------------------------------------------------- building
def build_report(conn: Connection, info: PotInfo, as_of: date | None, today: date) -> PotReport:
    """The report's plain data, from the materialized tables only."""
    # Read the pot's totals in the same snapshot as everything else.
    info = pot_info(conn, info.slug) or info
    day = as_of or today
    figures = balance(conn, info, as_of, today)
    trust = trust_report(conn, info.slug, day)
    items = list(history_items(conn, info, until=as_of))
    trail = [item for item, _ in items]
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
        members=_members(conn, info, as_of, figures, trust),
        trust=trust,
        proposals=_proposals(conn, info, as_of, trail),
        history=_history(items, info.digits),
        timeline=_timeline(items),
    )


def _members(
    conn: Connection, info: PotInfo, as_of: date | None, figures: BalanceReport, trust: TrustReport
) -> list[MemberLine]:
    money = {m.name: m for m in figures.members}
    points = {m.name: m for m in trust.members}
    lines = []
    for m in member_rows(conn, info.slug, as_of):
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


def _proposals(
    conn: Connection, info: PotInfo, as_of: date | None, items: list[dict[str, Any]]
) -> list[ProposalDetail]:
    """Every proposal with its ballots; as of a past day, its status and votes on that day."""
    found = [d for row in proposal_rows(conn, info) if (d := proposal_detail(conn, info, row.no)) is not None]
    if as_of is None:
        return found
    status: dict[int, str] = {}
    for item in items:
        no = item.get("proposal_no")
        match item["type"]:
            case "withdrawal_proposed":
                status[no] = "open"
            case "proposal_decided":
                status[no] = str(item["outcome"])
            case "proposal_cancelled":
                status[no] = "cancelled"
            case "withdrawal_paid":
                status[no] = "paid"
    shown = []
    for d in found:
        if d.no not in status:
            continue
        cast = [b for b in d.ballots if b.on <= as_of]
        shown.append(d.model_copy(update={"status": status[d.no], "ballots": cast, "votes": _tally(cast)}))
    return shown


def _tally(cast: list[Ballot]) -> Votes:
    # A member may change their vote while the proposal is open: the latest counts.
    latest = {b.member: b.position for b in cast}
    return Votes(**{p: sum(1 for v in latest.values() if v == p) for p in POSITIONS})


Trail = list[tuple[dict[str, Any], int]]


def _history(items: Trail, digits: int) -> list[HistoryLine]:
    # A reflection is itself an event of the trail, so as of a past day only those noted by then count.
    noted: dict[int, list[Reflection]] = {}
    for item, _ in items:
        if item["type"] == "reflection_noted":
            noted.setdefault(int(item["event_no"]), []).append(
                Reflection(member=item["member"], feeling=item["feeling"], note=item["note"])
            )
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
        if item["type"] in MARKED:
            marks.append(item["type"])
        days[on] = (delta + change, marks)
    ordered = sorted(days.items())
    balances = accumulate(delta for _, (delta, _) in ordered)
    return [
        BalancePoint(on=on, balance_minor=bal, marks=tuple(marks))
        for (on, (_, marks)), bal in zip(ordered, balances, strict=True)
    ]


def read_report(ledger: Ledger, slug: str, as_of: date | None, today: date) -> PotReport:
    with ledger.read() as conn:
        info = pot_info(conn, slug)
        if info is None:
            raise BadInput(f"there is no pot {slug!r}")
        return build_report(conn, info, as_of, today)
