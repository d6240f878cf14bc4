"""The store is append-only from SQL too: UPDATE, DELETE (and TRUNCATE) on the events table fail (issue 7, item 7)."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from tests.conftest import fingerprint, postgres_engine_for, pot
from tests.reliability.conftest import count


@pytest.fixture
def crew(backend: str) -> str:
    assert pot(backend, "init", "Crew", "--currency", "EUR", "--as", "Ana").code == 0
    assert pot(backend, "--as", "Ana", "contribute", "Ana", "20").code == 0
    return backend


def test_the_events_table_refuses_update_and_delete_from_sql(crew: str) -> None:
    before = fingerprint(crew)
    if "://" not in crew:
        import sqlite3

        with sqlite3.connect(crew) as conn:
            for statement in ("UPDATE stored_events SET topic = 'x'", "DELETE FROM stored_events"):
                with pytest.raises(sqlite3.IntegrityError, match="append-only"):
                    conn.execute(statement)
    else:
        from sqlalchemy.exc import DBAPIError

        with postgres_engine_for(crew) as engine:
            for statement in (
                "UPDATE commonpot_events SET topic = 'x'",
                "DELETE FROM commonpot_events",
                "TRUNCATE commonpot_events",
            ):
                with pytest.raises(DBAPIError, match="append-only"), engine.begin() as conn:
                    conn.execute(text(statement))
    assert fingerprint(crew) == before
    assert pot(crew, "verify").code == 0
    count("SQL edits of stored events refused", 2 if "://" not in crew else 3)
