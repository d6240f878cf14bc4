"""Receipts kept with payouts (SPEC §8): their bytes, in a table beside the views, keyed by SHA-256.

A payout's event holds only its receipt's SHA-256 (`withdrawal_paid.receipt_sha256`);
the bytes live here, in table `receipts` of the same database. Not in the event
store: a receipt of up to 10 MB would make every load, export and `verify` of the
log carry it, and its hash in the chained event already pins it. Not a view
either: nothing in the log can rebuild the bytes, so `pot rebuild` leaves the
table alone. Content-addressed, so the same file kept twice is one row, and a
row is only ever added (the writer role of a shared store may INSERT and SELECT
it, nothing more: ledger.roles). `verify` re-hashes every row a payout names.

Only PDF, PNG and JPEG are taken, known by their first bytes (not by a file's
name), at most `MAX_RECEIPT_BYTES`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Column, Engine, LargeBinary, MetaData, String, Table, insert, select

from domain.errors import BadInput, NotFound, Tampered

if TYPE_CHECKING:
    from ledger.app import Ledger
    from projections.models import PotInfo

metadata = MetaData()

receipts = Table(
    "receipts",
    metadata,
    Column("sha256", String(64), primary_key=True),
    Column("bytes", LargeBinary, nullable=False),
)

# SPEC §8: at most 10 MB; a phone photo of a till receipt is a few MB.
MAX_RECEIPT_BYTES = 10 * 1024 * 1024
# The first bytes of each kind taken, and the content type it is served with.
_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"%PDF-", "application/pdf"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
)
EXTENSIONS = {"application/pdf": "pdf", "image/png": "png", "image/jpeg": "jpg"}


def media_type(data: bytes) -> str | None:
    """The content type these bytes start as (PDF, PNG or JPEG), else None."""
    return next((kind for magic, kind in _MAGIC if data.startswith(magic)), None)


def checked(data: bytes, what: str = "the receipt") -> str:
    """The SHA-256 (hex) of a receipt that may be kept; a refusal saying why not otherwise."""
    if len(data) > MAX_RECEIPT_BYTES:
        raise BadInput(f"{what} is {len(data)} bytes: a receipt is at most 10 MB ({MAX_RECEIPT_BYTES} bytes)")
    if not data:
        raise BadInput(f"{what} is empty")
    if media_type(data) is None:
        raise BadInput(f"{what} is not a PDF, PNG or JPEG file (judged by its content, not its name)")
    return hashlib.sha256(data).hexdigest()


def read_file(path: Path) -> bytes:
    """A receipt file's bytes, reading at most one byte more than the limit (a huge file is not loaded)."""
    try:
        with path.open("rb") as f:
            data = f.read(MAX_RECEIPT_BYTES + 1)
    except OSError as e:
        raise BadInput(f"cannot read receipt {str(path)!r}: {e.strerror or e}") from None
    checked(data, f"receipt {path.name!r}")
    return data


class Receipts:
    """The receipts table of one store."""

    def __init__(self, engine: Engine, reader: Engine | None = None) -> None:
        self.engine = engine
        self.reader = reader or engine

    def create_table(self) -> None:
        metadata.create_all(self.engine)

    def keep(self, data: bytes) -> str:
        """Store a checked receipt (once: the same bytes again are already there); its SHA-256."""
        sha = checked(data)
        with self.engine.begin() as conn:
            if conn.execute(select(receipts.c.sha256).where(receipts.c.sha256 == sha)).first() is None:
                conn.execute(insert(receipts).values(sha256=sha, bytes=data))
        return sha

    def get(self, sha256: str) -> bytes | None:
        with self.reader.connect() as conn:
            found = conn.execute(select(receipts.c.bytes).where(receipts.c.sha256 == sha256)).scalar()
        return None if found is None else bytes(found)

    def all(self) -> Iterator[tuple[str, bytes]]:
        """Every stored receipt as (the SHA-256 it is stored under, its bytes)."""
        with self.reader.connect() as conn:
            for sha, data in conn.execute(select(receipts.c.sha256, receipts.c.bytes)):
                yield str(sha), bytes(data)


@dataclass(frozen=True)
class Receipt:
    """A payout's receipt as a front end hands it out: its proposal, hash, content type and bytes."""

    proposal_no: int
    sha256: str
    media_type: str
    data: bytes

    @property
    def filename(self) -> str:
        return f"receipt-proposal-{self.proposal_no}.{EXTENSIONS.get(self.media_type, 'bin')}"


def receipt_of(ledger: Ledger, info: PotInfo, no: int) -> Receipt:
    """The receipt kept with proposal `no`'s payout; a refusal if it has none, or its bytes are not as recorded."""
    found = ledger.proposal(info, no)  # NotFound for no such proposal
    if found.receipt_sha256 is None:
        raise NotFound(f"proposal {no} has no receipt" + ("" if found.status == "paid" else f": it is {found.status}"))
    data = ledger.receipts.get(found.receipt_sha256)
    if data is None or hashlib.sha256(data).hexdigest() != found.receipt_sha256:
        raise Tampered(f"the receipt of proposal {no}'s payout is missing or changed in the store: run `pot verify`")
    return Receipt(no, found.receipt_sha256, media_type(data) or "application/octet-stream", data)
