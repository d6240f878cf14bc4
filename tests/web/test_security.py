"""Issue 19's security list against a real `pot serve`: each attack is refused and the head digest is unchanged.

CSRF, acting as someone else, treasurer-only changes, invites that are expired,
used or superseded, the sign-in throttle, a member who left, the session cookie's
flags, hostile text, names that do not exist, and bodies built to break the server.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import httpx
from sqlalchemy import create_engine, update

from ledger.accounts import invites
from tests.conftest import head, postgres_engine_for, pot
from tests.web.conftest import PASSPHRASE, Server, SignedClient, accept_invite, form_csrf
from tests.web.test_api import ok, refuses, stores_nothing

HOSTILE = "<script>alert(1)</script>"


def login(server: Server, client: httpx.Client, member: str, passphrase: str) -> httpx.Response:
    form = client.get(f"/p/{server.slug}/login")
    assert form.status_code == 200, form.text
    data = {"member": member, "passphrase": passphrase, "csrf_token": form_csrf(form.text)}
    return client.post(f"/p/{server.slug}/login", data=data)


def expire_invites(server: Server) -> None:
    """Move every invite of the pot into the past, as time passing would (an invite lasts at least a day)."""
    past = {"expires_at": datetime(2020, 1, 1, tzinfo=UTC)}
    statement = update(invites).where(invites.c.slug == server.slug).values(**past)
    if "://" in server.db:
        with postgres_engine_for(server.db) as engine, engine.begin() as conn:
            assert conn.execute(statement).rowcount >= 1
        return
    engine = create_engine(f"sqlite:///{server.db}")
    try:
        with engine.begin() as conn:
            assert conn.execute(statement).rowcount >= 1
    finally:
        engine.dispose()


# --------------------------------------------------------------------------- CSRF
def test_a_change_without_the_sessions_csrf_token_is_403_and_stores_nothing(server: Server) -> None:
    bo, cy = server.sign_in("Bo"), server.sign_in("Cy")
    ok(bo.post("proposals", {"amount": "5", "purpose": "glue"}), 201)
    vote = {"position": "block"}
    with stores_nothing(server):
        refuses(bo.post("proposals/1/votes", vote, csrf=None), 403, "CSRF token")
        refuses(bo.post("proposals/1/votes", vote, csrf=""), 403, "CSRF token")
        refuses(bo.post("proposals/1/votes", vote, csrf="not-the-token"), 403, "CSRF token")
        refuses(bo.post("proposals/1/votes", vote, csrf=bo.csrf + "x"), 403, "CSRF token")
        # A token that is real, but another member's session's: still refused.
        refuses(bo.post("proposals/1/votes", vote, csrf=cy.csrf), 403, "CSRF token")
        refuses(bo.post("proposals", {"amount": "5", "purpose": "x"}, csrf=cy.csrf), 403, "CSRF token")
        # The token in the JSON body is not where the API looks for it.
        refuses(bo.post("proposals/1/votes", {**vote, "csrf_token": bo.csrf}, csrf=None), 403, "CSRF token")
        # The CSRF check comes before the body is read: a broken body without the token is 403, not 422.
        broken = bo.http.post(bo.api("proposals/1/votes"), content=b"{", headers={"content-type": "application/json"})
        refuses(broken, 403, "CSRF token")
        # A form post (what a cross-site page can send) with the form field but a wrong token.
        refuses(bo.http.post(bo.api("proposals/1/votes"), data={"csrf_token": "guess"}), 403, "CSRF token")
    assert [b["member"] for b in ok(bo.get("proposals/1"))["ballots"]] == []


# --------------------------------------------------------------------------- acting as someone else
def test_a_session_acts_only_as_its_own_member(server: Server) -> None:
    bo, cy = server.sign_in("Bo"), server.sign_in("Cy")
    ok(cy.post("proposals", {"amount": "5", "purpose": "glue"}), 201)
    with stores_nothing(server):
        # No body field names the actor: one that tries is refused, not ignored.
        for field in ("member", "actor", "as", "voter", "name"):
            refuses(bo.post("proposals/1/votes", {"position": "agree", field: "Ana"}), 422, f"unknown field '{field}'")
        refuses(bo.post("proposals", {"amount": "5", "purpose": "x", "proposer": "Ana"}), 422, "unknown field")
        refuses(bo.post("reflections", {"event": 5, "feeling": "ok", "member": "Ana"}), 422, "unknown field")
        # Cy's proposal is Cy's to cancel, and Cy's pledge Cy's to set.
        refuses(bo.post("proposals/1/cancel"), 403, "only Cy, who proposed it, may cancel")
        refuses(bo.post("pledges", {"member": "Cy", "percent": "5"}), 403, "may set only their own pledge")
    # Whatever the query string or headers say, the vote is Bo's.
    answer = bo.http.post(
        bo.api("proposals/1/votes") + "?as=Ana&member=Ana",
        json={"position": "agree"},
        headers={"X-CSRF-Token": bo.csrf, "X-As": "Ana", "X-Forwarded-User": "Ana"},
    )
    ok(answer, 201)
    assert [b["member"] for b in ok(bo.get("proposals/1"))["ballots"]] == ["Bo"]


def test_a_member_cannot_do_what_only_a_treasurer_may(server: Server) -> None:
    ana, bo = server.sign_in("Ana"), server.sign_in("Bo")
    cli = pot(server.db, "--as", "Bo", "propose", "10", "--purpose", "stamps", today="2026-01-02")
    assert cli.code == 0, cli.err
    for name in ("Ana", "Bo", "Cy", "Dee"):
        assert pot(server.db, "--as", name, "vote", "1", "agree", today="2026-01-02").code == 0
    with stores_nothing(server):
        refuses(bo.post("contributions", {"member": "Bo", "amount": "5"}), 403, "only a treasurer may record")
        refuses(bo.post("contributions/5/reversal", {"reason": "mine"}), 403, "only a treasurer may reverse")
        refuses(bo.post("proposals/1/pay"), 403, "only a treasurer may pay out")
        refuses(bo.post("members", {"name": "Eve"}), 403, "only a treasurer may add members")
        refuses(bo.post("members", {"name": "Eve", "treasurer": True}), 403, "only a treasurer may add members")
        refuses(bo.post("members/Bo/invite"), 403, "only a treasurer may invite")
        refuses(bo.post("members/Cy/invite", {"days": 1}), 403, "only a treasurer may invite")
    assert ok(ana.get("session"))["role"] == "treasurer"
    assert ok(ana.post("proposals/1/pay"), 200)["status"] == "paid"  # the same request from a treasurer works


# --------------------------------------------------------------------------- invites
def test_an_expired_invite_is_refused(server: Server) -> None:
    before = head(server.db)
    link = server.invite("Dee")
    client = server.client()
    form = client.get(link)
    assert form.status_code == 200
    expire_invites(server)
    assert client.get(link).status_code == 404
    answer = client.post(link, data={"passphrase": PASSPHRASE, "csrf_token": form_csrf(form.text)})
    assert answer.status_code == 404, answer.text
    assert "expired" in answer.text
    assert "pot_session" not in answer.headers.get("set-cookie", "")
    assert client.get(f"/p/{server.slug}/api/session").status_code == 401
    assert login(server, server.client(), "Dee", PASSPHRASE).status_code == 401  # no passphrase was set
    assert head(server.db) == before


def test_a_used_or_superseded_invite_is_refused(server: Server) -> None:
    before = head(server.db)
    older = server.invite("Cy")
    newer = server.invite("Cy")  # voids the older one
    client = server.client()
    assert client.get(older).status_code == 404
    token = form_csrf(client.get(newer).text)
    refused = client.post(older, data={"passphrase": "someone else's choice", "csrf_token": token})
    assert refused.status_code == 404, refused.text
    assert "not valid" in refused.text
    assert login(server, server.client(), "Cy", "someone else's choice").status_code == 401

    accept_invite(server.client(), newer, PASSPHRASE)
    again = server.client()
    assert again.get(newer).status_code == 404  # used
    replay = client.post(newer, data={"passphrase": "a takeover attempt", "csrf_token": token})
    assert replay.status_code == 404
    assert login(server, server.client(), "Cy", "a takeover attempt").status_code == 401
    assert login(server, server.client(), "Cy", PASSPHRASE).status_code == 303
    assert head(server.db) == before


# --------------------------------------------------------------------------- sign-in throttle
def test_the_sixth_wrong_passphrase_is_429_and_then_so_is_the_right_one(sqlite_server: Server) -> None:
    server = sqlite_server
    server.sign_in("Cy")
    before = head(server.db)
    client = server.client()
    answers = [login(server, client, "Cy", f"wrong guess number {i}").status_code for i in range(6)]
    assert answers == [401, 401, 401, 401, 401, 429]
    right = login(server, client, "Cy", PASSPHRASE)
    assert right.status_code == 429
    assert "too many failed sign-ins" in right.text
    assert "pot_session" not in right.headers.get("set-cookie", "")
    # The throttle is per member: Bo is not locked out by tries against Cy.
    server.sign_in("Bo")
    assert login(server, server.client(), "Bo", PASSPHRASE).status_code == 303
    assert head(server.db) == before


# --------------------------------------------------------------------------- a member who left
def test_a_member_who_left_is_signed_out(server: Server) -> None:
    dee = server.sign_in("Dee")
    assert ok(dee.get("balance"))["pot"] == server.slug
    removed = pot(server.db, "--as", "Ana", "member", "remove", "Dee", today=None)
    assert removed.code == 0, removed.err
    with stores_nothing(server):
        refuses(dee.get("balance"), 401, "sign in")
        refuses(dee.get("session"), 401, "sign in")
        refuses(dee.post("proposals", {"amount": "5", "purpose": "one last thing"}), 401, "sign in")
        refuses(dee.post("reflections", {"event": 5, "feeling": "sad"}), 401, "sign in")
        assert login(server, server.client(), "Dee", PASSPHRASE).status_code == 401


# --------------------------------------------------------------------------- cookies and headers
def test_session_cookies_are_httponly_and_samesite_strict(sqlite_server: Server) -> None:
    server = sqlite_server
    server.sign_in("Bo")
    client = server.client()
    form = client.get(f"/p/{server.slug}/login")
    signed = client.post(
        f"/p/{server.slug}/login", data={"member": "Bo", "passphrase": PASSPHRASE, "csrf_token": form_csrf(form.text)}
    )
    assert signed.status_code == 303
    for cookie in (form.headers["set-cookie"], signed.headers["set-cookie"]):
        flags = [part.strip().lower() for part in cookie.split(";")]
        assert "httponly" in flags, cookie
        assert "samesite=strict" in flags, cookie
        assert f"path=/p/{server.slug}" in flags, cookie
    assert signed.headers["set-cookie"].startswith("pot_session=")


def test_hostile_text_is_text_and_the_csp_allows_only_the_apps_own_scripts(sqlite_server: Server) -> None:
    server = sqlite_server
    added = pot(server.db, "--as", "Ana", "member", "add", HOSTILE, today=None)
    assert added.code == 0, added.err
    ana = server.sign_in("Ana")
    ok(ana.post("proposals", {"amount": "5", "purpose": HOSTILE, "recipient": HOSTILE}), 201)
    ok(ana.post("contributions", {"member": HOSTILE, "amount": "5", "note": HOSTILE}), 201)

    members = ana.get("members")
    assert HOSTILE in [m["name"] for m in ok(members)]
    proposal = ok(ana.get("proposals/1"))
    assert (proposal["purpose"], proposal["recipient"]) == (HOSTILE, HOSTILE)
    assert ok(ana.get("history"))[-1]["note"] == HOSTILE
    for answer in (members, ana.get("history")):
        assert answer.headers["content-type"] == "application/json"
        assert answer.headers["x-content-type-options"] == "nosniff"
        assert "script-src 'self'" in answer.headers["content-security-policy"]

    # The HTML that names the member (their invite page) shows the name as text, never as markup.
    link = ok(ana.post(f"members/{quote(HOSTILE, safe='')}/invite"), 201)["url"]
    page = server.client().get(link)
    assert page.status_code == 200
    assert HOSTILE not in page.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text
    assert not re.search(r"<script(?![^>]*\bsrc=\"/static/)", page.text), "an inline script in the page"
    csp = page.headers["content-security-policy"]
    assert "script-src 'self'" in csp
    assert "unsafe-inline" not in csp
    assert "frame-ancestors 'none'" in csp


# --------------------------------------------------------------------------- things that do not exist, broken input
def test_what_does_not_exist_is_404_not_500(server: Server) -> None:
    bo = server.sign_in("Bo")
    stranger = server.client()
    with stores_nothing(server):
        refuses(stranger.get("/p/no-such-pot/api/balance"), 404, "there is no pot 'no-such-pot'")
        refuses(stranger.post("/p/no-such-pot/api/proposals", json={}), 404, "there is no pot")
        assert stranger.get("/p/no-such-pot/login").status_code == 404
        assert stranger.get("/p/no-such-pot/invite/abc").status_code == 404
        assert stranger.get(f"/p/{server.slug}/invite/not-a-token").status_code == 404
        refuses(bo.get("proposals/404"), 404, "there is no proposal 404")
        refuses(bo.get("proposals/9999999999999999999999999"), 404, "there is no proposal")
        refuses(bo.post("proposals/404/votes", {"position": "agree"}), 404, "there is no proposal 404")
        refuses(bo.post("proposals/9999999999999/votes", {"position": "agree"}), 404, "there is no proposal")
        refuses(bo.post("reflections", {"event": 404, "feeling": "lost"}), 404, "there is no event 404")
        refuses(bo.post("reflections", {"event": 2**63, "feeling": "lost"}), 422, "event must be a number")
        assert bo.get("no-such-route").status_code == 404
        refuses(bo.get("events/404/digest"), 404, "there is no event 404")


def broken_bodies() -> list[tuple[str, bytes]]:
    deep = b"[" * 100_000 + b"]" * 100_000
    return [
        ("not JSON", b"{garbage"),
        ("not UTF-8", '{"amount": "1", "purpose": "caf\u00e9"}'.encode("latin-1")),
        ("a lone surrogate", b'{"amount": "1", "purpose": "a\\ud800b"}'),
        ("nested 100,000 deep", deep),
        ("an amount of 5,000 digits", b'{"amount": "1' + b"0" * 5000 + b'", "purpose": "x"}'),
        ("a NUL in the purpose", b'{"amount": "1", "purpose": "a\\u0000b"}'),
        ("a number", b"12"),
        ("100 KB", b'{"amount": "1", "purpose": "' + b"x" * 100_000 + b'"}'),
        ("null", b"null"),
    ]


def test_a_broken_body_is_422_with_an_error_never_a_traceback(sqlite_server: Server) -> None:
    ana = sqlite_server.sign_in("Ana")
    headers = {"X-CSRF-Token": ana.csrf, "content-type": "application/json"}
    with stores_nothing(sqlite_server):
        for what, raw in broken_bodies():
            answer = ana.http.post(ana.api("proposals"), content=raw, headers=headers)
            assert answer.status_code == 422, (what, answer.status_code, answer.text[:300])
            body: Any = answer.json()
            assert set(body) == {"error"}, what
            assert "Traceback" not in answer.text, what
            assert 'File "' not in answer.text, what
        too_long = ana.post("contributions", {"member": "Bo", "amount": "5", "income": "9" * 5000})
        refuses(too_long, 422, "above the limit of 1,000,000,000")


def test_a_forged_session_cookie_signs_nobody_in(sqlite_server: Server) -> None:
    server = sqlite_server
    bo = server.sign_in("Bo")
    token = bo.http.cookies.get("pot_session")
    assert token
    for forged in (token + "x", token[:-1], "", "a" * 4096):
        client = SignedClient(httpx.Client(base_url=server.url, cookies={"pot_session": forged}), server.slug, "", "")
        refuses(client.get("session"), 401, "sign in")
    assert ok(bo.get("session"))["member"] == "Bo"


def test_verify_on_a_store_someone_edited_answers_not_ok_and_names_the_event(sqlite_server: Server) -> None:
    """A member can still sign in and read `verify` when an event behind the server's back was changed."""
    from tests.reliability.rawstore import set_state, states

    bo = sqlite_server.sign_in("Bo")
    stored = states(sqlite_server.db)
    no = max(stored) - 1  # Dee joining, made a treasurer's joining, with the chain left as it was
    edited = stored[no].replace(b'"role":"member"', b'"role":"treasurer"')
    assert edited != stored[no]
    set_state(sqlite_server.db, no, edited)
    report = bo.get("verify")
    assert report.status_code == 200, report.text
    assert (report.json()["ok"], report.json()["first_bad"]) == (False, no)
    refused = bo.post("proposals", {"amount": "1", "purpose": "x"})
    assert refused.status_code == 409, refused.text
    assert "verify" in refused.json()["error"]


def test_an_unknown_pot_is_404_and_does_not_list_the_pots_the_store_holds(sqlite_server: Server) -> None:
    answer = sqlite_server.client().get("/p/no-such-pot/login")
    assert answer.status_code == 404
    assert sqlite_server.slug not in answer.text
