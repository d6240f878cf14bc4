"""The typed commands of the application API: one method per thing a crew does.

Each method takes parsed values (names, minor units, dates), runs one
get-decide-save through `LedgerBase.change` (the manner of the eventsourcing
library's `BankAccounts.deposit_funds`), and returns a small result: the event
number, the names as the pot stores them, what was decided. The domain checks
every rule; nothing here decides anything. Front ends (`cli.py`, `web/`) call
these methods and never touch a `Pot`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING

from domain.errors import Refused
from domain.events import PotEvent, ProposalDecided, WithdrawalPaid
from domain.pot import Pot
from domain.values import currency_digits

if TYPE_CHECKING:
    from ledger.app import LedgerBase as _Base
else:
    _Base = object


@dataclass(frozen=True)
class Recorded:
    """An event stored: its number, and the member it is about as the pot spells them."""

    no: int
    name: str
    # The events the command stored, in order: what a front end confirms (`event N: …`).
    events: tuple[PotEvent, ...] = field(default=(), compare=False, repr=False)


@dataclass(frozen=True)
class Decided:
    """A proposal that a command decided on the way (the last vote, or a voter leaving)."""

    proposal_no: int
    outcome: str


@dataclass(frozen=True)
class Removed:
    no: int
    name: str
    decided: tuple[Decided, ...]
    # The events the command stored, in order: what a front end confirms (`event N: …`).
    events: tuple[PotEvent, ...] = field(default=(), compare=False, repr=False)


@dataclass(frozen=True)
class Proposed:
    no: int
    proposal_no: int
    # What the pot had available (balance − reserved) when it was proposed, and the amount asked:
    # a proposal above it is accepted (the crew may be saving up), and a front end says so.
    available_minor: int = 0
    amount_minor: int = 0
    # The events the command stored, in order: what a front end confirms (`event N: …`).
    events: tuple[PotEvent, ...] = field(default=(), compare=False, repr=False)


@dataclass(frozen=True)
class Voted:
    """A vote stored; `status` is the proposal's after it (open, or decided by this vote).

    `repeated`: the voter's latest vote was already this one (position and reason), so nothing
    was stored and `no` is 0.
    """

    no: int
    voter: str
    status: str
    repeated: bool = False
    # The events the command stored, in order: what a front end confirms (`event N: …`).
    events: tuple[PotEvent, ...] = field(default=(), compare=False, repr=False)


@dataclass(frozen=True)
class ProposalNow:
    """A proposal after `close` or `cancel`, and the event that did it."""

    no: int
    proposal_no: int
    status: str
    # What cancelling an approved proposal released from the reserve (SPEC §1 edge cases).
    released_minor: int = 0
    # The events the command stored, in order: what a front end confirms (`event N: …`).
    events: tuple[PotEvent, ...] = field(default=(), compare=False, repr=False)


@dataclass(frozen=True)
class Paid:
    no: int
    proposal_no: int
    amount_minor: int
    recipient: str
    # The events the command stored, in order: what a front end confirms (`event N: …`).
    events: tuple[PotEvent, ...] = field(default=(), compare=False, repr=False)


def _stored(pot: Pot) -> tuple[PotEvent, ...]:
    """The events the command triggered, about to be saved: a pot triggers only PotEvents."""
    return tuple(e for e in pot.pending_events if isinstance(e, PotEvent))


def _decided(pot: Pot) -> tuple[Decided, ...]:
    return tuple(Decided(e.proposal_no, e.outcome) for e in pot.pending_events if isinstance(e, ProposalDecided))


class Commands(_Base):
    """Commands that change a pot. Mixed into `ledger.app.Ledger`."""

    def open_pot(
        self,
        *,
        slug: str,
        name: str,
        currency: str,
        quorum: Decimal,
        voting_days: int,
        treasurer: str,
        today: date,
    ) -> str:
        from eventsourcing.persistence import IntegrityError

        if self.exists(slug):
            raise Refused(f"a pot with slug {slug!r} already exists in this store")
        pot = Pot.open(
            slug=slug,
            name=name,
            currency=currency,
            digits=currency_digits(currency),
            quorum=quorum,
            voting_days=voting_days,
            treasurer=treasurer,
            today=today,
        )
        try:
            self.app.save(pot)
        except IntegrityError:
            # Deterministic ids: a conflict on create means someone opened it first.
            raise Refused(f"a pot with slug {slug!r} already exists in this store") from None
        self.catch_up()
        return slug

    # ------------------------------------------------------------------ membership
    def add_member(self, slug: str, *, actor: str, name: str, treasurer: bool, today: date) -> Recorded:
        def decide(pot: Pot) -> Recorded:
            added = pot.add_member(actor=actor, name=name, treasurer=treasurer, today=today)
            return Recorded(pot.version, added, events=_stored(pot))

        return self.change(slug, decide)

    def remove_member(self, slug: str, *, actor: str, name: str, today: date) -> Removed:
        def decide(pot: Pot) -> Removed:
            removed = pot.remove_member(actor=actor, name=name, today=today)
            # Leaving can complete a proposal that waited only for this member's vote.
            decided = _decided(pot)
            return Removed(pot.version - len(decided), removed, decided, events=_stored(pot))

        return self.change(slug, decide)

    def change_role(self, slug: str, *, actor: str, name: str, treasurer: bool, today: date) -> Recorded:
        def decide(pot: Pot) -> Recorded:
            changed = pot.change_role(actor=actor, name=name, treasurer=treasurer, today=today)
            return Recorded(pot.version, changed, events=_stored(pot))

        return self.change(slug, decide)

    # ------------------------------------------------------------------ money in
    def contribute(
        self,
        slug: str,
        *,
        actor: str,
        member: str,
        amount_minor: int,
        on: date,
        today: date,
        note: str = "",
        ref: str | None = None,
        income_minor: int | None = None,
    ) -> Recorded:
        def decide(pot: Pot) -> Recorded:
            no = pot.contribute(
                actor=actor,
                member=member,
                amount_minor=amount_minor,
                on=on,
                today=today,
                note=note,
                ref=ref,
                income_minor=income_minor,
            )
            return Recorded(no, pot.current_member(member).name, events=_stored(pot))

        return self.change(slug, decide)

    def reverse(self, slug: str, *, actor: str, contribution_no: int, reason: str, today: date) -> Recorded:
        def decide(pot: Pot) -> Recorded:
            no = pot.reverse(actor=actor, contribution_no=contribution_no, reason=reason, today=today)
            return Recorded(no, pot.current_member(actor).name, events=_stored(pot))

        return self.change(slug, decide)

    # ------------------------------------------------------------------ deciding together
    def propose(
        self,
        slug: str,
        *,
        actor: str,
        amount_minor: int,
        purpose: str,
        recipient: str | None,
        closes: date | None,
        today: date,
    ) -> Proposed:
        def decide(pot: Pot) -> Proposed:
            number = pot.propose(
                actor=actor, amount_minor=amount_minor, purpose=purpose, recipient=recipient, closes=closes, today=today
            )
            return Proposed(pot.version, number, pot.available_minor, amount_minor, events=_stored(pot))

        return self.change(slug, decide)

    def vote(self, slug: str, *, actor: str, proposal_no: int, position: str, reason: str, today: date) -> Voted:
        def decide(pot: Pot) -> Voted:
            status = pot.vote(actor=actor, proposal_no=proposal_no, position=position, reason=reason, today=today)
            if not pot.pending_events:
                return Voted(0, pot.current_member(actor).name, status, repeated=True)
            # The vote is the first event; a decision it completed follows it.
            no = pot.version - len(_decided(pot))
            return Voted(no, pot.current_member(actor).name, status, events=_stored(pot))

        return self.change(slug, decide)

    def close_proposal(self, slug: str, *, actor: str, proposal_no: int, today: date) -> ProposalNow:
        def decide(pot: Pot) -> ProposalNow:
            status = pot.close(actor=actor, proposal_no=proposal_no, today=today)
            return ProposalNow(pot.version, proposal_no, status, events=_stored(pot))

        return self.change(slug, decide)

    def cancel_proposal(self, slug: str, *, actor: str, proposal_no: int, today: date) -> ProposalNow:
        def decide(pot: Pot) -> ProposalNow:
            was = pot.state.proposals.get(proposal_no)
            released = was.amount_minor if was is not None and was.status == "approved" else 0
            pot.cancel(actor=actor, proposal_no=proposal_no, today=today)
            status = pot.proposal_status(proposal_no)
            return ProposalNow(pot.version, proposal_no, status, released, events=_stored(pot))

        return self.change(slug, decide)

    def pay(self, slug: str, *, actor: str, proposal_no: int, today: date) -> Paid:
        def decide(pot: Pot) -> Paid:
            no = pot.pay(actor=actor, proposal_no=proposal_no, today=today)
            paid = pot.pending_events[-1]
            if not isinstance(paid, WithdrawalPaid):
                raise RuntimeError(f"pay stored a {type(paid).__name__}, not a payout")
            return Paid(no, proposal_no, paid.amount_minor, paid.recipient, events=_stored(pot))

        return self.change(slug, decide)

    # ------------------------------------------------------------------ pledges, the game, reflection
    def set_pledge(
        self,
        slug: str,
        *,
        actor: str,
        member: str,
        percent: Decimal | None,
        monthly_minor: int | None,
        from_month: str,
        today: date,
        stop: bool = False,
    ) -> Recorded:
        def decide(pot: Pot) -> Recorded:
            no = pot.set_pledge(
                actor=actor,
                member=member,
                percent=percent,
                monthly_minor=monthly_minor,
                from_month=from_month,
                today=today,
                stop=stop,
            )
            return Recorded(no, pot.current_member(member).name, events=_stored(pot))

        return self.change(slug, decide)

    def play_game(
        self,
        slug: str,
        *,
        actor: str,
        game: str,
        on: date,
        today: date,
        participants: tuple[str, ...] = (),
        asker: str | None = None,
        offered: tuple[str, ...] = (),
        missed: tuple[str, ...] = (),
        resolved: bool | None = None,
    ) -> Recorded:
        def decide(pot: Pot) -> Recorded:
            no = pot.play_game(
                actor=actor,
                game=game,
                on=on,
                today=today,
                participants=participants,
                asker=asker,
                offered=offered,
                missed=missed,
                resolved=resolved,
            )
            return Recorded(no, pot.current_member(actor).name, events=_stored(pot))

        return self.change(slug, decide)

    def reflect(self, slug: str, *, actor: str, event_no: int, feeling: str, note: str, today: date) -> Recorded:
        def decide(pot: Pot) -> Recorded:
            no = pot.reflect(actor=actor, event_no=event_no, feeling=feeling, note=note, today=today)
            return Recorded(no, pot.current_member(actor).name, events=_stored(pot))

        return self.change(slug, decide)
