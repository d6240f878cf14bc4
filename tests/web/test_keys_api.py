"""Member keys and signed events through the web (SPEC §6's keys routes, SPEC §7), against a real `pot serve`.

A member's client holds the private key (here a key made in Python with
`cryptography`, as a browser makes one with WebCrypto) and signs the canonical
message `domain.signing` defines; the server only passes the signature to the
ledger. Every refusal (a bad signature, someone else's key, a `seen` that is not
in the chain, a malformed part, someone else's key revoked) answers SPEC §6's status
and the store's head is exactly as before. `pot verify` counts what was signed on
the web.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from domain import signing
from ledger.keys import key_id, public_key_text
from tests.conftest import head, pot
from tests.web.conftest import Server, SignedClient, running_server


@contextmanager
def stores_nothing(server: Server) -> Iterator[None]:
    before = head(server.db)
    yield
    assert head(server.db) == before, "a refused request changed the store"


def refuses(answer: httpx.Response, status: int, says: str) -> None:
    assert answer.status_code == status, (answer.status_code, answer.text)
    error = answer.json()["error"] if answer.headers["content-type"].startswith("application/json") else answer.text
    assert says.lower() in error.lower(), error


def ok(answer: httpx.Response, status: int = 200) -> Any:
    assert answer.status_code == status, (answer.status_code, answer.text)
    return answer.json()


def verify(server: Server) -> Any:
    result = pot(server.db, "verify", "--json", today=None)
    assert result.code == 0, result.err
    return result.json()


def private(n: int) -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(bytes([n]) * 32)


def register(client: SignedClient, key: Ed25519PrivateKey) -> Any:
    """POST keys as the member's browser does: the public key and its proof, for the signed-in member."""
    text = public_key_text(key)
    proof = key.sign(signing.proof_message(pot=client.slug, actor=client.member, public_key=text))
    return client.post("keys", {"public_key": text, "proof": signing.b64url(proof)})


def seen(client: SignedClient) -> str:
    """The head digest `GET session` gives the client to sign against."""
    return str(ok(client.get("session"))["head"]["digest"])


def signature(
    client: SignedClient, key: Ed25519PrivateKey, kind: str, fields: dict[str, Any], *, saw: str | None = None
) -> dict[str, str]:
    """`{"key_id","seen","sig"}` over SPEC §7's message for this event, as the client would build it."""
    digest = saw if saw is not None else seen(client)
    message = signing.message(pot=client.slug, kind=kind, actor=client.member, seen=digest, fields=fields)
    return {"key_id": key_id(key), "seen": digest, "sig": signing.b64url(key.sign(message))}


def history_item(server: Server, no: int) -> Any:
    result = pot(server.db, "history", "--json", today=None)
    return next(i for i in result.json() if i["no"] == no)


# --------------------------------------------------------------------------- keys
def test_a_member_registers_their_key_and_the_crew_sees_it(server: Server) -> None:
    bo, cy = server.sign_in("Bo"), server.sign_in("Cy")
    assert ok(bo.get("keys")) == []
    key = private(1)
    made = ok(register(bo, key), 201)
    assert made["key_id"] == key_id(key) == signing.key_id_of(key.public_key().public_bytes_raw())
    listed = {"member": "Bo", "key_id": key_id(key), "public_key": public_key_text(key), "added": made["no"]}
    assert ok(cy.get("keys")) == [{**listed, "revoked": None}]
    assert history_item(server, made["no"])["type"] == "member_key_added"

    # The session's head is the newest event, with its full digest, for a client to sign against.
    session = ok(bo.get("session"))
    assert session["head"] == {"no": made["no"], "digest": history_item(server, made["no"])["digest"]}
    assert ok(bo.get(f"events/{made['no']}/digest")) == session["head"]
    assert ok(bo.get("events/1/digest")) == {"no": 1, "digest": history_item(server, 1)["digest"]}

    # A second device: a second key. Then Bo revokes the first; the list says when.
    second = ok(register(bo, private(2)), 201)
    ended = ok(bo.post(f"keys/{key_id(key)}/revocation"), 201)
    assert ended["no"] == second["no"] + 1
    keys = ok(bo.get("keys"))
    assert [(k["key_id"], k["revoked"]) for k in keys] == [(key_id(key), ended["no"]), (key_id(private(2)), None)]


