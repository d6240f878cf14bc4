"""The JSON API (SPEC §6's table) from a plain HTTP client against a real `pot serve`, on SQLite and PostgreSQL.

Every GET answers exactly what the CLI's `--json` prints for the same store;
every POST answers the table's status and fields; every refusal answers SPEC §6's
status with the CLI's message, and the store's head digest is unchanged after it
(the log only grows, so an unchanged head after a run of refusals proves that none
of them stored anything).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest

from tests.conftest import head, pot
from tests.web.conftest import Server, SignedClient


@contextmanager
def stores_nothing(server: Server) -> Iterator[None]:
    before = head(server.db)
    yield
    assert head(server.db) == before, "a refused request changed the store"


def refuses(answer: httpx.Response, status: int, says: str) -> None:
    assert answer.status_code == status, (answer.status_code, answer.text)
    assert answer.headers["content-type"].startswith("application/json")
    error = answer.json()["error"]
    assert says.lower() in error.lower(), error
    assert "Traceback" not in answer.text


def cli(server: Server, *args: str) -> Any:
    """What `pot … --json` prints for the same store, dated the server's today."""
    result = pot(server.db, *args, "--json", today=None)
    assert result.code == 0, result.err
    return result.json()


def ok(answer: httpx.Response, status: int = 200) -> Any:
    assert answer.status_code == status, (answer.status_code, answer.text)
    return answer.json()


def last_event(server: Server) -> int:
    return int(cli(server, "verify")["events"])


def cli_ok(server: Server, *args: str, today: str | None = None) -> str:
    result = pot(server.db, *args, today=today)
    assert result.code == 0, result.err
    return result.out


# --------------------------------------------------------------------------- GETs: the CLI's --json
def test_every_read_answers_exactly_what_the_cli_prints_as_json(server: Server) -> None:
    # Something in every view: a proposal with a vote, a pledge, a reflection, a game.
    cli_ok(server, "--as", "Bo", "propose", "30", "--purpose", "a tent", "--to", "Cy", today="2026-01-02")
    cli_ok(server, "--as", "Cy", "vote", "1", "agree", "--reason", "we need it", today="2026-01-02")
    cli_ok(server, "--as", "Bo", "pledge", "Bo", "--percent", "10", "--from", "2026-01", today="2026-01-02")
    cli_ok(server, "--as", "Dee", "reflect", "5", "--feeling", "grateful", today="2026-01-03")
    bo = server.sign_in("Bo")

    assert ok(bo.get("balance")) == cli(server, "balance")
    assert ok(bo.get("balance", params={"as_of": "2026-01-01"})) == cli(server, "balance", "--as-of", "2026-01-01")
    assert ok(bo.get("trust")) == cli(server, "trust")
    assert ok(bo.get("trust", params={"as_of": "2026-02-01"})) == cli(server, "trust", "--as-of", "2026-02-01")
    assert ok(bo.get("pledges")) == cli(server, "pledges")
    assert ok(bo.get("pledges", params={"as_of": "2026-01-31"})) == cli(server, "pledges", "--as-of", "2026-01-31")
    assert ok(bo.get("members")) == cli(server, "members")
    assert ok(bo.get("proposals")) == cli(server, "proposals")
    assert ok(bo.get("proposals", params={"status": "open"})) == cli(server, "proposals", "--status", "open")
    assert ok(bo.get("proposals", params={"status": "paid"})) == [] == cli(server, "proposals", "--status", "paid")
    assert ok(bo.get("proposals/1")) == cli(server, "proposal", "1")
    assert ok(bo.get("verify")) == cli(server, "verify")
    assert ok(bo.get("history")) == cli(server, "history")
    filtered = {"member": "bo", "type": ["pledge_set", "withdrawal_proposed"], "since": "2026-01-02"}
    by_web = ok(bo.get("history", params=filtered))
    assert [i["type"] for i in by_web] == ["withdrawal_proposed", "pledge_set"]
    by_cli = cli(
        server,
        "history",
        "--member",
        "bo",
        "--type",
        "pledge_set",
        "--type",
        "withdrawal_proposed",
        "--since",
        "2026-01-02",
    )
    assert by_web == by_cli
    assert ok(bo.get("history", params={"until": "2026-01-01"})) == cli(server, "history", "--until", "2026-01-01")
    # --as-of is the same as --until, and the earlier of the two wins.
    both = {"until": "2026-01-02", "as_of": "2026-01-01"}
    assert ok(bo.get("history", params=both)) == cli(
        server, "history", "--until", "2026-01-02", "--as-of", "2026-01-01"
    )
    # The head a browser signs against: the newest event's number and its full digest.
    newest = cli(server, "history")[-1]
    head_now = {"no": newest["no"], "digest": newest["digest"]}
    assert newest["digest"].startswith(cli(server, "verify")["head"])
    assert ok(bo.get("session")) == {"member": "Bo", "role": "member", "csrf_token": bo.csrf, "head": head_now}


