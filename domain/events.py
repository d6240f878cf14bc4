"""The pot's events: immutable facts, one class each, stored forever.

Events are frozen pydantic models mixed with eventsourcing's aggregate-event
protocol, so the library builds, stores and replays them while pydantic
validates their payload. Once released, a class or field is never renamed,
moved or removed: add a new class, a field with a default, or an upcaster.

Money fields end in `_minor` and hold integer minor units of the pot's currency.
Every event carries the acting member (`actor`), its business date (`on`), and
`prev`, the chain digest of the event before it (see `domain.chain`).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, ClassVar, Literal, get_args
from uuid import UUID

from eventsourcing.domain import CanInitAggregate, CanMutateAggregate
from pydantic import BaseModel, ConfigDict

from domain import chain
from domain import vocabulary as v
from domain.signing import Signature

# The pot's words live in domain.vocabulary; re-exported here for the modules that take them with the events.
from domain.vocabulary import POSITIONS as POSITIONS
from domain.vocabulary import ROLES as ROLES
from domain.vocabulary import STATUSES as STATUSES
from domain.vocabulary import Outcome as Outcome
from domain.vocabulary import Position as Position
from domain.vocabulary import Role as Role
from domain.vocabulary import Status as Status

if TYPE_CHECKING:
    from domain.pot import Pot


class PotEvent(BaseModel, CanMutateAggregate[UUID]):
    """Base of every event in a pot's stream; `originator_version` is its number."""

    # defer_build: a command that decodes no event (most reads) skips building 14 validators.
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    # The SPEC's name for this kind of event (`history --type`, JSON `type`).
    TYPE: ClassVar[str] = ""
    # The plain word people read for it in `history`, `replay`, `triggers` and the report
    # ("contribution", not "contribution_recorded"); `history --type` takes either.
    WORD: ClassVar[str] = ""

    originator_id: UUID
    originator_version: int
    timestamp: datetime
    actor: str
    on: date
    prev: str

    def apply(self, aggregate: Any) -> None:
        # Every state change lives in Pot.evolve, so a reader finds the fold in one place.
        pot: Pot = aggregate
        try:
            pot.evolve(self)
        except (KeyError, IndexError) as e:
            # Only a stored history no command could have made gets here (a proposal paid twice, say):
            # a refusal pointing at `verify`, which names the unlawful event, rather than a traceback.
            from domain.errors import Tampered

            raise Tampered(
                f"event {self.no} cannot follow the history before it ({type(e).__name__}: {e}): run `pot verify`"
            ) from None

    @property
    def no(self) -> int:
        return self.originator_version


class PotOpened(PotEvent, CanInitAggregate[UUID]):
    TYPE: ClassVar[str] = v.POT_OPENED
    WORD: ClassVar[str] = v.WORDS[TYPE]
    originator_topic: str
    slug: str
    name: str
    currency: str
    digits: int
    quorum: str
    voting_days: int
    # SPEC §7 rule `signed_votes`: only signed votes are taken, and counted. False in pots opened before it.
    signed_votes: bool = False


class MemberJoined(PotEvent):
    TYPE: ClassVar[str] = v.MEMBER_JOINED
    WORD: ClassVar[str] = v.WORDS[TYPE]
    member: str
    role: Role


class MemberLeft(PotEvent):
    TYPE: ClassVar[str] = v.MEMBER_LEFT
    WORD: ClassVar[str] = v.WORDS[TYPE]
    member: str


class RoleChanged(PotEvent):
    TYPE: ClassVar[str] = v.ROLE_CHANGED
    WORD: ClassVar[str] = v.WORDS[TYPE]
    member: str
    role: Role


class ContributionRecorded(PotEvent):
    TYPE: ClassVar[str] = v.CONTRIBUTION_RECORDED
    WORD: ClassVar[str] = v.WORDS[TYPE]
    member: str
    amount_minor: int
    note: str = ""
    ref: str | None = None
    income_minor: int | None = None
    # The actor's signature (SPEC §7), None when unsigned.
    signature: Signature | None = None


class ContributionReversed(PotEvent):
    TYPE: ClassVar[str] = v.CONTRIBUTION_REVERSED
    WORD: ClassVar[str] = v.WORDS[TYPE]
    contribution_no: int
    member: str
    amount_minor: int
    reason: str
    # The actor's signature (SPEC §7), None when unsigned.
    signature: Signature | None = None


