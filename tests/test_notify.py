"""Reminders (SPEC §8): `pot notify` against real local servers the tests start.

An SMTP server (aiosmtpd, in a thread of this process) and an HTTP receiver
(http.server, likewise) on 127.0.0.1. Each test checks what arrived: one mail per
eligible member with a link, nothing twice, nothing marked sent when the mail
server is down, reminders only to those who have not voted, a password never
over a connection without STARTTLS, one webhook POST per notice.
"""

from __future__ import annotations

import ipaddress
import json
import os
import ssl
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, Envelope, LoginPassword
from sqlalchemy import Engine, create_engine, select

from ledger.contacts import sent_notices
from tests.conftest import fingerprint, head, postgres_engine_for, pot, refused
from tests.test_roles import Roles, roles, setup, try_as  # noqa: F401  (`roles` is a fixture)
from tests.web.conftest import POT_BIN, free_port

SLUG = "maastricht-crew"
PUBLIC = "https://pot.example.org"
ADDRESSES = {"Ana": "ana@example.org", "Bo": "bo@example.org", "Cy": "cy@example.org"}  # Dee sets none
LINK = f"{PUBLIC}/p/{SLUG}/proposals/1"


# --------------------------------------------------------------------------- the servers
@dataclass
class Inbox:
    """What a local SMTP server received: (recipient, message) per delivered copy, and every AUTH attempt."""

    mails: list[tuple[str, Message]] = field(default_factory=list)
    logins: list[str] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Envelope) -> str:
        content = envelope.content if isinstance(envelope.content, bytes) else str(envelope.content).encode()
        for rcpt in envelope.rcpt_tos:
            self.mails.append((rcpt, message_from_bytes(content, policy=policy.default)))
        return "250 OK"

    def authenticate(self, server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
        assert isinstance(data, LoginPassword)
        self.logins.append(data.login.decode())
        return AuthResult(success=data.password == b"s3cret pass")

    def recipients(self) -> list[str]:
        return sorted(r for r, _ in self.mails)

    def subjects(self) -> list[str]:
        return sorted(str(m["Subject"]).strip() for _, m in self.mails)


@contextmanager
def smtp_server(**options: Any) -> Iterator[tuple[Inbox, int]]:
    """An SMTP server on 127.0.0.1 until the block ends; `options` go to aiosmtpd's SMTP (TLS, AUTH)."""
    inbox = Inbox()
    port = free_port()
    if "authenticator" in options:
        options["authenticator"] = inbox.authenticate
    controller = Controller(inbox, hostname="127.0.0.1", port=port, **options)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


@dataclass
class Hooks:
    bodies: list[dict[str, Any]] = field(default_factory=list)
    status: int = 200


@contextmanager
def webhook_receiver() -> Iterator[tuple[Hooks, str]]:
    """An HTTP server on 127.0.0.1 that keeps every JSON body POSTed to it."""
    hooks = Hooks()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("content-length", "0"))
            assert self.headers.get("content-type") == "application/json"
            hooks.bodies.append(json.loads(self.rfile.read(length)))
            self.send_response(hooks.status)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield hooks, f"http://127.0.0.1:{server.server_address[1]}/hook"
    finally:
        server.shutdown()
        server.server_close()