def test_reads_refuse_bad_queries_with_the_cli_message(sqlite_server: Server) -> None:
    bo = sqlite_server.sign_in("Bo")
    refuses(bo.get("proposals/99"), 404, "there is no proposal 99")
    refuses(bo.get("proposals/0"), 404, "there is no proposal 0")
    refuses(bo.get("proposals/2147483648"), 404, "there is no proposal 2147483648")
    refuses(bo.get("proposals/99999999999999999999999"), 404, "there is no proposal")
    refuses(bo.get("proposals/one"), 404, "there is no proposal 'one'")
    refuses(bo.get("history", params={"type": "money_spent"}), 422, "unknown event type 'money_spent'")
    refuses(bo.get("history", params={"member": "Zed"}), 404, "'Zed' is not a member")
    refuses(bo.get("history", params={"since": "2026-13-01"}), 422, "is not a real date")
    refuses(bo.get("history", params={"until": "soon"}), 422, "use YYYY-MM-DD")
    refuses(bo.get("history", params={"asof": "2026-01-01"}), 422, "unknown query parameter 'asof'")
    refuses(bo.get("balance", params={"as_of": "2026-01-01", "member": "Bo"}), 422, "unknown query parameter")
    refuses(bo.get("history?since=2026-01-01&since=2026-01-02"), 422, "more than once")
    refuses(bo.get("trust", params={"as_of": "2999-01-01"}), 422, "after today")
    refuses(bo.get("pledges", params={"as_of": "2999-01-01"}), 422, "after today")
    refuses(bo.get("verify", params={"digest": "not-hex"}), 422, "is not a digest")
    refuses(bo.get("proposals", params={"status": "lost"}), 422, "status 'lost' is not one of open, approved")
    refuses(sqlite_server.client().get(f"/p/{sqlite_server.slug}/api/balance"), 401, "sign in")
    refuses(bo.http.get("/p/no-such-pot/api/balance"), 404, "there is no pot 'no-such-pot'")


def test_verify_with_a_digest_written_down_earlier(sqlite_server: Server) -> None:
    server = sqlite_server
    digest = head(server.db)
    cli_ok(server, "--as", "Ana", "contribute", "Cy", "5")
    cy = server.sign_in("Cy")
    answer = ok(cy.get("verify", params={"digest": digest}))
    assert answer == cli(server, "verify", "--digest", digest)
    assert answer["ok"] is True


# --------------------------------------------------------------------------- deciding together
def test_propose_vote_to_approval_and_pay(server: Server) -> None:
    bo, cy, dee, ana = (server.sign_in(name) for name in ("Bo", "Cy", "Dee", "Ana"))
    made = ok(bo.post("proposals", {"amount": "40.5", "purpose": "Dee's laptop repair", "recipient": "dee"}), 201)
    assert made == {"no": 1}
    shown = ok(bo.get("proposals/1"))
    assert (shown["amount"], shown["recipient"], shown["proposer"], shown["status"]) == ("40.50", "Dee", "Bo", "open")

    first = ok(bo.post("proposals/1/votes", {"position": "agree", "reason": "it is broken"}), 201)
    assert first == {"no": last_event(server), "status": "open"}
    changed = ok(bo.post("proposals/1/votes", {"position": "abstain"}), 201)  # a vote may change while open
    assert changed == {"no": first["no"] + 1, "status": "open"}
    with stores_nothing(server):  # the same vote again (issue 18): 200, nothing stored
        again = ok(bo.post("proposals/1/votes", {"position": "abstain"}), 200)
    assert again == {"no": None, "status": "open", "stored": False}
    assert ok(cy.post("proposals/1/votes", {"position": "agree"}), 201)["status"] == "open"
    assert ok(dee.post("proposals/1/votes", {"position": "agree", "reason": None}), 201)["status"] == "open"
    last = ok(ana.post("proposals/1/votes", {"position": "agree"}), 201)
    # The last vote decides: the vote is its own event, the decision the next.
    assert last["status"] == "approved"
    assert last["no"] == last_event(server) - 1
    ballots = ok(bo.get("proposals/1"))["ballots"]
    assert [(b["member"], b["position"], b["reason"]) for b in ballots] == [
        ("Bo", "agree", "it is broken"),
        ("Bo", "abstain", ""),
        ("Cy", "agree", ""),
        ("Dee", "agree", ""),
        ("Ana", "agree", ""),
    ]

    with stores_nothing(server):
        refuses(bo.post("proposals/1/pay"), 403, "only a treasurer may pay")
        refuses(bo.post("proposals/1/votes", {"position": "agree"}), 409, "proposal 1 is approved")
        refuses(ana.post("proposals/1/pay", {"amount": "1"}), 422, "unknown field 'amount'")
        refuses(ana.post("proposals/99/pay"), 404, "there is no proposal 99")

    paid = ok(ana.post("proposals/1/pay"), 200)
    assert paid == {"no": last_event(server), "status": "paid"}
    assert ok(ana.get("proposals/1"))["status"] == "paid"
    assert ok(ana.get("balance"))["balance"] == "59.50"
    with stores_nothing(server):
        refuses(ana.post("proposals/1/pay"), 409, "already paid")


