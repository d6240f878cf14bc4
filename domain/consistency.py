"""Whether an event can follow a pot's history: what an imported history must pass.

A jsonl export's hash chain proves that a file has not changed since it was
written, not that `pot` wrote it: anyone can edit an event and compute the chain
again. So an import checks each event before folding it: its people are members
at that point, its actor may do what it records, its money keeps the money rules,
and what it refers to (a contribution, a proposal, an earlier event) exists and is
in the state it needs. A history that fails is one no crew could have recorded,
and storing it would leave views that cannot be built (two members with one name)
or figures no rule allows.

These are the rules that never depend on the day, with dates kept to 1900-2999
(outside it a date is a typo, and the report cannot draw it). The rules that do
depend on it (no value date in the future, the voting window) are checked against
the day a command ran, which a history does not keep, and they may be tightened in
later versions; a backup made under an older rule must still import, so they are
not checked here. Neither may the rules here tighten: a value some version of `pot`
stored must keep passing, or that version's backups stop restoring.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from domain.errors import BadInput, NotAuthorized, Refused
from domain.events import (
    ContributionRecorded,
    ContributionReversed,
    GamePlayed,
    MemberJoined,
    MemberLeft,
    PledgeSet,
    PotEvent,
    PotOpened,
    ProposalCancelled,
    ProposalDecided,
    ReflectionNoted,
    RoleChanged,
    VoteCast,
    WithdrawalPaid,
    WithdrawalProposed,
)
from domain.game import check_game
from domain.pledges import check_pledge_terms
from domain.pot import Pot
from domain.values import (
    EARLIEST,
    LATEST,
    currency_digits,
    format_amount,
    name_key,
    parse_amount,
    parse_currency,
    parse_feeling,
    parse_name,
    parse_quorum,
    parse_slug,
    parse_text,
)


def check_opening(event: PotOpened) -> None:
    """Refuse a pot's first event unless `pot init` could have recorded it."""
    _in_range(event)
    parse_slug(event.slug)
    _as_given(parse_text(event.name, "pot name", max_len=200, required=True, one_line=True), event.name, "pot name")
    _as_given(parse_currency(event.currency), event.currency, "currency")
    if event.digits != currency_digits(event.currency):
        raise BadInput(f"{event.currency} has {currency_digits(event.currency)} minor digits, not {event.digits}")
    _as_given(str(parse_quorum(event.quorum)), event.quorum, "quorum")
    if not 1 <= event.voting_days <= 365:
        raise BadInput(f"voting days {event.voting_days} must be between 1 and 365")
    _as_given(parse_name(event.actor, "treasurer name"), event.actor, "treasurer name")


