"""Several processes writing one store at once lose nothing, duplicate nothing, overdraw nothing.

Issue 7, items 1 and 2, on a SQLite file and on PostgreSQL.
"""

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
from tests.conftest import pot
from tests.reliability import worker
from tests.reliability.conftest import count

POT = str(Path(sys.executable).parent / "pot")
TODAY = date(2026, 3, 1)
WRITERS = 8
READERS = 2


def open_shared(db: str) -> None:
    assert pot(db, "init", "Shared", "--currency", "EUR", "--as", "Ana", today="2026-01-01").code == 0
    assert pot(db, "--as", "Ana", "member", "add", "Bo", today="2026-01-01").code == 0


def spawn(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.reliability.worker", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).parents[2],
    )


@pytest.mark.slow
def test_concurrent_writers_lose_and_duplicate_nothing_and_readers_never_see_the_balance_fall(
    backend: str, tmp_path: Path, is_heavy: bool
) -> None:
    # The 8 × 200 by default (writers take turns per pot, so this takes about a minute); --heavy: 8 × 1,000.
    per_writer = 1_000 if is_heavy else 200
    open_shared(backend)
    stop = tmp_path / "stop"
    readers = [spawn("read", backend, str(stop)) for _ in range(READERS)]
    writers = [spawn("contribute", backend, str(w), str(per_writer)) for w in range(WRITERS)]
    for w in writers:
        _, err = w.communicate(timeout=900)
        assert w.returncode == 0, err
    stop.touch()
    seen = []
    for r in readers:
        out, err = r.communicate(timeout=120)
        assert r.returncode == 0, err
        seen.append(json.loads(out))

    submitted = {f"w{w}-{i}": worker.amount(w, i) for w in range(WRITERS) for i in range(per_writer)}
    items = pot(backend, "history", "--type", "contribution_recorded", "--json").json()
    assert len(items) == len(submitted)
    assert {i["ref"] for i in items} == set(submitted)
    report = pot(backend, "balance", "--json").json()
    assert Decimal(report["balance"]) == Decimal(sum(submitted.values())) / 100
    verified = pot(backend, "verify", "--json")
    assert verified.code == 0, verified.err
    assert verified.json()["events"] == 3 + len(submitted)
    assert all(s["decreases"] == 0 for s in seen), seen
    assert all(s["reads"] > 0 for s in seen), seen
    count("processes run at once (writers and readers)", WRITERS + READERS)
    count("events written concurrently", len(submitted))
    count("concurrent balance reads, none went down", sum(s["reads"] for s in seen))


@pytest.mark.slow
def test_writers_racing_to_record_the_same_refs_record_each_once(backend: str, tmp_path: Path) -> None:
    """A ref is recorded once per pot even when four processes try it at the same moment.

    The pot is past its first snapshot, so every writer checks refs against the
    refs table (domain.past), caught up inside its writer turn, not a state in memory.
    """
    open_shared(backend)
    statement = tmp_path / "start.csv"
    statement.write_text("member,amount,on,ref\n" + "".join(f"Bo,1.00,2026-02-01,s{i}\n" for i in range(250)))
    assert pot(backend, "--pot", "shared", "--as", "Ana", "import", str(statement)).code == 0
    refs, racers = 40, 4
    workers = [spawn("same-refs", backend, str(w), str(refs)) for w in range(racers)]
    results = []
    for w in workers:
        out, err = w.communicate(timeout=600)
        assert w.returncode == 0, err
        results.append(json.loads(out))
    assert sum(r["recorded"] for r in results) == refs
    assert sum(r["refused"] for r in results) == refs * (racers - 1)
    items = pot(backend, "history", "--type", "contribution_recorded", "--json").json()
    raced = [i["ref"] for i in items if i["ref"].startswith("r")]
    assert sorted(raced) == sorted(f"r{i}" for i in range(refs))
    count("refs raced by four writers, each recorded once", refs)


# --------------------------------------------------------------------------- racing payouts
def approved_proposals(db: str, count_: int, amount: int, funds: int) -> None:
    """A crew of two with `funds` cents and `count_` approved proposals of `amount` cents."""
    ledger = Ledger(resolve(db))
    try:
        ledger.open_pot(
            slug="race", name="Race", currency="EUR", quorum=Decimal("0.5"), voting_days=7, treasurer="Ana", today=TODAY
        )
        ledger.add_member("race", actor="Ana", name="Bo", treasurer=True, today=TODAY)
        ledger.contribute("race", actor="Ana", member="Bo", amount_minor=funds, on=TODAY, today=TODAY)
        for _ in range(count_):
            n = ledger.propose(
                "race", actor="Bo", amount_minor=amount, purpose="x", recipient=None, closes=None, today=TODAY
            ).proposal_no
            for voter in ("Ana", "Bo"):
                ledger.vote("race", actor=voter, proposal_no=n, position="agree", reason="", today=TODAY)
    finally:
        ledger.close()


def race(db: str, commands: list[list[str]]) -> list[subprocess.CompletedProcess[str]]:
    """Start every `pot` command at once; wait for all."""
    procs = [
        subprocess.Popen(
            [POT, "--db", db, "--today", TODAY.isoformat(), *c],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for c in commands
    ]
    results = []
    for p, c in zip(procs, commands, strict=True):
        out, err = p.communicate(timeout=300)
        results.append(subprocess.CompletedProcess(c, p.returncode, out, err))
    count("processes run at once (writers and readers)", len(commands))
    return results


@pytest.mark.slow
def test_racing_payouts_never_overdraw_the_pot(backend: str) -> None:
    """Eight processes pay eight approved 30.00 proposals from 100.00: exactly three succeed."""
    approved_proposals(backend, count_=8, amount=3000, funds=10000)
    results = race(backend, [["--as", "Ana", "pay", str(n)] for n in range(1, 9)])
    codes = sorted(r.returncode for r in results)
    assert codes == [0, 0, 0, 1, 1, 1, 1, 1], [(r.returncode, r.stderr) for r in results]
    assert all("insufficient funds" in r.stderr for r in results if r.returncode == 1)
    report = pot(backend, "balance", "--json").json()
    assert (report["balance"], report["paid_out"]) == ("10.00", "90.00")
    assert pot(backend, "verify").code == 0
    count("racing payouts refused for insufficient funds", 5)


@pytest.mark.slow
def test_one_proposal_paid_from_eight_processes_is_paid_once(backend: str) -> None:
    approved_proposals(backend, count_=1, amount=3000, funds=10000)
    results = race(backend, [["--as", "Ana", "pay", "1"]] * 8)
    assert sorted(r.returncode for r in results) == [0] + [1] * 7, [(r.returncode, r.stderr) for r in results]
    assert all("already paid" in r.stderr for r in results if r.returncode == 1)
    payouts = pot(backend, "history", "--type", "withdrawal_paid", "--json").json()
    assert len(payouts) == 1
    assert pot(backend, "balance", "--json").json()["balance"] == "70.00"
    assert pot(backend, "verify").code == 0
