"""Issue 23, findings 1 and 2: nothing outside the chain is trusted, and `verify` checks laws, not only links.

An attacker here holds the database: they can INSERT events with the chain
recomputed (the append-only triggers do not stop an INSERT), and, as the
owner, drop the triggers and edit a stored snapshot.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from domain.errors import PotError
from domain.events import ContributionRecorded, MemberJoined, PotEvent, WithdrawalPaid
from domain.pot import Pot
from domain.state import PotState
from ledger.app import Ledger
from ledger.store import resolve
from tests.conftest import fingerprint, postgres_engine_for, pot, refused

DAY = date(2026, 2, 1)
ROWS = 250  # past one snapshot interval (200), so the pot is loaded from a snapshot


def crew_with_a_snapshot(db: str, tmp_path: Path) -> int:
    """Ana (treasurer), Bo and Cy, and ROWS contributions imported at once: the import ends in a snapshot."""
    assert pot(db, "init", "Crew", "--currency", "EUR", "--as", "Ana", today="2026-01-01").code == 0
    for name in ("Bo", "Cy"):
        assert pot(db, "--as", "Ana", "member", "add", name, today="2026-01-01").code == 0
    statement = tmp_path / "bank.csv"
    rows = "".join(f"Cy,1.00,2026-01-15,,r{i}\n" for i in range(ROWS))
    statement.write_text("member,amount,on,note,ref\n" + rows, encoding="utf-8")
    assert pot(db, "--as", "Ana", "import", str(statement), today="2026-02-01").code == 0
    return 4 + ROWS


@contextmanager
def snapshot_rows(db: str) -> Iterator[Any]:
    """`run(sql, **params)` on the snapshots table ({snapshots}), its insert-only guard off, as its owner could."""
    if "://" in db:
        with postgres_engine_for(db) as engine, engine.begin() as conn:
            conn.execute(text("ALTER TABLE commonpot_snapshots DISABLE TRIGGER USER"))

            def run_pg(sql: str, **params: Any) -> list[Any]:
                result = conn.execute(text(sql.format(snapshots="commonpot_snapshots")), params)
                return list(result) if result.returns_rows else []

            yield run_pg
            conn.execute(text("ALTER TABLE commonpot_snapshots ENABLE TRIGGER USER"))
        return
    conn = sqlite3.connect(db)
    try:
        for (name,) in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'stored_snapshots'"
        ):
            conn.execute(f'DROP TRIGGER "{name}"')

        def run_sqlite(sql: str, **params: Any) -> list[Any]:
            return conn.execute(sql.format(snapshots="stored_snapshots"), params).fetchall()

        yield run_sqlite
        conn.commit()
    finally:
        conn.close()


def forge_snapshot(db: str, *, rehash: bool) -> int:
    """Make Bo a treasurer holding a fortune in the newest snapshot, as the red team did; its version."""
    with snapshot_rows(db) as run:
        version, raw = run("SELECT originator_version, state FROM {snapshots} ORDER BY originator_version DESC")[0]
        data = json.loads(bytes(raw))
        data["state"]["members"]["bo"]["role"] = "treasurer"
        data["state"]["balance_minor"] = 100_000_000
        if rehash:  # an attacker who read this code recomputes the snapshot's own hash too
            data["state_hash"] = PotState.model_validate(data["state"]).digest()
        forged = json.dumps(data, separators=(",", ":")).encode()
        run("UPDATE {snapshots} SET state = :s WHERE originator_version = :v", s=forged, v=version)
    return int(version)


def test_a_changed_snapshot_is_refused_before_any_command_acts_on_it(store_url: str, tmp_path: Path) -> None:
    crew_with_a_snapshot(store_url, tmp_path)
    forge_snapshot(store_url, rehash=False)
    before = fingerprint(store_url)
    result = pot(store_url, "--as", "Bo", "contribute", "Bo", "5")
    assert result.code == 1
    assert "snapshot" in result.err
    assert "pot verify" in result.err
    assert fingerprint(store_url) == before


def test_verify_names_a_snapshot_rehashed_by_an_attacker(store_url: str, tmp_path: Path) -> None:
    crew_with_a_snapshot(store_url, tmp_path)
    version = forge_snapshot(store_url, rehash=True)
    report = pot(store_url, "verify", "--json")
    assert report.code == 1
    assert (report.json()["first_bad"], report.json()["why"]) == (version, "snapshot")
    assert report.json()["ok"] is False


def test_verify_still_passes_a_lawful_pot_loaded_from_snapshots(store_url: str, tmp_path: Path) -> None:
    events = crew_with_a_snapshot(store_url, tmp_path)
    assert pot(store_url, "--as", "Ana", "contribute", "Bo", "5").code == 0
    report = pot(store_url, "verify", "--json").json()
    assert (report["ok"], report["events"], report["first_bad"], report["why"]) == (True, events + 1, None, None)


# --------------------------------------------------------------------------- forged events, chain recomputed
def write_history(path: Path, forged: Pot) -> None:
    """Store a pot's events as they are, bypassing every rule: INSERTs with a consistent chain."""
    ledger = Ledger(resolve(str(path)))
    try:
        ledger.app.save(forged)
    finally:
        ledger.close()


