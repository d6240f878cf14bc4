"""What a member can do on the web, from the text a form or a JSON body holds to the ledger's typed API.

Both the JSON API (`web.api`) and the pages (`web.pages`) call these, so a vote
cast from a form and one posted by a script take exactly the same path. Each
function parses its text with the same parsers the CLI uses (`domain.values`),
acts as the signed-in member, dates the event the server's today, and returns
the ledger's own result. The rules themselves are the domain's.

The six changes a member may sign (SPEC §7) take `signature`, made by the
member's browser and passed to the ledger untouched: the server never signs for
anyone, and the ledger refuses a signature that is not the actor's over exactly
what it records.
"""

from __future__ import annotations

from datetime import date

from pydantic import ValidationError

from domain.errors import BadInput
from domain.pledges import month_of
from domain.signing import Signature, key_id_of, parse_public_key
from domain.values import (
    MAX_MAJOR_UNITS,
    parse_amount,
    parse_date,
    parse_name,
    parse_percent,
    parse_quorum,
    parse_text,
)
from ledger.accounts import Invitation
from ledger.results import Paid, ProposalNow, Proposed, Recorded, Removed, Voted
from web.app import Member, Web


def _amount(member: Member, text: str | None, what: str = "amount") -> int:
    if text is None or not str(text).strip():
        raise BadInput(f"{what}: give an amount, e.g. 25.00")
    try:
        return parse_amount(str(text), member.pot.digits)
    except BadInput as e:
        raise BadInput(str(e) if what == "amount" else f"{what}: {e}") from None
    except ValueError:
        # Thousands of digits pass parse_amount's pattern, then exceed Python's limit on int() of a
        # string before its ceiling is checked: far above that ceiling, so refused as above it.
        raise BadInput(
            f"{what} has {len(str(text).strip())} characters: above the limit of {MAX_MAJOR_UNITS:,}"
        ) from None


def _optional_date(text: str | None, what: str) -> date | None:
    return parse_date(text, what) if text is not None and text.strip() else None


def _optional(text: str | None) -> str | None:
    return text if text is not None and text.strip() else None


def signature_from_form(text: str | None) -> Signature | None:
    """A form's optional `signature` field: the JSON `{"key_id","seen","sig"}` a browser signed, or None when empty."""
    if text is None or not text.strip():
        return None
    try:
        return Signature.model_validate_json(text, strict=True)
    except ValidationError:
        raise BadInput(
            'signature: give a JSON object {"key_id", "seen", "sig"} with three strings, as the page\'s script makes it'
        ) from None


def propose(
    web: Web,
    member: Member,
    *,
    amount: str,
    purpose: str,
    recipient: str | None,
    closes: str | None,
    signature: Signature | None = None,
) -> Proposed:
    minor = _amount(member, amount)
    why = parse_text(purpose, "purpose", required=True)
    to = _optional(recipient)
    to = parse_text(to, "recipient", max_len=200, one_line=True) if to is not None else None
    with web.using() as ledger:
        return ledger.propose(
            member.slug,
            actor=member.name,
            amount_minor=minor,
            purpose=why,
            recipient=to,
            closes=_optional_date(closes, "closes"),
            today=web.today(),
            signature=signature,
        )


def vote(
    web: Web,
    member: Member,
    *,
    proposal_no: int,
    position: str,
    reason: str | None,
    signature: Signature | None = None,
) -> Voted:
    why = parse_text(reason or "", "reason")
    with web.using() as ledger:
        return ledger.vote(
            member.slug,
            actor=member.name,
            proposal_no=proposal_no,
            position=position,
            reason=why,
            today=web.today(),
            signature=signature,
        )


def close(web: Web, member: Member, proposal_no: int) -> ProposalNow:
    with web.using() as ledger:
        return ledger.close_proposal(member.slug, actor=member.name, proposal_no=proposal_no, today=web.today())


def cancel(web: Web, member: Member, proposal_no: int) -> ProposalNow:
    with web.using() as ledger:
        return ledger.cancel_proposal(member.slug, actor=member.name, proposal_no=proposal_no, today=web.today())


def pay(web: Web, member: Member, proposal_no: int, *, signature: Signature | None = None) -> Paid:
    with web.using() as ledger:
        return ledger.pay(
            member.slug, actor=member.name, proposal_no=proposal_no, today=web.today(), signature=signature
        )


def contribute(
    web: Web,
    member: Member,
    *,
    who: str,
    amount: str,
    on: str | None,
    note: str | None,
    ref: str | None,
    income: str | None,
    signature: Signature | None = None,
) -> Recorded:
    name = parse_name(who)
    minor = _amount(member, amount)
    income_minor = _amount(member, income, "income") if _optional(income) is not None else None
    text = parse_text(note or "", "note")
    reference = _optional(ref)
    reference = parse_text(reference, "ref", max_len=200, required=True, one_line=True) if reference else None
    today = web.today()
    with web.using() as ledger:
        return ledger.contribute(
            member.slug,
            actor=member.name,
            member=name,
            amount_minor=minor,
            on=_optional_date(on, "on") or today,
            today=today,
            note=text,
            ref=reference,
            income_minor=income_minor,
            signature=signature,
        )