def test_paying_more_than_the_pot_holds_is_refused(sqlite_server: Server) -> None:
    server = sqlite_server
    cli_ok(server, "--as", "Bo", "propose", "500", "--purpose", "a boat", today="2026-01-02")
    for name in ("Ana", "Bo", "Cy", "Dee"):
        cli_ok(server, "--as", name, "vote", "1", "agree", today="2026-01-02")
    ana = server.sign_in("Ana")
    with stores_nothing(server):
        refuses(
            ana.post("proposals/1/pay", {}), 409, "insufficient funds: proposal 1 asks 500.00 but the pot holds 100.00"
        )
    assert ok(ana.get("proposals/1"))["status"] == "approved"


def test_close_decides_a_proposal_after_its_closing_date(server: Server) -> None:
    # Made in January through the CLI: its voting closed on the 9th; the web's today is later.
    cli_ok(server, "--as", "Bo", "propose", "10", "--purpose", "stamps", today="2026-01-02")
    cli_ok(server, "--as", "Cy", "vote", "1", "agree", today="2026-01-02")
    cli_ok(server, "--as", "Dee", "vote", "1", "agree", today="2026-01-03")
    cy = server.sign_in("Cy")
    with stores_nothing(server):
        refuses(cy.post("proposals/2/close"), 404, "there is no proposal 2")
        refuses(cy.post("proposals/1/close", {"now": True}), 422, "unknown field 'now'")
        refuses(cy.post("proposals/1/close", ["x"]), 422, "must be a JSON object")
    closed = ok(cy.post("proposals/1/close"), 200)
    assert closed == {"no": last_event(server), "status": ok(cy.get("proposals/1"))["status"]}
    assert closed["status"] == "approved"
    with stores_nothing(server):
        refuses(cy.post("proposals/1/close"), 409, "proposal 1 is approved")
        # An approved proposal may still be cancelled, by its proposer only (SPEC §1).
        refuses(cy.post("proposals/1/cancel"), 403, "only Bo, who proposed it, may cancel proposal 1")


def test_close_too_early_is_refused(sqlite_server: Server) -> None:
    bo = sqlite_server.sign_in("Bo")
    ok(bo.post("proposals", {"amount": "1", "purpose": "glue"}), 201)
    with stores_nothing(sqlite_server):
        refuses(bo.post("proposals/1/close"), 409, "open for votes until")


def test_cancel_is_the_proposers_own(server: Server) -> None:
    bo, cy = server.sign_in("Bo"), server.sign_in("Cy")
    assert ok(bo.post("proposals", {"amount": "12", "purpose": "paint"}), 201) == {"no": 1}
    with stores_nothing(server):
        refuses(cy.post("proposals/1/cancel"), 403, "only Bo, who proposed it, may cancel proposal 1")
        refuses(bo.post("proposals/7/cancel"), 404, "there is no proposal 7")
    cancelled = ok(bo.post("proposals/1/cancel", None), 200)
    assert cancelled == {"no": last_event(server), "status": "cancelled"}
    with stores_nothing(server):
        refuses(bo.post("proposals/1/cancel"), 409, "cancelled")
        refuses(cy.post("proposals/1/votes", {"position": "agree"}), 409, "proposal 1 is cancelled")


