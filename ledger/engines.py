"""The SQL side of a store: engines, append-only triggers, and the view tables.

The eventsourcing recorders own the events table; everything else in the same
database (the views' tables, the triggers that keep the events insert-only, how
SQLite transactions begin) is set up here, once per process, by `Ledger`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, inspect
from sqlalchemy.pool import NullPool

from ledger.store import VIEWS_ONLY, Store
from projections.core import CoreProjection
from projections.runner import reset
from projections.sql import STORE_LAYOUT
from projections.tables import metadata, refs


def views_engine(engine: Engine) -> Engine:
    """The engine the views are caught up on: commits that do not wait for the disk to confirm them.

    What a catch-up writes is derived from the event log, and the views' positions move
    in the same transaction: a power cut may lose the last catch-ups (never the events,
    committed durably by the event store), and the next read folds those events again.
    On SQLite in WAL mode that is `synchronous = NORMAL`, on PostgreSQL `synchronous_commit = off`;
    everything else keeps its database's durable default. Each vote saves once
    and catches up once, so this spares it one of its two waits for the disk.
    """
    return engine.execution_options(**{VIEWS_ONLY: True})


def sqlite_engine(store: Store, *, pooled: bool = False) -> Engine:
    """The views' engine on a SQLite store; `pooled` keeps connections open between reads (a server).

    A `pot` command opens the file once or twice and exits, so it keeps nothing open
    (NullPool). A server answers many requests: opening the file for each read costs
    more than the read itself, so it keeps a few connections, shared among its threads.
    """
    if pooled:
        engine = create_engine(
            store.sqlalchemy_url, pool_size=4, max_overflow=8, connect_args={"check_same_thread": False}
        )
    else:
        engine = create_engine(store.sqlalchemy_url, poolclass=NullPool)

    @event.listens_for(engine, "connect")
    def _connect(dbapi_conn: Any, _record: Any) -> None:
        # Let us issue BEGIN ourselves: pysqlite's implicit BEGIN comes too late to lock.
        dbapi_conn.isolation_level = None
        dbapi_conn.execute(f"PRAGMA busy_timeout = {store.es_env.get('SQLITE_LOCK_TIMEOUT', '30')}000")

    @event.listens_for(engine, "begin")
    def _begin(conn: Connection) -> None:
        options = conn.get_execution_options()
        # Only the views' catch-up commits without waiting for the disk (VIEWS_ONLY); everything else
        # (sign-in tables, receipts) as SQLite does by default. Set per connection, as the pool shares them.
        synchronous = "NORMAL" if options.get(VIEWS_ONLY) else "FULL"
        if conn.info.get("pot_synchronous") != synchronous:
            conn.exec_driver_sql(f"PRAGMA synchronous = {synchronous}")
            conn.info["pot_synchronous"] = synchronous
        # Writers take the lock at BEGIN, so a catch-up never reads a position another
        # process is about to move; readers get a consistent WAL snapshot.
        mode = "DEFERRED" if options.get("pot_read_only") else "IMMEDIATE"
        conn.exec_driver_sql(f"BEGIN {mode}")

    return engine


# The tables the library keeps in a SQLite store: events, and the pot's snapshots (loading trusts them).
SQLITE_APPEND_ONLY_TABLES = ("stored_events", "stored_snapshots")
# Each guard by its trigger's name.
_APPEND_ONLY_SQLITE = {
    f"{table}_no_{verb.lower()}": f"CREATE TRIGGER IF NOT EXISTS {table}_no_{verb.lower()} BEFORE {verb} ON {table} "
    f"BEGIN SELECT RAISE(ABORT, '{table.replace('_', ' ')} are append-only'); END"
    for table in SQLITE_APPEND_ONLY_TABLES
    for verb in ("UPDATE", "DELETE")
}

# PostgreSQL has no `RAISE(ABORT)` in triggers: a trigger function raises instead.
_APPEND_ONLY_FUNCTION = (
    "CREATE OR REPLACE FUNCTION pot_append_only() RETURNS trigger LANGUAGE plpgsql AS "
    # %% is one % once psycopg has read it: RAISE puts the table's name there.
    "$$ BEGIN RAISE EXCEPTION '%% is append-only: nothing stored is ever changed or deleted', TG_TABLE_NAME; END $$"
)
_APPEND_ONLY_TRIGGERS = (
    "CREATE TRIGGER {table}_no_update_delete BEFORE UPDATE OR DELETE ON {table} "
    "FOR EACH ROW EXECUTE FUNCTION pot_append_only()",
    "CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
    "FOR EACH STATEMENT EXECUTE FUNCTION pot_append_only()",
)


def append_only_tables(app: Any) -> tuple[str, str]:
    """The library's events and snapshots tables of an application on PostgreSQL (`commonpot_events`, …)."""
    return str(app.recorder.events_table_name), str(app.snapshots.recorder.events_table_name)