def test_a_key_is_registered_only_by_its_member_with_a_true_proof(sqlite_server: Server) -> None:
    server = sqlite_server
    bo, cy = server.sign_in("Bo"), server.sign_in("Cy")
    key = private(1)
    text = public_key_text(key)
    for_bo = signing.b64url(key.sign(signing.proof_message(pot=server.slug, actor="Bo", public_key=text)))
    with stores_nothing(server):
        # Cy sends Bo's registration: the proof names Bo, Cy is the one signed in, so it is not a proof for Cy.
        refuses(cy.post("keys", {"public_key": text, "proof": for_bo}), 409, "the proof is not key")
        # No body names a member: a key is always the signed-in member's.
        refuses(cy.post("keys", {"public_key": text, "proof": for_bo, "member": "Bo"}), 422, "unknown field 'member'")
        refuses(bo.post("keys", {"public_key": "not a key", "proof": for_bo}), 422, "public key is not base64url")
        refuses(
            bo.post("keys", {"public_key": signing.b64url(bytes(31)), "proof": for_bo}), 422, "public key is 31 bytes"
        )
        refuses(bo.post("keys", {"public_key": text, "proof": for_bo[:40]}), 422, "proof signature is")
        refuses(bo.post("keys", {"public_key": text}), 422, "proof is required")
        refuses(bo.post("keys", {"public_key": 12, "proof": for_bo}), 422, "public_key must be a string")
        refuses(bo.post("keys", {"public_key": text, "proof": for_bo}, csrf=None), 403, "CSRF")
        refuses(server.client().post(f"/p/{server.slug}/api/keys", json={}), 401, "sign in")
    ok(bo.post("keys", {"public_key": text, "proof": for_bo}), 201)
    with stores_nothing(server):
        refuses(register(bo, key), 409, "is registered already")


def test_only_its_member_revokes_a_key(sqlite_server: Server) -> None:
    server = sqlite_server
    bo, ana = server.sign_in("Bo"), server.sign_in("Ana")
    ok(register(bo, private(1)), 201)
    mine = key_id(private(1))
    with stores_nothing(server):
        refuses(ana.post(f"keys/{mine}/revocation"), 403, "only Bo may revoke it")  # not even a treasurer
        refuses(bo.post("keys/0123456789abcdef/revocation"), 404, "there is no key 0123456789abcdef")
        refuses(bo.post("keys/NOT-A-KEY/revocation"), 422, "is not 16 hex digits")
        refuses(bo.post(f"keys/{mine}/revocation", {"why": "lost"}), 422, "unknown field 'why'")
    ok(bo.post(f"keys/{mine}/revocation"), 201)
    with stores_nothing(server):
        refuses(bo.post(f"keys/{mine}/revocation"), 409, "was revoked already")