def test_proposals_and_votes_refuse_bad_input(server: Server) -> None:
    bo = server.sign_in("Bo")
    with stores_nothing(server):
        refuses(bo.post("proposals", {"amount": 10, "purpose": "x"}), 422, "amount must be a string")
        refuses(bo.post("proposals", {"amount": "10,50", "purpose": "x"}), 422, "uses a comma")
        refuses(bo.post("proposals", {"amount": "-3", "purpose": "x"}), 422, "amount")
        refuses(bo.post("proposals", {"amount": "0", "purpose": "x"}), 422, "above zero")
        refuses(bo.post("proposals", {"amount": "1.001", "purpose": "x"}), 422, "amount")
        refuses(bo.post("proposals", {"amount": "", "purpose": "x"}), 422, "give an amount")
        refuses(bo.post("proposals", {"purpose": "x"}), 422, "amount is required")
        refuses(bo.post("proposals", {"amount": "5", "purpose": "  "}), 422, "purpose is required")
        refuses(bo.post("proposals", {"amount": "5", "purpose": "x", "closes": "2020-01-01"}), 422, "in the past")
        refuses(bo.post("proposals", {"amount": "5", "purpose": "x", "closes": "soon"}), 422, "YYYY-MM-DD")
        refuses(bo.post("proposals", {"amount": "5", "purpose": "x", "proposer": "Ana"}), 422, "unknown field")
    ok(bo.post("proposals", {"amount": "5", "purpose": "x"}), 201)
    with stores_nothing(server):
        refuses(bo.post("proposals/1/votes", {"position": "maybe"}), 422, "vote 'maybe' is not one of")
        refuses(bo.post("proposals/1/votes", {}), 422, "position is required")
        refuses(bo.post("proposals/1/votes", {"position": "agree", "reason": 5}), 422, "reason must be a string")
        refuses(bo.post("proposals/1/votes", {"position": "agree", "member": "Ana"}), 422, "unknown field 'member'")
        refuses(bo.post("proposals/99/votes", {"position": "agree"}), 404, "there is no proposal 99")
        refuses(bo.post("proposals/2147483648/votes", {"position": "agree"}), 404, "there is no proposal")
        refuses(bo.post("proposals/-1/votes", {"position": "agree"}), 404, "there is no proposal")
        refuses(bo.post("proposals/1.0/votes", {"position": "agree"}), 404, "there is no proposal")


# --------------------------------------------------------------------------- money in
def test_a_treasurer_records_and_reverses_contributions(server: Server) -> None:
    ana, bo = server.sign_in("Ana"), server.sign_in("Bo")
    body = {"member": "cy", "amount": "25.5", "note": "January", "ref": "bank-1", "income": "300", "on": "2026-01-05"}
    made = ok(ana.post("contributions", body), 201)
    assert made == {"no": last_event(server)}
    item = ok(ana.get("history", params={"type": "contribution_recorded"}))[-1]
    assert (item["no"], item["member"], item["amount"], item["on"], item["ref"]) == (
        made["no"],
        "Cy",
        "25.50",
        "2026-01-05",
        "bank-1",
    )
    plain = ok(ana.post("contributions", {"member": "Dee", "amount": "7"}), 201)
    assert ok(ana.get("history"))[-1]["on"] == ok(ana.get("balance"))["as_of"]  # dated the server's today

    with stores_nothing(server):
        refuses(bo.post("contributions", {"member": "Bo", "amount": "5"}), 403, "only a treasurer may record")
        refuses(ana.post("contributions", {**body, "on": None}), 409, "ref 'bank-1' is recorded already")
        refuses(ana.post("contributions", {"member": "Zed", "amount": "5"}), 404, "'Zed' is not a member")
        refuses(ana.post("contributions", {"member": "Bo", "amount": "abc"}), 422, "amount")
        refuses(ana.post("contributions", {"member": "Bo", "amount": 5}), 422, "amount must be a string")
        refuses(ana.post("contributions", {"member": "Bo", "amount": "5", "on": "2999-01-01"}), 422, "in the future")
        refuses(ana.post("contributions", {"member": "Bo", "amount": "5", "on": "2026-02-30"}), 422, "not a real date")
        refuses(ana.post("contributions", {"member": "Bo", "amount": "5", "income": "2"}), 422, "income must be")
        refuses(ana.post("contributions", {"member": "Bo", "amount": "5", "income": "x"}), 422, "income")
        refuses(ana.post("contributions", {"member": "Bo", "amount": "5", "actor": "Bo"}), 422, "unknown field")
        refuses(ana.post("contributions", {"amount": "5"}), 422, "member is required")

    reversed_ = ok(ana.post(f"contributions/{plain['no']}/reversal", {"reason": "recorded twice"}), 201)
    assert reversed_ == {"no": last_event(server)}
    assert ok(ana.get("history"))[-1]["type"] == "contribution_reversed"
    with stores_nothing(server):
        refuses(ana.post(f"contributions/{plain['no']}/reversal", {"reason": "again"}), 409, "already reversed")
        refuses(bo.post(f"contributions/{made['no']}/reversal", {"reason": "no"}), 403, "only a treasurer")
        refuses(ana.post("contributions/2/reversal", {"reason": "no"}), 409, "event 2 is not a contribution")
        refuses(ana.post("contributions/999/reversal", {"reason": "no"}), 404, "event 999 is not a contribution")
        refuses(ana.post("contributions/0/reversal", {"reason": "no"}), 404, "there is no event 0")
        refuses(ana.post("contributions/99999999999/reversal", {"reason": "no"}), 404, "there is no event")
        refuses(ana.post(f"contributions/{made['no']}/reversal", {}), 422, "reason is required")
        refuses(ana.post(f"contributions/{made['no']}/reversal", {"reason": " "}), 422, "reason is required")


