"""Pledge arithmetic (SPEC §1 Pledge) and the calendar months it and trust count in.

Pure functions over plain values: what a pledge is (`check_pledge_terms`), which
pledge is in force in a month, what was pledged and kept to date, and the
percentages `pot pledges` shows. Month arithmetic lives here once: a month is
"YYYY-MM" where people read or type it, and a month index (year * 12 + month - 1)
where months are counted, so that months subtract. `projections.pledges` and
`projections.trust` store the figures; the rules are here.

The rules, as a crew states them:

- The pledge in force for a month is the one set last (by event number) among
  those whose `from` month is on or before it: a new pledge replaces the old
  one from its month on, and history keeps every pledge. A pledge counts from
  its `from` month whenever it was typed (it is the member saying what they
  meant): `pledges --as-of` a day in that month shows it even if it was set
  later. A stop (kind `none`) is in force like any pledge and pledges nothing.
- Pledged to date: for each month from the member's first pledge month through
  the as-of month (or the month they left), a monthly pledge adds its amount (the
  as-of month counts in full from its first day, so as of 2026-03-31 March
  counts, as SPEC §1's complete-month rule asks, and already as of 2026-03-01); a
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

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache
from typing import NamedTuple

from domain.errors import BadInput
from domain.values import EARLIEST, LATEST

HUNDRED = Decimal(100)
CENT = Decimal("0.01")


# --------------------------------------------------------------------------- months
@lru_cache(maxsize=4096)
def month_of(day: date) -> str:
    """The "YYYY-MM" a day falls in."""
    # Cached: a fold asks for every contribution, strftime is slow, and a pot has few distinct days.
    return day.strftime("%Y-%m")


def month_index(day: date) -> int:
    """The day's month as year * 12 + month - 1, so that months subtract."""
    return day.year * 12 + day.month - 1


def index_of(month: str) -> int:
    """The index of a "YYYY-MM" month (see `month_index`)."""
    return int(month[:4]) * 12 + int(month[5:]) - 1


def month_named(index: int) -> str:
    """The "YYYY-MM" of a month index."""
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def months_between(first: str, last: str) -> list[str]:
    """Every "YYYY-MM" from `first` through `last`, inclusive (empty when first is later)."""
    return [month_named(i) for i in range(index_of(first), index_of(last) + 1)]


def complete_before(day: date) -> int:
    """The index of the first month not yet complete at the end of `day`.

    A month is complete at the end of its last day (SPEC §1 edge cases): as of
    2026-03-31 March is complete, as of 2026-03-30 it is not.
    """
    if day >= date.max:
        return month_index(day) + 1
    return month_index(day + timedelta(days=1))


def first_whole_month(joined: date) -> int:
    """The index of the first month a member who joined on `joined` was a member for in full.

    Joining on the 1st makes that month the first; joining later in a month, the next one.
    """
    return month_index(joined) if joined.day == 1 else month_index(joined) + 1


# --------------------------------------------------------------------------- what a pledge is
def check_pledge_terms(
    percent: Decimal | None, monthly_minor: int | None, from_month: str, *, stop: bool = False
) -> None:
    """What a pledge is (SPEC §1 Pledge), whatever the day: `set_pledge` and an import check it alike.

    A stop (`--stop`) has neither a percent nor a monthly amount, only its month.
    """
    if stop and (percent is not None or monthly_minor is not None):
        raise BadInput("--stop ends a pledge: give it without --percent or --monthly")
    if not stop and (percent is None) == (monthly_minor is None):
        raise BadInput("give exactly one of --percent and --monthly (or --stop)")
    # is_finite first: comparing a NaN Decimal raises instead of answering.
    if percent is not None and not (
        percent.is_finite() and 0 < percent <= 100 and percent == percent.quantize(Decimal("0.01"))
    ):
        raise BadInput(f"percent {percent} must be above 0 and at most 100, with at most two decimals")
    if monthly_minor is not None and monthly_minor <= 0:
        raise BadInput("a monthly pledge must be above zero")
    if not re.fullmatch(r"[0-9]{4}-(0[1-9]|1[0-2])", from_month, re.ASCII):
        raise BadInput(f"pledge month {from_month!r} is not a month: use YYYY-MM, e.g. 2026-01")
    # The same years a typed date may have (domain.values.parse_date).
    if from_month < month_of(EARLIEST):
        raise BadInput(f"pledge month {from_month} is before {EARLIEST.year}: check the year")
    if from_month > month_of(LATEST):
        raise BadInput(f"pledge month {from_month} is after {LATEST.year}: check the year")


