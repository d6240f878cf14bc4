"""The Pot aggregate: one crew's pot, its members, money and proposals.

Each public method checks SPEC §1's rules against the current state and raises
before anything changes; only then does it trigger an event. `evolve` is the
fold: the one place where an event changes state, run both when the event is
new and on every replay, so it holds no rule checks and no I/O.

The state holds what the rules need and stays small however long the history:
single past contributions (for a reversal, or a repeated `ref`) are asked of
a `domain.history.History` that the ledger attaches, not carried along.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any, Literal

from eventsourcing.domain import BaseAggregate, CanSnapshotAggregate
from eventsourcing.utils import get_topic
from pydantic import BaseModel, ConfigDict, model_validator

from domain import chain
from domain.book import reversed_numbers
from domain.consent import POSITIONS, tally
from domain.errors import BadInput, InsufficientFunds, NotAuthorized, Refused
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
    VoteCast,
    WithdrawalPaid,
    WithdrawalProposed,
    record_of,
)
from domain.game import check_game
from domain.history import Contribution, History
from domain.pledges import check_pledge_terms
from domain.values import format_amount, name_key

# Pots are natural keys: the same slug always maps to the same aggregate id.
POT_NAMESPACE = uuid.UUID("0b6f4a52-2f3c-4d84-9a55-6c0a3f1e9d21")


def pot_id(slug: str) -> uuid.UUID:
    return uuid.uuid5(POT_NAMESPACE, slug)


class _State(BaseModel):
    # Validators are built when a pot is first loaded, not by every command that imports this.
    model_config = ConfigDict(extra="forbid", defer_build=True)


ENDED = ("rejected", "cancelled", "paid")


class MemberState(_State):
    name: str
    role: Literal["member", "treasurer"]
    joined: date
    left: date | None = None


class ProposalState(_State):
    no: int
    proposer: str
    amount_minor: int
    purpose: str
    recipient: str
    closes: date
    eligible: list[str]
    # Latest position per voter name; every vote stays in the event log.
    votes: dict[str, str] = {}
    status: Literal["open", "approved", "rejected", "cancelled", "paid"] = "open"
    # The days it was made and approved, so a vote or payout cannot be dated before
    # them. None in snapshots taken before they were kept: those skip the check.
    proposed: date | None = None
    decided: date | None = None


class PotState(_State):
    slug: str
    name: str
    currency: str
    digits: int
    quorum: str
    voting_days: int
    members: dict[str, MemberState] = {}
    balance_minor: int = 0
    # Contributions themselves stay in the event log (see domain.history): only
    # which ones were reversed, so the state does not grow with every contribution.
    reversed_nos: set[int] = set()
    # Proposals still in play: open, or approved and not yet paid.
    proposals: dict[int, ProposalState] = {}
    # Proposals that ended, by number: only how, for the refusals that name it.
    ended: dict[int, Literal["rejected", "cancelled", "paid"]] = {}
    # Numbers of events that are reflections: a reflection is never about another one.
    reflection_nos: set[int] = set()
    head: str = chain.GENESIS

    @model_validator(mode="before")
    @classmethod
    def _from_older_snapshot(cls, data: Any) -> Any:
        """Read snapshots taken before the state stopped growing with history.

        They carried every contribution and ref (only the reversals are kept) and
        every proposal in full (an ended one keeps only how it ended).
        """
        if not isinstance(data, dict):
            return data
        data = dict(data)
        if "contributions" in data or "refs" in data:
            data.setdefault("reversed_nos", reversed_numbers(data.pop("contributions", {})))
            data.pop("refs", None)
        if "ended" not in data and data.get("proposals"):
            live, ended = {}, {}
            for no, proposal in data["proposals"].items():
                status = proposal.get("status", "open") if isinstance(proposal, dict) else proposal.status
                if status in ENDED:
                    ended[no] = status
                else:
                    live[no] = proposal
            data["proposals"], data["ended"] = live, ended
        return data


class Pot(BaseAggregate[uuid.UUID]):
    """A crew's pot. Its event numbers are the aggregate's versions, from 1."""

    state: PotState

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

    def _remember_from(self, version: int) -> None:
        """Start keeping the contributions folded in this process (not part of the state, never stored).

        Folded from `version` on; what came before is asked of `history`, which the
        ledger attaches when it loads a pot from a snapshot.
        """
        self._recent: dict[int, Contribution] = {}
        self._recent_refs: dict[str, Contribution] = {}
        self._recent_from = version
        self.history: History | None = None

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
        if not 0 <= quorum <= 1:
            raise BadInput(f"quorum {quorum} must be between 0 and 1")
        if not 1 <= voting_days <= 365:
            raise BadInput(f"voting days {voting_days} must be between 1 and 365")
        if not name.strip():
            raise BadInput("pot name is empty")
        pot = cls._create(
            PotOpened,
            id=pot_id(slug),
            actor=treasurer,
            on=today,
            prev=chain.GENESIS,
            slug=slug,
            name=name.strip(),
            currency=currency,
            digits=digits,
            quorum=str(quorum),
            voting_days=voting_days,
        )
        pot._emit(MemberJoined, actor=treasurer, on=today, member=treasurer, role="treasurer")
        return pot

    # ------------------------------------------------------------- lookups
    @property
    def slug(self) -> str:
        return self.state.slug

    def money(self, minor: int) -> str:
        return format_amount(minor, self.state.digits)

    def find_member(self, name: str) -> MemberState | None:
        return self.state.members.get(name_key(name))

    def current_member(self, name: str) -> MemberState:
        """The current member called `name` (any case), or a refusal saying why not."""
        member = self.find_member(name)
        if member is None:
            raise Refused(f"{name!r} is not a member of pot {self.slug!r}")
        if member.left is not None:
            raise Refused(f"{member.name} left pot {self.slug!r} on {member.left}")
        return member

    def acting_treasurer(self, actor: str, doing: str) -> MemberState:
        member = self.current_member(actor)
        if member.role != "treasurer":
            raise NotAuthorized(f"only a treasurer may {doing}; {member.name} is a member")
        return member

    def current_names(self) -> tuple[str, ...]:
        """The members now, as they joined, in the order they joined: a new proposal's voters."""
        return tuple(m.name for m in self.state.members.values() if m.left is None)

    def keep_a_treasurer(self, member: MemberState) -> None:
        """Refuse to let `member` stop being a treasurer if they are the last one (SPEC §1)."""
        treasurers = [m for m in self.state.members.values() if m.left is None and m.role == "treasurer"]
        if member.role == "treasurer" and len(treasurers) == 1:
            raise Refused(f"{member.name} is the pot's only treasurer: make someone else treasurer first")

    @property
    def proposal_count(self) -> int:
        """How many proposals were ever made: they are numbered 1, 2, 3…"""
        return len(self.state.proposals) + len(self.state.ended)

    def proposal_status(self, no: int) -> str:
        """open, approved, rejected, cancelled or paid; a refusal if there is no such proposal."""
        live = self.state.proposals.get(no)
        if live is not None:
            return live.status
        ended = self.state.ended.get(no)
        if ended is None:
            raise Refused(f"there is no proposal {no} in pot {self.slug!r}")
        return ended

    def proposal(self, no: int) -> ProposalState:
        """A proposal still in play (open, or approved and not yet paid); a refusal saying why not."""
        status = self.proposal_status(no)
        if status in ENDED:
            raise Refused(f"proposal {no} is {status}: it is no longer open")
        return self.state.proposals[no]

    def contribution(self, no: int) -> Contribution | None:
        """The contribution recorded as event `no`, or None if that event is not a contribution."""
        if no >= self._recent_from:
            return self._recent.get(no)
        return self._past().contribution(no)

    def recorded_refs(self, refs: Iterable[str]) -> dict[str, Contribution]:
        """The contributions already recorded under any of these refs, by ref."""
        wanted = set(refs)
        found = {ref: c for ref in wanted if (c := self._recent_refs.get(ref)) is not None}
        rest = wanted - found.keys()
        if rest and self._recent_from > 1:
            found.update(self._past().by_refs(rest))
        return found

    def release_recent(self) -> None:
        """Hand the contributions folded in this process to `history`, once they are stored.

        A long import calls this after storing each part, so the pot holds one part
        at a time however long the file. Without a `history` there is nowhere to hand
        them, and the pot keeps them.
        """
        if self.history is None or self.pending_events:
            return
        self.history.keep(self._recent.values())
        self._recent.clear()
        self._recent_refs.clear()
        self._recent_from = self.version + 1

    def _past(self) -> History:
        if self.history is None:
            raise RuntimeError(f"pot {self.slug!r} was loaded from a snapshot, and no history is attached")
        return self.history

    @property
    def reserved_minor(self) -> int:
        return sum(p.amount_minor for p in self.state.proposals.values() if p.status == "approved")

    # ------------------------------------------------------------- membership
    def add_member(self, *, actor: str, name: str, treasurer: bool, today: date) -> str:
        self.acting_treasurer(actor, "add members")
        existing = self.find_member(name)
        if existing is not None:
            if existing.left is None:
                raise Refused(f"{existing.name} is already a member (names are compared ignoring case)")
            raise Refused(f"{existing.name} was a member until {existing.left}; names stay unique in a pot's history")
        self._emit(
            MemberJoined, actor=self._canon(actor), on=today, member=name, role="treasurer" if treasurer else "member"
        )
        return name

    def remove_member(self, *, actor: str, name: str, today: date) -> str:
        acting = self.current_member(actor)
        member = self.current_member(name)
        if acting.role != "treasurer" and name_key(acting.name) != name_key(member.name):
            raise NotAuthorized(f"only a treasurer may remove another member; {acting.name} is a member")
        self.keep_a_treasurer(member)
        self._emit(MemberLeft, actor=acting.name, on=today, member=member.name)
        # A proposal whose remaining voters have all voted is now complete.
        for proposal in list(self.state.proposals.values()):
            if proposal.status == "open" and self.everyone_voted(proposal):
                self._decide(proposal, actor=acting.name, today=today)
        return member.name

    def change_role(self, *, actor: str, name: str, treasurer: bool, today: date) -> str:
        acting = self.acting_treasurer(actor, "change roles")
        member = self.current_member(name)
        role = "treasurer" if treasurer else "member"
        if member.role == role:
            raise Refused(f"{member.name} is already a {role}")
        if role == "member":
            self.keep_a_treasurer(member)
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
        acting = self.acting_treasurer(actor, "record contributions")
        who = self.current_member(member)
        if amount_minor <= 0:
            raise BadInput("amount must be above zero")
        if on > today:
            raise BadInput(f"value date {on} is in the future (today is {today})")
        if ref is not None and (earlier := self.recorded_refs([ref])):
            raise Refused(f"reference {ref!r} is already recorded (event {earlier[ref].no})")
        if income_minor is not None and income_minor < amount_minor:
            raise BadInput("income must be at least the contribution amount")
        self._emit(
            ContributionRecorded,
            actor=acting.name,
            on=on,
            member=who.name,
            amount_minor=amount_minor,
            note=note,
            ref=ref,
            income_minor=income_minor,
        )
        return self.version

    def reverse(self, *, actor: str, contribution_no: int, reason: str, today: date) -> int:
        acting = self.acting_treasurer(actor, "reverse contributions")
        if not reason.strip():
            raise BadInput("a reversal needs a reason (--reason)")
        found = self.contribution(contribution_no) if 1 <= contribution_no <= self.version else None
        if found is None:
            raise Refused(f"event {contribution_no} is not a contribution in pot {self.slug!r}")
        if contribution_no in self.state.reversed_nos:
            raise Refused(f"contribution {contribution_no} is already reversed")
        # A reversal before the money came in would leave the balance below zero as of the days between.
        if today < found.on:
            raise Refused(f"contribution {contribution_no} is dated {found.on}: it cannot be reversed on {today}")
        if found.amount_minor > self.state.balance_minor:
            raise InsufficientFunds(
                f"reversing {self.money(found.amount_minor)} would take the balance "
                f"({self.money(self.state.balance_minor)}) below zero: the money was already spent"
            )
        self._emit(
            ContributionReversed,
            actor=acting.name,
            on=today,
            contribution_no=contribution_no,
            member=found.member,
            amount_minor=found.amount_minor,
            reason=reason.strip(),
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
        proposer = self.current_member(actor)
        if not purpose.strip():
            raise BadInput("a proposal needs a purpose (--purpose)")
        if amount_minor <= 0:
            raise BadInput("amount must be above zero")
        closing = closes if closes is not None else today + timedelta(days=self.state.voting_days)
        if closing < today:
            raise BadInput(f"closing date {closing} is in the past (today is {today})")
        if recipient is None or not recipient.strip():
            to = proposer.name
        else:
            # A recipient who is a member is named as the member is; anyone else as given.
            known = self.find_member(recipient)
            to = known.name if known is not None else recipient.strip()
        eligible = self.current_names()
        number = self.proposal_count + 1
        self._emit(
            WithdrawalProposed,
            actor=proposer.name,
            on=today,
            proposal_no=number,
            amount_minor=amount_minor,
            purpose=purpose.strip(),
            recipient=to,
            closes=closing,
            eligible=eligible,
        )
        return number

    def vote(self, *, actor: str, proposal_no: int, position: str, reason: str, today: date) -> str:
        if position not in POSITIONS:
            raise BadInput(f"vote {position!r} is not one of {', '.join(POSITIONS)}")
        voter = self.current_member(actor)
        proposal = self.open_proposal(proposal_no)
        if voter.name not in proposal.eligible:
            raise NotAuthorized(
                f"{voter.name} was not a member when proposal {proposal_no} was made, so may not vote on it"
            )
        if proposal.proposed is not None and today < proposal.proposed:
            raise Refused(f"proposal {proposal_no} was made on {proposal.proposed}: a vote cannot be dated {today}")
        # Votes are taken up to and on the closing day; after it only `close` decides.
        if today > proposal.closes:
            raise Refused(
                f"voting on proposal {proposal_no} closed on {proposal.closes}: "
                f"`pot close {proposal_no}` decides it on the votes cast"
            )
        self._emit(
            VoteCast,
            actor=voter.name,
            on=today,
            proposal_no=proposal_no,
            member=voter.name,
            position=position,
            reason=reason.strip(),
        )
        if self.everyone_voted(proposal):
            self._decide(proposal, actor=voter.name, today=today)
        return self.proposal_status(proposal_no)

    def close(self, *, actor: str, proposal_no: int, today: date) -> str:
        closer = self.current_member(actor)
        proposal = self.open_proposal(proposal_no)
        # SPEC §1: it closes *after* its closing date; votes are still taken on that day.
        if today <= proposal.closes and not self.everyone_voted(proposal):
            raise Refused(f"proposal {proposal_no} is open for votes until {proposal.closes}")
        self._decide(proposal, actor=closer.name, today=today)
        return self.proposal_status(proposal_no)

    def cancel(self, *, actor: str, proposal_no: int, today: date) -> None:
        canceller = self.current_member(actor)
        proposal = self.open_proposal(proposal_no)
        if name_key(canceller.name) != name_key(proposal.proposer):
            raise NotAuthorized(f"only {proposal.proposer}, who proposed it, may cancel proposal {proposal_no}")
        self._emit(ProposalCancelled, actor=canceller.name, on=today, proposal_no=proposal_no)

    def pay(self, *, actor: str, proposal_no: int, today: date) -> int:
        acting = self.acting_treasurer(actor, "pay out")
        status = self.proposal_status(proposal_no)
        if status == "paid":
            raise Refused(f"proposal {proposal_no} is already paid")
        if status != "approved":
            raise Refused(f"proposal {proposal_no} is {status}, not approved: only approved proposals are paid")
        proposal = self.state.proposals[proposal_no]
        # Paid before it was approved, the money would leave a balance that, as of the
        # days between, never held it: `balance --as-of` would go below zero.
        if proposal.decided is not None and today < proposal.decided:
            raise Refused(f"proposal {proposal_no} was approved on {proposal.decided}: it cannot be paid on {today}")
        if proposal.amount_minor > self.state.balance_minor:
            raise InsufficientFunds(
                f"insufficient funds: proposal {proposal_no} asks {self.money(proposal.amount_minor)} "
                f"but the pot holds {self.money(self.state.balance_minor)}"
            )
        self._emit(
            WithdrawalPaid,
            actor=acting.name,
            on=today,
            proposal_no=proposal_no,
            amount_minor=proposal.amount_minor,
            recipient=proposal.recipient,
        )
        return self.version

    # ------------------------------------------------------------- pledges
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
        acting = self.current_member(actor)
        who = self.current_member(member)
        if acting.role != "treasurer" and name_key(acting.name) != name_key(who.name):
            raise NotAuthorized(f"{acting.name} may set only their own pledge; a treasurer may set anyone's")
        check_pledge_terms(percent, monthly_minor, from_month)
        if from_month > today.strftime("%Y-%m"):
            raise BadInput(f"pledge month {from_month} is after the current month")
        self._emit(
            PledgeSet,
            actor=acting.name,
            on=today,
            member=who.name,
            kind="percent" if percent is not None else "monthly",
            # Fixed-point and without trailing zeros ("10", "7.5"), however it was typed.
            percent=None if percent is None else format(percent.normalize(), "f"),
            monthly_minor=monthly_minor,
            from_month=from_month,
        )
        return self.version

    # ------------------------------------------------------------- the game
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
        acting = self.current_member(actor)
        if on > today:
            raise BadInput(f"date {on} is in the future (today is {today})")
        # A money talk names its people as --asker and --offered instead.
        people = self._names(participants, "names", allow_empty=game == "money")
        late = self._names(missed, "--missed", allow_empty=True)
        offers = self._names(offered, "--offered", allow_empty=True)
        who_asked = self.current_member(asker).name if asker else None
        ended = resolved if game == "conflict" else None
        check_game(game, people, who_asked, offers, late, ended)
        self._emit(
            GamePlayed,
            actor=acting.name,
            on=on,
            game=game,
            participants=people,
            asker=who_asked,
            offered=offers,
            missed=late,
            resolved=ended,
        )
        return self.version

    def _names(self, names: tuple[str, ...], what: str, *, allow_empty: bool = False) -> tuple[str, ...]:
        """Current members' stored names, each once; refuse unknown names and repeats."""
        if not names and not allow_empty:
            raise BadInput(f"{what}: name at least one member")
        found: list[str] = []
        for name in names:
            member = self.current_member(name)
            if member.name in found:
                raise BadInput(f"{what}: {member.name} is listed twice")
            found.append(member.name)
        return tuple(found)

    # ------------------------------------------------------------- reflection
    def reflect(self, *, actor: str, event_no: int, feeling: str, note: str, today: date) -> int:
        acting = self.current_member(actor)
        if not 1 <= event_no <= self.version:
            raise Refused(f"there is no event {event_no} in pot {self.slug!r} (it has {self.version})")
        if event_no in self.state.reflection_nos:
            raise Refused(f"event {event_no} is itself a reflection: reflect on the event it is about")
        if len(note) > 500:
            raise BadInput(f"note is {len(note)} characters long: at most 500")
        self._emit(
            ReflectionNoted,
            actor=acting.name,
            on=today,
            event_no=event_no,
            member=acting.name,
            feeling=feeling,
            note=note,
        )
        return self.version

    def open_proposal(self, no: int) -> ProposalState:
        """A proposal still open for votes; a refusal saying how it ended otherwise."""
        status = self.proposal_status(no)
        if status != "open":
            raise Refused(f"proposal {no} is {status}: it is no longer open")
        return self.state.proposals[no]

    def everyone_voted(self, proposal: ProposalState) -> bool:
        still_here = [n for n in proposal.eligible if (m := self.find_member(n)) is not None and m.left is None]
        return all(n in proposal.votes for n in still_here)

    def decision(self, proposal: ProposalState) -> dict[str, Any]:
        """The fields of the decision the votes cast so far give (SPEC §1 Decision)."""
        counted = tally(proposal.votes.values(), len(proposal.eligible))
        return {
            "proposal_no": proposal.no,
            "outcome": counted.outcome(Decimal(self.state.quorum)),
            "agree": counted.agree,
            "abstain": counted.abstain,
            "disagree": counted.disagree,
            "block": counted.block,
            "eligible_count": counted.eligible,
            "all_voted": all(n in proposal.votes for n in proposal.eligible),
        }

    def _decide(self, proposal: ProposalState, *, actor: str, today: date) -> None:
        self._emit(ProposalDecided, actor=actor, on=today, **self.decision(proposal))

    # ------------------------------------------------------------- the fold
    def _canon(self, name: str) -> str:
        found = self.find_member(name)
        return found.name if found is not None else name

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
                recorded = Contribution(event.no, member, amount, on, ref)
                self._recent[event.no] = recorded
                if ref is not None:
                    self._recent_refs[ref] = recorded
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
