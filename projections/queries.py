"""Queries over the materialized tables: never a replay of the log.

Current figures come straight from the running totals; `--as-of` figures (and
today's, when some event is dated after today) are sums over the indexed
audit-trail rows dated on or before that day.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable, Iterator
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, and_, case, func, or_, select

from domain.consent import POSITIONS, standing, tally
from domain.events import (
    ContributionRecorded,
    ContributionReversed,
    GamePlayed,
    MemberLeft,
    PledgeSet,
    ProposalCancelled,
    ProposalDecided,
    WithdrawalPaid,
    WithdrawalProposed,
    WithdrawalRefunded,
)
from domain.values import format_amount
from projections.models import (
    BalanceReport,
    Ballot,
    MemberRow,
    MemberShare,
    PotInfo,
    ProposalDetail,
    ProposalRow,
    Votes,
)
from projections.rules import with_rules
from projections.shares import largest_remainder
from projections.tables import ballots, history, members, pots, proposals

# The events that move money in or out of the pot, named once for every view that sums
# or lists money: a contribution and its reversal, and a payout.
CONTRIBUTION_TYPES = (ContributionRecorded.TYPE, ContributionReversed.TYPE)
PAYOUT_TYPE = WithdrawalPaid.TYPE
# Money of a payout that came back (SPEC §8): sums with the payouts, so `paid_out` and `received` are net.
REFUND_TYPE = WithdrawalRefunded.TYPE
PAYOUT_TYPES = (PAYOUT_TYPE, REFUND_TYPE)
MONEY_TYPES = (*CONTRIBUTION_TYPES, *PAYOUT_TYPES)


def pot_slugs(conn: Connection) -> list[str]:
    return [row[0] for row in conn.execute(select(pots.c.slug).order_by(pots.c.slug))]


def pot_names(conn: Connection) -> list[tuple[str, str]]:
    """Every pot in the store as (slug, display name)."""
    return [(row[0], row[1]) for row in conn.execute(select(pots.c.slug, pots.c.name).order_by(pots.c.slug))]


def pot_info(conn: Connection, slug: str) -> PotInfo | None:
    row = conn.execute(select(pots).where(pots.c.slug == slug)).mappings().first()
    if row is None:
        return None
    return PotInfo(
        slug=row["slug"],
        name=row["name"],
        currency=row["currency"],
        digits=row["digits"],
        quorum=row["quorum"],
        voting_days=row["voting_days"],
        events=row["events"],
        head=row["head"],
    )


def member_rows(
    conn: Connection, slug: str, as_of: date | None = None, *, with_keys: Collection[str] = ()
) -> list[MemberRow]:
    """The members who had joined by `as_of` (all, without it), and those whose name keys are `with_keys`.

    `with_keys` brings in members whose back-dated money or games are dated before they joined,
    so that every view counts by value date alike (SPEC §1 edge cases).
    """
    query = select(members).where(members.c.slug == slug).order_by(members.c.joined_no)
    if as_of is not None:
        joined = members.c.joined <= as_of
        query = query.where(or_(joined, members.c.key.in_(sorted(with_keys))) if with_keys else joined)
    return [
        MemberRow(
            name=r["name"],
            role=r["role"],
            joined=r["joined"],
            left=r["left"] if as_of is None or (r["left"] is not None and r["left"] <= as_of) else None,
        )
        for r in conn.execute(query).mappings()
    ]


def canonical_member(conn: Connection, slug: str, key: str) -> str | None:
    value = conn.execute(select(members.c.name).where(members.c.slug == slug, members.c.key == key)).scalar()
    return None if value is None else str(value)


def current_member_row(conn: Connection, slug: str, key: str) -> MemberRow | None:
    """The member with this name key, if they are a member now (joined and not left)."""
    row = (
        conn.execute(select(members).where(members.c.slug == slug, members.c.key == key, members.c.left.is_(None)))
        .mappings()
        .first()
    )
    return None if row is None else MemberRow(name=row["name"], role=row["role"], joined=row["joined"], left=None)


def dated_after(conn: Connection, slug: str, day: date) -> bool:
    """Whether any event of the pot is dated after `day`: one probe of the (slug, on) index."""
    found = conn.execute(select(history.c.no).where(history.c.slug == slug, history.c.on > day).limit(1)).first()
    return found is not None


def balance(conn: Connection, info: PotInfo, as_of: date | None, today: date) -> BalanceReport:
    slug, digits = info.slug, info.digits
    # Without --as-of the figures are as of today, and say so. The running totals count every
    # event, so they answer only while none is dated after today (the usual case, kept cheap);
    # with `--today` in the past, or a value date ahead, sum the events up to today instead.
    if as_of is None and dated_after(conn, slug, today):
        as_of = today
    if as_of is None:
        totals = conn.execute(select(pots).where(pots.c.slug == slug)).mappings().one()
        bal, contributed, paid, reserved = (
            int(totals["balance"]),
            int(totals["contributed"]),
            int(totals["paid_out"]),
            int(totals["reserved"]),
        )
        per_member = [
            (r["name"], int(r["contributed"]), int(r["received"]))
            for r in conn.execute(
                select(members.c.name, members.c.contributed, members.c.received)
                .where(members.c.slug == slug)
                .order_by(members.c.joined_no)
            ).mappings()
        ]
    else:
        bal, contributed, paid, reserved, per_member = _balance_as_of(conn, slug, as_of)
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


def _balance_as_of(conn: Connection, slug: str, as_of: date) -> tuple[int, int, int, int, list[tuple[str, int, int]]]:
    dated = and_(history.c.slug == slug, history.c.on <= as_of)
    is_contribution = history.c.type.in_(CONTRIBUTION_TYPES)
    is_payout = history.c.type.in_(PAYOUT_TYPES)
    totals = conn.execute(
        select(
            func.coalesce(func.sum(history.c.delta), 0),
            func.coalesce(func.sum(case((is_contribution, history.c.delta), else_=0)), 0),
            func.coalesce(func.sum(case((is_payout, -history.c.delta), else_=0)), 0),
        ).where(dated)
    ).one()
    reserved = conn.execute(
        select(func.coalesce(func.sum(proposals.c.amount), 0)).where(
            proposals.c.slug == slug,
            proposals.c.approved.is_(True),
            proposals.c.decided_on <= as_of,
            or_(proposals.c.paid_on.is_(None), proposals.c.paid_on > as_of),
        )
    ).scalar_one()
    sums = {
        r["member"]: (int(r["c"]), int(r["r"]))
        for r in conn.execute(
            select(
                history.c.member,
                func.sum(case((is_contribution, history.c.delta), else_=0)).label("c"),
                func.sum(case((is_payout, -history.c.delta), else_=0)).label("r"),
            )
            .where(dated, history.c.member.is_not(None))
            .group_by(history.c.member)
        ).mappings()
    }
    # The members who had joined by then, and anyone whose money is dated earlier than
    # their joining (a back-filled contribution): the members' figures add up to the totals.
    per_member = [
        (m.name, *sums.get(m.name, (0, 0))) for m in member_rows(conn, slug) if m.joined <= as_of or m.name in sums
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
_NAMING = (GamePlayed.TYPE, PledgeSet.TYPE, WithdrawalProposed.TYPE)


def names(fields: dict[str, Any], member: str) -> bool:
    """Whether an event's stored fields name `member`: a game's people, a pledge's member, a proposal's recipient."""
    people = [fields.get("asker"), fields.get("member"), fields.get("recipient")]
    for key in ("participants", "offered", "missed"):
        people += fields.get(key) or []
    return member in people


def history_items(
    conn: Connection,
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
    order = (history.c.on, history.c.no) if by_value_date else (history.c.no,)
    query = select(history).where(history.c.slug == info.slug).order_by(*order)
    if member is not None:
        # SPEC §1 edge cases: every event M did or is named in. Games, pledges and proposals name
        # members inside their fields: those rows are found by the JSON-quoted name, then checked.
        named = json.dumps(member, ensure_ascii=False)
        query = query.where(
            or_(
                history.c.actor == member,
                history.c.member == member,
                and_(history.c.type.in_(_NAMING), history.c.fields.contains(named, autoescape=True)),
            )
        )
    if types:
        query = query.where(history.c.type.in_(types))
    if since is not None:
        query = query.where(history.c.on >= since)
    if until is not None:
        query = query.where(history.c.on <= until)
    if from_no is not None:
        query = query.where(history.c.no >= from_no)
    if to_no is not None:
        query = query.where(history.c.no <= to_no)
    for row in conn.execute(query.execution_options(yield_per=1000)).mappings():
        found_by_fields = member is not None and member not in (row["actor"], row["member"])
        if found_by_fields and not names(json.loads(row["fields"]), str(member)):
            continue
        item = {
            "no": row["no"],
            "at": row["at"],
            "on": row["on"].isoformat(),
            "type": row["type"],
            "actor": row["actor"],
            **public_fields(json.loads(row["fields"]), info.digits),
            "digest": row["digest"],
        }
        yield item, int(row["delta"])


def votes_of(cast: Iterable[Ballot]) -> Votes:
    """The tally of the ballots: a member may change their vote while the proposal is open, the latest counts."""
    latest = {b.member: b.position for b in cast}
    # Only the counts are shown; who was eligible matters when the domain decides, not here.
    counted = tally(latest.values(), eligible=len(latest))
    return Votes(**{position: getattr(counted, position) for position in POSITIONS})


class Leavers:
    """Who took their vote with them (SPEC §1 edge cases): members who left before a proposal was decided.

    Their ballots stay listed; the tally shown leaves them out, as the decision did.
    Read from the audit trail, by event number, since a member may leave on the day a proposal is decided.
    """

    def __init__(self, conn: Connection, slug: str) -> None:
        self.left: dict[str, tuple[int, date]] = {
            str(r.member): (int(r.no), r.on)
            for r in conn.execute(
                select(history.c.member, history.c.no, history.c.on).where(
                    history.c.slug == slug, history.c.type == MemberLeft.TYPE
                )
            )
        }
        # proposal no -> the event that ended its voting (decided, or cancelled while open), and its day
        self.ended: dict[int, tuple[int, date]] = {}
        ending = select(history.c.no, history.c.on, history.c.fields).where(
            history.c.slug == slug, history.c.type.in_((ProposalDecided.TYPE, ProposalCancelled.TYPE))
        )
        for no, on, fields in conn.execute(ending.order_by(history.c.no)):
            self.ended.setdefault(int(json.loads(fields)["proposal_no"]), (int(no), on))

    def counted(self, proposal_no: int, cast: Iterable[Ballot], as_of: date | None = None) -> list[Ballot]:
        """The ballots that count in the proposal's tally (as of a day: as it stood at its end)."""
        end = self.ended.get(proposal_no)
        if end is not None and as_of is not None and end[1] > as_of:
            end = None
        return [b for b in cast if not self._gone_before(b.member, end, as_of)]

    def _gone_before(self, member: str, end: tuple[int, date] | None, as_of: date | None) -> bool:
        left = self.left.get(member)
        if left is None or (as_of is not None and left[1] > as_of):
            return False
        return end is None or left[0] < end[0]

    def still_here(
        self, names: Iterable[str], as_of: date | None = None, end: tuple[int, date] | None = None
    ) -> list[str]:
        """Those of `names` who had not left (by `as_of`; before `end`, the event that ended a proposal's voting)."""
        return [n for n in names if not self._gone_before(n, end, as_of)]


