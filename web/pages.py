"""The crew's pages (SPEC §6 "Pages"): server-rendered HTML that works without JavaScript; htmx only enhances.

Every page is a GET that reads through the ledger's typed queries and renders a
template; every change is a plain form POST carrying the session's `csrf_token`
that calls `web.actions` (the same path as the JSON API) and answers 303 back to
the page it came from (Post/Redirect/Get). When the ledger refuses, the page is
rendered again with the refusal's message and SPEC §6's status code, and nothing
is stored. Which buttons a page shows (cancel, close, pay, the treasurers' forms)
is only a courtesy: the domain decides every change again.

Signed consent (SPEC §7): the forms that make a signable event carry
`data-sign` and what the browser's `keys.js` needs to build the message; with a
key on the device it adds a `signature` field (JSON) before the form leaves, and
each of those routes passes it to the ledger. Without JavaScript the forms work
the same, unsigned. `/p/{slug}/keys` lists the member's own keys.

Liveness: an open proposal's tally is a fragment (`…/proposals/{n}/tally`) that
the page polls with htmx every 2 seconds, so another member's vote shows without
a reload and without any inline script.
"""

from __future__ import annotations

import hashlib
import json
import tempfile
from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path as FilePath
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from domain.consent import POSITIONS
from domain.errors import NotFound, PotError
from domain.events import EVENT_TYPES
from domain.values import name_key, parse_date, parse_feeling, parse_name, parse_text
from ledger.keys import registered_keys
from projections.describe import describe, signing
from projections.models import BalanceReport, as_json
from projections.proposal_queries import ProposalDetail
from web import actions
from web.app import Member, csrf_checked, signed_in, status_of, web_of
from web.render import page

router = APIRouter()

Me = Annotated[Member, Depends(signed_in)]
# Every change: a signed-in member whose form carried the session's CSRF token (else 403, nothing stored).
Changing = Annotated[Member, Depends(csrf_checked)]

HISTORY_PAGE = 50
# A proposal's or an event's number in a URL: past what the database's integers hold, there is none (404
# would need a query the database refuses), so it is bad input, 422.
No = Annotated[int, Path(ge=1, le=2_147_483_647)]
# Form fields: long enough for any lawful value, short enough that a request cannot hold megabytes.
Short = Annotated[str, Form(max_length=200)]
Text = Annotated[str, Form(max_length=2000)]
# A browser's signature, `{"key_id","seen","sig"}` as JSON: about 200 characters; empty when unsigned.
SignatureField = Annotated[str, Form(alias="signature", max_length=1000)]

# The pages in the nav, in order: (path under /p/{slug}/, label).
NAV = (
    ("", "Overview"),
    ("proposals", "Proposals"),
    ("propose", "Propose"),
    ("history", "History"),
    ("replay", "Replay"),
    ("trust", "Trust"),
    ("pledges", "Pledges"),
    ("triggers", "Triggers"),
    ("members", "Members"),
    ("reminders", "Reminders"),
    ("contributions", "Contributions"),
    ("rules", "Rules"),
    ("verify", "Verify"),
    ("keys", "Keys"),
    ("report", "Report"),
)


# --------------------------------------------------------------------------- helpers
def _show(
    request: Request,
    member: Member,
    template: str,
    context: dict[str, Any],
    *,
    here: str,
    message: str | None = None,
    status: int = 200,
) -> HTMLResponse:
    """A page as `member` sees it: the nav, the CSRF token for its forms, and a refusal's message if any."""
    base = {
        "me": member,
        "pot": member.pot,
        "slug": member.slug,
        "csrf_token": member.csrf_token,
        "nav": NAV,
        "here": here,
        "message": message,
    }
    return page(request, template, {**base, **context}, status)


def _lines(text: str) -> str:
    """A textarea's text as typed: browsers send its line breaks as CR LF (HTML's form encoding), the pot keeps LF.

    Without this a reason over two lines would be refused for its CR, and a browser that
    signed the text it showed (LF) would not match the text stored.
    """
    return text.replace("\r\n", "\n")


def _back(member: Member, path: str) -> RedirectResponse:
    """Post/Redirect/Get: a change done, the browser goes back to a page with GET."""
    return RedirectResponse(f"/p/{member.slug}/{path}", status_code=303)


