"""The rules an event must pass before it is recorded: one guard per event kind, written once.

Each guard checks one event kind against the pot as it is (SPEC §1), raises a
`PotError` saying why not, and returns the event's fields as the pot records
them (names as they joined, text trimmed). Two callers share them, so they
cannot drift apart: a `Pot` command calls its guard, then emits those fields;
an import's check of a foreign history (domain.lawful) calls the same guard
with the event's fields, then asks that the event holds exactly what the
guard returned.

Value shapes are checked here too (names, feelings, text, amounts), whether or
not a front end parsed them already, so a history read from a file meets the
rules a typed command meets, with the same messages.

Rules that depend on the day the command ran (no value date in the future,
the voting window, nothing dated before what it follows) apply only when a
guard is given `today`; an import gives None (see domain.lawful for why).
So do the funds rules (`funds`): an import checks the balance after folding
each event instead, whatever its kind.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from domain.errors import BadInput, InsufficientFunds, NotAuthorized, NotFound, Refused
from domain.events import POSITIONS, RuleSet
from domain.game import check_game
from domain.past import Contribution
from domain.pledges import check_pledge_terms, index_of, month_index, month_named
from domain.signing import (
    SIGNATURE_BYTES,
    BadSignature,
    Signature,
    from_b64url,
    key_id_of,
    message,
    parse_key_id,
    parse_public_key,
    parse_signature,
    proof_message,
    signed_fields,
    verifies,
)
from domain.state import MemberState, ProposalState
from domain.values import (
    EARLIEST,
    LATEST,
    currency_digits,
    letters_not_in,
    look_alike,
    name_key,
    parse_currency,
    parse_feeling,
    parse_name,
    parse_new_name,
    parse_quorum,
    parse_slug,
    parse_text,
    within_ceiling,
)

if TYPE_CHECKING:
    from domain.pot import Pot

Fields = dict[str, Any]
# How far ahead a pledge may start (SPEC §1 edge cases).
PLEDGE_MONTHS_AHEAD = 12


# --------------------------------------------------------------------------- values
def in_range(day: date, what: str = "date") -> None:
    """Dates are 1900-2999 whatever the day a command ran: outside, a typo, and the report cannot draw them."""
    if not EARLIEST <= day <= LATEST:
        raise BadInput(f"{what} {day} is not between {EARLIEST.year} and {LATEST.year}")


def _money(pot: Pot, minor: int, what: str) -> int:
    """An amount as a typed one must be: above zero, at most the ceiling (SPEC §1 Money)."""
    if minor <= 0:
        raise BadInput(f"{what} must be above zero")
    try:
        within_ceiling(minor, pot.state.digits)
    except BadInput as e:
        # parse_amount says "amount …"; name other fields (income) as the CLI does.
        raise BadInput(str(e) if what == "amount" else f"{what}: {e}") from None
    return minor


def _not_future(day: date, today: date | None, what: str) -> None:
    if today is not None and day > today:
        raise BadInput(f"{what} {day} is in the future (today is {today})")


# --------------------------------------------------------------------------- opening and membership
def typed_name(name: str, what: str = "member name") -> str:
    """A name typed for a new member now: no comma, since commands list members as A,B (issue 18, defect 3).

    Only typed names meet this: a history read from a file keeps the names an older `pot` let in.
    """
    if "," in name:
        raise BadInput(
            f"{what} {name.strip()!r} contains a comma: members are listed as A,B, so a name cannot hold one"
        )
    return name


def opening(
    *,
    slug: str,
    name: str,
    currency: str,
    digits: int,
    quorum: str,
    voting_days: int,
    treasurer: str,
    typed: bool = True,
) -> Fields:
    """A new pot (`pot init`): its fields as recorded, and the opener's name.

    `typed` is False for a history read from a file (domain.lawful), whose names are kept as they are.
    """
    parse_slug(slug)
    title = parse_text(name, "pot name", max_len=200, required=True, one_line=True)
    code = parse_currency(currency)
    if digits != currency_digits(code):
        raise BadInput(f"{code} has {currency_digits(code)} minor digits, not {digits}")
    fraction = str(parse_quorum(quorum))
    if not 1 <= voting_days <= 365:
        raise BadInput(f"voting days {voting_days} must be between 1 and 365")
    opener = parse_new_name(typed_name(treasurer, "treasurer name") if typed else treasurer, "treasurer name")
    return {"slug": slug, "name": title, "currency": code, "quorum": fraction, "treasurer": opener}


def joining(pot: Pot, *, actor: str, name: str, typed: bool = True) -> tuple[MemberState, str]:
    """A member added by a treasurer: the treasurer, and the new member's name as recorded.

    `typed` is False for a history read from a file (domain.lawful): a comma an older `pot` let in is kept.
    """
    acting = pot.acting_treasurer(actor, "add members")
    member = parse_name(typed_name(name) if typed else name)
    existing = pot.find_member(member)
    if existing is not None:
        if existing.left is None:
            raise Refused(
                f"{existing.name} joined already: {existing.name} is already a member "
                "(names are compared ignoring case)"
            )
        raise Refused(f"{existing.name} was a member until {existing.left}; names stay unique in a pot's history")
    # Every member the pot ever had, as for an exact name: its history names them all, and
    # two of them must not read the same there (TR39 skeletons, ignoring case as above).
    everyone = {m.name: m for m in pot.state.members.values()}
    alike = look_alike(member, everyone)
    if alike is not None:
        left = everyone[alike].left
        was = "is a member" if left is None else f"was a member until {left}"
        raise Refused(
            f"{member!r} looks like {alike}, who {was}: a reader could take one for the other "
            f"({letters_not_in(member, alike)}); choose a name that looks different"
        )
    # Checked after the member it looks like, so that the message names them.
    return acting, parse_new_name(member)


def leaving(pot: Pot, *, actor: str, name: str) -> tuple[MemberState, MemberState]:
    """A member removed (by a treasurer, or by themself): who acts, and who leaves."""
    acting = pot.current_member(actor)
    member = pot.current_member(name)
    if acting.role != "treasurer" and name_key(acting.name) != name_key(member.name):
        raise NotAuthorized(f"only a treasurer may remove another member; {acting.name} is a member")
    pot.keep_a_treasurer(member)
    return acting, member


def role_change(pot: Pot, *, actor: str, name: str, role: str) -> tuple[MemberState, MemberState]:
    """A member made treasurer, or a treasurer made member: who acts, and whose role changes."""
    acting = pot.acting_treasurer(actor, "change roles")
    member = pot.current_member(name)
    if member.role == role:
        raise Refused(f"{member.name} is already a {role}")
    if role == "member":
        pot.keep_a_treasurer(member)
    return acting, member


# --------------------------------------------------------------------------- money in
def contribution(
    pot: Pot,
    *,
    actor: str,
    member: str,
    amount_minor: int,
    on: date,
    today: date | None,
    note: str,
    ref: str | None,
    income_minor: int | None,
) -> tuple[MemberState, Fields]:
    """Money recorded by a treasurer: the treasurer, and the contribution's fields."""
    acting = pot.acting_treasurer(actor, "record contributions")
    who = pot.current_member(member)
    _money(pot, amount_minor, "amount")
    if income_minor is not None:
        _money(pot, income_minor, "income")
    in_range(on)
    _not_future(on, today, "value date")
    remark = parse_text(note, "note")
    reference = None if ref is None else parse_text(ref, "ref", max_len=200, required=True, one_line=True)
    if reference is not None and (earlier := pot.recorded_refs([reference])):
        raise Refused(
            f"ref {reference!r} is recorded already, "
            f"so this contribution is already recorded (event {earlier[reference].no})"
        )
    if income_minor is not None and income_minor < amount_minor:
        raise BadInput("income must be at least the contribution amount")
    fields = {"member": who.name, "amount_minor": amount_minor, "note": remark, "ref": reference}
    return acting, {**fields, "income_minor": income_minor}