# --------------------------------------------------------------------------- signed events
def test_every_signable_post_takes_a_signature_and_verify_counts_them(server: Server) -> None:
    bo, ana, cy, dee = (server.sign_in(name) for name in ("Bo", "Ana", "Cy", "Dee"))
    bo_key, ana_key = private(1), private(4)
    ok(register(bo, bo_key), 201)
    ok(register(ana, ana_key), 201)
    before = verify(server)
    signed_events: list[int] = []

    # Without a closing date the proposal closes the pot's 7 voting days after the server's today.
    fields: dict[str, Any] = {
        "amount": "60.00",
        "purpose": "Dee's bike repair",
        "recipient": "Dee",
        "closes": (date.today() + timedelta(days=7)).isoformat(),
    }
    body = {"amount": "60", "purpose": "Dee's bike repair", "recipient": "dee"}
    ok(bo.post("proposals", {**body, "signature": signature(bo, bo_key, "withdrawal_proposed", fields)}), 201)
    signed_events.append(int(ok(bo.get("session"))["head"]["no"]))

    vote = {"proposal_no": 1, "position": "agree", "reason": "Ça ira"}
    answer = ok(
        bo.post(
            "proposals/1/votes",
            {"position": "agree", "reason": "  Ça ira ", "signature": signature(bo, bo_key, "vote_cast", vote)},
        ),
        201,
    )
    signed_events.append(answer["no"])
    for member in (cy, dee):
        ok(member.post("proposals/1/votes", {"position": "agree"}), 201)
    decided = ok(
        ana.post(
            "proposals/1/votes",
            {"position": "agree", "signature": signature(ana, ana_key, "vote_cast", {**vote, "reason": ""})},
        ),
        201,
    )
    assert decided["status"] == "approved"
    signed_events.append(decided["no"])

    paid = ok(
        ana.post("proposals/1/pay", {"signature": signature(ana, ana_key, "withdrawal_paid", {"proposal_no": 1})})
    )
    signed_events.append(paid["no"])

    today = date.today().isoformat()
    gift = {"member": "Cy", "amount": "20.00", "on": today, "note": "cash", "ref": ""}
    made = ok(
        ana.post(
            "contributions",
            {
                "member": "cy",
                "amount": "20",
                "note": "cash",
                "signature": signature(ana, ana_key, "contribution_recorded", gift),
            },
        ),
        201,
    )
    signed_events.append(made["no"])
    undo = {"contribution_no": made["no"], "reason": "paid by bank"}
    undone = ok(
        ana.post(
            f"contributions/{made['no']}/reversal",
            {"reason": "paid by bank", "signature": signature(ana, ana_key, "contribution_reversed", undo)},
        ),
        201,
    )
    signed_events.append(undone["no"])
    feeling = {"event_no": 6, "feeling": "grateful", "note": ""}
    noted = ok(
        bo.post(
            "reflections",
            {"event": 6, "feeling": "Grateful", "signature": signature(bo, bo_key, "reflection_noted", feeling)},
        ),
        201,
    )
    signed_events.append(noted["no"])
    # A member's own pledge (the README adds it to SPEC §7's list): the percent as the pot records it.
    month = date.today().strftime("%Y-%m")
    pledge = {"member": "Bo", "kind": "percent", "percent": "7.5", "monthly": "", "from_month": month}
    pledged = ok(
        bo.post(
            "pledges",
            {
                "member": "bo",
                "percent": "7.50",
                "from": month,
                "signature": signature(bo, bo_key, "pledge_set", pledge),
            },
        ),
        201,
    )
    signed_events.append(pledged["no"])

    after = verify(server)
    assert after["ok"] is True
    assert after["signed"] == before["signed"] + 8
    assert after["bad_signatures"] == []
    for no in signed_events:
        item = history_item(server, no)
        assert item["signature"]["key_id"] in (key_id(bo_key), key_id(ana_key)), item
    assert ok(bo.get("history"))[signed_events[1] - 1]["signature"]["key_id"] == key_id(bo_key)