def self_signed(folder: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 (and its key) that a client trusts through SSL_CERT_FILE."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = folder / "cert.pem", folder / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_file, key_file


# --------------------------------------------------------------------------- the crew
@pytest.fixture
def mailing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Settings every `pot notify` here shares; each test adds its SMTP URL and/or webhook."""
    for name in ("POT_SMTP_URL", "POT_WEBHOOK_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("POT_MAIL_FROM", "pot@example.org")
    monkeypatch.setenv("POT_PUBLIC_URL", PUBLIC)


def make_crew(db: Path | str) -> None:
    """Ana (treasurer), Bo, Cy, Dee; Bo contributed 100.00; all but Dee set an address."""
    steps = [
        ("init", "Maastricht crew", "--currency", "EUR", "--as", "Ana"),
        *(("--as", "Ana", "member", "add", n) for n in ("Bo", "Cy", "Dee")),
        ("--as", "Ana", "contribute", "Bo", "100"),
        *(("--as", n, "member", "email", n, a) for n, a in ADDRESSES.items()),
    ]
    for step in steps:
        result = pot(db, *step, today="2026-03-01")
        assert result.code == 0, (step, result.err)


def propose(db: Path | str, amount: str = "30", today: str | None = "2026-03-01") -> None:
    """Proposal 1 (event 7), by Bo, to Dee; closes seven days after `today` (None: the machine's date)."""
    made = pot(db, "--as", "Bo", "propose", amount, "--purpose", "Dee's bike\nrepair", "--to", "Dee", today=today)
    assert made.code == 0, made.err


def notify(db: Path | str, today: str = "2026-03-01") -> Any:
    return pot(db, "notify", today=today)


def sent_rows(db: Path | str) -> list[tuple[int, str, str, str]]:
    with _engine(db) as engine, engine.connect() as conn:
        c = sent_notices.c
        rows = conn.execute(select(c.event_no, c.kind, c.recipient, c.state).order_by(c.event_no, c.kind, c.recipient))
        return [(int(r[0]), str(r[1]), str(r[2]), str(r[3])) for r in rows]


@contextmanager
def _engine(db: Path | str) -> Iterator[Engine]:
    if "://" in str(db):
        with postgres_engine_for(str(db)) as engine:
            yield engine
        return
    engine = create_engine(f"sqlite:///{db}")
    try:
        yield engine
    finally:
        engine.dispose()


# --------------------------------------------------------------------------- the tests
@pytest.mark.usefixtures("mailing")
def test_a_new_proposal_mails_every_eligible_member_once_with_a_link(
    store_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_crew(store_url)
    with smtp_server() as (inbox, port):
        monkeypatch.setenv("POT_SMTP_URL", f"smtp://127.0.0.1:{port}")
        assert notify(store_url).out.strip() == "nothing new to send"
        propose(store_url)
        before = fingerprint(store_url)
        first = notify(store_url)
        assert first.code == 0, first.err
        # Dee set no address: three mails, one to each member who did, each with the proposal's link.
        assert inbox.recipients() == sorted(ADDRESSES.values())
        for address, message in inbox.mails:
            assert message["To"] == address
            assert message["From"] == "pot@example.org"
            assert (
                message["Subject"].strip() == "[Maastricht crew] New proposal 1: 30.00 EUR to Dee for Dee's bike repair"
            )
            assert LINK in message.get_content()  # type: ignore[attr-defined]
        assert "sent 3 e-mail(s)" in first.out
        second = notify(store_url)
        assert (second.code, second.out.strip()) == (0, "nothing new to send")
        assert len(inbox.mails) == 3
        assert fingerprint(store_url) == before, "notify stores no event"
        assert [r[1:] for r in sent_rows(store_url)] == [
            ("proposal", f"email:{n.lower()}", "sent") for n in ("Ana", "Bo", "Cy")
        ]


@pytest.mark.usefixtures("mailing")
def test_with_the_mail_server_down_nothing_is_marked_sent_and_the_next_run_sends(
    db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_crew(db)
    propose(db)
    port = free_port()  # nothing listens here yet
    monkeypatch.setenv("POT_SMTP_URL", f"smtp://127.0.0.1:{port}")
    down = refused(db, "notify", code=1, says="could not be used")
    assert "tried again next run" in down.err
    assert sent_rows(db) == []
    with smtp_server() as (inbox, up):
        monkeypatch.setenv("POT_SMTP_URL", f"smtp://127.0.0.1:{up}")
        assert notify(db).code == 0
        assert inbox.recipients() == sorted(ADDRESSES.values())


@pytest.mark.usefixtures("mailing")
def test_the_day_before_closing_reminds_only_those_who_have_not_voted(
    db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_crew(db)
    propose(db)  # made 2026-03-01, closes 2026-03-08 (seven voting days)
    assert pot(db, "--as", "Bo", "vote", "1", "agree", today="2026-03-02").code == 0
    with smtp_server() as (inbox, port):
        monkeypatch.setenv("POT_SMTP_URL", f"smtp://127.0.0.1:{port}")
        assert notify(db, today="2026-03-06").code == 0
        assert all(str(m["Subject"]).strip().startswith("[Maastricht crew] New proposal 1") for _, m in inbox.mails)
        inbox.mails.clear()
        assert notify(db, today="2026-03-06").out.strip() == "nothing new to send"  # two days before: no reminder
        reminded = notify(db, today="2026-03-07")
        assert reminded.code == 0, reminded.err
        # Bo voted; Dee has no address: Ana and Cy are reminded, once.
        assert inbox.recipients() == ["ana@example.org", "cy@example.org"]
        assert inbox.subjects() == ["[Maastricht crew] Proposal 1 closes 2026-03-08: you have not voted yet"] * 2
        body = inbox.mails[0][1].get_content()  # type: ignore[attr-defined]
        assert LINK in body
        assert "Not voted yet: Ana, Cy, Dee." in body
        assert notify(db, today="2026-03-08").out.strip() == "nothing new to send"
        assert len(inbox.mails) == 2


@pytest.mark.usefixtures("mailing")
def test_a_decision_and_a_payout_go_to_everyone(db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    make_crew(db)
    propose(db)
    for name in ("Ana", "Bo", "Cy", "Dee"):
        assert pot(db, "--as", name, "vote", "1", "agree").code == 0  # the last vote decides it
    assert pot(db, "--as", "Ana", "pay", "1").code == 0
    with smtp_server() as (inbox, port):
        monkeypatch.setenv("POT_SMTP_URL", f"smtp://127.0.0.1:{port}")
        assert notify(db).code == 0
        # Decided: no "new proposal" any more; the decision and the payout to each address.
        assert inbox.subjects() == sorted(
            ["[Maastricht crew] Proposal 1 approved: 30.00 EUR to Dee for Dee's bike repair"] * 3
            + ["[Maastricht crew] Proposal 1 paid: 30.00 EUR to Dee"] * 3
        )
        assert sorted(set(inbox.recipients())) == sorted(ADDRESSES.values())
        assert notify(db).out.strip() == "nothing new to send"


@pytest.mark.usefixtures("mailing")
def test_a_password_is_never_sent_over_plain_smtp_without_starttls(db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    make_crew(db)
    propose(db)
    # This server would take the password in the clear (AUTH without TLS): pot must not offer it.
    with smtp_server(authenticator=True, auth_require_tls=False) as (inbox, port):
        monkeypatch.setenv("POT_SMTP_URL", f"smtp://pot:s3cret%20pass@127.0.0.1:{port}")
        before = head(db)
        result = refused(db, "notify", code=1, says="does not offer STARTTLS")
        assert "never sends a password over an unencrypted connection" in result.err
        assert (inbox.logins, inbox.mails) == ([], [])
        assert sent_rows(db) == []
        assert head(db) == before


@pytest.mark.usefixtures("mailing")
def test_starttls_is_used_when_offered_and_the_password_goes_inside_it(
    db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_crew(db)
    propose(db)
    cert, key = self_signed(tmp_path)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))  # the client's trust: this test's certificate
    # require_starttls: the server refuses anything before STARTTLS, so a mail arriving proves TLS was used.
    with smtp_server(tls_context=context, require_starttls=True, authenticator=True) as (inbox, port):
        monkeypatch.setenv("POT_SMTP_URL", f"smtp://pot:s3cret%20pass@127.0.0.1:{port}")
        result = notify(db)
        assert result.code == 0, result.err
        assert inbox.logins == ["pot"]
        assert inbox.recipients() == sorted(ADDRESSES.values())


@pytest.mark.usefixtures("mailing")
def test_smtps_speaks_tls_from_the_start(db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    make_crew(db)
    propose(db)
    cert, key = self_signed(tmp_path)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))
    inbox = Inbox()
    port = free_port()
    controller = Controller(
        inbox,
        hostname="127.0.0.1",
        port=port,
        ssl_context=context,
        authenticator=inbox.authenticate,
        # aiosmtpd cannot tell a connection that was TLS from the start: it is, so AUTH may be offered.
        auth_require_tls=False,
    )
    controller.start()
    try:
        monkeypatch.setenv("POT_SMTP_URL", f"smtps://pot:s3cret%20pass@127.0.0.1:{port}")
        result = notify(db)
        assert result.code == 0, result.err
        assert inbox.logins == ["pot"]
        assert len(inbox.mails) == 3
    finally:
        controller.stop()


@pytest.mark.usefixtures("mailing")
def test_the_webhook_gets_one_json_post_per_notice(db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    make_crew(db)
    with webhook_receiver() as (hooks, url):
        monkeypatch.setenv("POT_WEBHOOK_URL", url)
        propose(db)
        assert notify(db).code == 0
        assert pot(db, "--as", "Bo", "vote", "1", "agree", today="2026-03-02").code == 0
        assert notify(db, today="2026-03-07").code == 0
        assert notify(db, today="2026-03-07").out.strip() == "nothing new to send"
        assert [(b["kind"], b["event"], b["to"]) for b in hooks.bodies] == [
            ("proposal", 7, ["Ana", "Bo", "Cy", "Dee"]),
            ("reminder", 7, ["Ana", "Cy", "Dee"]),
        ]
        first = hooks.bodies[0]
        assert (first["pot"], first["link"], first["proposal"], first["closes"]) == (SLUG, LINK, 1, "2026-03-08")


@pytest.mark.usefixtures("mailing")
def test_a_webhook_that_fails_is_tried_again_next_run(db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    make_crew(db)
    propose(db)
    with webhook_receiver() as (hooks, url):
        monkeypatch.setenv("POT_WEBHOOK_URL", url)
        hooks.status = 500
        refused(db, "notify", code=1, says="the webhook answered 500")
        assert sent_rows(db) == []
        hooks.status = 204
        assert notify(db).code == 0
        assert [b["kind"] for b in hooks.bodies] == ["proposal", "proposal"]
        assert sent_rows(db) == [(7, "proposal", "webhook", "sent")]


@pytest.mark.usefixtures("mailing")
def test_rebuilding_the_views_keeps_what_was_sent(db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    make_crew(db)
    propose(db)
    with smtp_server() as (inbox, port):
        monkeypatch.setenv("POT_SMTP_URL", f"smtp://127.0.0.1:{port}")
        assert notify(db).code == 0
        assert pot(db, "rebuild").code == 0
        assert notify(db).out.strip() == "nothing new to send"
        assert pot(db, "--as", "Ana", "member", "email", "Ana", "--remove").code == 0
        assert pot(db, "--as", "Ana", "member", "email", "Ana", "ana@new.example.org").code == 0
        assert notify(db).out.strip() == "nothing new to send"  # sent to Ana the member, whatever her address
        assert len(inbox.mails) == 3


@pytest.mark.usefixtures("mailing")
def test_a_notice_another_run_is_sending_is_left_to_it_unless_that_run_died_long_ago(
    db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The claim is the exactly-once guarantee: a held claim is skipped, a stale one taken over."""
    from ledger.app import Ledger
    from ledger.notify_once import STALE_CLAIM, Bookkeeping, Key
    from ledger.store import resolve

    make_crew(db)
    propose(db)
    ledger = Ledger(resolve(str(db)))
    try:
        books = Bookkeeping(ledger.engine)
        now = datetime.now(UTC)
        bo = Key(SLUG, 7, "proposal", "email:bo")
        cy = Key(SLUG, 7, "proposal", "email:cy")
        assert books.claim(bo, now) is not None  # another run, sending to Bo right now
        assert books.claim(cy, now - STALE_CLAIM - timedelta(minutes=1)) is not None  # a run that died
        assert books.claim(bo, now) is None
    finally:
        ledger.close()
    with smtp_server() as (inbox, port):
        monkeypatch.setenv("POT_SMTP_URL", f"smtp://127.0.0.1:{port}")
        assert notify(db).code == 0
        assert inbox.recipients() == ["ana@example.org", "cy@example.org"]
    assert [r[1:] for r in sent_rows(db) if r[3] == "sent"] == [
        ("proposal", "email:ana", "sent"),
        ("proposal", "email:cy", "sent"),
    ]


@pytest.mark.usefixtures("mailing")
def test_two_runs_at_once_send_each_notice_once(db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from datetime import date

    from ledger.app import Ledger
    from ledger.notify import notify as run
    from ledger.notify_channels import Settings
    from ledger.store import resolve

    make_crew(db)
    propose(db)
    with smtp_server() as (inbox, port):
        settings = Settings.from_env({"POT_SMTP_URL": f"smtp://127.0.0.1:{port}", "POT_MAIL_FROM": "p@x.org"}, PUBLIC)
        start = threading.Barrier(4)
        reports: list[Any] = []

        def one() -> None:
            ledger = Ledger(resolve(str(db)))
            try:
                start.wait()
                reports.append(run(ledger, settings, today=date(2026, 3, 1)))
            finally:
                ledger.close()

        threads = [threading.Thread(target=one) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sum(r.emails for r in reports) == 3
        assert inbox.recipients() == sorted(ADDRESSES.values())


def test_notify_refuses_to_run_with_nowhere_to_send(db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    make_crew(db)
    for name in ("POT_SMTP_URL", "POT_WEBHOOK_URL", "POT_MAIL_FROM"):
        monkeypatch.delenv(name, raising=False)
    refused(db, "notify", code=2, says="set POT_SMTP_URL")
    monkeypatch.setenv("POT_SMTP_URL", "smtp://127.0.0.1:2525")
    refused(db, "notify", code=2, says="POT_MAIL_FROM is not")
    monkeypatch.setenv("POT_MAIL_FROM", "pot@example.org")
    monkeypatch.setenv("POT_SMTP_URL", "imap://127.0.0.1")
    refused(db, "notify", code=2, says="smtp:// or smtps://")


def test_serve_with_notify_every_and_nowhere_to_send_says_so_before_it_starts(
    db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_crew(db)
    for name in ("POT_SMTP_URL", "POT_WEBHOOK_URL"):
        monkeypatch.delenv(name, raising=False)
    # `serve` passes these to its workers through the environment: monkeypatch puts them back afterwards.
    monkeypatch.setenv("POT_DB", str(db))
    monkeypatch.setenv("POT_PUBLIC_URL", PUBLIC)
    refused(db, "serve", "--port", str(free_port()), "--notify-every", "5", code=2, says="set POT_SMTP_URL")
    refused(db, "serve", "--notify-every", "0", code=2, says="0")


# --------------------------------------------------------------------------- addresses
def addresses(db: Path | str) -> dict[str, str]:
    from ledger.contacts import member_emails

    with _engine(db) as engine, engine.connect() as conn:
        return {str(m): str(a) for m, a in conn.execute(select(member_emails.c.member, member_emails.c.address))}


def test_members_set_and_remove_their_own_address_and_a_treasurer_only_removes(db: Path) -> None:
    make_crew(db)
    kept = addresses(db)
    assert kept == {"ana": "ana@example.org", "bo": "bo@example.org", "cy": "cy@example.org"}
    refused(db, "--as", "Ana", "member", "email", "Bo", "x@example.org", code=1, says="only Bo may set")
    refused(db, "--as", "Bo", "member", "email", "Cy", "--remove", code=1, says="only a treasurer")
    refused(db, "--as", "Bo", "member", "email", "Bo", "not an address", code=2, says="not an e-mail address")
    refused(db, "--as", "Bo", "member", "email", "Bo", "a@b.org\nBcc: x@y.org", code=2, says="not an e-mail")
    refused(db, "--as", "Bo", "member", "email", "Bo", code=2, says="give an ADDRESS")
    refused(db, "--as", "Bo", "member", "email", "Bo", "b@x.org", "--remove", code=2, says="not both")
    refused(db, "--as", "Bo", "member", "email", "Zed", "z@x.org", code=2, says="not a member")
    refused(db, "--as", "Zed", "member", "email", "Zed", "z@x.org", code=2, says="not a member")
    assert addresses(db) == kept, "a refused change left the addresses as they were"
    changed = pot(db, "--as", "bo", "member", "email", "Bo", "bo@new.example.org")
    assert changed.out.strip() == "Bo's e-mail address for reminders is now bo@new.example.org"
    removed = pot(db, "--as", "Ana", "member", "email", "Bo", "--remove")
    assert removed.out.strip() == "removed Bo's e-mail address: no more reminders by e-mail"
    assert pot(db, "--as", "Ana", "member", "email", "Bo", "--remove").out.strip() == "Bo had no e-mail address set"
    # Cy leaves: she can no longer change anything, and a treasurer may still remove her address.
    assert pot(db, "--as", "Cy", "member", "remove", "Cy").code == 0
    refused(db, "--as", "Cy", "member", "email", "Cy", "cy@other.example.org", code=1, says="left pot")
    assert pot(db, "--as", "Ana", "member", "email", "Cy", "--remove").code == 0
    assert addresses(db) == {"ana": "ana@example.org"}


def test_addresses_are_never_in_an_export(db: Path, tmp_path: Path) -> None:
    make_crew(db)
    for fmt in ("jsonl", "csv", "journal"):
        out = tmp_path / f"export.{fmt}"
        assert pot(db, "export", "--format", fmt, "-o", str(out)).code == 0
        text = out.read_text()
        assert "example.org" not in text, fmt
    assert "example.org" not in pot(db, "history", "--json").out


# --------------------------------------------------------------------------- inside pot serve
@pytest.mark.slow
def test_pot_serve_sends_reminders_from_one_thread(db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    make_crew(db)
    propose(db, today=None)  # open now: the server's today is the machine's
    with smtp_server() as (inbox, smtp_port):
        port = free_port()
        env = {
            **os.environ,
            "PYTHONPATH": str(Path(__file__).resolve().parents[1]),
            "POT_SMTP_URL": f"smtp://127.0.0.1:{smtp_port}",
            "POT_MAIL_FROM": "pot@example.org",
        }
        args = [POT_BIN, "--db", str(db), "serve", "--port", str(port), "--workers", "2", "--notify-every", "1"]
        process = subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 60
            while len(inbox.mails) < 3 and time.monotonic() < deadline and process.poll() is None:
                time.sleep(0.2)
        finally:
            process.terminate()
            out = process.communicate(timeout=20)[0].decode()
        assert inbox.recipients() == sorted(ADDRESSES.values()), out
        assert "notify: pot maastricht-crew, event 7, proposal: sent to Ana, Bo, Cy" in out


# --------------------------------------------------------------------------- PostgreSQL roles
def test_the_writer_role_keeps_addresses_and_sent_notices_but_cannot_alter_their_tables(
    roles: Roles,  # noqa: F811  (the fixture imported above)
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """After `pot db setup`, `pot` as the writer sets addresses and sends once; the tables stay the owner's."""
    setup(roles)
    db = roles.as_writer
    for step in (
        ("init", "Crew", "--currency", "EUR", "--as", "Ana"),
        ("--as", "Ana", "member", "add", "Bo"),
        ("--as", "Bo", "member", "email", "Bo", "bo@example.org"),
        ("--as", "Bo", "propose", "10", "--purpose", "tea"),
    ):
        assert pot(db, *step).code == 0, step
    monkeypatch.setenv("POT_MAIL_FROM", "pot@example.org")
    with smtp_server() as (inbox, port):
        monkeypatch.setenv("POT_SMTP_URL", f"smtp://127.0.0.1:{port}")
        assert pot(db, "notify").code == 0
        assert pot(db, "notify").out.strip() == "nothing new to send"
    assert inbox.recipients() == ["bo@example.org"]
    assert try_as(db, "ALTER TABLE sent_notices ADD COLUMN x int") is not None
    assert try_as(db, "DROP TABLE member_emails") is not None
