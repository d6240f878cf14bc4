"""`pot notify` (SPEC §8 Reminders): work out which notices are due, send each once, by e-mail and/or a webhook.

Due, for each pot:
- a new proposal, while it is open for votes: to every eligible member (with a link to it);
- from the day before its closing date until that date: a reminder to the eligible members who have not voted;
- a decision and a payout recorded in the last `NEWS_DAYS` days: to every current member.
Only current members get mail, and only those who set an address (`ledger.contacts`). The webhook gets one
JSON POST per notice (its `to` names the members it is for). The window on decisions and payouts keeps a
first run on an old pot from mailing its whole past.

Exactly once: before sending, a run claims the notice's row in `sent_notices` (a unique key: pot, event,
kind, recipient; an insert that does nothing if the row exists), then sends, then marks it sent; a failed
send deletes the claim, so the next run tries again. Two runs at once (cron and `pot serve --notify-every`,
or several servers) cannot both claim a row. A claim left by a run that died mid-send is taken over after
`STALE_CLAIM`.
"""

from __future__ import annotations

import secrets
import smtplib
import ssl
from collections.abc import Iterable, Iterator, Mapping
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from typing import Any
from urllib.parse import unquote, urlsplit

from sqlalchemy import Engine, and_, delete, select, update

from domain.errors import BadInput
from domain.events import EVENT_TYPES, ProposalDecided, WithdrawalPaid, WithdrawalProposed
from domain.values import name_key
from ledger.app import Ledger
from ledger.contacts import emails, ensure_tables, parse_address, sent_notices
from projections.models import PotInfo
from projections.queries import pot_slugs

# Decisions and payouts recorded longer ago than this are old news, not notices.
NEWS_DAYS = 7
# A claim this old whose run never marked it sent (the process died mid-send) may be taken over.
STALE_CLAIM = timedelta(minutes=15)
SMTP_TIMEOUT = 30
WEBHOOK_TIMEOUT = 10
# The proposal events: a withdrawal, and a rule change where the pot knows that event (decided alike).
PROPOSAL_TYPES = tuple(t for t in (WithdrawalProposed.TYPE, "rule_change_proposed") if t in EVENT_TYPES)
WEBHOOK = "webhook"


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


# --------------------------------------------------------------------------- what is due
@dataclass(frozen=True)
class Notice:
    """One thing to tell members: which event, what kind, to whom (names), and the words."""

    slug: str
    event_no: int
    kind: str  # "proposal", "reminder", "decision" or "payout"
    to: tuple[str, ...]
    subject: str
    text: str
    link: str
    data: dict[str, Any]

    def webhook_body(self) -> dict[str, Any]:
        return {
            "pot": self.slug,
            "kind": self.kind,
            "event": self.event_no,
            "to": list(self.to),
            "subject": self.subject,
            "text": self.text,
            "link": self.link,
            **self.data,
        }


