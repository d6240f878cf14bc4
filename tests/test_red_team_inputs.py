"""Issue 23's red-team findings about inputs: a statement whose quote is left open, and a refused whole-pot import.

Each test reproduces the attack as it was found: an unclosed quote in a CSV statement made its
following rows vanish into a note; a refused `import --format jsonl` into a new path left a store behind.
(A name that matplotlib read as TeX is in tests/test_report.py, beside the other report tests.)
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import fingerprint, pot, refused

IMPORT = ("--as", "Ana", "import")


def statement(tmp_path: Path, text: str, name: str = "s.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode("utf-8"))
    return path


# --------------------------------------------------------------------------- finding 5: a quote left open
def test_the_red_team_statement_is_refused_naming_the_open_quote(crew: Path, tmp_path: Path) -> None:
    """The file as found: before, "1 new" and the 2.00 row stored inside the first row's note."""
    path = statement(tmp_path, 'member,amount,on,note\nBo,1,2026-02-01,"unterminated\nBo,2,2026-02-01,x\n')
    refused(crew, *IMPORT, str(path), code=2, says="line 2: a quote opened on this line is never closed")


@pytest.mark.parametrize(
    ("text", "line"),
    [
        # The open quote is on the last line: nothing comes after it, still not a note.
        ('member,amount,on,note\nBo,1,2026-02-01,x\nBo,2,2026-02-01,"unterminated\n', 3),
        # No line break at the end of the file.
        ('member,amount,on,note\nBo,2,2026-02-01,"unterminated', 2),
        # Windows line endings.
        ('member,amount,on,note\r\nBo,2,2026-02-01,"unterminated\r\nBo,3,2026-02-01,x\r\n', 2),
    ],
    ids=["last-line", "no-final-newline", "crlf"],
)
def test_a_quote_left_open_to_the_end_of_the_file_is_bad_input(
    crew: Path, tmp_path: Path, text: str, line: int
) -> None:
    refused(crew, *IMPORT, str(statement(tmp_path, text)), code=2, says=f"line {line}: a quote opened")


def test_a_quote_that_closes_rows_later_with_text_after_it_names_both_lines(crew: Path, tmp_path: Path) -> None:
    text = 'member,amount,on,note\nBo,1,2026-02-01,"unterminated\nBo,2,2026-02-01,"x"\n'
    refused(crew, *IMPORT, str(statement(tmp_path, text)), code=2, says="line 2: a quoted field opened here")


def test_a_quote_that_closes_cleanly_after_swallowing_a_row_is_bad_input(crew: Path, tmp_path: Path) -> None:
    """The quote closes at a line's end, so the CSV reads cleanly: but the note holds what reads as a row."""
    text = 'member,amount,on,note\nBo,1,2026-02-01,"unterminated\nBo,2,2026-02-01,x"\nBo,3,2026-02-01,y\n'
    refused(crew, *IMPORT, str(statement(tmp_path, text)), code=2, says="line 2: the quoted field swallows line 3")


def test_a_deliberate_multi_line_note_still_imports(crew: Path, tmp_path: Path) -> None:
    note = 'paid for: rent,\nsnacks, 2 "big" bags\nand 1,50 of tape'
    quoted = note.replace('"', '""')
    text = f'member,amount,on,note,ref\nBo,1,2026-02-01,"{quoted}",R1\nBo,2,2026-02-01,x,R2\n'
    result = pot(crew, *IMPORT, str(statement(tmp_path, text)))
    assert (result.code, result.err, result.out.strip()) == (0, "", "events 6-7: 2 new, 0 already recorded")
    notes = [e["note"] for e in pot(crew, "history", "--json").json()[-2:]]
    assert notes == [note, "x"]


def test_a_quote_inside_an_unquoted_note_is_kept_as_typed(crew: Path, tmp_path: Path) -> None:
    text = 'member,amount,on,note\nBo,1,2026-02-01,a 27" screen\n'
    result = pot(crew, *IMPORT, str(statement(tmp_path, text)))
    assert (result.code, result.err) == (0, "")
    assert pot(crew, "history", "--json").json()[-1]["note"] == 'a 27" screen'


