"""Pledges and how they are kept (SPEC §1 Pledge): the `pledges` projection and its query.

Two tables, folded a batch of events at a time: every pledge a member ever set
(`cp_pledges`, one row per `pledge_set`), and every money movement that counts
towards a pledge (`cp_pledge_money`, one signed row per contribution or
reversal, filed under the month of the contribution's value date, with any
declared income). `pledges_report` computes as-of figures from those tables
with SQL sums per member and month; it never replays the log.

The rules (which pledge is in force, what was pledged and kept, the percentages)
are `domain.pledges`'s; this module stores and sums.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import date
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
from domain.pledges import MonthMoney, Terms, in_force, kept_to_date, month_of, shown_percent
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


def pledges_report(conn: Connection, info: PotInfo, as_of: date) -> PledgesReport:
    slug, digits = info.slug, info.digits
    history: dict[str, list[Terms]] = defaultdict(list)
    # Every pledge, whenever it was typed: one counts from its `from` month (domain.pledges), so
    # a pledge set in November from January shows as of June.
    for row in conn.execute(
        select(pledges.c.key, pledges.c.kind, pledges.c.percent, pledges.c.monthly, pledges.c.from_month)
        .where(pledges.c.slug == slug)
        .order_by(pledges.c.no)
    ):
        history[row[0]].append(Terms(row[1], row[2], None if row[3] is None else int(row[3]), row[4]))
    money: dict[str, dict[str, MonthMoney]] = defaultdict(dict)
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
        money[key][month] = MonthMoney(int(amount), int(income), int(incomes))

    rows = []
    # Back-dated money counts by its value date, as in `balance`: a member whose money is dated
    # before they joined is shown as of that date too, and so is one whose pledge had started.
    started = {key for key, terms in history.items() if any(t.from_month <= month_of(as_of) for t in terms)}
    for member in member_rows(conn, slug, as_of, with_keys=set(money) | started):
        key = name_key(member.name)
        last = month_of(member.left if member.left is not None else as_of)
        rows.append(
            _member_figures(member.name, history.get(key, []), money.get(key, {}), month_of(as_of), last, digits)
        )
    return PledgesReport(pot=slug, as_of=as_of, members=rows)


def _member_figures(
    name: str, pledged: list[Terms], months: dict[str, MonthMoney], as_of_month: str, last_month: str, digits: int
) -> MemberPledge:
    kept = kept_to_date(pledged, months, last_month)
    shown = in_force(pledged, as_of_month)
    terms_shown = None
    # A stopped pledge shows as none, as if there never was one.
    if shown is not None and shown.kind != "none":
        # The event keeps the percent as typed, trailing zeros dropped ("7.5"); SPEC §4 shows two decimals.
        value = (
            shown_percent(shown.percent) if shown.kind == "percent" else format_amount(shown.monthly_minor or 0, digits)
        )
        terms_shown = PledgeTerms(kind=shown.kind, value=value, from_month=shown.from_month)
    return MemberPledge(
        name=name,
        pledge=terms_shown,
        pledged=format_amount(kept.pledged, digits),
        contributed=format_amount(kept.contributed, digits),
        fulfilment_pct=kept.fulfilment_pct,
        income_pct=kept.income_pct,
        months_without_income=kept.months_without_income,
    )
