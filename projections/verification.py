"""What `pot verify` reports (SPEC §1 Integrity), kept apart from the reads' models: no read builds it (issue 22)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from projections.models import HIDE, json_dict

Why = Literal["chain", "rule", "snapshot", "view", "digest", "signature", "receipt"]


@dataclass(frozen=True, kw_only=True)
class VerifyReport:
    ok: bool
    events: int
    head: str
    first_bad: int | None
    # What failed at `first_bad` (issue 23): "chain" (the event or its link changed), "rule" (no command
    # could have recorded it), "snapshot" (a stored snapshot is not the state the log gives) or "view";
    # "receipt" (SPEC §8): a payout's stored receipt is missing or its bytes no longer match its hash.
    why: Why | None = None
    # SPEC §7: events whose signature checks, signable events without one, and events whose signature
    # fails (or an unsigned vote where the pot takes signed votes only), by number.
    signed: int = 0
    unsigned: int = 0
    bad_signatures: list[int] = field(default_factory=list)
    # Not part of the JSON contract: why verification failed, for the error line.
    problem: str | None = field(default=None, metadata=HIDE)

    def contract(self) -> dict[str, Any]:
        return json_dict(self)
