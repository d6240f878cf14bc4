"""`pot report`: one self-contained HTML file a crew can open offline or pass around.

The report's data is a query on the read side (`projections.report.build_report`);
this module turns it into a page, as the exports in `ledger/` turn a pot into
files: `render_html` draws the charts with matplotlib as inline SVG and fills
the jinja2 template `report.html.j2` with autoescaping on, so every name, note
and reason shows as text. Matplotlib is imported only here, and this module
only by the `report` command.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from importlib import resources
from io import StringIO
from pathlib import Path
from typing import TYPE_CHECKING, Any

from domain import chain
from domain.errors import BadInput
from domain.events import ContributionRecorded, ContributionReversed, WithdrawalPaid
from domain.game import LEVEL_NAMES, LEVELS
from domain.values import format_amount
from projections.queries import pot_info
from projections.report import BalancePoint, PotReport, build_report

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from ledger.app import Ledger

# What each trust level is, as `pot trust` heads its columns.
# How the balance chart marks the money-moving events (`BalancePoint.marks`), in legend order.
MARKED = {
    ContributionRecorded.TYPE: ("contribution", "^", "#2e7d32"),
    ContributionReversed.TYPE: ("reversal", "x", "#ef6c00"),
    WithdrawalPaid.TYPE: ("payout", "v", "#c62828"),
    "withdrawal_refunded": ("money back", "^", "#1565c0"),
}


@dataclass(frozen=True, kw_only=True, slots=True)
class Written:
    """What `pot report --json` prints about the file it wrote."""

    pot: str
    file: str
    as_of: date
    events: int
    head: str


def read_report(ledger: Ledger, slug: str, as_of: date | None, today: date) -> PotReport:
    """The report's data, read from the views in one snapshot."""
    with ledger.read() as conn:
        info = pot_info(conn, slug)
        if info is None:
            raise BadInput(f"there is no pot {slug!r}")
        return build_report(conn, info, as_of, today)


# --------------------------------------------------------------------------- charts
# Each chart is drawn twice: for a wide screen, and narrower for a phone, where the page
# shows that one instead (CSS). Scaled to a 390 px phone's ~370 px, the narrow one's
# 3.6 in (259 pt) keeps its 11 pt text above 11 CSS px; the wide one at 6.4 in would shrink it to 9.
WIDE, NARROW = 6.4, 3.6
# Text sizes in points: nothing smaller, so a chart stays readable at either width.
FONT = {WIDE: 12, NARROW: 11}
LEGEND = 11


@contextmanager
def _figure(name: str, width: float, height: float) -> Iterator[tuple[Figure, Axes]]:
    """A matplotlib figure without pyplot (so no global backend or figure registry)."""
    import matplotlib
    from matplotlib.figure import Figure

    with matplotlib.rc_context(
        {
            # Text stays text: readable, searchable, and escaped by matplotlib's SVG writer.
            "svg.fonttype": "none",
            # Names are forever and may hold `$`, `^` or `\`: every text artist made in this context (tick labels
            # included, which are made while saving, still inside it) draws its string as typed, never as mathtext
            # or through a TeX run, so no name can break or restyle a chart.
            "text.parse_math": False,
            "text.usetex": False,
            # Element ids are hashes: a salt per chart keeps them unique across the page and stable across runs.
            "svg.hashsalt": f"commonpot-{name}-{width}",
            "font.size": FONT.get(width, 12),
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


def balance_chart(r: PotReport, width: float = WIDE) -> str:
    """The balance at the end of each day, with contributions, reversals and payouts marked."""
    from matplotlib.dates import AutoDateLocator, ConciseDateFormatter
    from matplotlib.ticker import FuncFormatter, MaxNLocator

    with _figure("balance", width, 3.2 if width == WIDE else 3.0) as (fig, ax):
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
        # Fewer date ticks on a narrow chart, so its labels do not overlap.
        locator = AutoDateLocator(maxticks=8 if width == WIDE else 4)  # type: ignore[no-untyped-call]
        ax.xaxis.set_major_locator(locator)
        ax.xaxis.set_major_formatter(ConciseDateFormatter(locator))  # type: ignore[no-untyped-call]
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _pos: format_amount(round(v), r.digits)))
        ax.set_ylabel(r.currency)
        ax.set_ylim(bottom=0)
        ax.grid(axis="y", color="#dddddd")
        fig.legend(loc="outside upper center", frameon=False, ncols=4 if width == WIDE else 2, fontsize=LEGEND)
        return _svg(fig, "balance over time")


def shares_chart(r: PotReport, width: float = WIDE) -> str:
    """Each member's contributions as a bar, labelled with their share."""
    people = list(reversed(r.balance.members))
    with _figure("shares", width, 0.5 + 0.38 * max(len(people), 1)) as (fig, ax):
        minor = [max(int(Decimal(m.contributed).scaleb(r.digits)), 0) for m in people]
        if not any(minor):
            _nothing(ax, "no contributions yet")
            return _svg(fig, "each member's share of contributions")
        bars = ax.barh([m.name for m in people], minor, color="#2e7d32")
        # On a phone only the share fits beside the bar; the amounts are in the members table.
        shown = [f"{m.share_pct} %  ({m.contributed})" if width == WIDE else f"{m.share_pct} %" for m in people]
        ax.bar_label(bars, labels=shown, padding=4)
        ax.set_xlim(0, max(minor) * (1.35 if width == WIDE else 1.45))
        ax.xaxis.set_visible(False)
        ax.spines["bottom"].set_visible(False)
        return _svg(fig, "each member's share of contributions")


# One colour per trust level, light to dark as the levels deepen.
LEVEL_COLOURS = {1: "#c6dbef", 2: "#6baed6", 3: "#2171b5", 4: "#f16913", 5: "#7f2704"}


def trust_chart(r: PotReport, width: float = WIDE) -> str:
    """Trust points per current member, stacked by level; points lost stack to the left of zero."""
    people = list(reversed(r.trust.members))
    legend_rows = 2 if width == WIDE else 3
    with _figure("trust", width, 0.8 + 0.2 * legend_rows + 0.38 * max(len(people), 1)) as (fig, ax):
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
        fig.legend(loc="outside upper center", ncols=3 if width == WIDE else 2, frameon=False, fontsize=LEGEND)
        return _svg(fig, "trust points per member by level")


# --------------------------------------------------------------------------- rendering
def render_html(r: PotReport, made_on: date) -> str:
    """The whole page: inline CSS and SVG, no script, every user-supplied string escaped."""
    from jinja2 import Environment, StrictUndefined
    from markupsafe import Markup

    env = Environment(autoescape=True, undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    template = env.from_string(resources.files("ledger").joinpath("report.html.j2").read_text("utf-8"))
    # Matplotlib escapes the text it writes into SVG, so the markup is safe to place as is.
    charts = {
        name: {
            "wide": Markup(draw(r, WIDE)),  # noqa: S704
            "narrow": Markup(draw(r, NARROW)),  # noqa: S704
        }
        for name, draw in (("balance", balance_chart), ("shares", shares_chart), ("trust", trust_chart))
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