def test_a_signature_that_does_not_hold_is_refused_and_nothing_is_stored(server: Server) -> None:
    bo, cy = server.sign_in("Bo"), server.sign_in("Cy")
    bo_key = private(1)
    ok(register(bo, bo_key), 201)
    ok(register(cy, private(2)), 201)
    ok(bo.post("proposals", {"amount": "10", "purpose": "tea"}), 201)
    vote = {"proposal_no": 1, "position": "agree", "reason": ""}
    good = signature(bo, bo_key, "vote_cast", vote)
    with stores_nothing(server):
        # Over other fields than the ones sent: signed "agree", sent "abstain".
        refuses(
            bo.post("proposals/1/votes", {"position": "abstain", "signature": good}), 409, "not over this vote_cast"
        )
        # Bo's signature and key sent by Cy: the key is Bo's.
        cy_says = signature(cy, bo_key, "vote_cast", vote)
        refuses(cy.post("proposals/1/votes", {"position": "agree", "signature": cy_says}), 409, "is Bo's")
        # A `seen` that is no event of this pot's chain.
        elsewhere = signature(bo, bo_key, "vote_cast", vote, saw="ab" * 32)
        refuses(bo.post("proposals/1/votes", {"position": "agree", "signature": elsewhere}), 409, "not in pot")
        # A key nobody registered: bad input, as the issue lists it (a signature the pot cannot check).
        stranger = signature(bo, private(9), "vote_cast", vote)
        refuses(bo.post("proposals/1/votes", {"position": "agree", "signature": stranger}), 422, "is not registered")
        # Malformed parts: bad input.
        for broken, says in (
            ({**good, "sig": good["sig"][:-4]}, "signature is"),
            ({**good, "sig": "!" * 86}, "not base64url"),
            ({**good, "key_id": "XYZ"}, "is not 16 hex digits"),
            ({**good, "seen": "abc"}, "is not a full digest"),
        ):
            refuses(bo.post("proposals/1/votes", {"position": "agree", "signature": broken}), 422, says)
        refuses(
            bo.post("proposals/1/votes", {"position": "agree", "signature": {**good, "by": "Bo"}}), 422, "unknown field"
        )
        as_text = {"position": "agree", "signature": json.dumps(good)}
        refuses(bo.post("proposals/1/votes", as_text), 422, "signature must be a JSON object")
        sent_to_pay = {"signature": {"key_id": good["key_id"], "seen": good["seen"]}}
        refuses(bo.post("proposals/1/pay", sent_to_pay), 422, "signature.sig is required")
        # Close and cancel make no signable event: a signature there is a field nobody defined.
        refuses(bo.post("proposals/1/cancel", {"signature": good}), 422, "unknown field 'signature'")
    ok(bo.post("proposals/1/votes", {"position": "agree", "signature": good}), 201)
    assert verify(server)["bad_signatures"] == []


def test_a_pledge_is_signed_only_by_the_member_it_is_about_and_as_recorded(sqlite_server: Server) -> None:
    server = sqlite_server
    bo, ana = server.sign_in("Bo"), server.sign_in("Ana")
    bo_key, ana_key = private(1), private(4)
    ok(register(bo, bo_key), 201)
    ok(register(ana, ana_key), 201)
    month = date.today().strftime("%Y-%m")
    monthly = {"member": "Bo", "kind": "monthly", "percent": "", "monthly": "25.00", "from_month": month}
    body = {"member": "Bo", "monthly": "25", "from": month}
    with stores_nothing(server):
        # Ana may set Bo's pledge, unsigned; her signature cannot stand for Bo's word.
        by_ana = signature(ana, ana_key, "pledge_set", monthly)
        refuses(ana.post("pledges", {**body, "signature": by_ana}), 409, "signed only by the member it is about")
        # Bo signed 25.00 a month; the body says 250.
        bo_says = signature(bo, bo_key, "pledge_set", monthly)
        refuses(bo.post("pledges", {**body, "monthly": "250", "signature": bo_says}), 409, "not over this pledge_set")
        # Signed as a percent pledge, sent as a monthly one.
        as_percent = signature(bo, bo_key, "pledge_set", {**monthly, "kind": "percent", "percent": "25", "monthly": ""})
        refuses(bo.post("pledges", {**body, "signature": as_percent}), 409, "not over this pledge_set")
        refuses(bo.post("pledges", {**body, "signature": {**bo_says, "sig": "*" * 86}}), 422, "not base64url")
    ok(ana.post("pledges", body), 201)
    ok(bo.post("pledges", {**body, "signature": bo_says}), 201)
    checked = verify(server)
    assert (checked["bad_signatures"], checked["signed"]) == ([], 1)
    pledges = [i for i in pot(server.db, "history", "--json", today=None).json() if i["type"] == "pledge_set"]
    assert [(p["actor"], "signature" in p) for p in pledges] == [("Ana", False), ("Bo", True)]


