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

import re
import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from eventsourcing.domain import BaseAggregate, CanSnapshotAggregate
from eventsourcing.utils import get_topic
from pydantic import BaseModel, ConfigDict

from domain import chain, rules
from domain.errors import BadInput
from domain.events import (
    ContributionRecorded,
    ContributionReversed,
    GamePlayed,
    MemberJoined,
    MemberLeft,
    PledgeSet,
    PotEvent,
    PotOpened,
    ProposalCancelled,
    ProposalDecided,
    ReflectionNoted,
    RoleChanged,
    Status,
    VoteCast,
    WithdrawalPaid,
    WithdrawalProposed,
    record_of,
)
from domain.past import Contribution, RemembersContributions
from domain.state import MemberState, PotLookups, PotState, ProposalState
from domain.values import EARLIEST, LATEST, name_key

# Pots are natural keys: the same slug always maps to the same aggregate id.
POT_NAMESPACE = uuid.UUID("0b6f4a52-2f3c-4d84-9a55-6c0a3f1e9d21")


def pot_id(slug: str) -> uuid.UUID:
    return uuid.uuid5(POT_NAMESPACE, slug)


def check_pledge_terms(percent: Decimal | None, monthly_minor: int | None, from_month: str) -> None:
    """What a pledge is (SPEC §1 Pledge), whatever the day: `set_pledge` and an import check it alike."""
    if (percent is None) == (monthly_minor is None):
        raise BadInput("give exactly one of --percent and --monthly")
    # is_finite first: comparing a NaN Decimal raises instead of answering.
    if percent is not None and not (
        percent.is_finite() and 0 < percent <= 100 and percent == percent.quantize(Decimal("0.01"))
    ):
        raise BadInput(f"percent {percent} must be above 0 and at most 100, with at most two decimals")
    if monthly_minor is not None and monthly_minor <= 0:
        raise BadInput("a monthly pledge must be above zero")
    if not re.fullmatch(r"[0-9]{4}-(0[1-9]|1[0-2])", from_month, re.ASCII):
        raise BadInput(f"pledge month {from_month!r} is not a month: use YYYY-MM, e.g. 2026-01")
    # The same years a typed date may have (domain.values.parse_date).
    if from_month < EARLIEST.strftime("%Y-%m"):
        raise BadInput(f"pledge month {from_month} is before {EARLIEST.year}: check the year")
    if from_month > LATEST.strftime("%Y-%m"):
        raise BadInput(f"pledge month {from_month} is after {LATEST.year}: check the year")


