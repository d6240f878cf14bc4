"""The crew's rules on the web (SPEC §8): the rules page with its "propose a rule change" form, and the JSON API.

`GET /p/{slug}/rules` shows the rules in force (or on `as_of`) and offers the form;
the form posts to `/p/{slug}/rules/proposals` and lands on the new proposal's page,
where the crew votes on it as on any proposal. The API is `GET …/api/rules`
(query `as_of`), the same JSON as `pot rules --json`, and `POST
…/api/rules/proposals` {"quorum"?, "voting_days"?, "signed_votes"?, "purpose"} →
201 {"no"}. Both go through `web.actions.propose_rules`, as a form does.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, Response

from domain.errors import PotError
from domain.values import parse_date
from projections.models import json_dict
from web import actions
from web.api import Acting, Body, Json, Signed, WebApp, _day, _query, json_body
from web.app import Member, web_of
from web.pages import Changing, Me, Short, Text, _back, _refused, _show

router = APIRouter()


class NewRules(Body):
    """A rule-change proposal: at least one rule, each left out (or null) to keep it as it is."""

    purpose: str
    quorum: str | None = None
    voting_days: int | None = None
    signed_votes: bool | None = None


# --------------------------------------------------------------------------- the JSON API
@router.get("/p/{slug}/api/rules")
def rules_now(member: Signed, web: WebApp, request: Request) -> Json:
    as_of = _day(_query(request, "as_of"), "as_of")
    with web.using() as ledger:
        return json_dict(ledger.rules(member.pot, as_of=as_of))


@router.post("/p/{slug}/api/rules/proposals", status_code=201)
def propose_rules(member: Acting, web: WebApp, body: Annotated[NewRules, Depends(json_body(NewRules))]) -> Json:
    made = actions.propose_rules(
        web,
        member,
        purpose=body.purpose,
        quorum=body.quorum,
        voting_days=body.voting_days,
        signed_votes=body.signed_votes,
    )
    return {"no": made.proposal_no}


# --------------------------------------------------------------------------- the page
def _rules_page(
    request: Request,
    member: Member,
    form: dict[str, str],
    as_of: str = "",
    message: str | None = None,
    status: int = 200,
) -> HTMLResponse:
    context: dict[str, Any] = {"form": form, "as_of": as_of, "rules": None}
    try:
        day = parse_date(as_of, "as_of") if as_of.strip() else None
        with web_of(request).using() as ledger:
            context["rules"] = ledger.rules(member.pot, as_of=day)
    except PotError as e:
        if message is None:
            return _refused(e, lambda m, s: _rules_page(request, member, form, "", m, s))
    return _show(request, member, "rules.html", context, here="rules", message=message, status=status)


@router.get("/p/{slug}/rules", response_class=HTMLResponse)
def rules_page(request: Request, member: Me, as_of: Annotated[str, Query(max_length=20)] = "") -> HTMLResponse:
    return _rules_page(request, member, {}, as_of)


@router.post("/p/{slug}/rules/proposals", response_model=None)
def propose_rules_form(
    request: Request,
    member: Changing,
    purpose: Text = "",
    quorum: Short = "",
    voting_days: Short = "",
    signed_votes: Short = "",
) -> Response:
    form = {"purpose": purpose, "quorum": quorum, "voting_days": voting_days, "signed_votes": signed_votes}
    try:
        made = actions.propose_rules(
            web_of(request), member, purpose=purpose, quorum=quorum, voting_days=voting_days, signed_votes=signed_votes
        )
    except PotError as e:
        return _refused(e, lambda m, s: _rules_page(request, member, form, "", m, s))
    return _back(member, f"proposals/{made.proposal_no}")
