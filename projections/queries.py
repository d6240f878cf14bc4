"""Queries over the materialized tables: never a replay of the log.

Current figures come straight from the running totals; `--as-of` figures (and
today's, when some event is dated after today) are sums over the indexed
audit-trail rows dated on or before that day. Plain SQL on a `projections.sql.Rows`,
so the CLI's quick read and the ledger run the same statements (issue 22).
Proposals, ballots and payouts are read in `projections.proposal_queries`.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterator
from datetime import date
from typing import Any

from domain.values import format_amount
from domain.vocabulary import (
    CONTRIBUTION_TYPES,
    GAME_PLAYED,
    PAYOUT_TYPES,
    PLEDGE_SET,
    WITHDRAWAL_PROPOSED,
)
from projections.models import BalanceReport, MemberRow, MemberShare, PotInfo
from projections.shares import largest_remainder
from projections.sql import Rows, day, like_pattern, marks, maybe_day

_POT_COLUMNS = "slug, name, currency, digits, quorum, voting_days, events, head"


def pot_slugs(db: Rows) -> list[str]:
    return [row[0] for row in db.all("SELECT slug FROM cp_pots ORDER BY slug")]


def pot_names(db: Rows) -> list[tuple[str, str]]:
    """Every pot in the store as (slug, display name)."""
    return [(row[0], row[1]) for row in db.all("SELECT slug, name FROM cp_pots ORDER BY slug")]


def pot_info(db: Rows, slug: str) -> PotInfo | None:
    row = db.first(f"SELECT {_POT_COLUMNS} FROM cp_pots WHERE slug = ?", slug)
    return None if row is None else PotInfo(**row)


def _member(r: dict[str, Any], as_of: date | None) -> MemberRow:
    left = maybe_day(r["left"])
    return MemberRow(
        name=r["name"],
        role=r["role"],
        joined=day(r["joined"]),
        left=left if as_of is None or (left is not None and left <= as_of) else None,
    )


_MEMBERS = 'SELECT name, role, joined, "left" FROM cp_members WHERE slug = ?'


def member_rows(db: Rows, slug: str, as_of: date | None = None, *, with_keys: Collection[str] = ()) -> list[MemberRow]:
    """The members who had joined by `as_of` (all, without it), and those whose name keys are `with_keys`.

    `with_keys` brings in members whose back-dated money or games are dated before they joined,
    so that every view counts by value date alike (SPEC §1 edge cases).
    """
    sql, params = _MEMBERS, [slug]
    if as_of is not None:
        keys = sorted(with_keys)
        sql += f" AND (joined <= ? OR key IN ({marks(keys)}))" if keys else " AND joined <= ?"
        params += [as_of, *keys]  # type: ignore[list-item]
    return [_member(r, as_of) for r in db.dicts(sql + " ORDER BY joined_no", *params)]


def canonical_member(db: Rows, slug: str, key: str) -> str | None:
    value = db.value("SELECT name FROM cp_members WHERE slug = ? AND key = ?", slug, key)
    return None if value is None else str(value)


def current_member_row(db: Rows, slug: str, key: str) -> MemberRow | None:
    """The member with this name key, if they are a member now (joined and not left)."""
    row = db.first(_MEMBERS + ' AND key = ? AND "left" IS NULL', slug, key)
    return None if row is None else _member(row, None)


def dated_after(db: Rows, slug: str, day_: date) -> bool:
    """Whether any event of the pot is dated after `day_`: one probe of the (slug, on) index."""
    return db.value('SELECT no FROM cp_history WHERE slug = ? AND "on" > ? LIMIT 1', slug, day_) is not None


def balance(db: Rows, info: PotInfo, as_of: date | None, today: date) -> BalanceReport:
    slug, digits = info.slug, info.digits
    # Without --as-of the figures are as of today, and say so. The running totals count every
    # event, so they answer only while none is dated after today (the usual case, kept cheap);
    # with `--today` in the past, or a value date ahead, sum the events up to today instead.
    if as_of is None and dated_after(db, slug, today):
        as_of = today
    if as_of is None:
        totals = db.all("SELECT balance, contributed, paid_out, reserved FROM cp_pots WHERE slug = ?", slug)[0]
        bal, contributed, paid, reserved = (int(t) for t in totals)
        per_member = [
            (str(name), int(c), int(r))
            for name, c, r in db.all(
                "SELECT name, contributed, received FROM cp_members WHERE slug = ? ORDER BY joined_no", slug
            )
        ]
    else:
        bal, contributed, paid, reserved, per_member = _balance_as_of(db, slug, as_of)
    shares = largest_remainder([max(c, 0) for _, c, _ in per_member])

    def money(minor: int) -> str:
        return format_amount(minor, digits)

    return BalanceReport(
        pot=slug,
        currency=info.currency,
        as_of=as_of or today,
        balance=money(bal),
        contributed=money(contributed),
        paid_out=money(paid),
        reserved=money(reserved),
        available=money(max(bal - reserved, 0)),
        shortfall=money(max(reserved - bal, 0)),
        members=[
            MemberShare(name=name, contributed=money(c), share_pct=str(share), received=money(r))
            for (name, c, r), share in zip(per_member, shares, strict=True)
        ],
    )


# A contribution's and a payout's signed change to the balance, as SQL over a history row.
_IN_CONTRIBUTIONS = f"CASE WHEN type IN ({marks(CONTRIBUTION_TYPES)}) THEN delta ELSE 0 END"
_OUT_PAYOUTS = f"CASE WHEN type IN ({marks(PAYOUT_TYPES)}) THEN -delta ELSE 0 END"


def _balance_as_of(db: Rows, slug: str, as_of: date) -> tuple[int, int, int, int, list[tuple[str, int, int]]]:
    cases = (*CONTRIBUTION_TYPES, *PAYOUT_TYPES)
    totals = db.all(
        f"SELECT COALESCE(SUM(delta), 0), COALESCE(SUM({_IN_CONTRIBUTIONS}), 0), COALESCE(SUM({_OUT_PAYOUTS}), 0)"
        ' FROM cp_history WHERE slug = ? AND "on" <= ?',
        *cases,
        slug,
        as_of,
    )[0]
    reserved = db.value(
        "SELECT COALESCE(SUM(amount), 0) FROM cp_proposals WHERE slug = ? AND approved = ? AND decided_on <= ?"
        " AND (paid_on IS NULL OR paid_on > ?)",
        slug,
        True,
        as_of,
        as_of,
    )
    sums = {
        str(member): (int(c), int(r))
        for member, c, r in db.all(
            f"SELECT member, SUM({_IN_CONTRIBUTIONS}), SUM({_OUT_PAYOUTS}) FROM cp_history"
            ' WHERE slug = ? AND "on" <= ? AND member IS NOT NULL GROUP BY member',
            *cases,
            slug,
            as_of,
        )
    }
    # The members who had joined by then, and anyone whose money is dated earlier than
    # their joining (a back-filled contribution): the members' figures add up to the totals.
    per_member = [
        (m.name, *sums.get(m.name, (0, 0))) for m in member_rows(db, slug) if m.joined <= as_of or m.name in sums
    ]
    return int(totals[0]), int(totals[1]), int(totals[2]), int(reserved), per_member


def public_fields(fields: dict[str, Any], digits: int) -> dict[str, Any]:
    """An event's stored fields as members read them: `amount_minor` becomes `amount: "25.00"`."""
    shown: dict[str, Any] = {}
    for key, value in fields.items():
        if key.endswith("_minor"):
            shown[key.removesuffix("_minor")] = None if value is None else format_amount(int(value), digits)
        else:
            shown[key] = value
    return shown


