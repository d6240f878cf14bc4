"""`kill -9` in the middle of `pot import`: the store stays sound and the import is all or nothing (issue 7, item 3).

By default the issue's 20,000 rows (about four minutes for the whole test); `--heavy` / POT_HEAVY=1 uses 50,000.
"""

from __future__ import annotations

import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

import pytest

from tests.conftest import pot
from tests.reliability.conftest import count

POT = str(Path(sys.executable).parent / "pot")
SEED = 20260301
KILLS = 10


def write_statement(path: Path, rows: int) -> Decimal:
    lines = ["member,amount,on,note,ref"]
    total = Decimal(0)
    for i in range(rows):
        amount = Decimal(i % 997 + 1) / 100
        total += amount
        lines.append(f"{('Bo', 'Cy')[i % 2]},{amount},2026-02-{i % 28 + 1:02d},row {i},bank-{i}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return total


def start_import(db: Path, statement: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [POT, "--db", str(db), "--today", "2026-03-01", "--as", "Ana", "import", str(statement)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def state(db: Path) -> tuple[int, str, set[str]]:
    """Contributions, balance and refs: what a finished import decides."""
    items = pot(db, "history", "--type", "contribution_recorded", "--json").json()
    return len(items), pot(db, "balance", "--json").json()["balance"], {i["ref"] for i in items}


@pytest.mark.slow
def test_an_import_killed_at_random_moments_happened_fully_or_not_at_all(tmp_path: Path, is_heavy: bool) -> None:
    rows = 50_000 if is_heavy else 20_000
    statement = tmp_path / "bank.csv"
    total = write_statement(statement, rows)
    base = tmp_path / "base.sqlite"
    assert pot(base, "init", "Crew", "--currency", "EUR", "--as", "Ana", today="2026-01-01").code == 0
    for name in ("Bo", "Cy"):
        assert pot(base, "--as", "Ana", "member", "add", name, today="2026-01-01").code == 0

    clean = tmp_path / "clean.sqlite"
    shutil.copy(base, clean)
    started = time.monotonic()
    run = start_import(clean, statement)
    assert run.wait(timeout=900) == 0, run.stderr.read() if run.stderr else ""
    duration = time.monotonic() - started
    expected = state(clean)
    assert expected[0] == rows
    assert Decimal(expected[1]) == total

    rng = random.Random(SEED)
    outcomes = {"none": 0, "all": 0}
    for k in range(KILLS):
        db = tmp_path / f"crash-{k}.sqlite"
        shutil.copy(base, db)
        victim = start_import(db, statement)
        time.sleep(rng.uniform(0.0, duration))
        victim.send_signal(signal.SIGKILL)
        victim.wait(timeout=60)
        count("imports killed with SIGKILL")
        with sqlite3.connect(db) as conn:
            assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert pot(db, "verify").code == 0, f"kill {k}"
        recorded = state(db)[0]
        assert recorded in (0, rows), f"kill {k}: {recorded} of {rows} rows recorded"
        outcomes["none" if recorded == 0 else "all"] += 1
        again = start_import(db, statement)
        assert again.wait(timeout=900) == 0, again.stderr.read() if again.stderr else ""
        assert state(db) == expected, f"kill {k}: re-running the import did not reach the clean run's state"
        assert pot(db, "verify").code == 0
    count("rows per killed import", rows)
    count("killed imports that had stored nothing", outcomes["none"])
    count("killed imports that had stored everything", outcomes["all"])
