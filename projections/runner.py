"""Catching projections up with the event log, exactly once, by pulling.

SQLite cannot push notifications, and a CLI does not need it: before answering,
each projection reads the notifications after its recorded position, applies
them, and moves its position in the same transaction. The position row is locked
first (`BEGIN IMMEDIATE` on SQLite, `SELECT … FOR UPDATE` on PostgreSQL), so two
processes catching up at once take turns instead of applying an event twice.

A long catch-up (`pot rebuild`, or the first read of a big store) reads ever
bigger batches, and projections write their many rows with `insert_rows`, which
hands them to the database driver without SQLAlchemy's per-row work.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import date
from operator import itemgetter
from typing import Any, Protocol

from eventsourcing.persistence import Notification
from sqlalchemy import (
    Column,
    Connection,
    Date,
    Dialect,
    Engine,
    Select,
    Table,
    bindparam,
    delete,
    insert,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError

from domain.errors import Tampered
from domain.events import PotEvent
from projections.tables import positions

# Notifications per transaction: measured ~20x faster than one at a time. A catch-up
# that keeps finding full batches doubles its batch up to BIG_BATCH: fewer commits
# and statements, while an everyday catch-up of a few events stays one small read.
# Beyond 2,000 a 100k-event rebuild was no faster, only bigger (115 MB at 8,000, 72 MB here).
BATCH = 500
BIG_BATCH = 2000


class Projection(Protocol):
    name: str
    tables: tuple[Table, ...]

    def apply_all(self, conn: Connection, events: Sequence[PotEvent]) -> None:
        """Fold a batch of events into the tables, in order, inside the caller's transaction."""
        ...


ReadNotifications = Callable[[int, int], Sequence[Notification]]
Decode = Callable[[Notification], Any]


def _ensure_position(engine: Engine, name: str) -> None:
    with engine.begin() as conn:
        if conn.execute(select(positions.c.projection).where(positions.c.projection == name)).first() is None:
            try:
                with conn.begin_nested():
                    conn.execute(insert(positions).values(projection=name, notification_id=0))
            except IntegrityError:
                pass  # Another process inserted it first: same outcome.


def catch_up_all(
    engine: Engine, projections: Sequence[Projection], read: ReadNotifications, decode: Decode, *, wait: bool = True
) -> int:
    """Apply every notification after each projection's position; each batch is read and decoded once for all.

    Every position row is locked (in name order, so two processes never deadlock)
    and moved in the same transaction as the rows it covers; a projection that is
    ahead of the others skips what it has already applied. Returns how many
    notifications were applied (each counted once, however many projections applied it).

    `wait=False` (PostgreSQL; SQLite always waits): when another process holds the
    position rows, it is folding already: apply nothing and return 0 rather than queue
    behind it. The views may then stay behind until the next read, which catches them up
    before it answers (`LedgerBase.catch_up`), so only a writer that needs no view may ask it.
    """
    names = sorted(p.name for p in projections)
    lock = _LOCK_POSITIONS if wait else _TRY_LOCK_POSITIONS
    with _cyclic_gc_paused():
        return _apply_batches(engine, projections, names, read, decode, lock)


def _apply_batches(
    engine: Engine,
    projections: Sequence[Projection],
    names: list[str],
    read: ReadNotifications,
    decode: Decode,
    lock: Select[Any],
) -> int:
    applied, size = 0, BATCH
    while True:
        events: list[PotEvent] = []
        try:
            applied_now = _apply_one_batch(engine, projections, names, read, decode, size, events, lock)
            if applied_now is None:
                if lock is _TRY_LOCK_POSITIONS:
                    # Rows held by another catch-up (or missing, which a waiting catch-up will add).
                    return applied
                # A projection with no position row yet (a new store, or reset).
                for name in names:
                    _ensure_position(engine, name)
                continue
        except IntegrityError as e:
            # A history the commands could not have made (two members with one name, inserted
            # behind pot's back) cannot fold into the views' keys. Fold one event at a time up to
            # it, so the views stop just before it, and name it: `pot verify` says what is wrong.
            if size > 1:
                size = 1
                continue
            bad = f"event {events[0].no}" if events else "an event"
            raise Tampered(f"the views cannot fold {bad} ({e.orig}): run `pot verify`") from None
        applied += applied_now
        if applied_now < size:
            return applied
        size = min(size * 2, BIG_BATCH)


