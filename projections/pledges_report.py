"""Pledges and how they are kept (SPEC §1 Pledge): the query over the `pledges` projection's tables.

`projections.pledges` folds every pledge a member set and every money movement that
counts towards one; `pledges_report` computes as-of figures from those tables with
SQL sums per member and month (plain SQL, `projections.sql`); it never replays the log.
The rules (which pledge is in force, what was pledged and kept, the percentages) are
`domain.pledges`'s.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date

from domain.pledges import MonthMoney, Terms, in_force, kept_to_date, month_of, shown_percent
from domain.values import format_amount, name_key
from projections.models import HIDE, JSON_NAME, PotInfo
from projections.queries import member_rows
from projections.sql import Rows


@dataclass(frozen=True, kw_only=True, slots=True)
class PledgeTerms:
    """The pledge in force: `value` is the percent ("10.00", "7.50") or the monthly amount ("50.00")."""

    kind: str
    value: str
    from_month: str = field(metadata={JSON_NAME: "from"})


@dataclass(frozen=True, kw_only=True, slots=True)
class MemberPledge:
    name: str
    pledge: PledgeTerms | None
    pledged: str
    contributed: str
    fulfilment_pct: str | None
    income_pct: str | None
    # Not part of the JSON contract: months a percent pledge was in force without a declared income.
    months_without_income: list[str] = field(default_factory=list, metadata=HIDE)


@dataclass(frozen=True, kw_only=True, slots=True)
class PledgesReport:
    pot: str
    as_of: date
    members: list[MemberPledge]


def pledges_report(db: Rows, info: PotInfo, as_of: date) -> PledgesReport:
    slug, digits = info.slug, info.digits
    history: dict[str, list[Terms]] = defaultdict(list)
    # Every pledge, whenever it was typed: one counts from its `from` month (domain.pledges), so
    # a pledge set in November from January shows as of June.
    for key, kind, percent, monthly, from_month in db.all(
        "SELECT key, kind, percent, monthly, from_month FROM cp_pledges WHERE slug = ? ORDER BY no", slug
    ):
        history[key].append(Terms(kind, percent, None if monthly is None else int(monthly), from_month))
    money: dict[str, dict[str, MonthMoney]] = defaultdict(dict)
    for key, month, amount, income, incomes in db.all(
        "SELECT key, month, SUM(amount), SUM(income), SUM(incomes) FROM cp_pledge_money"
        ' WHERE slug = ? AND "on" <= ? GROUP BY key, month',
        slug,
        as_of,
    ):
        money[key][month] = MonthMoney(int(amount), int(income), int(incomes))

    rows = []
    # Back-dated money counts by its value date, as in `balance`: a member whose money is dated
    # before they joined is shown as of that date too, and so is one whose pledge had started.
    started = {key for key, terms in history.items() if any(t.from_month <= month_of(as_of) for t in terms)}
    for member in member_rows(db, slug, as_of, with_keys=set(money) | started):
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
