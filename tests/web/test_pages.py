"""The crew's pages over real HTTP: every page for a signed-in member, sign-in redirects, CSRF, roles, escaping.

Each change is a plain form POST (no JavaScript): success answers 303 back to a
page; a refusal renders the page again with SPEC §6's status and stores nothing,
which the tests prove by comparing the head digest before and after.
"""

from __future__ import annotations

import re

import httpx
import pytest

from tests.conftest import head
from tests.web.conftest import Server, SignedClient

PAGES = [
    "",
    "proposals",
    "proposals/1",
    "propose",
    "history",
    "history?member=Bo&type=contribution_recorded",
    "replay",
    "replay?event=2",
    "trust",
    "pledges",
    "triggers",
    "members",
    "contributions",
    "verify",
]


def page(client: SignedClient, path: str) -> str:
    return f"/p/{client.slug}/{path}"


def csrf_of(html: str) -> str:
    found = re.search(r'<meta name="csrf-token" content="([^"]+)"', html)
    assert found, html
    return found.group(1)


def post_form(client: SignedClient, path: str, data: dict[str, str], *, csrf: bool = True) -> httpx.Response:
    body = {**data, "csrf_token": client.csrf} if csrf else data
    return client.http.post(page(client, path), data=body)


def propose(client: SignedClient, amount: str = "40", purpose: str = "a new kettle") -> int:
    answer = post_form(client, "proposals", {"amount": amount, "purpose": purpose})
    assert answer.status_code == 303, answer.text
    found = re.search(r"/proposals/(\d+)$", answer.headers["location"])
    assert found, answer.headers["location"]
    return int(found.group(1))


def test_every_page_answers_200_to_a_signed_in_member_with_the_csp(server: Server) -> None:
    bo = server.sign_in("Bo")
    propose(bo)
    for path in PAGES:
        answer = bo.http.get(page(bo, path))
        assert answer.status_code == 200, (path, answer.text)
        assert "script-src 'self'" in answer.headers["content-security-policy"], path
        assert csrf_of(answer.text) == bo.csrf, path
        assert 'href="/p/maastricht-crew/history"' in answer.text, path  # the nav is on every page


def test_the_overview_shows_the_figures_what_waits_for_my_vote_and_the_head_digest(sqlite_server: Server) -> None:
    server = sqlite_server
    bo, cy = server.sign_in("Bo"), server.sign_in("Cy")
    no = propose(bo, "30", "a tent")
    html = cy.http.get(page(cy, "")).text
    assert "100.00" in html  # Bo's contribution is the balance
    assert f"/proposals/{no}" in html
    assert "a tent" in html
    assert head(server.db) in html
    assert post_form(cy, f"proposals/{no}/vote", {"position": "agree"}).status_code == 303
    assert f"/proposals/{no}" not in cy.http.get(page(cy, "")).text


def test_a_page_without_a_session_redirects_to_sign_in(sqlite_server: Server) -> None:
    client = sqlite_server.client()
    for path in ("", "proposals", "history", "report", "proposals/1/tally"):
        answer = client.get(f"/p/{sqlite_server.slug}/{path}")
        assert answer.status_code == 303, path
        assert answer.headers["location"] == f"/p/{sqlite_server.slug}/login"


