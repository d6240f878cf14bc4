"""The application API's commands of deciding together: propose, vote, close, cancel, pay, refund, propose rules.

Each method runs one get-decide-save through `LedgerBase.change`, as in
ledger.commands, and returns a result of ledger.results; the domain checks
every rule.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from domain.events import RuleSet, WithdrawalPaid
from domain.pot import Pot
from domain.signing import Signature
from ledger.key_commands import KeyCommands
from ledger.results import Paid, ProposalNow, Proposed, Recorded, Voted, decisions_made, stored_events
from projections.proposal_queries import paid_and_refunded


class DecidingCommands(KeyCommands):
    """Commands on proposals, rule changes included. Mixed into `ledger.app.Ledger` through `Commands`."""

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
            return Proposed(pot.version, number, pot.available_minor, amount_minor, events=stored_events(pot))

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
            no = pot.version - len(decisions_made(pot))
            return Voted(no, pot.current_member(actor).name, status, events=stored_events(pot))

        return self.change(slug, decide)

    def close_proposal(self, slug: str, *, actor: str, proposal_no: int, today: date) -> ProposalNow:
        def decide(pot: Pot) -> ProposalNow:
            status = pot.close(actor=actor, proposal_no=proposal_no, today=today)
            return ProposalNow(pot.version, proposal_no, status, events=stored_events(pot))

        return self.change(slug, decide)

    def cancel_proposal(self, slug: str, *, actor: str, proposal_no: int, today: date) -> ProposalNow:
        def decide(pot: Pot) -> ProposalNow:
            was = pot.state.proposals.get(proposal_no)
            released = was.amount_minor if was is not None and was.status == "approved" else 0
            pot.cancel(actor=actor, proposal_no=proposal_no, today=today)
            status = pot.proposal_status(proposal_no)
            return ProposalNow(pot.version, proposal_no, status, released, events=stored_events(pot))

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
            return Paid(no, proposal_no, paid.amount_minor, paid.recipient, events=stored_events(pot))

        return self.change(slug, decide)

    def refund(
        self, slug: str, *, actor: str, proposal_no: int, amount_minor: int, reason: str, today: date
    ) -> Recorded:
        """Money of a paid proposal that came back (SPEC §8), recorded by a treasurer; `name` is who gave it back."""

        def decide(pot: Pot) -> Recorded:
            self._recall_payout(pot, proposal_no)
            no = pot.refund(actor=actor, proposal_no=proposal_no, amount_minor=amount_minor, reason=reason, today=today)
            refunded = pot.pending_events[-1]
            return Recorded(no, getattr(refunded, "recipient", ""), events=stored_events(pot))

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
            return Proposed(pot.version, number, pot.available_minor, 0, events=stored_events(pot))

        return self.change(slug, decide)
