"""The CLI's quick read (issue 22): the same answers as the ledger, never stale, and nothing heavy loaded."""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from contextlib import suppress
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from domain.errors import PotError
from ledger.app import Ledger
from ledger.reads import ViewReads
from ledger.store import resolve
from ledger.views import QuickViews
from projections.models import as_json
from tests.conftest import pot

TODAY = date(2026, 3, 1)
CREW = ("Ana", "Bo", "Cy", "Dee")
FEELINGS = ("anxious", "grateful", "proud", "uneasy")


def _forbidden() -> ViewReads:
    raise AssertionError("the quick read handed a caught-up store to the ledger")


def quick(path: Path) -> QuickViews:
    """A quick read that fails the test if it does not answer by itself."""
    return QuickViews(path, _forbidden, lock_timeout_seconds=5)


# One step of a crew's history: what is done, by whom (an index into CREW), with which number.
steps = st.lists(
    st.one_of(
        st.tuples(st.just("contribute"), st.integers(0, 3), st.integers(1, 90_000), st.integers(0, 60)),
        st.tuples(st.just("reverse"), st.integers(0, 3), st.integers(0, 40), st.just(0)),
        st.tuples(st.just("propose"), st.integers(0, 3), st.integers(1, 50_000), st.just(0)),
        st.tuples(st.just("vote"), st.integers(0, 3), st.integers(1, 6), st.integers(0, 3)),
        st.tuples(st.just("close_and_pay"), st.integers(0, 3), st.integers(1, 6), st.just(0)),
        st.tuples(st.just("reflect"), st.integers(0, 3), st.integers(1, 40), st.integers(0, 3)),
        st.tuples(st.just("pledge"), st.integers(0, 3), st.integers(1, 20_000), st.integers(0, 5)),
        st.tuples(st.just("leave"), st.integers(1, 3), st.just(0), st.just(0)),
    ),
    max_size=30,
)


def build(path: Path, history: list[tuple[str, int, int, int]]) -> Ledger:
    """Apply a history through the ledger (refused steps store nothing) and fold it into the views."""
    ledger = Ledger(resolve(str(path)))
    ledger.open_pot(
        slug="p", name="P", currency="EUR", quorum=Decimal("0.5"), voting_days=7, treasurer="Ana", today=TODAY
    )
    for name in CREW[1:]:
        ledger.add_member("p", actor="Ana", name=name, treasurer=False, today=TODAY)
    contributions: list[int] = []
    for kind, who, number, extra in history:
        actor = CREW[who]
        try:
            if kind == "contribute":
                on = TODAY - timedelta(days=extra)
                done = ledger.contribute("p", actor="Ana", member=actor, amount_minor=number, on=on, today=TODAY)
                contributions.append(done.no)
            elif kind == "reverse" and contributions:
                no = contributions[number % len(contributions)]
                ledger.reverse("p", actor="Ana", contribution_no=no, reason="typo", today=TODAY)
            elif kind == "propose":
                ledger.propose(
                    "p", actor=actor, amount_minor=number, purpose="rent", recipient=None, closes=None, today=TODAY
                )
            elif kind == "vote":
                position = ("agree", "abstain", "disagree", "block")[extra]
                reason = "" if position in ("agree", "abstain") else "not now"
                ledger.vote("p", actor=actor, proposal_no=number, position=position, reason=reason, today=TODAY)
            elif kind == "close_and_pay":
                with suppress(PotError):
                    ledger.close_proposal("p", actor="Ana", proposal_no=number, today=TODAY)
                ledger.pay("p", actor="Ana", proposal_no=number, today=TODAY)
            elif kind == "reflect":
                ledger.reflect("p", actor=actor, event_no=number, feeling=FEELINGS[extra], note="", today=TODAY)
            elif kind == "pledge":
                ledger.set_pledge(
                    "p",
                    actor=actor,
                    member=actor,
                    percent=None,
                    monthly_minor=number,
                    from_month=f"2026-{extra + 1:02d}",
                    today=TODAY,
                )
            elif kind == "leave":
                ledger.remove_member("p", actor="Ana", name=actor, today=TODAY)
        except PotError:
            pass
    ledger.catch_up()
    return ledger


