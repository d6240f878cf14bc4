"""Consent that carries a crew (SPEC §8, issue 21 part A) on the web: the pages and the JSON API.

Who still has to vote and what a proposal needs now, reasons for block and disagree, two to sign, and
approvals beyond the pot, each refused with SPEC §6's status, the CLI's message, and the store unchanged.
"""

from __future__ import annotations

import re
from typing import Any

import httpx

from tests.conftest import head, pot
from tests.web.conftest import Server, SignedClient


def ok(answer: httpx.Response, status: int = 200) -> Any:
    assert answer.status_code == status, (answer.status_code, answer.text)
    return answer.json()


def refuses(server: Server, answer: httpx.Response, status: int, says: str, before: str) -> None:
    assert answer.status_code == status, (answer.status_code, answer.text)
    assert says.lower() in answer.json()["error"].lower(), answer.text
    assert head(server.db) == before, "a refused request changed the store"


def page(client: SignedClient, path: str) -> str:
    return client.http.get(f"/p/{client.slug}/{path}").text


def form(client: SignedClient, path: str, data: dict[str, str]) -> httpx.Response:
    return client.http.post(f"/p/{client.slug}/{path}", data={**data, "csrf_token": client.csrf})


def everyone_agrees(crew: dict[str, SignedClient], no: int) -> None:
    for member in crew.values():
        ok(member.post(f"proposals/{no}/votes", {"position": "agree"}), 201)


def sign_in_crew(server: Server) -> dict[str, SignedClient]:
    return {name: server.sign_in(name) for name in ("Ana", "Bo", "Cy", "Dee")}


# --------------------------------------------------------------------------- who still has to vote
def test_the_api_and_the_page_say_who_still_has_to_vote_and_what_it_needs_now(server: Server) -> None:
    bo, cy = server.sign_in("Bo"), server.sign_in("Cy")
    ok(bo.post("proposals", {"amount": "30", "purpose": "a tent"}), 201)
    ok(bo.post("proposals/1/votes", {"position": "agree"}), 201)
    ok(cy.post("proposals/1/votes", {"position": "block", "reason": "we have two tents"}), 201)
    shown = ok(bo.get("proposals/1"))
    assert (shown["waiting"], shown["quorum_reached"], shown["if_closed_now"]) == (["Ana", "Dee"], True, "rejected")
    # The API answers what `pot proposal 1 --json` prints.
    assert shown == pot(server.db, "proposal", "1", "--json", today=None).json()
    html = page(bo, "proposals/1")
    waiting = re.search(r"Not voted yet: ([^.<]*)", html)
    assert waiting
    assert waiting.group(1) == "Ana, Dee"
    assert "Quorum reached; if closed now it would be <strong>rejected</strong>. Blocked by Cy." in html


def test_the_overview_lists_what_waits_for_my_vote_from_the_ledger(sqlite_server: Server) -> None:
    server = sqlite_server
    bo, dee = server.sign_in("Bo"), server.sign_in("Dee")
    ok(bo.post("proposals", {"amount": "30", "purpose": "a tent"}), 201)
    assert "/proposals/1" in page(dee, "")
    ok(dee.post("proposals/1/votes", {"position": "abstain"}), 201)
    assert "/proposals/1" not in page(dee, "")
    # A member who joins later was not eligible: nothing waits for their vote.
    assert pot(server.db, "--as", "Ana", "member", "add", "Eve", today=None).code == 0
    eve = server.sign_in("Eve")
    assert "/proposals/1" not in page(eve, "")
    assert "Eve" not in ok(bo.get("proposals/1"))["waiting"]


# --------------------------------------------------------------------------- reasons
def test_a_block_or_disagree_without_a_reason_is_refused_on_the_api_and_the_form(server: Server) -> None:
    bo, cy = server.sign_in("Bo"), server.sign_in("Cy")
    ok(bo.post("proposals", {"amount": "30", "purpose": "a tent"}), 201)
    before = head(server.db)
    refuses(server, cy.post("proposals/1/votes", {"position": "block"}), 422, "a block needs a reason", before)
    refuses(server, cy.post("proposals/1/votes", {"position": "block", "reason": "  "}), 422, "needs a reason", before)
    refuses(server, cy.post("proposals/1/votes", {"position": "disagree"}), 422, "disagree vote needs", before)
    answer = form(cy, "proposals/1/vote", {"position": "block", "reason": ""})
    assert answer.status_code == 422, answer.text
    assert "a block needs a reason" in answer.text
    assert head(server.db) == before
    # With a reason, the form takes it; agree needs none.
    assert form(cy, "proposals/1/vote", {"position": "block", "reason": "two tents"}).status_code == 303
    ok(bo.post("proposals/1/votes", {"position": "agree"}), 201)


# --------------------------------------------------------------------------- two to sign
def test_a_treasurer_may_not_pay_their_own_proposal_while_another_treasurer_could(server: Server) -> None:
    assert pot(server.db, "--as", "Ana", "member", "role", "Cy", "treasurer", today=None).code == 0
    crew = sign_in_crew(server)
    ok(crew["Ana"].post("proposals", {"amount": "30", "purpose": "stamps"}), 201)
    everyone_agrees(crew, 1)
    before = head(server.db)
    refuses(server, crew["Ana"].post("proposals/1/pay", {}), 403, "Ana may not pay proposal 1", before)
    answer = form(crew["Ana"], "proposals/1/pay", {})
    assert answer.status_code == 403, answer.text
    assert "another treasurer (Cy) pays it" in answer.text
    assert head(server.db) == before
    paid = ok(crew["Cy"].post("proposals/1/pay", {}))
    assert paid == {"no": pot(server.db, "verify", "--json").json()["events"], "status": "paid"}


# --------------------------------------------------------------------------- approved beyond the pot
def test_approvals_beyond_the_pot_wait_in_order_and_available_stops_at_zero(sqlite_server: Server) -> None:
    server = sqlite_server
    crew = sign_in_crew(server)
    for purpose in ("a tent", "a stove"):
        made = ok(crew["Bo"].post("proposals", {"amount": "60", "purpose": purpose}), 201)
        everyone_agrees(crew, made["no"])
    money = ok(crew["Bo"].get("balance"))
    assert (money["balance"], money["reserved"], money["available"]) == ("100.00", "120.00", "0.00")
    assert "shortfall" not in money
    overview = page(crew["Bo"], "")
    assert re.search(r'id="shortfall"><dt>Short</dt><dd>20.00</dd>', overview), overview
    assert "Approved and waiting for money: the pot lacks 20.00 EUR" in page(crew["Bo"], "proposals/2")
    assert "waiting for money" not in page(crew["Bo"], "proposals/1")
    before = head(server.db)
    refuses(server, crew["Ana"].post("proposals/2/pay", {}), 409, "payouts go in order of approval", before)
    ok(crew["Ana"].post("proposals/1/pay", {}))
    assert ok(crew["Bo"].get("balance"))["available"] == "0.00"
    assert 'id="shortfall"' in page(crew["Bo"], "")