def _refused(error: PotError, again: Callable[[str, int], HTMLResponse]) -> HTMLResponse:
    """The page the form came from, again, with the ledger's refusal and its status (403, 404, 409 or 422)."""
    return again(" ".join(str(error).split()), status_of(error))


def _mine(member: Member, names: list[str]) -> bool:
    return name_key(member.name) in {name_key(n) for n in names}


# --------------------------------------------------------------------------- overview
@router.get("/p/{slug}/", response_class=HTMLResponse)
def overview(request: Request, member: Me) -> HTMLResponse:
    return _show(request, member, "overview.html", overview_context(request, member), here="")


def overview_context(request: Request, member: Member) -> dict[str, Any]:
    """What the overview shows (also the benchmark floor's dict: `bench.web_floor`)."""
    web = web_of(request)

    def read() -> tuple[BalanceReport, list[ProposalDetail]]:
        with web.using() as ledger:
            report = ledger.balance(member.pot, as_of=None, today=web.today())
            return report, ledger.open_proposals(member.pot)

    report, open_ = web.remembered(member.pot, ("overview",), read)
    # Who each proposal still waits for is the ledger's to say (SPEC §8): a page only asks whether it is me.
    waiting = [p for p in open_ if _mine(member, p.waiting)]
    # Approvals beyond the balance: `available` stops at zero and the shortfall is said as such (issue 21).
    short = Decimal(report.shortfall) > 0
    return {"report": report, "waiting": waiting, "open_count": len(open_), "short": short}


# --------------------------------------------------------------------------- proposals
@router.get("/p/{slug}/proposals", response_class=HTMLResponse)
def proposals(request: Request, member: Me) -> HTMLResponse:
    with web_of(request).using() as ledger:
        rows = ledger.proposals(member.pot)
    return _show(request, member, "proposals.html", {"rows": list(reversed(rows))}, here="proposals")


def _proposal_context(request: Request, member: Member, no: int) -> dict[str, Any]:
    web = web_of(request)

    def read() -> ProposalDetail:
        with web.using() as ledger:
            return ledger.proposal(member.pot, no)

    found = web.remembered(member.pot, ("proposal", no), read)
    # The latest ballot of each member counts; earlier ones stay listed as the record of a changed mind.
    latest = {b.member: b for b in found.ballots}
    is_open = found.status == "open"
    mine = next((b for m, b in latest.items() if name_key(m) == name_key(member.name)), None)
    # Who has not voted, and what it needs now, are the ledger's (SPEC §8): a member who left is not waited for.
    not_voted = found.waiting
    # What the live tally shows, in a few characters: a poll that has seen it already gets 204 and
    # htmx swaps nothing, so the page (and a screen reader's live region) changes only when a vote does.
    shown = json.dumps([found.status, [as_json(b) for b in found.ballots], not_voted])
    return {
        "state": hashlib.sha256(shown.encode()).hexdigest()[:16],
        "p": found,
        "not_voted": not_voted,
        "mine": mine,
        "positions": POSITIONS,
        # An eligible member still here either waits to vote or has voted (and may change it).
        "can_vote": is_open and (_mine(member, not_voted) or mine is not None),
        "can_cancel": is_open and name_key(found.proposer) == name_key(member.name),
        # SPEC §1: closes after its closing date, or sooner once everyone eligible has voted.
        "can_close": is_open and (web.today() > found.closes or not not_voted),
        # A rule change (SPEC §8) has nothing to pay.
        "can_pay": found.status == "approved" and member.is_treasurer and found.rules is None,
    }


def _proposal_page(
    request: Request, member: Member, no: int, message: str | None = None, status: int = 200
) -> HTMLResponse:
    # A refusal is shown by the vote form, not at the top of a long page.
    context = {**_proposal_context(request, member, no), "inline_message": True}
    return _show(request, member, "proposal.html", context, here="proposals", message=message, status=status)


@router.get("/p/{slug}/proposals/{no}", response_class=HTMLResponse)
def proposal(request: Request, member: Me, no: No) -> HTMLResponse:
    return _proposal_page(request, member, no)


