"""Whether an event could have been recorded by the commands: what an imported history must pass.

A jsonl export's hash chain proves that a file has not changed since it was
written, not that `pot` wrote it: anyone can edit an event and compute the chain
again. So an import checks each event before folding it, with the very guards
the commands call (domain.rules and its siblings): its people are members at that point, its
actor may do what it records, its money keeps the money rules, what it refers to
(a contribution, a proposal, an earlier event) exists and is in the state it
needs, and it holds exactly what the command would have stored; a signed event's
signature is checked as its command checks it (SPEC §7, `check_signature`). A history that
fails is one no crew could have recorded, and storing it would leave views that
cannot be built (two members with one name) or figures no rule allows.

These are the rules that never depend on the day, with dates kept to 1900-2999
(outside it a date is a typo, and the report cannot draw it). The rules that do
depend on it (no value date in the future, the voting window, nothing dated
before what it follows) are checked against the day a command ran, which a
history does not keep, and they may be tightened in later versions; a backup
made under an older rule must still import, so the guards are given no `today`
here. Neither may the rules here tighten: a value some version of `pot` stored
must keep passing, or that version's backups stop restoring. The balance is
checked after each event is folded, whatever its kind (`follow`), so the
guards' funds rules are left to that check.

`follow` is the whole step: check an event, fold it, check the balance. The
jsonl import builds a pot with it, and `pot verify` re-applies it to a store's
own history, so a row inserted into the store with the chain recomputed is named
as unlawful just as it would be in a file.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from domain import key_rules, proposal_rules, rules
from domain.errors import BadInput, NotFound, PotError, Refused
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
    ProposalCancelled,
    ProposalDecided,
    ReflectionNoted,
    RoleChanged,
    RuleChangeProposed,
    RulesChanged,
    VoteCast,
    WithdrawalPaid,
    WithdrawalProposed,
    WithdrawalRefunded,
    payload,
)
from domain.pot import Pot
from domain.signing import Seen


class Unfoldable(Refused):
    """An event that passed the guards but cannot be folded lawfully: it breaks the state or the balance."""


def follow(pot: Pot | None, event: PotEvent, *, seen: Seen | None = None, signatures: bool = True) -> Pot:
    """The pot after `event`, if the commands could have recorded it there; a PotError saying why not.

    `pot` is None before a pot's first event, which must then be its opening.
    `seen` finds a digest in the chain so far (see `check_signature`); `verify`
    checks signatures itself, to name every bad one, and passes `signatures=False`.
    """
    if pot is None:
        if not isinstance(event, PotOpened):
            raise Refused(f"a pot's history starts with {PotOpened.TYPE}, not {event.TYPE}")
        check_opening(event)
    else:
        check_follows(pot, event, seen=seen, signatures=signatures)
    try:
        folded: Pot = event.mutate(pot)  # type: ignore[assignment]
    except PotError:
        raise
    except Exception as e:
        raise Unfoldable(f"cannot follow the events before it ({e!r})") from None
    if folded.state.balance_minor < 0:
        raise Unfoldable("takes the balance below zero")
    return folded


def check_opening(event: PotOpened) -> None:
    """Refuse a pot's first event unless `pot init` could have recorded it."""
    rules.in_range(event.on)
    fields = rules.opening(
        slug=event.slug,
        name=event.name,
        currency=event.currency,
        digits=event.digits,
        quorum=event.quorum,
        voting_days=event.voting_days,
        treasurer=event.actor,
        typed=False,
    )
    fields["actor"] = fields.pop("treasurer")
    _as_recorded(event, fields, name="pot name", actor="treasurer name")