def _apply_one_batch(
    engine: Engine,
    projections: Sequence[Projection],
    names: list[str],
    read: ReadNotifications,
    decode: Decode,
    size: int,
    events: list[PotEvent],
    lock: Select[Any],
) -> int | None:
    """Apply up to `size` notifications in one transaction; `events` receives the batch's events.

    None, having applied nothing, when a projection has no position row yet, or (`lock`
    skipping locked rows) when another transaction holds one.
    """
    with engine.begin() as conn:
        at = {str(name): int(position) for name, position in conn.execute(lock, {"names": names})}
        if len(at) < len(names):
            return None
        start = min(at.values())
        batch = read(start, size)
        decoded = [(n.id, decode(n)) for n in batch]
        events.extend(e for _, e in decoded if isinstance(e, PotEvent))
        moved = []
        for projection in projections:
            after = at[projection.name]
            # A projection ahead of the others skips what it has applied already.
            mine = events if after == start else [e for i, e in decoded if i > after and isinstance(e, PotEvent)]
            projection.apply_all(conn, mine)
            if any(i > after for i, _ in decoded):
                moved.append({"name": projection.name, "to": batch[-1].id})
        if moved:
            conn.execute(_MOVE_POSITION, moved)
        # Every notification read lies past the furthest-behind position, so someone applied it.
        return len(decoded)


# Built once: a catch-up after each web request runs them, and building a statement costs more than running it.
_LOCK_POSITIONS = (
    select(positions.c.projection, positions.c.notification_id)
    .where(positions.c.projection.in_(bindparam("names", expanding=True)))
    .order_by(positions.c.projection)
    .with_for_update()
)
# The same, leaving out rows another transaction holds (PostgreSQL's SKIP LOCKED; SQLite has no row locks).
_TRY_LOCK_POSITIONS = _LOCK_POSITIONS.with_for_update(skip_locked=True)
_MOVE_POSITION = (
    update(positions).where(positions.c.projection == bindparam("name")).values(notification_id=bindparam("to"))
)


@contextmanager
def _cyclic_gc_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector while folding.

    A fold allocates hundreds of thousands of short-lived objects (events, rows)
    that reference counting frees on its own; the collector would instead rescan
    everything alive again and again: over a second of a 100k-event rebuild.
    """
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


class Slugs:
    """A projection's pot id (hex) → slug lookup, read from its own pots table once per pot.

    Pots never change slug, so the cache never goes stale. Each projection keeps its
    own table of pots, so it can be rebuilt without the others.
    """

    def __init__(self, pot_id: Column[Any], slug: Column[Any]) -> None:
        self._query = select(slug).where(pot_id == bindparam("pot_id"))
        self._known: dict[str, str] = {}

    def learn(self, pot_id: str, slug: str) -> None:
        """A pot this projection has just stored (its `pot_opened`)."""
        self._known[pot_id] = slug

    def of(self, conn: Connection, event: PotEvent) -> str:
        key = event.originator_id.hex
        slug = self._known.get(key)
        if slug is None:
            slug = self._known[key] = str(conn.execute(self._query, {"pot_id": key}).scalar_one())
        return slug


def reset(engine: Engine, projection: Projection) -> None:
    """Empty a projection's tables and position, in one transaction."""
    with engine.begin() as conn:
        for table in reversed(projection.tables):
            conn.execute(delete(table))
        conn.execute(delete(positions).where(positions.c.projection == projection.name))


def insert_rows(conn: Connection, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    """INSERT every row (a value for each of the table's columns) through the driver's executemany.

    The same statement SQLAlchemy would run, on the same connection and so in the
    same transaction, but without its per-parameter bookkeeping, which cost more
    than the database's own work for a batch of history rows. The values that this
    database needs converted (dates on SQLite) are converted in the rows themselves.
    """
    if not rows:
        return
    sql, order, conversions = _prepared(conn.dialect, table)
    for name, convert in conversions:
        for row in rows:
            row[name] = convert(row[name])
    # A positional paramstyle (SQLite's qmark) takes tuples in the statement's order.
    conn.exec_driver_sql(sql, rows if order is None else list(map(itemgetter(*order), rows)))


def _iso_date(value: date | None) -> str | None:
    # The text SQLAlchemy stores for a date on SQLite ("%04d-%02d-%02d"), at a third of the cost.
    return None if value is None else value.isoformat()


_Prepared = tuple[str, list[str] | None, list[tuple[str, Callable[[Any], Any]]]]
_prepared_inserts: dict[tuple[str, str], _Prepared] = {}


def _prepared(dialect: Dialect, table: Table) -> _Prepared:
    """The table's INSERT compiled for this database, its parameter order if positional, and its conversions.

    The conversions are SQLAlchemy's own bind processors for this database, but
    for dates on SQLite, where `date.isoformat` gives the same text.
    """
    key = (dialect.name, table.name)
    found = _prepared_inserts.get(key)
    if found is None:
        compiled = table.insert().compile(dialect=dialect)
        conversions: list[tuple[str, Callable[[Any], Any]]] = [
            (c.key, _iso_date if dialect.name == "sqlite" and isinstance(c.type, Date) else process)
            for c in table.columns
            if (process := c.type.dialect_impl(dialect).bind_processor(dialect)) is not None
        ]
        order = list(compiled.positiontup or []) if compiled.positional else None
        found = (str(compiled), order, conversions)
        _prepared_inserts[key] = found
    return found
