"""Receipts kept with payouts (SPEC §8): `pot pay N --receipt FILE`, `pot receipt N -o FILE`, and `verify`."""

from __future__ import annotations

import base64
import hashlib
import sqlite3
from pathlib import Path

import pytest

from ledger.receipts import MAX_RECEIPT_BYTES
from tests.conftest import head, pot, refused
from tests.test_roles import Roles, roles, setup, try_as  # noqa: F401  (roles: a fixture)

PDF = b"%PDF-1.4\n% a till receipt\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


def ok(db: Path | str, *args: str, today: str | None = "2026-03-01") -> str:
    result = pot(db, *args, today=today)
    assert result.code == 0, (args, result.code, result.out, result.err)
    return result.out


@pytest.fixture
def approved(crew: Path) -> Path:
    """The crew with 500.00 in, and proposal 1 (120.00 to Bo) approved, not yet paid."""
    ok(crew, "--as", "Ana", "contribute", "Ana", "500")
    ok(crew, "--as", "Bo", "propose", "120", "--purpose", "laptop")
    for name in ("Ana", "Bo", "Cy", "Dee"):
        ok(crew, "--as", name, "vote", "1", "agree")
    return crew


def test_a_receipt_is_kept_with_the_payout_and_given_back(approved: Path, tmp_path: Path) -> None:
    receipt = tmp_path / "receipt.bin"  # the name says nothing; the content is a PDF
    receipt.write_bytes(PDF)
    ok(approved, "--as", "Ana", "pay", "1", "--receipt", str(receipt))
    payout = pot(approved, "history", "--json", "--type", "withdrawal_paid").json()[0]
    assert payout["receipt_sha256"] == hashlib.sha256(PDF).hexdigest()
    out = tmp_path / "back.pdf"
    assert "application/pdf" in ok(approved, "receipt", "1", "-o", str(out))
    assert out.read_bytes() == PDF
    assert pot(approved, "verify").code == 0
    ok(approved, "rebuild")
    out.unlink()
    ok(approved, "receipt", "1", "-o", str(out))
    assert out.read_bytes() == PDF


def test_a_payout_without_a_receipt_keeps_its_old_shape(approved: Path, tmp_path: Path) -> None:
    ok(approved, "--as", "Ana", "pay", "1")
    payout = pot(approved, "history", "--json", "--type", "withdrawal_paid").json()[0]
    assert "receipt_sha256" not in payout
    refused(approved, "receipt", "1", "-o", str(tmp_path / "x.pdf"), code=2, says="proposal 1 has no receipt")


def test_a_receipt_over_10_mb_is_refused(approved: Path, tmp_path: Path) -> None:
    big = tmp_path / "big.png"
    big.write_bytes(PNG + b"\x00" * (MAX_RECEIPT_BYTES + 1 - len(PNG)))
    before = head(approved)
    refused(approved, "--as", "Ana", "pay", "1", "--receipt", str(big), code=2, says="at most 10 MB")
    assert head(approved) == before
    exactly = tmp_path / "exactly.png"
    exactly.write_bytes(PNG + b"\x00" * (MAX_RECEIPT_BYTES - len(PNG)))
    ok(approved, "--as", "Ana", "pay", "1", "--receipt", str(exactly))


def test_a_text_file_named_pdf_is_refused(approved: Path, tmp_path: Path) -> None:
    fake = tmp_path / "receipt.pdf"
    fake.write_text("this is not a PDF\n")
    before = head(approved)
    refused(approved, "--as", "Ana", "pay", "1", "--receipt", str(fake), code=2, says="not a PDF, PNG or JPEG")
    assert head(approved) == before
    assert pot(approved, "proposal", "1", "--json").json()["status"] == "approved"


def test_a_receipt_changed_in_the_database_makes_verify_name_the_payout(approved: Path, tmp_path: Path) -> None:
    receipt = tmp_path / "r.pdf"
    receipt.write_bytes(PDF)
    ok(approved, "--as", "Ana", "pay", "1", "--receipt", str(receipt))
    payout_no = pot(approved, "history", "--json", "--type", "withdrawal_paid").json()[0]["no"]
    before = head(approved)
    with sqlite3.connect(approved) as conn:
        conn.execute("UPDATE receipts SET bytes = ?", (PDF.replace(b"till", b"fake"),))
    result = pot(approved, "verify", "--json")
    assert result.code == 1
    report = result.json()
    assert (report["ok"], report["first_bad"], report["why"]) == (False, payout_no, "receipt")
    text = pot(approved, "verify")
    assert f"payout {payout_no} (proposal 1) was changed" in text.err
    assert head(approved) == before
    refused(approved, "receipt", "1", "-o", str(tmp_path / "x.pdf"), code=1, says="missing or changed")