def test_a_vote_shows_on_the_proposal_with_its_reason_and_who_has_not_voted(sqlite_server: Server) -> None:
    server = sqlite_server
    bo, cy = server.sign_in("Bo"), server.sign_in("Cy")
    no = propose(bo)
    answer = post_form(cy, f"proposals/{no}/vote", {"position": "disagree", "reason": "too dear"})
    assert answer.status_code == 303
    assert answer.headers["location"] == f"/p/{server.slug}/proposals/{no}"
    html = bo.http.get(page(bo, f"proposals/{no}")).text
    assert "too dear" in html
    assert "disagree" in html
    not_voted = re.search(r"Not voted yet: ([^.<]*)", html)
    assert not_voted
    assert not_voted.group(1) == "Ana, Bo, Dee"
    tally = bo.http.get(page(bo, f"proposals/{no}/tally"))
    assert tally.status_code == 200
    assert 'hx-trigger="every 2s"' in tally.text
    assert "too dear" in tally.text
    assert "<html" not in tally.text  # a fragment for htmx to swap in, not a page
    # A poll that has seen this tally already gets 204 (htmx swaps nothing) until a vote changes it.
    seen = re.search(r"hx-vals='\{\"seen\": \"([0-9a-f]+)\"\}'", tally.text)
    assert seen
    assert bo.http.get(page(bo, f"proposals/{no}/tally"), params={"seen": seen.group(1)}).status_code == 204
    assert post_form(bo, f"proposals/{no}/vote", {"position": "agree"}).status_code == 303
    changed = bo.http.get(page(bo, f"proposals/{no}/tally"), params={"seen": seen.group(1)})
    assert changed.status_code == 200
    assert "Bo</strong>" in changed.text
    # Dee leaves: the proposal no longer waits for her vote.
    ana = server.sign_in("Ana")
    assert post_form(ana, "members/Dee/remove", {}).status_code == 303
    left = re.search(r"Not voted yet: ([^.<]*)", bo.http.get(page(bo, f"proposals/{no}")).text)
    assert left
    assert left.group(1) == "Ana"


def test_forms_without_the_csrf_token_are_refused_and_store_nothing(sqlite_server: Server) -> None:
    server = sqlite_server
    ana, bo = server.sign_in("Ana"), server.sign_in("Bo")
    no = propose(bo)
    before = head(server.db)
    attempts = [
        (bo, "proposals", {"amount": "5", "purpose": "x"}),
        (bo, f"proposals/{no}/vote", {"position": "agree"}),
        (bo, f"proposals/{no}/cancel", {}),
        (bo, "replay/1/reflect", {"feeling": "calm"}),
        (bo, "pledges", {"member": "Bo", "percent": "5"}),
        (ana, "contributions", {"member": "Cy", "amount": "10"}),
        (ana, "contributions/6/reversal", {"reason": "typo"}),
        (ana, "members", {"name": "Eve"}),
    ]
    for client, path, data in attempts:
        answer = post_form(client, path, data, csrf=False)
        assert answer.status_code == 403, path
        wrong = post_form(client, path, {**data, "csrf_token": "not-the-token"}, csrf=False)
        assert wrong.status_code == 403, path
    assert head(server.db) == before


def test_a_treasurer_only_form_as_a_member_is_refused_with_403_and_stores_nothing(sqlite_server: Server) -> None:
    server = sqlite_server
    bo = server.sign_in("Bo")
    before = head(server.db)
    for path, data in [
        ("contributions", {"member": "Bo", "amount": "10"}),
        ("contributions/6/reversal", {"reason": "not mine to undo"}),
        ("members", {"name": "Eve"}),
        ("members/Cy/remove", {}),
        ("members/Cy/role", {"role": "treasurer"}),
        ("members/Cy/invite", {"days": "7"}),
    ]:
        answer = post_form(bo, path, data)
        assert answer.status_code == 403, (path, answer.text)
        assert 'role="alert"' in answer.text, path  # the page again, saying why
    assert head(server.db) == before
    # The treasurer-only controls are not offered to a member at all.
    assert 'action="/p/maastricht-crew/contributions"' not in bo.http.get(page(bo, "contributions")).text
    assert "/remove" not in bo.http.get(page(bo, "members")).text