def test_pledges_are_set_by_the_member_or_a_treasurer(server: Server) -> None:
    ana, bo = server.sign_in("Ana"), server.sign_in("Bo")
    mine = ok(bo.post("pledges", {"member": "Bo", "percent": "7.5", "from": "2026-01"}), 201)
    assert mine == {"no": last_event(server)}
    theirs = ok(ana.post("pledges", {"member": "Cy", "monthly": "20"}), 201)
    assert theirs == {"no": last_event(server)}
    report = {m["name"]: m["pledge"] for m in ok(bo.get("pledges"))["members"]}
    assert report["Bo"]["kind"] == "percent"
    assert report["Cy"]["kind"] == "monthly"
    with stores_nothing(server):
        refuses(bo.post("pledges", {"member": "Cy", "percent": "5"}), 403, "may set only their own pledge")
        refuses(bo.post("pledges", {"member": "Bo"}), 422, "exactly one of percent and monthly")
        refuses(bo.post("pledges", {"member": "Bo", "percent": "5", "monthly": "5"}), 422, "exactly one of")
        refuses(bo.post("pledges", {"member": "Bo", "percent": 5}), 422, "percent must be a string")
        refuses(bo.post("pledges", {"member": "Bo", "percent": "ten"}), 422, "not a plain decimal")
        refuses(
            bo.post("pledges", {"member": "Bo", "percent": "5", "from": "2999-01"}), 422, "more than 12 months ahead"
        )
        refuses(bo.post("pledges", {"member": "Bo", "percent": "5", "from_month": "2026-01"}), 422, "unknown field")


# --------------------------------------------------------------------------- reflections, the crew
def test_a_member_reflects_on_an_event(server: Server) -> None:
    bo = server.sign_in("Bo")
    made = ok(bo.post("reflections", {"event": 5, "feeling": "Relieved", "note": "it came in"}), 201)
    assert made == {"no": last_event(server)}
    item = ok(bo.get("history"))[-1]
    assert (item["type"], item["event_no"], item["feeling"], item["member"]) == (
        "reflection_noted",
        5,
        "relieved",
        "Bo",
    )
    with stores_nothing(server):
        refuses(bo.post("reflections", {"event": made["no"], "feeling": "odd"}), 409, "is itself a reflection")
        refuses(bo.post("reflections", {"event": 999, "feeling": "odd"}), 404, "there is no event 999")
        refuses(bo.post("reflections", {"event": 0, "feeling": "odd"}), 422, "event must be a number from 1")
        refuses(bo.post("reflections", {"event": 2**31, "feeling": "odd"}), 422, "event must be a number from 1")
        refuses(bo.post("reflections", {"event": 10**30, "feeling": "odd"}), 422, "event must be")
        refuses(bo.post("reflections", {"event": "5", "feeling": "odd"}), 422, "event must be a whole number")
        refuses(bo.post("reflections", {"event": 5.0, "feeling": "odd"}), 422, "event must be a whole number")
        refuses(bo.post("reflections", {"event": 5, "feeling": "two words"}), 422, "must be one word")
        refuses(bo.post("reflections", {"event": 5, "feeling": "ok", "member": "Cy"}), 422, "unknown field 'member'")


