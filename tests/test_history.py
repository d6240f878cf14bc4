"""The rules that look back at one past contribution hold on a pot loaded from a snapshot.

A pot's snapshot no longer carries its contributions (domain.past): a reversal
reads the contribution from the event store, a repeated `ref` is found in the
`cp_refs` table. These run through `pot`, on SQLite and PostgreSQL, with the
contribution in question older than the pot's latest snapshot. Last, a store
made before that table (or an index) existed gets it when it is opened.
"""

from __future__ import annotations

import sqlite3
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from domain.errors import Refused
from domain.past import Contribution
from domain.pot import Pot, pot_id
from ledger.app import Ledger
from ledger.engines import sqlite_engine
from ledger.store import resolve
from projections.sql import STORE_LAYOUT
from tests.conftest import fingerprint, pot, refused

ROWS = 250  # More than one snapshot interval (200 events).
DAY = date(2026, 2, 2)
FIRST_ROW_NO = 6  # After pot_opened and four member_joined.


@pytest.fixture
def long_pot(store_url: str, tmp_path: Path) -> str:
    """The crew with 250 contributions imported (refs bank-0000…), so its latest snapshot is past them."""
    assert pot(store_url, "init", "Maastricht crew", "--currency", "EUR", "--as", "Ana", today="2026-01-01").code == 0
    for name in ("Bo", "Cy", "Dee"):
        assert pot(store_url, "--as", "Ana", "member", "add", name, today="2026-01-01").code == 0
    statement = tmp_path / "statement.csv"
    lines = ["member,amount,on,ref"] + [f"Bo,{10 + i % 7}.00,2026-02-01,bank-{i:04d}" for i in range(ROWS)]
    statement.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert pot(store_url, "--as", "Ana", "import", str(statement)).code == 0
    ledger = Ledger(resolve(store_url))
    try:
        assert ledger.app.snapshots is not None
        latest = ledger.app.snapshots.recorder.select_events(pot_id("maastricht-crew"), desc=True, limit=1)
        assert latest
        assert latest[0].originator_version > FIRST_ROW_NO + 2
    finally:
        ledger.close()
    return store_url


def test_a_ref_recorded_before_the_snapshot_is_refused(long_pot: str) -> None:
    refused(
        long_pot,
        "--as",
        "Ana",
        "contribute",
        "Cy",
        "5",
        "--ref",
        "bank-0002",
        code=1,
        says=f"already recorded (event {FIRST_ROW_NO + 2})",
    )
    assert pot(long_pot, "--as", "Ana", "contribute", "Cy", "5", "--ref", "bank-new").code == 0
    refused(long_pot, "--as", "Ana", "contribute", "Cy", "5", "--ref", "bank-new", code=1, says="already recorded")


def test_a_contribution_recorded_before_the_snapshot_is_reversed_once(long_pot: str) -> None:
    before = pot(long_pot, "balance", "--json").json()["balance"]
    no = str(FIRST_ROW_NO + 1)  # bank-0001: 11.00
    assert pot(long_pot, "--as", "Ana", "reverse", no, "--reason", "bounced").code == 0
    after = pot(long_pot, "balance", "--json").json()["balance"]
    assert cents(before) - cents(after) == 1100
    refused(long_pot, "--as", "Ana", "reverse", no, "--reason", "again", code=1, says="already reversed")
    refused(long_pot, "--as", "Ana", "reverse", "3", "--reason", "x", code=1, says="not a contribution")


def test_an_import_compares_a_stored_ref_with_its_recorded_content(long_pot: str, tmp_path: Path) -> None:
    same = tmp_path / "same.csv"
    same.write_text("member,amount,on,ref\nBo,10.00,2026-02-01,bank-0000\nCy,3.00,2026-02-02,bank-x\n")
    result = pot(long_pot, "--as", "Ana", "import", str(same))
    assert result.code == 0, result.err
    assert "1 new, 1 already recorded" in result.out
    other = tmp_path / "other.csv"
    other.write_text("member,amount,on,ref\nBo,99.00,2026-02-01,bank-0003\n")
    refused(
        long_pot,
        "--as",
        "Ana",
        "import",
        str(other),
        code=1,
        says=f"already recorded as event {FIRST_ROW_NO + 3} (Bo, 13.00, 2026-02-01) with different content",
    )


