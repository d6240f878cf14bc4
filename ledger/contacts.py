"""Reminders' two tables beside the views: members' e-mail addresses, and the notices already sent (SPEC §8).

An address is personal data a member may change or remove, so it is never an
event and never in an export: it lives in `member_emails`, keyed by the pot and
the member's `name_key`. `sent_notices` is `pot notify`'s memory of what it has
sent (or is sending right now), so a notice goes out once however often it runs.
Neither is a view: `pot rebuild` leaves both alone.

Who may change an address: a member sets or removes their own; a treasurer may
remove anyone's (a wrong or bouncing address only ever stops mail) but never sets
one for someone else, since an address is where that member's notices go.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Column, DateTime, Engine, Integer, MetaData, String, Table, delete, insert, select, update
from sqlalchemy.exc import ProgrammingError

from domain.errors import BadInput, NotAuthorized, Refused
from domain.values import name_key
from ledger.app import Ledger

metadata = MetaData()

member_emails = Table(
    "member_emails",
    metadata,
    Column("slug", String, primary_key=True),
    Column("member", String, primary_key=True),  # name_key of the member
    Column("address", String, nullable=False),
    Column("set_at", DateTime(timezone=True), nullable=False),
)

# One row per notice and recipient ("email:<name_key>" or "webhook"): "sending" while a run holds it,
# "sent" once it went out. A failed send deletes its row, so the next run tries again.
sent_notices = Table(
    "sent_notices",
    metadata,
    Column("slug", String, primary_key=True),
    Column("event_no", Integer, primary_key=True),
    Column("kind", String, primary_key=True),
    Column("recipient", String, primary_key=True),
    Column("state", String, nullable=False),
    Column("claimed_at", DateTime(timezone=True), nullable=False),
    Column("sent_at", DateTime(timezone=True)),
)

MAX_ADDRESS = 254  # RFC 5321's limit on a forward path
# One plain address: no display name, no spaces or line breaks (they would end up in a mail header).
_ADDRESS = re.compile(r"[^@\s<>(),;:\"\[\]\\]+@[^@\s<>(),;:\"\[\]\\]+\.[^@\s<>(),;:\"\[\]\\.][^@\s<>(),;:\"\[\]\\]*")


@dataclass(frozen=True)
class EmailChange:
    """An address set or removed: the member as the pot spells them, and their address now (None: none)."""

    member: str
    address: str | None
    changed: bool = True


def parse_address(text: str) -> str:
    """An e-mail address as a member types it, checked enough that a mail server can be handed it."""
    address = text.strip()
    if not address:
        raise BadInput("give an e-mail address, e.g. bo@example.org")
    if len(address) > MAX_ADDRESS:
        raise BadInput(f"an e-mail address has at most {MAX_ADDRESS} characters")
    if not address.isascii() or not _ADDRESS.fullmatch(address):
        raise BadInput(f"{address!r} is not an e-mail address like bo@example.org")
    return address


def ensure_tables(engine: Engine) -> None:
    """Create the tables when missing (the owner's `pot` or a SQLite file); a writer role gets them from `db setup`."""
    try:
        metadata.create_all(engine, checkfirst=True)
    except ProgrammingError:
        raise Refused(
            "this store has no tables for reminders yet and this database role may not create them:"
            " ask whoever administers the database to run `pot --db ADMIN_URL db setup`"
        ) from None


def _now() -> datetime:
    return datetime.now(UTC)


def set_email(ledger: Ledger, slug: str, *, actor: str, member: str, address: str) -> EmailChange:
    """Set a current member's own address (a member only for themself)."""
    checked = parse_address(address)
    pot = ledger.load(slug)
    me = pot.current_member(actor)
    whose = pot.current_member(member)
    if name_key(me.name) != name_key(whose.name):
        raise NotAuthorized(f"only {whose.name} may set their own e-mail address; {me.name} may not")
    ensure_tables(ledger.engine)
    key = name_key(whose.name)
    with ledger.engine.begin() as conn:
        found = conn.execute(
            update(member_emails)
            .where(member_emails.c.slug == slug, member_emails.c.member == key)
            .values(address=checked, set_at=_now())
        ).rowcount
        if not found:
            conn.execute(insert(member_emails).values(slug=slug, member=key, address=checked, set_at=_now()))
    return EmailChange(whose.name, checked)


def remove_email(ledger: Ledger, slug: str, *, actor: str, member: str) -> EmailChange:
    """Remove a member's address: their own, or anyone's by a treasurer (also a member who left)."""
    pot = ledger.load(slug)
    me = pot.current_member(actor)
    whose = pot.find_member(member)
    if whose is None:
        from domain.errors import NotFound

        raise NotFound(f"{member!r} is not a member of pot {slug!r}")
    if name_key(me.name) != name_key(whose.name):
        pot.acting_treasurer(actor, f"remove {whose.name}'s e-mail address")
    ensure_tables(ledger.engine)
    with ledger.engine.begin() as conn:
        gone = conn.execute(
            delete(member_emails).where(member_emails.c.slug == slug, member_emails.c.member == name_key(whose.name))
        ).rowcount
    return EmailChange(whose.name, None, changed=bool(gone))


def email_of(ledger: Ledger, slug: str, member: str) -> str | None:
    ensure_tables(ledger.engine)
    with ledger.reader.begin() as conn:
        found = conn.execute(
            select(member_emails.c.address).where(
                member_emails.c.slug == slug, member_emails.c.member == name_key(member)
            )
        ).scalar()
    return None if found is None else str(found)


def emails(ledger: Ledger, slug: str) -> dict[str, str]:
    """Every address in the pot, by member name_key."""
    ensure_tables(ledger.engine)
    with ledger.reader.begin() as conn:
        rows = conn.execute(select(member_emails.c.member, member_emails.c.address).where(member_emails.c.slug == slug))
        return {str(member): str(address) for member, address in rows}
