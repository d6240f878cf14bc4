"""How the ledger keeps its views: caught up from the event log before a read, once per web request.

A base of `ledger.app.LedgerBase`. The views are a function of the log: a read
first folds whatever events they have not seen (`catch_up`), then reads the
tables in one transaction (`read`). A web request catches up once for all its
reads (`views_once`) and reads them in one shared transaction; a writer's catch-up
after its own save may leave the folding to another process on PostgreSQL, since
every read catches up before it answers.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import TYPE_CHECKING, Any

from eventsourcing.persistence import MapperDeserialisationError
from sqlalchemy import Connection, Engine

from domain.errors import Tampered
from ledger.engines import views_engine
from projections.runner import Projection, catch_up_all, reset
from projections.sql import Rows, caught_up, rows_of

if TYPE_CHECKING:
    from ledger.app import PotApplication
    from ledger.store import Store


class KeepsViews:
    """A base of `LedgerBase`: the views caught up before each read, and the reads' transactions."""

    app: PotApplication
    store: Store
    engine: Engine
    reader: Engine
    projections: list[Projection]
    # Inside `views_once`: what the reads are part of (a web request), where the views were last
    # caught up for it (that scope, and the application's save count then), and its read transaction.
    _scope: object | None
    _caught_up_for: tuple[object, int] | None
    _scope_conn: Connection | None

    def catch_up(self, *, stored: bool = False, again: bool = False) -> int:
        """Fold every event the views have not seen yet; how many were folded.

        Inside `views_once`, only the first read catches up (and the first after a save),
        unless `again`: a command's writer turn needs the views as the store now is.
        `stored`: this process has just stored events, so the views are behind without asking.
        On PostgreSQL that catch-up does not queue behind another process already folding
        (the pot's other writers, catching up after their own saves): the next read folds
        whatever that one did not, before it answers, so only what follows a save may skip.
        """
        scope = self._scope
        if scope is not None:
            if not again and self._caught_up_for == (scope, self.app.saves):
                return 0
            self.end_scope_reads()  # Its snapshot may predate what this catch-up finds.
        if stored and self.store.kind == "postgresql":
            return self._catch_up(ask_first=False, wait=False)  # Not marked caught up: the next read asks.
        if scope is not None and not stored and self._current_in_scope_read():
            folded = 0
        else:
            folded = self._catch_up(ask_first=scope is None and not stored)
        if scope is not None:
            self._caught_up_for = (scope, self.app.saves)
        return folded

    @contextmanager
    def views_once(self, scope: object) -> Iterator[None]:
        """Reads inside, for `scope` (a web request), catch the views up once rather than before every query.

        A page reads the views several times within a few milliseconds; each catch-up,
        even one that finds nothing to fold, asks the store twice. A save made in this
        process inside makes the next read catch up again, so a page shows its own change.
        The scope's reads share one read transaction, begun when its catch-up found the
        views current (so they read the views as that check saw them), until its next
        catch-up; whoever ends the scope calls `end_scope_reads` (a web request, once answered).
        """
        if self._caught_up_for is not None and self._caught_up_for[0] is not scope:
            self.end_scope_reads()  # Left open by another scope: never read in it.
        outer = self._scope
        self._scope = scope
        try:
            yield
        finally:
            self._scope = outer

    def end_scope_reads(self) -> None:
        """End the read transaction a scope's reads shared, if one is open (it only read: rolled back)."""
        conn, self._scope_conn = self._scope_conn, None
        if conn is not None:
            conn.close()

    def _scope_read(self) -> Connection:
        if self._scope_conn is None:
            conn = self.reader.connect()
            try:
                conn.begin()
            except BaseException:
                conn.close()
                raise
            self._scope_conn = conn
        return self._scope_conn

    def _current_in_scope_read(self) -> bool:
        """Whether the views have folded the newest stored event, asked in the scope's read transaction.

        When they have, that transaction stays open for the scope's reads: they read what the
        check saw. When they have not, it ends, and the caller folds.
        """
        newest = self.app.recorder.max_notification_id() or 0
        try:
            if caught_up(rows_of(self._scope_read()), newest):
                return True
        except BaseException:
            self.end_scope_reads()
            raise
        self.end_scope_reads()
        return False

    def _catch_up(self, *, ask_first: bool = True, wait: bool = True) -> int:
        if ask_first and self.views_current():
            return 0

        def read(after: int, limit: int) -> Any:
            return self.app.recorder.select_notifications(start=after, limit=limit, inclusive_of_start=False)

        try:
            return catch_up_all(
                views_engine(self.engine), self.projections, read, self.app.mapper.to_domain_event, wait=wait
            )
        except MapperDeserialisationError as e:
            raise Tampered(f"a stored event cannot be read ({e}); run `pot verify`") from None

    def views_current(self) -> bool:
        """Whether every view has folded the newest stored event: two cheap reads, no write lock.

        Most reads find the views caught up; asking first spares them the catch-up's
        locked transaction (on SQLite a BEGIN IMMEDIATE, which waits for any writer).
        """
        newest = self.app.recorder.max_notification_id() or 0
        with self.reader.begin() as conn:
            return caught_up(rows_of(conn), newest)

    def rebuild(self) -> int:
        self.projections = [type(p)() for p in self.projections]
        for projection in self.projections:
            reset(self.engine, projection)
        return self.catch_up()

    def read(self, *, even_if_views_fail: bool = False) -> AbstractContextManager[Rows]:
        """A consistent read of the views, after catching them up; the queries' SQL runs on it (`projections.sql`).

        `even_if_views_fail`: a history the views cannot fold is read as far as they got (`verify` names why).
        """
        return self._read(even_if_views_fail)

    @contextmanager
    def _read(self, even_if_views_fail: bool) -> Iterator[Rows]:
        try:
            self.catch_up()
        except Tampered:
            if not even_if_views_fail:
                raise
        if self._scope is None:
            with self.reader.begin() as conn:
                yield rows_of(conn)
            return
        try:
            yield rows_of(self._scope_read())
        except BaseException:
            self.end_scope_reads()  # A failed statement leaves PostgreSQL's transaction unusable.
            raise
