"""The guards of deciding together: proposals, votes, closing, cancelling, payouts, money back, rule changes.

Guards as domain.rules describes them (one per event kind, called by the `Pot`
command and by the import's checks alike, `today` None for an import), for the
events of a proposal's life (SPEC §1), the consent rules that came later
(SPEC §8: a reason for a block, two people to pay, payouts in order of
approval), money that came back, and rules changed by consent.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING

from domain.errors import BadInput, InsufficientFunds, NotAuthorized, Refused
from domain.events import POSITIONS, RuleSet
from domain.rules import Fields, in_range, valid_amount
from domain.state import MemberState, ProposalState
from domain.values import name_key, parse_quorum, parse_text

if TYPE_CHECKING:
    from domain.pot import Pot


# --------------------------------------------------------------------------- proposals
def proposal(
    pot: Pot,
    *,
    actor: str,
    amount_minor: int,
    purpose: str,
    recipient: str | None,
    closes: date | None,
    today: date | None,
) -> tuple[MemberState, Fields]:
    """A withdrawal proposed by a member: the proposer, and the proposal's fields.

    Without `closes` it closes `voting_days` after `today`; an import always has it.
    """
    proposer = pot.current_member(actor)
    why = parse_text(purpose, "purpose", required=True)
    valid_amount(pot, amount_minor, "amount")
    to = None if recipient is None else parse_text(recipient, "recipient", max_len=200, one_line=True)
    if closes is None:
        if today is None:
            raise BadInput("a proposal needs a closing date")
        closes = today + timedelta(days=pot.state.voting_days)
    in_range(closes, "closing date")
    if today is not None and closes < today:
        raise BadInput(f"closing date {closes} is in the past (today is {today})")
    if not to:
        to = proposer.name
    elif (known := pot.find_member(to)) is not None:
        # A recipient who is a member is named as the member is; anyone else as given.
        to = known.name
    fields = {"proposal_no": pot.proposal_count + 1, "amount_minor": amount_minor, "purpose": why, "recipient": to}
    return proposer, {**fields, "closes": closes, "eligible": pot.current_names()}


def vote(
    pot: Pot, *, actor: str, proposal_no: int, position: str, reason: str, today: date | None
) -> tuple[MemberState, Fields]:
    """A vote cast by an eligible member as themself: the voter, and the vote's fields."""
    voter = pot.current_member(actor)
    if position not in POSITIONS:
        raise BadInput(f"vote {position!r} is not one of {', '.join(POSITIONS)}")
    why = parse_text(reason, "reason")
    open_ = pot.open_proposal(proposal_no)
    if voter.name not in open_.eligible:
        raise NotAuthorized(
            f"{voter.name} was not a member when proposal {proposal_no} was made, so may not vote on it"
        )
    if today is not None and open_.proposed is not None and today < open_.proposed:
        raise Refused(f"proposal {proposal_no} was made on {open_.proposed}: a vote cannot be dated {today}")
    # Votes are taken up to and on the closing day; after it only `close` decides.
    if today is not None and today > open_.closes:
        raise Refused(
            f"voting on proposal {proposal_no} closed on {open_.closes}: "
            f"`pot close {proposal_no}` decides it on the votes cast"
        )
    # Last, so that a vote refused for who or when says so, not that it lacks a reason.
    if today is not None:
        needs_reason(position, why)
    return voter, {"proposal_no": proposal_no, "member": voter.name, "position": position, "reason": why}


def closing(pot: Pot, *, actor: str, proposal_no: int, today: date | None) -> tuple[MemberState, ProposalState]:
    """A proposal decided by any member once its voting is over: who closes it, and the proposal."""
    closer = pot.current_member(actor)
    open_ = pot.open_proposal(proposal_no)
    # SPEC §1: it closes *after* its closing date; votes are still taken on that day.
    if today is not None and today <= open_.closes and not pot.everyone_voted(open_):
        raise Refused(f"proposal {proposal_no} is open for votes until {open_.closes}")
    return closer, open_


def cancelling(pot: Pot, *, actor: str, proposal_no: int) -> MemberState:
    """A proposal cancelled by its proposer while open, or approved and not yet paid: the proposer.

    Cancelling an approved proposal releases what it reserved (SPEC §1 edge cases).
    """
    canceller = pot.current_member(actor)
    status = pot.proposal_status(proposal_no)
    if status not in ("open", "approved"):
        raise Refused(f"proposal {proposal_no} is {status}: only an open or approved, unpaid proposal is cancelled")
    open_ = pot.state.proposals[proposal_no]
    if open_.enacted:
        raise Refused(
            f"proposal {proposal_no} changed the pot's rules when it was approved: "
            "to undo it, propose another rule change"
        )
    if name_key(canceller.name) != name_key(open_.proposer):
        raise NotAuthorized(f"only {open_.proposer}, who proposed it, may cancel proposal {proposal_no}")
    return canceller