def _votes(
    conn: Connection, slug: str, proposal_no: int, leavers: Leavers, *, with_keys: bool = False
) -> tuple[Votes, list[Ballot]]:
    """A proposal's tally and ballots; `with_keys`: each ballot's signing key, read from its history row."""
    query = select(ballots).where(ballots.c.slug == slug, ballots.c.proposal_no == proposal_no)
    if with_keys:
        on_row = (history.c.slug == ballots.c.slug) & (history.c.no == ballots.c.event_no)
        query = (
            select(ballots, history.c.fields)
            .join(history, on_row)
            .where(ballots.c.slug == slug, ballots.c.proposal_no == proposal_no)
        )
    cast_ballots = [
        Ballot(
            member=r["member"],
            position=r["position"],
            reason=r["reason"],
            on=r["on"],
            key_id=(json.loads(r["fields"]).get("signature") or {}).get("key_id") if with_keys else None,
        )
        for r in conn.execute(query.order_by(ballots.c.event_no)).mappings()
    ]
    return votes_of(leavers.counted(proposal_no, cast_ballots)), cast_ballots


def proposal_rows(conn: Connection, info: PotInfo, status: str | None = None) -> list[ProposalRow]:
    query = select(proposals).where(proposals.c.slug == info.slug).order_by(proposals.c.no)
    if status is not None:
        query = query.where(proposals.c.status == status)
    leavers = Leavers(conn, info.slug)
    rows = []
    for r in conn.execute(query).mappings():
        votes, _ = _votes(conn, info.slug, r["no"], leavers)
        rows.append(_proposal_row(r, votes, info.digits))
    return with_rules(conn, info.slug, rows)


