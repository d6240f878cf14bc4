"""The fold of a pot's events: `Pot.evolve`, the one place where an event changes a pot's state.

`FoldsEvents` is a base of `Pot` (domain.pot). `evolve` runs both when an event
is new and on every replay, so it holds no rule checks, no clock and no I/O;
the state it folds into is domain.state's `PotState`.
"""

from __future__ import annotations

from domain import chain
from domain.errors import Tampered
from domain.events import (
    ContributionRecorded,
    ContributionReversed,
    GamePlayed,
    MemberJoined,
    MemberKeyAdded,
    MemberKeyRevoked,
    MemberLeft,
    PledgeSet,
    PotEvent,
    PotOpened,
    ProposalCancelled,
    ProposalDecided,
    ReflectionNoted,
    RoleChanged,
    RuleChangeProposed,
    RulesChanged,
    VoteCast,
    WithdrawalPaid,
    WithdrawalProposed,
    WithdrawalRefunded,
    record_of,
)
from domain.past import Contribution, RemembersContributions
from domain.state import KeyState, MemberState, PayoutState, PotLookups, ProposalState
from domain.values import name_key


class FoldsEvents(PotLookups, RemembersContributions):
    """A base of `Pot`: how each event changes its state (`evolve`)."""

    def evolve(self, event: PotEvent) -> None:
        """Apply one event to the state. Runs on replay: no rule checks, no clock, no I/O."""
        s = self.state
        if event.prev != s.head:
            # Not a rule but the chain: a state (a snapshot) that is not the one this event followed.
            raise Tampered(
                f"event {event.no} of pot {s.slug!r} does not follow the state it is folded onto: run `pot verify`"
            )
        match event:
            case PotOpened():
                pass  # __init__ built the state from the event's fields.
            case MemberJoined(member=member, role=role, on=on):
                s.members[name_key(member)] = MemberState(name=member, role=role, joined=on)
            case MemberLeft(member=member, on=on):
                s.members[name_key(member)].left = on
            case RoleChanged(member=member, role=role):
                s.members[name_key(member)].role = role
            case ContributionRecorded(member=member, amount_minor=amount, on=on, ref=ref):
                s.balance_minor += amount
                self._remember(Contribution(event.no, member, amount, on, ref))
            case ContributionReversed(contribution_no=no, amount_minor=amount):
                s.reversed_nos.add(no)
                s.balance_minor -= amount
            case WithdrawalProposed():
                s.proposals[event.proposal_no] = ProposalState(
                    no=event.proposal_no,
                    proposer=event.actor,
                    amount_minor=event.amount_minor,
                    purpose=event.purpose,
                    recipient=event.recipient,
                    closes=event.closes,
                    eligible=list(event.eligible),
                    proposed=event.on,
                )
            case VoteCast(proposal_no=no, member=member, position=position, reason=reason, signature=signature):
                # Under `signed_votes` a decision counts signed votes only (SPEC §7): an unsigned
                # one, which no command takes, stays in the log for `verify` to name, uncounted.
                # The rule is the one in force when the proposal was made (SPEC §8).
                if signature is not None or not self.signed_votes_for(no):
                    s.proposals[no].votes[member] = position
                    s.proposals[no].reasons[member] = reason
            case ProposalDecided(proposal_no=no, outcome="approved"):
                s.proposals[no].status = "approved"
                s.proposals[no].decided = event.on
                s.proposals[no].approved_no = event.no
            case ProposalDecided(proposal_no=no):
                del s.proposals[no]
                s.ended[no] = "rejected"
            case ProposalCancelled(proposal_no=no):
                del s.proposals[no]
                s.ended[no] = "cancelled"
            case WithdrawalPaid(proposal_no=no, amount_minor=amount, recipient=recipient, on=on):
                del s.proposals[no]
                s.ended[no] = "paid"
                s.balance_minor -= amount
                s.payouts[no] = PayoutState(amount_minor=amount, recipient=recipient, on=on)
            case WithdrawalRefunded(proposal_no=no, amount_minor=amount):
                s.balance_minor += amount
                # A payout a snapshot older than `payouts` lacks is given back by the ledger before a refund
                # (Commands._recall_payout), with what came back since: nothing to add to here.
                if (payout := s.payouts.get(no)) is not None:
                    payout.refunded_minor += amount
            case ReflectionNoted():
                s.reflection_nos.add(event.no)
            case MemberKeyAdded(member=member, key_id=key_id, public_key=public_key):
                s.keys[key_id] = KeyState(member=member, public_key=public_key, added=event.no)
            case MemberKeyRevoked(key_id=key_id):
                s.keys[key_id].revoked = event.no
            case RuleChangeProposed():
                s.proposals[event.proposal_no] = ProposalState(
                    no=event.proposal_no,
                    proposer=event.actor,
                    amount_minor=0,
                    purpose=event.purpose,
                    recipient="",
                    closes=event.closes,
                    eligible=list(event.eligible),
                    proposed=event.on,
                    changes=event.rules,
                )
            case RulesChanged(proposal_no=no):
                # Every proposal still in play keeps the rules it was made under (see ProposalState.quorum).
                for live in s.proposals.values():
                    if live.quorum is None:
                        live.quorum, live.voting_days, live.signed_votes = s.quorum, s.voting_days, s.signed_votes
                s.quorum, s.voting_days, s.signed_votes = event.quorum, event.voting_days, event.signed_votes
                s.proposals[no].enacted = True
            case PledgeSet() | GamePlayed():
                pass  # Views read these; no rule depends on them.
        s.head = chain.digest(record_of(event))