def reversal(
    pot: Pot, *, actor: str, contribution_no: int, reason: str, today: date | None, funds: bool
) -> tuple[MemberState, Contribution, str]:
    """A contribution undone by a treasurer: the treasurer, the contribution, the reason as recorded."""
    acting = pot.acting_treasurer(actor, "reverse contributions")
    why = parse_text(reason, "reason", required=True)
    if not 1 <= contribution_no <= pot.version:
        raise NotFound(f"event {contribution_no} is not a contribution in pot {pot.slug!r}")
    found = pot.contribution(contribution_no)
    if found is None:
        raise Refused(f"event {contribution_no} is not a contribution in pot {pot.slug!r}")
    if contribution_no in pot.state.reversed_nos:
        raise Refused(f"contribution {contribution_no} is already reversed")
    # A reversal before the money came in would leave the balance below zero as of the days between.
    if today is not None and today < found.on:
        raise Refused(f"contribution {contribution_no} is dated {found.on}: it cannot be reversed on {today}")
    if funds and found.amount_minor > pot.state.balance_minor:
        raise InsufficientFunds(
            f"reversing {pot.money(found.amount_minor)} would take the balance "
            f"({pot.money(pot.state.balance_minor)}) below zero: the money was already spent"
        )
    return acting, found, why


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
    _money(pot, amount_minor, "amount")
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