# --------------------------------------------------------------------------- what was pledged and kept
class Terms(NamedTuple):
    """One pledge as set: `percent` as stored ("10", "7.5") or `monthly_minor`, from a "YYYY-MM" month."""

    kind: str
    percent: str | None
    monthly_minor: int | None
    from_month: str


class MonthMoney(NamedTuple):
    """One member's money in one month: contributed (net of reversals), incomes declared, and how many."""

    contributed: int
    income: int
    # Declared incomes net of reversed ones: the month "has an income" when above zero.
    incomes: int


NO_MONEY = MonthMoney(0, 0, 0)


def in_force(pledged: Sequence[Terms], month: str) -> Terms | None:
    """The pledge in force in `month`: set last (in `pledged`'s order) among those started by then.

    A new pledge replaces the old ones from its month on; history keeps them all.
    """
    started = [p for p in pledged if p.from_month <= month]
    return started[-1] if started else None


@dataclass(frozen=True)
class Kept:
    """One member's pledge figures to date, in minor units."""

    pledged: int
    contributed: int
    # What was given in the months with a declared income, and those incomes.
    income_contributed: int
    declared: int
    # Months a percent pledge was in force without a declared income: it adds nothing for them.
    months_without_income: list[str]

    @property
    def fulfilment_pct(self) -> str | None:
        return percent_of(self.contributed, self.pledged)

    @property
    def income_pct(self) -> str | None:
        return percent_of(self.income_contributed, self.declared)


def kept_to_date(pledged: Sequence[Terms], months: Mapping[str, MonthMoney], last_month: str) -> Kept:
    """Pledged and contributed from the first pledge month through `last_month`.

    A monthly pledge adds its amount each month; a percent pledge its share of
    the incomes declared that month, nothing in a month without one. Percent
    amounts are summed exactly and rounded half-up to the minor unit once, at the end.
    """
    total = Decimal(0)
    without_income: list[str] = []
    # A pledge that starts after `last_month` (set ahead) or a stop pledges nothing yet.
    first = min((p.from_month for p in pledged if p.kind != "none" and p.from_month <= last_month), default=None)
    if first is not None:
        for month in months_between(first, last_month):
            terms = in_force(pledged, month)
            if terms is None:
                continue
            if terms.kind == "monthly" and terms.monthly_minor is not None:
                total += terms.monthly_minor
            elif terms.percent is not None:
                money = months.get(month, NO_MONEY)
                if money.incomes > 0:
                    total += Decimal(terms.percent) * money.income / HUNDRED
                else:
                    without_income.append(month)
    # Only the pledge period counts: a crew asks "since you pledged, did you give what you said?",
    # and money given before any pledge would make that look better than it is.
    window = [v for m, v in months.items() if first is None or m >= first]
    with_income = [v for v in window if v.incomes > 0]
    return Kept(
        pledged=int(total.quantize(Decimal(1), rounding=ROUND_HALF_UP)),
        contributed=sum(v.contributed for v in window),
        income_contributed=sum(v.contributed for v in with_income),
        declared=sum(v.income for v in with_income),
        months_without_income=without_income,
    )


def percent_of(part: int, whole: int) -> str | None:
    """`part` as a percentage of `whole`, two decimals; None when `whole` is zero (never divide by it)."""
    if whole == 0:
        return None
    return str((Decimal(part) * HUNDRED / Decimal(whole)).quantize(CENT, rounding=ROUND_HALF_UP))


def shown_percent(percent: str | None) -> str:
    """A stored pledge percent ("7.5") with the two decimals SPEC §4 shows ("7.50")."""
    # The pot allows no more than two decimals, so nothing rounds.
    return "" if percent is None else str(Decimal(percent).quantize(CENT))
