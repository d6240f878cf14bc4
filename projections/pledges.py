"""Pledges and how they are kept (SPEC §1 Pledge): the `pledges` projection's tables and its fold.

Two tables, folded a batch of events at a time: every pledge a member ever set
(`cp_pledges`, one row per `pledge_set`), and every money movement that counts
towards a pledge (`cp_pledge_money`, one signed row per contribution or
reversal, filed under the month of the contribution's value date, with any
declared income). `projections.pledges_report` computes as-of figures from those
tables with SQL sums per member and month; it never replays the log.

The rules (which pledge is in force, what was pledged and kept, the percentages)
are `domain.pledges`'s; this module stores and sums.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

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
    select,
)

from domain.events import ContributionRecorded, ContributionReversed, PledgeSet, PotEvent
from domain.pledges import month_of
from domain.values import name_key
from projections.runner import Slugs, insert_rows
from projections.sql import PLEDGES
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
    name = PLEDGES
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