def test_a_ref_stored_after_the_views_last_caught_up_is_still_refused(long_pot: str) -> None:
    """As after a process that stopped between its save and its catch-up: the views lag the log.

    The rule still holds because the refs table is caught up inside the writer's
    turn before it is read. A snapshot at every event makes the second command
    load a pot that folded nothing itself, so only the table can answer.
    """
    ledger = Ledger(resolve(long_pot))
    ledger.app.snapshot_every = 1
    late: dict[str, Any] = {"actor": "Ana", "member": "Cy", "amount_minor": 500, "on": DAY, "today": DAY, "ref": "late"}
    try:
        pot_ = ledger.load("maastricht-crew")
        pot_.contribute(**late)
        ledger.app.save(pot_)  # Stored and snapshotted; the views are not caught up.
        with pytest.raises(Refused, match="already recorded"):
            ledger.change("maastricht-crew", lambda p: p.contribute(**late))
    finally:
        ledger.close()


def test_a_pot_saving_in_parts_still_knows_the_contributions_of_earlier_parts(long_pot: str) -> None:
    """A long import hands each stored part's contributions to its past (ledger.stored_past.StoredPast.keep).

    They are in the open transaction only: not in the refs table, not visible to
    another connection's read of the event store. The rules must still see them,
    and a failure after several parts must still store nothing.
    """
    ledger = Ledger(resolve(long_pot))
    row: dict[str, Any] = {"actor": "Ana", "member": "Cy", "on": DAY, "today": DAY}
    events = fingerprint(long_pot)

    def store_two_parts_then_fail() -> None:
        pot_ = ledger.load("maastricht-crew")
        with ledger.bulk_save(pot_) as flush:
            pot_.contribute(**row, amount_minor=700, ref="part-1")
            first = pot_.version
            flush()
            pot_.contribute(**row, amount_minor=800, ref="part-2")
            flush()
            assert pot_.contribution(first) == Contribution(first, "Cy", 700, DAY, "part-1")
            assert {ref: c.no for ref, c in pot_.recorded_refs(["part-1", "part-2", "bank-0001"]).items()} == {
                "part-1": first,
                "part-2": first + 1,
                "bank-0001": FIRST_ROW_NO + 1,
            }
            with pytest.raises(Refused, match=f"already recorded \\(event {first}\\)"):
                pot_.contribute(**row, amount_minor=1, ref="part-1")
            pot_.reverse(actor="Ana", contribution_no=first, reason="bounced", today=DAY)
            with pytest.raises(Refused, match="already reversed"):
                pot_.reverse(actor="Ana", contribution_no=first, reason="again", today=DAY)
            flush()
            raise Refused("stopped on purpose")

    try:
        with pytest.raises(Refused, match="stopped on purpose"):
            store_two_parts_then_fail()
    finally:
        ledger.close()
    assert fingerprint(long_pot) == events
    assert pot(long_pot, "--as", "Ana", "contribute", "Cy", "7", "--ref", "part-1").code == 0


def test_a_ref_kept_twice_in_one_save_is_a_bug_reported_as_such_not_a_busy_pot(long_pot: str) -> None:
    """The kept table's unique ref is the last guard; inside the event store's transaction
    the library would report its sqlite3.IntegrityError as a concurrent writer, to be retried."""
    ledger = Ledger(resolve(long_pot))
    events = fingerprint(long_pot)
    twice = Contribution(9_999, "Cy", 1, DAY, "again")

    def keep_twice(pot_: Pot) -> None:
        assert pot_.past is not None
        with ledger.bulk_save(pot_):
            pot_.past.keep([twice, twice])

    try:
        with pytest.raises(RuntimeError, match="recorded twice"):
            ledger.change_in_parts("maastricht-crew", keep_twice)
    finally:
        ledger.close()
    assert fingerprint(long_pot) == events