def opened() -> Pot:
    crew = Pot.open(
        slug="p", name="P", currency="EUR", digits=2, quorum=Decimal("0.5"), voting_days=7, treasurer="Ana", today=DAY
    )
    for name in ("Bo", "Cy", "Dee"):
        crew.add_member(actor="Ana", name=name, treasurer=False, today=DAY)
    return crew


def forge(crew: Pot, kind: str) -> None:
    """Append one event that no command would record, computing its chain as `pot` would."""
    match kind:
        case "a member records money":
            crew._emit(ContributionRecorded, actor="Bo", on=DAY, member="Bo", amount_minor=500, note="", ref=None)
        case "a second Ana":
            crew._emit(MemberJoined, actor="Ana", on=DAY, member="ANA", role="member")
        case "no money at all":
            crew._emit(ContributionRecorded, actor="Ana", on=DAY, member="Cy", amount_minor=0, note="", ref=None)
        case "an outsider's money":
            crew._emit(ContributionRecorded, actor="Ana", on=DAY, member="Mallory", amount_minor=100, note="", ref=None)
        case "paid without approval":
            no = crew.propose(actor="Bo", amount_minor=1, purpose="forged", recipient=None, closes=None, today=DAY)
            crew._emit(WithdrawalPaid, actor="Ana", on=DAY, proposal_no=no, amount_minor=1, recipient="Bo")
        case "paid twice":
            crew.contribute(actor="Ana", member="Cy", amount_minor=10_000, on=DAY, today=DAY)
            no = approved(crew, 100)
            crew.pay(actor="Ana", proposal_no=no, today=DAY)
            # Folding it would fail (the proposal is paid and gone), so it is stored as it is, unfolded.
            unfolded(crew, WithdrawalPaid, actor="Ana", on=DAY, proposal_no=no, amount_minor=100, recipient="Bo")
        case "more out than in":
            no = approved(crew, 10**9)
            crew._emit(WithdrawalPaid, actor="Ana", on=DAY, proposal_no=no, amount_minor=10**9, recipient="Bo")


def unfolded(crew: Pot, kind: type[PotEvent], **fields: Any) -> None:
    """Queue an event for saving, chained to the pot's head, without applying it to the pot's state."""
    event = kind(
        originator_id=crew.id,
        originator_version=crew.version + 1,
        timestamp=kind.create_timestamp(),
        prev=crew.state.head,
        **fields,
    )
    crew._pending_events.append(event)


def approved(crew: Pot, amount_minor: int) -> int:
    """A proposal by Bo that every current member agreed to (so it is decided: approved)."""
    no = crew.propose(actor="Bo", amount_minor=amount_minor, purpose="forged", recipient=None, closes=None, today=DAY)
    for who in crew.current_names():
        crew.vote(actor=who, proposal_no=no, position="agree", reason="", today=DAY)
    assert crew.proposal_status(no) == "approved"
    return no


STEP = st.tuples(st.sampled_from(["contribute", "propose", "vote"]), st.sampled_from(["Ana", "Bo", "Cy", "Dee"]))


UNLAWFUL = (
    "a member records money",
    "a second Ana",
    "no money at all",
    "an outsider's money",
    "paid without approval",
    "paid twice",
    "more out than in",
)


@pytest.mark.parametrize("kind", UNLAWFUL)
@settings(max_examples=4, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(before=st.lists(STEP, max_size=12), after=st.lists(STEP, max_size=6))
def test_verify_names_exactly_the_one_unlawful_event_in_a_lawful_history(
    tmp_path_factory: Any, before: list[tuple[str, str]], after: list[tuple[str, str]], kind: str
) -> None:
    """Property: in a lawful history with one event that breaks a rule (chain recomputed), verify names that event."""
    crew = opened()

    def act(steps: list[tuple[str, str]]) -> None:
        for what, who in steps:
            try:
                match what:
                    case "contribute":
                        crew.contribute(actor="Ana", member=who, amount_minor=1000, on=DAY, today=DAY)
                    case "propose":
                        crew.propose(actor=who, amount_minor=100, purpose="x", recipient=None, closes=None, today=DAY)
                    case "vote":
                        open_ = [n for n, p in crew.state.proposals.items() if p.status == "open"]
                        if open_:
                            crew.vote(actor=who, proposal_no=open_[-1], position="agree", reason="", today=DAY)
            except PotError:
                pass  # a refused command stores nothing

    act(before)
    forge(crew, kind)
    if crew.pending_events[-1].originator_version > crew.version:
        bad = crew.version + 1  # stored unfolded: nothing lawful can follow it in memory
    else:
        bad = crew.version
        act(after)
    store = tmp_path_factory.mktemp("forged") / "pot.sqlite"
    write_history(store, crew)
    report = pot(store, "verify", "--json")
    assert report.code == 1, report.out
    assert (report.json()["first_bad"], report.json()["why"]) == (bad, "rule")
    # The same, offline, from the pot's export.
    exported = store.with_suffix(".jsonl")
    assert pot(store, "export", "-o", str(exported)).code == 0
    offline = pot(store, "verify", "--file", str(exported), "--json")
    assert (offline.code, offline.json()["first_bad"], offline.json()["why"]) == (1, bad, "rule")
    if kind == "paid twice":
        # A history that cannot even be folded: a command is refused in one line pointing at verify.
        refused(store, "--as", "Ana", "contribute", "Dee", "1", code=1, says="verify")
