"""The SQL side of a store: engines, append-only triggers, and the view tables.

The eventsourcing recorders own the events table; everything else in the same
database (the views' tables, the triggers that keep the events insert-only, how
SQLite transactions begin) is set up here, once per process, by `Ledger`.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, inspect
from sqlalchemy.pool import NullPool

from ledger.store import Store
from projections.core import CoreProjection
from projections.runner import reset
from projections.tables import metadata, refs


def sqlite_engine(store: Store) -> Engine:
    engine = create_engine(store.sqlalchemy_url, poolclass=NullPool)

    @event.listens_for(engine, "connect")
    def _connect(dbapi_conn: Any, _record: Any) -> None:
        # Let us issue BEGIN ourselves: pysqlite's implicit BEGIN comes too late to lock.
        dbapi_conn.isolation_level = None
        dbapi_conn.execute(f"PRAGMA busy_timeout = {store.es_env.get('SQLITE_LOCK_TIMEOUT', '30')}000")

    @event.listens_for(engine, "begin")
    def _begin(conn: Connection) -> None:
        # Writers take the lock at BEGIN, so a catch-up never reads a position another
        # process is about to move; readers get a consistent WAL snapshot.
        mode = "DEFERRED" if conn.get_execution_options().get("pot_read_only") else "IMMEDIATE"
        conn.exec_driver_sql(f"BEGIN {mode}")

    return engine


_APPEND_ONLY_SQLITE = (
    "CREATE TRIGGER IF NOT EXISTS stored_events_no_update BEFORE UPDATE ON stored_events "
    "BEGIN SELECT RAISE(ABORT, 'stored events are append-only'); END",
    "CREATE TRIGGER IF NOT EXISTS stored_events_no_delete BEFORE DELETE ON stored_events "
    "BEGIN SELECT RAISE(ABORT, 'stored events are append-only'); END",
)


# PostgreSQL has no `RAISE(ABORT)` in triggers: a trigger function raises instead.
_APPEND_ONLY_POSTGRES = (
    "CREATE OR REPLACE FUNCTION pot_append_only() RETURNS trigger LANGUAGE plpgsql AS "
    "$$ BEGIN RAISE EXCEPTION 'stored events are append-only'; END $$",
    "CREATE TRIGGER {table}_no_update_delete BEFORE UPDATE OR DELETE ON {table} "
    "FOR EACH ROW EXECUTE FUNCTION pot_append_only()",
    "CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
    "FOR EACH STATEMENT EXECUTE FUNCTION pot_append_only()",
)


def append_only_postgres(engine: Engine, recorder: Any) -> None:
    """Make the library's events table refuse UPDATE, DELETE and TRUNCATE (once per store)."""
    table = str(recorder.events_table_name)
    with engine.begin() as conn:
        exists = conn.exec_driver_sql(
            "SELECT 1 FROM pg_trigger WHERE tgname = %(name)s AND tgrelid = to_regclass(%(table)s)",
            {"name": f"{table}_no_update_delete", "table": table},
        ).first()
        if exists is None:
            for statement in _APPEND_ONLY_POSTGRES:
                conn.exec_driver_sql(statement.format(table=table))


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


def append_only_sqlite(engine: Engine) -> None:
    """Make the library's events table refuse UPDATE and DELETE from SQL too."""
    with engine.begin() as conn:
        for statement in _APPEND_ONLY_SQLITE:
            conn.exec_driver_sql(statement)
