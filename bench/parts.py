"""Where a missed target's time goes: the same command doing less, against the same anchor.

Issue 8 asks `pot rebuild` to take at most 2x reading and decoding the log, and
`pot import` at most 5x `sqlite3` executemany. This times each command cut down
to a part of its work, every part its own process, in alternating pairs with the
anchor, as every row of `make bench` is timed:

    .venv/bin/python -m bench.parts rebuild DB [RUNS]   # DB: python -m bench.data full DB N
    .venv/bin/python -m bench.parts import N [RUNS]     # a statement of N rows (100k) into the crew's pot

rebuild parts (anchor: read and decode the log):
- `history`: a rebuild whose only view is the audit trail, one history row per
  event built as the core view builds it (no digests, sums, proposals or refs):
  a lower bound for any design that keeps the audit trail as a table;
- `core`: the core view alone (pots, members, history, proposals, ballots, refs);
- `all`: `pot rebuild` itself (core, pledges, reflections and trust).
Each part empties and refolds the views it covers, and the last is a full
rebuild, so the store's views end as they began.

import parts (anchor: csv + executemany of the same rows):
- `read`: open the store and the pot, read and check every row; store nothing;
- `store`: `pot import` but for the views' catch-up after the save;
- `all`: `pot import` itself.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Table

from bench.__main__ import DATA, FLOOR, POT, fmt_ratio, fmt_runs, pairs, peak, size
from bench.data import CREW, SLUG
from domain.events import PotEvent
from projections.core import CoreProjection, history_row
from projections.runner import insert_rows
from projections.tables import history

ME = [sys.executable, "-m", "bench.parts", "--one"]


class HistoryOnly:
    """The audit-trail rows and nothing else; it takes the core view's name to use its position."""

    name = "core"
    tables: tuple[Table, ...] = (history,)

    def apply_all(self, conn: Connection, events: Sequence[PotEvent]) -> None:
        rows = [history_row(SLUG, e, getattr(e, "member", None), 0) for e in events]
        for row, event in zip(rows, events, strict=True):
            row["digest"] = event.prev  # any 64 characters: the digest is not what is measured
        insert_rows(conn, history, rows)


def one(part: str, db: str, statement: str | None = None) -> None:
    """Run in the child process: one part, on the store `db`."""
    from ledger import statement_csv
    from ledger.app import Ledger
    from ledger.store import resolve

    ledger = Ledger(resolve(db, create=False))
    try:
        if part in ("rebuild-history", "rebuild-core"):
            ledger.projections = [HistoryOnly() if part == "rebuild-history" else CoreProjection()]
            print(ledger.rebuild())
        elif part == "import-read" and statement is not None:
            ledger.catch_up()
            rows = statement_csv._parse_rows(ledger.load(SLUG), Path(statement), date.today())
            print(sum(1 for _ in rows))
        elif part == "import-store" and statement is not None:
            ledger.catch_up()
            ledger.catch_up = lambda *, stored=False, again=False: 0  # type: ignore[method-assign]  # the part left out
            done = statement_csv.import_csv(ledger, SLUG, actor=CREW[0], path=Path(statement), today=date.today())
            print(done.new)
        else:
            sys.exit(f"unknown part {part!r}")
    finally:
        ledger.close()


def rebuild(db: str, runs: int) -> None:
    anchor = [*FLOOR, "readlog", db]
    commands = {
        "history": [*ME, "rebuild-history", db],
        "core": [*ME, "rebuild-core", db],
        "all": [*POT, "--db", db, "rebuild"],
    }
    table(commands, anchor, runs)


def import_(n: int, runs: int) -> None:
    with tempfile.TemporaryDirectory(prefix="pot-parts-") as work:
        crew, target = Path(work, "crew.sqlite"), Path(work, "import.sqlite")
        statement, floor_db = Path(work, "statement.csv"), Path(work, "floor.sqlite")
        subprocess.run([*DATA, "crew", str(crew)], check=True)
        subprocess.run([*DATA, "csv", str(statement), str(n)], check=True)

        def fresh_target() -> None:
            for suffix in ("", "-wal", "-shm"):
                Path(f"{target}{suffix}").unlink(missing_ok=True)
            shutil.copyfile(crew, target)

        commands = {
            "read": [*ME, "import-read", str(target), str(statement)],
            "store": [*ME, "import-store", str(target), str(statement)],
            "all": [*POT, "--db", str(target), "--as", "Ana", "import", str(statement), "--json"],
        }
        anchor = [*FLOOR, "import", str(statement), str(floor_db)]
        table(commands, anchor, runs, fresh_target, lambda: floor_db.unlink(missing_ok=True))


def table(commands: dict[str, list[str]], anchor: list[str], runs: int, *prepare: Any) -> None:
    print("| part | median s (min–max) | peak MB | anchor s (min–max) | ratio |")
    print("|---|---|---|---|---|", flush=True)
    for part, argv in commands.items():
        mine, theirs = pairs(runs, argv, anchor, *prepare)
        ratios = [m.seconds / t.seconds for m, t in zip(mine, theirs, strict=True)]
        print(f"| {part} | {fmt_runs(mine)} | {peak(mine)} | {fmt_runs(theirs)} | {fmt_ratio(ratios)} |", flush=True)


def main(argv: list[str]) -> None:
    match argv:
        case ["--one", part, db, *statement] if len(statement) <= 1:
            one(part, db, *statement)
        case ["rebuild", db, *count] if len(count) <= 1:
            rebuild(db, int(count[0]) if count else 3)
        case ["import", n, *count] if len(count) <= 1:
            import_(size(n), int(count[0]) if count else 3)
        case _:
            sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv[1:])