def reverse(
    web: Web, member: Member, *, contribution_no: int, reason: str, signature: Signature | None = None
) -> Recorded:
    why = parse_text(reason, "reason", required=True)
    with web.using() as ledger:
        return ledger.reverse(
            member.slug,
            actor=member.name,
            contribution_no=contribution_no,
            reason=why,
            today=web.today(),
            signature=signature,
        )


def reflect(
    web: Web, member: Member, *, event_no: int, feeling: str, note: str | None, signature: Signature | None = None
) -> Recorded:
    with web.using() as ledger:
        return ledger.reflect(
            member.slug,
            actor=member.name,
            event_no=event_no,
            feeling=feeling,
            note=note or "",
            today=web.today(),
            signature=signature,
        )


def add_key(web: Web, member: Member, *, public_key: str, proof: str) -> tuple[Recorded, str]:
    """Register a key for the signed-in member (never for anyone else), and its key id."""
    with web.using() as ledger:
        done = ledger.add_key(member.slug, member.name, public_key, proof, web.today())
    # Stored, so the key parsed: its id is the one the event records.
    return done, key_id_of(parse_public_key(public_key))


def revoke_key(web: Web, member: Member, *, key_id: str) -> Recorded:
    """End one of the signed-in member's keys; the ledger refuses anyone else's."""
    with web.using() as ledger:
        return ledger.revoke_key(member.slug, actor=member.name, key_id=key_id, today=web.today())


def set_pledge(
    web: Web,
    member: Member,
    *,
    who: str,
    percent: str | None,
    monthly: str | None,
    from_month: str | None,
    signature: Signature | None = None,
) -> Recorded:
    name = parse_name(who)
    percent, monthly = _optional(percent), _optional(monthly)
    if (percent is None) == (monthly is None):
        raise BadInput("give exactly one of percent and monthly")
    share = parse_percent(percent) if percent is not None else None
    minor = _amount(member, monthly, "monthly") if monthly is not None else None
    today = web.today()
    month = (_optional(from_month) or month_of(today)).strip()
    with web.using() as ledger:
        return ledger.set_pledge(
            member.slug,
            actor=member.name,
            member=name,
            percent=share,
            monthly_minor=minor,
            from_month=month,
            today=today,
            signature=signature,
        )


def add_member(web: Web, member: Member, *, name: str, treasurer: bool) -> Recorded:
    with web.using() as ledger:
        return ledger.add_member(member.slug, actor=member.name, name=name, treasurer=treasurer, today=web.today())


def invite(web: Web, member: Member, *, name: str, days: int) -> tuple[Invitation, str]:
    """An invite for a member, and the link to send them."""
    with web.using() as ledger:
        made = ledger.invite(member.slug, actor=member.name, name=parse_name(name), days=days)
    return made, invite_url(web.public_url, member.slug, made.invite.token)


def invite_url(public_url: str, slug: str, token: str) -> str:
    return f"{public_url.rstrip('/')}/p/{slug}/invite/{token}"


def remove_member(web: Web, member: Member, *, name: str) -> Removed:
    with web.using() as ledger:
        return ledger.remove_member(member.slug, actor=member.name, name=parse_name(name), today=web.today())


def change_role(web: Web, member: Member, *, name: str, treasurer: bool) -> Recorded:
    with web.using() as ledger:
        return ledger.change_role(
            member.slug, actor=member.name, name=parse_name(name), treasurer=treasurer, today=web.today()
        )


def propose_rules(
    web: Web,
    member: Member,
    *,
    purpose: str,
    quorum: str | None,
    voting_days: str | int | None,
    signed_votes: str | bool | None,
) -> Proposed:
    """New rules proposed (SPEC §8): a form sends text ("" leaves a rule as it is), the API a number and a boolean."""
    why = parse_text(purpose, "purpose", required=True)
    fraction = None if quorum is None or not quorum.strip() else parse_quorum(quorum)
    days: int | None
    if isinstance(voting_days, int) or voting_days is None:
        days = voting_days
    elif not voting_days.strip():
        days = None
    elif voting_days.strip().isascii() and voting_days.strip().isdigit() and len(voting_days.strip()) <= 6:
        days = int(voting_days.strip())
    else:
        raise BadInput(f"voting days {voting_days!r} must be a whole number of days, e.g. 7")
    signed: bool | None
    if isinstance(signed_votes, bool) or signed_votes is None:
        signed = signed_votes
    elif signed_votes.strip() in ("", "same"):
        signed = None
    elif signed_votes.strip() in ("on", "off"):
        signed = signed_votes.strip() == "on"
    else:
        raise BadInput(f"signed votes {signed_votes!r} must be on or off")
    with web.using() as ledger:
        return ledger.propose_rules(
            member.slug,
            actor=member.name,
            purpose=why,
            quorum=fraction,
            voting_days=days,
            signed_votes=signed,
            today=web.today(),
        )
