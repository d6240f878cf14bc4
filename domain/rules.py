"""The rules an event must pass before it is recorded: one guard per event kind, written once.

This module holds the checks every guard shares (dates, amounts) and the guards
of opening a pot, membership, money in, pledges, the game and reflections. The
guards of proposals, votes, payouts, money back and rule changes are in
domain.proposal_rules; those of signing keys and signatures in domain.key_rules.

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

from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from domain.errors import BadInput, InsufficientFunds, NotAuthorized, NotFound, Refused
from domain.game import check_game
from domain.past import Contribution
from domain.pledges import check_pledge_terms, index_of, month_index, month_named
from domain.state import MemberState
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


def valid_amount(pot: Pot, minor: int, what: str) -> int:
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
    valid_amount(pot, amount_minor, "amount")
    if income_minor is not None:
        valid_amount(pot, income_minor, "income")
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
        valid_amount(pot, monthly_minor, "monthly pledge")
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
