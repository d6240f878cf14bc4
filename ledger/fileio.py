"""What the interchange formats share: a file's lines decoded one by one, the size of an import's parts,
and what an export wrote.

`ledger.jsonl`, `ledger.statement_csv`, `ledger.audit_csv` and `ledger.journal` are the formats;
`ledger.interchange` picks one by name.
"""

from __future__ import annotations

import codecs
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

# Rows stored per part of an import's one transaction: memory stays bounded by it.
# The importers read it at call time (`fileio.CHUNK`), so a test can make the parts small.
CHUNK = 5000


@dataclass(frozen=True)
class Exported:
    """What an export wrote (or a whole-pot import re-created): its events and the short head digest."""

    events: int
    head: str


def utf8_lines(path: Path) -> Iterator[tuple[int, str | None]]:
    """Each line of the file and its number, decoded on its own: None for a line that is not UTF-8.

    Text files decode in blocks, so a bad byte is reported without its line. A newline
    byte is never part of a multi-byte UTF-8 character, so each line decodes alone.
    """
    with path.open("rb") as f:
        for no, data in enumerate(f, start=1):
            if no == 1:
                # Windows editors save UTF-8 with a byte order mark; it is not part of the first line.
                data = data.removeprefix(codecs.BOM_UTF8)
            try:
                yield no, data.decode("utf-8")
            except UnicodeDecodeError:
                yield no, None
