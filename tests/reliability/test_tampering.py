"""Fifty seeded edits of stored event rows, each caught by `pot verify` naming the first bad event (issue 7, item 4)."""

from __future__ import annotations

import random
import shutil
from pathlib import Path

import pytest

from tests.conftest import pot
from tests.reliability import rawstore
from tests.reliability.conftest import count

SEED = 7
EDITS = 50


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A pot of 25 events: the crew, contributions, a reversal, a proposal with votes."""
    db = tmp_path_factory.mktemp("tamper") / "base.sqlite"
    assert pot(db, "init", "Crew", "--currency", "EUR", "--as", "Ana", today="2026-01-01").code == 0
    for name in ("Bo", "Cy", "Dee"):
        assert pot(db, "--as", "Ana", "member", "add", name, today="2026-01-01").code == 0
    for i in range(16):
        assert pot(db, "--as", "Ana", "contribute", ("Ana", "Bo", "Cy", "Dee")[i % 4], f"{10 + i}.25").code == 0
    assert pot(db, "--as", "Ana", "reverse", "7", "--reason", "typo").code == 0
    assert pot(db, "--as", "Bo", "propose", "20", "--purpose", "tea").code == 0
    for who in ("Ana", "Bo"):
        assert pot(db, "--as", who, "vote", "1", "agree").code == 0
    assert pot(db, "verify").code == 0
    return db


def tamper(db: str, rng: random.Random) -> tuple[str, int]:
    """Apply one seeded edit; return what was done and the event verify must name."""
    stored = rawstore.states(db)
    last = max(stored)
    kind = rng.choice(["byte", "delete", "swap", "version"])
    if kind == "byte":
        version = rng.randint(1, last)
        state = bytearray(stored[version])
        at = rng.randrange(len(state))
        state[at] = rng.choice([c for c in b'0123456789abcdefXYZ{}":,' if c != state[at]])
        rawstore.set_state(db, version, bytes(state))
        return f"byte {at} of event {version}", version
    if kind == "delete":
        version = rng.randint(2, last - 1)
        rawstore.delete_version(db, version)
        return f"deleted event {version}", version
    if kind == "swap":
        a, b = sorted(rng.sample(range(1, last + 1), 2))
        rawstore.set_state(db, a, stored[b])
        rawstore.set_state(db, b, stored[a])
        return f"swapped events {a} and {b}", a
    version = rng.randint(1, last - 1)
    rawstore.renumber(db, version, last + 100 + version)
    return f"renumbered event {version}", version


@pytest.mark.slow
def test_every_seeded_edit_of_a_stored_event_is_named_by_verify(history: Path, tmp_path: Path) -> None:
    rng = random.Random(SEED)
    for n in range(EDITS):
        db = str(tmp_path / f"edit-{n}.sqlite")
        shutil.copy(history, db)
        what, bad = tamper(db, rng)
        result = pot(db, "verify", "--json")
        assert result.code == 1, f"edit {n} ({what}) was not detected"
        assert result.json()["first_bad"] == bad, f"edit {n} ({what}): {result.json()}"
        assert result.err.startswith("error: verify failed"), result.err
        assert f"event {bad}" in result.err, (what, result.err)
        count("tamperings detected by verify")