@router.get("/p/{slug}/proposals/{no}/tally", response_model=None)
def tally(request: Request, member: Me, no: No, seen: Annotated[str, Query(max_length=64)] = "") -> Response:
    """The live part of a proposal's page, polled by htmx while it is open; 204 when nothing changed since `seen`."""
    context = _proposal_context(request, member, no)
    if seen == context["state"]:
        return Response(status_code=204)
    return _show(request, member, "tally.html", context, here="proposals")


@router.post("/p/{slug}/proposals/{no}/vote", response_model=None)
def vote(
    request: Request, member: Changing, no: No, position: Short = "", reason: Text = "", signed: SignatureField = ""
) -> Response:
    try:
        signature = actions.signature_from_form(signed)
        web = web_of(request)
        actions.vote(web, member, proposal_no=no, position=position, reason=_lines(reason), signature=signature)
    except PotError as e:
        return _refused(e, lambda m, s: _proposal_page(request, member, no, m, s))
    return _back(member, f"proposals/{no}")


def _decide(request: Request, member: Member, no: int, act: Callable[[], object]) -> Response:
    try:
        act()
    except PotError as e:
        return _refused(e, lambda m, s: _proposal_page(request, member, no, m, s))
    return _back(member, f"proposals/{no}")


@router.post("/p/{slug}/proposals/{no}/close", response_model=None)
def close(request: Request, member: Changing, no: No) -> Response:
    return _decide(request, member, no, lambda: actions.close(web_of(request), member, no))


@router.post("/p/{slug}/proposals/{no}/cancel", response_model=None)
def cancel(request: Request, member: Changing, no: No) -> Response:
    return _decide(request, member, no, lambda: actions.cancel(web_of(request), member, no))


@router.post("/p/{slug}/proposals/{no}/pay", response_model=None)
def pay(request: Request, member: Changing, no: No, signed: SignatureField = "") -> Response:
    web = web_of(request)
    return _decide(
        request, member, no, lambda: actions.pay(web, member, no, signature=actions.signature_from_form(signed))
    )


def _propose_page(
    request: Request, member: Member, form: dict[str, str], message: str | None = None, status: int = 200
) -> HTMLResponse:
    with web_of(request).using() as ledger:
        names = [m.name for m in ledger.members(member.slug) if m.left is None]
    # Without a date the proposal closes `voting_days` after today: the browser signs that date.
    closes = web_of(request).today() + timedelta(days=member.pot.voting_days)
    context = {"form": form, "names": names, "default_closes": closes.isoformat()}
    return _show(request, member, "propose.html", context, here="propose", message=message, status=status)


@router.get("/p/{slug}/propose", response_class=HTMLResponse)
def propose_form(request: Request, member: Me) -> HTMLResponse:
    return _propose_page(request, member, {})


@router.post("/p/{slug}/proposals", response_model=None)
def propose(
    request: Request,
    member: Changing,
    amount: Short = "",
    purpose: Text = "",
    recipient: Short = "",
    closes: Short = "",
    signed: SignatureField = "",
) -> Response:
    form = {"amount": amount, "purpose": purpose, "recipient": recipient, "closes": closes}
    try:
        made = actions.propose(
            web_of(request),
            member,
            amount=amount,
            purpose=_lines(purpose),
            recipient=recipient,
            closes=closes,
            signature=actions.signature_from_form(signed),
        )
    except PotError as e:
        return _refused(e, lambda m, s: _propose_page(request, member, form, m, s))
    return _back(member, f"proposals/{made.proposal_no}")


