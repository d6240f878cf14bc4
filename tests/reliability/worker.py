"""A separate process for the reliability suite: `python -m tests.reliability.worker KIND DB …`.

`contribute DB WORKER N`: N contributions to pot `shared`, each with a unique ref.
`read DB STOPFILE`: read the balance until STOPFILE exists; print reads and decreases as JSON.
`same-refs DB WORKER N`: try to record refs r0…r(N-1), in an order of this worker's own,
each as a contribution of 1.00; print how many were recorded and how many refused.
"""

from __future__ import annotations

import json
import sys
import time
from datetime import date
from pathlib import Path

from domain.errors import Refused
from ledger.app import Ledger
from ledger.store import resolve

SLUG = "shared"
TODAY = date(2026, 3, 1)


def amount(worker: int, i: int) -> int:
    """A different, reproducible amount in cents for every contribution."""
    return (worker * 7919 + i * 104729) % 997 + 1


def contribute(db: str, worker: int, n: int) -> None:
    ledger = Ledger(resolve(db))
    try:
        for i in range(n):
            ledger.contribute(
                SLUG,
                actor="Ana",
                member="Bo",
                amount_minor=amount(worker, i),
                on=TODAY,
                today=TODAY,
                ref=f"w{worker}-{i}",
            )
    finally:
        ledger.close()


def same_refs(db: str, worker: int, n: int) -> None:
    refs = [f"r{i}" for i in range(n)]
    # Each worker its own order, so they meet on different refs at different times.
    refs = refs[worker % n :] + refs[: worker % n]
    if worker % 2:
        refs.reverse()
    ledger = Ledger(resolve(db))
    recorded = refused = 0
    try:
        for ref in refs:
            try:
                ledger.contribute(SLUG, actor="Ana", member="Bo", amount_minor=100, on=TODAY, today=TODAY, ref=ref)
                recorded += 1
            except Refused as e:
                if "already recorded" not in str(e):
                    raise
                refused += 1
    finally:
        ledger.close()
    print(json.dumps({"recorded": recorded, "refused": refused}))


def read(db: str, stopfile: str) -> None:
    ledger = Ledger(resolve(db))
    reads, decreases, last = 0, 0, -1
    try:
        while not Path(stopfile).exists():
            with ledger.read() as conn:
                balance = int(conn.value("SELECT balance FROM cp_pots WHERE slug = ?", SLUG))
            reads += 1
            decreases += balance < last
            last = max(last, balance)
            time.sleep(0.01)
    finally:
        ledger.close()
    print(json.dumps({"reads": reads, "decreases": decreases, "last": last}))


if __name__ == "__main__":
    kind, db, *rest = sys.argv[1:]
    if kind == "contribute":
        contribute(db, int(rest[0]), int(rest[1]))
    elif kind == "same-refs":
        same_refs(db, int(rest[0]), int(rest[1]))
    else:
        read(db, rest[0])