def test_a_signed_votes_pot_refuses_an_unsigned_vote_on_the_web(tmp_path: Path) -> None:
    """SPEC §7: with the rule `signed_votes`, an unsigned vote is 409 and stores nothing; a signed one counts."""
    db = str(tmp_path / "signed.sqlite")
    opened = pot(db, "init", "Maastricht crew", "--currency", "EUR", "--as", "Ana", "--signed-votes", today=None)
    assert opened.code == 0, opened.err
    for name in ("Bo", "Cy"):
        assert pot(db, "--as", "Ana", "member", "add", name, today=None).code == 0
    assert pot(db, "--as", "Cy", "propose", "0.02", "--purpose", "ink", today=None).code == 0
    with running_server(db) as server:
        bo = server.sign_in("Bo")
        with stores_nothing(server):
            refuses(bo.post("proposals/1/votes", {"position": "agree"}), 409, "takes signed votes only")
            page = bo.http.post(
                f"/p/{server.slug}/proposals/1/vote", data={"csrf_token": bo.csrf, "position": "agree", "reason": ""}
            )
            refuses(page, 409, "takes signed votes only")
        key = private(1)
        ok(register(bo, key), 201)
        vote = {"proposal_no": 1, "position": "agree", "reason": ""}
        ok(bo.post("proposals/1/votes", {"position": "agree", "signature": signature(bo, key, "vote_cast", vote)}), 201)
        assert ok(bo.get("proposals/1"))["ballots"][0]["member"] == "Bo"
        assert verify(server)["bad_signatures"] == []


def test_a_revoked_key_signs_nothing_more(sqlite_server: Server) -> None:
    server = sqlite_server
    bo = server.sign_in("Bo")
    key = private(1)
    ok(register(bo, key), 201)
    ok(bo.post("proposals", {"amount": "10", "purpose": "tea"}), 201)
    ok(bo.post(f"keys/{key_id(key)}/revocation"), 201)
    vote = {"proposal_no": 1, "position": "agree", "reason": ""}
    with stores_nothing(server):
        signed = signature(bo, key, "vote_cast", vote)
        refuses(bo.post("proposals/1/votes", {"position": "agree", "signature": signed}), 409, "was revoked")


# --------------------------------------------------------------------------- the HTML forms
def test_the_vote_form_carries_a_signature_from_the_page_and_refuses_a_broken_one(sqlite_server: Server) -> None:
    server = sqlite_server
    bo = server.sign_in("Bo")
    key = private(1)
    ok(register(bo, key), 201)
    ok(bo.post("proposals", {"amount": "10", "purpose": "tea"}), 201)
    page = bo.http.get(f"/p/{server.slug}/proposals/1")
    assert 'data-sign="vote_cast" data-proposal="1"' in page.text
    assert f'data-pot="{server.slug}" data-member="Bo" data-digits="2"' in page.text
    assert '<script src="/static/keys.js" defer></script>' in page.text
    form = {"csrf_token": bo.csrf, "position": "agree", "reason": "yes"}
    with stores_nothing(server):
        answer = bo.http.post(f"/p/{server.slug}/proposals/1/vote", data={**form, "signature": "{not json"})
        refuses(answer, 422, "signature: give a JSON object")
        wrong = signature(bo, key, "vote_cast", {"proposal_no": 1, "position": "block", "reason": "yes"})
        answer = bo.http.post(f"/p/{server.slug}/proposals/1/vote", data={**form, "signature": json.dumps(wrong)})
        refuses(answer, 409, "is not over this vote_cast")
    right = signature(bo, key, "vote_cast", {"proposal_no": 1, "position": "agree", "reason": "yes"})
    answer = bo.http.post(f"/p/{server.slug}/proposals/1/vote", data={**form, "signature": json.dumps(right)})
    assert answer.status_code == 303, answer.text
    # Without JavaScript the same form posts unsigned, as before; a browser sends a textarea's line breaks
    # as CR LF, and the pot keeps what was typed (LF), as the page's script signs it.
    two_lines = {**form, "position": "abstain", "reason": "on second thought\r\nnot yet"}
    answer = bo.http.post(f"/p/{server.slug}/proposals/1/vote", data=two_lines)
    assert answer.status_code == 303, answer.text
    assert ok(bo.get("proposals/1"))["ballots"][-1]["reason"] == "on second thought\nnot yet"
    checked = verify(server)
    assert (checked["signed"], checked["bad_signatures"]) == (1, [])
    # The page shows each ballot as signed, with the key's id, or as unsigned (issue 20); the JSON stays SPEC §4's.
    shown = bo.http.get(f"/p/{server.slug}/proposals/1").text
    assert f"signed with key {key_id(key)}" in shown
    assert "unsigned" in shown
    assert "key_id" not in ok(bo.get("proposals/1"))["ballots"][0]


