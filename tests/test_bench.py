"""The benchmark harness still runs and compares like with like; nothing here is timed.

`make bench` is not part of `make test`, so without these a change to the CLI or
the store could leave the harness broken until someone next measures.
"""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

from bench import data, parts
from tests.conftest import pot

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent


def test_harness_writes_every_row_between_the_markers(tmp_path: Path) -> None:
    doc = tmp_path / "benchmarks.md"
    doc.write_text(
        "# Benchmarks\n\nprose before\n\n<!-- bench:start -->\nold table\n<!-- bench:end -->\n\nprose after\n"
    )
    run = subprocess.run(
        [sys.executable, "-m", "bench", "--sizes", "60", "--runs", "1", "--write", str(doc)],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert run.returncode == 0, run.stderr
    text = doc.read_text()
    assert text.startswith("# Benchmarks\n\nprose before\n\n<!-- bench:start -->\nMachine: ")
    assert text.endswith("<!-- bench:end -->\n\nprose after\n")
    assert "old table" not in text
    rows = [line for line in text.splitlines() if line.startswith("| 60 |")]
    reads = ["balance", "members", "proposals", "history --since (a month)", "trust", "pledges"]
    hledger_rows = 2 + 2 * len(reads) if shutil.which("hledger") else 0
    assert len(rows) == 7 + 2 * (len(reads) + 4) + hledger_rows
    assert [r.split(" | ")[1] for r in rows if "hledger" not in r] == [
        "pot import (60 rows)",
        "pot balance --json",
        "pot balance --json (warm)",
        "pot trust --json",
        "pot trust --json (warm)",
        "pot contribute (one event)",
        "pot rebuild (60 events)",
        # Issue 22's rows at a crew's scale, cold and then handed to a warm `pot`.
        *(f"pot {what}" for what in reads),
        *(f"pot {what} (warm)" for what in reads),
        "pot --help",
        "pot vote --help",
        "pot --help (warm)",
        "pot vote --help (warm)",
        "pot contribute (one event)",
        "pot vote (one event)",
        "pot contribute (one event) (warm)",
        "pot vote (one event) (warm)",
    ]
    # Every row has a ratio: the pair ran, both sides to the end.
    assert all(r.rstrip(" |").endswith(")") and "×" in r for r in rows)


def test_the_floor_table_holds_the_same_money_as_the_pot(tmp_path: Path) -> None:
    db, floor = tmp_path / "pot.sqlite", tmp_path / "floor.sqlite"
    events = data.full_pot(db, 400)
    data.floor_table(floor, db)
    with sqlite3.connect(floor) as conn:
        per_member = dict(conn.execute("SELECT member, SUM(amount) FROM moves GROUP BY member"))
    balance = pot(db, "balance", "--json", today=None).json()
    assert events == pot(db, "verify", "--json", today=None).json()["events"] == 400
    assert sum(per_member.values()) == cents(balance["balance"]) > 0
    # A payout goes to its proposer here, so a member's floor sum is contributed minus received.
    assert per_member == {m["name"]: cents(m["contributed"]) - cents(m["received"]) for m in balance["members"]}


def cents(amount: str) -> int:
    return int(Decimal(amount) * 100)


def test_rebuild_parts_leave_the_views_as_a_full_rebuild_does(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "pot.sqlite"
    events = data.full_pot(db, 300)
    before = pot(db, "balance", "--json", today=None).json()

    parts.main(["--one", "rebuild-history", str(db)])
    assert capsys.readouterr().out == f"{events}\n"
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT COUNT(*) FROM cp_history").fetchone()[0] == events

    parts.main(["rebuild", str(db), "1"])
    out = capsys.readouterr().out
    assert [line.split(" | ")[0] for line in out.splitlines()[2:]] == ["| history", "| core", "| all"]
    assert pot(db, "balance", "--json", today=None).json() == before
    assert pot(db, "verify", today=None).code == 0


def test_import_parts_read_everything_and_store_only_when_asked(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    crew, statement = tmp_path / "crew.sqlite", tmp_path / "statement.csv"
    data.crew_pot(crew)
    data.write_csv(statement, 50)
    stored = pot(crew, "verify", "--json", today=None).json()["events"]

    parts.main(["--one", "import-read", str(crew), str(statement)])
    assert capsys.readouterr().out == "50\n"
    assert pot(crew, "verify", "--json", today=None).json()["events"] == stored

    parts.main(["--one", "import-store", str(crew), str(statement)])
    assert capsys.readouterr().out == "50\n"
    assert pot(crew, "verify", "--json", today=None).json()["events"] == stored + 50

    parts.main(["import", "40", "1"])
    out = capsys.readouterr().out
    assert [line.split(" | ")[0] for line in out.splitlines()[2:]] == ["| read", "| store", "| all"]
