"""Where `pot notify`'s notices go and how they are sent: the settings read from the environment, e-mail, a webhook.

`Settings` reads POT_SMTP_URL, POT_MAIL_FROM and POT_WEBHOOK_URL (at least one
channel); `Mailer` sends over one SMTP connection per run (STARTTLS whenever
offered, never a password in clear), `Webhook` one JSON POST per notice. A
send that fails raises `SendFailed`, which says whether the channel is down.
"""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Mapping
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from typing import TYPE_CHECKING
from urllib.parse import unquote, urlsplit

from domain.errors import BadInput
from ledger.contacts import parse_address

if TYPE_CHECKING:
    from ledger.notify_due import Notice

SMTP_TIMEOUT = 30
WEBHOOK_TIMEOUT = 10


class SendFailed(Exception):
    """A notice that did not go out. `fatal`: the channel itself is down, so this run stops using it."""

    def __init__(self, message: str, *, fatal: bool) -> None:
        super().__init__(message)
        self.fatal = fatal


# --------------------------------------------------------------------------- settings
@dataclass(frozen=True)
class SmtpSettings:
    """POT_SMTP_URL, read: smtp:// (STARTTLS whenever offered) or smtps:// (TLS from the start)."""

    host: str
    port: int
    tls: bool
    user: str | None = None
    password: str | None = field(default=None, repr=False)

    @classmethod
    def parse(cls, url: str) -> SmtpSettings:
        parts = urlsplit(url.strip())
        if parts.scheme not in ("smtp", "smtps"):
            raise BadInput(f"POT_SMTP_URL must start with smtp:// or smtps://, not {parts.scheme or url!r}")
        try:
            port = parts.port
        except ValueError:
            raise BadInput("POT_SMTP_URL has a port that is not a number from 1 to 65535") from None
        if not parts.hostname:
            raise BadInput("POT_SMTP_URL names no mail server: smtp://user:pass@host:587")
        tls = parts.scheme == "smtps"
        user = unquote(parts.username) if parts.username else None
        password = unquote(parts.password) if parts.password is not None else None
        return cls(parts.hostname, port or (465 if tls else 587), tls, user, password)

    @property
    def where(self) -> str:
        return f"{self.host}:{self.port}"


@dataclass(frozen=True)
class Settings:
    """Where notices go: the web app's address for links, and the channels (at least one)."""

    public_url: str
    smtp: SmtpSettings | None = None
    mail_from: str | None = None
    webhook: str | None = None

    @classmethod
    def from_env(cls, environ: Mapping[str, str], public_url: str) -> Settings:
        smtp_url = environ.get("POT_SMTP_URL", "").strip()
        webhook = environ.get("POT_WEBHOOK_URL", "").strip() or None
        if not smtp_url and not webhook:
            raise BadInput("nothing to send notices with: set POT_SMTP_URL (and POT_MAIL_FROM) or POT_WEBHOOK_URL")
        smtp = SmtpSettings.parse(smtp_url) if smtp_url else None
        sender = environ.get("POT_MAIL_FROM", "").strip()
        if smtp is not None and not sender:
            raise BadInput("POT_SMTP_URL is set but POT_MAIL_FROM is not: say which address notices come from")
        if webhook is not None and not webhook.startswith(("http://", "https://")):
            raise BadInput("POT_WEBHOOK_URL must start with http:// or https://")
        url = public_url.rstrip("/")
        if not url.startswith(("http://", "https://")):
            raise BadInput(f"the public URL must start with http:// or https://, not {url!r}")
        return cls(url, smtp, parse_address(sender) if smtp is not None else None, webhook)


# --------------------------------------------------------------------------- channels
class Mailer:
    """One SMTP connection per run, opened on the first mail: STARTTLS whenever offered, no password in clear."""

    def __init__(self, smtp: SmtpSettings, sender: str) -> None:
        self.smtp, self.sender = smtp, sender
        self._conn: smtplib.SMTP | None = None

    def _connect(self) -> smtplib.SMTP:
        s = self.smtp
        context = ssl.create_default_context()
        try:
            conn: smtplib.SMTP
            if s.tls:
                conn = smtplib.SMTP_SSL(s.host, s.port, timeout=SMTP_TIMEOUT, context=context)
                conn.ehlo()
            else:
                conn = smtplib.SMTP(s.host, s.port, timeout=SMTP_TIMEOUT)
                conn.ehlo()
                if conn.has_extn("starttls"):
                    conn.starttls(context=context)
                    conn.ehlo()
                elif s.user is not None or s.password is not None:
                    with suppress(smtplib.SMTPException, OSError):
                        conn.quit()
                    raise SendFailed(
                        f"the mail server at {s.where} does not offer STARTTLS, and pot never sends a password"
                        " over an unencrypted connection: use smtps:// or a server that offers STARTTLS",
                        fatal=True,
                    )
            if s.user is not None:
                conn.login(s.user, s.password or "")
        except SendFailed:
            raise
        except (smtplib.SMTPException, OSError) as e:
            raise SendFailed(f"the mail server at {s.where} could not be used: {said(e)}", fatal=True) from None
        return conn

    def send(self, notice: Notice, address: str) -> None:
        message = EmailMessage()
        message["From"] = self.sender
        message["To"] = address
        message["Subject"] = notice.subject
        message["Date"] = format_datetime(datetime.now(UTC))
        message["Message-ID"] = make_msgid(domain=self.sender.rsplit("@", 1)[-1])
        # RFC 3834: an automatic message, so autoresponders do not answer it.
        message["Auto-Submitted"] = "auto-generated"
        message.set_content(
            f"{notice.text}\n-- \nYou get this as a member of pot {notice.slug} who set this address."
            f" To stop, remove it on the web app's Reminders page or with `pot member email NAME --remove`.\n"
        )
        if self._conn is None:
            self._conn = self._connect()
        try:
            self._conn.send_message(message)
        except (smtplib.SMTPRecipientsRefused, smtplib.SMTPDataError) as e:
            raise SendFailed(f"the mail server refused the mail to {address}: {said(e)}", fatal=False) from None
        except (smtplib.SMTPException, OSError) as e:
            self._conn = None
            raise SendFailed(f"the mail server at {self.smtp.where} failed: {said(e)}", fatal=True) from None

    def close(self) -> None:
        if self._conn is not None:
            with suppress(smtplib.SMTPException, OSError):
                self._conn.quit()
            self._conn = None


class Webhook:
    """One JSON POST per notice; any 2xx answer is delivered."""

    def __init__(self, url: str) -> None:
        import httpx

        self.url = url
        self.client = httpx.Client(timeout=WEBHOOK_TIMEOUT, follow_redirects=False)

    def send(self, notice: Notice) -> None:
        import httpx

        try:
            answer = self.client.post(self.url, json=notice.webhook_body())
        except httpx.HTTPError as e:
            raise SendFailed(f"the webhook could not be reached: {said(e)}", fatal=True) from None
        if not 200 <= answer.status_code < 300:
            raise SendFailed(f"the webhook answered {answer.status_code}", fatal=False)

    def close(self) -> None:
        self.client.close()


def said(error: Exception) -> str:
    text = " ".join(str(error).split())
    return text or type(error).__name__
