"""Real `pot` processes on one SQLite file: the installed command, and racing writers."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from ledger.app import Ledger
from ledger.store import resolve

POT = str(Path(sys.executable).parent / "pot")
TODAY = date(2026, 3, 1)


def run(db: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [POT, "--db", str(db), "--today", TODAY.isoformat(), *args], capture_output=True, text=True, timeout=120
    )


def test_the_installed_pot_command_runs_a_walkthrough_on_a_file(tmp_path):
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


def approved_proposals(db: Path, count: int, amount: int, funds: int) -> None:
    """A crew of two with `funds` cents and `count` approved proposals of `amount` cents."""
    ledger = Ledger(resolve(str(db)))
    ledger.open_pot(
        slug="race", name="Race", currency="EUR", quorum=Decimal("0.5"), voting_days=7, treasurer="Ana", today=TODAY
    )
    ledger.command("race", lambda pot: pot.add_member(actor="Ana", name="Bo", treasurer=True, today=TODAY))
    ledger.command(
        "race", lambda pot: pot.contribute(actor="Ana", member="Bo", amount_minor=funds, on=TODAY, today=TODAY)
    )
    for _ in range(count):
        n = ledger.command(
            "race",
            lambda pot: pot.propose(
                actor="Bo", amount_minor=amount, purpose="x", recipient=None, closes=None, today=TODAY
            ),
        )
        for voter in ("Ana", "Bo"):
            ledger.command(
                "race",
                lambda pot, v=voter, n=n: pot.vote(actor=v, proposal_no=n, position="agree", reason="", today=TODAY),
            )
    ledger.close()


def race(db: Path, commands: list[list[str]]) -> list[subprocess.CompletedProcess[str]]:
    procs = [
        subprocess.Popen(
            [POT, "--db", str(db), "--today", TODAY.isoformat(), *c],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for c in commands
    ]
    results = []
    for p, c in zip(procs, commands, strict=True):
        out, err = p.communicate(timeout=120)
        results.append(subprocess.CompletedProcess(c, p.returncode, out, err))
    return results


@pytest.mark.slow
def test_racing_payouts_never_overdraw_the_pot(tmp_path):
    """Eight processes pay eight approved 30.00 proposals from 100.00: exactly three succeed."""
    db = tmp_path / "race.sqlite"
    approved_proposals(db, count=8, amount=3000, funds=10000)
    results = race(db, [["--as", "Ana", "pay", str(n)] for n in range(1, 9)])
    codes = sorted(r.returncode for r in results)
    assert codes == [0, 0, 0, 1, 1, 1, 1, 1], [(r.returncode, r.stderr) for r in results]
    assert all("insufficient funds" in r.stderr for r in results if r.returncode == 1)
    report = json.loads(run(db, "balance", "--json").stdout)
    assert (report["balance"], report["paid_out"]) == ("10.00", "90.00")
    assert run(db, "verify").returncode == 0


@pytest.mark.slow
def test_one_proposal_paid_from_eight_processes_is_paid_once(tmp_path):
    db = tmp_path / "race.sqlite"
    approved_proposals(db, count=1, amount=3000, funds=10000)
    results = race(db, [["--as", "Ana", "pay", "1"]] * 8)
    assert sorted(r.returncode for r in results) == [0] + [1] * 7
    assert all("already paid" in r.stderr for r in results if r.returncode == 1)
    payouts = json.loads(run(db, "history", "--type", "withdrawal_paid", "--json").stdout)
    assert len(payouts) == 1
    assert json.loads(run(db, "balance", "--json").stdout)["balance"] == "70.00"
