"""A loaded pot's past contributions, as the ledger answers for them (`domain.past.PastContributions`).

The domain asks its past for single contributions (a reversal's, a repeated
`ref`) rather than carrying every one in its state; this is where the ledger
answers: one event from the event store by number, refs from the views' indexed
refs table, and what a long import stored part by part from a private table.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Collection, Iterable
from datetime import date
from typing import TYPE_CHECKING

from sqlalchemy import select

from domain.events import ContributionRecorded
from domain.past import Contribution
from domain.pot import pot_id
from projections.tables import refs

if TYPE_CHECKING:
    from ledger.app import LedgerBase

# Refs asked of the database per query (well under SQLite's limit on bound parameters).
LOOKUP_CHUNK = 500


class StoredPast:
    """A loaded pot's past contributions, from the event store and the refs table (domain.past.PastContributions).

    Used inside the pot's writer turn, after the pot is loaded: the views are
    caught up first, so the refs table holds every ref stored up to that point,
    and a ref saved later by someone else makes our save conflict and decide again.
    What a long import stores part by part (`keep`) is not in that table until the
    import commits: it waits in a private temporary SQLite database, which spills
    to disk past a small cache, so an import's memory does not grow with its file.
    """

    def __init__(self, ledger: LedgerBase, slug: str) -> None:
        self._ledger, self._slug = ledger, slug
        # Answers already read, None for a ref not recorded: an import asks once per part,
        # then once per row. Emptied whenever contributions are kept, so it holds one part.
        self._known: dict[str, Contribution | None] = {}
        self._caught_up = False
        self._kept: sqlite3.Connection | None = None

    def catch_up(self) -> None:
        """Bring the refs table up to the store, once per turn.

        A long write calls this before it takes the store's write lock: the catch-up
        writes the views too, and on SQLite would wait for that lock behind itself.
        """
        if not self._caught_up:
            # `again`: a web request may have caught up before this writer turn began, and another
            # process stored a ref since (in the pot just loaded, but not yet in the refs table).
            self._ledger.catch_up(again=True)
            self._caught_up = True

    def contribution(self, no: int) -> Contribution | None:
        if self._kept is not None:
            row = self._kept.execute("SELECT no, member, amount, day, ref FROM kept WHERE no = ?", (no,)).fetchone()
            if row is not None:
                return _kept_contribution(row)
        stored = list(self._ledger.app.events.get(pot_id(self._slug), gt=no - 1, lte=no))
        event = stored[0] if stored else None
        if not isinstance(event, ContributionRecorded):
            return None
        return Contribution(event.no, event.member, event.amount_minor, event.on, event.ref)

    def by_refs(self, wanted: Collection[str]) -> dict[str, Contribution]:
        missing = [ref for ref in wanted if ref not in self._known]
        if missing:
            self.catch_up()
            query = select(refs.c.ref, refs.c.no, refs.c.member, refs.c.amount, refs.c.on)
            with self._ledger.reader.begin() as conn:
                for start in range(0, len(missing), LOOKUP_CHUNK):
                    chunk = missing[start : start + LOOKUP_CHUNK]
                    self._known.update(dict.fromkeys(chunk))
                    for ref, no, member, amount, on in conn.execute(
                        query.where(refs.c.slug == self._slug, refs.c.ref.in_(chunk))
                    ):
                        self._known[ref] = Contribution(no, member, amount, on, ref)
                    if self._kept is not None:
                        marks = ",".join("?" * len(chunk))
                        for row in self._kept.execute(
                            f"SELECT no, member, amount, day, ref FROM kept WHERE ref IN ({marks})", chunk
                        ):
                            self._known[row[4]] = _kept_contribution(row)
        return {ref: c for ref in wanted if (c := self._known.get(ref)) is not None}

    def keep(self, contributions: Iterable[Contribution]) -> None:
        rows = [(c.no, c.member, c.amount_minor, c.on.isoformat(), c.ref) for c in contributions]
        if not rows:
            return
        if self._kept is None:
            # "": SQLite's private temporary database, deleted when closed.
            self._kept = sqlite3.connect("")
            self._kept.execute(
                "CREATE TABLE kept (no INTEGER PRIMARY KEY, member TEXT, amount INTEGER, day TEXT, ref TEXT UNIQUE)"
            )
        try:
            self._kept.executemany("INSERT INTO kept VALUES (?, ?, ?, ?, ?)", rows)
        except sqlite3.IntegrityError as e:
            # Raised inside the event store's transaction, the library would report a
            # sqlite3.IntegrityError as a concurrent writer, and the command would retry.
            raise RuntimeError(f"pot {self._slug!r}: a ref was about to be recorded twice ({e})") from e
        self._known.clear()


def _kept_contribution(row: tuple[int, str, int, str, str | None]) -> Contribution:
    no, member, amount, day, ref = row
    return Contribution(no, member, amount, date.fromisoformat(day), ref)
