"""A server keeps each pot its last command saved (ledger.app: `_keep`, `_take_kept`).

The kept pot is only a shortcut: what the next command sees must be what a load
from the store would give, whatever other processes stored in between, and a
command the pot refused leaves nothing half-done behind.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from domain.errors import NotFound
from ledger.app import Ledger
from ledger.store import resolve

DAY = date(2026, 1, 5)


def opened(db: Path) -> None:
    ledger = Ledger(resolve(str(db)))
    try:
        ledger.open_pot(
            slug="p", name="P", currency="EUR", quorum=Decimal("0.5"), voting_days=7, treasurer="Ana", today=DAY
        )
        ledger.add_member("p", actor="Ana", name="Bo", treasurer=False, today=DAY)
    finally:
        ledger.close()


def test_a_kept_pot_takes_in_what_another_process_stored(tmp_path: Path) -> None:
    db = tmp_path / "pot.sqlite"
    opened(db)
    server, other = Ledger(resolve(str(db)), server=True), Ledger(resolve(str(db)))
    try:
        server.contribute("p", actor="Ana", member="Bo", amount_minor=1000, on=DAY, today=DAY)
        assert server._kept is not None
        assert "p" in server._kept
        other.contribute("p", actor="Ana", member="Ana", amount_minor=500, on=DAY, today=DAY, ref="r-1")
        # The server's next command runs on the pot the other process left: the ref is taken, the balance counts it.
        fresh = other.load("p")
        kept = server.load("p")
        assert (kept.version, kept.state.head, kept.state.balance_minor) == (
            fresh.version,
            fresh.state.head,
            fresh.state.balance_minor,
        )
        assert kept.state.balance_minor == 1500
    finally:
        server.close()
        other.close()


def test_a_refused_command_leaves_no_kept_pot(tmp_path: Path) -> None:
    db = tmp_path / "pot.sqlite"
    opened(db)
    server = Ledger(resolve(str(db)), server=True)
    try:
        server.contribute("p", actor="Ana", member="Bo", amount_minor=1000, on=DAY, today=DAY)
        with pytest.raises(NotFound):
            server.reverse("p", actor="Ana", contribution_no=99, reason="no such", today=DAY)
        assert server._kept is not None
        assert "p" not in server._kept
        pot = server.load("p")
        assert pot.version == 4
        assert pot.state.balance_minor == 1000
    finally:
        server.close()


def test_a_command_line_ledger_keeps_nothing(tmp_path: Path) -> None:
    db = tmp_path / "pot.sqlite"
    opened(db)
    ledger = Ledger(resolve(str(db)))
    try:
        ledger.contribute("p", actor="Ana", member="Bo", amount_minor=1000, on=DAY, today=DAY)
        assert ledger._kept is None
    finally:
        ledger.close()
