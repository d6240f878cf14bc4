"""The ledger on both backends: every scenario here runs on a SQLite file and on PostgreSQL.

`store_url` (tests/conftest.py) is a SQLite path or a URL on a fresh PostgreSQL
schema dropped afterwards; without a reachable server the PostgreSQL half skips
with the reason, or fails when POT_REQUIRE_POSTGRES is set (CI).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from ledger.app import Ledger
from ledger.store import resolve
from tests.conftest import fingerprint, postgres_store, pot, refused
from tests.reliability import rawstore

DEMO_TODAY = "2026-11-22"
# A later day: a proposal every member agreed to is decided at once, then paid.
LATER = "2026-03-09"
# Fields that change with every run: the recording time, and digests taken over it.
UNSTABLE = ("at", "digest", "head")


@pytest.fixture
def crew(store_url: str) -> str:
    """Maastricht crew in EUR on either backend: Ana (treasurer), Bo, Cy, Dee."""
    assert pot(store_url, "init", "Maastricht crew", "--currency", "EUR", "--as", "Ana", today="2026-01-01").code == 0
    for name in ("Bo", "Cy", "Dee"):
        assert pot(store_url, "--as", "Ana", "member", "add", name, today="2026-01-01").code == 0
    return store_url


def contribute(db: str, member: str, amount: str, *extra: str) -> None:
    result = pot(db, "--as", "Ana", "contribute", member, amount, *extra)
    assert result.code == 0, result.err


def test_the_walkthrough_gives_the_same_answers_on_either_backend(crew: str) -> None:
    contribute(crew, "Bo", "25.00", "--on", "2026-01-05", "--note", "January")
    contribute(crew, "Cy", "15.50")
    report = pot(crew, "balance", "--json").json()
    assert (report["balance"], report["contributed"], report["available"]) == ("40.50", "40.50", "40.50")
    assert [m["share_pct"] for m in report["members"]] == ["0.00", "61.73", "38.27", "0.00"]
    items = pot(crew, "history", "--json").json()
    assert [i["type"] for i in items][-2:] == ["contribution_recorded", "contribution_recorded"]
    assert [i["no"] for i in items] == list(range(1, 8))
    verified = pot(crew, "verify", "--json")
    assert verified.code == 0
    assert verified.json()["events"] == 7


def test_consent_then_payout_and_an_overdraft_is_refused_with_the_store_unchanged(crew: str) -> None:
    contribute(crew, "Bo", "100")
    assert pot(crew, "--as", "Bo", "propose", "80", "--purpose", "rent").out.strip().endswith("(proposal 1)")
    assert pot(crew, "--as", "Cy", "propose", "30", "--purpose", "tea").out.strip().endswith("(proposal 2)")
    for n in ("1", "2"):
        for who in ("Ana", "Bo", "Cy", "Dee"):
            assert pot(crew, "--as", who, "vote", n, "agree").code == 0
    assert pot(crew, "proposal", "2", "--json", today=LATER).json()["status"] == "approved"
    assert pot(crew, "--as", "Ana", "pay", "1", today=LATER).code == 0
    refused(crew, "--as", "Ana", "pay", "2", code=1, says="insufficient funds", today=LATER)
    refused(crew, "--as", "Ana", "pay", "1", code=1, says="already paid", today=LATER)
    refused(crew, "--as", "Bo", "pay", "2", code=1, says="treasurer", today=LATER)
    report = pot(crew, "balance", "--json", today=LATER).json()
    assert (report["balance"], report["paid_out"]) == ("20.00", "80.00")


def test_a_reversal_takes_a_contribution_back_once(crew: str) -> None:
    contribute(crew, "Bo", "20")
    contribute(crew, "Cy", "30")
    assert pot(crew, "--as", "Ana", "reverse", "6", "--reason", "typo").code == 0
    refused(crew, "--as", "Ana", "reverse", "6", "--reason", "again", code=1, says="already reversed")
    assert pot(crew, "balance", "--json").json()["balance"] == "30.00"
    assert pot(crew, "verify").code == 0


def every_view(db: str) -> dict[str, Any]:
    """What every query prints, without the fields that depend on when events were recorded."""
    views = {
        command: strip(pot(db, command, "--json", today=DEMO_TODAY).json())
        for command in ("balance", "trust", "pledges", "history", "members", "proposals")
    }
    replay = pot(db, "replay", "--json", today=DEMO_TODAY)
    views["replay"] = [strip(json.loads(line)) for line in replay.out.splitlines()]
    views["triggers"] = pot(db, "triggers", today=DEMO_TODAY).out
    return views


def strip(data: Any) -> Any:
    if isinstance(data, dict):
        return {k: strip(v) for k, v in data.items() if k not in UNSTABLE}
    if isinstance(data, list):
        return [strip(v) for v in data]
    return data


@pytest.mark.slow
def test_the_demo_crew_reads_the_same_on_sqlite_and_postgresql(tmp_path: Path) -> None:
    """Trust, pledges, replay and every other view agree between the backends, event for event."""
    sqlite = str(tmp_path / "demo.sqlite")
    with postgres_store() as postgres:
        for db in (sqlite, postgres):
            assert pot(db, "demo", today=DEMO_TODAY).code == 0
        assert every_view(postgres) == every_view(sqlite)


def test_rebuilding_gives_the_views_that_catching_up_built(crew: str) -> None:
    contribute(crew, "Bo", "20")
    assert pot(crew, "--as", "Bo", "pledge", "Bo", "--percent", "10", "--from", "2026-01").code == 0
    assert pot(crew, "--as", "Ana", "game", "listening", "--with", "Ana,Bo").code == 0
    assert pot(crew, "--as", "Bo", "reflect", "6", "--feeling", "grateful").code == 0
    before = {c: pot(crew, c, "--json").json() for c in ("balance", "trust", "pledges", "history")}
    assert pot(crew, "rebuild").code == 0
    after = {c: pot(crew, c, "--json").json() for c in ("balance", "trust", "pledges", "history")}
    assert after == before
    assert pot(crew, "verify").code == 0


def test_verify_names_a_tampered_event_on_either_backend(crew: str) -> None:
    contribute(crew, "Bo", "20")
    contribute(crew, "Cy", "30")
    before = fingerprint(crew)
    change_stored_amount(crew, version=7, old=b'"amount_minor":3000', new=b'"amount_minor":9000')
    assert fingerprint(crew) != before
    result = pot(crew, "verify", "--json")
    assert result.code == 1
    assert (result.json()["ok"], result.json()["first_bad"]) == (False, 7)


def change_stored_amount(db: str, *, version: int, old: bytes, new: bytes) -> None:
    """Edit a stored payload behind the ledger's back (dropping the append-only guard first)."""
    rawstore.set_state(db, version, rawstore.states(db)[version].replace(old, new))


