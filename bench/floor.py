"""The floors: the least work that could answer the same question, each run as its own process.

    python -m bench.floor import STATEMENT.csv OUT.sqlite   # sqlite3 executemany, one transaction
    python -m bench.floor balance FLOOR.sqlite              # SUM(amount) GROUP BY member
    python -m bench.floor readlog STORE.sqlite              # read and decode the notification log
    python -m bench.floor view STORE.sqlite                 # the members' view, as `pot balance` reads it
    python -m bench.floor insert SCRATCH.sqlite             # one row inserted and committed

Only the last one imports commonpot: it is the library's own read and decode,
with nothing folded.
"""

from __future__ import annotations

import csv
import sqlite3
import sys
from decimal import Decimal


def import_floor(csv_path: str, db: str) -> None:
    conn = sqlite3.connect(db)
    conn.execute('CREATE TABLE IF NOT EXISTS rows (member TEXT, amount INTEGER, "on" TEXT, ref TEXT UNIQUE)')
    with open(csv_path, newline="", encoding="utf-8") as f:
        reader = csv.reader(f)
        next(reader)
        rows = [(m, int(Decimal(a) * 100), on, ref) for m, a, on, ref in reader]
    with conn:
        conn.executemany("INSERT INTO rows VALUES (?, ?, ?, ?)", rows)
    conn.close()


def balance_floor(db: str) -> None:
    conn = sqlite3.connect(db)
    for member, total in conn.execute("SELECT member, SUM(amount) FROM moves GROUP BY member"):
        print(member, total)
    conn.close()


def view_floor(db: str) -> None:
    """The quick read's floor (issue 22): one SELECT on a pot's view, printed, in a bare process."""
    conn = sqlite3.connect(db)
    for row in conn.execute("SELECT name, contributed, received FROM cp_members ORDER BY slug, joined_no"):
        print(*row)
    conn.close()


def insert_floor(db: str) -> None:
    """A write's floor (issue 22): one row inserted and committed by a python process."""
    conn = sqlite3.connect(db)
    with conn:
        conn.execute("CREATE TABLE IF NOT EXISTS moves (member TEXT, amount INTEGER)")
        conn.execute("INSERT INTO moves VALUES (?, ?)", ("Bo", 1000))
    conn.close()


def readlog_floor(db: str) -> None:
    from uuid import UUID

    from eventsourcing.application import Application

    from ledger.store import resolve

    app: Application[UUID] = Application(env=resolve(db, create=False).es_env)
    after, count = 0, 0
    while True:
        page = app.recorder.select_notifications(start=after, limit=500, inclusive_of_start=False)
        for notification in page:
            app.mapper.to_domain_event(notification)
        count += len(page)
        if len(page) < 500:
            break
        after = page[-1].id
    print(count)


if __name__ == "__main__":
    match sys.argv[1:]:
        case ["import", csv_path, db]:
            import_floor(csv_path, db)
        case ["balance", db]:
            balance_floor(db)
        case ["readlog", db]:
            readlog_floor(db)
        case ["view", db]:
            view_floor(db)
        case ["insert", db]:
            insert_floor(db)
        case _:
            sys.exit(__doc__)
