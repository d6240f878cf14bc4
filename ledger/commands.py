"""The typed commands of the application API: one method per thing a crew does.

Each method takes parsed values (names, minor units, dates), runs one
get-decide-save through `LedgerBase.change` (the manner of the eventsourcing
library's `BankAccounts.deposit_funds`), and returns a small result: the event
number, the names as the pot stores them, what was decided. The domain checks
every rule; nothing here decides anything. Front ends (`cli.py`, `web/`) call
these methods and never touch a `Pot`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Protocol

from domain.errors import Refused
from domain.events import PotEvent, ProposalDecided, RuleSet, WithdrawalPaid
from domain.pot import Pot
from domain.signing import Signature, Signer, b64url, proof_message
from domain.values import currency_digits
from projections.proposal_queries import paid_and_refunded

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


class Keyring(Protocol):
    """The private keys a front end holds on this machine (ledger.keys.LocalKeys for the command line)."""

    def signer(self, slug: str, member: str, active: list[str]) -> Signer | None:
        """The key to sign with for `member` in pot `slug`, given their keys in force there (oldest first)."""
        ...


def _decided(pot: Pot) -> tuple[Decided, ...]:
    return tuple(Decided(e.proposal_no, e.outcome) for e in pot.pending_events if isinstance(e, ProposalDecided))


class Commands(_Base):
    """Commands that change a pot. Mixed into `ledger.app.Ledger`.

    The six commands SPEC §7 lets an actor sign take `signature`, made by a client
    that holds the key (a browser); without one, a `keyring` the front end set
    (the command line's key files) signs when it holds a key of the actor's in
    force in the pot, and otherwise the event is unsigned.
    """

    keyring: Keyring | None = None

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
        signed_votes: bool = False,
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
            signed_votes=signed_votes,
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
        signature: Signature | None = None,
    ) -> Recorded:
        def decide(pot: Pot) -> Recorded:
            signed, seen_no = self._signing(pot, actor, signature)
            no = pot.contribute(
                actor=actor,
                member=member,
                amount_minor=amount_minor,
                on=on,
                today=today,
                note=note,
                ref=ref,
                income_minor=income_minor,
                signature=signed,
                seen_no=seen_no,
            )
            return Recorded(no, pot.current_member(member).name, events=_stored(pot))

        return self.change(slug, decide)

    def reverse(
        self,
        slug: str,
        *,
        actor: str,
        contribution_no: int,
        reason: str,
        today: date,
        signature: Signature | None = None,
    ) -> Recorded:
        def decide(pot: Pot) -> Recorded:
            signed, seen_no = self._signing(pot, actor, signature)
            no = pot.reverse(
                actor=actor,
                contribution_no=contribution_no,
                reason=reason,
                today=today,
                signature=signed,
                seen_no=seen_no,
            )
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
        signature: Signature | None = None,
    ) -> Proposed:
        def decide(pot: Pot) -> Proposed:
            signed, seen_no = self._signing(pot, actor, signature)
            number = pot.propose(
                actor=actor,
                amount_minor=amount_minor,
                purpose=purpose,
                recipient=recipient,
                closes=closes,
                today=today,
                signature=signed,
                seen_no=seen_no,
            )
            return Proposed(pot.version, number, pot.available_minor, amount_minor, events=_stored(pot))

        return self.change(slug, decide)

    def vote(
        self,
        slug: str,
        *,
        actor: str,
        proposal_no: int,
        position: str,
        reason: str,
        today: date,
        signature: Signature | None = None,
    ) -> Voted:
        def decide(pot: Pot) -> Voted:
            signed, seen_no = self._signing(pot, actor, signature)
            status = pot.vote(
                actor=actor,
                proposal_no=proposal_no,
                position=position,
                reason=reason,
                today=today,
                signature=signed,
                seen_no=seen_no,
            )
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

    def pay(
        self,
        slug: str,
        *,
        actor: str,
        proposal_no: int,
        today: date,
        signature: Signature | None = None,
        receipt: bytes | None = None,
    ) -> Paid:
        """Pay an approved proposal; `receipt` (PDF, PNG or JPEG bytes) is kept with the payout (SPEC §8)."""
        from ledger import receipts

        # Checked before the pot is loaded: a file that is not a receipt changes nothing.
        sha = None if receipt is None else receipts.checked(receipt)

        def decide(pot: Pot) -> Paid:
            signed, seen_no = self._signing(pot, actor, signature)
            no = pot.pay(
                actor=actor,
                proposal_no=proposal_no,
                today=today,
                signature=signed,
                seen_no=seen_no,
                receipt_sha256=sha,
            )
            if receipt is not None:
                # Kept once the rules passed, before the event is saved: a payout never names missing bytes.
                # Should the save then fail, the row is an unnamed receipt, which changes no pot.
                self.receipts.keep(receipt)
            paid = pot.pending_events[-1]
            if not isinstance(paid, WithdrawalPaid):
                raise RuntimeError(f"pay stored a {type(paid).__name__}, not a payout")
            return Paid(no, proposal_no, paid.amount_minor, paid.recipient, events=_stored(pot))

        return self.change(slug, decide)

    def refund(
        self, slug: str, *, actor: str, proposal_no: int, amount_minor: int, reason: str, today: date
    ) -> Recorded:
        """Money of a paid proposal that came back (SPEC §8), recorded by a treasurer; `name` is who gave it back."""

        def decide(pot: Pot) -> Recorded:
            self._recall_payout(pot, proposal_no)
            no = pot.refund(actor=actor, proposal_no=proposal_no, amount_minor=amount_minor, reason=reason, today=today)
            refunded = pot.pending_events[-1]
            return Recorded(no, getattr(refunded, "recipient", ""), events=_stored(pot))

        return self.change(slug, decide)

    def _recall_payout(self, pot: Pot, proposal_no: int) -> None:
        """Give a pot loaded from a snapshot older than `PotState.payouts` the payout it lacks, from the views."""
        if pot.state.ended.get(proposal_no) != "paid" or proposal_no in pot.state.payouts:
            return
        from domain.state import PayoutState

        with self.read() as conn:
            found = paid_and_refunded(conn, pot.slug, proposal_no)
        if found is not None:
            amount, recipient, on, back = found
            pot.state.payouts[proposal_no] = PayoutState(
                amount_minor=amount, recipient=recipient, on=on, refunded_minor=back
            )

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

    def reflect(
        self,
        slug: str,
        *,
        actor: str,
        event_no: int,
        feeling: str,
        note: str,
        today: date,
        signature: Signature | None = None,
    ) -> Recorded:
        def decide(pot: Pot) -> Recorded:
            signed, seen_no = self._signing(pot, actor, signature)
            no = pot.reflect(
                actor=actor,
                event_no=event_no,
                feeling=feeling,
                note=note,
                today=today,
                signature=signed,
                seen_no=seen_no,
            )
            return Recorded(no, pot.current_member(actor).name, events=_stored(pot))

        return self.change(slug, decide)

    # ------------------------------------------------------------------ keys and signatures (SPEC §7)
    def add_key(
        self, slug: str, actor: str, public_key: str, proof: str | Callable[[bytes], bytes], today: date
    ) -> Recorded:
        """Register a key for `actor`, who registers only for themself; `proof` is the key's signature over
        `domain.signing.proof_message`, or a function that makes it (the actor's name as the pot stores it)."""

        def decide(pot: Pot) -> Recorded:
            given = proof
            if callable(given):
                name = pot.current_member(actor).name
                given = b64url(given(proof_message(pot=pot.slug, actor=name, public_key=public_key)))
            no = pot.add_key(actor=actor, public_key=public_key, proof=given, today=today)
            return Recorded(no, pot.current_member(actor).name, events=_stored(pot))

        return self.change(slug, decide)

    def revoke_key(self, slug: str, *, actor: str, key_id: str, today: date) -> Recorded:
        def decide(pot: Pot) -> Recorded:
            no = pot.revoke_key(actor=actor, key_id=key_id, today=today)
            return Recorded(no, pot.current_member(actor).name, events=_stored(pot))

        return self.change(slug, decide)

    def _signing(self, pot: Pot, actor: str, given: Signature | None) -> tuple[Signature | Signer | None, int | None]:
        """What signs a command, and the number of the event its `seen` names (None: not in the chain)."""
        if given is not None:
            return given, self._seen_no(pot, given.seen)
        member = pot.find_member(actor)
        if self.keyring is None or member is None:
            return None, None  # Unsigned; a non-member is refused by the command's own guard.
        active = [k for k, key in pot.state.keys.items() if key.member == member.name and key.revoked is None]
        return self.keyring.signer(pot.slug, member.name, active), None

    def _seen_no(self, pot: Pot, seen: str) -> int | None:
        """The number of the pot's event with digest `seen`, if it is in the chain so far."""
        from sqlalchemy import select

        from projections.tables import history

        if seen == pot.state.head:
            return pot.version
        query = select(history.c.no).where(
            history.c.slug == pot.slug, history.c.digest == seen, history.c.no <= pot.version
        )
        for attempt in range(2):
            with self.reader.begin() as conn:
                found = conn.execute(query).scalar_one_or_none()
            if found is not None or attempt:
                return None if found is None else int(found)
            self.catch_up()  # The views may not have folded what another process stored.
        return None

    # ------------------------------------------------------------------ rules changed by consent (SPEC §8)
    def propose_rules(
        self,
        slug: str,
        *,
        actor: str,
        purpose: str,
        quorum: Decimal | None = None,
        voting_days: int | None = None,
        signed_votes: bool | None = None,
        today: date,
    ) -> Proposed:
        """Propose new rules; `None` leaves a rule as it is. Decided like a withdrawal, with nothing to pay."""
        changes = RuleSet(
            quorum=None if quorum is None else str(quorum), voting_days=voting_days, signed_votes=signed_votes
        )

        def decide(pot: Pot) -> Proposed:
            number = pot.propose_rules(actor=actor, purpose=purpose, changes=changes, closes=None, today=today)
            return Proposed(pot.version, number, pot.available_minor, 0, events=_stored(pot))

        return self.change(slug, decide)
