"""Which event store for SQLite: the library's `eventsourcing.sqlite` or `eventsourcing_sqlalchemy`?

Runs the same workload through both, with commonpot's own Pot aggregate and
pydantic mapper, and prints events per second. Usage:

    .venv/bin/pip install eventsourcing-sqlalchemy   # only this benchmark needs it
    .venv/bin/python -m bench.storage_choice [N]
"""

from __future__ import annotations

import sys
import tempfile
import time
from datetime import date
from decimal import Decimal
from pathlib import Path

from domain.pot import Pot, pot_id
from ledger.app import PotApplication
from ledger.store import resolve

TODAY = date(2026, 1, 1)


def environment(kind: str, path: Path) -> dict[str, str]:
    env = dict(resolve(str(path)).es_env)
    if kind == "eventsourcing_sqlalchemy":
        env = {k: v for k, v in env.items() if not k.startswith("SQLITE_")}
        env.update(PERSISTENCE_MODULE="eventsourcing_sqlalchemy", SQLALCHEMY_URL=f"sqlite:///{path}")
    return env


def measure(kind: str, n: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as d:
        app = PotApplication(env=environment(kind, Path(d) / "s.sqlite"))
        pot = Pot.open(
            slug="b",
            name="B",
            currency="EUR",
            digits=2,
            quorum=Decimal("0.5"),
            voting_days=7,
            treasurer="Ana",
            today=TODAY,
        )
        app.save(pot)
        figures: dict[str, float] = {}

        start = time.perf_counter()
        for _ in range(n):
            pot = app.repository.get(pot_id("b"))
            pot.contribute(actor="Ana", member="Ana", amount_minor=100, on=TODAY, today=TODAY)
            app.save(pot)
        figures["command (get + 1 event + save)"] = n / (time.perf_counter() - start)

        pot = app.repository.get(pot_id("b"))
        start = time.perf_counter()
        for _ in range(10):
            for _ in range(n // 10):
                pot.contribute(actor="Ana", member="Ana", amount_minor=100, on=TODAY, today=TODAY)
            app.save(pot)
        figures["batch save (n/10 events per save)"] = n / (time.perf_counter() - start)

        start = time.perf_counter()
        after, count = 0, 0
        while True:
            page = app.recorder.select_notifications(start=after, limit=1000, inclusive_of_start=False)
            for notification in page:
                app.mapper.to_domain_event(notification)
            count += len(page)
            if len(page) < 1000:
                break
            after = page[-1].id
        figures["read + decode notification log"] = count / (time.perf_counter() - start)
        app.close()
        return figures


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    results = {kind: measure(kind, n) for kind in ("eventsourcing.sqlite", "eventsourcing_sqlalchemy")}
    print(f"events per second, N={n}, commonpot Pot aggregate with pydantic events")
    print(f"{'workload':40} {'eventsourcing.sqlite':>22} {'eventsourcing_sqlalchemy':>26}")
    for row in results["eventsourcing.sqlite"]:
        a, b = results["eventsourcing.sqlite"][row], results["eventsourcing_sqlalchemy"][row]
        print(f"{row:40} {a:22,.0f} {b:26,.0f}")


if __name__ == "__main__":
    main()