def proposal_detail(conn: Connection, info: PotInfo, no: int) -> ProposalDetail | None:
    r = conn.execute(select(proposals).where(proposals.c.slug == info.slug, proposals.c.no == no)).mappings().first()
    return None if r is None else with_rules(conn, info.slug, [_detail(conn, info, r, Leavers(conn, info.slug))])[0]


def _detail(conn: Connection, info: PotInfo, r: Any, leavers: Leavers) -> ProposalDetail:
    votes, cast_ballots = _votes(conn, info.slug, r["no"], leavers, with_keys=True)
    row = _proposal_row(r, votes, info.digits)
    money_back: dict[str, Any] = {}
    if r["status"] == "paid":
        paid = paid_and_refunded(conn, info.slug, int(r["no"]))
        back = paid[3] if paid else 0
        money_back = {
            "refunded_minor": back,
            "refunded": format_amount(back, info.digits),
            "receipt_sha256": payout_receipt(conn, info.slug, r["no"]),
        }
    # model_dump leaves out `ended` (it is not in the JSON), so it is passed on by hand.
    found = ProposalDetail(**row.model_dump(), ended=row.ended, ballots=cast_ballots, **money_back)
    found = found.model_copy(update=_standing(conn, info, r, cast_ballots, leavers))
    if found.status == "approved":
        short = _payout_queue(conn, info.slug, leavers).get(found.no, 0)
        if short:
            return found.model_copy(update={"short_minor": short, "short": format_amount(short, info.digits)})
    return found