def payout(
    pot: Pot, *, actor: str, proposal_no: int, today: date | None, funds: bool
) -> tuple[MemberState, ProposalState]:
    """An approved proposal paid in full by a treasurer: the treasurer, and the proposal."""
    acting = pot.acting_treasurer(actor, "pay out")
    status = pot.proposal_status(proposal_no)
    if status == "paid":
        raise Refused(f"proposal {proposal_no} is already paid")
    _not_a_rule_change(pot, proposal_no, "paid: there is nothing to pay")
    if status != "approved":
        raise Refused(f"proposal {proposal_no} is {status}, not approved: only approved proposals are paid")
    approved = pot.state.proposals[proposal_no]
    # Paid before it was approved, the money would leave a balance that, as of the
    # days between, never held it: `balance --as-of` would go below zero.
    if today is not None and approved.decided is not None and today < approved.decided:
        raise Refused(f"proposal {proposal_no} was approved on {approved.decided}: it cannot be paid on {today}")
    if today is not None:
        two_to_sign(pot, acting, approved)
    if funds and approved.amount_minor > pot.state.balance_minor:
        raise InsufficientFunds(
            f"insufficient funds: proposal {proposal_no} asks {pot.money(approved.amount_minor)} "
            f"but the pot holds {pot.money(pot.state.balance_minor)}"
        )
    if funds:
        in_order_of_approval(pot, approved)
    return acting, approved


# --------------------------------------------------------------------------- consent that carries a crew (SPEC §8)
# These rules came after histories were recorded without them, so, like the rules that depend on the day,
# they apply to the commands (a guard given `today`, or `funds`) and not to an import: a backup an older
# `pot` made, with a block without a reason or a treasurer paying their own proposal, still restores.
def needs_reason(position: str, reason: str) -> None:
    """A `block` or `disagree` says why (SPEC §8); `agree` and `abstain` need not."""
    if position == "block" and not reason:
        raise BadInput("a block needs a reason: say what the crew would need to hear or change (--reason)")
    if position == "disagree" and not reason:
        raise BadInput("a disagree vote needs a reason: say why (--reason)")


def two_to_sign(pot: Pot, acting: MemberState, proposal: ProposalState) -> None:
    """A treasurer does not pay a proposal they made or receive, while another treasurer could (SPEC §8)."""
    me = name_key(acting.name)
    involved = [
        why for who, why in ((proposal.proposer, "proposed"), (proposal.recipient, "receive")) if name_key(who) == me
    ]
    if not involved:
        return
    others = [
        m.name
        for m in pot.state.members.values()
        if m.left is None and m.role == "treasurer" and name_key(m.name) != me
    ]
    if others:
        did = "proposed it" if involved[0] == "proposed" else "receive it"
        raise NotAuthorized(
            f"{acting.name} may not pay proposal {proposal.no}: they {did}; "
            f"another treasurer ({', '.join(others)}) pays it, so two people see the money go"
        )


def in_order_of_approval(pot: Pot, proposal: ProposalState) -> None:
    """Money reserved for an earlier approval is not paid to a later one (issue 21: approved beyond the pot)."""
    before = pot.reserved_before(proposal)
    free = pot.state.balance_minor - before
    if proposal.amount_minor > free:
        raise InsufficientFunds(
            f"insufficient funds: proposal {proposal.no} asks {pot.money(proposal.amount_minor)}; "
            f"the pot holds {pot.money(pot.state.balance_minor)}, of which {pot.money(before)} is reserved "
            "for proposals approved before it: payouts go in order of approval"
        )


