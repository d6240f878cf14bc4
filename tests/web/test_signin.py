"""Signing in through an invite link, then as a returning member; the session cookie's flags."""

from __future__ import annotations

from tests.conftest import head
from tests.web.conftest import PASSPHRASE, Server, form_csrf


def test_an_invite_link_sets_a_passphrase_and_signs_the_member_in(server: Server) -> None:
    client = server.client()
    link = server.invite("Bo")
    form = client.get(link)
    assert form.status_code == 200
    assert "Bo" in form.text
    answer = client.post(
        link, data={"passphrase": PASSPHRASE, "repeat": PASSPHRASE, "csrf_token": form_csrf(form.text)}
    )
    assert answer.status_code == 303
    cookie = answer.headers["set-cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=strict" in cookie.replace("Strict", "strict")
    me = client.get(f"/p/{server.slug}/api/session").json()
    assert me["member"] == "Bo"
    assert me["role"] == "member"
    assert len(me["csrf_token"]) > 20


def test_a_returning_member_signs_in_with_name_and_passphrase(sqlite_server: Server) -> None:
    server = sqlite_server
    server.sign_in("Cy")
    client = server.client()
    form = client.get(f"/p/{server.slug}/login")
    token = form_csrf(form.text)
    wrong = client.post(
        f"/p/{server.slug}/login", data={"member": "Cy", "passphrase": "not it at all", "csrf_token": token}
    )
    nobody = client.post(
        f"/p/{server.slug}/login", data={"member": "Zed", "passphrase": PASSPHRASE, "csrf_token": token}
    )
    assert wrong.status_code == nobody.status_code == 401
    assert "do not match" in wrong.text
    assert "do not match" in nobody.text
    right = client.post(f"/p/{server.slug}/login", data={"member": "cy", "passphrase": PASSPHRASE, "csrf_token": token})
    assert right.status_code == 303
    assert client.get(f"/p/{server.slug}/api/session").json()["member"] == "Cy"


def test_a_used_invite_is_refused_and_stores_nothing(sqlite_server: Server) -> None:
    server = sqlite_server
    before = head(server.db)
    link = server.invite("Dee")
    client = server.client()
    token = form_csrf(client.get(link).text)
    assert client.post(link, data={"passphrase": PASSPHRASE, "csrf_token": token}).status_code == 303
    again = server.client()
    assert again.get(link).status_code == 404
    assert head(server.db) == before
