"""Signing in and out (SPEC §6): the sign-in form, invite links, sign-out, and `GET api/session`.

Before a member is signed in, the forms carry a CSRF token that must match a
cookie set with the form (a double submit); afterwards every change carries the
session's own token (`web.app.csrf_checked`).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from domain.values import name_key
from ledger.accounts import MIN_PASSPHRASE, SignedIn, SignInRefused
from web.app import (
    CsrfRefused,
    Member,
    anonymous_csrf,
    anonymous_csrf_ok,
    clear_session_cookie,
    csrf_checked,
    set_anonymous_csrf,
    set_session_cookie,
    signed_in,
    web_of,
)
from web.render import page

router = APIRouter()


def _form_page(request: Request, slug: str, template: str, context: dict[str, Any], status: int = 200) -> HTMLResponse:
    token = anonymous_csrf(request)
    info = web_of(request).pot(slug)
    response = page(
        request,
        template,
        {"pot": info, "slug": slug, "form_csrf": token, "min_passphrase": MIN_PASSPHRASE, **context},
        status,
    )
    set_anonymous_csrf(response, request, token, slug)
    return response


def _signed_in_redirect(request: Request, slug: str, found: SignedIn) -> RedirectResponse:
    response = RedirectResponse(f"/p/{slug}/", status_code=303)
    set_session_cookie(response, request, found.session.token, slug)
    return response


@router.get("/p/{slug}/login", response_class=HTMLResponse)
def login_form(slug: str, request: Request) -> HTMLResponse:
    return _form_page(request, slug, "login.html", {"member": "", "message": None})


@router.post("/p/{slug}/login", response_model=None)
def login(
    slug: str,
    request: Request,
    member: Annotated[str, Form(max_length=200)] = "",
    passphrase: Annotated[str, Form(max_length=2048)] = "",
    csrf_token: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    web = web_of(request)
    info = web.pot(slug)
    if not anonymous_csrf_ok(request, csrf_token):
        raise CsrfRefused("the sign-in form's CSRF token did not match: reload the page and try again")
    try:
        with web.using() as ledger:
            found = ledger.sign_in(info.slug, name=member, passphrase=passphrase)
    except SignInRefused as refused:
        return _form_page(request, slug, "login.html", {"member": member, "message": str(refused)}, refused.status)
    return _signed_in_redirect(request, slug, found)


@router.post("/p/{slug}/logout", response_model=None)
def logout(slug: str, request: Request, member: Annotated[Member, Depends(csrf_checked)]) -> Response:
    token = request.cookies.get("pot_session", "")
    with web_of(request).using() as ledger:
        ledger.accounts.sign_out(token)
    response = RedirectResponse(f"/p/{slug}/login", status_code=303)
    clear_session_cookie(response, slug)
    return response


@router.get("/p/{slug}/invite/{token}", response_class=HTMLResponse)
def invite_form(slug: str, token: str, request: Request) -> HTMLResponse:
    web = web_of(request)
    info = web.pot(slug)
    with web.using() as ledger:
        key = ledger.accounts.invited_member(info.slug, token)  # refuses a used, void or expired link
        name = next((m.name for m in ledger.members(info.slug) if name_key(m.name) == key), key)
    return _form_page(request, slug, "invite.html", {"token": token, "invited": name, "message": None})


@router.post("/p/{slug}/invite/{token}", response_model=None)
def accept_invite(
    slug: str,
    token: str,
    request: Request,
    passphrase: Annotated[str, Form(max_length=2048)] = "",
    repeat: Annotated[str | None, Form(max_length=2048)] = None,
    csrf_token: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    web = web_of(request)
    info = web.pot(slug)
    if not anonymous_csrf_ok(request, csrf_token):
        raise CsrfRefused("the form's CSRF token did not match: reload the page and try again")
    try:
        if repeat is not None and repeat != passphrase:
            raise SignInRefused("the two passphrases differ: type the same one twice", 422)
        with web.using() as ledger:
            found = ledger.accept_invite(info.slug, token=token, passphrase=passphrase)
    except SignInRefused as refused:
        if refused.status != 422:
            raise
        context = {"token": token, "invited": "", "message": str(refused)}
        return _form_page(request, slug, "invite.html", context, refused.status)
    return _signed_in_redirect(request, slug, found)


@router.get("/p/{slug}/api/session")
def session(member: Annotated[Member, Depends(signed_in)], request: Request) -> dict[str, Any]:
    """Who is signed in, the token their changes carry, and the pot's head, which a browser signs against (SPEC §7)."""
    from ledger.keys import chain_head

    with web_of(request).using() as ledger:
        no, digest = chain_head(ledger, member.slug)
    head = {"no": no, "digest": digest}
    return {"member": member.name, "role": member.role, "csrf_token": member.csrf_token, "head": head}