# --------------------------------------------------------------------------- pledges, the game, reflections
def pledge(
    pot: Pot,
    *,
    actor: str,
    member: str,
    percent: Decimal | None,
    monthly_minor: int | None,
    from_month: str,
    today: date | None,
    stop: bool = False,
) -> tuple[MemberState, Fields]:
    """A pledge set (or stopped) by the member or a treasurer: who sets it, and the pledge's fields."""
    acting = pot.current_member(actor)
    who = pot.current_member(member)
    if acting.role != "treasurer" and name_key(acting.name) != name_key(who.name):
        raise NotAuthorized(f"{acting.name} may set only their own pledge; a treasurer may set anyone's")

    check_pledge_terms(percent, monthly_minor, from_month, stop=stop)
    if monthly_minor is not None:
        _money(pot, monthly_minor, "monthly pledge")
    # SPEC §1 edge cases: a pledge may start up to 12 months ahead.
    if today is not None and index_of(from_month) > month_index(today) + PLEDGE_MONTHS_AHEAD:
        raise BadInput(
            f"pledge month {from_month} is more than {PLEDGE_MONTHS_AHEAD} months ahead "
            f"(the latest is {month_named(month_index(today) + PLEDGE_MONTHS_AHEAD)})"
        )
    return acting, {
        "member": who.name,
        "kind": "none" if stop else "percent" if percent is not None else "monthly",
        # Fixed-point and without trailing zeros ("10", "7.5"), however it was typed.
        "percent": None if percent is None else format(percent.normalize(), "f"),
        "monthly_minor": monthly_minor,
        "from_month": from_month,
    }


def game(
    pot: Pot,
    *,
    actor: str,
    game: str,
    on: date,
    today: date | None,
    participants: tuple[str, ...],
    asker: str | None,
    offered: tuple[str, ...],
    missed: tuple[str, ...],
    resolved: bool | None,
) -> tuple[MemberState, Fields]:
    """A reciprocity-game event (SPEC §2): who records it, and its fields with members as they joined."""
    acting = pot.current_member(actor)
    in_range(on)
    _not_future(on, today, "date")
    people = _names(pot, participants, "names")
    late = _names(pot, missed, "--missed")
    offers = _names(pot, offered, "--offered")
    who_asked = None if asker is None else pot.current_member(asker).name

    check_game(game, people, who_asked, offers, late, resolved)
    return acting, {
        "game": game,
        "participants": people,
        "asker": who_asked,
        "offered": offers,
        "missed": late,
        "resolved": resolved,
    }


def _names(pot: Pot, names: tuple[str, ...], what: str) -> tuple[str, ...]:
    """Current members' stored names, each once; refuse unknown names and repeats."""
    found: list[str] = []
    for name in names:
        member = pot.current_member(name)
        if member.name in found:
            raise BadInput(f"{what}: {member.name} is listed twice")
        found.append(member.name)
    return tuple(found)


def reflection(pot: Pot, *, actor: str, event_no: int, feeling: str, note: str) -> tuple[MemberState, Fields]:
    """A member's feeling about an earlier event: the member, and the reflection's fields."""
    acting = pot.current_member(actor)
    word = parse_feeling(feeling)
    remark = parse_text(note, "note")
    if not 1 <= event_no <= pot.version:
        raise NotFound(f"there is no event {event_no} in pot {pot.slug!r} (it has {pot.version})")
    if event_no in pot.state.reflection_nos:
        raise Refused(f"event {event_no} is itself a reflection: reflect on the event it is about")
    return acting, {"event_no": event_no, "member": acting.name, "feeling": word, "note": remark}


