"""The Pot aggregate: one crew's pot, its identity, its snapshot, and its commands.

Each command asks its guard in domain.rules (or domain.key_rules) whether SPEC §1
allows it, which raises before anything changes, then triggers the event with
the fields the guard returned. The commands on proposals are in
domain.proposal_commands, and the fold (`evolve`, the one place where an event
changes state) in domain.fold: both are bases of `Pot`. `Pot` and
`Pot.Snapshot` stay in this module, since their module paths are stored (as the
topics of its events and snapshots).

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

from domain import chain, key_rules, rules
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
    ReflectionNoted,
    RoleChanged,
)
from domain.fold import FoldsEvents
from domain.past import RemembersContributions
from domain.proposal_commands import ProposalCommands
from domain.signing import Signature, Signer, signed_fields
from domain.state import PotLookups, PotState

# Pots are natural keys: the same slug always maps to the same aggregate id.
POT_NAMESPACE = uuid.UUID("0b6f4a52-2f3c-4d84-9a55-6c0a3f1e9d21")


def pot_id(slug: str) -> uuid.UUID:
    return uuid.uuid5(POT_NAMESPACE, slug)


class Pot(ProposalCommands, FoldsEvents, PotLookups, RemembersContributions, BaseAggregate[uuid.UUID]):
    """A crew's pot. Its event numbers are the aggregate's versions, from 1.

    What its rules ask of its state (members, proposals, decisions) is in `PotLookups`,
    how it looks up single past contributions in `RemembersContributions`, its commands
    on proposals in `ProposalCommands`, and its fold in `FoldsEvents`.
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
        # The library snapshots only the aggregate it was given, a Pot: narrower than its signature.
        def take(cls, aggregate: Pot) -> Pot.Snapshot:  # type: ignore[override]
            pot = aggregate
            return cls(
                originator_id=pot.id,
                originator_version=pot.version,
                timestamp=cls.create_timestamp(),
                topic=get_topic(type(pot)),
                # The library takes snapshots of a freshly loaded pot, so no copy is needed.
                state=pot.state,
                state_hash=pot.state.digest(),
            )

        def mutate(self, _: None) -> Pot:
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
        acting, fields = key_rules.key_added(self, actor=actor, member=actor, public_key=public_key, proof=proof)
        self._emit(MemberKeyAdded, actor=acting.name, on=today, **fields)
        return self.version

    def revoke_key(self, *, actor: str, key_id: str, today: date) -> int:
        acting, fields = key_rules.key_revoked(self, actor=actor, key_id=key_id)
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
        key_rules.signature(self, kind=kind.TYPE, actor=actor, fields=fields, given=given, seen_no=seen_no)
        return {} if given is None else {"signature": given}

    # ------------------------------------------------------------- emitting
    def _emit(self, event_class: type[PotEvent], **fields: Any) -> None:
        self.trigger_event(event_class, prev=self.state.head, **fields)
