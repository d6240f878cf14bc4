"""The bad-input catalogue over every command, as one table (issue 7, item 5).

Each row: the arguments, the exit code (2 bad input or usage, 1 refused by a
rule), a phrase of the single `error:` line; the store and its head digest unchanged.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import head, pot, refused
from tests.reliability.conftest import count

A, B = ("--as", "Ana"), ("--as", "Bo")

# Statements with a quote left open (issue 23, finding 5): see each file.
BAD_FILES = Path(__file__).parent / "bad_files"

CATALOGUE: list[tuple[tuple[str, ...], int, str]] = [
    # statements with a quote left open: a named line, nothing stored (issue 23, finding 5)
    ((*A, "import", str(BAD_FILES / "open-quote.csv")), 2, "line 2: a quote opened on this line is never closed"),
    ((*A, "import", str(BAD_FILES / "quote-closed-then-text.csv")), 2, "line 2: a quoted field opened here"),
    ((*A, "import", str(BAD_FILES / "quote-swallows-a-row.csv")), 2, "line 2: the quoted field swallows line 3"),
    # global options
    (("--pot", "nope", "balance"), 2, "no pot 'nope'"),
    (("--pot", "Not A Slug!", "balance"), 2, "slug"),
    (("--today", "2026-02-30", "balance"), 2, "date"),
    # init
    (("init", "Crew", "--currency", "EURO", *A), 2, "currency"),
    (("init", "Crew", "--currency", "EUR"), 2, "--as"),
    (("init", "Crew", "--currency", "EUR", "--quorum", "2", *A), 2, "quorum"),
    (("init", "Crew", "--currency", "EUR", *A), 1, "already exists"),
    # members
    ((*A, "member", "add", ""), 2, "name"),
    ((*A, "member", "add", "Bo"), 1, "already"),
    ((*A, "member", "remove", "Zed"), 2, "not a member"),
    # contribute
    ((*A, "contribute", "Bo", "abc"), 2, "amount"),
    ((*A, "contribute", "Bo", "0"), 2, "zero"),
    ((*A, "contribute", "Bo", "1.001"), 2, "decimals"),
    ((*A, "contribute", "Bo", "2.100,00"), 2, "use a dot"),
    ((*A, "contribute", "Zed", "5"), 2, "not a member"),
    ((*A, "contribute", "Bo", "5", "--on", "2026-13-01"), 2, "date"),
    ((*A, "contribute", "Bo", "5", "--on", "0202-01-05"), 2, "'0202-01-05' is before 1900: check the year"),
    ((*A, "contribute", "Bo"), 2, "amount"),
    ((*A, "contribute", "Bo", "5", "--ref", "BANK-1"), 1, "BANK-1"),
    # reverse
    ((*A, "reverse", "99", "--reason", "x"), 2, "99"),
    ((*A, "reverse", "abc", "--reason", "x"), 2, "abc"),
    ((*A, "reverse", "6"), 2, "--reason"),
    ((*A, "reverse", "1", "--reason", "x"), 1, "not a contribution"),
    # pledges
    ((*B, "pledge", "Bo"), 2, "exactly one"),
    ((*B, "pledge", "Bo", "--percent", "abc"), 2, "percent"),
    ((*B, "pledge", "Bo", "--monthly", "40", "--from", "2026-13"), 2, "YYYY-MM"),
    ((*B, "pledge", "Bo", "--monthly", "40", "--from", "0001-01"), 2, "pledge month 0001-01 is before 1900"),
    (("pledges", "--as-of", "yesterday"), 2, "date"),
    # proposals and votes
    ((*B, "propose", "abc", "--purpose", "x"), 2, "amount"),
    ((*B, "propose", "10"), 2, "--purpose"),
    ((*B, "vote", "1", "maybe"), 2, "maybe"),
    ((*B, "vote", "99", "agree"), 2, "99"),
    ((*B, "close", "99"), 2, "99"),
    ((*B, "close", "1"), 1, "open for votes"),
    ((*B, "cancel", "99"), 2, "99"),
    ((*A, "pay", "1"), 1, "1"),
    ((*A, "pay", "99"), 2, "99"),
    (("proposal", "99"), 2, "99"),
    (("proposals", "--status", "nope"), 2, "nope"),
    # games
    ((*A, "game", "listening", "--with", ""), 2, "--with"),
    ((*A, "game", "listening", "--with", "Ana"), 2, "at least two"),
    ((*A, "game", "listening", "--with", "Ana,Zed"), 2, "not a member"),
    ((*A, "game", "conflict", "--between", "Ana,Bo", "--resolved", "--unresolved"), 2, "exactly one"),
    # reflections and replay
    ((*B, "reflect", "99", "--feeling", "curious"), 2, "no event 99"),
    ((*B, "reflect", "2", "--feeling", "very happy"), 2, "feeling"),
    (("reflect", "2", "--feeling", "sad"), 2, "--as"),
    (("replay", "--from", "4", "--to", "2"), 2, "after --to"),
    (("replay", "--from", "0"), 2, "--from"),
    # queries
    (("balance", "--as-of", "2026-02-30"), 2, "date"),
    (("trust", "--as-of", "soon"), 2, "date"),
    (("history", "--type", "coffee"), 2, "unknown event type"),
    (("history", "--since", "last week"), 2, "date"),
    # verify, interchange
    (("verify", "--digest", "abc"), 2, "at least 12"),
    (("verify", "--digest", "3f9a0c1e"), 2, "at least 12"),
    (("verify", "--digest", "00000000deadbeef"), 1, "has changed"),
    (("verify", "--digest", "zzzzzzzzzzzz"), 2, "hex"),
    # dates keep their order (proposal 1 was made on 2026-03-01 and closes 2026-03-08)
    (("--today", "2026-03-08", *A, "close", "1"), 1, "open for votes until 2026-03-08"),
    (("--today", "2026-03-09", *A, "vote", "1", "agree"), 1, "closed on 2026-03-08"),
    (("--today", "2026-02-28", *A, "vote", "1", "agree"), 1, "made on 2026-03-01"),
    (("--today", "2026-02-28", *A, "reverse", "6", "--reason", "x"), 1, "cannot be reversed on 2026-02-28"),
    (("trust", "--as-of", "2026-04-01"), 2, "after today"),
    # numbers past what a database integer holds: one usage error on every backend
    (("proposal", "2147483648"), 2, "2147483647"),
    (("replay", "--to", "99999999999999999999"), 2, "2147483647"),
    ((*A, "reverse", "2147483648", "--reason", "x"), 2, "2147483647"),
    (("pledges", "--as-of", "2026-04-01"), 2, "after today"),
    (("export", "--format", "pdf"), 2, "pdf"),
    ((*A, "import", "/no/such/file.csv"), 2, "file.csv"),
    (("no-such-command",), 2, "no-such-command"),
    # look-alike names, invisible and direction-changing characters (issue 23, findings 6 and 7)
    ((*A, "member", "add", "\u0410na"), 1, "looks like Ana, who is a member"),
    ((*A, "member", "add", "b\u043e"), 1, "looks like Bo"),
    ((*A, "member", "add", "P\u0430ul"), 2, "mixes Latin and Cyrillic letters"),
    ((*A, "member", "add", "Eve\u3164"), 2, "invisible character (U+3164)"),
    ((*A, "member", "add", "Eve\u200b"), 2, "invisible character"),
    ((*A, "contribute", "Bo", "5", "--note", "fee \u202e05"), 2, "direction-changing character (U+202E)"),
    ((*B, "propose", "5", "--purpose", "\u2066rent\u2069"), 2, "direction-changing character (U+2066)"),
    ((*B, "vote", "1", "agree", "--reason", "fine\u202b"), 2, "direction-changing character (U+202B)"),
    ((*A, "reverse", "6", "--reason", "typo\u202d"), 2, "direction-changing character (U+202D)"),
]


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Crew Ana (treasurer), Bo, Cy, Dee; Bo gave 50 (event 6, ref BANK-1); Bo's proposal 1 is open."""
    db = tmp_path_factory.mktemp("catalogue") / "crew.sqlite"
    for args in (
        ("init", "Crew", "--currency", "EUR", *A),
        *((*A, "member", "add", name) for name in ("Bo", "Cy", "Dee")),
        (*A, "contribute", "Bo", "50", "--ref", "BANK-1"),
        (*B, "propose", "20", "--purpose", "rent"),
    ):
        result = pot(db, *args)
        assert result.code == 0, (args, result.err)
    return db


@pytest.mark.parametrize(("args", "code", "says"), CATALOGUE, ids=[" ".join(a) for a, _, _ in CATALOGUE])
def test_bad_input_is_refused_with_one_error_line_and_nothing_stored(
    store: Path, args: tuple[str, ...], code: int, says: str
) -> None:
    before = head(store)
    refused(store, *args, code=code, says=says)
    assert head(store) == before
    count("bad inputs refused, store unchanged")