def test_the_history_page_shows_each_event_signed_with_its_key_or_unsigned(sqlite_server: Server) -> None:
    """As the proposal page shows ballots (issue 20): from the same history items `pot history` describes."""
    server = sqlite_server
    bo = server.sign_in("Bo")
    key = private(1)
    ok(register(bo, key), 201)
    ok(bo.post("proposals", {"amount": "10", "purpose": "tea"}), 201)
    vote = {"proposal_no": 1, "position": "agree", "reason": ""}
    ok(bo.post("proposals/1/votes", {"position": "agree", "signature": signature(bo, key, "vote_cast", vote)}), 201)
    numbers = {i["type"]: i["no"] for i in pot(server.db, "history", "--json", today=None).json()}
    voted, proposed = numbers["vote_cast"], numbers["withdrawal_proposed"]
    page = bo.http.get(f"/p/{server.slug}/history")
    assert page.status_code == 200, page.text
    shown = {
        int(no): (meta, what)
        for no, meta, what in re.findall(
            r'<li class="event">\s*<span class="muted">(\d+) · '
            r'([^<]*(?:<span class="signing">[^<]*</span>)?)</span><br>\s*<span class="what">([^<]*)</span>',
            page.text,
        )
    }
    assert f'<span class="signing">signed with key {key_id(key)}</span>' in shown[voted][0]
    assert shown[voted][1] == "Bo voted agree on proposal 1"  # the key once, beside the sentence
    assert '<span class="signing">unsigned</span>' in shown[proposed][0]
    assert '<span class="signing">unsigned</span>' in shown[numbers["contribution_recorded"]][0]  # by Ana, in `pot`
    # Events no one signs (a member joining, a key's own registration, a decision) say neither.
    for no in (2, 3, numbers["member_key_added"]):
        assert "signing" not in shown[no][0], shown[no]
    # The same words as `pot history`, which names the key in its sentence.
    assert f"(signed with key {key_id(key)})" in pot(server.db, "history", today=None).out


def test_the_keys_page_lists_only_my_keys_and_revokes_one(sqlite_server: Server) -> None:
    server = sqlite_server
    bo, cy = server.sign_in("Bo"), server.sign_in("Cy")
    ok(register(bo, private(1)), 201)
    ok(register(cy, private(2)), 201)
    page = bo.http.get(f"/p/{server.slug}/keys")
    assert page.status_code == 200
    listed = re.findall(r'data-key-id="([0-9a-f]{16})"', page.text)
    assert listed == [key_id(private(1))]
    with stores_nothing(server):
        theirs = bo.http.post(f"/p/{server.slug}/keys/{key_id(private(2))}/revoke", data={"csrf_token": bo.csrf})
        refuses(theirs, 403, "only Cy may revoke it")
        no_token = bo.http.post(f"/p/{server.slug}/keys/{key_id(private(1))}/revoke")
        assert no_token.status_code == 403
    mine = bo.http.post(f"/p/{server.slug}/keys/{key_id(private(1))}/revoke", data={"csrf_token": bo.csrf})
    assert mine.status_code == 303
    assert "revoked at event" in bo.http.get(f"/p/{server.slug}/keys").text


def test_an_event_digest_that_does_not_exist_is_404(sqlite_server: Server) -> None:
    bo = sqlite_server.sign_in("Bo")
    events = int(ok(bo.get("session"))["head"]["no"])
    refuses(bo.get(f"events/{events + 1}/digest"), 404, f"there is no event {events + 1}")
    refuses(bo.get("events/0/digest"), 404, "there is no event 0")
    refuses(bo.get("events/one/digest"), 404, "there is no event 'one'")
    refuses(bo.get("events/1/digest", params={"full": "yes"}), 422, "unknown query parameter")
    refuses(sqlite_server.client().get(f"/p/{sqlite_server.slug}/api/events/1/digest"), 401, "sign in")