def _one_line(text: str, limit: int = 80) -> str:
    """Text for a mail subject: one line (a header cannot hold a line break), not too long."""
    flat = " ".join(str(text).split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def _recorded_since(item: dict[str, Any], since: datetime) -> bool:
    at = datetime.fromisoformat(str(item["at"]))
    return (at if at.tzinfo else at.replace(tzinfo=UTC)) >= since


def due_notices(ledger: Ledger, info: PotInfo, settings: Settings, *, today: date, now: datetime) -> list[Notice]:
    """Every notice due in this pot now, sent or not (the bookkeeping skips what went out already)."""
    slug, pot, currency = info.slug, info.name, info.currency
    current = [m.name for m in ledger.members(slug) if m.left is None]
    is_current = {name_key(n) for n in current}
    proposals = {p.no: p for p in ledger.proposals(info)}
    made = {int(i["proposal_no"]): i for i in ledger.history(info, types=PROPOSAL_TYPES) if "proposal_no" in i}

    def link(no: int) -> str:
        return f"{settings.public_url}/p/{slug}/proposals/{no}"

    def what(no: int) -> str:
        row = proposals.get(no)
        item = made.get(no, {})
        purpose = row.purpose if row is not None else str(item.get("purpose", ""))
        amount = item.get("amount")
        if amount is None or item.get("type") != WithdrawalProposed.TYPE:
            return purpose
        to = item.get("recipient") or ""
        return f"{amount} {currency}{f' to {to}' if to else ''} for {purpose}"

    notices: list[Notice] = []
    for no, item in sorted(made.items()):
        row = proposals.get(no)
        if row is None or row.status != "open" or today > row.closes:
            continue
        eligible = tuple(n for n in item.get("eligible", ()) if name_key(n) in is_current)
        data = {"proposal": no, "closes": row.closes.isoformat(), "purpose": row.purpose}
        if eligible:
            notices.append(
                Notice(
                    slug,
                    int(item["no"]),
                    "proposal",
                    eligible,
                    f"[{_one_line(pot, 40)}] New proposal {no}: {_one_line(what(no))}",
                    f"{item['actor']} proposes {what(no)}.\n\nVotes are taken until {row.closes} (inclusive)."
                    f" Vote here:\n{link(no)}\n",
                    link(no),
                    data,
                )
            )
        if today >= row.closes - timedelta(days=1):
            voted = {name_key(b.member) for b in ledger.proposal(info, no).ballots}
            waiting = tuple(n for n in eligible if name_key(n) not in voted)
            if waiting:
                notices.append(
                    Notice(
                        slug,
                        int(item["no"]),
                        "reminder",
                        waiting,
                        f"[{_one_line(pot, 40)}] Proposal {no} closes {row.closes}: you have not voted yet",
                        f"Proposal {no}, {what(no)}, takes votes until {row.closes} (inclusive)."
                        f"\nNot voted yet: {', '.join(waiting)}.\n\nVote here:\n{link(no)}\n",
                        link(no),
                        data,
                    )
                )
    since = now - timedelta(days=NEWS_DAYS)
    everyone = tuple(current)
    for item in ledger.history(info, types=(ProposalDecided.TYPE, WithdrawalPaid.TYPE)):
        if not everyone or not _recorded_since(item, since):
            continue
        no = int(item["proposal_no"])
        if item["type"] == ProposalDecided.TYPE:
            counts = ", ".join(f"{p} {item[p]}" for p in ("agree", "abstain", "disagree", "block"))
            outcome = str(item["outcome"])
            subject = f"[{_one_line(pot, 40)}] Proposal {no} {outcome}: {_one_line(what(no), 60)}"
            text = (
                f"Proposal {no}, {what(no)}, was {outcome} on {item['on']}.\n"
                f"Votes: {counts} ({item['eligible_count']} could vote).\n\n{link(no)}\n"
            )
            data = {"proposal": no, "outcome": outcome}
            notices.append(Notice(slug, int(item["no"]), "decision", everyone, subject, text, link(no), data))
        else:
            paid = f"{item['amount']} {currency} to {item['recipient']}"
            subject = f"[{_one_line(pot, 40)}] Proposal {no} paid: {_one_line(paid, 60)}"
            text = f"{item['actor']} paid proposal {no}: {paid}, on {item['on']}.\n\n{link(no)}\n"
            data = {"proposal": no, "amount": item["amount"], "currency": currency, "recipient": item["recipient"]}
            notices.append(Notice(slug, int(item["no"]), "payout", everyone, subject, text, link(no), data))
    return notices


# --------------------------------------------------------------------------- exactly once
@dataclass(frozen=True)
class Key:
    slug: str
    event_no: int
    kind: str
    recipient: str


class Bookkeeping:
    """`sent_notices`: claim a notice before sending it, mark it sent after, or let it go when the send failed."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        ensure_tables(engine)

    def done(self, slug: str, now: datetime) -> set[Key]:
        """The notices of a pot that are sent, or being sent by a run that is still within its time."""
        with self.engine.begin() as conn:
            rows = conn.execute(
                select(
                    sent_notices.c.event_no,
                    sent_notices.c.kind,
                    sent_notices.c.recipient,
                    sent_notices.c.state,
                    sent_notices.c.claimed_at,
                ).where(sent_notices.c.slug == slug)
            )
            return {
                Key(slug, int(r.event_no), str(r.kind), str(r.recipient))
                for r in rows
                if r.state == "sent" or _aware(r.claimed_at) > now - STALE_CLAIM
            }

    def claim(self, key: Key, now: datetime) -> str | None:
        """A token when this run may send the notice; None when another run has it (or sent it)."""
        token = secrets.token_hex(8)
        row = {
            "slug": key.slug,
            "event_no": key.event_no,
            "kind": key.kind,
            "recipient": key.recipient,
            "state": f"sending:{token}",
            "claimed_at": now,
        }
        if self.engine.dialect.name == "postgresql":
            from sqlalchemy.dialects.postgresql import insert as pg_insert

            statement: Any = (
                pg_insert(sent_notices).values(**row).on_conflict_do_nothing().returning(sent_notices.c.slug)
            )
        else:
            from sqlalchemy.dialects.sqlite import insert as sqlite_insert

            statement = (
                sqlite_insert(sent_notices).values(**row).on_conflict_do_nothing().returning(sent_notices.c.slug)
            )
        with self.engine.begin() as conn:
            # RETURNING, not rowcount: a driver may report -1 for an insert that did nothing or something.
            if conn.execute(statement).first() is not None:
                return token
            # Someone's claim: take it over only if that run died long ago (compare-and-set on its age).
            taken = conn.execute(
                update(sent_notices)
                .where(
                    self._is(key),
                    sent_notices.c.state.like("sending:%"),
                    sent_notices.c.claimed_at < now - STALE_CLAIM,
                )
                .values(state=f"sending:{token}", claimed_at=now)
            ).rowcount
        return token if taken == 1 else None

    def sent(self, key: Key, token: str, now: datetime) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                update(sent_notices)
                .where(self._is(key), sent_notices.c.state == f"sending:{token}")
                .values(state="sent", sent_at=now)
            )

    def release(self, key: Key, token: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(delete(sent_notices).where(self._is(key), sent_notices.c.state == f"sending:{token}"))

    @staticmethod
    def _is(key: Key) -> Any:
        c = sent_notices.c
        return and_(c.slug == key.slug, c.event_no == key.event_no, c.kind == key.kind, c.recipient == key.recipient)


def _aware(moment: datetime) -> datetime:
    # SQLite hands back naive datetimes for what was stored in UTC.
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


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
            raise SendFailed(f"the mail server at {s.where} could not be used: {_said(e)}", fatal=True) from None
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
            raise SendFailed(f"the mail server refused the mail to {address}: {_said(e)}", fatal=False) from None
        except (smtplib.SMTPException, OSError) as e:
            self._conn = None
            raise SendFailed(f"the mail server at {self.smtp.where} failed: {_said(e)}", fatal=True) from None

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
            raise SendFailed(f"the webhook could not be reached: {_said(e)}", fatal=True) from None
        if not 200 <= answer.status_code < 300:
            raise SendFailed(f"the webhook answered {answer.status_code}", fatal=False)

    def close(self) -> None:
        self.client.close()


def _said(error: Exception) -> str:
    text = " ".join(str(error).split())
    return text or type(error).__name__


# --------------------------------------------------------------------------- a run
@dataclass
class NotifyReport:
    """What one run sent, and what failed (to be tried again next run)."""

    emails: int = 0
    webhooks: int = 0
    lines: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)


def notify(
    ledger: Ledger, settings: Settings, *, slugs: Iterable[str] | None = None, today: date, now: datetime | None = None
) -> NotifyReport:
    """Send every due notice of the pots (all of the store's, without `slugs`) that was not sent yet."""
    now = now or datetime.now(UTC)
    if slugs is None:
        with ledger.read() as conn:
            slugs = pot_slugs(conn)
    books = Bookkeeping(ledger.engine)
    mailer = Mailer(settings.smtp, settings.mail_from or "") if settings.smtp is not None else None
    webhook = Webhook(settings.webhook) if settings.webhook is not None else None
    report = NotifyReport()
    down: set[str] = set()
    try:
        for slug in slugs:
            info = ledger.resolve_pot(slug)
            addresses = emails(ledger, slug) if mailer is not None else {}
            done = books.done(slug, now)
            for notice in due_notices(ledger, info, settings, today=today, now=now):
                sent_to: list[str] = []
                for name, key, address in _targets(notice, addresses, webhook is not None):
                    channel = "webhook" if address is None else "email"
                    if key in done or channel in down:
                        continue
                    token = books.claim(key, now)
                    if token is None:
                        continue
                    try:
                        if address is None:
                            assert webhook is not None
                            webhook.send(notice)
                        else:
                            assert mailer is not None
                            mailer.send(notice, address)
                    except SendFailed as e:
                        books.release(key, token)
                        report.failures.append(str(e))
                        if e.fatal:
                            down.add(channel)
                        continue
                    books.sent(key, token, now)
                    if address is None:
                        report.webhooks += 1
                        sent_to.append("the webhook")
                    else:
                        report.emails += 1
                        sent_to.append(name)
                if sent_to:
                    report.lines.append(
                        f"pot {slug}, event {notice.event_no}, {notice.kind}: sent to {', '.join(sent_to)}"
                    )
    finally:
        if mailer is not None:
            mailer.close()
        if webhook is not None:
            webhook.close()
    return report


def _targets(notice: Notice, addresses: Mapping[str, str], with_webhook: bool) -> Iterator[tuple[str, Key, str | None]]:
    """(who, bookkeeping key, address or None for the webhook) for each delivery of a notice."""
    for name in notice.to:
        address = addresses.get(name_key(name))
        if address is not None:
            yield name, Key(notice.slug, notice.event_no, notice.kind, f"email:{name_key(name)}"), address
    if with_webhook:
        yield WEBHOOK, Key(notice.slug, notice.event_no, notice.kind, WEBHOOK), None


def notify_every(db: str | None, settings: Settings, minutes: int, stop: Any, say: Any) -> None:
    """`pot serve --notify-every`: a run now, then every `minutes` until `stop` (a threading.Event) is set.

    Runs in one thread of the `pot serve` process (not in each worker), on a ledger of its own; the
    bookkeeping keeps it exactly-once beside cron or other servers all the same. A failed run is said
    (`say`, one line) and the next one tries again.
    """
    from ledger.store import resolve

    ledger = Ledger(resolve(db, create=False))
    try:
        while True:
            try:
                report = notify(ledger, settings, today=date.today())
                for line in report.lines:
                    say(f"notify: {line}")
                for failure in report.failures:
                    say(f"notify: not sent, will try again: {failure}")
            except Exception as e:  # A bad run must not end the thread: the next one may work.
                say(f"notify: this run failed, will try again: {_said(e)}")
            if stop.wait(minutes * 60):
                return
    finally:
        ledger.close()
