"""The `Pot` commands of deciding together: propose, vote, close, cancel, pay, refund, propose rules.

`ProposalCommands` is a base of `Pot` (domain.pot). Each command asks its guard
in domain.proposal_rules whether SPEC §1 (and §8) allows it, then triggers the
event with the fields the guard returned, as the other commands of `Pot` do.
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

from domain import proposal_rules
from domain.events import (
    ProposalCancelled,
    ProposalDecided,
    RuleChangeProposed,
    RulesChanged,
    RuleSet,
    Status,
    VoteCast,
    WithdrawalPaid,
    WithdrawalProposed,
    WithdrawalRefunded,
)
from domain.signing import Signature, Signer
from domain.state import PotLookups, ProposalState

if TYPE_CHECKING:
    from domain.pot import Pot


class ProposalCommands(PotLookups):
    """A base of `Pot`: the commands on proposals, and the decision a vote or a close makes.

    Each method is checked as `Pot`'s (`self: Pot`): it uses `Pot`'s `_emit`, `_signed` and `version`,
    and passes the pot to its guard. mypy wants a mixin's self type to be a supertype of the mixin,
    hence `ignore[misc]` on each `def`.
    """

    def propose(  # type: ignore[misc]
        self: Pot,
        *,
        actor: str,
        amount_minor: int,
        purpose: str,
        recipient: str | None,
        closes: date | None,
        today: date,
        signature: Signature | Signer | None = None,
        seen_no: int | None = None,
    ) -> int:
        proposer, fields = proposal_rules.proposal(
            self,
            actor=actor,
            amount_minor=amount_minor,
            purpose=purpose,
            recipient=recipient,
            closes=closes,
            today=today,
        )
        signed = self._signed(WithdrawalProposed, proposer.name, {**fields, "on": today}, signature, seen_no)
        self._emit(WithdrawalProposed, actor=proposer.name, on=today, **fields, **signed)
        return int(fields["proposal_no"])

    def vote(  # type: ignore[misc]
        self: Pot,
        *,
        actor: str,
        proposal_no: int,
        position: str,
        reason: str,
        today: date,
        signature: Signature | Signer | None = None,
        seen_no: int | None = None,
    ) -> Status:
        voter, fields = proposal_rules.vote(
            self, actor=actor, proposal_no=proposal_no, position=position, reason=reason, today=today
        )
        proposal = self.state.proposals[proposal_no]
        # The same vote again (position and reason) changes nothing, so nothing is stored (issue 18, defect 9).
        if self.repeats_vote(proposal, voter.name, fields["position"], fields["reason"]):
            return proposal.status
        signed = self._signed(VoteCast, voter.name, {**fields, "on": today}, signature, seen_no)
        self._emit(VoteCast, actor=voter.name, on=today, **fields, **signed)
        if self.everyone_voted(proposal):
            self._decide(proposal, actor=voter.name, today=today)
        return self.proposal_status(proposal_no)

    def close(self: Pot, *, actor: str, proposal_no: int, today: date) -> Status:  # type: ignore[misc]
        closer, proposal = proposal_rules.closing(self, actor=actor, proposal_no=proposal_no, today=today)
        self._decide(proposal, actor=closer.name, today=today)
        return self.proposal_status(proposal_no)

    def cancel(self: Pot, *, actor: str, proposal_no: int, today: date) -> None:  # type: ignore[misc]
        canceller = proposal_rules.cancelling(self, actor=actor, proposal_no=proposal_no)
        self._emit(ProposalCancelled, actor=canceller.name, on=today, proposal_no=proposal_no)

    def pay(  # type: ignore[misc]
        self: Pot,
        *,
        actor: str,
        proposal_no: int,
        today: date,
        signature: Signature | Signer | None = None,
        seen_no: int | None = None,
        receipt_sha256: str | None = None,
    ) -> int:
        acting, proposal = proposal_rules.payout(self, actor=actor, proposal_no=proposal_no, today=today, funds=True)
        receipt = {} if receipt_sha256 is None else {"receipt_sha256": proposal_rules.receipt(receipt_sha256)}
        signed = self._signed(WithdrawalPaid, acting.name, {"proposal_no": proposal_no}, signature, seen_no)
        self._emit(
            WithdrawalPaid,
            actor=acting.name,
            on=today,
            proposal_no=proposal_no,
            amount_minor=proposal.amount_minor,
            recipient=proposal.recipient,
            **signed,
            **receipt,
        )
        return self.version

    def refund(self: Pot, *, actor: str, proposal_no: int, amount_minor: int, reason: str, today: date) -> int:  # type: ignore[misc]
        """Money of a paid proposal that came back (SPEC §8): recorded by a treasurer, the payout stays."""
        acting, fields = proposal_rules.refund(
            self, actor=actor, proposal_no=proposal_no, amount_minor=amount_minor, reason=reason, today=today
        )
        self._emit(WithdrawalRefunded, actor=acting.name, on=today, **fields)
        return self.version

    def propose_rules(  # type: ignore[misc]
        self: Pot,
        *,
        actor: str,
        purpose: str,
        changes: RuleSet,
        closes: date | None,
        today: date,
    ) -> int:
        """Propose new rules (SPEC §8), decided like a withdrawal; returns its proposal number."""
        proposer, fields = proposal_rules.rule_change(
            self, actor=actor, purpose=purpose, changes=changes, closes=closes, today=today
        )
        self._emit(RuleChangeProposed, actor=proposer.name, on=today, **fields)
        return int(fields["proposal_no"])

    def _decide(self: Pot, proposal: ProposalState, *, actor: str, today: date) -> None:  # type: ignore[misc]
        self._emit(ProposalDecided, actor=actor, on=today, **self.decision(proposal))
        # An approved rule change is in force at once, from the command that decided it (SPEC §8).
        if self.rules_due() is proposal:
            self._emit(
                RulesChanged, actor=actor, on=today, **proposal_rules.rules_in_force(self, proposal_no=proposal.no)
            )
