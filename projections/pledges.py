"""Pledges and how they are kept (SPEC §1 Pledge): the `pledges` projection and its query.

Two tables, folded a batch of events at a time: every pledge a member ever set
(`cp_pledges`, one row per `pledge_set`), and every money movement that counts
towards a pledge (`cp_pledge_money`, one signed row per contribution or
reversal, filed under the month of the contribution's value date, with any
declared income). `pledges_report` computes as-of figures from those tables
with SQL sums per member and month; it never replays the log.

The rules, as a crew states them:

- The pledge in force for a month is the one set last (by event number) among
  those whose `from` month is on or before it: a new pledge replaces the old
  one from its month on, and history keeps every pledge.
- Pledged to date: for each month from the member's first pledge month through
  the as-of month (or the month they left), a monthly pledge adds its amount; a
  percent pledge adds that percentage of the incomes declared in that month's
  contributions. A month without a declared income adds nothing to a percent
  pledge. Percent amounts are summed exactly and rounded half-up to the cent
  once, at the end.
- Contributed to date: contributions dated on or before the as-of date, net of
  reversals dated on or before it, counted from the member's first pledge
  month (all of them for a member without a pledge).
- fulfilment_pct = contributed ÷ pledged × 100; null when nothing was pledged.
- income_pct (the effective % of declared income contributed) = everything
  the member contributed, within the same window, in the months in which they
  declared an income ÷ the incomes declared in those months × 100; null when
  no income was declared. Contributions without `--income` in such a month
  still count: the month's income is what they were drawn from.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import (
    BigInteger,
    Column,
    Connection,
    Date,
    Index,
    Integer,
    String,
    Table,
    Text,
    bindparam,
    func,
    select,
)

from domain.events import ContributionRecorded, ContributionReversed, PledgeSet, PotEvent
from domain.values import format_amount, name_key
from projections.models import PotInfo
from projections.queries import member_rows
from projections.runner import Slugs, insert_rows
from projections.tables import metadata, pots

pledges = Table(
    "cp_pledges",
    metadata,
    Column("slug", String(48), primary_key=True),
    Column("no", Integer, primary_key=True),
    Column("key", Text, nullable=False),
    Column("kind", String(8), nullable=False),
    Column("percent", String(16)),
    Column("monthly", BigInteger),
    Column("from_month", String(7), nullable=False),
    Column("on", Date, nullable=False),
)
Index("cp_pledges_member", pledges.c.slug, pledges.c.key)

pledge_money = Table(
    "cp_pledge_money",
    metadata,
    Column("slug", String(48), primary_key=True),
    Column("no", Integer, primary_key=True),
    Column("key", Text, nullable=False),
    # "YYYY-MM" of the contribution's value date; a reversal is filed under its contribution's month.
    Column("month", String(7), nullable=False),
    # When the row takes effect for --as-of: the value date, or the day of the reversal.
    Column("on", Date, nullable=False),
    Column("amount", BigInteger, nullable=False),
    Column("income", BigInteger, nullable=False),
    # +1 for a declared income, -1 when its contribution is reversed: a month "has income" when above 0.
    Column("incomes", Integer, nullable=False),
)
Index("cp_pledge_money_member", pledge_money.c.slug, pledge_money.c.key, pledge_money.c.month)

PLEDGE_TABLES = (pledges, pledge_money)

HUNDRED = Decimal(100)
CENT = Decimal("0.01")


@lru_cache(maxsize=4096)
def month_of(day: date) -> str:
    # Cached: a fold asks for every contribution, strftime is slow, and a pot has few distinct days.
    return day.strftime("%Y-%m")


def months_between(first: str, last: str) -> list[str]:
    """Every "YYYY-MM" from `first` through `last`, inclusive (empty when first is later)."""
    start = int(first[:4]) * 12 + int(first[5:]) - 1
    end = int(last[:4]) * 12 + int(last[5:]) - 1
    return [f"{i // 12:04d}-{i % 12 + 1:02d}" for i in range(start, end + 1)]


class PledgesProjection:
    name = "pledges"
    tables: tuple[Table, ...] = PLEDGE_TABLES

    def __init__(self) -> None:
        # Core's pots table: the core projection runs first in Ledger.projections, so the pot's row is there.
        self._slugs = Slugs(pots.c.pot_id, pots.c.slug)

    def apply_all(self, conn: Connection, events: Sequence[PotEvent]) -> None:
        """Fold a batch, inserting its rows in one go at the end; nothing in the fold reads `cp_pledges`."""
        new_pledges: list[dict[str, Any]] = []
        # (slug, no) -> row, in event order, so a reversal finds a contribution from the same batch.
        money: dict[tuple[str, int], dict[str, Any]] = {}
        for event in events:
            match event:
                case PledgeSet():
                    new_pledges.append(
                        {
                            "slug": self._slugs.of(conn, event),
                            "no": event.no,
                            "key": name_key(event.member),
                            "kind": event.kind,
                            "percent": event.percent,
                            "monthly": event.monthly_minor,
                            "from_month": event.from_month,
                            "on": event.on,
                        }
                    )
                case ContributionRecorded():
                    slug = self._slugs.of(conn, event)
                    income = event.income_minor
                    money[(slug, event.no)] = {
                        "slug": slug,
                        "no": event.no,
                        "key": name_key(event.member),
                        "month": month_of(event.on),
                        "on": event.on,
                        "amount": event.amount_minor,
                        "income": income or 0,
                        "incomes": 0 if income is None else 1,
                    }
                case ContributionReversed():
                    slug = self._slugs.of(conn, event)
                    original = money.get((slug, event.contribution_no))
                    if original is None:
                        original = dict(
                            conn.execute(_money_row, {"s": slug, "b_no": event.contribution_no}).mappings().one()
                        )
                    money[(slug, event.no)] = {
                        "slug": slug,
                        "no": event.no,
                        "key": original["key"],
                        "month": original["month"],
                        "on": event.on,
                        "amount": -int(original["amount"]),
                        "income": -int(original["income"]),
                        "incomes": -int(original["incomes"]),
                    }
        insert_rows(conn, pledges, new_pledges)
        insert_rows(conn, pledge_money, list(money.values()))


# Built once: building a statement per event costs more than running it.
_money_row = select(pledge_money).where(pledge_money.c.slug == bindparam("s"), pledge_money.c.no == bindparam("b_no"))


# --------------------------------------------------------------------------- report
class PledgeTerms(BaseModel):
    """The pledge in force: `value` is the percent ("10.00", "7.50") or the monthly amount ("50.00")."""

    model_config = ConfigDict(frozen=True, populate_by_name=True, serialize_by_alias=True, defer_build=True)
    kind: str
    value: str
    from_month: str = Field(serialization_alias="from")


class MemberPledge(BaseModel):
    model_config = ConfigDict(frozen=True, defer_build=True)
    name: str
    pledge: PledgeTerms | None
    pledged: str
    contributed: str
    fulfilment_pct: str | None
    income_pct: str | None
    # Not part of the JSON contract: months a percent pledge was in force without a declared income.
    months_without_income: list[str] = Field(default_factory=list, exclude=True)


class PledgesReport(BaseModel):
    model_config = ConfigDict(frozen=True, defer_build=True)
    pot: str
    as_of: date
    members: list[MemberPledge]


def percent_of(part: int, whole: int) -> str | None:
    """`part` as a percentage of `whole`, two decimals; None when `whole` is zero (never divide by it)."""
    if whole == 0:
        return None
    return str((Decimal(part) * HUNDRED / Decimal(whole)).quantize(CENT, rounding=ROUND_HALF_UP))


def pledges_report(conn: Connection, info: PotInfo, as_of: date) -> PledgesReport:
    slug, digits = info.slug, info.digits
    history: dict[str, list[tuple[str, str | None, int | None, str]]] = defaultdict(list)
    for row in conn.execute(
        select(pledges.c.key, pledges.c.kind, pledges.c.percent, pledges.c.monthly, pledges.c.from_month)
        .where(pledges.c.slug == slug, pledges.c.on <= as_of)
        .order_by(pledges.c.no)
    ):
        history[row[0]].append((row[1], row[2], None if row[3] is None else int(row[3]), row[4]))
    # key -> month -> (contributed, declared income, number of declared incomes)
    money: dict[str, dict[str, tuple[int, int, int]]] = defaultdict(dict)
    for key, month, amount, income, incomes in conn.execute(
        select(
            pledge_money.c.key,
            pledge_money.c.month,
            func.sum(pledge_money.c.amount),
            func.sum(pledge_money.c.income),
            func.sum(pledge_money.c.incomes),
        )
        .where(pledge_money.c.slug == slug, pledge_money.c.on <= as_of)
        .group_by(pledge_money.c.key, pledge_money.c.month)
    ):
        money[key][month] = (int(amount), int(income), int(incomes))

    rows = []
    for member in member_rows(conn, slug, as_of):
        key = name_key(member.name)
        last = month_of(member.left if member.left is not None else as_of)
        rows.append(
            _member_figures(member.name, history.get(key, []), money.get(key, {}), month_of(as_of), last, digits)
        )
    return PledgesReport(pot=slug, as_of=as_of, members=rows)


def _member_figures(
    name: str,
    pledged_terms: list[tuple[str, str | None, int | None, str]],
    months: dict[str, tuple[int, int, int]],
    as_of_month: str,
    last_month: str,
    digits: int,
) -> MemberPledge:
    def in_force(month: str) -> tuple[str, str | None, int | None, str] | None:
        # Set last among those started by `month`: a later pledge replaces earlier ones from its month.
        started = [p for p in pledged_terms if p[3] <= month]
        return started[-1] if started else None

    pledged = Decimal(0)
    without_income: list[str] = []
    first = min((p[3] for p in pledged_terms), default=None)
    if first is not None:
        for month in months_between(first, last_month):
            terms = in_force(month)
            if terms is None:
                continue
            kind, percent, monthly, _ = terms
            if kind == "monthly" and monthly is not None:
                pledged += monthly
            elif percent is not None:
                _, income, incomes = months.get(month, (0, 0, 0))
                if incomes > 0:
                    pledged += Decimal(percent) * income / HUNDRED
                else:
                    without_income.append(month)
    pledged_minor = int(pledged.quantize(Decimal(1), rounding=ROUND_HALF_UP))

    # Only the pledge period counts: a crew asks "since you pledged, did you give what you said?",
    # and money given before any pledge would make that look better than it is.
    window = {m: v for m, v in months.items() if first is None or m >= first}
    contributed = sum(v[0] for v in window.values())
    with_income = [v for v in window.values() if v[2] > 0]
    income_contributed = sum(v[0] for v in with_income)
    declared = sum(v[1] for v in with_income)

    shown = in_force(as_of_month)
    terms_shown = None
    if shown is not None:
        kind, percent, monthly, from_month = shown
        if kind == "percent":
            # The event keeps the percent as typed, trailing zeros dropped ("7.5"); SPEC §4
            # shows percentages with two decimals. The pot allows no more, so nothing rounds.
            value = "" if percent is None else str(Decimal(percent).quantize(CENT))
        else:
            value = format_amount(monthly or 0, digits)
        terms_shown = PledgeTerms(kind=kind, value=value, from_month=from_month)
    return MemberPledge(
        name=name,
        pledge=terms_shown,
        pledged=format_amount(pledged_minor, digits),
        contributed=format_amount(contributed, digits),
        fulfilment_pct=percent_of(contributed, pledged_minor),
        income_pct=percent_of(income_contributed, declared),
        months_without_income=without_income,
    )
