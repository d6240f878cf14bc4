"""The core projection: pots, members, money, proposals, ballots and the audit trail.

`CoreProjection.apply_all` folds a batch of events into the tables with prebuilt
SQLAlchemy Core statements. It is the only writer of those tables, used both by
the incremental catch-up and by `pot rebuild` and `verify`'s fresh fold, so the
three cannot drift apart.

Each history row records its event's chain digest. Every event carries `prev`,
the digest of the event before it in its pot, so within a batch an event's
digest is read off the next one's `prev`, and only the last event per pot is
hashed. `pot verify` still recomputes every digest itself and compares it with
the recorded one, so a changed event is caught either way.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, Table, and_, bindparam, select, update

from domain import chain
from domain.events import (
    ContributionRecorded,
    ContributionReversed,
    MemberJoined,
    MemberLeft,
    PotEvent,
    PotOpened,
    ProposalCancelled,
    ProposalDecided,
    RoleChanged,
    RuleChangeProposed,
    RulesChanged,
    VoteCast,
    WithdrawalPaid,
    WithdrawalProposed,
    WithdrawalRefunded,
    payload,
    record_of,
)
from domain.values import name_key
from projections.runner import Slugs, insert_rows
from projections.sql import CORE
from projections.tables import CORE_TABLES, ballots, history, members, pots, proposals, refs

_add_to_pot = (
    update(pots)
    .where(pots.c.slug == bindparam("s"))
    .values(
        balance=pots.c.balance + bindparam("d_balance"),
        contributed=pots.c.contributed + bindparam("d_contributed"),
        paid_out=pots.c.paid_out + bindparam("d_paid"),
        reserved=pots.c.reserved + bindparam("d_reserved"),
    )
)
_add_to_member = (
    update(members)
    .where(members.c.slug == bindparam("s"), members.c.key == bindparam("k"))
    .values(
        contributed=members.c.contributed + bindparam("d_contributed"),
        received=members.c.received + bindparam("d_received"),
    )
)
_set_head = update(pots).where(pots.c.slug == bindparam("s")).values(events=bindparam("n"), head=bindparam("h"))


_insert_member = members.insert()
_member_where = and_(members.c.slug == bindparam("s"), members.c.key == bindparam("k"))
_proposal_where = and_(proposals.c.slug == bindparam("s"), proposals.c.no == bindparam("b_no"))
_set_left = update(members).where(_member_where).values(left=bindparam("v"))
_set_role = update(members).where(_member_where).values(role=bindparam("v"))
_set_decided = (
    update(proposals)
    .where(_proposal_where)
    .values(status=bindparam("v"), decided_on=bindparam("on"), approved=bindparam("approved"))
)
_set_cancelled = update(proposals).where(_proposal_where).values(status="cancelled", decided_on=bindparam("on"))
_set_paid = update(proposals).where(_proposal_where).values(status="paid", paid_on=bindparam("on"))
_set_rules = update(pots).where(pots.c.slug == bindparam("s")).values(quorum=bindparam("q"), voting_days=bindparam("d"))
_member_name = select(members.c.name).where(_member_where)
_proposal_amount = select(proposals.c.amount).where(_proposal_where)
_proposal_status_amount = select(proposals.c.status, proposals.c.amount).where(_proposal_where)
# The `fields` column: the event's payload as JSON with sorted keys (built once, as json.dumps would per call).
_fields_json = json.JSONEncoder(ensure_ascii=False, sort_keys=True).encode


def history_row(slug: str, event: PotEvent, member: str | None, delta: int) -> dict[str, Any]:
    """The audit-trail row of one event; its digest is filled in by the batch (see the module's note)."""
    return {
        "slug": slug,
        "no": event.no,
        "at": chain.iso_at(event.timestamp),
        "on": event.on,
        "type": event.TYPE,
        "actor": event.actor,
        "member": member,
        "delta": delta,
        "fields": _fields_json(payload(event)),
        "digest": None,
    }


class CoreProjection:
    name = CORE
    tables: tuple[Table, ...] = CORE_TABLES

    def __init__(self) -> None:
        self._slugs = Slugs(pots.c.pot_id, pots.c.slug)
        # (slug, member key) -> name, of members seen; a member's name never changes either.
        self._names: dict[tuple[str, str], str] = {}
        self._batch = _Batch()

    def _member_name(self, conn: Connection, slug: str, name: str) -> str | None:
        """The member's name as they joined, or None for someone who never joined this pot."""
        key = (slug, name_key(name))
        found = self._names.get(key)
        if found is None:
            found = conn.execute(_member_name, {"s": slug, "k": key[1]}).scalar_one_or_none()
            if found is not None:
                self._names[key] = found
        return found

    def apply_all(self, conn: Connection, events: Sequence[PotEvent]) -> None:
        """Fold a batch: rare events write at once; history rows, proposals and money sums once per batch.

        The sums are additive, nothing in the fold reads history, ballots or the
        money columns, and a proposal made in the batch is settled in memory, so
        deferring them to the batch's end gives the same rows.
        """
        batch = self._batch = _Batch()
        for event in events:
            self._one(conn, event)
        for slug, (row, last) in batch.last.items():
            row["digest"] = chain.digest(record_of(last))
            batch.heads[slug] = (last.no, row["digest"])
        insert_rows(conn, history, batch.history)
        insert_rows(conn, proposals, list(batch.proposals.values()))
        insert_rows(conn, ballots, batch.ballots)
        insert_rows(conn, refs, batch.refs)
        if batch.members:
            conn.execute(
                _add_to_member,
                [{"s": s, "k": k, "d_contributed": c, "d_received": r} for (s, k), (c, r) in batch.members.items()],
            )
        for slug, (bal, contributed, paid, reserved) in batch.money.items():
            conn.execute(
                _add_to_pot,
                {"s": slug, "d_balance": bal, "d_contributed": contributed, "d_paid": paid, "d_reserved": reserved},
            )
        for slug, (no, head) in batch.heads.items():
            conn.execute(_set_head, {"s": slug, "n": no, "h": head})

    def _one(self, conn: Connection, event: PotEvent) -> None:
        if isinstance(event, PotOpened):
            self._slugs.learn(event.originator_id.hex, event.slug)
            conn.execute(
                pots.insert().values(
                    slug=event.slug,
                    pot_id=event.originator_id.hex,
                    name=event.name,
                    currency=event.currency,
                    digits=event.digits,
                    quorum=event.quorum,
                    voting_days=event.voting_days,
                    opened_on=event.on,
                    events=0,
                    head=chain.GENESIS,
                    balance=0,
                    contributed=0,
                    paid_out=0,
                    reserved=0,
                )
            )
        slug = self._slugs.of(conn, event)
        subject, delta = self._fold(conn, slug, event)
        row = history_row(slug, event, subject, delta)
        self._batch.history.append(row)
        before = self._batch.last.get(slug)
        if before is not None:
            before_row, before_event = before
            # The pot's previous event in this batch: its digest is this event's `prev`.
            consecutive = before_event.no == event.no - 1
            before_row["digest"] = event.prev if consecutive else chain.digest(record_of(before_event))
        self._batch.last[slug] = (row, event)

    def _member(self, slug: str, member: str, *, contributed: int = 0, received: int = 0) -> None:
        key = (slug, name_key(member))
        c, r = self._batch.members.get(key, (0, 0))
        self._batch.members[key] = (c + contributed, r + received)

    def _money(self, slug: str, *, balance: int = 0, contributed: int = 0, paid: int = 0, reserved: int = 0) -> None:
        b, c, p, r = self._batch.money.get(slug, (0, 0, 0, 0))
        self._batch.money[slug] = (b + balance, c + contributed, p + paid, r + reserved)

    def _fold(self, conn: Connection, slug: str, event: PotEvent) -> tuple[str | None, int]:
        """Update the tables for one event; return the member it is about and its balance change."""
        match event:
            case ContributionRecorded(member=member, amount_minor=amount, ref=ref, on=on):
                self._member(slug, member, contributed=amount)
                self._money(slug, balance=amount, contributed=amount)
                if ref is not None:
                    self._batch.refs.append(
                        {"slug": slug, "ref": ref, "no": event.no, "member": member, "amount": amount, "on": on}
                    )
                return member, amount
            case ContributionReversed(member=member, amount_minor=amount):
                self._member(slug, member, contributed=-amount)
                self._money(slug, balance=-amount, contributed=-amount)
                return member, -amount
            case VoteCast(proposal_no=no, member=member, position=position, reason=reason, on=on):
                self._batch.ballots.append(
                    {
                        "slug": slug,
                        "event_no": event.no,
                        "proposal_no": no,
                        "member": member,
                        "position": position,
                        "reason": reason,
                        "on": on,
                    }
                )
                return member, 0
            case MemberJoined(member=member, role=role, on=on):
                self._names[(slug, name_key(member))] = member
                conn.execute(
                    _insert_member,
                    {
                        "slug": slug,
                        "key": name_key(member),
                        "name": member,
                        "role": role,
                        "joined": on,
                        "joined_no": event.no,
                        "left": None,
                        "contributed": 0,
                        "received": 0,
                    },
                )
                return member, 0
            case MemberLeft(member=member, on=on):
                conn.execute(_set_left, {"s": slug, "k": name_key(member), "v": on})
                return member, 0
            case RoleChanged(member=member, role=role):
                conn.execute(_set_role, {"s": slug, "k": name_key(member), "v": role})
                return member, 0
            case WithdrawalProposed():
                self._batch.proposals[(slug, event.proposal_no)] = {
                    "slug": slug,
                    "no": event.proposal_no,
                    "event_no": event.no,
                    "proposer": event.actor,
                    "amount": event.amount_minor,
                    "purpose": event.purpose,
                    "recipient": event.recipient,
                    "proposed_on": event.on,
                    "closes": event.closes,
                    "status": "open",
                    "decided_on": None,
                    "approved": None,
                    "paid_on": None,
                }
                return event.actor, 0
            case ProposalDecided(proposal_no=no, outcome=outcome, on=on):
                approved = outcome == "approved"
                # A proposal made in this batch is still a row in memory; an older one is in the table.
                if (row := self._batch.proposals.get((slug, no))) is not None:
                    row.update(status=outcome, decided_on=on, approved=approved)
                    amount = int(row["amount"])
                else:
                    conn.execute(_set_decided, {"s": slug, "b_no": no, "v": outcome, "on": on, "approved": approved})
                    amount = int(conn.execute(_proposal_amount, {"s": slug, "b_no": no}).scalar_one())
                if approved:
                    self._money(slug, reserved=amount)
                return None, 0
            case ProposalCancelled(proposal_no=no, on=on):
                if (row := self._batch.proposals.get((slug, no))) is not None:
                    was, amount = row["status"], int(row["amount"])
                    row.update(status="cancelled", decided_on=on)
                else:
                    was, amount = conn.execute(_proposal_status_amount, {"s": slug, "b_no": no}).one()
                    conn.execute(_set_cancelled, {"s": slug, "b_no": no, "on": on})
                # An approved proposal cancelled before it was paid releases what it reserved.
                if was == "approved":
                    self._money(slug, reserved=-int(amount))
                return None, 0
            case WithdrawalPaid(proposal_no=no, amount_minor=amount, recipient=recipient, on=on):
                if (row := self._batch.proposals.get((slug, no))) is not None:
                    row.update(status="paid", paid_on=on)
                else:
                    conn.execute(_set_paid, {"s": slug, "b_no": no, "on": on})
                self._money(slug, balance=-amount, paid=amount, reserved=-amount)
                # Only a recipient who is a member has a `received` figure.
                found = self._member_name(conn, slug, recipient)
                if found is not None:
                    self._member(slug, recipient, received=amount)
                return found, -amount
            case WithdrawalRefunded(amount_minor=amount, recipient=recipient):
                # Money back (SPEC §8): the payout row stays; the pot's and the recipient's figures are net of it.
                self._money(slug, balance=amount, paid=-amount)
                found = self._member_name(conn, slug, recipient)
                if found is not None:
                    self._member(slug, recipient, received=-amount)
                return found, amount
            case RuleChangeProposed():
                # Listed with the withdrawals (SPEC §8), for 0.00 and to nobody; the rules it would set
                # are read from its history row.
                self._batch.proposals[(slug, event.proposal_no)] = {
                    "slug": slug,
                    "no": event.proposal_no,
                    "event_no": event.no,
                    "proposer": event.actor,
                    "amount": 0,
                    "purpose": event.purpose,
                    "recipient": "",
                    "proposed_on": event.on,
                    "closes": event.closes,
                    "status": "open",
                    "decided_on": None,
                    "approved": None,
                    "paid_on": None,
                }
                return event.actor, 0
            case RulesChanged(quorum=quorum, voting_days=days):
                # The pot's row shows the rules in force now; `pot rules --as-of` reads the history.
                conn.execute(_set_rules, {"s": slug, "q": quorum, "d": days})
                return None, 0
        return None, 0


class _Batch:
    """What one batch defers to its end: rows to insert in one go, and sums to add once."""

    def __init__(self) -> None:
        self.history: list[dict[str, Any]] = []
        self.ballots: list[dict[str, Any]] = []
        self.refs: list[dict[str, Any]] = []
        # (slug, proposal no) -> row, for proposals made in this batch
        self.proposals: dict[tuple[str, int], dict[str, Any]] = {}
        # (slug, member key) -> (contributed, received)
        self.members: dict[tuple[str, str], tuple[int, int]] = {}
        # slug -> (balance, contributed, paid out, reserved)
        self.money: dict[str, tuple[int, int, int, int]] = {}
        # slug -> (events, head digest) after the batch
        self.heads: dict[str, tuple[int, str]] = {}
        # slug -> the history row and event of the pot's last event so far, whose digest is not known yet
        self.last: dict[str, tuple[dict[str, Any], PotEvent]] = {}
