"""Rules changed by consent on the web (SPEC §8): the rules page and its form, and the JSON API.

`POST …/api/rules/proposals` → 201 {"no"}; `GET …/api/rules` (query `as_of`) is
`pot rules --json`. A refusal is its status with `{"error"}` (or the page again
with the message) and the head digest unchanged.
"""

from __future__ import annotations

import re

import httpx

from tests.conftest import head, pot
from tests.web.conftest import Server, SignedClient


def refuses(server: Server, answer: httpx.Response, status: int, says: str) -> None:
    assert answer.status_code == status, (answer.status_code, answer.text)
    assert answer.headers["content-type"].startswith("application/json")
    assert says.lower() in answer.json()["error"].lower(), answer.text


def signed_in(server: Server) -> dict[str, SignedClient]:
    """The whole crew signed in, once each (signing in again through an invite ends the earlier session)."""
    return {name: server.sign_in(name) for name in ("Ana", "Bo", "Cy", "Dee")}


def everyone_agrees(crew: dict[str, SignedClient], no: int) -> httpx.Response:
    answer = httpx.Response(500)
    for client in crew.values():
        answer = client.post(f"proposals/{no}/votes", {"position": "agree"})
        assert answer.status_code == 201, answer.text
    return answer


def test_a_rule_change_proposed_and_approved_through_the_api(server: Server) -> None:
    crew = signed_in(server)
    bo = crew["Bo"]
    made = bo.post("rules/proposals", {"quorum": "0.75", "voting_days": 10, "purpose": "most of us"})
    assert made.status_code == 201, made.text
    assert made.json() == {"no": 1}
    shown = bo.get("proposals/1").json()
    assert (shown["amount"], shown["rules"], shown["status"]) == ("0.00", {"quorum": "0.75", "voting_days": 10}, "open")
    assert bo.get("proposals").json()[0]["rules"] == {"quorum": "0.75", "voting_days": 10}
    assert everyone_agrees(crew, 1).json()["status"] == "approved"
    now = bo.get("rules").json()
    assert now == pot(server.db, "rules", "--json").json()
    assert (now["quorum"], now["voting_days"], now["signed_votes"], now["proposal_no"]) == ("0.75", 10, False, 1)
    then = bo.get("rules", params={"as_of": "2026-01-01"}).json()
    assert (then["quorum"], then["voting_days"], then["proposal_no"]) == ("0.5", 7, None)


def test_rule_change_refusals_through_the_api_store_nothing(sqlite_server: Server) -> None:
    server = sqlite_server
    crew = signed_in(server)
    cy = crew["Cy"]
    before = head(server.db)
    refuses(server, cy.post("rules/proposals", {"quorum": "0.5", "purpose": "x"}), 409, "nothing to change")
    refuses(server, cy.post("rules/proposals", {"quorum": "2", "purpose": "x"}), 422, "quorum '2'")
    refuses(server, cy.post("rules/proposals", {"purpose": "x"}), 422, "sets at least one rule")
    refuses(server, cy.post("rules/proposals", {"voting_days": 0, "purpose": "x"}), 422, "between 1 and 365")
    refuses(server, cy.post("rules/proposals", {"voting_days": "7", "purpose": "x"}), 422, "whole number")
    refuses(server, cy.post("rules/proposals", {"signed_votes": "on", "purpose": "x"}), 422, "true or false")
    refuses(server, cy.post("rules/proposals", {"quorum": "1", "purpose": "x", "actor": "Ana"}), 422, "unknown field")
    refuses(server, cy.post("rules/proposals", {"quorum": "1"}), 422, "purpose is required")
    refuses(server, cy.get("rules", params={"as_of": "2025-12-31"}), 422, "was not open yet")
    refuses(server, cy.get("rules", params={"when": "today"}), 422, "unknown query parameter")
    refused_csrf = cy.post("rules/proposals", {"quorum": "1", "purpose": "x"}, csrf=None)
    assert refused_csrf.status_code == 403, refused_csrf.text
    assert head(server.db) == before

    assert cy.post("rules/proposals", {"signed_votes": True, "purpose": "sign"}).json() == {"no": 1}
    everyone_agrees(crew, 1)
    before = head(server.db)
    refuses(server, crew["Ana"].post("proposals/1/pay"), 409, "nothing to pay")
    refuses(server, cy.post("proposals/1/cancel"), 409, "propose another rule change")
    assert head(server.db) == before


def form(client: SignedClient, path: str, data: dict[str, str]) -> httpx.Response:
    return client.http.post(f"/p/{client.slug}/{path}", data={**data, "csrf_token": client.csrf})


def test_the_rules_page_shows_the_rules_and_proposes_a_change(sqlite_server: Server) -> None:
    server = sqlite_server
    crew = signed_in(server)
    dee = crew["Dee"]
    page = dee.http.get(f"/p/{dee.slug}/rules")
    assert page.status_code == 200
    assert re.search(r"<dt>Quorum</dt><dd>0\.5</dd>", page.text)
    assert 'action="/p/maastricht-crew/rules/proposals"' in page.text
    assert 'href="/p/maastricht-crew/rules"' in page.text  # in the nav

    before = head(server.db)
    refused = form(dee, "rules/proposals", {"quorum": "", "voting_days": "7", "signed_votes": "", "purpose": "x"})
    assert refused.status_code == 409
    assert "nothing to change" in refused.text
    assert 'value="7"' in refused.text  # the form keeps what was typed
    bad = form(dee, "rules/proposals", {"quorum": "", "voting_days": "a week", "signed_votes": "", "purpose": "x"})
    assert bad.status_code == 422
    assert "whole number of days" in bad.text
    assert head(server.db) == before

    made = form(dee, "rules/proposals", {"quorum": "1", "voting_days": "", "signed_votes": "on", "purpose": "all"})
    assert made.status_code == 303, made.text
    assert made.headers["location"] == f"/p/{dee.slug}/proposals/1"
    shown = dee.http.get(made.headers["location"])
    assert "The rules it would set" in shown.text
    assert re.search(r"<dt>Quorum</dt><dd>1</dd>", shown.text)
    assert re.search(r"<dt>Signed votes</dt><dd>on</dd>", shown.text)
    assert "Voting days" not in shown.text.split("The rules it would set")[1].split("</section>")[0]
    assert 'name="position"' in shown.text  # Dee may vote on it
    listed = dee.http.get(f"/p/{dee.slug}/proposals")
    assert "Rule change: quorum 1, signed votes on" in listed.text

    everyone_agrees(crew, 1)
    ana = crew["Ana"]
    approved = ana.http.get(f"/p/{ana.slug}/proposals/1")
    assert "/proposals/1/pay" not in approved.text  # nothing to pay, so no button
    after = dee.http.get(f"/p/{dee.slug}/rules")
    assert re.search(r"<dt>Quorum</dt><dd>1</dd>", after.text)
    assert "proposal 1</a> approved" in after.text
    earlier = dee.http.get(f"/p/{dee.slug}/rules", params={"as_of": "2026-01-01"})
    assert re.search(r"<dt>Quorum</dt><dd>0\.5</dd>", earlier.text)
