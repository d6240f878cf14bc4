"""`pot report`: one self-contained HTML file a crew can open offline or pass around.

`build_report` gathers plain data from the existing queries (balance, members,
trust, proposals, the audit trail with its reflections); `render_html` draws
the charts with matplotlib as inline SVG and fills a jinja2 template with
autoescaping on, so every name, note and reason shows as text. Matplotlib is
imported only here, and this module only by the `report` command.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from decimal import Decimal
from importlib import resources
from io import StringIO
from itertools import accumulate
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict
from sqlalchemy import Connection

from domain import chain
from domain.errors import BadInput
from domain.values import format_amount
from projections.describe import describe
from projections.queries import (
    balance,
    dated_after,
    history_items,
    member_rows,
    pot_info,
    proposal_detail,
    proposal_rows,
)
from projections.reflections import Reflection
from projections.models import BalanceReport, Ballot, PotInfo, ProposalDetail, Votes
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
    # Without --as-of the report is as of today and says so: when some event is dated after
    # today (`--today` in the past), count only those up to today, as `--as-of today` would.
    if as_of is None and dated_after(conn, info.slug, today):
        as_of = today
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
    outcome = {"withdrawal_proposed": "open", "proposal_cancelled": "cancelled", "withdrawal_paid": "paid"}
    for item in items:
        if item["type"] == "proposal_decided":
            status[int(item["proposal_no"])] = str(item["outcome"])
        elif item["type"] in outcome:
            status[int(item["proposal_no"])] = outcome[item["type"]]
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


# --------------------------------------------------------------------------- charts
@contextmanager
def _figure(name: str, width: float, height: float) -> Iterator[tuple[Figure, Axes]]:
    """A matplotlib figure without pyplot (so no global backend or figure registry)."""
    import matplotlib
    from matplotlib.figure import Figure

    with matplotlib.rc_context(
        {
            # Text stays text: readable, searchable, and escaped by matplotlib's SVG writer.
            "svg.fonttype": "none",
            # Element ids are hashes: a salt per chart keeps them unique across the page and stable across runs.
            "svg.hashsalt": f"commonpot-{name}",
            "font.size": 12,
            "font.family": "sans-serif",
            "axes.spines.top": False,
            "axes.spines.right": False,
        }
    ):
        fig = Figure(figsize=(width, height), layout="constrained")
        yield fig, fig.add_subplot()


def _svg(fig: Figure, label: str) -> str:
    """The figure as an `<svg>` element to put inline: no XML prolog, no metadata, sized by CSS."""
    out = StringIO()
    fig.savefig(out, format="svg", metadata={"Date": None})
    text = out.getvalue()
    text = text[text.index("<svg") :]
    text = re.sub(r"\s*<metadata>.*?</metadata>", "", text, count=1, flags=re.S)
    # Width and height in points would fix the size; the viewBox lets it scale to a phone.
    return re.sub(
        r'<svg ([^>]*?)width="[^"]*" height="[^"]*"',
        lambda m: f'<svg {m.group(1)}class="chart" role="img" aria-label="{label}"',
        text,
        count=1,
    )


def _days(points: list[BalancePoint]) -> Any:
    # Matplotlib draws dates natively; its type hints only admit numbers.
    return [p.on for p in points]


def _nothing(ax: Axes, text: str) -> None:
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes, color="#666666")
    ax.set_axis_off()


def balance_chart(r: PotReport) -> str:
    """The balance at the end of each day, with contributions, reversals and payouts marked."""
    from matplotlib.dates import AutoDateLocator, ConciseDateFormatter
    from matplotlib.ticker import FuncFormatter, MaxNLocator

    with _figure("balance", 6.4, 3.2) as (fig, ax):
        points = list(r.timeline)
        if points and points[-1].on < r.as_of:
            points.append(BalancePoint(on=r.as_of, balance_minor=points[-1].balance_minor, marks=()))
        if not points:
            _nothing(ax, "no events yet")
            return _svg(fig, "balance over time")
        # Amounts stay integer minor units; only the axis labels turn them into money.
        ax.step(
            _days(points),
            [p.balance_minor for p in points],
            where="post",
            color="#1565c0",
            linewidth=2,
            label="balance",
        )
        for kind, (label, marker, colour) in MARKED.items():
            marked = [p for p in points if kind in p.marks]
            if marked:
                ax.scatter(
                    _days(marked),
                    [p.balance_minor for p in marked],
                    marker=marker,
                    color=colour,
                    s=36,
                    zorder=3,
                    label=label,
                )
        locator = AutoDateLocator()  # type: ignore[no-untyped-call]
        ax.xaxis.set_major_locator(locator)
        ax.xaxis.set_major_formatter(ConciseDateFormatter(locator))  # type: ignore[no-untyped-call]
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _pos: format_amount(round(v), r.digits)))
        ax.set_ylabel(r.currency)
        ax.set_ylim(bottom=0)
        ax.grid(axis="y", color="#dddddd")
        fig.legend(loc="outside upper center", frameon=False, ncols=4)
        return _svg(fig, "balance over time")


def shares_chart(r: PotReport) -> str:
    """Each member's contributions as a bar, labelled with their share."""
    people = list(reversed(r.balance.members))
    with _figure("shares", 6.4, 0.5 + 0.38 * max(len(people), 1)) as (fig, ax):
        minor = [max(int(Decimal(m.contributed).scaleb(r.digits)), 0) for m in people]
        if not any(minor):
            _nothing(ax, "no contributions yet")
            return _svg(fig, "each member's share of contributions")
        bars = ax.barh([m.name for m in people], minor, color="#2e7d32")
        ax.bar_label(bars, labels=[f"{m.share_pct} %  ({m.contributed})" for m in people], padding=4)
        ax.set_xlim(0, max(minor) * 1.35)
        ax.xaxis.set_visible(False)
        ax.spines["bottom"].set_visible(False)
        return _svg(fig, "each member's share of contributions")


