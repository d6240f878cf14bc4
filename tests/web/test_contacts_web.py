"""Reminders on the web (SPEC §8): a member sets and removes their own e-mail address on a page and by the API.

An address is not an event: every change here leaves the pot's head digest as it was.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.conftest import head, pot
from tests.web.conftest import PASSPHRASE, Server, form_csrf

CHROMIUM = Path("/usr/bin/chromium")


def test_a_member_sets_changes_and_removes_their_address_on_the_reminders_page(server: Server) -> None:
    bo = server.sign_in("Bo")
    before = head(server.db)
    page = bo.http.get(f"/p/{server.slug}/reminders")
    assert page.status_code == 200
    assert "you get no reminders by e-mail" in page.text
    csrf = form_csrf(page.text)
    done = bo.http.post(f"/p/{server.slug}/reminders", data={"email": "bo@example.org", "csrf_token": csrf})
    assert (done.status_code, done.headers["location"]) == (303, f"/p/{server.slug}/reminders")
    assert (
        'Reminders for Bo go to <strong id="my-email">bo@example.org</strong>'
        in bo.http.get(f"/p/{server.slug}/reminders").text
    )
    assert bo.get("email").json() == {"member": "Bo", "email": "bo@example.org"}
    gone = bo.http.post(f"/p/{server.slug}/reminders/remove", data={"csrf_token": csrf})
    assert gone.status_code == 303
    assert bo.get("email").json() == {"member": "Bo", "email": None}
    assert head(server.db) == before, "an address is not an event"


def test_the_page_refuses_a_bad_address_and_a_change_without_the_csrf_token(sqlite_server: Server) -> None:
    server = sqlite_server
    bo = server.sign_in("Bo")
    page = bo.http.get(f"/p/{server.slug}/reminders")
    csrf = form_csrf(page.text)
    bad = bo.http.post(f"/p/{server.slug}/reminders", data={"email": "bo at example", "csrf_token": csrf})
    assert bad.status_code == 422
    assert "is not an e-mail address like bo@example.org" in bad.text
    forged = bo.http.post(f"/p/{server.slug}/reminders", data={"email": "eve@example.org"})
    assert forged.status_code == 403
    assert bo.get("email").json()["email"] is None


def test_the_api_sets_reads_and_deletes_only_the_signed_in_members_own_address(server: Server) -> None:
    bo, cy = server.sign_in("Bo"), server.sign_in("Cy")
    before = head(server.db)
    assert bo.get("email").json() == {"member": "Bo", "email": None}
    made = bo.post("email", {"email": "bo@example.org"})
    assert made.status_code == 200, made.text
    assert made.json() == {"member": "Bo", "email": "bo@example.org"}
    # Nobody names whose address it is: a field for another member is refused, and Cy sees only her own.
    other = bo.post("email", {"email": "cy@evil.example", "member": "Cy"})
    assert other.status_code == 422
    assert "unknown field 'member'" in other.json()["error"]
    assert cy.get("email").json() == {"member": "Cy", "email": None}
    for body, says in (({"email": "a@b.org\r\nBcc: x@y.org"}, "not an e-mail address"), ({"email": 5}, "string")):
        refused = bo.post("email", body)
        assert refused.status_code == 422
        assert says in refused.json()["error"]
    assert bo.post("email", {"email": "x@example.org"}, csrf=None).status_code == 403
    assert bo.http.delete(bo.api("email")).status_code == 403
    assert bo.get("email").json()["email"] == "bo@example.org"
    deleted = bo.http.delete(bo.api("email"), headers={"X-CSRF-Token": bo.csrf})
    assert (deleted.status_code, deleted.json()) == (200, {"member": "Bo", "email": None})
    assert head(server.db) == before


def test_the_address_is_not_in_an_export_and_needs_a_signed_in_member(sqlite_server: Server) -> None:
    server = sqlite_server
    bo = server.sign_in("Bo")
    assert bo.post("email", {"email": "bo@example.org"}).status_code == 200
    assert "example.org" not in pot(server.db, "export").out
    with server.client() as anonymous:
        assert anonymous.get(f"/p/{server.slug}/api/email").status_code == 401
        assert anonymous.get(f"/p/{server.slug}/reminders").status_code == 303
    members = bo.http.get(f"/p/{server.slug}/members")
    assert f'href="/p/{server.slug}/reminders"' in members.text


@pytest.mark.slow
@pytest.mark.parametrize("width", [390, 1280], ids=["phone", "laptop"])
def test_the_reminders_page_works_in_a_browser_and_passes_axe(sqlite_server: Server, width: int) -> None:
    """Bo reaches the page from the nav, sets an address and removes it; no sideways scroll, no axe or CSP error."""
    if not CHROMIUM.exists():
        if os.environ.get("CI") == "true":  # CI installs it (.ci/run): missing there is a failure, not a skip
            pytest.fail(f"the browser tests need {CHROMIUM}", pytrace=False)
        pytest.skip(f"the browser tests need {CHROMIUM}")
    from playwright.sync_api import expect, sync_playwright

    from tests.web.test_browser import Member, csp_violations

    server = sqlite_server
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM))
        try:
            bo = Member("Bo", browser.new_context(viewport={"width": width, "height": 800}).new_page(), width)
            bo.page.on("console", lambda m: bo.console.append(m.text) if m.type == "error" else None)
            bo.page.goto(server.invite("Bo"))
            bo.page.get_by_label("Passphrase").fill(PASSPHRASE)
            bo.page.get_by_label("The same again").fill(PASSPHRASE)
            bo.page.get_by_role("button", name="Set passphrase and sign in").click()
            expect(bo.page.get_by_role("heading", level=1)).to_have_text("Maastricht crew")
            bo.nav("Reminders")
            bo.page.get_by_label("E-mail address").fill("bo@example.org")
            bo.follow(bo.page.get_by_role("button", name="Set address"))
            expect(bo.page.locator("#my-email")).to_have_text("bo@example.org")
            bo.follow(bo.page.get_by_role("button", name="Remove my address"))
            expect(bo.page.locator("#my-email")).to_contain_text("You have not set an address")
            assert csp_violations([bo]) == []
        finally:
            browser.close()
