"""The Pot aggregate: one crew's pot, its commands and its fold.

Each command asks its guard in domain.rules whether SPEC §1 allows it, which
raises before anything changes, then triggers the event with the fields the
guard returned. `evolve` is the fold: the one place where an event changes
state, run both when the event is new and on every replay, so it holds no rule
checks and no I/O. The state it folds into is domain.state's `PotState`.

Single past contributions (for a reversal, or a repeated `ref`) are not in the
state: the pot keeps those it folded itself, and asks the rest of `past`, a
`domain.past.PastContributions` that the ledger attaches.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from eventsourcing.domain import BaseAggregate, CanSnapshotAggregate
from eventsourcing.utils import get_topic
from pydantic import BaseModel, ConfigDict

from domain import chain, rules
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
    RuleSet,
    Status,
    VoteCast,
    WithdrawalPaid,
    WithdrawalProposed,
    WithdrawalRefunded,
    record_of,
)
from domain.past import Contribution, RemembersContributions
from domain.signing import Signature, Signer, signed_fields
from domain.state import KeyState, MemberState, PayoutState, PotLookups, PotState, ProposalState
from domain.values import name_key

# Pots are natural keys: the same slug always maps to the same aggregate id.
POT_NAMESPACE = uuid.UUID("0b6f4a52-2f3c-4d84-9a55-6c0a3f1e9d21")


def pot_id(slug: str) -> uuid.UUID:
    return uuid.uuid5(POT_NAMESPACE, slug)


class Pot(PotLookups, RemembersContributions, BaseAggregate[uuid.UUID]):
    """A crew's pot. Its event numbers are the aggregate's versions, from 1.

    What its rules ask of its state (members, proposals, decisions) is in `PotLookups`,
    how it looks up single past contributions in `RemembersContributions`.
    """

    class Snapshot(BaseModel, CanSnapshotAggregate[uuid.UUID]):
        """The whole pot state at one version, so long-lived pots load fast."""

        model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)
        originator_id: uuid.UUID
        originator_version: int
        timestamp: datetime
        topic: str
        state: PotState
        # The state's digest when taken ("" in snapshots taken before it was kept): a snapshot
        # edited in the store no longer matches it, and is refused instead of acted on.
        state_hash: str = ""

        @classmethod
        def take(cls, aggregate: Any) -> Pot.Snapshot:
            pot: Pot = aggregate
            return cls(
                originator_id=pot.id,
                originator_version=pot.version,
                timestamp=cls.create_timestamp(),
                topic=get_topic(type(pot)),
                # The library takes snapshots of a freshly loaded pot, so no copy is needed.
                state=pot.state,
                state_hash=pot.state.digest(),
            )

        def mutate(self, _: Any) -> Any:
            if self.state_hash and self.state.digest() != self.state_hash:
                raise Tampered(
                    f"the stored snapshot of pot {self.state.slug!r} at event {self.originator_version} was changed"
                    " after it was taken: run `pot verify`"
                )
            pot = object.__new__(Pot)
            pot.__base_init__(self.originator_id, self.originator_version, self.timestamp)
            # A decoded snapshot is used once, so the pot may own its state outright.
            pot.state = self.state
            pot._remember_from(self.originator_version + 1)
            return pot

    def __init__(
        self,
        slug: str,
        name: str,
        currency: str,
        digits: int,
        quorum: str,
        voting_days: int,
        signed_votes: bool = False,
    ) -> None:
        self.state = PotState(
            slug=slug, name=name, currency=currency, digits=digits, quorum=quorum, voting_days=voting_days
        )
        self.state.signed_votes = signed_votes
        self._remember_from(1)

    # ----------------------------------------------------------------- opening
    @classmethod
    def open(
        cls,
        *,
        slug: str,
        name: str,
        currency: str,
        digits: int,
        quorum: Decimal,
        voting_days: int,
        treasurer: str,
        today: date,
        signed_votes: bool = False,
    ) -> Pot:
        fields = rules.opening(
            slug=slug,
            name=name,
            currency=currency,
            digits=digits,
            quorum=str(quorum),
            voting_days=voting_days,
            treasurer=treasurer,
        )
        opener = fields.pop("treasurer")
        pot = cls._create(
            PotOpened,
            id=pot_id(slug),
            actor=opener,
            on=today,
            prev=chain.GENESIS,
            digits=digits,
            voting_days=voting_days,
            signed_votes=signed_votes,
            **fields,
        )
        pot._emit(MemberJoined, actor=opener, on=today, member=opener, role="treasurer")
        return pot

    def release_recent(self) -> None:
        """Hand the contributions folded in this process to `past`, once they are stored.

        A long import calls this after storing each part, so the pot holds one part
        at a time however long the file; without a `past`, the pot keeps them.
        """
        if not self.pending_events:
            self._hand_over(self.version + 1)

    # ------------------------------------------------------------- membership
    def add_member(self, *, actor: str, name: str, treasurer: bool, today: date) -> str:
        acting, member = rules.joining(self, actor=actor, name=name)
        role = "treasurer" if treasurer else "member"
        self._emit(MemberJoined, actor=acting.name, on=today, member=member, role=role)
        return member

    def remove_member(self, *, actor: str, name: str, today: date) -> str:
        acting, member = rules.leaving(self, actor=actor, name=name)
        self._emit(MemberLeft, actor=acting.name, on=today, member=member.name)
        # A proposal whose remaining voters have all voted is now complete.
        for proposal in list(self.state.proposals.values()):
            if proposal.status == "open" and self.everyone_voted(proposal):
                self._decide(proposal, actor=acting.name, today=today)
        return member.name

    def change_role(self, *, actor: str, name: str, treasurer: bool, today: date) -> str:
        role = "treasurer" if treasurer else "member"
        acting, member = rules.role_change(self, actor=actor, name=name, role=role)
        self._emit(RoleChanged, actor=acting.name, on=today, member=member.name, role=role)
        return member.name

    # ------------------------------------------------------------- money in
    def contribute(
        self,
        *,
        actor: str,
        member: str,
        amount_minor: int,
        on: date,
        today: date,
        note: str = "",
        ref: str | None = None,
        income_minor: int | None = None,
        signature: Signature | Signer | None = None,
        seen_no: int | None = None,
    ) -> int:
        acting, fields = rules.contribution(
            self,
            actor=actor,
            member=member,
            amount_minor=amount_minor,
            on=on,
            today=today,
            note=note,
            ref=ref,
            income_minor=income_minor,
        )
        signed = self._signed(ContributionRecorded, acting.name, {**fields, "on": on}, signature, seen_no)
        self._emit(ContributionRecorded, actor=acting.name, on=on, **fields, **signed)
        return self.version

    def reverse(
        self,
        *,
        actor: str,
        contribution_no: int,
        reason: str,
        today: date,
        signature: Signature | Signer | None = None,
        seen_no: int | None = None,
    ) -> int:
        acting, found, why = rules.reversal(
            self, actor=actor, contribution_no=contribution_no, reason=reason, today=today, funds=True
        )
        fields = {"contribution_no": contribution_no, "member": found.member, "amount_minor": found.amount_minor}
        signed = self._signed(
            ContributionReversed, acting.name, {**fields, "reason": why, "on": today}, signature, seen_no
        )
        self._emit(
            ContributionReversed,
            actor=acting.name,
            on=today,
            contribution_no=contribution_no,
            member=found.member,
            amount_minor=found.amount_minor,
            reason=why,
            **signed,
        )
        return self.version

    # ------------------------------------------------------------- proposals
    def propose(
        self,
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
        proposer, fields = rules.proposal(
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

    def vote(
        self,
        *,
        actor: str,
        proposal_no: int,
        position: str,
        reason: str,
        today: date,
        signature: Signature | Signer | None = None,
        seen_no: int | None = None,
    ) -> Status:
        voter, fields = rules.vote(
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

    def close(self, *, actor: str, proposal_no: int, today: date) -> Status:
        closer, proposal = rules.closing(self, actor=actor, proposal_no=proposal_no, today=today)
        self._decide(proposal, actor=closer.name, today=today)
        return self.proposal_status(proposal_no)

    def cancel(self, *, actor: str, proposal_no: int, today: date) -> None:
        canceller = rules.cancelling(self, actor=actor, proposal_no=proposal_no)
        self._emit(ProposalCancelled, actor=canceller.name, on=today, proposal_no=proposal_no)

    def pay(
        self,
        *,
        actor: str,
        proposal_no: int,
        today: date,
        signature: Signature | Signer | None = None,
        seen_no: int | None = None,
        receipt_sha256: str | None = None,
    ) -> int:
        acting, proposal = rules.payout(self, actor=actor, proposal_no=proposal_no, today=today, funds=True)
        receipt = {} if receipt_sha256 is None else {"receipt_sha256": rules.receipt(receipt_sha256)}
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

    def refund(self, *, actor: str, proposal_no: int, amount_minor: int, reason: str, today: date) -> int:
        """Money of a paid proposal that came back (SPEC §8): recorded by a treasurer, the payout stays."""
        acting, fields = rules.refund(
            self, actor=actor, proposal_no=proposal_no, amount_minor=amount_minor, reason=reason, today=today
        )
        self._emit(WithdrawalRefunded, actor=acting.name, on=today, **fields)
        return self.version

    def propose_rules(
        self,
        *,
        actor: str,
        purpose: str,
        changes: RuleSet,
        closes: date | None,
        today: date,
    ) -> int:
        """Propose new rules (SPEC §8), decided like a withdrawal; returns its proposal number."""
        proposer, fields = rules.rule_change(
            self, actor=actor, purpose=purpose, changes=changes, closes=closes, today=today
        )
        self._emit(RuleChangeProposed, actor=proposer.name, on=today, **fields)
        return int(fields["proposal_no"])

    def _decide(self, proposal: ProposalState, *, actor: str, today: date) -> None:
        self._emit(ProposalDecided, actor=actor, on=today, **self.decision(proposal))
        # An approved rule change is in force at once, from the command that decided it (SPEC §8).
        if self.rules_due() is proposal:
            self._emit(RulesChanged, actor=actor, on=today, **rules.rules_in_force(self, proposal_no=proposal.no))

    # ------------------------------------------------------------- pledges, the game, reflections
    def set_pledge(
        self,
        *,
        actor: str,
        member: str,
        percent: Decimal | None,
        monthly_minor: int | None,
        from_month: str,
        today: date,
        stop: bool = False,
        signature: Signature | Signer | None = None,
        seen_no: int | None = None,
    ) -> int:
        acting, fields = rules.pledge(
            self,
            actor=actor,
            member=member,
            percent=percent,
            monthly_minor=monthly_minor,
            from_month=from_month,
            today=today,
            stop=stop,
        )
        signed = self._signed(PledgeSet, acting.name, {**fields, "on": today}, signature, seen_no)
        self._emit(PledgeSet, actor=acting.name, on=today, **fields, **signed)
        return self.version

    def play_game(
        self,
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
    ) -> int:
        acting, fields = rules.game(
            self,
            actor=actor,
            game=game,
            on=on,
            today=today,
            participants=participants,
            asker=asker,
            offered=offered,
            missed=missed,
            # Only a conflict ends one way or the other; any other game ignores the flag.
            resolved=resolved if game == "conflict" else None,
        )
        self._emit(GamePlayed, actor=acting.name, on=on, **fields)
        return self.version

    def reflect(
        self,
        *,
        actor: str,
        event_no: int,
        feeling: str,
        note: str,
        today: date,
        signature: Signature | Signer | None = None,
        seen_no: int | None = None,
    ) -> int:
        acting, fields = rules.reflection(self, actor=actor, event_no=event_no, feeling=feeling, note=note)
        signed = self._signed(ReflectionNoted, acting.name, {**fields, "on": today}, signature, seen_no)
        self._emit(ReflectionNoted, actor=acting.name, on=today, **fields, **signed)
        return self.version

    # ------------------------------------------------------------- keys and signatures (SPEC §7)
    def add_key(self, *, actor: str, public_key: str, proof: str, today: date) -> int:
        """Register a signing key for the acting member; `proof` is the key's signature over that."""
        acting, fields = rules.key_added(self, actor=actor, member=actor, public_key=public_key, proof=proof)
        self._emit(MemberKeyAdded, actor=acting.name, on=today, **fields)
        return self.version

    def revoke_key(self, *, actor: str, key_id: str, today: date) -> int:
        acting, fields = rules.key_revoked(self, actor=actor, key_id=key_id)
        self._emit(MemberKeyRevoked, actor=acting.name, on=today, **fields)
        return self.version

    def _signed(
        self,
        kind: type[PotEvent],
        actor: str,
        fields: dict[str, Any],
        given: Signature | Signer | None,
        seen_no: int | None,
    ) -> dict[str, Any]:
        """The `signature` field of the event about to be emitted ({} when unsigned), once its guard passed.

        A `Signer` (a front end holding the key) signs here, against this pot's head:
        the message needs the fields as the pot records them. A `Signature` made
        elsewhere (a browser) saw the head, or an event whose number the caller found.
        """
        if isinstance(given, Signer):
            given = given.signature(
                pot=self.slug,
                kind=kind.TYPE,
                actor=actor,
                seen=self.state.head,
                fields=signed_fields(kind.TYPE, fields, self.state.digits),
            )
        if given is not None and given.seen == self.state.head:
            seen_no = self.version
        rules.signature(self, kind=kind.TYPE, actor=actor, fields=fields, given=given, seen_no=seen_no)
        return {} if given is None else {"signature": given}

    # ------------------------------------------------------------- the fold
    def _emit(self, event_class: type[PotEvent], **fields: Any) -> None:
        self.trigger_event(event_class, prev=self.state.head, **fields)

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