def eligible_of(conn: Connection, slug: str, event_no: int) -> list[str]:
    """Who may vote on a proposal: the members when it was made, as its `withdrawal_proposed` event says."""
    fields = conn.execute(select(history.c.fields).where(history.c.slug == slug, history.c.no == event_no)).scalar_one()
    return [str(n) for n in json.loads(fields).get("eligible", [])]


def _standing(conn: Connection, info: PotInfo, r: Any, cast: list[Ballot], leavers: Leavers) -> dict[str, Any]:
    """Where a proposal stands (SPEC §8), by the very tally and quorum a decision uses.

    Once decided, it stood so at its end: nobody is waited for, and there is no "if closed now".
    """
    voters = leavers.still_here(eligible_of(conn, info.slug, int(r["event_no"])), end=leavers.ended.get(r["no"]))
    # Decided under the rules in force when it was made (SPEC §8), not the pot's rules now.
    from projections.rules import rules_as_of

    made_under = rules_as_of(conn, info, None, before_event=int(r["event_no"]))
    quorum = Decimal(made_under.quorum if made_under is not None else info.quorum)
    now = standing(voters, {b.member: b.position for b in cast}, quorum)
    if r["status"] != "open":
        return {"quorum_reached": now.quorum_reached}
    return {
        "waiting": now.waiting,
        "quorum_reached": now.quorum_reached,
        "if_closed_now": now.if_closed_now,
        "blocked_by": now.blocked_by,
    }


def _payout_queue(conn: Connection, slug: str, leavers: Leavers) -> dict[int, int]:
    """What each approved, unpaid proposal lacks (minor units) once those approved before it are paid.

    Payouts go in order of approval (issue 21), the order of their decisions in the log.
    """
    approved = conn.execute(
        select(proposals.c.no, proposals.c.amount).where(proposals.c.slug == slug, proposals.c.status == "approved")
    ).all()
    left = int(conn.execute(select(pots.c.balance).where(pots.c.slug == slug)).scalar_one())
    short: dict[int, int] = {}
    for no, amount in sorted(approved, key=lambda a: (leavers.ended.get(int(a[0]), (0, date.min))[0], a[0])):
        short[int(no)] = max(int(amount) - max(left, 0), 0)
        left -= int(amount)
    return short