def check_follows(pot: Pot, event: PotEvent, *, seen: Seen | None = None, signatures: bool = True) -> None:
    """Refuse `event` (a PotError saying why) unless it can be the pot's next event."""
    if pot.version == 1:
        # The opener joins as the pot's first treasurer, in the same command.
        if not (isinstance(event, MemberJoined) and event.member == event.actor and event.role == "treasurer"):
            raise Refused("a pot's second event is its opener joining as treasurer")
        return
    rules.in_range(event.on)
    # An approved rule change comes into force with its decision, by whoever decided it (SPEC §8).
    due = pot.rules_due()
    if due is not None:
        if not (isinstance(event, RulesChanged) and event.proposal_no == due.no):
            raise Refused(f"proposal {due.no} was approved: its rules come into force next, at once")
        decider = pot.find_member(event.actor)
        if decider is None:
            raise NotFound(f"{event.actor!r} is not a member of pot {pot.slug!r}")
        _as_recorded(event, {"actor": decider.name, **proposal_rules.rules_in_force(pot, proposal_no=due.no)})
        return
    # A proposal whose every voter still here has voted is decided by the command that
    # made it so (the last vote, or a member leaving), before anything else happens.
    owed = next((p for p in pot.state.proposals.values() if p.status == "open" and pot.everyone_voted(p)), None)
    if owed is not None and not (isinstance(event, ProposalDecided) and event.proposal_no == owed.no):
        raise Refused(f"every voter still here had voted on proposal {owed.no}: it is decided next, at once")
    # That decision's actor may be the member who just left; every other actor is a member when it happens.
    actor = pot.find_member(event.actor) if owed is not None else pot.current_member(event.actor)
    if actor is None:
        raise NotFound(f"{event.actor!r} is not a member of pot {pot.slug!r}")
    _as_recorded(event, {"actor": actor.name})
    _follows(pot, event, owed is not None)
    if signatures:
        check_signature(pot, event, seen)


def check_signature(pot: Pot, event: PotEvent, seen: Seen | None = None) -> None:
    """Refuse the event's signature as its command would (domain.key_rules.signature), against the pot before it.

    `seen` gives the number of the event in the chain so far with a digest, or None:
    an import or `verify` knows every digest before the event; without it, only the
    pot's head is known, which is what a signer who saw the newest event signs.
    """
    given = getattr(event, "signature", None)
    if given is None and not isinstance(event, VoteCast):
        return
    if given is None:
        # Only the rule `signed_votes` can refuse it: no fields or digests to look at, but which
        # proposal it is on (the rule in force when that was made, SPEC §8).
        on_proposal = {"proposal_no": getattr(event, "proposal_no", None)}
        key_rules.signature(pot, kind=event.TYPE, actor=event.actor, fields=on_proposal, given=None, seen_no=None)
        return
    seen_no = pot.version if given.seen == pot.state.head else seen(given.seen) if seen is not None else None
    fields = {**payload(event), "on": event.on}
    key_rules.signature(pot, kind=event.TYPE, actor=event.actor, fields=fields, given=given, seen_no=seen_no)


