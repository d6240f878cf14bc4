"""What a pot remembers between commands: its state models, what its rules ask of them, older snapshots.

`PotState` is the fold's result (`Pot.evolve`), kept small however long the
history: single past contributions are asked of `domain.past`, not carried.
`PotLookups`, a base of `Pot`, answers what the rules ask of it (who is a
member, how a proposal stands, what the votes decide). A snapshot is the
state stored at one version, so a store may still hold one written by an
older version of `pot`: `PotState` reads those too.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from typing import Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, model_validator

from domain import chain
from domain.consent import tally
from domain.errors import NotAuthorized, NotFound, Refused
from domain.events import Role, RuleSet, Status
from domain.values import format_amount, name_key

Ended = Literal["rejected", "cancelled", "paid"]
# The statuses a proposal never leaves: the state keeps only how it ended.
ENDED: tuple[Ended, ...] = get_args(Ended)


class _State(BaseModel):
    # Validators are built when a pot is first loaded, not by every command that imports this.
    model_config = ConfigDict(extra="forbid", defer_build=True)


class MemberState(_State):
    name: str
    role: Role
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
    # Latest reason per voter name, so that the same vote again is known for a repeat (issue 18,
    # defect 9). Missing for votes folded into snapshots taken before it was kept, and left out of
    # the state's digest, so those snapshots still match: a vote with no known reason is stored.
    reasons: dict[str, str] = {}
    status: Status = "open"
    # The days it was made and approved, so a vote or payout cannot be dated before
    # them. None in snapshots taken before they were kept: those skip the check.
    proposed: date | None = None
    decided: date | None = None
    # The number of the event that approved it: payouts go in order of approval (issue 21). None in
    # snapshots taken before it was kept: those count as approved first. Left out of the state's digest,
    # as `reasons` is, so a snapshot taken before it still matches the state the log gives.
    approved_no: int | None = None
    # SPEC §8: the rules in force when it was made, under which it is decided and replayed. None while
    # they are still the pot's rules: a rules change writes them onto every proposal still in play
    # first, so a pot whose rules never changed folds (and snapshots) exactly as before.
    quorum: str | None = None
    voting_days: int | None = None
    signed_votes: bool | None = None
    # A rule-change proposal's rules to set (None: a withdrawal), and whether they came into force.
    changes: RuleSet | None = None
    enacted: bool = False


class KeyState(_State):
    """A member's signing key (SPEC §7): whose, the key, and the events that added and revoked it."""

    member: str
    public_key: str
    added: int
    revoked: int | None = None


class PayoutState(_State):
    """A paid proposal's payout (SPEC §8 money back): what was paid, to whom, when, and how much came back."""

    amount_minor: int
    recipient: str
    on: date
    refunded_minor: int = 0


# ProposalState's fields added with rule changes (SPEC §8), and their defaults: out of the digest while unset.
_RULE_FIELDS: tuple[tuple[str, Any], ...] = (
    ("quorum", None),
    ("voting_days", None),
    ("signed_votes", None),
    ("changes", None),
    ("enacted", False),
)


class PotState(_State):
    slug: str
    name: str
    currency: str
    digits: int
    quorum: str
    voting_days: int
    members: dict[str, MemberState] = {}
    balance_minor: int = 0
    # Contributions themselves stay in the event log (see domain.past): only
    # which ones were reversed, so the state does not grow with every contribution.
    reversed_nos: set[int] = set()
    # Proposals still in play: open, or approved and not yet paid.
    proposals: dict[int, ProposalState] = {}
    # Proposals that ended, by number: only how, for the refusals that name it.
    ended: dict[int, Ended] = {}
    # Numbers of events that are reflections: a reflection is never about another one.
    reflection_nos: set[int] = set()
    head: str = chain.GENESIS
    # SPEC §7: the rule `signed_votes`, and every key ever registered, by key id (a revoked one stays).
    signed_votes: bool = False
    keys: dict[str, KeyState] = {}
    # SPEC §8: every paid proposal's payout, by proposal number, so money back is capped by what was
    # paid. Missing from snapshots taken before it was kept (see `digest` and rules.refund).
    payouts: dict[int, PayoutState] = {}

    def digest(self) -> str:
        """SHA-256 of the state in a canonical JSON form: what a snapshot records, and `verify` compares."""
        data = self.model_dump(mode="json")
        # Fields added later are left out while they hold their default, so a snapshot taken
        # before they existed still matches the hash it was stored with.
        for name, default in (("signed_votes", False), ("keys", {})):
            if data[name] == default:
                del data[name]
        for name in ("reversed_nos", "reflection_nos"):
            data[name] = sorted(data[name])  # sets: their order in memory is not part of the state
        for proposal in data["proposals"].values():
            proposal.pop("reasons", None)  # see ProposalState.reasons
            proposal.pop("approved_no", None)  # see ProposalState.approved_no
            # Kept since rules change by consent (SPEC §8): left out while unset, as above.
            for name, default in _RULE_FIELDS:
                if proposal.get(name, default) == default:
                    proposal.pop(name, None)
        # Payouts are a later field a snapshot may lack although the log paid them: only money that came
        # back (which no older snapshot can hold) is in the digest, so those snapshots still match.
        refunds = {no: p["refunded_minor"] for no, p in data.pop("payouts").items() if p["refunded_minor"]}
        if refunds:
            data["refunds"] = refunds
        text = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        return hashlib.sha256(text.encode("utf-8")).hexdigest()

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