def _proposal_events(
    conn: Connection, slug: str, no: int, types: tuple[str, ...]
) -> Iterator[tuple[str, Any, dict[str, Any]]]:
    """The events of these types about proposal `no`, in order: (type, value date, stored fields)."""
    # A pot has few payouts and refunds, so their fields are read rather than indexed.
    query = select(history.c.type, history.c.on, history.c.fields).where(
        history.c.slug == slug, history.c.type.in_(types)
    )
    for kind, on, fields in conn.execute(query.order_by(history.c.no)):
        stored = json.loads(fields)
        if int(stored["proposal_no"]) == no:
            yield str(kind), on, stored


def paid_and_refunded(conn: Connection, slug: str, no: int) -> tuple[int, str, date, int] | None:
    """Proposal `no`'s payout (amount, recipient, day) and the money that came back since; None if unpaid."""
    paid: tuple[int, str, date] | None = None
    back = 0
    for kind, on, fields in _proposal_events(conn, slug, no, PAYOUT_TYPES):
        if kind == PAYOUT_TYPE:
            paid = (int(fields["amount_minor"]), str(fields["recipient"]), on)
        else:
            back += int(fields["amount_minor"])
    return None if paid is None else (*paid, back)


def payout_receipt(conn: Connection, slug: str, no: int) -> str | None:
    """The SHA-256 of the receipt kept with proposal `no`'s payout, None without one (SPEC §8)."""
    for _, _, fields in _proposal_events(conn, slug, no, (PAYOUT_TYPE,)):
        return None if fields.get("receipt_sha256") is None else str(fields["receipt_sha256"])
    return None


# The status each of these events gives its proposal; a decision gives its outcome.
_STATUS_AFTER = {
    WithdrawalProposed.TYPE: "open",
    ProposalCancelled.TYPE: "cancelled",
    WithdrawalPaid.TYPE: "paid",
    "rule_change_proposed": "open",
}


def proposal_details(conn: Connection, info: PotInfo, as_of: date | None = None) -> list[ProposalDetail]:
    """Every proposal with its ballots; as of a past day, those made by then, with their status and votes that day.

    The proposals table keeps only each proposal's latest status (a cancellation
    overwrites the day it was approved), so a past status is read from the
    audit trail: the last of its proposal's events dated on or before `as_of`.
    """
    query = select(proposals).where(proposals.c.slug == info.slug).order_by(proposals.c.no)
    leavers = Leavers(conn, info.slug)
    found = with_rules(conn, info.slug, [_detail(conn, info, r, leavers) for r in conn.execute(query).mappings().all()])
    if as_of is None:
        return found
    status: dict[int, str] = {}
    events = select(history.c.type, history.c.fields).where(
        history.c.slug == info.slug,
        history.c.on <= as_of,
        history.c.type.in_((*_STATUS_AFTER, ProposalDecided.TYPE)),
    )
    for kind, fields in conn.execute(events.order_by(history.c.no)):
        stored = json.loads(fields)
        status[int(stored["proposal_no"])] = stored["outcome"] if kind == ProposalDecided.TYPE else _STATUS_AFTER[kind]
    shown = []
    for d in found:
        if d.no in status:
            cast = [b for b in d.ballots if b.on <= as_of]
            votes = votes_of(leavers.counted(d.no, cast, as_of))
            shown.append(d.model_copy(update={"status": status[d.no], "ballots": cast, "votes": votes}))
    return shown


def _proposal_row(r: Any, votes: Votes, digits: int) -> ProposalRow:
    return ProposalRow(
        no=r["no"],
        proposer=r["proposer"],
        amount=format_amount(int(r["amount"]), digits),
        purpose=r["purpose"],
        recipient=r["recipient"],
        closes=r["closes"],
        status=r["status"],
        votes=votes,
        ended=r["decided_on"],
    )
