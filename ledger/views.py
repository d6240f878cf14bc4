"""The CLI's quick read (issue 22): a SQLite store's views, read with `sqlite3` alone while they are caught up.

A read command that finds the views holding the newest event answers from the
materialized tables through the very queries the ledger runs (`ledger.reads`,
`projections.sql`), without loading SQLAlchemy, pydantic or eventsourcing. The
check and the queries share one read transaction (one WAL snapshot), so an
answer is never older than a write that ended before it began. When the views
are behind (or were laid out by another version of commonpot), it hands every
read to the whole ledger, which catches them up first.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, closing, contextmanager
from typing import TYPE_CHECKING

from ledger.reads import ViewReads
from projections.sql import STORE_LAYOUT, Rows, caught_up

if TYPE_CHECKING:
    from pathlib import Path

# The event store's table in a SQLite store (the library's `eventsourcing.sqlite` recorder),
# whose rowids are the notification log's positions.
_NEWEST_EVENT = "SELECT MAX(rowid) FROM stored_events"


class QuickViews(ViewReads):
    """The views' queries on a bare `sqlite3` connection; `full()` gives the ledger when they are behind."""

    def __init__(self, path: str | Path, full: Callable[[], ViewReads], *, lock_timeout_seconds: int) -> None:
        self.path = path
        self._full_ledger = full
        self._full: ViewReads | None = None
        self._timeout = lock_timeout_seconds

    def read(self, *, even_if_views_fail: bool = False) -> AbstractContextManager[Rows]:
        return self._read(even_if_views_fail)

    @contextmanager
    def _read(self, even_if_views_fail: bool) -> Iterator[Rows]:
        if self._full is None:
            # Autocommit mode: the BEGIN below is ours, so the check and the queries share one snapshot.
            with closing(sqlite3.connect(self.path, timeout=self._timeout, isolation_level=None)) as connection:
                connection.execute("BEGIN")
                db = Rows(connection, sqlite=True)
                if self._answers(db):
                    yield db
                    return
            self._full = self._full_ledger()
        with self._full.read(even_if_views_fail=even_if_views_fail) as db:
            yield db

    @staticmethod
    def _answers(db: Rows) -> bool:
        """Whether the views are laid out as this version keeps them and have folded the newest event."""
        try:
            if db.value("PRAGMA user_version") != STORE_LAYOUT:
                return False
            return caught_up(db, int(db.value(_NEWEST_EVENT) or 0))
        except sqlite3.OperationalError:
            return False  # No views or no events yet: the ledger makes them.
