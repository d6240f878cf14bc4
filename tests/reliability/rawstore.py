"""Stored event rows behind the ledger's back, on either backend, as someone with database access could."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import text

from tests.conftest import postgres_engine_for


def is_postgres(db: str) -> bool:
    return "://" in db


def table(db: str) -> str:
    return "commonpot_events" if is_postgres(db) else "stored_events"


@contextmanager
def unguarded(db: str) -> Iterator[Any]:
    """A function `run(sql, **params)` ({events} is the events table) with the append-only guard off."""
    if is_postgres(db):
        with postgres_engine_for(db) as engine, engine.begin() as conn:
            conn.execute(text("ALTER TABLE commonpot_events DISABLE TRIGGER USER"))

            def run_pg(sql: str, **params: Any) -> list[Any]:
                result = conn.execute(text(sql.format(events="commonpot_events")), params)
                return list(result) if result.returns_rows else []

            yield run_pg
            conn.execute(text("ALTER TABLE commonpot_events ENABLE TRIGGER USER"))
        return
    conn = sqlite3.connect(db)
    try:
        conn.execute("DROP TRIGGER IF EXISTS stored_events_no_update")
        conn.execute("DROP TRIGGER IF EXISTS stored_events_no_delete")

        def run_sqlite(sql: str, **params: Any) -> list[Any]:
            return conn.execute(sql.format(events="stored_events"), params).fetchall()

        yield run_sqlite
        conn.commit()
    finally:
        conn.close()  # The next Ledger opened on the file puts the triggers back.


def states(db: str) -> dict[int, bytes]:
    """Every stored payload by version (one pot per store in these tests)."""
    with unguarded(db) as run:
        return {int(v): bytes(s) for v, s in run("SELECT originator_version, state FROM {events}")}


def set_state(db: str, version: int, state: bytes) -> None:
    with unguarded(db) as run:
        run("UPDATE {events} SET state = :s WHERE originator_version = :v", s=state, v=version)


def delete_version(db: str, version: int) -> None:
    with unguarded(db) as run:
        run("DELETE FROM {events} WHERE originator_version = :v", v=version)


def renumber(db: str, version: int, to: int) -> None:
    with unguarded(db) as run:
        run("UPDATE {events} SET originator_version = :to WHERE originator_version = :v", to=to, v=version)


def count_events(db: str) -> int:
    with unguarded(db) as run:
        return int(run("SELECT count(*) FROM {events}")[0][0])