def test_a_refused_change_renders_the_page_again_with_the_rule_and_its_status(sqlite_server: Server) -> None:
    server = sqlite_server
    ana, bo = server.sign_in("Ana"), server.sign_in("Bo")
    no = propose(bo, "500", "more than the pot holds")
    before = head(server.db)
    cases = [
        (bo, "proposals", {"amount": "abc", "purpose": "a kettle"}, 422),
        (ana, f"proposals/{no}/pay", {}, 409),  # open, not approved
        (ana, f"proposals/{no}/cancel", {}, 403),  # only Bo, who proposed it
        (bo, f"proposals/{no}/vote", {"position": "maybe"}, 422),
        (bo, "proposals/99/vote", {"position": "agree"}, 404),
        (bo, "proposals/99999999999999999999/vote", {"position": "agree"}, 422),
        (bo, "replay/2/reflect", {"feeling": "two words"}, 422),
        (bo, "pledges", {"member": "Bo", "percent": "5", "monthly": "10"}, 422),
    ]
    for client, path, data, status in cases:
        answer = post_form(client, path, data)
        assert answer.status_code == status, (path, answer.text)
        assert 'class="error" role="alert"' in answer.text, path
    assert head(server.db) == before
    # The form keeps what was typed, so the member can correct it.
    again = post_form(bo, "proposals", {"amount": "abc", "purpose": "a kettle"})
    assert 'value="abc"' in again.text
    assert "a kettle</textarea>" in again.text


def test_a_proposal_goes_from_vote_to_payment_through_the_forms(sqlite_server: Server) -> None:
    server = sqlite_server
    crew = {name: server.sign_in(name) for name in ("Ana", "Bo", "Cy", "Dee")}
    no = propose(crew["Bo"], "60", "bike repair")
    for name in ("Ana", "Bo", "Cy", "Dee"):
        assert post_form(crew[name], f"proposals/{no}/vote", {"position": "agree"}).status_code == 303
    html = crew["Ana"].http.get(page(crew["Ana"], f"proposals/{no}")).text
    assert "status-approved" in html
    assert f"/proposals/{no}/pay" in html
    assert f"/proposals/{no}/pay" not in crew["Bo"].http.get(page(crew["Bo"], f"proposals/{no}")).text
    assert post_form(crew["Ana"], f"proposals/{no}/pay", {}).status_code == 303
    assert "40.00" in crew["Bo"].http.get(page(crew["Bo"], "")).text  # 100.00 less 60.00


def test_a_treasurer_records_and_reverses_a_contribution_and_invites_a_member(sqlite_server: Server) -> None:
    server = sqlite_server
    ana = server.sign_in("Ana")
    made = post_form(ana, "contributions", {"member": "Cy", "amount": "25", "note": "March"})
    assert made.status_code == 303
    html = ana.http.get(page(ana, "contributions")).text
    assert "25.00" in html
    assert "March" in html
    undone = post_form(ana, "contributions/7/reversal", {"reason": "recorded twice"})
    assert undone.status_code == 303
    assert "recorded twice" in ana.http.get(page(ana, "contributions")).text
    invited = post_form(ana, "members/Dee/invite", {"days": "3"})
    assert invited.status_code == 200
    link = re.search(r'id="invite-link">([^<]+)<', invited.text)
    assert link
    assert link.group(1).startswith(f"{server.url}/p/{server.slug}/invite/")
    assert server.client().get(link.group(1)).status_code == 200


def test_history_filters_and_pages(sqlite_server: Server) -> None:
    server = sqlite_server
    ana = server.sign_in("Ana")
    for n in range(55):
        assert post_form(ana, "contributions", {"member": "Dee", "amount": f"{n + 1}"}).status_code == 303
    first = ana.http.get(page(ana, "history?member=Dee&type=contribution_recorded")).text
    assert "55 events" in first
    assert "page 1 of 2" in first
    assert first.count('class="event"') == 50
    second = ana.http.get(page(ana, "history?member=Dee&type=contribution_recorded&page=2")).text
    assert second.count('class="event"') == 5
    assert "Bo" not in re.sub(r"<select.*?</select>", "", second, flags=re.S).split("<main", 1)[1]
    both = ana.http.get(page(ana, "history?type=contribution_recorded&type=member_joined")).text
    assert "60 events" in both  # 56 contributions and 4 members joining, as `--type` twice
    assert "type=contribution_recorded&amp;type=member_joined&amp;page=2" in both
    bad = ana.http.get(page(ana, "history?since=yesterday"))
    assert bad.status_code == 422
    assert ana.http.get(page(ana, "history?type=no_such_event")).status_code == 422
    assert ana.http.get(page(ana, "history?member=Zed")).status_code == 404


