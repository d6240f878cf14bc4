"""Fixtures for the web app's tests: a real `pot serve` process on 127.0.0.1, and members signed in to it.

Every web test talks to a real uvicorn server over real HTTP (httpx, or Chromium
through Playwright); nothing calls the app in-process. The crew is the one the
CLI tests use: Ana (treasurer), Bo, Cy, Dee in pot 'maastricht-crew'.
"""

from __future__ import annotations

import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from tests.conftest import postgres_store, pot

SLUG = "maastricht-crew"
PASSPHRASE = "correct horse battery staple"
POT_BIN = str(Path(sys.executable).parent / "pot")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    """A running `pot serve`: its address, its store, and the pot the tests use."""

    url: str
    db: str
    slug: str = SLUG
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    def invite(self, name: str, *, actor: str = "Ana", days: int = 7) -> str:
        """The invite link `pot invite` prints for `name`."""
        result = pot(self.db, "--as", actor, "invite", name, "--days", str(days), "--public-url", self.url)
        assert result.code == 0, result.err
        link = result.out.strip().splitlines()[-1]
        assert link.startswith(f"{self.url}/p/{self.slug}/invite/"), link
        return link

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=30, follow_redirects=False)

    def sign_in(self, name: str, passphrase: str = PASSPHRASE) -> SignedClient:
        """A client signed in as `name` through their invite link, as a member's browser would be."""
        client = self.client()
        accept_invite(client, self.invite(name), passphrase)
        return SignedClient.wrap(client, self.slug)


def form_csrf(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, html
    return found.group(1)


def accept_invite(client: httpx.Client, link: str, passphrase: str) -> httpx.Response:
    form = client.get(link)
    assert form.status_code == 200, form.text
    answer = client.post(
        link, data={"passphrase": passphrase, "repeat": passphrase, "csrf_token": form_csrf(form.text)}
    )
    assert answer.status_code == 303, answer.text
    return answer


@dataclass
class SignedClient:
    """An httpx client with a member's session cookie, sending their CSRF token on every change."""

    http: httpx.Client
    slug: str
    member: str
    csrf: str

    @classmethod
    def wrap(cls, client: httpx.Client, slug: str) -> SignedClient:
        me = client.get(f"/p/{slug}/api/session")
        assert me.status_code == 200, me.text
        body = me.json()
        return cls(client, slug, body["member"], body["csrf_token"])

    def api(self, path: str) -> str:
        return f"/p/{self.slug}/api/{path.lstrip('/')}"

    def get(self, path: str, **kwargs: object) -> httpx.Response:
        return self.http.get(self.api(path), **kwargs)  # type: ignore[arg-type]

    def post(self, path: str, body: object | None = None, *, csrf: str | None = "mine") -> httpx.Response:
        headers = {} if csrf is None else {"X-CSRF-Token": self.csrf if csrf == "mine" else csrf}
        return self.http.post(self.api(path), json={} if body is None else body, headers=headers)


@contextmanager
def running_server(db: str, *, workers: int = 1) -> Iterator[Server]:
    """`pot --db DB serve` on a free port until the block ends; fails if it does not come up in 30 s."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    args = [POT_BIN, "--db", db, "serve", "--port", str(port), "--public-url", url, "--workers", str(workers)]
    process = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{url}/static/style.css", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                out = process.stdout.read().decode() if process.stdout else ""
                raise AssertionError(f"pot serve did not start: {out}")
            time.sleep(0.1)
        yield Server(url, db, process=process)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


def make_crew(db: str) -> None:
    """Pot 'maastricht-crew': Ana (treasurer), Bo, Cy, Dee; Bo has contributed 100.00 (event 5)."""
    steps = [
        ("init", "Maastricht crew", "--currency", "EUR", "--as", "Ana"),
        ("--as", "Ana", "member", "add", "Bo"),
        ("--as", "Ana", "member", "add", "Cy"),
        ("--as", "Ana", "member", "add", "Dee"),
        ("--as", "Ana", "contribute", "Bo", "100"),
    ]
    for step in steps:
        result = pot(db, *step, today="2026-01-01")
        assert result.code == 0, (step, result.err)


@pytest.fixture(params=["sqlite", "postgresql"])
def server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Server]:
    """The crew's web app on a SQLite file and on PostgreSQL."""
    if request.param == "sqlite":
        db = str(tmp_path / "crew.sqlite")
        make_crew(db)
        with running_server(db) as running:
            yield running
    else:
        with postgres_store() as url:
            make_crew(url)
            with running_server(url) as running:
                yield running


@pytest.fixture
def sqlite_server(tmp_path: Path) -> Iterator[Server]:
    """The crew's web app on a SQLite file only (for tests whose subject is not the backend)."""
    db = str(tmp_path / "crew.sqlite")
    make_crew(db)
    with running_server(db) as running:
        yield running
