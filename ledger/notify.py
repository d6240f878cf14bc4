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

This module holds a run; what is due is worked out in ledger.notify_due, the
bookkeeping is ledger.notify_once, the settings and channels ledger.notify_channels.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from domain.values import name_key
from ledger.app import Ledger
from ledger.contacts import emails
from ledger.notify_channels import Mailer, SendFailed, Settings, Webhook, said
from ledger.notify_due import Notice, due_notices
from ledger.notify_once import Bookkeeping, Key
from projections.queries import pot_slugs

WEBHOOK = "webhook"


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
                say(f"notify: this run failed, will try again: {said(e)}")
            if stop.wait(minutes * 60):
                return
    finally:
        ledger.close()
