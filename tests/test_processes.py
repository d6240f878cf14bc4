"""Real `pot` processes on one SQLite file: the installed command, and racing writers."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import date
from pathlib import Path

POT = str(Path(sys.executable).parent / "pot")
TODAY = date(2026, 3, 1)


def run(db: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [POT, "--db", str(db), "--today", TODAY.isoformat(), *args], capture_output=True, text=True, timeout=120
    )


def test_the_installed_pot_command_runs_a_walkthrough_on_a_file(tmp_path: Path) -> None:
    db = tmp_path / "crew.sqlite"
    assert run(db, "init", "Maastricht crew", "--currency", "EUR", "--as", "Ana").returncode == 0
    assert run(db, "--as", "Ana", "member", "add", "Bo").returncode == 0
    assert run(db, "--as", "Ana", "contribute", "Bo", "25.00", "--on", "2026-01-05").returncode == 0
    balance = run(db, "balance", "--json")
    assert json.loads(balance.stdout)["balance"] == "25.00"
    bad = run(db, "--as", "Bo", "contribute", "Bo", "5")
    assert bad.returncode == 1
    assert bad.stderr.startswith("error: only a treasurer")
    assert bad.stdout == ""
    usage = run(db, "contribute")
    assert usage.returncode == 2
    assert usage.stderr.startswith("error: ")
    assert len(usage.stderr.strip().splitlines()) == 1


# Racing writers and payouts, on SQLite and PostgreSQL: tests/reliability/test_concurrency.py.