# --------------------------------------------------------------------------- money back and receipts (SPEC §8)
def refund(
    pot: Pot, *, actor: str, proposal_no: int, amount_minor: int, reason: str, today: date | None
) -> tuple[MemberState, Fields]:
    """Money of a paid proposal that came back, recorded by a treasurer: the treasurer, and the event's fields.

    At most what was paid, less what already came back; the payout itself stays in the log.
    """
    acting = pot.acting_treasurer(actor, "record money back")
    why = parse_text(reason, "reason", required=True)
    valid_amount(pot, amount_minor, "amount")
    status = pot.proposal_status(proposal_no)
    if status != "paid":
        raise Refused(f"proposal {proposal_no} is {status}, not paid: only money that was paid out can come back")
    payout = pot.state.payouts.get(proposal_no)
    if payout is None:
        # A pot loaded from a snapshot taken before payouts were kept gets them from the ledger
        # (Commands._recall_payout); only a store whose views lost the payout gets here.
        raise Refused(f"the payout of proposal {proposal_no} is not in this pot's state: run `pot verify`")
    left = payout.amount_minor - payout.refunded_minor
    if amount_minor > left:
        back = f", {pot.money(payout.refunded_minor)} of it already came back" if payout.refunded_minor else ""
        raise Refused(
            f"proposal {proposal_no} paid {pot.money(payout.amount_minor)}{back}: "
            f"at most {pot.money(left)} can come back, not {pot.money(amount_minor)}"
        )
    if today is not None and today < payout.on:
        raise Refused(f"proposal {proposal_no} was paid on {payout.on}: money back cannot be dated {today}")
    return acting, {
        "proposal_no": proposal_no,
        "amount_minor": amount_minor,
        "recipient": payout.recipient,
        "reason": why,
    }


def receipt(sha256: str) -> str:
    """A payout's receipt hash as recorded: 64 lowercase hex digits (the SHA-256 of the receipt's bytes)."""
    if len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256):
        raise BadInput(f"receipt hash {sha256[:80]!r} is not a SHA-256 (64 lowercase hex digits)")
    return sha256


# --------------------------------------------------------------------------- rules changed by consent (SPEC §8)
def rule_change(
    pot: Pot, *, actor: str, purpose: str, changes: RuleSet, closes: date | None, today: date | None
) -> tuple[MemberState, Fields]:
    """New rules proposed by a member: the proposer, and the proposal's fields.

    Numbered with the withdrawals and open for as long as one would be; it must change
    at least one rule, each to a value `pot init` would take.
    """
    proposer = pot.current_member(actor)
    why = parse_text(purpose, "purpose", required=True)
    quorum = None if changes.quorum is None else str(parse_quorum(changes.quorum))
    if changes.voting_days is not None and not 1 <= changes.voting_days <= 365:
        raise BadInput(f"voting days {changes.voting_days} must be between 1 and 365")
    if changes.given() == {}:
        raise BadInput("a rule change sets at least one rule: --quorum, --voting-days or --signed-votes")
    now = pot.state
    same = []
    if quorum is not None and Decimal(quorum) == Decimal(now.quorum):
        same.append(f"the quorum is {now.quorum}")
    if changes.voting_days is not None and changes.voting_days == now.voting_days:
        same.append(f"voting lasts {now.voting_days} days")
    if changes.signed_votes is not None and changes.signed_votes == now.signed_votes:
        same.append(f"signed votes are {'on' if now.signed_votes else 'off'}")
    if len(same) == len(changes.given()):
        raise Refused(f"nothing to change: {' and '.join(same)} already")
    if closes is None:
        if today is None:
            raise BadInput("a proposal needs a closing date")
        closes = today + timedelta(days=now.voting_days)
    in_range(closes, "closing date")
    if today is not None and closes < today:
        raise BadInput(f"closing date {closes} is in the past (today is {today})")
    rules_set = RuleSet(quorum=quorum, voting_days=changes.voting_days, signed_votes=changes.signed_votes)
    fields = {"proposal_no": pot.proposal_count + 1, "purpose": why, "closes": closes}
    return proposer, {**fields, "eligible": pot.current_names(), "rules": rules_set}


def rules_in_force(pot: Pot, *, proposal_no: int) -> Fields:
    """The rules an approved rule-change proposal puts in force, with its decision: every rule, changed or not."""
    due = pot.rules_due()
    if due is None or due.no != proposal_no:
        raise Refused(f"proposal {proposal_no} is not an approved rule change waiting to come into force")
    now, changes = pot.state, due.changes or RuleSet()
    return {
        "proposal_no": proposal_no,
        "quorum": now.quorum if changes.quorum is None else changes.quorum,
        "voting_days": now.voting_days if changes.voting_days is None else changes.voting_days,
        "signed_votes": now.signed_votes if changes.signed_votes is None else changes.signed_votes,
    }


def _not_a_rule_change(pot: Pot, proposal_no: int, doing: str) -> None:
    """Refuse to treat a rule-change proposal as a withdrawal (pay it, say)."""
    live = pot.state.proposals.get(proposal_no)
    if live is not None and live.changes is not None:
        raise Refused(f"proposal {proposal_no} changes the pot's rules, so it is never {doing}")
