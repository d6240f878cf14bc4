"""What the application API's commands return: small typed results (event number, stored names, decisions).

A front end reads these to confirm what was stored (`events`, in order) without
touching a `Pot`; `stored_events` and `decisions_made` read them off the pot a
command just changed, before it is saved.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from domain.events import PotEvent, ProposalDecided
from domain.pot import Pot


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


def stored_events(pot: Pot) -> tuple[PotEvent, ...]:
    """The events the command triggered, about to be saved: a pot triggers only PotEvents."""
    return tuple(e for e in pot.pending_events if isinstance(e, PotEvent))


def decisions_made(pot: Pot) -> tuple[Decided, ...]:
    return tuple(Decided(e.proposal_no, e.outcome) for e in pot.pending_events if isinstance(e, ProposalDecided))
