"""The consent rule for withdrawal proposals (SPEC §1 Decision), as pure functions."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from domain.events import POSITIONS as POSITIONS


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