def test_an_export_with_receipts_carries_them_to_an_offline_verify_and_an_import(
    approved: Path, tmp_path: Path
) -> None:
    receipt = tmp_path / "r.pdf"
    receipt.write_bytes(PDF)
    ok(approved, "--as", "Ana", "pay", "1", "--receipt", str(receipt))
    plain, carrying = tmp_path / "plain.jsonl", tmp_path / "carrying.jsonl"
    ok(approved, "export", "--format", "jsonl", "-o", str(plain))
    ok(approved, "export", "--format", "jsonl", "--with-receipts", "-o", str(carrying))
    # The plain export is as before: one line per event, no receipt bytes.
    assert all('"receipt":' not in line for line in plain.read_text().splitlines())
    assert len(carrying.read_text().splitlines()) == len(plain.read_text().splitlines()) + 1
    assert pot(tmp_path / "nowhere.sqlite", "verify", "--file", str(carrying)).code == 0
    assert pot(tmp_path / "nowhere.sqlite", "verify", "--file", str(plain)).code == 0
    copy = tmp_path / "copy.sqlite"
    ok(copy, "import", str(carrying))
    assert pot(copy, "verify").code == 0
    back = tmp_path / "back.pdf"
    ok(copy, "receipt", "1", "-o", str(back))
    assert back.read_bytes() == PDF
    # One changed byte in the carried receipt: the offline verify names the payout, and an import refuses it.
    changed = tmp_path / "changed.jsonl"
    changed.write_text(
        carrying.read_text().replace(base64.b64encode(PDF).decode(), base64.b64encode(PDF.upper()).decode())
    )
    result = pot(tmp_path / "nowhere.sqlite", "verify", "--file", str(changed), "--json")
    assert result.code == 1
    payout_no = pot(approved, "history", "--json", "--type", "withdrawal_paid").json()[0]["no"]
    assert (result.json()["first_bad"], result.json()["why"]) == (payout_no, "receipt")
    other = tmp_path / "other.sqlite"
    assert pot(other, "import", str(changed)).code == 1
    assert not other.exists() or pot(other, "verify").code != 0


def test_with_receipts_goes_with_jsonl_only(approved: Path) -> None:
    refused(
        approved,
        "export",
        "--format",
        "journal",
        "--with-receipts",
        code=2,
        says="--with-receipts goes with --format jsonl",
    )


def test_on_a_shared_postgresql_store_the_writer_keeps_receipts_and_cannot_change_them(
    roles: Roles,  # noqa: F811  (the fixture imported from tests.test_roles)
    tmp_path: Path,
) -> None:
    setup(roles)
    db = roles.as_writer
    ok(db, "init", "Crew", "--currency", "EUR", "--as", "Ana", today="2026-01-01")
    ok(db, "--as", "Ana", "member", "add", "Bo", today="2026-01-01")
    ok(db, "--as", "Ana", "contribute", "Ana", "50")
    ok(db, "--as", "Bo", "propose", "20", "--purpose", "paint")
    for name in ("Ana", "Bo"):
        ok(db, "--as", name, "vote", "1", "agree")
    receipt = tmp_path / "r.png"
    receipt.write_bytes(PNG)
    ok(db, "--as", "Ana", "pay", "1", "--receipt", str(receipt))
    ok(db, "--as", "Ana", "refund", "1", "5", "--reason", "change")
    out = tmp_path / "back.png"
    ok(db, "receipt", "1", "-o", str(out))
    assert out.read_bytes() == PNG
    assert pot(db, "verify").code == 0
    for statement in ("UPDATE receipts SET bytes = bytes", "DELETE FROM receipts", "TRUNCATE receipts"):
        refusal = try_as(db, statement)
        assert refusal is not None, statement
        assert "permission denied" in refusal, refusal
