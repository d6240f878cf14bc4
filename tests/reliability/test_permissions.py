"""Who may write what: {not a member, member, treasurer} × every command that writes (issue 7, item 6).

Each cell runs on its own copy of one prepared store; an allowed cell must store
events, a refused one must exit 1 with one `error:` line and store nothing.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.conftest import fingerprint, pot, refused
from tests.reliability.conftest import count

TODAY = "2026-03-01"
OUTSIDER, MEMBER, TREASURER = "Zed", "Bo", "Ana"
NOT_A_MEMBER = "not a member"
ONLY_TREASURER = "only a treasurer"

# command → (what each of outsider, member, treasurer gets: None = allowed, else a phrase of the refusal)
MATRIX: dict[str, tuple[tuple[str, ...], tuple[str | None, str | None, str | None]]] = {
    "member add": (("member", "add", "Eve"), (NOT_A_MEMBER, ONLY_TREASURER, None)),
    "member remove": (("member", "remove", "Dee"), (NOT_A_MEMBER, ONLY_TREASURER, None)),
    "contribute": (("contribute", "Cy", "5"), (NOT_A_MEMBER, ONLY_TREASURER, None)),
    "reverse": (("reverse", "6", "--reason", "typo"), (NOT_A_MEMBER, ONLY_TREASURER, None)),
    "pledge (own)": (("pledge", "Bo", "--monthly", "10"), (NOT_A_MEMBER, None, None)),
    "pledge (another's)": (("pledge", "Cy", "--monthly", "10"), (NOT_A_MEMBER, "only their own pledge", None)),
    "propose": (("propose", "10", "--purpose", "tea"), (NOT_A_MEMBER, None, None)),
    "vote": (("vote", "1", "agree"), (NOT_A_MEMBER, None, None)),
    "close": (("close", "2"), (NOT_A_MEMBER, None, None)),
    "cancel (Bo's proposal)": (("cancel", "1"), (NOT_A_MEMBER, None, "only Bo")),
    "pay": (("pay", "3"), (NOT_A_MEMBER, ONLY_TREASURER, None)),
    "game": (("game", "listening", "--with", "Ana,Bo"), (NOT_A_MEMBER, None, None)),
    "reflect": (("reflect", "6", "--feeling", "grateful"), (NOT_A_MEMBER, None, None)),
    "import": (("import", "{bank}"), (NOT_A_MEMBER, ONLY_TREASURER, None)),
}


@pytest.fixture(scope="module")
def prepared(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Crew Ana (treasurer), Bo, Cy, Dee; Bo gave 50 (event 6); Bo's proposals: 1 open, 2 past closing, 3 approved."""
    folder = tmp_path_factory.mktemp("matrix")
    db = folder / "base.sqlite"

    def ok(*args: str, today: str = "2026-02-01") -> None:
        result = pot(db, *args, today=today)
        assert result.code == 0, (args, result.err)

    ok("init", "Crew", "--currency", "EUR", "--as", "Ana")
    for name in ("Bo", "Cy", "Dee"):
        ok("--as", "Ana", "member", "add", name)
    ok("--as", "Ana", "contribute", "Bo", "50")
    ok("--as", "Bo", "propose", "20", "--purpose", "rent", today=TODAY)
    # Its closing day is over by TODAY, so anyone may close it (SPEC §1: after its closing date).
    ok("--as", "Bo", "propose", "10", "--purpose", "tea", "--closes", "2026-02-28")
    ok("--as", "Bo", "propose", "15", "--purpose", "books")
    for who in ("Ana", "Bo", "Cy", "Dee"):
        ok("--as", who, "vote", "3", "agree")
    (folder / "bank.csv").write_text("member,amount,on,note,ref\nCy,12.00,2026-02-20,rent,B-1\n", encoding="utf-8")
    return db


CELLS = [
    (command, who, expected)
    for command, (_args, outcomes) in MATRIX.items()
    for who, expected in zip((OUTSIDER, MEMBER, TREASURER), outcomes, strict=True)
]


@pytest.mark.parametrize(("command", "who", "expected"), CELLS, ids=[f"{c}-{w}" for c, w, _ in CELLS])
def test_each_cell_of_the_permission_matrix(
    prepared: Path, tmp_path: Path, command: str, who: str, expected: str | None
) -> None:
    db = tmp_path / "cell.sqlite"
    shutil.copy(prepared, db)
    args = [a.format(bank=prepared.parent / "bank.csv") for a in MATRIX[command][0]]
    if expected is None:
        before = fingerprint(db)
        result = pot(db, "--as", who, *args, today=TODAY)
        assert result.code == 0, result.err
        assert fingerprint(db) != before
        assert pot(db, "verify").code == 0
    else:
        # An outsider is someone named who is not a member: bad input, exit 2 (SPEC §1); a rule's refusal is 1.
        refused(db, "--as", who, *args, code=2 if who == OUTSIDER else 1, says=expected, today=TODAY)
    count("permission cells asserted")
