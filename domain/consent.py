"""The consent rule for withdrawal proposals (SPEC §1 Decision), as pure functions."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal

from domain.vocabulary import POSITIONS as POSITIONS


@dataclass(frozen=True)
class Tally:
    agree: int
    abstain: int
    disagree: int
    block: int
    eligible: int

    @property
    def voted(self) -> int:
        return self.agree + self.abstain + self.disagree + self.block

    def needed(self, quorum: Decimal) -> int:
        """Votes needed for quorum: ceil(quorum x eligible), computed exactly."""
        return math.ceil(quorum * self.eligible)

    def outcome(self, quorum: Decimal) -> str:
        """Approved when nobody blocks, agree outnumbers disagree and quorum is met."""
        if self.block == 0 and self.agree > self.disagree and self.voted >= self.needed(quorum):
            return "approved"
        return "rejected"


def tally(positions: Iterable[str], eligible: int) -> Tally:
    counts = Counter(positions)
    return Tally(counts["agree"], counts["abstain"], counts["disagree"], counts["block"], eligible)


@dataclass(frozen=True)
class Standing:
    """Where an open proposal stands now (SPEC §8): who it waits for, and what closing it now would give."""

    waiting: list[str]
    quorum_reached: bool
    if_closed_now: str
    blocked_by: list[str]


def standing(voters: Iterable[str], latest: Mapping[str, str], quorum: Decimal) -> Standing:
    """The standing of a proposal whose eligible voters still here are `voters`, in joining order.

    `latest` is each member's latest position (members who left are ignored: SPEC §1,
    a member who leaves takes their vote with them). The tally and the quorum are
    the very ones a decision uses, so "if closed now" is what `close` would decide.
    """
    here = list(voters)
    cast = [latest[n] for n in here if n in latest]
    counted = tally(cast, len(here))
    return Standing(
        waiting=[n for n in here if n not in latest],
        quorum_reached=counted.voted >= counted.needed(quorum),
        if_closed_now=counted.outcome(quorum),
        blocked_by=[n for n in here if latest.get(n) == "block"],
    )
