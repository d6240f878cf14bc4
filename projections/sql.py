"""Plain SQL over the views, through the database's own DB-API driver (sqlite3 or psycopg).

Every query of the read side is written once, as SQL text, and runs on a `Rows`:
the CLI's quick read opens one on a bare `sqlite3` connection (no SQLAlchemy,
pydantic or eventsourcing loaded, issue 22), and the ledger wraps the driver
connection under its own SQLAlchemy transaction in one, so both paths run the
same statements. Placeholders are `?`; on PostgreSQL they become psycopg's `%s`,
so a statement holds no `%` of its own (a LIKE pattern is a parameter).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from datetime import date
from typing import Any

# Rows a streaming read fetches at a time: the history of a long-lived pot never sits whole in memory.
FETCH_ROWS = 1000


class Rows:
    """One read (or write) transaction's queries on the views, as tuples or dicts."""

    def __init__(self, driver_connection: Any, *, sqlite: bool) -> None:
        self.connection = driver_connection
        self.sqlite = sqlite

    def _run(self, sql: str, params: Sequence[object]) -> Any:
        cursor = self.connection.cursor()
        if self.sqlite:
            # The views keep dates as ISO text on SQLite, and booleans as 0/1.
            cursor.execute(sql, [p.isoformat() if isinstance(p, date) else p for p in params])
        else:
            cursor.execute(sql.replace("?", "%s"), list(params))
        return cursor

    def all(self, sql: str, *params: object) -> list[tuple[Any, ...]]:
        return [tuple(row) for row in self._run(sql, params).fetchall()]

    def dicts(self, sql: str, *params: object) -> list[dict[str, Any]]:
        cursor = self._run(sql, params)
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]

    def stream(self, sql: str, *params: object) -> Iterator[dict[str, Any]]:
        """The rows as dicts, fetched a thousand at a time."""
        cursor = self._run(sql, params)
        names = [d[0] for d in cursor.description]
        while batch := cursor.fetchmany(FETCH_ROWS):
            for row in batch:
                yield dict(zip(names, row, strict=True))

    def first(self, sql: str, *params: object) -> dict[str, Any] | None:
        found = self.dicts(sql, *params)
        return found[0] if found else None

    def value(self, sql: str, *params: object) -> Any:
        """The first column of the first row; None when there is no row."""
        row = self._run(sql, params).fetchone()
        return None if row is None else row[0]


def rows_of(connection: Any) -> Rows:
    """The `Rows` of a SQLAlchemy connection, inside its own transaction: the ledger's path to the same SQL."""
    return Rows(connection.connection.driver_connection, sqlite=connection.dialect.name == "sqlite")


def marks(values: Iterable[object]) -> str:
    """`?, ?, ?`: one placeholder for each of `values`, for an `IN (…)`."""
    return ", ".join("?" for _ in values) or "NULL"


def day(value: Any) -> date:
    """A date column's value: SQLite gives ISO text, PostgreSQL a `date`."""
    return value if isinstance(value, date) else date.fromisoformat(value)


def maybe_day(value: Any) -> date | None:
    return None if value is None else day(value)


def like_pattern(text: str) -> str:
    """A LIKE pattern (with ESCAPE '/') matching `text` anywhere, its own `%`, `_` and `/` taken literally."""
    escaped = text.replace("/", "//").replace("%", "/%").replace("_", "/_")
    return f"%{escaped}%"


# The layout of a SQLite store as this version sets it up when the ledger opens it (view tables,
# columns, indexes, append-only triggers), kept in its `PRAGMA user_version` once done
# (`ledger.engines.mark_laid_out`). The ledger makes the tables and indexes only on a store without
# this mark (the guards it checks on every open), and the quick read (`ledger.views`) reads only a
# store laid out so, handing an older one to the ledger: raise it whenever any of that set-up changes.
STORE_LAYOUT = 2

# How a read of the audit trail's rows of a few types orders them by event number: `+no`, an expression,
# so that SQLite finds the rows through the (slug, type, no) index and sorts those few, rather than walk
# the whole trail backwards through its primary key to keep the order (a 100k-event pot: 207 ms -> 0.03 ms).
# PostgreSQL reads it as the number itself.
BY_TYPE_IN_ORDER = "ORDER BY +no"

# The views the ledger keeps, by the name each one's read position is tracked under (`cp_positions`).
CORE, PLEDGES, REFLECTIONS, TRUST = VIEW_NAMES = ("core", "pledges", "reflections", "trust")


def caught_up(db: Rows, newest: int) -> bool:
    """Whether every view has folded the event numbered `newest` in the store's notification log."""
    at = [
        int(n)
        for (n,) in db.all(
            f"SELECT notification_id FROM cp_positions WHERE projection IN ({marks(VIEW_NAMES)})", *VIEW_NAMES
        )
    ]
    return len(at) == len(VIEW_NAMES) and min(at, default=0) >= newest
