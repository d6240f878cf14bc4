"""Files in and out at their edges: output paths, unwritable folders, odd bytes and line endings, URLs shown."""

from __future__ import annotations

import codecs
import hashlib
import os
from pathlib import Path

import pytest

from tests.conftest import fingerprint, head, pot, refused

WRITERS = [("export", "--format", "jsonl"), ("export", "--format", "csv"), ("report",)]


def file_digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def funded(crew: Path) -> Path:
    """The crew with one contribution, so a destroyed store would lose money."""
    assert pot(crew, "--as", "Ana", "contribute", "Bo", "25").code == 0
    return crew


# --------------------------------------------------------------------------- writing over the store
@pytest.mark.parametrize("command", WRITERS)
@pytest.mark.parametrize("suffix", ["", "-wal", "-shm", "-journal"])
def test_writing_over_the_store_or_its_companions_is_refused(
    funded: Path, command: tuple[str, ...], suffix: str
) -> None:
    target = funded.with_name(funded.name + suffix)
    fingerprint(funded)  # Any checkpoint a reader's connection makes happens before the bytes are taken.
    before = file_digest(funded)
    refused(funded, *command, "-o", str(target), code=2, says="pot store's own file")
    assert file_digest(funded) == before


@pytest.mark.parametrize("command", WRITERS)
def test_the_store_named_another_way_is_still_the_store(funded: Path, tmp_path: Path, command: tuple[str, ...]) -> None:
    fingerprint(funded)
    before = file_digest(funded)
    (tmp_path / "sub").mkdir()
    roundabout = tmp_path / "sub" / ".." / funded.name
    symlink = tmp_path / "link.sqlite"
    symlink.symlink_to(funded)
    hardlink = tmp_path / "hard.sqlite"
    os.link(funded, hardlink)
    for other in (roundabout, symlink, hardlink):
        refused(funded, *command, "-o", str(other), code=2, says="pot store's own file")
    assert file_digest(funded) == before
    assert pot(funded, "balance", "--json").json()["balance"] == "25.00"


def test_export_beside_the_store_still_works(funded: Path) -> None:
    out = funded.with_name(funded.name + ".jsonl")
    assert pot(funded, "export", "-o", str(out)).code == 0
    assert out.read_text(encoding="utf-8").count("\n") == 6


# --------------------------------------------------------------------------- unwritable output
@pytest.mark.parametrize("fmt", ["jsonl", "csv", "journal"])
def test_export_into_a_missing_folder_is_one_error_line(funded: Path, tmp_path: Path, fmt: str) -> None:
    target = tmp_path / "no" / "such" / f"x.{fmt}"
    refused(funded, "export", "--format", fmt, "-o", str(target), code=2, says="cannot write")
    assert not target.parent.exists()


# --------------------------------------------------------------------------- CSV statements
def test_a_field_beyond_the_csv_reader_limit_is_bad_input_naming_the_line(crew: Path, tmp_path: Path) -> None:
    statement = tmp_path / "long.csv"
    statement.write_text(
        "member,amount,on,note,ref\nBo,1,2026-03-01,note,A\nBo,1,2026-03-01," + "y" * 300_000 + ",L\n",
        encoding="utf-8",
    )
    refused(crew, "--as", "Ana", "import", str(statement), code=2, says="line 3: a field is longer than")


def test_a_crlf_statement_with_a_multi_line_note_reads_as_the_lf_one(crew: Path, tmp_path: Path) -> None:
    notes = []
    for no, (ending, ref) in enumerate((("\r\n", "CRLF"), ("\n", "LF")), start=6):
        statement = tmp_path / f"{ref}.csv"
        rows = ["member,amount,on,note,ref", f'Bo,1,2026-03-01,"first line{ending}second line",{ref}', ""]
        statement.write_bytes(ending.join(rows).encode("utf-8"))
        result = pot(crew, "--as", "Ana", "import", str(statement))
        assert (result.code, result.err) == (0, "")
        assert result.out.strip() == f"event {no}: 1 new, 0 already recorded"
        notes.append(pot(crew, "history", "--json").json()[-1]["note"])
    assert notes == ["first line\nsecond line"] * 2


# --------------------------------------------------------------------------- JSON Lines with a BOM
def test_a_jsonl_export_saved_with_a_bom_verifies_and_imports(funded: Path, tmp_path: Path) -> None:
    exported = tmp_path / "pot.jsonl"
    assert pot(funded, "export", "-o", str(exported)).code == 0
    with_bom = tmp_path / "bom.jsonl"
    with_bom.write_bytes(codecs.BOM_UTF8 + exported.read_bytes())
    checked = pot(funded, "verify", "--file", str(with_bom), "--json")
    assert checked.code == 0, checked.err
    assert checked.json()["ok"] is True
    target = tmp_path / "new.sqlite"
    imported = pot(target, "import", str(with_bom))
    assert imported.code == 0, imported.err
    assert head(target) == head(funded)


def test_a_bom_anywhere_but_the_start_is_still_refused(funded: Path, tmp_path: Path) -> None:
    exported = tmp_path / "pot.jsonl"
    assert pot(funded, "export", "-o", str(exported)).code == 0
    first, rest = exported.read_bytes().split(b"\n", 1)
    moved = tmp_path / "moved.jsonl"
    moved.write_bytes(first + b"\n" + codecs.BOM_UTF8 + rest)
    result = pot(funded, "verify", "--file", str(moved), "--json")
    assert result.code == 1
    assert result.json()["first_bad"] == 2


# --------------------------------------------------------------------------- where
def test_where_hides_a_database_password(tmp_path: Path) -> None:
    result = pot("postgresql+psycopg://treasurer:s3cret-pw@db.example/pots?schema=crew", "where", today=None)
    assert result.code == 0
    assert "s3cret-pw" not in result.out
    assert result.out.strip() == "postgresql+psycopg://treasurer:***@db.example/pots?schema=crew"


def test_where_shows_a_file_path_as_given(tmp_path: Path) -> None:
    assert pot(tmp_path / "x.sqlite", "where", today=None).out.strip() == str(tmp_path / "x.sqlite")
