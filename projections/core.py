"""The core projection: pots, members, money, proposals, ballots and the audit trail.

`CoreProjection.apply` folds one event into the tables with prebuilt SQLAlchemy
Core statements. It is the only writer of those tables, used both by the
incremental catch-up and by `pot rebuild` and `verify`'s fresh fold, so the three
cannot drift apart.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import Connection, Table, bindparam, select, update

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
    VoteCast,
    WithdrawalPaid,
    WithdrawalProposed,
    payload,
    record_of,
)
from domain.values import name_key
from projections.tables import CORE_TABLES, ballots, history, members, pots, proposals

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


class CoreProjection:
    name = "core"
    tables: tuple[Table, ...] = CORE_TABLES

    def __init__(self) -> None:
        # pot id (hex) -> slug; pots never change slug, so this never goes stale.
        self._slugs: dict[str, str] = {}

    def _slug(self, conn: Connection, event: PotEvent) -> str:
        key = event.originator_id.hex
        slug = self._slugs.get(key)
        if slug is None:
            slug = conn.execute(select(pots.c.slug).where(pots.c.pot_id == key)).scalar_one()
            self._slugs[key] = slug
        return slug

    def apply(self, conn: Connection, event: PotEvent) -> None:
        if isinstance(event, PotOpened):
            self._slugs[event.originator_id.hex] = event.slug
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
        slug = self._slug(conn, event)
        subject, delta = self._fold(conn, slug, event)
        digest = chain.digest(record_of(event))
        conn.execute(
            history.insert().values(
                slug=slug,
                no=event.no,
                at=chain.iso_at(event.timestamp),
                on=event.on,
                type=event.TYPE,
                actor=event.actor,
                member=subject,
                delta=delta,
                fields=json.dumps(payload(event), ensure_ascii=False, sort_keys=True),
                digest=digest,
            )
        )
        conn.execute(_set_head, {"s": slug, "n": event.no, "h": digest})

    def _money(
        self, conn: Connection, slug: str, *, balance: int = 0, contributed: int = 0, paid: int = 0, reserved: int = 0
    ) -> None:
        conn.execute(
            _add_to_pot,
            {"s": slug, "d_balance": balance, "d_contributed": contributed, "d_paid": paid, "d_reserved": reserved},
        )

    def _fold(self, conn: Connection, slug: str, event: PotEvent) -> tuple[str | None, int]:
        """Update the tables for one event; return the member it is about and its balance change."""
        match event:
            case MemberJoined(member=member, role=role, on=on):
                conn.execute(
                    members.insert().values(
                        slug=slug,
                        key=name_key(member),
                        name=member,
                        role=role,
                        joined=on,
                        joined_no=event.no,
                        left=None,
                        contributed=0,
                        received=0,
                    )
                )
                return member, 0
            case MemberLeft(member=member, on=on):
                conn.execute(
                    update(members).where(members.c.slug == slug, members.c.key == name_key(member)).values(left=on)
                )
                return member, 0
            case RoleChanged(member=member, role=role):
                conn.execute(
                    update(members).where(members.c.slug == slug, members.c.key == name_key(member)).values(role=role)
                )
                return member, 0
            case ContributionRecorded(member=member, amount_minor=amount):
                conn.execute(
                    _add_to_member, {"s": slug, "k": name_key(member), "d_contributed": amount, "d_received": 0}
                )
                self._money(conn, slug, balance=amount, contributed=amount)
                return member, amount
            case ContributionReversed(member=member, amount_minor=amount):
                conn.execute(
                    _add_to_member, {"s": slug, "k": name_key(member), "d_contributed": -amount, "d_received": 0}
                )
                self._money(conn, slug, balance=-amount, contributed=-amount)
                return member, -amount
            case WithdrawalProposed():
                conn.execute(
                    proposals.insert().values(
                        slug=slug,
                        no=event.proposal_no,
                        event_no=event.no,
                        proposer=event.actor,
                        amount=event.amount_minor,
                        purpose=event.purpose,
                        recipient=event.recipient,
                        proposed_on=event.on,
                        closes=event.closes,
                        status="open",
                        decided_on=None,
                        approved=None,
                        paid_on=None,
                    )
                )
                return event.actor, 0
            case VoteCast(proposal_no=no, member=member, position=position, reason=reason, on=on):
                conn.execute(
                    ballots.insert().values(
                        slug=slug,
                        event_no=event.no,
                        proposal_no=no,
                        member=member,
                        position=position,
                        reason=reason,
                        on=on,
                    )
                )
                return member, 0
            case ProposalDecided(proposal_no=no, outcome=outcome, on=on):
                approved = outcome == "approved"
                conn.execute(
                    update(proposals)
                    .where(proposals.c.slug == slug, proposals.c.no == no)
                    .values(status=outcome, decided_on=on, approved=approved)
                )
                if approved:
                    amount = self._amount(conn, slug, no)
                    self._money(conn, slug, reserved=amount)
                return None, 0
            case ProposalCancelled(proposal_no=no, on=on):
                conn.execute(
                    update(proposals)
                    .where(proposals.c.slug == slug, proposals.c.no == no)
                    .values(status="cancelled", decided_on=on)
                )
                return None, 0
            case WithdrawalPaid(proposal_no=no, amount_minor=amount, recipient=recipient, on=on):
                conn.execute(
                    update(proposals)
                    .where(proposals.c.slug == slug, proposals.c.no == no)
                    .values(status="paid", paid_on=on)
                )
                self._money(conn, slug, balance=-amount, paid=amount, reserved=-amount)
                # Only a recipient who is a member has a `received` figure.
                found = conn.execute(
                    select(members.c.name).where(members.c.slug == slug, members.c.key == name_key(recipient))
                ).scalar_one_or_none()
                if found is not None:
                    conn.execute(
                        _add_to_member, {"s": slug, "k": name_key(recipient), "d_contributed": 0, "d_received": amount}
                    )
                return found, -amount
        return None, 0

    @staticmethod
    def _amount(conn: Connection, slug: str, no: int) -> int:
        value: Any = conn.execute(
            select(proposals.c.amount).where(proposals.c.slug == slug, proposals.c.no == no)
        ).scalar_one()
        return int(value)