def missing_append_only(conn: Connection, tables: Iterable[str]) -> list[str]:
    """The tables among `tables` (in the search path) that lack their append-only triggers."""
    missing = []
    for table in tables:
        found = conn.exec_driver_sql(
            "SELECT count(*) FROM pg_trigger WHERE tgrelid = to_regclass(%(table)s) AND tgname IN (%(a)s, %(b)s)",
            {"table": table, "a": f"{table}_no_update_delete", "b": f"{table}_no_truncate"},
        ).scalar()
        if found != len(_APPEND_ONLY_TRIGGERS):
            missing.append(table)
    return missing


def append_only_postgres(engine: Engine, tables: Iterable[str]) -> None:
    """Make the library's events and snapshots tables refuse UPDATE, DELETE and TRUNCATE (once per store).

    A store made before snapshots were guarded has the events' triggers only: the
    snapshots' are added (and the trigger function, which now names its table, replaced).
    """
    with engine.begin() as conn:
        missing = missing_append_only(conn, tables)
        if not missing:
            return
        conn.exec_driver_sql(_APPEND_ONLY_FUNCTION)
        for table in missing:
            for template in _APPEND_ONLY_TRIGGERS:
                statement = template.format(table=table)
                # CREATE TRIGGER has no IF NOT EXISTS before PostgreSQL 14: drop one of a half-made pair first.
                conn.exec_driver_sql(f"DROP TRIGGER IF EXISTS {statement.split()[2]} ON {table}")
                conn.exec_driver_sql(statement)


def create_view_tables(engine: Engine) -> None:
    """Create the read-model tables and indexes a store lacks; refold `core` if its refs table is new.

    `create_all` creates an index only with its table, so an index added to an
    existing table later (the trust report's covering ones) is created here.
    A store made before `cp_refs` existed has refs in its log that the new table
    does not hold yet, and the ref rule reads that table: the core projection is
    emptied, so the next catch-up refolds it from the log, refs included.
    """
    with engine.connect() as conn:
        refs_missing = not inspect(conn).has_table(refs.name)
    metadata.create_all(engine)
    with engine.begin() as conn:
        for table in metadata.sorted_tables:
            for index in table.indexes:
                index.create(conn, checkfirst=True)
    if refs_missing:
        reset(engine, CoreProjection())


def laid_out(engine: Engine) -> bool:
    """Whether this version set the SQLite store up already (`projections.sql.STORE_LAYOUT`): one PRAGMA."""
    with engine.execution_options(pot_read_only=True).connect() as conn:
        return bool(conn.exec_driver_sql("PRAGMA user_version").scalar() == STORE_LAYOUT)


def mark_laid_out(engine: Engine) -> None:
    """Mark the SQLite store as set up by this version (`projections.sql.STORE_LAYOUT`): quick reads trust it.

    Written once per layout, last: a write lock on every open would make readers queue behind writers,
    and a set-up cut short must leave no mark, so the next open finishes it.
    """
    with engine.begin() as conn:
        conn.exec_driver_sql(f"PRAGMA user_version = {STORE_LAYOUT}")


def append_only_sqlite(engine: Engine) -> None:
    """Make the library's events and snapshots tables refuse UPDATE and DELETE from SQL too.

    Every open asks, in one read, whether each guard is there, and puts back any that
    was dropped since (by hand, by an older version): only then does it take the write lock.
    """
    with engine.execution_options(pot_read_only=True).connect() as conn:
        found = conn.exec_driver_sql("SELECT name FROM sqlite_master WHERE type = 'trigger'").scalars()
        missing = _APPEND_ONLY_SQLITE.keys() - set(found)
    if missing:
        with engine.begin() as conn:
            for name in sorted(missing):
                conn.exec_driver_sql(_APPEND_ONLY_SQLITE[name])