# --------------------------------------------------------------------------- history and replay
@router.get("/p/{slug}/history", response_class=HTMLResponse)
def history(
    request: Request,
    member: Me,
    who: Annotated[str, Query(alias="member", max_length=200)] = "",
    # Repeatable, as `pot history --type` is; the page's own form sends one.
    types: Annotated[list[str] | None, Query(alias="type", max_length=20)] = None,
    since: Annotated[str, Query(max_length=20)] = "",
    until: Annotated[str, Query(max_length=20)] = "",
    page_no: Annotated[int, Query(alias="page", ge=1, le=1_000_000)] = 1,
) -> HTMLResponse:
    web = web_of(request)
    chosen_types = [t for t in types or [] if t]
    filters = {"member": who, "type": chosen_types[0] if chosen_types else "", "since": since, "until": until}
    with web.using() as ledger:
        names = [m.name for m in ledger.members(member.slug)]
    context: dict[str, Any] = {"filters": filters, "names": names, "types": list(EVENT_TYPES), "items": []}
    context.update({"page_no": 1, "pages": 1, "total": 0, "link": ""})
    try:
        chosen = parse_name(who) if who.strip() else None
        start = parse_date(since, "since") if since.strip() else None
        end = parse_date(until, "until") if until.strip() else None
        with web.using() as ledger:
            items = ledger.history(member.pot, member=chosen, types=chosen_types, since=start, until=end)
    except PotError as e:
        return _refused(
            e, lambda m, s: _show(request, member, "history.html", context, here="history", message=m, status=s)
        )
    # Newest first: on a phone the latest events are the ones a member came to read.
    items.reverse()
    pages = max(1, -(-len(items) // HISTORY_PAGE))
    shown = items[(page_no - 1) * HISTORY_PAGE : page_no * HISTORY_PAGE]
    # The key that signed each event, or "unsigned", as the proposal page shows ballots (issue 20).
    rows = [{**i, "what": describe(i, with_key=False), "signing": signing(i)} for i in shown]
    kept = [(k, v) for k, v in filters.items() if v and k != "type"] + [("type", t) for t in chosen_types]
    context.update({"items": rows, "page_no": page_no, "pages": pages, "total": len(items), "link": urlencode(kept)})
    return _show(request, member, "history.html", context, here="history")


def _replay_page(
    request: Request, member: Member, no: int, message: str | None = None, status: int = 200
) -> HTMLResponse:
    info = member.pot
    if not 1 <= no <= max(info.events, 1):
        raise NotFound(f"there is no event {no} in pot {info.slug!r}: it has events 1 to {info.events}")
    with web_of(request).using() as ledger:
        steps = list(ledger.replay(info, from_no=no, to_no=no))
    if not steps:
        raise NotFound(f"there is no event {no} in pot {info.slug!r}")
    step = steps[0]
    context = {
        "step": step,
        "item": step.item,
        "what": describe(step.item),
        "balance_after": _money(member, step.balance_after_minor),
        "change": ""
        if step.change_minor == 0
        else ("+" if step.change_minor > 0 else "-") + _money(member, abs(step.change_minor)),
        "previous": no - 1 if no > 1 else None,
        "next": no + 1 if no < info.events else None,
        "last": info.events,
    }
    return _show(request, member, "replay.html", context, here="replay", message=message, status=status)


def _money(member: Member, minor: int) -> str:
    from domain.values import format_amount

    return format_amount(minor, member.pot.digits)


@router.get("/p/{slug}/replay", response_class=HTMLResponse)
def replay(request: Request, member: Me, event: Annotated[int, Query(ge=1, le=2_147_483_647)] = 1) -> HTMLResponse:
    return _replay_page(request, member, event)


@router.post("/p/{slug}/replay/{no}/reflect", response_model=None)
def reflect(
    request: Request, member: Changing, no: No, feeling: Short = "", note: Text = "", signed: SignatureField = ""
) -> Response:
    try:
        word = parse_feeling(feeling)
        text = parse_text(_lines(note), "note")
        signature = actions.signature_from_form(signed)
        actions.reflect(web_of(request), member, event_no=no, feeling=word, note=text, signature=signature)
    except PotError as e:
        return _refused(e, lambda m, s: _replay_page(request, member, no, m, s))
    return _back(member, f"replay?event={no}")


@router.get("/p/{slug}/triggers", response_class=HTMLResponse)
def triggers(request: Request, member: Me) -> HTMLResponse:
    with web_of(request).using() as ledger:
        report = ledger.triggers(member.pot)
    return _show(request, member, "triggers.html", {"report": report}, here="triggers")


# --------------------------------------------------------------------------- trust and pledges
@router.get("/p/{slug}/trust", response_class=HTMLResponse)
def trust(request: Request, member: Me) -> HTMLResponse:
    web = web_of(request)
    with web.using() as ledger:
        report = ledger.trust(member.pot, as_of=None, today=web.today())
    return _show(request, member, "trust.html", {"report": report, "levels": ["1", "2", "3", "4", "5"]}, here="trust")


def _pledges_page(
    request: Request, member: Member, form: dict[str, str], message: str | None = None, status: int = 200
) -> HTMLResponse:
    web = web_of(request)
    with web.using() as ledger:
        report = ledger.pledges(member.pot, as_of=None, today=web.today())
        names = [m.name for m in ledger.members(member.slug) if m.left is None]
    context = {"report": report, "names": names, "form": form, "month": web.today().strftime("%Y-%m")}
    return _show(request, member, "pledges.html", context, here="pledges", message=message, status=status)


@router.get("/p/{slug}/pledges", response_class=HTMLResponse)
def pledges(request: Request, member: Me) -> HTMLResponse:
    return _pledges_page(request, member, {})


@router.post("/p/{slug}/pledges", response_model=None)
def set_pledge(
    request: Request,
    member: Changing,
    who: Annotated[str, Form(alias="member", max_length=200)] = "",
    percent: Short = "",
    monthly: Short = "",
    from_month: Annotated[str, Form(alias="from", max_length=20)] = "",
    signed: SignatureField = "",
) -> Response:
    form = {"member": who, "percent": percent, "monthly": monthly, "from": from_month}
    try:
        actions.set_pledge(
            web_of(request),
            member,
            who=who or member.name,
            percent=percent,
            monthly=monthly,
            from_month=from_month,
            signature=actions.signature_from_form(signed),
        )
    except PotError as e:
        return _refused(e, lambda m, s: _pledges_page(request, member, form, m, s))
    return _back(member, "pledges")


# --------------------------------------------------------------------------- members
def _members_page(
    request: Request,
    member: Member,
    *,
    invite: dict[str, str] | None = None,
    message: str | None = None,
    status: int = 200,
) -> HTMLResponse:
    with web_of(request).using() as ledger:
        rows = ledger.members(member.slug)
    context = {"rows": rows, "invite": invite}
    return _show(request, member, "members.html", context, here="members", message=message, status=status)


@router.get("/p/{slug}/members", response_class=HTMLResponse)
def members(request: Request, member: Me) -> HTMLResponse:
    return _members_page(request, member)


def _member_change(request: Request, member: Member, act: Callable[[], object]) -> Response:
    try:
        act()
    except PotError as e:
        return _refused(e, lambda m, s: _members_page(request, member, message=m, status=s))
    return _back(member, "members")


@router.post("/p/{slug}/members", response_model=None)
def add_member(request: Request, member: Changing, name: Short = "", treasurer: Short = "") -> Response:
    web = web_of(request)
    return _member_change(
        request, member, lambda: actions.add_member(web, member, name=name, treasurer=treasurer == "yes")
    )


@router.post("/p/{slug}/members/{name:path}/remove", response_model=None)
def remove_member(request: Request, member: Changing, name: str) -> Response:
    web = web_of(request)
    return _member_change(request, member, lambda: actions.remove_member(web, member, name=name))


@router.post("/p/{slug}/members/{name:path}/role", response_model=None)
def change_role(request: Request, member: Changing, name: str, role: Short = "") -> Response:
    web = web_of(request)
    return _member_change(
        request, member, lambda: actions.change_role(web, member, name=name, treasurer=role == "treasurer")
    )


@router.post("/p/{slug}/members/{name:path}/invite", response_model=None)
def invite(request: Request, member: Changing, name: str, days: Short = "7") -> Response:
    """A treasurer's invite: the page shows the link once, to be sent to the member by hand."""
    try:
        count = int(days.strip() or "7")
        if not 1 <= count <= 365:
            raise ValueError
    except ValueError:
        from domain.errors import BadInput

        error = BadInput(f"days: give a whole number of days from 1 to 365, not {days!r}")
        return _members_page(request, member, message=str(error), status=422)
    try:
        made, url = actions.invite(web_of(request), member, name=name, days=count)
    except PotError as e:
        return _refused(e, lambda m, s: _members_page(request, member, message=m, status=s))
    shown = {"name": made.name, "url": url, "expires": made.invite.expires_at.strftime("%Y-%m-%d %H:%M UTC")}
    return _members_page(request, member, invite=shown)


# --------------------------------------------------------------------------- contributions (treasurers)
def _contributions_page(
    request: Request, member: Member, form: dict[str, str], message: str | None = None, status: int = 200
) -> HTMLResponse:
    with web_of(request).using() as ledger:
        recorded = ledger.history(member.pot, types=("contribution_recorded",))
        reversed_ = ledger.history(member.pot, types=("contribution_reversed",))
        names = [m.name for m in ledger.members(member.slug) if m.left is None]
    undone = {int(r["contribution_no"]): r for r in reversed_}
    rows = [{**c, "reversal": undone.get(int(c["no"]))} for c in reversed(recorded)]
    context = {"rows": rows, "names": names, "form": form, "today": web_of(request).today().isoformat()}
    return _show(request, member, "contributions.html", context, here="contributions", message=message, status=status)


@router.get("/p/{slug}/contributions", response_class=HTMLResponse)
def contributions(request: Request, member: Me) -> HTMLResponse:
    return _contributions_page(request, member, {})


@router.post("/p/{slug}/contributions", response_model=None)
def contribute(
    request: Request,
    member: Changing,
    who: Annotated[str, Form(alias="member", max_length=200)] = "",
    amount: Short = "",
    on: Short = "",
    note: Text = "",
    ref: Short = "",
    income: Short = "",
    signed: SignatureField = "",
) -> Response:
    form = {"member": who, "amount": amount, "on": on, "note": note, "ref": ref, "income": income}
    try:
        signature = actions.signature_from_form(signed)
        web = web_of(request)
        actions.contribute(
            web, member, who=who, amount=amount, on=on, note=note, ref=ref, income=income, signature=signature
        )
    except PotError as e:
        return _refused(e, lambda m, s: _contributions_page(request, member, form, m, s))
    return _back(member, "contributions")


@router.post("/p/{slug}/contributions/{no}/reversal", response_model=None)
def reverse(request: Request, member: Changing, no: No, reason: Text = "", signed: SignatureField = "") -> Response:
    try:
        signature = actions.signature_from_form(signed)
        actions.reverse(web_of(request), member, contribution_no=no, reason=reason, signature=signature)
    except PotError as e:
        return _refused(e, lambda m, s: _contributions_page(request, member, {}, m, s))
    return _back(member, "contributions")


# --------------------------------------------------------------------------- my keys (SPEC §7)
def _keys_page(request: Request, member: Member, message: str | None = None, status: int = 200) -> HTMLResponse:
    """Every key registered for the member, so one they did not add stands out; `keys.js` marks this device's."""
    with web_of(request).using() as ledger:
        mine = registered_keys(ledger, member.slug, member.name)
    return _show(request, member, "keys.html", {"keys": mine}, here="keys", message=message, status=status)


@router.get("/p/{slug}/keys", response_class=HTMLResponse)
def keys(request: Request, member: Me) -> HTMLResponse:
    return _keys_page(request, member)


@router.post("/p/{slug}/keys/{key_id}/revoke", response_model=None)
def revoke_key(request: Request, member: Changing, key_id: Annotated[str, Path(max_length=64)]) -> Response:
    try:
        actions.revoke_key(web_of(request), member, key_id=key_id)
    except PotError as e:
        return _refused(e, lambda m, s: _keys_page(request, member, m, s))
    return _back(member, "keys")


# --------------------------------------------------------------------------- verify and the report
@router.get("/p/{slug}/verify", response_class=HTMLResponse)
def verify(request: Request, member: Me) -> HTMLResponse:
    with web_of(request).using() as ledger:
        report = ledger.verify(member.pot)
    return _show(request, member, "verify.html", {"report": report}, here="verify")


@router.get("/p/{slug}/report", response_model=None)
def report(request: Request, member: Me) -> Response:
    """The HTML report `pot report` writes, as a download: one self-contained file to keep or print."""
    web = web_of(request)
    today: date = web.today()
    with tempfile.TemporaryDirectory(prefix="pot-report-") as folder:
        path = FilePath(folder) / "report.html"
        with web.using() as ledger:
            ledger.write_report(member.pot, as_of=None, today=today, output=path)
        body = path.read_bytes()
    filename = f"{member.slug}-report-{today.isoformat()}.html"
    return Response(
        body,
        media_type="text/html; charset=utf-8",
        headers={"content-disposition": f'attachment; filename="{filename}"'},
    )