class WithdrawalProposed(PotEvent):
    TYPE: ClassVar[str] = v.WITHDRAWAL_PROPOSED
    WORD: ClassVar[str] = v.WORDS[TYPE]
    proposal_no: int
    amount_minor: int
    purpose: str
    recipient: str
    closes: date
    eligible: tuple[str, ...]
    # The actor's signature (SPEC §7), None when unsigned.
    signature: Signature | None = None


class VoteCast(PotEvent):
    TYPE: ClassVar[str] = v.VOTE_CAST
    WORD: ClassVar[str] = v.WORDS[TYPE]
    proposal_no: int
    member: str
    position: Position
    reason: str = ""
    # The actor's signature (SPEC §7), None when unsigned.
    signature: Signature | None = None


class ProposalDecided(PotEvent):
    TYPE: ClassVar[str] = v.PROPOSAL_DECIDED
    WORD: ClassVar[str] = v.WORDS[TYPE]
    proposal_no: int
    outcome: Outcome
    agree: int
    abstain: int
    disagree: int
    block: int
    eligible_count: int
    # True when every eligible member had voted (SPEC §2, level 1 listening point).
    all_voted: bool


class ProposalCancelled(PotEvent):
    TYPE: ClassVar[str] = v.PROPOSAL_CANCELLED
    WORD: ClassVar[str] = v.WORDS[TYPE]
    proposal_no: int


class WithdrawalPaid(PotEvent):
    TYPE: ClassVar[str] = v.WITHDRAWAL_PAID
    WORD: ClassVar[str] = v.WORDS[TYPE]
    proposal_no: int
    amount_minor: int
    recipient: str
    # The actor's signature (SPEC §7), None when unsigned.
    signature: Signature | None = None
    # SHA-256 (hex) of the receipt kept with the payout (SPEC §8), None without one; the bytes are in the store.
    receipt_sha256: str | None = None


class PledgeSet(PotEvent):
    """A member's pledge from a month on; it replaces any earlier pledge from that month.

    Kind `none` ends a pledge from its month (`pot pledge NAME --stop`): neither percent nor monthly.
    """

    TYPE: ClassVar[str] = v.PLEDGE_SET
    WORD: ClassVar[str] = v.WORDS[TYPE]
    member: str
    kind: Literal["percent", "monthly", "none"]
    # Percent of declared income as a decimal string ("10", "7.5"); set when kind is percent.
    percent: str | None = None
    # Fixed amount per month; set when kind is monthly.
    monthly_minor: int | None = None
    # First month the pledge applies to, "YYYY-MM".
    from_month: str


Game = Literal["listening", "money", "meeting", "conflict", "co-own"]
GAMES: tuple[Game, ...] = get_args(Game)


class GamePlayed(PotEvent):
    """A reciprocity-game event (SPEC §2); which fields matter depends on `game`.

    listening / co-own: `participants`; money: `asker` and `offered`;
    meeting: `participants` attended and `missed`; conflict: `participants`
    are the parties and `resolved` says how it ended.
    """

    TYPE: ClassVar[str] = v.GAME_PLAYED
    WORD: ClassVar[str] = v.WORDS[TYPE]
    game: Game
    participants: tuple[str, ...] = ()
    asker: str | None = None
    offered: tuple[str, ...] = ()
    missed: tuple[str, ...] = ()
    resolved: bool | None = None


class ReflectionNoted(PotEvent):
    """A member's feeling about an earlier event, for the crew's reflection."""

    TYPE: ClassVar[str] = v.REFLECTION_NOTED
    WORD: ClassVar[str] = v.WORDS[TYPE]
    event_no: int
    member: str
    feeling: str
    note: str = ""
    # The actor's signature (SPEC §7), None when unsigned.
    signature: Signature | None = None


class MemberKeyAdded(PotEvent):
    """A signing key registered by its member for themself (SPEC §7); `proof` is the key's signature over it."""

    TYPE: ClassVar[str] = v.MEMBER_KEY_ADDED
    member: str
    key_id: str
    public_key: str
    proof: str


class MemberKeyRevoked(PotEvent):
    """A member's key ended by that member: from this event on, its signatures no longer count."""

    TYPE: ClassVar[str] = v.MEMBER_KEY_REVOKED
    member: str
    key_id: str


class WithdrawalRefunded(PotEvent):
    """Money of a paid withdrawal that came back (SPEC §8): the payout stays, this adds the amount back."""

    TYPE: ClassVar[str] = v.WITHDRAWAL_REFUNDED
    WORD: ClassVar[str] = v.WORDS[TYPE]
    proposal_no: int
    amount_minor: int
    # Who the payout went to, who now gives the money back (their `received` goes down).
    recipient: str
    reason: str