# --------------------------------------------------------------------------- finding 9: nothing left behind
def _companions(path: Path) -> list[str]:
    """The store file and every file SQLite or pot keeps beside it."""
    return sorted(p.name for p in path.parent.iterdir() if p.name.startswith(path.name))


@pytest.fixture
def exported(crew: Path, tmp_path: Path) -> Path:
    out = tmp_path / "pot.jsonl"
    assert pot(crew, "--as", "Ana", "contribute", "Bo", "25").code == 0
    assert pot(crew, "export", "-o", str(out)).code == 0
    return out


def _forged(exported: Path, tmp_path: Path) -> Path:
    """The export with its last event's amount raised: the chain no longer holds."""
    lines = exported.read_text("utf-8").splitlines()
    last = json.loads(lines[-1])
    last["fields"]["amount_minor"] += 100
    lines[-1] = json.dumps(last)
    forged = tmp_path / "forged.jsonl"
    forged.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return forged


def test_a_refused_import_into_a_new_store_leaves_no_file(exported: Path, tmp_path: Path) -> None:
    forged = _forged(exported, tmp_path)
    target = tmp_path / "fresh" / "new.sqlite"
    target.parent.mkdir()
    result = pot(target, "import", "--format", "jsonl", str(forged))
    assert result.code in (1, 2), result
    assert result.err.startswith("error: ")
    assert _companions(target) == []


def test_a_refused_import_of_an_unreadable_file_into_a_new_store_leaves_no_file(tmp_path: Path) -> None:
    bad = statement(tmp_path, "not json\n", "bad.jsonl")
    target = tmp_path / "fresh" / "new.sqlite"
    target.parent.mkdir()
    refused(target, "import", str(bad), code=1, says="line 1 (event 1): not a JSON object")
    assert _companions(target) == []


def test_a_refused_import_into_an_existing_store_leaves_it_as_it_was(
    crew: Path, exported: Path, tmp_path: Path
) -> None:
    forged = _forged(exported, tmp_path)
    before = fingerprint(crew)
    result = pot(crew, "import", "--format", "jsonl", str(forged))
    assert result.code in (1, 2), result
    assert crew.exists()
    assert fingerprint(crew) == before
    assert pot(crew, "verify").code == 0


def test_an_import_into_a_new_store_that_succeeds_keeps_it(exported: Path, tmp_path: Path) -> None:
    target = tmp_path / "kept.sqlite"
    assert pot(target, "import", str(exported)).code == 0
    assert target.exists()
    assert pot(target, "verify").code == 0


def _refused_inside_guard(target: Path, close: Callable[[], None], before_refusal: Callable[[], None]) -> None:
    """Run `before_refusal` inside the guard around `target`, then refuse as an import would."""
    from ledger.jsonl import no_store_left_if_refused

    with no_store_left_if_refused(target, close):
        before_refusal()
        raise RuntimeError("this import was refused")


def test_a_store_that_holds_events_after_all_is_never_removed(exported: Path, tmp_path: Path) -> None:
    """Another import into the same new path got there first: a refusal here must not delete its store."""
    target = tmp_path / "raced.sqlite"
    closed: list[bool] = []

    def other_import() -> None:
        assert pot(target, "import", str(exported)).code == 0

    with pytest.raises(RuntimeError):
        _refused_inside_guard(target, lambda: closed.append(True), other_import)
    assert closed == [True]
    assert target.exists()
    assert pot(target, "verify").code == 0


def test_an_empty_store_made_by_another_command_is_left_alone(tmp_path: Path) -> None:
    """The guard removes only what the guarded command created: a store there before is not its to remove."""
    target = tmp_path / "there.sqlite"
    target.write_bytes(b"")
    with pytest.raises(RuntimeError):
        _refused_inside_guard(target, lambda: None, lambda: None)
    assert target.exists()