def test_several_pots_share_one_store_independently(store_url: str) -> None:
    for name, who in (("North crew", "Ana"), ("South crew", "Bo")):
        assert pot(store_url, "init", name, "--currency", "EUR", "--as", who).code == 0
    assert pot(store_url, "--pot", "north-crew", "--as", "Ana", "contribute", "Ana", "5").code == 0
    assert pot(store_url, "--pot", "south-crew", "--as", "Bo", "contribute", "Bo", "7").code == 0
    refused(store_url, "balance", code=2, says="choose one with --pot")
    assert pot(store_url, "--pot", "north-crew", "balance", "--json").json()["balance"] == "5.00"
    assert pot(store_url, "--pot", "south-crew", "balance", "--json").json()["balance"] == "7.00"


def test_a_ledger_opened_twice_on_one_store_sees_the_other_s_events(store_url: str) -> None:
    """Two Ledger objects stand in for two processes: each catches up with the other's saves."""
    assert pot(store_url, "init", "Crew", "--currency", "EUR", "--as", "Ana").code == 0
    one, two = Ledger(resolve(store_url)), Ledger(resolve(store_url))
    try:
        from datetime import date

        today = date(2026, 3, 1)
        one.contribute("crew", actor="Ana", member="Ana", amount_minor=500, on=today, today=today)
        two.contribute("crew", actor="Ana", member="Ana", amount_minor=700, on=today, today=today)
        for ledger in (one, two):
            with ledger.read() as conn:
                balance = conn.value("SELECT balance FROM cp_pots WHERE slug = 'crew'")
            assert balance == 1200
    finally:
        one.close()
        two.close()


@pytest.mark.parametrize(
    ("url", "code", "says"),
    [
        ("postgresql://postgres@127.0.0.1:1/test", 1, "unreachable"),
        ("mysql://someone@somewhere/pots", 2, "only SQLite files and postgresql:// URLs"),
        ("postgresql://postgres@127.0.0.1/test?schema=Bad-Name", 2, "schema 'Bad-Name'"),
    ],
)
def test_a_store_url_that_cannot_be_used_is_one_error_line(url: str, code: int, says: str) -> None:
    result = pot(url, "balance")
    assert result.code == code
    assert result.err.startswith("error: ")
    assert len(result.err.strip().splitlines()) == 1
    assert says in result.err