def _follows(pot: Pot, event: PotEvent, owed: bool) -> None:
    """The event kind's own guard, as its command calls it, then: does the event hold what it returned?"""
    by = event.actor
    match event:
        case MemberJoined():
            _, member = rules.joining(pot, actor=by, name=event.member, typed=False)
            _as_recorded(event, {"member": member}, member="member name")
        case MemberLeft():
            _, leaving = rules.leaving(pot, actor=by, name=event.member)
            _as_recorded(event, {"member": leaving.name}, member="member name")
        case RoleChanged():
            _, changing = rules.role_change(pot, actor=by, name=event.member, role=event.role)
            _as_recorded(event, {"member": changing.name}, member="member name")
        case ContributionRecorded():
            _, fields = rules.contribution(
                pot,
                actor=by,
                member=event.member,
                amount_minor=event.amount_minor,
                on=event.on,
                today=None,
                note=event.note,
                ref=event.ref,
                income_minor=event.income_minor,
            )
            _as_recorded(event, fields, member="member name")
        case ContributionReversed():
            no = event.contribution_no
            _, found, why = rules.reversal(
                pot, actor=by, contribution_no=no, reason=event.reason, today=None, funds=False
            )
            if (found.member, found.amount_minor) != (event.member, event.amount_minor):
                raise Refused(f"contribution {no} was {pot.money(found.amount_minor)} from {found.member}")
            _as_recorded(event, {"reason": why})
        case WithdrawalProposed():
            _, fields = proposal_rules.proposal(
                pot,
                actor=by,
                amount_minor=event.amount_minor,
                purpose=event.purpose,
                recipient=event.recipient,
                closes=event.closes,
                today=None,
            )
            if event.proposal_no != fields["proposal_no"]:
                raise Refused(f"the next proposal is number {fields['proposal_no']}, not {event.proposal_no}")
            if event.eligible != fields["eligible"]:
                raise Refused(f"the eligible voters are the members then ({', '.join(fields['eligible'])})")
            _as_recorded(event, fields)
        case VoteCast():
            _, fields = proposal_rules.vote(
                pot, actor=by, proposal_no=event.proposal_no, position=event.position, reason=event.reason, today=None
            )
            _as_recorded(event, fields, member="voter (a member votes only as themselves)")
        case ProposalDecided():
            # Owed, it is decided at once by whoever completed it; otherwise a member closes it.
            no = event.proposal_no
            deciding = (
                pot.open_proposal(no) if owed else proposal_rules.closing(pot, actor=by, proposal_no=no, today=None)[1]
            )
            recorded = {key: getattr(event, key) for key in pot.decision(deciding)}
            # A history an older `pot` recorded may count a member who left (see decision_before_leavers_…).
            if recorded not in (pot.decision(deciding), pot.decision_before_leavers_stopped_counting(deciding)):
                raise Refused(f"the votes cast decide proposal {no} otherwise")
        case ProposalCancelled():
            proposal_rules.cancelling(pot, actor=by, proposal_no=event.proposal_no)
        case WithdrawalPaid():
            _, paying = proposal_rules.payout(pot, actor=by, proposal_no=event.proposal_no, today=None, funds=False)
            if (paying.amount_minor, paying.recipient) != (event.amount_minor, event.recipient):
                raise Refused(f"proposal {paying.no} pays {pot.money(paying.amount_minor)} to {paying.recipient}")
            if event.receipt_sha256 is not None:
                proposal_rules.receipt(event.receipt_sha256)
        case PledgeSet():
            _, fields = rules.pledge(
                pot,
                actor=by,
                member=event.member,
                percent=_percent(event),
                monthly_minor=event.monthly_minor,
                from_month=event.from_month,
                today=None,
                stop=event.kind == "none",
            )
            _as_recorded(event, fields, member="member name")
        case GamePlayed():
            _, fields = rules.game(
                pot,
                actor=by,
                game=event.game,
                on=event.on,
                today=None,
                participants=event.participants,
                asker=event.asker,
                offered=event.offered,
                missed=event.missed,
                resolved=event.resolved,
            )
            _as_recorded(
                event, fields, participants="names", asker="--asker name", offered="--offered", missed="--missed"
            )
        case ReflectionNoted():
            _, fields = rules.reflection(pot, actor=by, event_no=event.event_no, feeling=event.feeling, note=event.note)
            _as_recorded(event, fields, member="member (a member reflects only as themselves)")
        case MemberKeyAdded():
            _, fields = key_rules.key_added(
                pot, actor=by, member=event.member, public_key=event.public_key, proof=event.proof
            )
            _as_recorded(event, fields, member="member (a member registers keys only for themself)")
        case MemberKeyRevoked():
            _, fields = key_rules.key_revoked(pot, actor=by, key_id=event.key_id)
            _as_recorded(event, fields)
        case WithdrawalRefunded():
            _, fields = proposal_rules.refund(
                pot,
                actor=by,
                proposal_no=event.proposal_no,
                amount_minor=event.amount_minor,
                reason=event.reason,
                today=None,
            )
            _as_recorded(event, fields)
        case PotOpened():
            raise Refused("a pot's history starts with pot_opened, and only once")
        case RuleChangeProposed():
            _, fields = proposal_rules.rule_change(
                pot, actor=by, purpose=event.purpose, changes=event.rules, closes=event.closes, today=None
            )
            if event.proposal_no != fields["proposal_no"]:
                raise Refused(f"the next proposal is number {fields['proposal_no']}, not {event.proposal_no}")
            if event.eligible != fields["eligible"]:
                raise Refused(f"the eligible voters are the members then ({', '.join(fields['eligible'])})")
            _as_recorded(event, fields)
        case RulesChanged():
            # Only right after its approval, which check_follows handles before it gets here.
            raise Refused(f"rules change only with the approval of a rule-change proposal ({event.proposal_no})")
        case _:
            raise Refused(f"no command records an event of type {event.TYPE!r}")


def _as_recorded(event: PotEvent, fields: Mapping[str, Any], **what: str) -> None:
    # What the pot would have stored must be exactly what the file holds: a name in
    # another case or with spaces around it would be a second spelling of one thing.
    for key, recorded in fields.items():
        given = getattr(event, key)
        if given != recorded:
            raise BadInput(f"{what.get(key, key)} {given!r} is not as the pot records it ({recorded!r})")


def _percent(event: PledgeSet) -> Decimal | None:
    """The pledge's percent as `set_pledge` takes it; its kind says whether it has one."""
    if event.kind == "none" and (event.percent is not None or event.monthly_minor is not None):
        raise BadInput("a stopped pledge has no percent and no monthly amount")
    if (event.kind == "percent") != (event.percent is not None):
        raise BadInput(f"a {event.kind} pledge has {'a percent' if event.kind == 'percent' else 'no percent'}")
    try:
        return None if event.percent is None else Decimal(event.percent)
    except InvalidOperation:
        raise BadInput(f"percent {event.percent!r} is not a decimal") from None