def test_a_treasurer_adds_members_and_invites_them(server: Server) -> None:
    ana, bo = server.sign_in("Ana"), server.sign_in("Bo")
    added = ok(ana.post("members", {"name": "Eve"}), 201)
    assert added == {"no": last_event(server)}
    also = ok(ana.post("members", {"name": "Fay", "treasurer": True}), 201)
    assert also == {"no": last_event(server)}
    roles = {m["name"]: m["role"] for m in ok(ana.get("members"))}
    assert (roles["Eve"], roles["Fay"]) == ("member", "treasurer")

    invited = ok(ana.post("members/eve/invite", {"days": 3}), 201)
    assert set(invited) == {"url", "expires"}
    assert invited["url"].startswith(f"{server.url}/p/{server.slug}/invite/")
    assert invited["expires"].endswith("+00:00")
    assert server.client().get(invited["url"]).status_code == 200  # the link works
    default = ok(ana.post("members/Fay/invite"), 201)
    assert default["expires"] > invited["expires"]  # 7 days by default

    with stores_nothing(server):
        refuses(ana.post("members", {"name": "eve"}), 409, "already a member")
        refuses(bo.post("members", {"name": "Gus"}), 403, "only a treasurer may add members")
        refuses(ana.post("members", {"name": "Gus", "treasurer": "yes"}), 422, "treasurer must be true or false")
        refuses(ana.post("members", {"name": ""}), 422, "empty")
        refuses(ana.post("members", {"name": "Gus", "actor": "Ana"}), 422, "unknown field")
        refuses(bo.post("members/Cy/invite"), 403, "only a treasurer may invite")
        refuses(ana.post("members/Zed/invite"), 404, "'Zed' is not a member")
        refuses(ana.post("members/Cy/invite", {"days": 0}), 422, "from 1 to 90 days")
        refuses(ana.post("members/Cy/invite", {"days": 91}), 422, "from 1 to 90 days")
        refuses(ana.post("members/Cy/invite", {"days": "7"}), 422, "days must be a whole number")


def test_without_a_session_every_route_answers_401_and_stores_nothing(sqlite_server: Server) -> None:
    server = sqlite_server
    stranger = SignedClient(server.client(), server.slug, "nobody", "no-token")
    with stores_nothing(server):
        for path in ("balance", "trust", "pledges", "members", "proposals", "proposals/1", "verify", "history"):
            refuses(stranger.get(path), 401, "sign in")
        for path, body in [
            ("proposals", {"amount": "1", "purpose": "x"}),
            ("proposals/1/votes", {"position": "agree"}),
            ("proposals/1/close", {}),
            ("proposals/1/cancel", {}),
            ("proposals/1/pay", {}),
            ("contributions", {"member": "Bo", "amount": "1"}),
            ("contributions/5/reversal", {"reason": "x"}),
            ("reflections", {"event": 5, "feeling": "ok"}),
            ("pledges", {"member": "Bo", "percent": "1"}),
            ("members", {"name": "Eve"}),
            ("members/Bo/invite", {}),
        ]:
            refuses(stranger.post(path, body), 401, "sign in")


@pytest.mark.parametrize("path", ["proposals", "contributions", "reflections", "pledges", "members"])
def test_a_body_that_is_not_a_json_object_is_422(sqlite_server: Server, path: str) -> None:
    ana = sqlite_server.sign_in("Ana")
    url = ana.api(path)
    headers = {"X-CSRF-Token": ana.csrf}
    with stores_nothing(sqlite_server):
        garbage = ana.http.post(url, content=b"{not json", headers={**headers, "content-type": "application/json"})
        refuses(garbage, 422, "not valid JSON")
        refuses(ana.post(path, [1, 2]), 422, "must be a JSON object")
        refuses(ana.post(path, "text"), 422, "must be a JSON object")
        form = ana.http.post(url, data={"amount": "1"}, headers=headers)
        refuses(form, 422, "JSON object")
        plain = ana.http.post(url, content=b'{"name": "Eve"}', headers={**headers, "content-type": "text/plain"})
        refuses(plain, 422, "application/json")
