"""Generated, seeded benchmark data: a crew of six, monthly contributions, 2% withdrawals.

Everything here is set-up, never timed as a result: the contributions CSV for
`pot import`, an N-event pot built through the Ledger in large saves, and the
plain SQLite table of the same money movements that the floors read.
"""

from __future__ import annotations

import csv
import random
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

CREW = ("Ana", "Bo", "Cy", "Dee", "Eli", "Fay")
SLUG = "crew"
SEED = 2026
# Value dates run over these ten years; a large pot has many contributions a day.
FIRST_DAY = date(2016, 1, 1)
LAST_DAY = date(2025, 12, 31)
TODAY = date(2026, 1, 1)
# One money movement in fifty is a withdrawal (propose, six votes, decided, paid).
WITHDRAW_EVERY = 50
# Events saved per `put`: large saves, bounded memory.
CHUNK = 20_000


@dataclass(frozen=True, slots=True)
class Row:
    member: str
    amount_minor: int
    on: date
    ref: str


def day_of(i: int, n: int) -> date:
    return FIRST_DAY + timedelta(days=(LAST_DAY - FIRST_DAY).days * i // max(n - 1, 1))


def contributions(n: int, seed: int = SEED) -> Iterator[Row]:
    """N contributions in date order: each member in turn, a monthly-looking amount."""
    rng = random.Random(seed)
    for i in range(n):
        yield Row(CREW[i % len(CREW)], rng.randrange(2_000, 8_000), day_of(i, n), f"bank-{i:07d}")


def write_csv(path: Path, n: int) -> None:
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(["member", "amount", "on", "ref"])
        for row in contributions(n):
            writer.writerow([row.member, f"{row.amount_minor // 100}.{row.amount_minor % 100:02d}", row.on, row.ref])


def crew_pot(db: Path | str) -> None:
    """A store holding one pot with the crew and nothing else (seven events)."""
    from ledger.app import Ledger
    from ledger.store import resolve

    ledger = Ledger(resolve(str(db)))
    try:
        ledger.open_pot(
            slug=SLUG,
            name="Bench crew",
            currency="EUR",
            quorum=Decimal("0.5"),
            voting_days=7,
            treasurer=CREW[0],
            today=FIRST_DAY,
        )
        for name in CREW[1:]:
            ledger.add_member(SLUG, actor=CREW[0], name=name, treasurer=False, today=FIRST_DAY)
    finally:
        ledger.close()


def full_pot(db: Path | str, n: int, seed: int = SEED) -> int:
    """Grow the crew pot in `db` to about `n` events, saved in large batches; return the count.

    The views are left to catch up on first use, as after a big import.
    """
    from domain.pot import Pot
    from ledger.app import Ledger
    from ledger.store import resolve

    crew_pot(db)
    rng = random.Random(seed)
    ledger = Ledger(resolve(str(db)))
    try:
        pot: Pot = ledger.load(SLUG)
        # Replayed from its first event, the pot knows every contribution itself. Without a
        # past it keeps them rather than handing each saved part over (Pot.release_recent),
        # so each new ref is checked in memory, not by one query per row.
        pot.past = None
        moves = 0
        while pot.version < n:
            on = day_of(pot.version, n)
            moves += 1
            if moves % WITHDRAW_EVERY == 0 and pot.version + 9 <= n:
                asker = CREW[moves % len(CREW)]
                amount = rng.randrange(5_000, 20_000)
                no = pot.propose(
                    actor=asker, amount_minor=amount, purpose="repair", recipient=None, closes=None, today=on
                )
                for voter in CREW:
                    pot.vote(actor=voter, proposal_no=no, position="agree", reason="", today=on)
                if pot.state.proposals[no].amount_minor <= pot.state.balance_minor:
                    pot.pay(actor=CREW[0], proposal_no=no, today=on)
            else:
                member, amount = CREW[moves % len(CREW)], rng.randrange(2_000, 8_000)
                pot.contribute(actor=CREW[0], member=member, amount_minor=amount, on=on, today=on, ref=f"gen-{moves}")
            if len(pot.pending_events) >= CHUNK:
                with ledger.bulk_save(pot):
                    pass  # Stores what is pending, in one transaction, then one snapshot.
        with ledger.bulk_save(pot):
            pass
        return pot.version
    finally:
        ledger.close()


def floor_table(db: Path, source: Path) -> None:
    """The pot's money movements as plain rows (member, signed amount) for the SQL floor."""
    import json

    with sqlite3.connect(source) as src, sqlite3.connect(db) as out:
        out.execute("CREATE TABLE moves (member TEXT NOT NULL, amount INTEGER NOT NULL)")
        rows = []
        for (state,) in src.execute("SELECT state FROM stored_events ORDER BY originator_version"):
            fields = json.loads(state)
            if "amount_minor" in fields and "proposal_no" not in fields:
                rows.append((fields["member"], fields["amount_minor"]))
            elif "recipient" in fields and "amount_minor" in fields and "closes" not in fields:
                rows.append((fields["recipient"], -fields["amount_minor"]))
        out.executemany("INSERT INTO moves VALUES (?, ?)", rows)


if __name__ == "__main__":
    # Run as its own process, so the benchmark's parent stays small: a child's peak
    # memory counts its parent's at the fork.
    import sys

    if any("://" in arg for arg in sys.argv[1:]):
        # Path() would turn a URL into nested folders of SQLite files in the working directory.
        sys.exit("bench.data writes SQLite files (the benchmarks time SQLite): give a file path, not a database URL")
    match sys.argv[1:]:
        case ["crew", db]:
            crew_pot(Path(db))
        case ["csv", path, n]:
            write_csv(Path(path), int(n))
        case ["full", db, n]:
            print(full_pot(Path(db), int(n)))
        case ["floor", db, source]:
            floor_table(Path(db), Path(source))
        case _:
            sys.exit("usage: python -m bench.data crew DB | csv PATH N | full DB N | floor DB SOURCE")
