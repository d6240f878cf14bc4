"""`pot rebuild` folds the log in big batches; the views must not depend on where batches split.

The demo crew (pledges, games, reflections, a reversal, proposals with votes)
is built event by event, as a crew would, so its views come from many tiny
catch-ups. A rebuild with odd small batches (proposals, votes and reversals cut
off from what they refer to) and one with a single batch must give the very
same rows, and `pot verify` must still pass, digests included.
"""

from __future__ import annotations

import sqlite3
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, select

from projections import runner
from projections.tables import history, metadata
from projections.trust import trust_meetings
from tests.conftest import pot

DEMO_TODAY = "2026-11-22"


def every_row(db: Path) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every view table (positions aside), in a stable order."""
    with sqlite3.connect(db) as conn:
        names = [
            str(n)
            for (n,) in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE 'cp_%' AND name != 'cp_positions'"
            )
        ]
        return {n: sorted(conn.execute(f'SELECT * FROM "{n}"').fetchall(), key=repr) for n in sorted(names)}


@pytest.fixture
def demo(tmp_path: Path) -> Path:
    db = tmp_path / "demo.sqlite"
    assert pot(db, "demo", today=DEMO_TODAY).code == 0
    # A second pot, so batches interleave two chains of digests.
    assert pot(db, "init", "Other crew", "--currency", "EUR", "--as", "Bo", today=DEMO_TODAY).code == 0
    for amount in ("5", "6", "7"):
        assert pot(db, "--pot", "other-crew", "--as", "Bo", "contribute", "Bo", amount, today=DEMO_TODAY).code == 0
    assert pot(db, "--pot", "demo-crew", "--as", "Ana", "contribute", "Bo", "3", today=DEMO_TODAY).code == 0
    return db


@pytest.mark.parametrize(("first", "biggest"), [(3, 7), (1, 2), (100_000, 100_000)])
def test_a_rebuild_gives_the_rows_catching_up_gave_whatever_the_batches(
    demo: Path, monkeypatch: pytest.MonkeyPatch, first: int, biggest: int
) -> None:
    before = every_row(demo)
    assert len(before["cp_history"]) > 80
    monkeypatch.setattr(runner, "BATCH", first)
    monkeypatch.setattr(runner, "BIG_BATCH", biggest)
    assert pot(demo, "rebuild").code == 0
    assert every_row(demo) == before
    for slug in ("demo-crew", "other-crew"):
        assert pot(demo, "--pot", slug, "verify").code == 0


def test_insert_rows_stores_what_sqlalchemy_stores() -> None:
    """Dates, booleans and NULLs written through the driver read back as through SQLAlchemy."""
    rows = [
        {"slug": "s", "event_no": 3, "member": "Ana", "on": date(2026, 1, 9), "attended": True},
        {"slug": "s", "event_no": 3, "member": "Bo", "on": date(999, 12, 31), "attended": False},
    ]
    entry = {
        "slug": "s",
        "no": 1,
        "at": "2026-01-09T10:00:00.000000+00:00",
        "on": date(2026, 1, 9),
        "type": "pot_opened",
        "actor": "Ana",
        "member": None,
        "delta": -5,
        "fields": "{}",
        "digest": "0" * 64,
    }
    stored = []
    for fast in (True, False):
        engine = create_engine("sqlite://")
        metadata.create_all(engine)
        with engine.begin() as conn:
            for table, batch in ((trust_meetings, rows), (history, [entry])):
                copies = [dict(r) for r in batch]
                if fast:
                    runner.insert_rows(conn, table, copies)
                else:
                    conn.execute(table.insert(), copies)
            stored.append(
                (
                    conn.execute(select(trust_meetings).order_by(trust_meetings.c.member)).all(),
                    conn.execute(select(history)).all(),
                    conn.exec_driver_sql('SELECT "on", attended FROM cp_trust_meetings ORDER BY member').all(),
                )
            )
    assert stored[0] == stored[1]
    assert stored[0][0][1].on == date(999, 12, 31)
