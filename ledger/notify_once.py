"""`pot notify`'s bookkeeping, so each notice goes out exactly once: the rows of `sent_notices`.

Before sending, a run claims the notice's row (a unique key: pot, event, kind,
recipient; an insert that does nothing if the row exists), then sends, then
marks it sent; a failed send deletes the claim. A claim left by a run that died
mid-send is taken over after `STALE_CLAIM`.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, and_, delete, select, update

from ledger.contacts import ensure_tables, sent_notices

# A claim this old whose run never marked it sent (the process died mid-send) may be taken over.
STALE_CLAIM = timedelta(minutes=15)


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