def check_follows(pot: Pot, event: PotEvent) -> None:
    """Refuse `event` (a PotError saying why) unless it can be the pot's next event."""
    if pot.version == 1:
        # The opener joins as the pot's first treasurer, in the same command.
        if not (isinstance(event, MemberJoined) and event.member == event.actor and event.role == "treasurer"):
            raise Refused("a pot's second event is its opener joining as treasurer")
        return
    _in_range(event)
    # A proposal whose every voter still here has voted is decided by the command that
    # made it so (the last vote, or a member leaving), before anything else happens.
    owed = next((p for p in pot.state.proposals.values() if p.status == "open" and pot.everyone_voted(p)), None)
    if owed is not None and not (isinstance(event, ProposalDecided) and event.proposal_no == owed.no):
        raise Refused(f"every voter still here had voted on proposal {owed.no}: it is decided next, at once")
    # That decision's actor may be the member who just left; every other actor is a member when it happens.
    actor = pot.find_member(event.actor) if owed is not None else pot.current_member(event.actor)
    if actor is None:
        raise Refused(f"{event.actor!r} is not a member of pot {pot.slug!r}")
    _as_given(actor.name, event.actor, "actor")
    match event:
        case MemberJoined():
            pot.acting_treasurer(event.actor, "add members")
            _as_given(parse_name(event.member), event.member, "member name")
            if (existing := pot.find_member(event.member)) is not None:
                raise Refused(f"{existing.name} joined already (names are compared ignoring case)")
        case MemberLeft():
            member = _member(pot, event.member)
            if actor.role != "treasurer" and name_key(actor.name) != name_key(member):
                raise NotAuthorized(f"only a treasurer may remove another member; {actor.name} is a member")
            pot.keep_a_treasurer(pot.current_member(member))
        case RoleChanged():
            pot.acting_treasurer(event.actor, "change roles")
            member = _member(pot, event.member)
            if pot.current_member(member).role == event.role:
                raise Refused(f"{member} is already a {event.role}")
            if event.role == "member":
                pot.keep_a_treasurer(pot.current_member(member))
        case ContributionRecorded():
            pot.acting_treasurer(event.actor, "record contributions")
            _member(pot, event.member)
            _money(pot, event.amount_minor, "amount")
            if event.income_minor is not None:
                _money(pot, event.income_minor, "income")
                if event.income_minor < event.amount_minor:
                    raise BadInput("income must be at least the contribution amount")
            _text(event.note, "note")
            if event.ref is not None:
                _text(event.ref, "ref", max_len=200, required=True, one_line=True)
                if pot.recorded_refs([event.ref]):
                    raise Refused(f"ref {event.ref!r} is recorded already")
        case ContributionReversed():
            pot.acting_treasurer(event.actor, "reverse contributions")
            no = event.contribution_no
            given = pot.contribution(no) if 1 <= no <= pot.version else None
            if given is None:
                raise Refused(f"event {no} is not a contribution")
            if no in pot.state.reversed_nos:
                raise Refused(f"contribution {no} is reversed already")
            if (given.member, given.amount_minor) != (event.member, event.amount_minor):
                raise Refused(f"contribution {no} was {pot.money(given.amount_minor)} from {given.member}")
            _text(event.reason, "reason", required=True)
        case WithdrawalProposed():
            if event.proposal_no != pot.proposal_count + 1:
                raise Refused(f"the next proposal is number {pot.proposal_count + 1}, not {event.proposal_no}")
            _money(pot, event.amount_minor, "amount")
            _text(event.purpose, "purpose", required=True)
            if (known := pot.find_member(event.recipient)) is not None:
                _as_given(known.name, event.recipient, "recipient")
            else:
                _text(event.recipient, "recipient", max_len=200, required=True, one_line=True)
            if event.eligible != pot.current_names():
                raise Refused(f"the eligible voters are the members then ({', '.join(pot.current_names())})")
        case VoteCast():
            _as_given(actor.name, event.member, "voter (a member votes only as themselves)")
            _text(event.reason, "reason")
            if actor.name not in pot.open_proposal(event.proposal_no).eligible:
                raise NotAuthorized(f"{actor.name} was not a member when proposal {event.proposal_no} was made")
        case ProposalDecided():
            decided = pot.decision(pot.open_proposal(event.proposal_no))
            if {key: getattr(event, key) for key in decided} != decided:
                raise Refused(f"the votes cast decide proposal {event.proposal_no} otherwise")
        case ProposalCancelled():
            proposal = pot.open_proposal(event.proposal_no)
            if name_key(proposal.proposer) != name_key(actor.name):
                raise NotAuthorized(f"only {proposal.proposer} may cancel proposal {event.proposal_no}")
        case WithdrawalPaid():
            pot.acting_treasurer(event.actor, "pay out")
            if pot.proposal_status(event.proposal_no) != "approved":
                raise Refused(f"proposal {event.proposal_no} is {pot.proposal_status(event.proposal_no)}")
            proposal = pot.state.proposals[event.proposal_no]
            if (proposal.amount_minor, proposal.recipient) != (event.amount_minor, event.recipient):
                raise Refused(
                    f"proposal {event.proposal_no} pays {pot.money(proposal.amount_minor)} to {proposal.recipient}"
                )
        case PledgeSet():
            member = _member(pot, event.member)
            if actor.role != "treasurer" and name_key(actor.name) != name_key(member):
                raise NotAuthorized(f"{actor.name} may set only their own pledge")
            _pledge(pot, event)
        case GamePlayed():
            named = [
                *event.participants,
                *event.offered,
                *event.missed,
                *([] if event.asker is None else [event.asker]),
            ]
            for name in named:
                _member(pot, name)
            if len(set(named)) != len(named):
                raise BadInput("a game names each member once")
            check_game(event.game, event.participants, event.asker, event.offered, event.missed, event.resolved)
        case ReflectionNoted():
            _as_given(actor.name, event.member, "member (a member reflects only as themselves)")
            if not 1 <= event.event_no < event.no or event.event_no in pot.state.reflection_nos:
                raise Refused(f"event {event.event_no} is not an earlier event to reflect on")
            _as_given(parse_feeling(event.feeling), event.feeling, "feeling")
            _text(event.note, "note")
        case PotOpened():
            raise Refused("a pot's history starts with pot_opened, and only once")


def _as_given(canonical: str, given: str, what: str) -> None:
    # What the pot would have stored must be exactly what the file holds: a name in
    # another case or with spaces around it would be a second spelling of one thing.
    if canonical != given:
        raise BadInput(f"{what} {given!r} is not as the pot records it ({canonical!r})")


def _text(value: str, what: str, *, max_len: int = 500, required: bool = False, one_line: bool = False) -> None:
    # Free text as the CLI stores it: trimmed, within its length, without control characters.
    _as_given(parse_text(value, what, max_len=max_len, required=required, one_line=one_line), value, what)


def _in_range(event: PotEvent) -> None:
    # Dates are 1900-2999 whatever the day a command ran: outside, a typo, and the report cannot draw them.
    for what, day in (
        ("date", event.on),
        *((("closing date", event.closes),) if isinstance(event, WithdrawalProposed) else ()),
    ):
        if not EARLIEST <= day <= LATEST:
            raise BadInput(f"{what} {day} is not between {EARLIEST.year} and {LATEST.year}")


def _member(pot: Pot, name: str) -> str:
    member = pot.current_member(name)
    _as_given(member.name, name, "member name")
    return member.name


def _money(pot: Pot, minor: int, what: str) -> None:
    # The same rules as a typed amount: above zero, at most the pot's ceiling.
    if minor <= 0:
        raise BadInput(f"{what} must be above zero")
    parse_amount(format_amount(minor, pot.state.digits), pot.state.digits)


def _pledge(pot: Pot, event: PledgeSet) -> None:
    if (event.kind == "percent") != (event.percent is not None):
        raise BadInput(f"a {event.kind} pledge has {'a percent' if event.kind == 'percent' else 'no percent'}")
    try:
        share = None if event.percent is None else Decimal(event.percent)
    except InvalidOperation:
        raise BadInput(f"percent {event.percent!r} is not a decimal") from None
    check_pledge_terms(share, event.monthly_minor, event.from_month)
    if event.monthly_minor is not None:
        _money(pot, event.monthly_minor, "monthly pledge")
    if share is not None:
        _as_given(format(share.normalize(), "f"), str(event.percent), "percent")