def test_a_store_made_before_the_refs_table_gets_it_filled_from_the_log(tmp_path: Path) -> None:
    db = tmp_path / "old.sqlite"
    assert pot(db, "init", "Crew", "--currency", "EUR", "--as", "Ana", today="2026-01-01").code == 0
    assert pot(db, "--as", "Ana", "contribute", "Ana", "5", "--ref", "r1").code == 0
    with sqlite3.connect(db) as conn:
        conn.execute("DROP TABLE cp_refs")
        # A store from before the views' layout was marked (projections.sql.STORE_LAYOUT) has none.
        conn.execute("PRAGMA user_version = 0")
    events = fingerprint(db)
    assert pot(db, "balance").code == 0
    assert fingerprint(db) == events
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT ref, no FROM cp_refs").fetchall() == [("r1", 3)]
    refused(db, "--as", "Ana", "contribute", "Ana", "5", "--ref", "r1", code=1, says="already recorded (event 3)")
    assert pot(db, "verify").code == 0


def cents(amount: str) -> int:
    units, cents = amount.split(".")
    return int(units) * 100 + int(cents)


def test_an_index_added_after_a_store_was_made_is_created_when_it_is_opened(tmp_path: Path) -> None:
    db = tmp_path / "old.sqlite"
    assert pot(db, "init", "Crew", "--currency", "EUR", "--as", "Ana", today="2026-01-01").code == 0
    with sqlite3.connect(db) as conn:
        conn.execute("DROP INDEX cp_trust_contributions_months")
        conn.execute("PRAGMA user_version = 0")  # laid out by a version before the index, and before the mark
    assert pot(db, "trust").code == 0
    with sqlite3.connect(db) as conn:
        names = {name for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
    assert "cp_trust_contributions_months" in names


def test_a_store_this_version_laid_out_is_opened_without_asking_its_schema(tmp_path: Path) -> None:
    """Every `pot` command opens the store: once marked (STORE_LAYOUT), no schema queries but the guards' one read.

    A guard dropped by hand is put back on the next open all the same; a set-up cut short before its mark
    is finished.
    """
    from sqlalchemy import event

    db = tmp_path / "crew.sqlite"
    assert pot(db, "init", "Crew", "--currency", "EUR", "--as", "Ana", today="2026-01-01").code == 0
    statements: list[str] = []
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == STORE_LAYOUT

    def recording(*args: Any, **kwargs: Any) -> Any:
        engine = sqlite_engine(*args, **kwargs)
        event.listen(engine, "before_cursor_execute", lambda *a: statements.append(str(a[2])))
        return engine

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("ledger.app.sqlite_engine", recording)
        Ledger(resolve(str(db))).close()
        laid_out_open = list(statements)
        statements.clear()
        with sqlite3.connect(db) as conn:
            conn.execute("DROP TRIGGER stored_events_no_delete")  # by hand, the mark left as it was
        Ledger(resolve(str(db))).close()
        put_back = [s for s in statements if "CREATE TRIGGER" in s]
        statements.clear()
        with sqlite3.connect(db) as conn:
            conn.execute("PRAGMA user_version = 0")  # a set-up cut short before its mark
            conn.execute("DROP INDEX cp_trust_contributions_months")
        Ledger(resolve(str(db))).close()
    schema = ("CREATE", "DROP", "table_info", "index_list")
    assert "PRAGMA user_version" in laid_out_open
    assert not [s for s in laid_out_open if any(word in s for word in schema)]
    assert [s.split()[5] for s in put_back] == ["stored_events_no_delete"]
    assert any("CREATE INDEX" in s for s in statements)
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == STORE_LAYOUT
