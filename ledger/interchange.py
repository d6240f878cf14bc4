"""Export and import by format: `write_export` writes one of the export formats, `guess_format` names a file's.

The formats live in their own modules: `ledger.jsonl` (a pot's whole history,
also imported and verified from the file), `ledger.statement_csv` (a bank
statement's contributions, imported), `ledger.audit_csv` (the audit trail for a
spreadsheet) and `ledger.journal` (an hledger journal).
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import suppress
from pathlib import Path
from typing import TextIO

from domain.errors import BadInput
from ledger.app import Ledger
from ledger.audit_csv import export_csv
from ledger.fileio import Exported
from ledger.journal import export_journal
from ledger.jsonl import export_jsonl
from projections.models import PotInfo


def guess_format(path: Path) -> str:
    """The import format a file's name suggests: a pot's JSON Lines export, or else a CSV statement."""
    return "jsonl" if path.suffix.lower() in {".jsonl", ".ndjson"} else "csv"


def write_export(
    ledger: Ledger, info: PotInfo, fmt: str, output: Path | None, stdout: TextIO, *, with_receipts: bool = False
) -> Exported:
    """Write one export format to `output` (whole or not at all) or to `stdout`; `with_receipts` (jsonl only)."""
    if with_receipts and fmt != "jsonl":
        raise BadInput("--with-receipts goes with --format jsonl: only that format carries receipts")
    writers: dict[str, Callable[[TextIO], Exported]] = {
        "jsonl": lambda out: export_jsonl(ledger, info.slug, out, with_receipts=with_receipts),
        "csv": lambda out: export_csv(ledger, info, out),
        "journal": lambda out: export_journal(ledger, info, out),
    }
    write = writers[fmt]
    if output is None:
        return write(stdout)
    # Written beside the target and renamed at the end, so a failed export leaves no half file.
    partial = output.with_name(output.name + ".partial")
    try:
        with partial.open("w", encoding="utf-8", newline="") as out:
            done = write(out)
        partial.replace(output)
    except OSError as e:
        # A missing folder, no permission, a full disk: the crew's to fix, as `report -o` says too.
        raise BadInput(f"cannot write {output}: {e.strerror or e}") from None
    finally:
        with suppress(OSError):
            partial.unlink(missing_ok=True)
    return done
