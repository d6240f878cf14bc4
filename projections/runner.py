"""Catching projections up with the event log, exactly once, by pulling.

SQLite cannot push notifications, and a CLI does not need it: before answering,
each projection reads the notifications after its recorded position, applies
them, and moves its position in the same transaction. The position row is locked
first (`BEGIN IMMEDIATE` on SQLite, `SELECT … FOR UPDATE` on PostgreSQL), so two
processes catching up at once take turns instead of applying an event twice.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol

from eventsourcing.persistence import Notification
from sqlalchemy import Connection, Engine, Table, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from domain.events import PotEvent
from projections.tables import positions

# Notifications per transaction: measured ~20x faster than one at a time.
BATCH = 500


class Projection(Protocol):
    name: str
    tables: tuple[Table, ...]

    def apply(self, conn: Connection, event: PotEvent) -> None: ...


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


def catch_up(
    engine: Engine,
    projection: Projection,
    read: ReadNotifications,
    decode: Decode,
    on_progress: Callable[[int], None] | None = None,
) -> int:
    """Apply every notification after the projection's position; return how many."""
    _ensure_position(engine, projection.name)
    applied = 0
    while True:
        with engine.begin() as conn:
            position = conn.execute(
                select(positions.c.notification_id).where(positions.c.projection == projection.name).with_for_update()
            ).scalar_one()
            batch = read(int(position), BATCH)
            _fold(conn, projection, [e for e in map(decode, batch) if isinstance(e, PotEvent)])
            if batch:
                conn.execute(
                    update(positions)
                    .where(positions.c.projection == projection.name)
                    .values(notification_id=batch[-1].id)
                )
        applied += len(batch)
        if on_progress is not None and batch:
            on_progress(len(batch))
        if len(batch) < BATCH:
            return applied


def _fold(conn: Connection, projection: Projection, events: Sequence[PotEvent]) -> None:
    # A projection that folds a whole batch at once (fewer statements) may say so.
    apply_all = getattr(projection, "apply_all", None)
    if apply_all is not None:
        apply_all(conn, events)
    else:
        for event in events:
            projection.apply(conn, event)


def catch_up_all(engine: Engine, projections: Sequence[Projection], read: ReadNotifications, decode: Decode) -> int:
    """`catch_up` for several projections at once: each batch is read and decoded once for all.

    Every position row is locked (in name order, so two processes never deadlock)
    and moved in the same transaction as the rows it covers; a projection that is
    ahead of the others skips what it has already applied. Returns the number of
    notifications applied, summed over the projections, as `catch_up` would.
    """
    names = sorted(p.name for p in projections)
    # One look for all the position rows instead of a transaction per projection.
    with engine.begin() as conn:
        known = set(conn.execute(select(positions.c.projection).where(positions.c.projection.in_(names))).scalars())
    for name in names:
        if name not in known:
            _ensure_position(engine, name)
    applied = 0
    while True:
        with engine.begin() as conn:
            rows = conn.execute(
                select(positions.c.projection, positions.c.notification_id)
                .where(positions.c.projection.in_(names))
                .order_by(positions.c.projection)
                .with_for_update()
            )
            at = {str(name): int(position) for name, position in rows}
            batch = read(min(at.values()), BATCH)
            decoded = [(n.id, decode(n)) for n in batch]
            for projection in projections:
                mine = [e for i, e in decoded if i > at[projection.name] and isinstance(e, PotEvent)]
                moved = [i for i, _ in decoded if i > at[projection.name]]
                _fold(conn, projection, mine)
                if moved:
                    conn.execute(
                        update(positions)
                        .where(positions.c.projection == projection.name)
                        .values(notification_id=moved[-1])
                    )
                    applied += len(moved)
        if len(batch) < BATCH:
            return applied


def reset(engine: Engine, projection: Projection) -> None:
    """Empty a projection's tables and position, in one transaction."""
    with engine.begin() as conn:
        for table in reversed(projection.tables):
            conn.execute(delete(table))
        conn.execute(delete(positions).where(positions.c.projection == projection.name))