# --------------------------------------------------------------------------- keys and signatures (SPEC §7)
def key_added(pot: Pot, *, actor: str, member: str, public_key: str, proof: str) -> tuple[MemberState, Fields]:
    """A signing key registered by a member for themself, with the key's proof: the member, and the key's fields.

    Never by a treasurer for someone else: a key registered in Bo's name can only
    come from Bo, or whoever holds the store could sign in his name.
    """
    acting = pot.current_member(actor)
    who = pot.find_member(member)
    if who is None or name_key(who.name) != name_key(acting.name):
        raise NotAuthorized(f"{acting.name} may register a key only for themself: each member registers their own")
    raw = parse_public_key(public_key)
    key_id = key_id_of(raw)
    if (known := pot.state.keys.get(key_id)) is not None:
        raise Refused(f"key {key_id} is registered already (event {known.added}): a key is registered once")
    from_b64url(proof, "proof signature", SIGNATURE_BYTES)
    if not verifies(public_key, proof_message(pot=pot.slug, actor=acting.name, public_key=public_key), proof):
        raise BadSignature(
            f"the proof is not key {key_id}'s signature over registering it for {acting.name} in pot {pot.slug!r}"
        )
    return acting, {"member": acting.name, "key_id": key_id, "public_key": public_key, "proof": proof}


def key_revoked(pot: Pot, *, actor: str, key_id: str) -> tuple[MemberState, Fields]:
    """A key ended by its own member: the member, and the revocation's fields.

    Only by its member, as only they register it: a treasurer who could revoke a
    member's key could stop them voting in a pot that takes signed votes only.
    """
    acting = pot.current_member(actor)
    parse_key_id(key_id)
    key = pot.state.keys.get(key_id)
    if key is None:
        raise NotFound(f"there is no key {key_id} in pot {pot.slug!r}")
    if name_key(key.member) != name_key(acting.name):
        raise NotAuthorized(f"key {key_id} is {key.member}'s: only {key.member} may revoke it")
    if key.revoked is not None:
        raise Refused(f"key {key_id} was revoked already (event {key.revoked})")
    return acting, {"member": key.member, "key_id": key_id}


def signature(
    pot: Pot, *, kind: str, actor: str, fields: Mapping[str, Any], given: Signature | None, seen_no: int | None
) -> None:
    """Refuse an event's signature unless it is the actor's, by a key in force, over exactly this event.

    `fields` are the event's fields as the pot records them (with `on`), `actor` its
    actor's name as stored; `seen_no` is the number of the event whose digest the
    signature says it saw, as the caller found it in the chain (None: not there).
    Unsigned is fine, but for a vote in a pot with the rule `signed_votes`.
    """
    if given is None:
        if kind == "vote_cast" and pot.signed_votes_for(fields.get("proposal_no")):
            raise BadSignature(
                f"pot {pot.slug!r} takes signed votes only, and this vote is unsigned: "
                "register a key (`pot key new`) and vote with it"
            )
        return
    parse_signature(given)
    if kind == "pledge_set" and name_key(str(fields.get("member"))) != name_key(actor):
        # A pledge is the member's own word: a treasurer who sets someone else's records it unsigned.
        raise BadSignature(
            f"a pledge is signed only by the member it is about: {actor} cannot sign {fields.get('member')}'s"
        )
    key = pot.state.keys.get(given.key_id)
    if key is None:
        # Bad input (exit 2, HTTP 422), as a signature of the wrong length is: a signature this pot cannot
        # check. A key named in a URL (`keys/{key_id}/revocation`) that does not exist is NotFound (404).
        raise BadInput(f"key {given.key_id} is not registered in pot {pot.slug!r}")
    if name_key(key.member) != name_key(actor):
        raise BadSignature(f"key {given.key_id} is {key.member}'s, so it cannot sign for {actor}")
    if key.revoked is not None:
        raise BadSignature(f"key {given.key_id} was revoked (event {key.revoked}): its signatures no longer count")
    if seen_no is None or not 1 <= seen_no <= pot.version:
        raise BadSignature(
            f"the signature saw digest {given.seen[:16]}…, which is not in pot {pot.slug!r}'s history before it"
        )
    signed = message(
        pot=pot.slug, kind=kind, actor=actor, seen=given.seen, fields=signed_fields(kind, fields, pot.state.digits)
    )
    if not verifies(key.public_key, signed, given.sig):
        raise BadSignature(f"the signature by key {given.key_id} is not over this {kind} as recorded")


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
    _money(pot, amount_minor, "amount")
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