def every_read(reads: ViewReads) -> dict[str, Any]:
    """What every read command shows, as its JSON."""
    info = reads.resolve_pot(None)
    past = TODAY - timedelta(days=30)
    proposals = reads.proposals(info)
    return {
        "info": as_json(info),
        "members": as_json(reads.members(info.slug)),
        "balance": as_json(reads.balance(info, as_of=None, today=TODAY)),
        "balance as of": as_json(reads.balance(info, as_of=past, today=TODAY)),
        "proposals": as_json(proposals),
        "open": as_json(reads.proposals(info, status="open")),
        "each proposal": [as_json(reads.proposal(info, p.no)) for p in proposals],
        "history": reads.history(info),
        "history since": reads.history(info, since=past, types=["contribution"]),
        "history of Bo": reads.history(info, member="Bo"),
        "trust": as_json(reads.trust(info, as_of=None, today=TODAY)),
        "pledges": as_json(reads.pledges(info, as_of=None, today=TODAY)),
        "rules": as_json(reads.rules(info)),
        "replay": [step.contract(info.digits) for step in reads.replay(info)],
        "triggers": as_json(reads.triggers(info)),
    }


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(history=steps)
def test_every_read_answers_alike_from_the_quick_read_and_from_the_ledger(
    history: list[tuple[str, int, int, int]],
) -> None:
    """Property: for any history, each read's JSON from bare sqlite3 equals the ledger's, to the byte."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "crew.sqlite"
        ledger = build(path, history)
        try:
            through_the_ledger = every_read(ledger)
        finally:
            ledger.close()
        assert every_read(quick(path)) == through_the_ledger


def test_a_quick_read_after_a_write_the_views_have_not_folded_asks_the_ledger(tmp_path: Path) -> None:
    path = tmp_path / "crew.sqlite"
    ledger = build(path, [])
    asked: list[bool] = []

    def full() -> ViewReads:
        asked.append(True)
        return ledger

    try:
        # An event stored without its fold (as by a process that stopped between the two): the views are one behind.
        crew = ledger.load("p")
        crew.contribute(actor="Ana", member="Bo", amount_minor=1234, on=TODAY, today=TODAY)
        ledger.app.save(crew)
        reads = QuickViews(path, full, lock_timeout_seconds=5)
        info = reads.resolve_pot("p")
        assert reads.balance(info, as_of=None, today=TODAY).balance == "12.34"
        assert asked == [True]
    finally:
        ledger.close()


def test_a_read_after_another_process_wrote_is_never_stale(tmp_path: Path) -> None:
    db = tmp_path / "crew.sqlite"
    assert pot(db, "init", "Crew", "--currency", "EUR", "--as", "Ana").code == 0
    reads = quick(db)
    for n in range(1, 4):
        # Another process writes; the very next read in this one sees it.
        done = subprocess.run(
            [
                sys.executable,
                "-c",
                "import cli; cli.main()",
                *("--db", str(db), "--today", "2026-03-01", "--as", "Ana"),
                "contribute",
                "Ana",
                "1",
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        info = reads.resolve_pot(None)
        assert reads.balance(info, as_of=None, today=TODAY).balance == f"{n}.00"


HEAVY = ("sqlalchemy", "pydantic", "eventsourcing", "rich", "babel", "icu", "matplotlib", "jinja2", "psycopg")
PROBE = """
import json, sys
sys.argv = ["pot", *json.loads(sys.argv[1])]
import {entry}
try:
    {entry}.main()
except SystemExit as e:
    code = e.code
print(json.dumps([code, sorted(m for m in {heavy} if m in sys.modules)]), file=sys.stderr)
"""


def loaded_by(*args: str, entry: str = "cli", heavy: tuple[str, ...] = HEAVY) -> tuple[int, list[str]]:
    """Run `pot ARGS…` in a fresh interpreter through `entry`: its exit code and which heavy libraries it loaded."""
    done = subprocess.run(
        [sys.executable, "-c", PROBE.format(entry=entry, heavy=set(heavy)), json.dumps(list(args))],
        capture_output=True,
        text=True,
        check=False,
    )
    code, heavy = json.loads(done.stderr.strip().splitlines()[-1])
    return int(code or 0), list(heavy)


def test_reads_of_caught_up_views_and_help_load_no_sqlalchemy_pydantic_or_eventsourcing(tmp_path: Path) -> None:
    db = tmp_path / "crew.sqlite"
    assert pot(db, "demo").code == 0
    assert pot(db, "balance").code == 0  # demo's last events folded
    for args in (
        ["balance", "--json"],
        ["members", "--json"],
        ["proposals", "--json"],
        ["proposal", "1", "--json"],
        ["history", "--since", "2025-01-01", "--json"],
        ["trust", "--json"],
        ["pledges", "--json"],
        ["rules", "--json"],
        ["triggers", "--json"],
    ):
        assert loaded_by("--db", str(db), "--today", "2026-03-01", *args) == (0, []), args
    assert loaded_by("--help") == (0, [])
    assert loaded_by("vote", "--help") == (0, [])


def test_quick_reads_through_the_console_script_load_no_click_either(tmp_path: Path) -> None:
    """`pot` enters through `cli_quick`: a read of caught-up views loads neither click nor, for JSON, rich."""
    db = tmp_path / "crew.sqlite"
    assert pot(db, "demo").code == 0
    assert pot(db, "balance").code == 0
    for args in (
        ["balance", "--json"],
        ["members", "--json"],
        ["proposals", "--json"],
        ["proposal", "1", "--json"],
        ["history", "--since", "2025-12-01", "--until", "2025-12-31", "--json"],
        ["trust", "--json"],
        ["pledges", "--json"],
        ["rules", "--json"],
    ):
        argv = ("--db", str(db), "--today", "2026-03-01", *args)
        assert loaded_by(*argv, entry="cli_quick", heavy=(*HEAVY, "click")) == (0, []), args
    # Text needs rich's tables, and nothing else heavy.
    assert loaded_by("--db", str(db), "balance", entry="cli_quick", heavy=(*HEAVY, "click")) == (0, ["rich"])
    # What the quick path declines goes to click, exactly as before.
    assert loaded_by("--db", str(db), "balance", "--help", entry="cli_quick", heavy=("click",)) == (0, ["click"])


def test_a_write_loads_the_ledger_and_folds_what_it_stored_so_the_next_read_is_quick(tmp_path: Path) -> None:
    db = tmp_path / "crew.sqlite"
    assert pot(db, "init", "Crew", "--currency", "EUR", "--as", "Ana").code == 0
    code, heavy = loaded_by("--db", str(db), "--today", "2026-03-01", "--as", "Ana", "contribute", "Ana", "5")
    assert code == 0
    assert "eventsourcing" in heavy
    # The next read is answered by sqlite3 alone (`quick` fails the test otherwise).
    info = quick(db).resolve_pot(None)
    assert quick(db).balance(info, as_of=None, today=TODAY).balance == "5.00"