EVENT_TYPES: dict[str, type[PotEvent]] = {
    cls.TYPE: cls
    for cls in (
        PotOpened,
        MemberJoined,
        MemberLeft,
        RoleChanged,
        ContributionRecorded,
        ContributionReversed,
        WithdrawalProposed,
        VoteCast,
        ProposalDecided,
        ProposalCancelled,
        WithdrawalPaid,
        PledgeSet,
        GamePlayed,
        ReflectionNoted,
        MemberKeyAdded,
        MemberKeyRevoked,
        WithdrawalRefunded,
    )
}

WORDS = v.WORDS
TYPES_BY_WORD = v.TYPES_BY_WORD
plain_word = v.plain_word
type_named = v.type_named


# The events that move money into or out of the pot: a view of money sums exactly these.
CONTRIBUTION_EVENTS: tuple[type[PotEvent], ...] = (ContributionRecorded, ContributionReversed)
MONEY_EVENTS: tuple[type[PotEvent], ...] = (*CONTRIBUTION_EVENTS, WithdrawalPaid, WithdrawalRefunded)
# The events that may carry a `signature` (SPEC §7): by their member, or by the treasurer recording them.
SIGNABLE_EVENTS: tuple[type[PotEvent], ...] = (
    VoteCast,
    WithdrawalProposed,
    ReflectionNoted,
    ContributionRecorded,
    ContributionReversed,
    WithdrawalPaid,
)


def types_of(classes: Iterable[type[PotEvent]]) -> tuple[str, ...]:
    """The SPEC's `type` strings of these event classes, e.g. `types_of(MONEY_EVENTS)` for a SQL `IN`."""
    return tuple(cls.TYPE for cls in classes)


# Fields every event has; the rest are its own payload.
_ENVELOPE = {"originator_id", "originator_version", "timestamp", "originator_topic", "actor", "on", "prev"}


# Fields added after events of their class were first stored: left out of the payload (so of the
# chain digest, the history view and an export) while they hold their default, so an event stored
# before they existed keeps its digest. A signature that is there is in the payload: the chain covers it.
_LATER_DEFAULTS: dict[str, Any] = {"signature": None, "signed_votes": False, "receipt_sha256": None}


def payload(event: PotEvent) -> dict[str, Any]:
    """The event's own fields as JSON values (dates ISO, tuples as lists)."""
    data = event.model_dump(mode="json", exclude=_ENVELOPE)
    for key, default in _LATER_DEFAULTS.items():
        if key in data and data[key] == default:
            del data[key]
    return data


def record_of(event: PotEvent) -> dict[str, Any]:
    """The canonical record of an event that its chain digest is taken over."""
    return chain.canonical_record(
        no=event.originator_version,
        type_=event.TYPE,
        at=chain.iso_at(event.timestamp),
        on=event.on.isoformat(),
        actor=event.actor,
        prev=event.prev,
        fields=payload(event),
    )


class RuleSet(BaseModel):
    """The rules a rule-change proposal would set (SPEC §8): each None where it leaves the rule as it is."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    quorum: str | None = None
    voting_days: int | None = None
    signed_votes: bool | None = None

    def given(self) -> dict[str, str | int | bool]:
        """Only the rules it sets, by name: what a crew reads ("quorum 0.75")."""
        return {k: v for k, v in self.model_dump().items() if v is not None}


class RuleChangeProposed(PotEvent):
    """A proposal to change the pot's rules (SPEC §8): numbered and decided like a withdrawal, with nothing to pay."""

    TYPE: ClassVar[str] = v.RULE_CHANGE_PROPOSED
    WORD: ClassVar[str] = v.WORDS[TYPE]
    proposal_no: int
    purpose: str
    closes: date
    eligible: tuple[str, ...]
    # Nested rather than three top-level fields: `payload` leaves a top-level `signed_votes: false` out,
    # which here would read back as "leave it as it is".
    rules: RuleSet


class RulesChanged(PotEvent):
    """The rules in force from this event on, set by an approved rule-change proposal, with its decision.

    It holds every rule, not only those the proposal changed, so a reader needs no earlier event.
    """

    TYPE: ClassVar[str] = v.RULES_CHANGED
    WORD: ClassVar[str] = v.WORDS[TYPE]
    proposal_no: int
    quorum: str
    voting_days: int
    signed_votes: bool = False


# Added at the end of the file so that parallel additions merge cleanly: registered like the rest.
for _cls in (RuleChangeProposed, RulesChanged):
    EVENT_TYPES[_cls.TYPE] = _cls