def test_replay_steps_through_events_and_takes_a_reflection(sqlite_server: Server) -> None:
    server = sqlite_server
    cy = server.sign_in("Cy")
    # Event 6 is Bo's 100.00, the last of the crew's history.
    html = cy.http.get(page(cy, "replay?event=6")).text
    assert "event 6 of 6" in html
    assert "100.00" in html
    assert "?event=5" in html
    assert "?event=7" not in html
    assert cy.http.get(page(cy, "replay?event=7")).status_code == 404
    answer = post_form(cy, "replay/6/reflect", {"feeling": "grateful", "note": "Bo went first"})
    assert answer.status_code == 303
    shown = cy.http.get(page(cy, "replay?event=6")).text
    assert "grateful" in shown
    assert "Bo went first" in shown
    assert "grateful" in cy.http.get(page(cy, "triggers")).text


def test_a_member_sets_their_own_pledge(sqlite_server: Server) -> None:
    server = sqlite_server
    dee = server.sign_in("Dee")
    assert post_form(dee, "pledges", {"member": "Dee", "monthly": "20"}).status_code == 303
    assert "20.00 a month" in dee.http.get(page(dee, "pledges")).text
    before = head(server.db)
    assert post_form(dee, "pledges", {"member": "Bo", "monthly": "20"}).status_code == 403
    assert head(server.db) == before


@pytest.mark.parametrize("where", ["purpose", "name"])
def test_a_script_in_user_text_is_shown_escaped(sqlite_server: Server, where: str) -> None:
    server = sqlite_server
    ana = server.sign_in("Ana")
    evil = "<script>alert(1)</script>"
    if where == "purpose":
        no = propose(ana, "5", evil)
        paths = ["", "proposals", f"proposals/{no}", "history", "replay?event=7"]
    else:
        # A name is any printable text, so a member may be called this; every page naming them escapes it.
        assert post_form(ana, "members", {"name": evil}).status_code == 303
        paths = ["", "members", "history", "contributions", "pledges", "trust"]
    for path in paths:
        html = ana.http.get(page(ana, path)).text
        assert evil not in html, path
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html, path


def test_the_report_downloads_as_an_attachment(sqlite_server: Server) -> None:
    bo = sqlite_server.sign_in("Bo")
    before = head(sqlite_server.db)
    answer = bo.http.get(page(bo, "report"))
    assert answer.status_code == 200
    assert answer.headers["content-disposition"].startswith('attachment; filename="maastricht-crew-report-')
    assert "<html" in answer.text
    assert "Maastricht crew" in answer.text
    assert head(sqlite_server.db) == before


def test_verify_shows_the_chain_and_the_head_digest(sqlite_server: Server) -> None:
    bo = sqlite_server.sign_in("Bo")
    html = bo.http.get(page(bo, "verify")).text
    assert "The chain is whole" in html
    assert head(sqlite_server.db) in html


def test_sign_out_ends_the_session(sqlite_server: Server) -> None:
    bo = sqlite_server.sign_in("Bo")
    assert post_form(bo, "logout", {}).status_code == 303
    assert bo.http.get(page(bo, "")).status_code == 303


def test_a_name_with_a_slash_or_a_question_mark_is_managed_from_the_members_page(sqlite_server: Server) -> None:
    ana = sqlite_server.sign_in("Ana")
    name = "Eve/Fay? #2"
    assert post_form(ana, "members", {"name": name}).status_code == 303
    html = ana.http.get(page(ana, "members")).text
    found = re.search(r'action="(/p/maastricht-crew/members/[^"]+)/role"', html.split("Eve", 1)[1])
    assert found
    path = found.group(1).removeprefix("/p/maastricht-crew/")
    assert post_form(ana, f"{path}/role", {"role": "treasurer"}).status_code == 303
    assert post_form(ana, f"{path}/invite", {"days": "2"}).status_code == 200
    assert post_form(ana, f"{path}/remove", {}).status_code == 303
    history = ana.http.get(page(ana, "history?type=member_left")).text
    assert "Ana removed Eve/Fay? #2" in history