# One colour per trust level, light to dark as the levels deepen.
LEVEL_COLOURS = {1: "#c6dbef", 2: "#6baed6", 3: "#2171b5", 4: "#f16913", 5: "#7f2704"}


def trust_chart(r: PotReport) -> str:
    """Trust points per current member, stacked by level; points lost stack to the left of zero."""
    people = list(reversed(r.trust.members))
    with _figure("trust", 6.4, 1.1 + 0.38 * max(len(people), 1)) as (fig, ax):
        if not any(any(m.points.values()) for m in people):
            _nothing(ax, "no trust points yet")
            return _svg(fig, "trust points per member by level")
        names = [m.name for m in people]
        right = [0] * len(people)
        left = [0] * len(people)
        for level in LEVELS:
            values = [m.points[str(level)] for m in people]
            starts = [right[i] if v >= 0 else left[i] for i, v in enumerate(values)]
            ax.barh(
                names,
                values,
                left=starts,
                color=LEVEL_COLOURS[level],
                label=f"{level} {LEVEL_NAMES[level]}",
            )
            for i, v in enumerate(values):
                if v >= 0:
                    right[i] += v
                else:
                    left[i] += v
        for i, m in enumerate(people):
            ax.annotate(f"{m.total}", (right[i], i), xytext=(4, 0), textcoords="offset points", va="center")
        ax.axvline(0, color="#333333", linewidth=0.8)
        ax.set_xlabel("points")
        ax.set_xlim(min(left) * 1.1 if min(left) < 0 else 0, max(max(right), 1) * 1.12)
        fig.legend(loc="outside upper center", ncols=3, frameon=False, fontsize=10)
        return _svg(fig, "trust points per member by level")


# --------------------------------------------------------------------------- rendering
def render_html(r: PotReport, made_on: date) -> str:
    """The whole page: inline CSS and SVG, no script, every user-supplied string escaped."""
    from jinja2 import Environment, StrictUndefined
    from markupsafe import Markup

    env = Environment(autoescape=True, undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    template = env.from_string(resources.files("ledger").joinpath("report.html.j2").read_text("utf-8"))
    charts = {
        # Matplotlib escapes the text it writes into SVG, so the markup is safe to place as is.
        "balance": Markup(balance_chart(r)),  # noqa: S704
        "shares": Markup(shares_chart(r)),  # noqa: S704
        "trust": Markup(trust_chart(r)),  # noqa: S704
    }
    return template.render(r=r, charts=charts, made_on=made_on, levels=LEVEL_NAMES, short=r.head[: chain.SHORT])


def write_report(ledger: Ledger, slug: str, as_of: date | None, today: date, path: Path) -> Written:
    report = read_report(ledger, slug, as_of, today)
    html = render_html(report, today)
    try:
        path.write_text(html, encoding="utf-8")
    except OSError as e:
        raise BadInput(f"cannot write {path}: {e.strerror or e}") from None
    return Written(
        pot=report.pot, file=str(path), as_of=report.as_of, events=report.events, head=report.head[: chain.SHORT]
    )