class PotLookups:
    """What the rules ask of a pot's state: who is a member, how a proposal stands, what votes decide.

    A base of `Pot`, so the commands (domain.pot, domain.proposal_commands), their guards
    (domain.rules, domain.proposal_rules, domain.key_rules) and the import's checks
    (domain.lawful) ask one place.
    """

    state: PotState

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
            raise NotFound(f"{name!r} is not a member of pot {self.slug!r}")
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
    def available_minor(self) -> int:
        """The balance less what approved, unpaid proposals reserve (SPEC §1 Payout)."""
        reserved = sum(p.amount_minor for p in self.state.proposals.values() if p.status == "approved")
        return self.state.balance_minor - reserved

    def reserved_before(self, proposal: ProposalState) -> int:
        """What approved, unpaid proposals approved before `proposal` reserve: money it cannot be paid from.

        Payouts go in order of approval (issue 21), so a later approval never takes
        money an earlier one is waiting for.
        """
        return sum(p.amount_minor for p in self.state.proposals.values() if _approved_before(p, proposal))

    @property
    def proposal_count(self) -> int:
        """How many proposals were ever made: they are numbered 1, 2, 3…"""
        return len(self.state.proposals) + len(self.state.ended)

    def proposal_status(self, no: int) -> Status:
        """open, approved, rejected, cancelled or paid; a refusal if there is no such proposal."""
        live = self.state.proposals.get(no)
        if live is not None:
            return live.status
        ended = self.state.ended.get(no)
        if ended is None:
            raise NotFound(f"there is no proposal {no} in pot {self.slug!r}")
        return ended

    def open_proposal(self, no: int) -> ProposalState:
        """A proposal still open for votes; a refusal saying how it ended otherwise."""
        status = self.proposal_status(no)
        if status != "open":
            raise Refused(f"proposal {no} is {status}: it is no longer open")
        return self.state.proposals[no]

    def voters(self, proposal: ProposalState) -> list[str]:
        """The proposal's eligible voters who are still members (SPEC §1: a member who leaves takes their vote)."""
        return [n for n in proposal.eligible if (m := self.find_member(n)) is not None and m.left is None]

    def repeats_vote(self, proposal: ProposalState, member: str, position: str, reason: str) -> bool:
        """Whether `member`'s latest vote on `proposal` is already this position with this reason."""
        return proposal.votes.get(member) == position and proposal.reasons.get(member) == reason

    def everyone_voted(self, proposal: ProposalState) -> bool:
        return all(n in proposal.votes for n in self.voters(proposal))

    def quorum_of(self, proposal: ProposalState) -> str:
        """The quorum the proposal is decided under: the one in force when it was made (SPEC §8)."""
        return proposal.quorum if proposal.quorum is not None else self.state.quorum

    def signed_votes_for(self, proposal_no: int | None) -> bool:
        """Whether votes on this proposal must be signed: the rule in force when it was made (SPEC §8)."""
        proposal = None if proposal_no is None else self.state.proposals.get(proposal_no)
        if proposal is None or proposal.signed_votes is None:
            return self.state.signed_votes
        return proposal.signed_votes

    def rules_due(self) -> ProposalState | None:
        """An approved rule-change proposal whose rules are not in force yet: they come in with its decision."""
        waiting = (p for p in self.state.proposals.values() if p.changes is not None and not p.enacted)
        return next((p for p in waiting if p.status == "approved"), None)

    def decision(self, proposal: ProposalState) -> dict[str, Any]:
        """The fields of the decision the votes cast so far give (SPEC §1 Decision).

        Only the voters still here count: a member who left is not in the tally,
        not a block, not among the eligible for quorum or for "everyone voted".
        """
        return self._decided_by(proposal, self.voters(proposal))

    def decision_before_leavers_stopped_counting(self, proposal: ProposalState) -> dict[str, Any]:
        """The decision as `pot` took it before SPEC §1's turn-2 edge cases: every eligible member counted.

        Only an import's check asks this, so that a history an older `pot` recorded still imports.
        """
        return self._decided_by(proposal, proposal.eligible)

    def _decided_by(self, proposal: ProposalState, voters: Sequence[str]) -> dict[str, Any]:
        """The decision's fields when `voters` are the ones who count."""
        counted = tally((proposal.votes[n] for n in voters if n in proposal.votes), len(voters))
        return {
            "proposal_no": proposal.no,
            "outcome": counted.outcome(Decimal(self.quorum_of(proposal))),
            "agree": counted.agree,
            "abstain": counted.abstain,
            "disagree": counted.disagree,
            "block": counted.block,
            "eligible_count": counted.eligible,
            "all_voted": all(n in proposal.votes for n in voters),
        }


def _approval_order(p: ProposalState) -> tuple[int, int]:
    # Approved before the approval's number was kept: first, in the order they were proposed.
    return (p.approved_no or 0, p.no)


def _approved_before(p: ProposalState, other: ProposalState) -> bool:
    return p.status == "approved" and p.no != other.no and _approval_order(p) < _approval_order(other)


def reversed_numbers(contributions: Any) -> list[int]:
    """The reversed contributions' event numbers, from an older snapshot's `contributions` value.

    Until domain.past existed, a pot's state held every contribution: first one
    object each, then packed integer arrays as base64 text. Only the reversals
    still matter.
    """
    if isinstance(contributions, list) and len(contributions) == 6:
        # The packed form: [names, numbers, amounts, days, members, reversed numbers].
        return sorted(int(n) for n in contributions[5])
    if isinstance(contributions, dict):
        # The first form: one object per contribution, keyed by event number.
        return sorted(int(no) for no, c in contributions.items() if isinstance(c, dict) and c.get("reversed"))
    raise ValueError("not a contribution book")