# The events that may name a member in their fields, beyond their actor and subject.
_NAMING = (GAME_PLAYED, PLEDGE_SET, WITHDRAWAL_PROPOSED)


def names(fields: dict[str, Any], member: str) -> bool:
    """Whether an event's stored fields name `member`: a game's people, a pledge's member, a proposal's recipient."""
    people = [fields.get("asker"), fields.get("member"), fields.get("recipient")]
    for key in ("participants", "offered", "missed"):
        people += fields.get(key) or []
    return member in people


def history_items(
    db: Rows,
    info: PotInfo,
    *,
    member: str | None = None,
    types: tuple[str, ...] = (),
    since: date | None = None,
    until: date | None = None,
    from_no: int | None = None,
    to_no: int | None = None,
    by_value_date: bool = False,
) -> Iterator[tuple[dict[str, Any], int]]:
    """The audit trail in event order (or by value date, then event order): each item
    `{"no","at","on","type","actor", …fields, "digest"}` with the event's signed change to the balance."""
    sql = 'SELECT no, at, "on", type, actor, member, delta, fields, digest FROM cp_history WHERE slug = ?'
    params: list[object] = [info.slug]
    if member is not None:
        # SPEC §1 edge cases: every event M did or is named in. Games, pledges and proposals name
        # members inside their fields: those rows are found by the JSON-quoted name, then checked.
        named = like_pattern(json.dumps(member, ensure_ascii=False))
        sql += f" AND (actor = ? OR member = ? OR (type IN ({marks(_NAMING)}) AND fields LIKE ? ESCAPE '/'))"
        params += [member, member, *_NAMING, named]
    for condition, value in (
        (f"type IN ({marks(types)})", types or None),
        ('"on" >= ?', since),
        ('"on" <= ?', until),
        ("no >= ?", from_no),
        ("no <= ?", to_no),
    ):
        if value is not None:
            sql += f" AND {condition}"
            params += list(value) if isinstance(value, tuple) else [value]
    sql += ' ORDER BY "on", no' if by_value_date else " ORDER BY no"
    for row in db.stream(sql, *params):
        found_by_fields = member is not None and member not in (row["actor"], row["member"])
        if found_by_fields and not names(json.loads(row["fields"]), str(member)):
            continue
        item = {
            "no": row["no"],
            "at": row["at"],
            "on": day(row["on"]).isoformat(),
            "type": row["type"],
            "actor": row["actor"],
            **public_fields(json.loads(row["fields"]), info.digits),
            "digest": row["digest"],
        }
        yield item, int(row["delta"])
