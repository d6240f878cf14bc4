"""Web routes for money back and receipts (SPEC §8): refunds, paying with a receipt, and the receipt download.

Each route parses, calls the same ledger API as `pot refund`, `pot pay --receipt` and `pot receipt`, and
answers; the rules are the domain's. A receipt is served as a download with the content type its bytes are
(PDF, PNG or JPEG), never rendered inline by the browser.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Path, Request, Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from domain.errors import PotError
from domain.signing import Signature
from domain.values import parse_text
from ledger.receipts import MAX_RECEIPT_BYTES, Receipt, receipt_of
from ledger.results import Paid, Recorded
from web import actions, pages
from web.api import Acting, Body, Signed, WebApp, _number, json_body
from web.app import Member, Web, web_of

router = APIRouter()

# A proposal's number in a page's URL, as web.pages takes it.
No = Annotated[int, Path(ge=1, le=2_147_483_647)]


class NewRefund(Body):
    amount: str
    reason: str


def _refund(web: Web, member: Member, no: int, amount: str, reason: str) -> Recorded:
    minor = actions._amount(member, amount)
    why = parse_text(reason, "reason", required=True)
    with web.using() as ledger:
        return ledger.refund(
            member.slug, actor=member.name, proposal_no=no, amount_minor=minor, reason=why, today=web.today()
        )


def _pay(web: Web, member: Member, no: int, receipt: bytes | None, signature: Signature | None = None) -> Paid:
    with web.using() as ledger:
        return ledger.pay(
            member.slug, actor=member.name, proposal_no=no, today=web.today(), receipt=receipt, signature=signature
        )


async def _uploaded(request: Request) -> bytes | None:
    """The form's `receipt` file, read up to one byte past the limit; None when no file was chosen."""
    got = (await request.form()).get("receipt")
    if not isinstance(got, UploadFile):
        return None
    data = await got.read(MAX_RECEIPT_BYTES + 1)
    return None if not data and not got.filename else data


def _download(found: Receipt) -> Response:
    return Response(
        content=found.data,
        media_type=found.media_type,
        headers={"Content-Disposition": f'attachment; filename="{found.filename}"'},
    )


def _receipt(n: str, member: Member, web: Web) -> Response:
    with web.using() as ledger:
        return _download(receipt_of(ledger, member.pot, _number(n, "proposal", member)))


# --------------------------------------------------------------------------- the JSON API
@router.post("/p/{slug}/api/proposals/{n}/refunds", status_code=201)
def refund(
    n: str, member: Acting, web: WebApp, body: Annotated[NewRefund, Depends(json_body(NewRefund))]
) -> dict[str, Any]:
    """Money of a paid proposal that came back, recorded by a treasurer: 201 {"no"}."""
    return {"no": _refund(web, member, _number(n, "proposal", member), body.amount, body.reason).no}


@router.post("/p/{slug}/api/proposals/{n}/pay-with-receipt")
async def pay_with_receipt(n: str, member: Acting, request: Request) -> dict[str, Any]:
    """`proposals/{n}/pay` with a receipt: multipart/form-data, the file in field `receipt`."""
    receipt = await _uploaded(request)
    done = await run_in_threadpool(_pay, web_of(request), member, _number(n, "proposal", member), receipt)
    return {"no": done.no, "status": "paid"}


@router.get("/p/{slug}/api/proposals/{n}/receipt")
def api_receipt(n: str, member: Signed, web: WebApp) -> Response:
    """The receipt kept with a proposal's payout, as a download; 404 when it has none."""
    return _receipt(n, member, web)


# --------------------------------------------------------------------------- the proposal's page
@router.get("/p/{slug}/proposals/{n}/receipt")
def page_receipt(n: str, member: Signed, web: WebApp) -> Response:
    """The proposal page's receipt link."""
    return _receipt(n, member, web)


@router.post("/p/{slug}/proposals/{no}/pay-with-receipt", response_model=None)
async def page_pay(request: Request, member: Acting, no: No) -> Response:
    """The page's pay form: pays, keeping the receipt chosen (if any); a refusal shows on the page."""
    try:
        receipt = await _uploaded(request)
        # The browser's signature over the payout (web/static/keys.js), when this device holds a key.
        signed = (await request.form()).get("signature")
        signature = actions.signature_from_form(signed if isinstance(signed, str) else None)
        await run_in_threadpool(_pay, web_of(request), member, no, receipt, signature)
    except PotError as e:
        return await run_in_threadpool(pages._refused, e, lambda m, s: pages._proposal_page(request, member, no, m, s))
    return pages._back(member, f"proposals/{no}")


@router.post("/p/{slug}/proposals/{no}/refunds", response_model=None)
def page_refund(
    request: Request,
    member: Acting,
    no: No,
    amount: Annotated[str, Form(max_length=200)] = "",
    reason: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    """The page's money-back form (treasurers)."""
    try:
        _refund(web_of(request), member, no, amount, reason)
    except PotError as e:
        return pages._refused(e, lambda m, s: pages._proposal_page(request, member, no, m, s))
    return pages._back(member, f"proposals/{no}")
