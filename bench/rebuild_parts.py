"""Where `pot rebuild`'s time goes: the same rebuild with fewer views, against the bare log read.

Issue 8 asks `pot rebuild` to take at most 2x reading and decoding the log. This
splits the rebuild to show what that budget buys, each part its own process,
timed in alternating pairs with the anchor like every row of `make bench`:

- `history`: a rebuild whose only view is the audit trail, one history row per
  event built as the core view builds it (no digests, sums, proposals or refs):
  a lower bound for any design that keeps the audit trail as a table;
- `core`: the core view alone (pots, members, history, proposals, ballots, refs);
- `all`: `pot rebuild` itself (core, pledges, reflections and trust).

Usage (DB: a generated pot, `python -m bench.data full DB N`):

    .venv/bin/python -m bench.rebuild_parts DB [RUNS]

Each part empties and refolds the views it covers; run `pot rebuild` after it,
because the views of a part that stopped short are left as they were.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, Table

from bench.__main__ import FLOOR, POT, fmt_ratio, fmt_runs, pairs, peak
from domain import chain
from domain.events import PotEvent, payload
from projections.core import CoreProjection, _fields_json
from projections.runner import insert_rows
from projections.tables import history

PARTS = ("history", "core", "all")


class HistoryOnly:
    """The audit-trail rows and nothing else; it takes the core view's name to use its position."""

    name = "core"
    tables: tuple[Table, ...] = (history,)

    def apply_all(self, conn: Connection, events: Sequence[PotEvent]) -> None:
        rows: list[dict[str, Any]] = [
            {
                "slug": "crew",
                "no": e.no,
                "at": chain.iso_at(e.timestamp),
                "on": e.on,
                "type": e.TYPE,
                "actor": e.actor,
                "member": getattr(e, "member", None),
                "delta": 0,
                "fields": _fields_json(payload(e)),
                "digest": e.prev,
            }
            for e in events
        ]
        insert_rows(conn, history, rows)


def rebuild_part(db: str, part: str) -> None:
    """Run in the child process: rebuild only the views of `part`."""
    from ledger.app import Ledger
    from ledger.store import resolve

    ledger = Ledger(resolve(db, create=False))
    ledger.projections = [HistoryOnly() if part == "history" else CoreProjection()]
    print(ledger.rebuild())
    ledger.close()


def main(argv: list[str]) -> None:
    match argv:
        case ["--one", part, db] if part in PARTS[:2]:
            rebuild_part(db, part)
            return
        case [db]:
            runs = 3
        case [db, count]:
            runs = int(count)
        case _:
            sys.exit(__doc__)
    anchor = [*FLOOR, "readlog", db]
    print("| part | median s (min–max) | peak MB | read + decode s (min–max) | ratio |")
    print("|---|---|---|---|---|")
    for part in PARTS:
        one = [sys.executable, "-m", "bench.rebuild_parts", "--one", part, db]
        subject = [*POT, "--db", db, "rebuild"] if part == "all" else one
        mine, theirs = pairs(runs, subject, anchor)
        ratios = [m.seconds / t.seconds for m, t in zip(mine, theirs, strict=True)]
        print(f"| {part} | {fmt_runs(mine)} | {peak(mine)} | {fmt_runs(theirs)} | {fmt_ratio(ratios)} |", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
