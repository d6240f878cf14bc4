"""The store is append-only from SQL too: UPDATE, DELETE (and TRUNCATE) on the events table fail (issue 7, item 7).

So do they on the snapshots table (issue 23): a command loads the pot from its
latest snapshot, so an edited snapshot would be believed where an edited event
would not.
"""

from __future__ import annotations

import pytest
from sqlalchemy import text

from ledger.app import PotApplication
from tests.conftest import fingerprint, postgres_engine_for, pot
from tests.reliability.conftest import count

SQLITE_TABLES = {"events": "stored_events", "snapshots": "stored_snapshots"}
POSTGRES_TABLES = {"events": "commonpot_events", "snapshots": "commonpot_snapshots"}


@pytest.fixture
def crew(backend: str, monkeypatch: pytest.MonkeyPatch) -> str:
    # A snapshot after every event, so the snapshots table has rows for UPDATE and DELETE to meet.
    monkeypatch.setattr(PotApplication, "snapshot_every", 1)
    assert pot(backend, "init", "Crew", "--currency", "EUR", "--as", "Ana").code == 0
    assert pot(backend, "--as", "Ana", "contribute", "Ana", "20").code == 0
    return backend


def snapshot_rows(db: str) -> int:
    if "://" not in db:
        import sqlite3

        with sqlite3.connect(db) as conn:
            return int(conn.execute("SELECT count(*) FROM stored_snapshots").fetchone()[0])
    with postgres_engine_for(db) as engine, engine.connect() as conn:
        return int(conn.execute(text("SELECT count(*) FROM commonpot_snapshots")).scalar_one())


@pytest.mark.parametrize("what", ["events", "snapshots"])
def test_the_events_and_snapshots_tables_refuse_update_and_delete_from_sql(crew: str, what: str) -> None:
    before, snapshots = fingerprint(crew), snapshot_rows(crew)
    assert snapshots >= 2
    if "://" not in crew:
        import sqlite3

        table = SQLITE_TABLES[what]
        with sqlite3.connect(crew) as conn:
            for statement in (f"UPDATE {table} SET topic = 'x'", f"DELETE FROM {table}"):
                with pytest.raises(sqlite3.IntegrityError, match="append-only"):
                    conn.execute(statement)
    else:
        from sqlalchemy.exc import DBAPIError

        table = POSTGRES_TABLES[what]
        with postgres_engine_for(crew) as engine:
            for statement in (f"UPDATE {table} SET topic = 'x'", f"DELETE FROM {table}", f"TRUNCATE {table}"):
                with pytest.raises(DBAPIError, match="append-only"), engine.begin() as conn:
                    conn.execute(text(statement))
    assert fingerprint(crew) == before
    assert snapshot_rows(crew) == snapshots
    assert pot(crew, "verify").code == 0
    count(f"SQL edits of stored {what} refused", 2 if "://" not in crew else 3)


def test_a_store_made_before_snapshots_were_guarded_gets_their_triggers_when_next_opened(crew: str) -> None:
    if "://" not in crew:
        import sqlite3

        with sqlite3.connect(crew) as conn:
            conn.execute("DROP TRIGGER stored_snapshots_no_update")
            conn.execute("DROP TRIGGER stored_snapshots_no_delete")
            # A store from before the triggers is also from before the layout mark (projections.sql.STORE_LAYOUT).
            conn.execute("PRAGMA user_version = 0")
    else:
        with postgres_engine_for(crew) as engine, engine.begin() as conn:
            for trigger in ("no_update_delete", "no_truncate"):
                conn.execute(text(f"DROP TRIGGER commonpot_snapshots_{trigger} ON commonpot_snapshots"))
    assert pot(crew, "balance").code == 0
    test_the_events_and_snapshots_tables_refuse_update_and_delete_from_sql(crew, "snapshots")
