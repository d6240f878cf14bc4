"""The models of query results: the plain data each query returns, with SPEC §4's JSON field names.

`projections.queries` fills them; the CLI renders them as text or JSON.
"""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SerializerFunctionWrapHandler, model_serializer


class Report(BaseModel):
    # Built on first use: each command renders one or two of these, not all of them.
    model_config = ConfigDict(frozen=True, defer_build=True)


class MemberShare(Report):
    name: str
    contributed: str
    share_pct: str
    received: str


class BalanceReport(Report):
    pot: str
    currency: str
    as_of: date
    balance: str
    contributed: str
    paid_out: str
    reserved: str
    available: str
    members: list[MemberShare]
    # What approved, unpaid proposals reserve beyond the balance ("0.00" when covered): `available` never
    # shows below zero, the shortfall is shown as such (issue 21). Text and web only, not in SPEC §4's JSON.
    shortfall: str = Field(default="0", exclude=True)


class MemberRow(Report):
    name: str
    role: str
    joined: date
    left: date | None


class Votes(Report):
    agree: int = 0
    abstain: int = 0
    disagree: int = 0
    block: int = 0


class Ballot(Report):
    member: str
    position: str
    reason: str
    on: date
    # SPEC §7, for people (the proposal page), not in SPEC §4's JSON: the key that signed it, None unsigned.
    key_id: str | None = Field(default=None, exclude=True)


class ProposalRow(Report):
    no: int
    proposer: str
    amount: str
    purpose: str
    recipient: str
    closes: date
    status: str
    votes: Votes
    # The day it was decided or cancelled: for people (text), not in SPEC §4's JSON.
    ended: date | None = Field(default=None, exclude=True)
    # A rule-change proposal's rules to set (SPEC §8), e.g. {"quorum": "0.75"}; None for a withdrawal,
    # whose JSON then has no `rules` at all, as before rules could change.
    rules: dict[str, str | int | bool] | None = None

    @model_serializer(mode="wrap")
    def _without_absent_rules(self, handler: SerializerFunctionWrapHandler) -> Any:
        data = handler(self)
        if isinstance(data, dict) and data.get("rules", 0) is None:
            del data["rules"]
        return data

    @property
    def when(self) -> str:
        """ "closes D" while open; once decided, the day it ended instead of a closing day that no longer applies."""
        if self.status == "open" or self.ended is None:
            return f"closes {self.closes}"
        return f"{'cancelled' if self.status == 'cancelled' else 'decided'} {self.ended}"


class ProposalDetail(ProposalRow):
    ballots: list[Ballot]
    # SPEC §8, while it is open (SPEC §4 `proposal N`): the eligible current members who have not voted, in
    # joining order; whether quorum is reached; how closing it now would end (null once decided).
    waiting: list[str] = []
    quorum_reached: bool = False
    if_closed_now: str | None = None
    # For people (text, web), not in SPEC §4's JSON: who blocks it now, and, approved but not yet
    # payable, how much the pot lacks once the approvals before it are paid (issue 21).
    blocked_by: list[str] = Field(default=[], exclude=True)
    short_minor: int = Field(default=0, exclude=True)
    short: str | None = Field(default=None, exclude=True)
    # SPEC §8, for people and the web page (not in SPEC §4's JSON): money back since the payout, and the
    # SHA-256 of the receipt kept with it.
    refunded_minor: int = Field(default=0, exclude=True)
    refunded: str = Field(default="0.00", exclude=True)
    receipt_sha256: str | None = Field(default=None, exclude=True)


Why = Literal["chain", "rule", "snapshot", "view", "digest", "signature", "receipt"]


class VerifyReport(Report):
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
    bad_signatures: list[int] = []
    # Not part of the JSON contract: why verification failed, for the error line.
    problem: str | None = None

    def contract(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude={"problem"})


class PotInfo(Report):
    slug: str
    name: str
    currency: str
    digits: int
    quorum: str
    voting_days: int
    events: int
    head: str


class RulesReport(Report):
    """The rules in force on a day (SPEC §8 `pot rules`), and the event that set them."""

    pot: str
    as_of: date | None
    quorum: str
    voting_days: int
    signed_votes: bool
    # The event that put them in force (1, the pot opened, or a rules_changed), its day, and its proposal.
    since_event: int
    since: date
    proposal_no: int | None