def check_game(
    game: str,
    people: tuple[str, ...],
    asker: str | None,
    offered: tuple[str, ...],
    missed: tuple[str, ...],
    resolved: bool | None,
) -> None:
    """The shape each game of SPEC §2 takes: who is in it, and how a conflict ended.

    `play_game` checks it before recording a game, and an import checks every
    recorded one (domain.consistency), so the two cannot drift apart.
    """
    match game:
        case "listening" | "co-own":
            if len(people) < 2:
                raise BadInput(f"a {game} game needs at least two members (--with)")
        case "money":
            if asker is None or not offered:
                raise BadInput("a money talk needs --asker and at least one --offered")
            if asker in offered:
                raise BadInput(f"{asker} cannot both ask and offer in the same money talk")
            if people:
                raise BadInput("a money talk names its people as --asker and --offered")
        case "meeting":
            if not people:
                raise BadInput("a meeting needs at least one member who attended (--attended)")
            if overlap := set(people) & set(missed):
                raise BadInput(f"{sorted(overlap)[0]} cannot both attend and miss the meeting")
        case "conflict":
            if len(people) < 2:
                raise BadInput("a conflict is between at least two members (--between)")
            if resolved is None:
                raise BadInput("say how the conflict ended: --resolved or --unresolved")
        case _:
            raise BadInput(f"unknown game {game!r}")
    if game != "money" and (asker is not None or offered):
        raise BadInput("only a money talk has an asker and offers")
    if game != "meeting" and missed:
        raise BadInput("only a meeting has members who missed it")
    if game != "conflict" and resolved is not None:
        raise BadInput("only a conflict ends resolved or unresolved")


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
            )

        def mutate(self, _: Any) -> Any:
            pot = object.__new__(Pot)
            pot.__base_init__(self.originator_id, self.originator_version, self.timestamp)
            # A decoded snapshot is used once, so the pot may own its state outright.
            pot.state = self.state
            pot._remember_from(self.originator_version + 1)
            return pot

    def __init__(self, slug: str, name: str, currency: str, digits: int, quorum: str, voting_days: int) -> None:
        self.state = PotState(
            slug=slug, name=name, currency=currency, digits=digits, quorum=quorum, voting_days=voting_days
        )
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
        self._emit(ContributionRecorded, actor=acting.name, on=on, **fields)
        return self.version

    def reverse(self, *, actor: str, contribution_no: int, reason: str, today: date) -> int:
        acting, found, why = rules.reversal(
            self, actor=actor, contribution_no=contribution_no, reason=reason, today=today, funds=True
        )
        self._emit(
            ContributionReversed,
            actor=acting.name,
            on=today,
            contribution_no=contribution_no,
            member=found.member,
            amount_minor=found.amount_minor,
            reason=why,
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
        self._emit(WithdrawalProposed, actor=proposer.name, on=today, **fields)
        return int(fields["proposal_no"])

    def vote(self, *, actor: str, proposal_no: int, position: str, reason: str, today: date) -> Status:
        voter, fields = rules.vote(
            self, actor=actor, proposal_no=proposal_no, position=position, reason=reason, today=today
        )
        self._emit(VoteCast, actor=voter.name, on=today, **fields)
        proposal = self.state.proposals[proposal_no]
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

    def pay(self, *, actor: str, proposal_no: int, today: date) -> int:
        acting, proposal = rules.payout(self, actor=actor, proposal_no=proposal_no, today=today, funds=True)
        self._emit(
            WithdrawalPaid,
            actor=acting.name,
            on=today,
            proposal_no=proposal_no,
            amount_minor=proposal.amount_minor,
            recipient=proposal.recipient,
        )
        return self.version

    def _decide(self, proposal: ProposalState, *, actor: str, today: date) -> None:
        self._emit(ProposalDecided, actor=actor, on=today, **self.decision(proposal))

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
    ) -> int:
        acting, fields = rules.pledge(
            self,
            actor=actor,
            member=member,
            percent=percent,
            monthly_minor=monthly_minor,
            from_month=from_month,
            today=today,
        )
        self._emit(PledgeSet, actor=acting.name, on=today, **fields)
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

    def reflect(self, *, actor: str, event_no: int, feeling: str, note: str, today: date) -> int:
        acting, fields = rules.reflection(self, actor=actor, event_no=event_no, feeling=feeling, note=note)
        self._emit(ReflectionNoted, actor=acting.name, on=today, **fields)
        return self.version

    # ------------------------------------------------------------- the fold
    def _emit(self, event_class: type[PotEvent], **fields: Any) -> None:
        self.trigger_event(event_class, prev=self.state.head, **fields)

    def evolve(self, event: PotEvent) -> None:
        """Apply one event to the state. Runs on replay: no checks, no clock, no I/O."""
        s = self.state
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
            case VoteCast(proposal_no=no, member=member, position=position):
                s.proposals[no].votes[member] = position
            case ProposalDecided(proposal_no=no, outcome="approved"):
                s.proposals[no].status = "approved"
                s.proposals[no].decided = event.on
            case ProposalDecided(proposal_no=no):
                del s.proposals[no]
                s.ended[no] = "rejected"
            case ProposalCancelled(proposal_no=no):
                del s.proposals[no]
                s.ended[no] = "cancelled"
            case WithdrawalPaid(proposal_no=no, amount_minor=amount):
                del s.proposals[no]
                s.ended[no] = "paid"
                s.balance_minor -= amount
            case ReflectionNoted():
                s.reflection_nos.add(event.no)
            case PledgeSet() | GamePlayed():
                pass  # Views read these; no rule depends on them.
        s.head = chain.digest(record_of(event))
