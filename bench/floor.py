"""The floors: the least work that could answer the same question, each run as its own process.

    python -m bench.floor import STATEMENT.csv OUT.sqlite   # sqlite3 executemany, one transaction
    python -m bench.floor balance FLOOR.sqlite              # SUM(amount) GROUP BY member
    python -m bench.floor readlog STORE.sqlite              # read and decode the notification log

Only the last one imports commonpot: it is the library's own read and decode,
with nothing folded.
"""

from __future__ import annotations

import csv
import sqlite3
import sys
from decimal import Decimal

# Issue 22's floors, each run as `python -c CODE DB`: a bare process that imports nothing but sqlite3.
# A quick read's: one SELECT on a pot's view, printed.
VIEW_CODE = (
    "import sqlite3, sys\n"
    "for row in sqlite3.connect(sys.argv[1]).execute("
    "'SELECT name, contributed, received FROM cp_members ORDER BY slug, joined_no'):\n"
    "    print(*row)"
)
# A write's: one row inserted and committed.
INSERT_CODE = (
    "import sqlite3, sys\n"
    "with sqlite3.connect(sys.argv[1]) as conn:\n"
    "    conn.execute('CREATE TABLE IF NOT EXISTS moves (member TEXT, amount INTEGER)')\n"
    "    conn.execute('INSERT INTO moves VALUES (?, ?)', ('Bo', 1000))"
)


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
        case _:
            sys.exit(__doc__)
