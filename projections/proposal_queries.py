"""Queries about proposals: their rows and details, ballots and tallies, where each stands, payouts and refunds.

Plain SQL on a `projections.sql.Rows`, like `projections.queries`. A proposal's
status is the proposals table's; its tally leaves out members who took their
vote with them (SPEC §1 edge cases), read from the audit trail.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal
from typing import Any

from domain.consent import POSITIONS, standing, tally
from domain.values import format_amount
from domain.vocabulary import (
    MEMBER_LEFT,
    PAYOUT_TYPES,
    PROPOSAL_CANCELLED,
    PROPOSAL_DECIDED,
    RULE_CHANGE_PROPOSED,
    WITHDRAWAL_PAID,
    WITHDRAWAL_PROPOSED,
)
from projections.models import HIDE, OMIT_NONE, PotInfo, to_dict
from projections.rules import rules_as_of, with_rules
from projections.sql import BY_TYPE_IN_ORDER, Rows, day, marks, maybe_day


@dataclass(frozen=True, kw_only=True, slots=True)
class Votes:
    agree: int = 0
    abstain: int = 0
    disagree: int = 0
    block: int = 0


@dataclass(frozen=True, kw_only=True, slots=True)
class Ballot:
    member: str
    position: str
    reason: str
    on: date
    # SPEC §7, for people (the proposal page), not in SPEC §4's JSON: the key that signed it, None unsigned.
    key_id: str | None = field(default=None, metadata=HIDE)


@dataclass(frozen=True, kw_only=True)
class ProposalRow:
    no: int
    proposer: str
    amount: str
    purpose: str
    recipient: str
    closes: date
    status: str
    votes: Votes
    # The day it was decided or cancelled: for people (text), not in SPEC §4's JSON.
    ended: date | None = field(default=None, metadata=HIDE)
    # A rule-change proposal's rules to set (SPEC §8), e.g. {"quorum": "0.75"}; None for a withdrawal,
    # whose JSON then has no `rules` at all, as before rules could change.
    rules: dict[str, str | int | bool] | None = field(default=None, metadata={OMIT_NONE: True})

    @property
    def when(self) -> str:
        """ "closes D" while open; once decided, the day it ended instead of a closing day that no longer applies."""
        if self.status == "open" or self.ended is None:
            return f"closes {self.closes}"
        return f"{'cancelled' if self.status == 'cancelled' else 'decided'} {self.ended}"


@dataclass(frozen=True, kw_only=True)
class ProposalDetail(ProposalRow):
    ballots: list[Ballot]
    # SPEC §8, while it is open (SPEC §4 `proposal N`): the eligible current members who have not voted, in
    # joining order; whether quorum is reached; how closing it now would end (null once decided).
    waiting: list[str] = field(default_factory=list)
    quorum_reached: bool = False
    if_closed_now: str | None = None
    # For people (text, web), not in SPEC §4's JSON: who blocks it now, and, approved but not yet
    # payable, how much the pot lacks once the approvals before it are paid (issue 21).
    blocked_by: list[str] = field(default_factory=list, metadata=HIDE)
    short_minor: int = field(default=0, metadata=HIDE)
    short: str | None = field(default=None, metadata=HIDE)
    # SPEC §8, for people and the web page (not in SPEC §4's JSON): money back since the payout, and the
    # SHA-256 of the receipt kept with it.
    refunded_minor: int = field(default=0, metadata=HIDE)
    refunded: str = field(default="0.00", metadata=HIDE)
    receipt_sha256: str | None = field(default=None, metadata=HIDE)


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

    def __init__(self, db: Rows, slug: str) -> None:
        self.left: dict[str, tuple[int, date]] = {
            str(member): (int(no), day(on))
            for member, no, on in db.all(
                'SELECT member, no, "on" FROM cp_history WHERE slug = ? AND type = ?', slug, MEMBER_LEFT
            )
        }
        # proposal no -> the event that ended its voting (decided, or cancelled while open), and its day
        self.ended: dict[int, tuple[int, date]] = {}
        ending = f'SELECT no, "on", fields FROM cp_history WHERE slug = ? AND type IN (?, ?) {BY_TYPE_IN_ORDER}'
        for no, on, fields in db.all(ending, slug, PROPOSAL_DECIDED, PROPOSAL_CANCELLED):
            self.ended.setdefault(int(json.loads(fields)["proposal_no"]), (int(no), day(on)))

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


_BALLOTS = (
    'SELECT b.proposal_no, b.member, b.position, b.reason, b."on"{keys} FROM cp_ballots b{join}'
    " WHERE b.slug = ?{one} ORDER BY b.event_no"
)


def _ballots(
    db: Rows, slug: str, proposal_no: int | None = None, *, with_keys: bool = False
) -> dict[int, list[Ballot]]:
    """The ballots cast, by proposal, in the order cast: one proposal's, or (None) every proposal's in one read.

    `with_keys`: each ballot's signing key, read from its history row.
    """
    join = " JOIN cp_history h ON h.slug = b.slug AND h.no = b.event_no" if with_keys else ""
    one = " AND b.proposal_no = ?" if proposal_no is not None else ""
    sql = _BALLOTS.format(keys=", h.fields" if with_keys else "", join=join, one=one)
    found: dict[int, list[Ballot]] = {}
    for r in db.dicts(sql, slug, *([] if proposal_no is None else [proposal_no])):
        found.setdefault(int(r["proposal_no"]), []).append(
            Ballot(
                member=r["member"],
                position=r["position"],
                reason=r["reason"],
                on=day(r["on"]),
                key_id=(json.loads(r["fields"]).get("signature") or {}).get("key_id") if with_keys else None,
            )
        )
    return found


_PROPOSALS = (
    "SELECT no, event_no, proposer, amount, purpose, recipient, closes, status, decided_on"
    " FROM cp_proposals WHERE slug = ?"
)


def proposal_rows(db: Rows, info: PotInfo, status: str | None = None) -> list[ProposalRow]:
    sql, params = _PROPOSALS, [info.slug]
    if status is not None:
        sql, params = sql + " AND status = ?", [*params, status]
    leavers = Leavers(db, info.slug)
    cast = _ballots(db, info.slug)  # every proposal's, in one read: a pot has hundreds of proposals
    rows = []
    for r in db.dicts(sql + " ORDER BY no", *params):
        votes = votes_of(leavers.counted(r["no"], cast.get(r["no"], [])))
        rows.append(_proposal_row(r, votes, info.digits))
    return with_rules(db, info.slug, rows)


def proposal_detail(db: Rows, info: PotInfo, no: int) -> ProposalDetail | None:
    r = db.first(_PROPOSALS + " AND no = ?", info.slug, no)
    return None if r is None else with_rules(db, info.slug, [_detail(db, info, r, Leavers(db, info.slug))])[0]


def open_proposal_details(db: Rows, info: PotInfo) -> list[ProposalDetail]:
    """The open proposals, oldest first, each as `proposal_detail` answers it (the overview's list).

    Who left is read once for them all: `Leavers` reads every decided or cancelled
    proposal's event, most of a page's time when read once per proposal.
    """
    leavers = Leavers(db, info.slug)
    found = db.dicts(_PROPOSALS + " AND status = ? ORDER BY no", info.slug, "open")
    return with_rules(db, info.slug, [_detail(db, info, r, leavers) for r in found])


def _detail(db: Rows, info: PotInfo, r: dict[str, Any], leavers: Leavers) -> ProposalDetail:
    cast_ballots = _ballots(db, info.slug, r["no"], with_keys=True).get(r["no"], [])
    votes = votes_of(leavers.counted(r["no"], cast_ballots))
    row = _proposal_row(r, votes, info.digits)
    money_back: dict[str, Any] = {}
    if r["status"] == "paid":
        paid = paid_and_refunded(db, info.slug, int(r["no"]))
        back = paid[3] if paid else 0
        money_back = {
            "refunded_minor": back,
            "refunded": format_amount(back, info.digits),
            "receipt_sha256": payout_receipt(db, info.slug, r["no"]),
        }
    found = ProposalDetail(**to_dict(row), ballots=cast_ballots, **money_back)
    found = replace(found, **_standing(db, info, r, cast_ballots, leavers))
    if found.status == "approved":
        short = _payout_queue(db, info.slug, leavers).get(found.no, 0)
        if short:
            return replace(found, short_minor=short, short=format_amount(short, info.digits))
    return found


def eligible_of(db: Rows, slug: str, event_no: int) -> list[str]:
    """Who may vote on a proposal: the members when it was made, as its `withdrawal_proposed` event says."""
    fields = db.value("SELECT fields FROM cp_history WHERE slug = ? AND no = ?", slug, event_no)
    return [str(n) for n in json.loads(fields).get("eligible", [])]


def _standing(db: Rows, info: PotInfo, r: dict[str, Any], cast: list[Ballot], leavers: Leavers) -> dict[str, Any]:
    """Where a proposal stands (SPEC §8), by the very tally and quorum a decision uses.

    Once decided, it stood so at its end: nobody is waited for, and there is no "if closed now".
    """
    voters = leavers.still_here(eligible_of(db, info.slug, int(r["event_no"])), end=leavers.ended.get(r["no"]))
    # Decided under the rules in force when it was made (SPEC §8), not the pot's rules now.
    made_under = rules_as_of(db, info, None, before_event=int(r["event_no"]))
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


def _payout_queue(db: Rows, slug: str, leavers: Leavers) -> dict[int, int]:
    """What each approved, unpaid proposal lacks (minor units) once those approved before it are paid.

    Payouts go in order of approval (issue 21), the order of their decisions in the log.
    """
    approved = db.all("SELECT no, amount FROM cp_proposals WHERE slug = ? AND status = ?", slug, "approved")
    left = int(db.value("SELECT balance FROM cp_pots WHERE slug = ?", slug))
    short: dict[int, int] = {}
    for no, amount in sorted(approved, key=lambda a: (leavers.ended.get(int(a[0]), (0, date.min))[0], a[0])):
        short[int(no)] = max(int(amount) - max(left, 0), 0)
        left -= int(amount)
    return short


def _proposal_events(
    db: Rows, slug: str, no: int, types: tuple[str, ...]
) -> Iterator[tuple[str, date, dict[str, Any]]]:
    """The events of these types about proposal `no`, in order: (type, value date, stored fields)."""
    # A pot has few payouts and refunds, so their fields are read rather than indexed.
    sql = f'SELECT type, "on", fields FROM cp_history WHERE slug = ? AND type IN ({marks(types)}) {BY_TYPE_IN_ORDER}'
    for kind, on, fields in db.all(sql, slug, *types):
        stored = json.loads(fields)
        if int(stored["proposal_no"]) == no:
            yield str(kind), day(on), stored


def paid_and_refunded(db: Rows, slug: str, no: int) -> tuple[int, str, date, int] | None:
    """Proposal `no`'s payout (amount, recipient, day) and the money that came back since; None if unpaid."""
    paid: tuple[int, str, date] | None = None
    back = 0
    for kind, on, fields in _proposal_events(db, slug, no, PAYOUT_TYPES):
        if kind == WITHDRAWAL_PAID:
            paid = (int(fields["amount_minor"]), str(fields["recipient"]), on)
        else:
            back += int(fields["amount_minor"])
    return None if paid is None else (*paid, back)


def payout_receipt(db: Rows, slug: str, no: int) -> str | None:
    """The SHA-256 of the receipt kept with proposal `no`'s payout, None without one (SPEC §8)."""
    for _, _, fields in _proposal_events(db, slug, no, (WITHDRAWAL_PAID,)):
        return None if fields.get("receipt_sha256") is None else str(fields["receipt_sha256"])
    return None


# The status each of these events gives its proposal; a decision gives its outcome.
_STATUS_AFTER = {
    WITHDRAWAL_PROPOSED: "open",
    PROPOSAL_CANCELLED: "cancelled",
    WITHDRAWAL_PAID: "paid",
    RULE_CHANGE_PROPOSED: "open",
}


def proposal_details(db: Rows, info: PotInfo, as_of: date | None = None) -> list[ProposalDetail]:
    """Every proposal with its ballots; as of a past day, those made by then, with their status and votes that day.

    The proposals table keeps only each proposal's latest status (a cancellation
    overwrites the day it was approved), so a past status is read from the
    audit trail: the last of its proposal's events dated on or before `as_of`.
    """
    leavers = Leavers(db, info.slug)
    found = with_rules(
        db, info.slug, [_detail(db, info, r, leavers) for r in db.dicts(_PROPOSALS + " ORDER BY no", info.slug)]
    )
    if as_of is None:
        return found
    status: dict[int, str] = {}
    kinds = (*_STATUS_AFTER, PROPOSAL_DECIDED)
    events = (
        f'SELECT type, fields FROM cp_history WHERE slug = ? AND "on" <= ? AND type IN ({marks(kinds)})'
        f" {BY_TYPE_IN_ORDER}"
    )
    for kind, fields in db.all(events, info.slug, as_of, *kinds):
        stored = json.loads(fields)
        status[int(stored["proposal_no"])] = stored["outcome"] if kind == PROPOSAL_DECIDED else _STATUS_AFTER[kind]
    shown = []
    for d in found:
        if d.no in status:
            cast = [b for b in d.ballots if b.on <= as_of]
            votes = votes_of(leavers.counted(d.no, cast, as_of))
            shown.append(replace(d, status=status[d.no], ballots=cast, votes=votes))
    return shown


def _proposal_row(r: dict[str, Any], votes: Votes, digits: int) -> ProposalRow:
    return ProposalRow(
        no=r["no"],
        proposer=r["proposer"],
        amount=format_amount(int(r["amount"]), digits),
        purpose=r["purpose"],
        recipient=r["recipient"],
        closes=day(r["closes"]),
        status=r["status"],
        votes=votes,
        ended=maybe_day(r["decided_on"]),
    )
