"""Web routes for money back and receipts (SPEC §8): the JSON API's refund and receipt, the page's receipt link.

Each route parses, calls the same ledger API as `pot refund` and `pot receipt`, and answers; the rules are
the domain's. A receipt is served as a download with the content type its bytes are (PDF, PNG or JPEG),
never rendered inline by the browser.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Response

from domain.values import parse_text
from ledger.receipts import Receipt, receipt_of
from web import actions
from web.api import Acting, Body, Signed, WebApp, _number, json_body
from web.app import Member, Web

router = APIRouter()


class NewRefund(Body):
    amount: str
    reason: str


@router.post("/p/{slug}/api/proposals/{n}/refunds", status_code=201)
def refund(
    n: str, member: Acting, web: WebApp, body: Annotated[NewRefund, Depends(json_body(NewRefund))]
) -> dict[str, Any]:
    """Money of a paid proposal that came back, recorded by a treasurer: 201 {"no"}."""
    minor = actions._amount(member, body.amount)
    why = parse_text(body.reason, "reason", required=True)
    with web.using() as ledger:
        done = ledger.refund(
            member.slug,
            actor=member.name,
            proposal_no=_number(n, "proposal", member),
            amount_minor=minor,
            reason=why,
            today=web.today(),
        )
    return {"no": done.no}


def _download(found: Receipt) -> Response:
    return Response(
        content=found.data,
        media_type=found.media_type,
        headers={"Content-Disposition": f'attachment; filename="{found.filename}"'},
    )


@router.get("/p/{slug}/api/proposals/{n}/receipt")
def api_receipt(n: str, member: Signed, web: WebApp) -> Response:
    """The receipt kept with a proposal's payout, as a download; 404 when it has none."""
    return _receipt(n, member, web)


@router.get("/p/{slug}/proposals/{n}/receipt")
def page_receipt(n: str, member: Signed, web: WebApp) -> Response:
    """The proposal page's receipt link."""
    return _receipt(n, member, web)


def _receipt(n: str, member: Member, web: Web) -> Response:
    with web.using() as ledger:
        return _download(receipt_of(ledger, member.pot, _number(n, "proposal", member)))
