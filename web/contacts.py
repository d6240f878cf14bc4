"""Reminders on the web (SPEC §8): a member sets or removes their own e-mail address, on a page and by the API.

The address is not an event (`ledger.contacts`): nothing here stores one, and a
member only ever changes their own. The page is `/p/{slug}/reminders`; the API is
`GET`, `POST` and `DELETE /p/{slug}/api/email`, answering `{"member", "email"}`
(`email` null when none is set), with `web.app`'s errors.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from domain.errors import PotError
from ledger.contacts import email_of, remove_email, set_email
from web.api import Body, json_body
from web.app import Member, Web, csrf_checked, signed_in, status_of, web_of
from web.pages import _show

router = APIRouter()

Me = Annotated[Member, Depends(signed_in)]
Changing = Annotated[Member, Depends(csrf_checked)]
WebApp = Annotated[Web, Depends(web_of)]


class NewEmail(Body):
    email: str


def _mine(web: Web, member: Member) -> dict[str, Any]:
    with web.using() as ledger:
        return {"member": member.name, "email": email_of(ledger, member.slug, member.name)}


# --------------------------------------------------------------------------- the page
def _page(request: Request, member: Member, typed: str = "", message: str | None = None, status: int = 200) -> Any:
    address = _mine(web_of(request), member)["email"]
    context = {"address": address, "form_email": typed or address or ""}
    return _show(request, member, "reminders.html", context, here="reminders", message=message, status=status)


@router.get("/p/{slug}/reminders", response_class=HTMLResponse)
def reminders(request: Request, member: Me) -> HTMLResponse:
    page: HTMLResponse = _page(request, member)
    return page


@router.post("/p/{slug}/reminders", response_model=None)
def set_mine(request: Request, member: Changing, email: Annotated[str, Form(max_length=300)] = "") -> Response:
    web = web_of(request)
    try:
        with web.using() as ledger:
            set_email(ledger, member.slug, actor=member.name, member=member.name, address=email)
    except PotError as e:
        page: Response = _page(request, member, email, " ".join(str(e).split()), status_of(e))
        return page
    return RedirectResponse(f"/p/{member.slug}/reminders", status_code=303)


@router.post("/p/{slug}/reminders/remove", response_model=None)
def remove_mine(request: Request, member: Changing) -> Response:
    with web_of(request).using() as ledger:
        remove_email(ledger, member.slug, actor=member.name, member=member.name)
    return RedirectResponse(f"/p/{member.slug}/reminders", status_code=303)


# --------------------------------------------------------------------------- the API
@router.get("/p/{slug}/api/email")
def get_email(member: Me, web: WebApp) -> dict[str, Any]:
    return _mine(web, member)


@router.post("/p/{slug}/api/email")
def post_email(
    member: Changing, web: WebApp, body: Annotated[NewEmail, Depends(json_body(NewEmail))]
) -> dict[str, Any]:
    with web.using() as ledger:
        done = set_email(ledger, member.slug, actor=member.name, member=member.name, address=body.email)
    return {"member": done.member, "email": done.address}


@router.delete("/p/{slug}/api/email")
def delete_email(member: Changing, web: WebApp) -> dict[str, Any]:
    with web.using() as ledger:
        done = remove_email(ledger, member.slug, actor=member.name, member=member.name)
    return {"member": done.member, "email": None}
